"""Anthropic API keys (``sk-ant-api03-…``, admin and OAuth variants)."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT, TOKEN_RIGHT


class AnthropicKeyRecognizer(SecretPatternRecognizer):
    """Recognize Anthropic keys: ``sk-ant-api03-`` + 93 base64url chars + ``AA`` (108 total).

    Also ``sk-ant-admin01-`` (admin keys) and ``sk-ant-oat01-``/``sk-ant-ort01-`` (OAuth).
    The body length is relaxed to 32+ so truncated pastes still count.
    """

    ENTITY = "API_KEY_ANTHROPIC"
    PATTERNS = [
        Pattern(
            "Anthropic key (very high)",
            TOKEN_LEFT + r"sk-ant-(?:api|admin|oat|ort|sid)\d{2}-[A-Za-z0-9_\-]{32,200}" + TOKEN_RIGHT,
            0.95,
        ),
    ]
    CONTEXT = ["anthropic", "claude", "key", "api", "token", "secret"]
    PREFIX = r"^sk-ant-[a-z]+\d{2}-"
