"""Characters that make a name look like another one, shown for what they are.

A right-to-left override turns the file name "\u202egpj.exe" into "exe.jpg" on screen; a zero-width space
makes "w\u200bei" look like "wei". In names, ids and file names (anything but what people wrote as a
message) every invisible formatting character is shown as ``⟨U+XXXX⟩``: Unicode's format characters
(zero-width spaces and joiners, direction marks, embeddings, overrides and isolates, the byte-order mark,
soft hyphens, tags) and the Hangul fillers that render as blanks. In message text only the controls that
reorder what follows them (embeddings, overrides, isolates) are shown so: a zero-width joiner inside an
emoji or a non-joiner in Persian is part of the writing there.

The marked form spells out what was there, so nothing is lost, and it holds no character it marks, so
marking twice changes nothing.
"""

from __future__ import annotations

import unicodedata

REORDERING = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
FILLERS = frozenset("\u115f\u1160\u3164\uffa0")


def _mark(ch: str) -> str:
    return f"⟨U+{ord(ch):04X}⟩"


def invisible(ch: str) -> bool:
    return ch in FILLERS or unicodedata.category(ch) == "Cf"


def shown(value: str) -> str:
    """A name, id or file name with every invisible formatting character spelled out."""
    if value.isascii():
        return value
    return "".join(_mark(ch) if invisible(ch) else ch for ch in value)


def shown_text(value: str) -> str:
    """Message text with the characters that reorder what follows them spelled out (same length otherwise)."""
    if value.isascii() or not any(ch in REORDERING for ch in value):
        return value
    return "".join(_mark(ch) if ch in REORDERING else ch for ch in value)
