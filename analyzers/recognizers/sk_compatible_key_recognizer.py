"""``sk-`` keys of OpenAI-compatible vendors (DeepSeek, Moonshot/Kimi, DashScope/Qwen, ...)."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT, TOKEN_RIGHT


class SkCompatibleKeyRecognizer(SecretPatternRecognizer):
    """Recognize ``sk-<32..64 alphanumerics>`` keys whose vendor cannot be told from the key.

    DeepSeek and DashScope issue ``sk-`` + 32 hex, Moonshot ``sk-`` + 48 alphanumerics,
    pre-2024 OpenAI keys were ``sk-`` + 48 (those carry ``T3BlbkFJ`` and are upgraded to
    ``API_KEY_OPENAI`` by the higher-scoring OpenAI recognizer). Anthropic and OpenAI
    project keys have their own sub-prefixes and are excluded.
    """

    ENTITY = "API_KEY_SK_COMPATIBLE"
    PATTERNS = [
        Pattern(
            "sk- key, vendor unknown (medium)",
            TOKEN_LEFT + r"sk-(?!ant-|proj-|svcacct-|admin-|None-)[A-Za-z0-9]{32,64}" + TOKEN_RIGHT,
            0.6,
        ),
    ]
    CONTEXT = ["key", "api", "token", "secret", "deepseek", "moonshot", "kimi", "dashscope", "qwen"]
    PREFIX = r"^sk-"
