"""Google API keys (Gemini / Generative Language, Maps, ...): ``AIza`` + 35 characters."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT, TOKEN_RIGHT


class GoogleApiKeyRecognizer(SecretPatternRecognizer):
    """Recognize Google API keys: exactly ``AIza`` followed by 35 ``[0-9A-Za-z_-]`` (39 chars)."""

    ENTITY = "API_KEY_GOOGLE"
    PATTERNS = [
        Pattern("Google API key (high)", TOKEN_LEFT + r"AIza[0-9A-Za-z_\-]{35}" + TOKEN_RIGHT, 0.9),
    ]
    CONTEXT = ["google", "gemini", "key", "api", "googleapis"]
    PREFIX = r"^AIza"
