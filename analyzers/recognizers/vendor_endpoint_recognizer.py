"""Hosted-LLM vendor API endpoints (evidence of third-party API use; never masked)."""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern

from analyzers.recognizers._base import ENDPOINT, ClassPatternRecognizer

# (vendor, host regex). Hosts are matched case-insensitively; a leading scheme, a port
# and a path are optional. The query string is *not* part of the span, so a key passed
# as ``?key=AIza…`` is reported separately as a secret.
VENDOR_HOSTS: list[tuple[str, str]] = [
    ("openai", r"api\.openai\.com"),
    ("azure-openai", r"[a-z0-9][a-z0-9\-]{0,62}\.openai\.azure\.com"),
    ("anthropic", r"api\.anthropic\.com"),
    ("google-gemini", r"generativelanguage\.googleapis\.com"),
    ("google-vertex", r"(?:[a-z0-9\-]+-)?aiplatform\.googleapis\.com"),
    ("deepseek", r"api\.deepseek\.com"),
    ("alibaba-dashscope", r"dashscope(?:-intl)?\.aliyuncs\.com"),
    ("baidu-qianfan", r"(?:aip|qianfan)\.baidubce\.com"),
    ("moonshot", r"api\.moonshot\.(?:cn|ai)"),
    ("zhipu", r"open\.bigmodel\.cn"),
    ("mistral", r"api\.mistral\.ai"),
    ("cohere", r"api\.cohere\.(?:ai|com)"),
    ("groq", r"api\.groq\.com"),
    ("openrouter", r"openrouter\.ai(?=/api(?:/|\b))"),
]

_SCHEME = r"(?:https?://)?"
_PORT = r"(?::\d{2,5})?"
# Path chars end on a non-punctuation char, so a sentence's final "." or ":" is left out.
_PATH = r"(?:/(?:[A-Za-z0-9._~\-/:%{}+@]*[A-Za-z0-9_~\-/}+])?)?"
_LEFT = r"(?<![A-Za-z0-9.\-])"
_HOST_END = r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"

_VENDOR_RES = [(vendor, regex.compile(host, regex.IGNORECASE)) for vendor, host in VENDOR_HOSTS]


def vendor_for_endpoint(endpoint_text: str) -> str | None:
    """Name the vendor of a ``VENDOR_ENDPOINT`` span (e.g. ``"deepseek"``), or None."""
    for vendor, host_re in _VENDOR_RES:
        if host_re.search(endpoint_text):
            return vendor
    return None


class VendorEndpointRecognizer(ClassPatternRecognizer):
    """Recognize API endpoints of hosted LLM vendors, e.g. ``https://api.deepseek.com/v1``."""

    ENTITY = "VENDOR_ENDPOINT"
    KIND = ENDPOINT
    PATTERNS = [
        Pattern(
            "LLM vendor endpoint (high)",
            _LEFT
            + _SCHEME
            + r"(?:"
            + "|".join(host for _, host in VENDOR_HOSTS)
            + r")"
            + _HOST_END
            + _PORT
            + _PATH,
            0.9,
        ),
    ]
    CONTEXT = ["endpoint", "base_url", "url", "api", "host"]
    FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE
