"""One huge line-stream file read by several workers: byte ranges aligned on record starts.

A single mbox of millions of mails, a Mattermost bulk export or a WhatsApp chat is one member, and read
whole it is one pipeline element on one worker. A reader that can (`Reader.splittable`) has such a
member read in byte ranges instead, as Beam's text source reads a big text file:

1. **Plan** (driver, `plan`): the member is cut near every `split_bytes`, each cut moved forward to the next
   place a record starts (`Reader.record_start`: a `From ` line after a blank line and before a header
   line; any line of a JSON-lines export after its metadata lines; a WhatsApp line that begins with a date).
   Finding a cut reads a few kilobytes there (a member of a ZIP is inflated up to it: Deflate has no random
   access).
2. **Read** (`Reader.read_range`, one worker a range): the records that start in `[start, end)`, parsed as far
   as a record can be without the rest of the file, in file order into a spool (JSON lines in the run's
   scratch folder, which every worker reaches), with the few facts that depend on the whole file (a mail's
   threading headers and the ids it took, a chat line's date fields) in a second, small spool. A range also
   says whether what follows it starts where the next range thinks it does (an mbox's declared
   Content-Length can swallow a `From ` line; a Mattermost metadata line after the first posts changes what
   later posts mean): `Settler` is then not built and the file is read whole, as before.
3. **Settle** (`Reader.settle` and `records`, one worker the file): the facts of every range in file order make
   the decisions a sequential read makes as it goes (unique ids, threads, the date order, line numbers),
   then the spools are read back in order and every record is finished with them. Episodes and positions
   are worked out here too (pipelines/detect.py), in file order, so a split read gives the records, counts,
   pointers and episodes of a whole read, byte for byte (tests/unit/test_split_read.py).

The member's SHA-256 is computed by a job of its own beside the ranges (a hash cannot be put together from
pieces). What stays serial is step 3: reading the spools back, the decisions, and the episode linker.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from pipelines import storage
from pipelines.archive import HASH_CHUNK, Archive
from pipelines.ingest.base import DeadLetter, Merged, Reader, Record

SEARCH_WINDOW = 1 << 20  # bytes read at a time while looking for a record start
SEARCH_LIMIT = 64 << 20  # no record start within this much of a cut: no cut there
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Range:
    member: str
    index: int
    start: int
    end: int  # exclusive; the member's size for the last range
    count: int  # ranges of the member


@dataclass(frozen=True)
class HashJob:
    member: str


def plan(archive: Archive, reader: Reader, context: Any, streams: list[tuple[str, ...]], split_bytes: int
         ) -> tuple[list[tuple[str, ...]], list[Range | HashJob], dict[str, Any]]:
    """(streams read whole, range and hash jobs, what each split member's ranges need beyond `context`)."""
    whole: list[tuple[str, ...]] = []
    jobs: list[Range | HashJob] = []
    extras: dict[str, Any] = {}
    for stream in streams:
        member = stream[0]
        size = archive.members()[member].size if len(stream) == 1 else 0
        found = _starts(archive, reader, context, member, size, split_bytes) if (
            reader.splittable and split_bytes > 0 and size > split_bytes) else None
        if found is None or len(found[1]) < 2:
            whole.append(stream)
            continue
        extras[member], starts = found
        ends = [*starts[1:], size]
        jobs.extend(Range(member, i, start, end, len(starts))
                    for i, (start, end) in enumerate(zip(starts, ends, strict=True)))
        jobs.append(HashJob(member))
    return whole, jobs, extras


def _starts(archive: Archive, reader: Reader, context: Any, member: str, size: int, split_bytes: int
            ) -> tuple[Any, list[int]] | None:
    """(the ranges' extra context, range starts beginning with 0), or None when the member is not to be split."""
    with archive.open(member) as stream:
        if stream.read(2).startswith(UTF16_BOMS):  # re-encoded line by line when read: offsets would not be the file's
            return None
    with archive.open(member) as stream:
        found = reader.split_context(archive, member, context, stream)
    if found is None:
        return None
    extra, first = found
    pieces = -(-size // split_bytes)
    starts = [0]
    with archive.open(member) as stream:
        cursor = Cursor(stream)
        for i in range(1, pieces):
            target = max(first, size * i // pieces, starts[-1] + 1)
            if not cursor.can_go(target - 1):
                target = cursor.position + 1  # the last search read past it (a stream that only reads forward)
            if target >= size:
                break
            cursor.go(target - 1)  # from the byte before: whether the target itself starts a line
            start = reader.record_start(cursor)
            if start is not None and starts[-1] < start < size:
                starts.append(start)
    return extra, starts


class Cursor:
    """A stream and where it is: seeks where it can, else reads forward (a member of a ZIP is inflated), keeping
    what a search read beyond what it found for the next one."""

    def __init__(self, stream: BinaryIO):
        self.stream, self.position = stream, 0
        self._pending = b""

    def can_go(self, offset: int) -> bool:
        return self.stream.seekable() or offset >= self.position

    def go(self, offset: int) -> None:
        if self.stream.seekable():
            self.stream.seek(offset)
            self.position, self._pending = offset, b""
            return
        if offset < self.position:
            raise ValueError(f"cannot go back from {self.position} to {offset} in a stream that only reads forward")
        while self.position < offset:
            if not self.read(min(HASH_CHUNK, offset - self.position)):
                break

    def read(self, size: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
        else:
            data = self.stream.read(size)
        self.position += len(data)
        return data

    def unread(self, data: bytes) -> None:
        """Bytes read that the next read is to see again."""
        self._pending = data + self._pending
        self.position -= len(data)


def skip_to(stream: BinaryIO, offset: int) -> None:
    """A freshly opened stream moved to `offset` (a range's start)."""
    Cursor(stream).go(offset)


def find_line(cursor: Cursor, accept) -> int | None:
    """The offset of the first line after the cursor's byte (the cursor stands on the byte before the first
    candidate) for which `accept(line, previous, following)` is true; lines keep their line break, `previous`
    is None for the first candidate, `following` None at the end. Reads forward at most SEARCH_LIMIT."""
    base = cursor.position
    data = b""
    while True:
        chunk = cursor.read(SEARCH_WINDOW) if len(data) < SEARCH_LIMIT else b""
        data += chunk
        at_end = not chunk
        first = data.find(b"\n")
        if first < 0:
            if at_end:
                return None
            continue
        position, previous = first + 1, None
        while position < len(data):
            stop = data.find(b"\n", position)
            if stop < 0 and not at_end:
                break
            line = data[position:stop + 1] if stop >= 0 else data[position:]
            after = data.find(b"\n", stop + 1) if stop >= 0 else -1
            if stop >= 0 and after < 0 and not at_end:
                break  # the line after it is not all here yet
            following = None if stop < 0 else (data[stop + 1:after + 1] if after >= 0 else data[stop + 1:]) or None
            if accept(line, previous, following):
                cursor.unread(data[position:])
                return base + position
            previous, position = line, position + len(line)
        if at_end:
            return None


class Bounded(io.RawIOBase):
    """The first `size` bytes of a stream (a range's own lines), counting the line breaks that pass."""

    def __init__(self, raw: BinaryIO, size: int):
        self._raw, self._left = raw, size
        self.breaks = 0
        self.last = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        data = self._raw.read(min(len(buffer), self._left))
        self._left -= len(data)
        self.breaks += data.count(b"\n")
        if data:
            self.last = data[-1:]
        buffer[: len(data)] = data
        return len(data)

    def lines(self) -> int:
        """Lines in what was read, as `enumerate` over it counts them (a last line without a break is one)."""
        return self.breaks + (1 if self.last and self.last != b"\n" else 0)


def to_item(record: Record) -> dict:
    if isinstance(record, DeadLetter):
        return {"x": [record.path, record.pointer, record.reason]}
    if isinstance(record, Merged):
        return {"m": [record.pointer, record.into]}
    return {"d": record}


def from_item(item: dict) -> Record:
    if "x" in item:
        return DeadLetter(*item["x"])
    if "m" in item:
        return Merged(*item["m"])
    return item["d"]


class Settler:
    """What one split member's ranges decided, and how each spooled item becomes its record."""

    needs_facts = False

    def facts(self, facts: Iterator[Any]) -> None:
        """Every range's facts, in file order, before the first record is asked for."""

    def before(self) -> Iterator[Record]:
        """Records that come before the first item (none by default)."""
        return iter(())

    def record(self, item: Any) -> Record:
        raise NotImplementedError


def spool_folder(scratch: str, member: str) -> str:
    return storage.join(scratch, "split", hashlib.sha256(member.encode("utf-8", "replace")).hexdigest()[:24])


def spool_paths(scratch: str, member: str, index: int) -> tuple[str, str]:
    folder = spool_folder(scratch, member)
    return storage.join(folder, f"{index:05d}.jsonl"), storage.join(folder, f"{index:05d}.facts.jsonl")


class SpoolWriter:
    """JSON lines into a spool file, local or on an object store, made at the first line (no line, no file)."""

    def __init__(self, path: str):
        self._path, self._fh = path, None
        self.count = 0

    def write(self, value: Any) -> None:
        if self._fh is None:
            if storage.is_url(self._path):
                self._fh = storage.create(self._path)
            else:
                os.makedirs(os.path.dirname(self._path), exist_ok=True)
                self._fh = open(self._path, "wb")  # noqa: SIM115 - closed in close()
        self._fh.write(json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            finally:
                self._fh = None


def read_spool(path: str) -> Iterator[Any]:
    if storage.is_url(path):
        if not storage.exists(path):
            return
        stream = storage.open_read(path, storage.STREAM_BUFFER)
    else:
        if not os.path.exists(path):
            return
        stream = open(path, "rb")  # noqa: SIM115 - closed below
    with stream:
        for line in stream:
            yield json.loads(line)


def read_range(archive: Archive, reader: Reader, context: Any, extra: Any, job: Range, scratch: str) -> dict:
    """One range read into its spools; its summary for the settling. A range that fails says so (the member is
    then read whole, and that read says what is wrong with it)."""
    summary: dict = {"index": job.index, "count": job.count, "start": job.start, "end": job.end}
    items_path, facts_path = spool_paths(scratch, job.member, job.index)
    items, facts = SpoolWriter(items_path), SpoolWriter(facts_path)
    try:
        with archive.open(job.member) as stream:
            skip_to(stream, job.start)
            for item, fact in reader.read_range(stream, job.member, context, extra, job.start, job.end, summary):
                items.write(item)
                if fact is not None:
                    facts.write(fact)
    except Exception as exc:  # noqa: BLE001 - a broken or hostile file must not stop the run
        summary["failed"] = f"{type(exc).__name__}: {exc}"
    finally:
        items.close()
        facts.close()
    summary["items"] = items.count
    return summary


def settled(reader: Reader, member: str, context: Any, extra: Any, summaries: list[dict], scratch: str
            ) -> Iterator[Record] | None:
    """The member's records in file order from its ranges' spools, settled; None when the ranges cannot be
    trusted (one failed, or one ends where the next does not begin) and the member must be read whole."""
    summaries = sorted(summaries, key=lambda s: s["index"])
    if not summaries or [s["index"] for s in summaries] != list(range(summaries[0]["count"])):
        return None
    settler = reader.settle(member, context, extra, summaries)
    if settler is None:
        return None
    if settler.needs_facts:
        settler.facts(fact for s in summaries for fact in read_spool(spool_paths(scratch, member, s["index"])[1]))

    def records() -> Iterator[Record]:
        yield from settler.before()
        for s in summaries:
            for item in read_spool(spool_paths(scratch, member, s["index"])[0]):
                yield settler.record(item)

    return records()


def write_batch(scratch: str, member: str, number: int, docs: list[dict]) -> str:
    """A settled batch into the scratch folder; its name is what crosses the shuffle (on the DirectRunner a
    shuffled element is held in the runner's memory: a huge mailbox's every message would be)."""
    path = storage.join(spool_folder(scratch, member), f"batch-{number:07d}.jsonl")
    writer = SpoolWriter(path)
    try:
        for doc in docs:
            writer.write(doc)
    finally:
        writer.close()
    return path


def read_batch(path: str) -> list[dict]:
    return list(read_spool(path))


def member_hash(archive: Archive, member: str) -> tuple[str, int]:
    """(SHA-256, bytes) of a member read whole, the split member's custody hash."""
    digest, size = hashlib.sha256(), 0
    with archive.open(member) as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
