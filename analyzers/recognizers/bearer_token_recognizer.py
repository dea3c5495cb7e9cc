"""The credential after ``Bearer`` (HTTP Authorization header pasted into chat)."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer


class BearerTokenRecognizer(SecretPatternRecognizer):
    """Recognize ``Authorization: Bearer <token>``; only the token is the entity.

    The span excludes the word ``Bearer`` (variable-length look-behind, ``regex`` module)
    and a trailing sentence dot. Vendor-specific recognizers score higher on the same
    span, so ``Bearer sk-proj-…`` is reported as ``API_KEY_OPENAI``.
    """

    ENTITY = "BEARER_TOKEN"
    PATTERNS = [
        Pattern(
            "Bearer token (medium)",
            r"(?<=(?<![A-Za-z])(?i:bearer)\s{1,4})[A-Za-z0-9\-._~+/]{19,}[A-Za-z0-9\-_~+/]=*"
            r"(?![A-Za-z0-9\-_~+/=]|\.[A-Za-z0-9])",
            0.55,
        ),
    ]
    CONTEXT = ["authorization", "bearer", "header", "token"]
    REQUIRE_DIGIT = True
