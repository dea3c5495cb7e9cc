"""Mainland-China mobile numbers (``1[3-9]`` + 9 digits, optional ``+86``)."""

from __future__ import annotations

from presidio_analyzer import Pattern

from analyzers.recognizers._base import PII, ClassPatternRecognizer

_LEFT = r"(?<![0-9A-Za-z+])"
_RIGHT = r"(?![0-9A-Za-z])"
_CC = r"(?:(?:\+|00)86[\s\-]?)?"


class CnMobileRecognizer(ClassPatternRecognizer):
    """Recognize PRC mobile numbers: ``13812345678``, ``+86 138 1234 5678``, ``138-1234-5678``.

    ASCII look-arounds (not ``\\b``) so numbers glued to Chinese text (``电话13812345678``)
    match, while longer digit runs (18-digit ids, 13-digit ms timestamps) do not.
    """

    ENTITY = "CN_MOBILE_NUMBER"
    KIND = PII
    PATTERNS = [
        Pattern("CN mobile (medium)", _LEFT + _CC + r"1[3-9]\d{9}" + _RIGHT, 0.5),
        Pattern(
            "CN mobile, grouped 3-4-4 (medium)", _LEFT + _CC + r"1[3-9]\d[\s\-]\d{4}[\s\-]\d{4}" + _RIGHT, 0.5
        ),
    ]
    CONTEXT = ["手机", "电话", "联系", "微信", "phone", "mobile", "cell", "tel", "call", "wechat", "whatsapp"]

    def invalidate_result(self, pattern_text: str) -> bool:
        """Drop fillers such as ``13800000000`` / ``13999999999`` (last 8 digits identical)."""
        digits = [c for c in pattern_text if c.isdigit()][-8:]
        return len(set(digits)) == 1
