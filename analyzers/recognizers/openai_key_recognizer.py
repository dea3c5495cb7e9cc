"""OpenAI API keys: project / service-account / admin keys and legacy user keys."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT, TOKEN_RIGHT


class OpenAIKeyRecognizer(SecretPatternRecognizer):
    """Recognize OpenAI secret keys.

    * ``sk-proj-…`` / ``sk-svcacct-…`` / ``sk-admin-…`` / ``sk-None-…``: base64url body,
      48 characters for early project keys, ~156 today (with the ``T3BlbkFJ`` marker).
    * legacy ``sk-`` + 20 + ``T3BlbkFJ`` + 20 alphanumerics (51 characters in all).

    A bare ``sk-<32..64 alnum>`` without the marker is *not* claimed here: DeepSeek,
    Moonshot and DashScope use the same shape (see ``SkCompatibleKeyRecognizer``).
    """

    ENTITY = "API_KEY_OPENAI"
    PATTERNS = [
        Pattern(
            "OpenAI project/service/admin key (high)",
            TOKEN_LEFT + r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{40,250}" + TOKEN_RIGHT,
            0.9,
        ),
        Pattern(
            "OpenAI legacy key with T3BlbkFJ marker (very high)",
            TOKEN_LEFT + r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}" + TOKEN_RIGHT,
            0.95,
        ),
    ]
    CONTEXT = ["openai", "key", "api", "token", "secret", "chatgpt", "gpt"]
    PREFIX = r"^sk-(?:(?:proj|svcacct|admin|None)-)?"
