"""PRC resident identity card numbers (18 characters, ISO 7064 MOD 11-2 check digit)."""

from __future__ import annotations

import datetime

from presidio_analyzer import Pattern

from analyzers.recognizers._base import PII, ClassPatternRecognizer

# First two digits: province-level division codes (GB/T 2260), incl. HK/MO/TW residence permits.
_PROVINCES = frozenset(
    {*map(str, range(11, 16)), *map(str, range(21, 24)), *map(str, range(31, 38)), *map(str, range(41, 47))}
    | {*map(str, range(50, 55)), *map(str, range(61, 66)), "71", "81", "82", "83"}
)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def resident_id_checksum_ok(value: str) -> bool:
    """True when the 18th character is the MOD 11-2 check character of the first 17 digits."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11] == value[17].upper()


class CnResidentIdRecognizer(ClassPatternRecognizer):
    """Recognize 18-character PRC resident ids: region(6) + birth date(8) + sequence(3) + check(1).

    Matches whose province code, birth date or check character is wrong are invalidated.
    """

    ENTITY = "CN_RESIDENT_ID"
    KIND = PII
    PATTERNS = [
        Pattern(
            "CN resident id (medium)",
            r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
            r"(?![0-9A-Za-z])",
            0.6,
        ),
    ]
    CONTEXT = ["身份证", "证件", "身份", "id", "identity", "citizen"]

    def invalidate_result(self, pattern_text: str) -> bool:
        """Invalidate on unknown province code, impossible birth date or bad check character."""
        if pattern_text[:2] not in _PROVINCES:
            return True
        try:
            datetime.date(int(pattern_text[6:10]), int(pattern_text[10:12]), int(pattern_text[12:14]))
        except ValueError:
            return True
        return not resident_id_checksum_ok(pattern_text)
