"""Slack tokens (``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxo-``, ``xoxs-``, ``xoxr-``)."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import SecretPatternRecognizer
from analyzers.recognizers._secret_utils import TOKEN_LEFT, TOKEN_RIGHT


class SlackTokenRecognizer(SecretPatternRecognizer):
    """Recognize Slack tokens such as ``xoxb-<team id>-<bot id>-<24 alnum>``.

    Requires at least one numeric id segment, then a random tail of 16+ characters.
    """

    ENTITY = "API_KEY_SLACK"
    PATTERNS = [
        Pattern(
            "Slack token (high)",
            TOKEN_LEFT + r"xox[bpoasr]-(?:[0-9]{1,13}-){1,3}[A-Za-z0-9]{16,64}" + TOKEN_RIGHT,
            0.9,
        ),
    ]
    CONTEXT = ["slack", "token", "bot", "webhook"]
    PREFIX = r"^xox[bpoasr]-(?:[0-9]{1,13}-){1,3}"
