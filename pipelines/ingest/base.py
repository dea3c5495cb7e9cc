"""The one small interface every export format implements.

A reader says how sure it is that an archive is its format (`match`), which members
are units of work (`units`) and which of them continue one another (`stream_key`: a
channel's day files, a chat's pages), what small shared metadata every unit needs
(`context`: users, channel names), and turns one unit into records (`read`). A record is a
normalised message, a `Merged` marker (an edit event folded into its message) or a
`DeadLetter` (what could not be read, where, and why). Readers never raise for bad
data: `DataError` inside `read` becomes a dead letter for that record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from analyzers.normalize import detect_language
from pipelines.archive import Archive


class DataError(ValueError):
    """A record or file that does not fit the format; becomes a dead letter."""


@dataclass(frozen=True)
class DeadLetter:
    path: str
    pointer: str
    reason: str

    def as_dict(self, parser: str, archive_sha256: str) -> dict:
        return {
            "source": {"path": self.path, "pointer": self.pointer, "parser": parser,
                       "archive_sha256": archive_sha256},
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Merged:
    """A source record folded into another message (e.g. an edit event)."""

    pointer: str
    into: str


Record = dict | Merged | DeadLetter


class Reader:
    platform: ClassVar[str]
    parser_version: ClassVar[str] = "1"

    @classmethod
    def match(cls, archive: Archive) -> float:
        """0 when this is surely not the format, 1 when surely it is."""
        raise NotImplementedError

    def units(self, archive: Archive) -> list[str]:
        """Members read independently, one pipeline element each."""
        raise NotImplementedError

    def stream_key(self, member: str) -> str:
        """Units with one key hold one conversation's messages and are read in name order, one after
        the other, so positions and episodes run on from file to file (default: every unit alone)."""
        return member

    def streams(self, archive: Archive) -> list[tuple[str, ...]]:
        """The units grouped into streams, each in reading order; one pipeline element per stream."""
        groups: dict[str, list[str]] = {}
        for unit in self.units(archive):
            groups.setdefault(self.stream_key(unit), []).append(unit)
        return [tuple(sorted(members)) for _, members in sorted(groups.items())]

    def context(self, archive: Archive) -> tuple[Any, list[DeadLetter]]:
        """Small metadata every unit needs, and dead letters for metadata that failed."""
        return None, []

    def read(self, stream: BinaryIO, member: str, context: Any) -> Iterator[Record]:
        raise NotImplementedError

    # A huge member that is a stream of records may be read in byte ranges by several workers
    # (pipelines/ingest/split.py); a reader that can do that sets `splittable` and implements these four.
    splittable: ClassVar[bool] = False

    def split_context(self, archive: Archive, member: str, context: Any, stream: BinaryIO) -> tuple[Any, int] | None:
        """(what every range of this member needs beyond `context`, the first offset a range may start at), the
        stream at the member's start; None when this member is not read in ranges."""
        return None

    def record_start(self, cursor) -> int | None:
        """The offset of the first record start after the cursor's position (a `split.Cursor` standing on the byte
        before the first candidate), read forward; None when there is none near."""
        raise NotImplementedError

    def read_range(self, stream: BinaryIO, member: str, context: Any, extra: Any, start: int, end: int,
                   summary: dict) -> Iterator[tuple[Any, Any]]:
        """(item, facts or None) for every record that starts in [start, end), in order, the stream at `start`
        (it may read past `end`); JSON values only. What the settling needs to know of the range as a whole
        goes into `summary`."""
        raise NotImplementedError

    def settle(self, member: str, context: Any, extra: Any, summaries: list[dict]):
        """A `split.Settler` that finishes the ranges' items into records, from every range's summary in order;
        None when the ranges cannot be trusted (the member is then read whole)."""
        raise NotImplementedError


def iso_utc(ts: float) -> str:
    """ISO 8601 UTC with milliseconds: the one timestamp form in every output."""
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# Characters of one message that are read. Past this it is a pasted dump (a log, a dataset, a mail
# archive quoted whole), not something people say; the rest stays in the export, at the message's
# source position, and `message.truncated` gives the full length.
TEXT_LIMIT = 200_000


def new_message(
    *,
    platform: str,
    message_id: str,
    text: str,
    timestamp: float,
    raw_timestamp: str,
    conversation: dict,
    author: dict,
    source: dict,
    kind: str = "user",
    thread_id: str | None = None,
    reply_to: str | None = None,
    deleted: bool = False,
    edits: list[dict] | None = None,
    attachments: list[dict] | None = None,
    subtype: str | None = None,
    timestamp_rule: str | None = None,
    subject: str | None = None,
) -> dict:
    """The normalised Message of DESIGN.md, built the same way by every reader. `subject` is a mail's, kept
    beside its text, never in it (other platforms have none and leave it out)."""
    full = len(text)
    text = text[:TEXT_LIMIT]
    return {
        "platform": platform,
        "message": {
            "id": message_id,
            "text": text,
            **({"subject": subject[:TEXT_LIMIT]} if subject is not None else {}),
            **({"truncated": full} if full > TEXT_LIMIT else {}),
            "kind": kind,
            "subtype": subtype,
            "language": detect_language(text),
            "deleted": deleted,
            "edits": [{**e, "text": e["text"][:TEXT_LIMIT]} if isinstance(e.get("text"), str) else e
                      for e in edits or []],
        },
        "conversation": conversation,
        "thread": {"id": thread_id},
        "reply_to": reply_to,
        "author": author,
        "@timestamp": iso_utc(timestamp),
        # `rule` says how a zone-less or locale-formatted source time became UTC (e.g. "assumed-utc").
        "timestamp": {"raw": raw_timestamp, "epoch": timestamp,
                      **({"rule": timestamp_rule} if timestamp_rule else {})},
        "attachments": attachments or [],
        "source": source,
    }
