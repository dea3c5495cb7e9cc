"""Parsing helpers every reader shares: tolerant decoding, JSON (whole, lines, streamed), times, ids.

Exports can be gigabytes: big JSON is walked event by event with ijson and one record is
built at a time; text is decoded with replacement so one bad byte never costs a file.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import itertools
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson

from pipelines.archive import Archive, UnsafeMember
from pipelines.ingest.base import DataError, DeadLetter

SNIFF_BYTES = 16 << 10
LATEST_EPOCH = 4102444800  # 2100-01-01: later times are corrupt, not future messages
JSON_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError, ValueError, RecursionError)  # nesting past the stack


UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # some phones write their chat exports in UTF-16


def decode(raw: bytes) -> str:
    """UTF-8 with replacement, a BOM dropped: exports are evidence, never refused for one bad byte."""
    if raw.startswith(UTF16_BOMS):
        return raw.decode("utf-16", errors="replace")
    return raw.decode("utf-8", errors="replace").removeprefix("\ufeff")


def load_json(raw: bytes) -> Any:
    try:
        return json.loads(decode(raw))
    except (ValueError, RecursionError) as exc:
        raise DataError(f"not valid JSON: {exc}") from None


def json_lines(stream: BinaryIO) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value or DataError) for each non-blank line, streamed."""
    # A raw stream's readline reads byte by byte; buffer it, and detach so the caller's stream stays open.
    lines = io.BufferedReader(stream, SNIFF_BYTES) if isinstance(stream, io.RawIOBase) else stream
    try:
        for number, line in enumerate(lines, start=1):
            text = decode(line).strip()
            if not text:
                continue
            try:
                yield number, json.loads(text)
            except (ValueError, RecursionError) as exc:
                yield number, DataError(f"line is not valid JSON: {exc}")
    finally:
        if lines is not stream:
            lines.detach()


class Utf8Repair(io.RawIOBase):
    """Re-encodes a byte stream as valid UTF-8 (bad bytes become U+FFFD, a BOM is dropped)."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._done:
            chunk = self._raw.read(max(len(buffer), 1 << 16))
            self._done = not chunk
            self._pending = self._decoder.decode(chunk, final=self._done).encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


MAX_JSON_DEPTH = 1000  # ijson keeps one prefix string per open level: 30,000 levels cost 2.2 GB of them
OPENERS, CLOSERS = frozenset(b"[{"), frozenset(b"]}")
NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
AS_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # read as signed bytes: +1 opens a level, -1 closes


class NestingGuard(io.RawIOBase):
    """Passes JSON bytes through, but a value nested deeper than `limit` levels becomes `null`.

    No real export nests past a dozen levels; a crafted one does to exhaust memory. Each chunk's depth is
    found at C speed (escapes, then strings, removed before brackets are counted); only a chunk that
    crosses the limit is walked byte by byte. What was left out is listed in `dropped` as (byte offset,
    length), so the rest of the file is read and the gap is reported."""

    def __init__(self, raw: BinaryIO, limit: int = MAX_JSON_DEPTH):
        self._raw, self._limit = raw, limit
        self._depth, self._in_string, self._escaped = 0, False, False
        self._swallowed_from: int | None = None  # offset where the value being left out began
        self._offset = 0
        self._pending = b""
        self.dropped: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                return 0
            self._pending = self._pass(chunk)
            self._offset += len(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size

    def _pass(self, chunk: bytes) -> bytes:
        brackets, in_string, escaped = self._structure(chunk)
        opened = brackets.count(b"[") + brackets.count(b"{")
        end = self._depth + 2 * opened - len(brackets)
        swallowing = self._swallowed_from is not None
        if not swallowing and self._depth + opened <= self._limit:  # cannot reach the limit: no need to look
            self._depth, self._in_string, self._escaped = end, in_string, escaped
            return chunk
        steps = memoryview(brackets.translate(AS_STEP)).cast("b")
        depths = list(itertools.accumulate(steps, initial=self._depth))
        if (max(depths) <= self._limit) if not swallowing else (min(depths) > self._limit):
            self._depth, self._in_string, self._escaped = end, in_string, escaped
            return b"" if swallowing else chunk
        return self._walk(chunk)

    def _structure(self, chunk: bytes) -> tuple[bytes, bool, bool]:
        """The chunk's brackets outside strings, and whether it ends inside a string, after a backslash."""
        text = (b'"' if self._in_string else b"") + chunk[1 if self._escaped else 0:]
        # Pairs of backslashes are escaped backslashes; a backslash left before a quote escapes it.
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
        escaped = text.endswith(b"\\")
        between_quotes = text.translate(None, NOT_STRUCTURE).split(b'"')  # odd pieces are inside strings
        in_string = len(between_quotes) % 2 == 0
        return b"".join(between_quotes[::2]), in_string, escaped and in_string

    def _walk(self, chunk: bytes) -> bytes:
        kept = bytearray()
        for position, byte in enumerate(chunk):
            swallowing = self._swallowed_from is not None
            if self._escaped:
                self._escaped = False
            elif self._in_string:
                self._escaped = byte == 0x5C
                self._in_string = byte != 0x22
            elif byte == 0x22:
                self._in_string = True
            elif byte in OPENERS:
                self._depth += 1
                if self._depth == self._limit + 1:
                    self._swallowed_from = self._offset + position
                    kept += b"null"
                    continue
            elif byte in CLOSERS:
                self._depth -= 1
                if swallowing and self._depth == self._limit:
                    start = self._swallowed_from
                    self.dropped.append((start, self._offset + position + 1 - start))
                    self._swallowed_from = None
                    continue
            if not swallowing:
                kept.append(byte)
        return bytes(kept)


class StreamedJson:
    """One JSON file read as a stream (repaired UTF-8, nesting capped), and what the cap left out."""

    def __init__(self, stream: BinaryIO):
        self._guard = NestingGuard(Utf8Repair(stream))
        self._buffered = io.BufferedReader(self._guard, 1 << 16)

    def items(self) -> Iterator[Any] | None:
        """The items of a top-level JSON list, built one at a time by ijson's C builder; None when the
        stream holds something else than a list."""
        head = self._buffered.peek(1 << 12)[: 1 << 12].lstrip(b" \t\r\n")
        if not head.startswith(b"["):
            return None
        return ijson.items(self._buffered, "item", use_float=True)

    def events(self) -> Iterator[tuple[str, str, Any]]:
        """(prefix, event, value) of ijson."""
        return ijson.parse(self._buffered, use_float=True)

    def dead_letters(self, member: str) -> Iterator[DeadLetter]:
        for offset, length in self._guard.dropped:
            yield DeadLetter(member, f"byte {offset}",
                             f"a value nested deeper than {MAX_JSON_DEPTH} levels ({length} bytes) was left out; "
                             "the record holding it was read without it")


def build_value(event: str, value: Any, events: Iterator[tuple[str, str, Any]]) -> Any:
    """The whole JSON value that starts with (event, value), consuming its events."""
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1 if event in ("start_map", "start_array") else 0
    while depth:
        _, event, value = next(events)
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
    return builder.value


def head_text(archive: Archive, name: str, size: int = SNIFF_BYTES) -> str:
    """The first bytes of a member as text, for cheap format detection; empty when unreadable."""
    try:
        with archive.open(name) as fh:
            return decode(fh.read(size))
    except (OSError, UnsafeMember):
        return ""


def epoch_of(moment: dt.datetime, what: str) -> float:
    seconds = moment.timestamp()
    if not 0 < seconds < LATEST_EPOCH:
        raise DataError(f"{what} {moment.isoformat()} is out of range")
    return seconds


def epoch_iso(value: Any, what: str = "timestamp") -> float:
    """ISO 8601 with an offset (any number of fractional digits) to epoch seconds."""
    if not isinstance(value, str) or not value:
        raise DataError(f"missing or invalid {what} {value!r}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DataError(f"invalid {what} {value!r}") from None
    if moment.tzinfo is None:
        raise DataError(f"{what} {value!r} has no time zone")
    return epoch_of(moment, what)


def epoch_ms(value: Any, what: str = "time") -> float:
    """Milliseconds since the epoch (number or numeric string) to seconds."""
    try:
        seconds = int(str(value).strip()) / 1000
    except (TypeError, ValueError):
        raise DataError(f"missing or invalid {what} {value!r}") from None
    if not 0 < seconds < LATEST_EPOCH:
        raise DataError(f"{what} {value!r} is out of range")
    return seconds


class UniqueIds:
    """Keeps content-derived ids unique within a file: the second identical message gets `-2`."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(self, base: str) -> str:
        count = self._seen.get(base, 0) + 1
        self._seen[base] = count
        return base if count == 1 else f"{base}-{count}"


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def lines_of(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's lines as UTF-8 (a UTF-16 text, known by its BOM, is re-encoded line by line), buffered
    (a raw stream's readline reads byte by byte), the stream left open."""
    buffered = io.BufferedReader(stream, 1 << 16) if isinstance(stream, io.RawIOBase) else stream
    try:
        if hasattr(buffered, "peek") and buffered.peek(2)[:2] in UTF16_BOMS:
            text = io.TextIOWrapper(buffered, encoding="utf-16", errors="replace", newline="")
            try:
                yield from (line.encode("utf-8") for line in text)
            finally:
                text.detach()
        else:
            yield from buffered
    finally:
        if buffered is not stream:
            buffered.detach()
