"""JSON Web Tokens pasted on their own (session cookies, service tokens), not only after ``Bearer``."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT, TOKEN_RIGHT


class JwtRecognizer(SecretPatternRecognizer):
    """Recognize ``header.payload.signature`` where header and payload are base64url JSON (``eyJ`` = ``{"``)."""

    ENTITY = "JWT"
    PATTERNS = [
        Pattern(
            "JSON Web Token (high)",
            TOKEN_LEFT + r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}" + TOKEN_RIGHT,
            0.9,
        ),
    ]
    CONTEXT = ["jwt", "token", "session", "cookie", "authorization"]
    PREFIX = r"^eyJ"
