"""Small JSON helpers the JSON-based readers share: tolerant decoding, peeking, JSON lines, times."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from pipelines.archive import Archive, UnsafeMember
from pipelines.ingest.base import DataError

PEEK_BYTES = 64 << 10
LATEST_EPOCH = 4102444800  # 2100-01-01: later times are corrupt, not future messages


def decode(raw: bytes) -> str:
    """UTF-8 with replacement, a BOM dropped: exports are evidence, never refused for one bad byte."""
    return raw.decode("utf-8", errors="replace").removeprefix("\ufeff")


def load_json(raw: bytes) -> Any:
    try:
        return json.loads(decode(raw))
    except ValueError as exc:
        raise DataError(f"not valid JSON: {exc}") from None


def peek(archive: Archive, name: str, size: int = PEEK_BYTES) -> str:
    """The first bytes of a member as text, for cheap format detection; empty when unreadable."""
    try:
        with archive.open(name) as fh:
            return decode(fh.read(size))
    except (OSError, UnsafeMember):
        return ""


def json_lines(stream: BinaryIO) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value or DataError) for each non-blank line, streamed."""
    # A raw stream's readline reads byte by byte; buffer it, and detach so the caller's stream stays open.
    lines = io.BufferedReader(stream, PEEK_BYTES) if isinstance(stream, io.RawIOBase) else stream
    try:
        for number, line in enumerate(lines, start=1):
            text = decode(line).strip()
            if not text:
                continue
            try:
                yield number, json.loads(text)
            except ValueError as exc:
                yield number, DataError(f"line is not valid JSON: {exc}")
    finally:
        if lines is not stream:
            lines.detach()


def epoch_ms(value: Any, what: str = "time") -> float:
    """Milliseconds since the epoch (number or numeric string) to seconds."""
    try:
        seconds = int(str(value).strip()) / 1000
    except (TypeError, ValueError):
        raise DataError(f"missing or invalid {what} {value!r}") from None
    if not 0 < seconds < LATEST_EPOCH:
        raise DataError(f"{what} {value!r} is out of range")
    return seconds


def epoch_iso(value: Any, what: str = "time") -> float:
    """ISO 8601 with a zone (Graph gives 7 fractional digits; Python 3.11 reads them) to seconds."""
    if not isinstance(value, str) or not value:
        raise DataError(f"missing or invalid {what} {value!r}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DataError(f"invalid {what} {value!r}") from None
    if moment.tzinfo is None:
        raise DataError(f"{what} {value!r} has no time zone")
    seconds = moment.timestamp()
    if not 0 < seconds < LATEST_EPOCH:
        raise DataError(f"{what} {value!r} is out of range")
    return seconds


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []
