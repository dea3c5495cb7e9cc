"""Hugging Face user access tokens (``hf_`` + 34 letters)."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT, TOKEN_RIGHT


class HuggingFaceTokenRecognizer(SecretPatternRecognizer):
    """Recognize Hugging Face tokens: ``hf_`` + 34 characters (letters today; digits tolerated).

    The body has no ``_``, so identifiers such as ``hf_hub_download`` never match.
    """

    ENTITY = "API_KEY_HUGGINGFACE"
    PATTERNS = [
        Pattern("Hugging Face token (high)", TOKEN_LEFT + r"hf_[A-Za-z0-9]{34,40}" + TOKEN_RIGHT, 0.85),
    ]
    CONTEXT = ["huggingface", "hugging", "hf", "token", "hub"]
    PREFIX = r"^hf_"
