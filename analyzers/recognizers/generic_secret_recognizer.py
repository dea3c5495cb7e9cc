"""High-entropy values assigned to a secret-looking name (``OPENAI_API_KEY=…``, ``密钥：…``)."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer

_NAME = (
    r"(?i:api[_\-]?key|apikey|access[_\-]?key|secret[_\-]?key|client[_\-]?secret|private[_\-]?key"
    r"|access[_\-]?token|auth[_\-]?token|refresh[_\-]?token|secret|token|passwd|password)"
)
_ASSIGN = r"[\"']?\s*(?::=|=>|[:=])\s*[\"'`]?"
_ZH_NAME = r"(?:密钥|秘钥|令牌|口令|密码|(?<![A-Za-z])(?i:api\s?key|key|token))"
_ZH_ASSIGN = r"\s*(?:是|为|[:：=])\s*[\"'“`]?"
_VALUE = r"[A-Za-z0-9_\-+/~.]{15,}[A-Za-z0-9_\-+/~]=*(?![A-Za-z0-9_\-+/~=]|\.[A-Za-z0-9])"


class GenericSecretRecognizer(SecretPatternRecognizer):
    """Recognize the *value* of ``api_key = "…"``-style assignments (the name stays visible).

    The value must be 16+ characters, contain letters and digits and have >= 3 bits/char
    entropy, so ``api_key=os.environ`` or ``token=YOUR_TOKEN_HERE`` are not reported.
    The low score lets any vendor-specific recognizer win on the same span.
    """

    ENTITY = "API_KEY_GENERIC"
    PATTERNS = [
        Pattern("Secret assignment (medium)", r"(?<=" + _NAME + _ASSIGN + r")" + _VALUE, 0.5),
        Pattern("Secret assignment, Chinese (medium)", r"(?<=" + _ZH_NAME + _ZH_ASSIGN + r")" + _VALUE, 0.5),
    ]
    CONTEXT: list[str] = []
    REQUIRE_DIGIT = True
