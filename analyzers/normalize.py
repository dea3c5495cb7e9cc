"""Text folding shared by the prefilter and the matchers.

Rules are written in plain lower-case; chat text arrives in any width, case and
compatibility form. Folding is NFKC + casefold, and we keep a map from folded
positions back to the original text so every match can be shown where it was said.
"""

from __future__ import annotations

import unicodedata

# Typographic quotes and dashes fold to ASCII one for one, so "don’t" matches "don't"
# and offsets stay put.
PUNCTUATION = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"',
                             "\u201d": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                             "\u2014": "-", "\u00a0": " ", "\u202f": " "})


def fold(text: str) -> tuple[str, list[int] | None]:
    """Return (folded text, offset map). The map is None when offsets are unchanged.

    The map, when present, has len(folded) + 1 entries: folded index -> original index.
    """
    if text.isascii():
        return text.lower(), None
    whole = unicodedata.normalize("NFKC", text).casefold().translate(PUNCTUATION)
    if len(whole) == len(text):
        # Width folding and case folding of CJK/Latin text keep one char per char.
        return whole, None
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        piece = unicodedata.normalize("NFKC", ch).casefold().translate(PUNCTUATION)
        out.append(piece)
        index.extend([i] * len(piece))
    index.append(len(text))
    return "".join(out), index


def to_original(offset_map: list[int] | None, start: int, end: int) -> tuple[int, int]:
    """Map a [start, end) span on folded text back to the original text."""
    if offset_map is None:
        return start, end
    return offset_map[start], offset_map[end - 1] + 1 if end > start else offset_map[start]


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x3000 <= o <= 0x303F
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x2FA1F
    )


def detect_language(text: str) -> str:
    """'zh', 'en', 'mixed' or 'und': enough to route text to the right matchers."""
    if text.isascii():
        return "en" if any(c.isalpha() for c in text) else "und"
    cjk = sum(1 for c in text if is_cjk(c) and c.isalpha())
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    if cjk == 0:
        return "en" if latin else "und"
    if latin >= 6 and latin >= cjk:
        return "mixed"
    # A Chinese sentence with an English product name is still Chinese, unless Latin words carry it.
    return "mixed" if latin >= 12 else "zh"


PIECE = 100_000  # characters spaCy and Presidio are given at once: a pasted dump must not stop the run


def pieces(text: str, size: int = PIECE) -> list[tuple[int, str]]:
    """(offset, piece) of `text` in pieces of at most `size` characters, cut at a line end or a space
    where one is near, so a phrase is seldom cut; one piece when the text is short enough."""
    if len(text) <= size:
        return [(0, text)]
    out, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            window = text[end - size // 10:end]
            cut = max(window.rfind("\n"), window.rfind(" "))
            end = end - size // 10 + cut + 1 if cut >= 0 else end
        out.append((start, text[start:end]))
        start = end
    return out
