"""Shared false-positive filters for the secret recognizers (not a recognizer itself)."""

from __future__ import annotations

import math
from collections import Counter

import regex

# Regex flags for our own recognizers: case-sensitive (key prefixes such as ``AKIA`` or
# ``sk-`` are case-significant), unlike Presidio's default which adds IGNORECASE.
CASE_SENSITIVE_FLAGS = regex.DOTALL | regex.MULTILINE

# Left/right boundaries made of ASCII classes only. ``\b`` is Unicode-aware, so it finds
# no boundary between "是" and "sk-..." in Chinese text; these lookarounds do.
TOKEN_LEFT = r"(?<![A-Za-z0-9_\-])"
TOKEN_RIGHT = r"(?![A-Za-z0-9_\-])"

# Lower-cased substrings that mark documentation/tutorial placeholders. All are >= 4
# characters so that a truly random 160-character key hits one with probability ~1e-4.
PLACEHOLDER_WORDS = (
    "your",
    "xxxx",
    "example",
    "placeholder",
    "redacted",
    "dummy",
    "sample",
    "changeme",
    "insert",
    "here",
    "fake",
    "test",
    "secret",
    "token",
    "mask",
    "....",
)

_REPEAT_RUN = regex.compile(r"(.)\1{4,}")


def shannon_entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character (0.0 for the empty string)."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _has_sequential_run(value: str, run: int = 6) -> bool:
    """True when ``value`` holds ``run`` consecutive ascending characters (``123456``, ``abcdef``)."""
    streak = 1
    for prev, cur in zip(value, value[1:], strict=False):
        streak = streak + 1 if ord(cur) - ord(prev) == 1 else 1
        if streak >= run:
            return True
    return False


def char_classes(value: str) -> int:
    """Number of character classes (lower, upper, digit) present in ``value``."""
    return any(c.islower() for c in value) + any(c.isupper() for c in value) + any(c.isdigit() for c in value)


def looks_like_placeholder(
    body: str,
    *,
    min_length: int = 16,
    min_entropy: float = 3.0,
    min_classes: int = 2,
    require_digit: bool = False,
) -> bool:
    """Return True when ``body`` (a key with its fixed vendor prefix removed) is not a real secret.

    Real keys are random: long, high-entropy, mixed character classes, no English
    placeholder words, no ``xxxxx``/``123456`` runs.
    """
    if len(body) < min_length:
        return True
    lowered = body.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return True
    if _REPEAT_RUN.search(body) or _has_sequential_run(body):
        return True
    if char_classes(body) < min_classes:
        return True
    if require_digit and not (any(c.isdigit() for c in body) and any(c.isalpha() for c in body)):
        return True
    return shannon_entropy(body) < min_entropy
