"""WhatsApp exported chat: `_chat.txt` (iOS), `WhatsApp Chat with X.txt` (Android), alone or in a ZIP.

Each message starts with a date and time in the phone's locale and no time zone:
  Android  `12/31/23, 9:41 PM - Name: text`   `31/12/2023, 21:41 - Name: text`   `31.12.23, 21:41 - Name: text`
  iOS      `[31/12/2023, 21:41:05] Name: text`   `[12/31/23, 9:41:05 PM] Name: text`
Lines that do not start that way continue the message above. Whether a date is day- or
month-first is decided per layout (a header's shape: separators, year digits, clock), since two
phones' exports joined in one file write dates differently, from all the file says: a field above
12, dates in attachment names, time order; the reason is recorded in `timestamp.rule`. The file is
spooled (to disk when large) so that decision can precede the parse.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from analyzers.ids import content_id
from pipelines.archive import NESTED_SEPARATOR, Archive
from pipelines.ingest.base import DataError, DeadLetter, Reader, Record, new_message
from pipelines.ingest.parsing import UniqueIds, epoch_of, head_text, lines_of
from pipelines.ingest.split import Bounded, Settler, find_line

HEADER = re.compile(
    r"^\[?(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})[./-](?P<c>\d{2,4})\.?,?\s+"
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?"
    r"(?:\s?(?P<ampm>[AaPp]\.?\s?[Mm]\.?))?"
    r"(?P<close>\]\s?|\s[-–]\s)(?P<rest>.*)$"
)
SENDER = re.compile(r"^(?P<sender>[^:]{1,100}?): (?P<body>.*)$", re.DOTALL)
# Bidirectional marks and isolates WhatsApp sprinkles around names, numbers and notices.
MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
SPACES = re.compile("[\u202f\u00a0]")
IOS_NOTICE = ": \u200e"  # iOS marks notices and attachments with a left-to-right mark after the colon
LOCAL_TIME = "local-time-assumed-utc"
SPOOL_IN_MEMORY = 32 << 20
SYSTEM_AUTHOR = {"id": "", "name": "WhatsApp", "email": None}


@cache
def _patterns() -> dict[str, Any]:
    data = yaml.safe_load((Path(__file__).with_name("whatsapp.yaml")).read_text(encoding="utf-8"))
    compiled = {key: [re.compile(p, re.IGNORECASE) for p in data[key]]
                for key in ("system", "media_omitted", "deleted", "edited_suffix", "attached")}
    compiled["dated_file_names"] = [re.compile(p, re.IGNORECASE) for p in data["dated_file_names"]]
    compiled["file_name_prefixes"] = data["file_name_prefixes"]
    return compiled


def clean(line: str) -> str:
    return SPACES.sub(" ", MARKS.sub("", line))


NAMES = {"dmy": "day-first", "mdy": "month-first", "ymd": "year-first"}
FIELD = {"dmy": "first", "mdy": "second"}
OTHER = {"dmy": "mdy", "mdy": "dmy"}
# Read the wrong way, a chat in time order jumps back by weeks or months; read the right way it goes
# back by an hour at most (clock changes), or once where two exports were joined.
BACKWARDS = dt.timedelta(days=1)
MIXED = "the file mixes both orders"


def layout(header: re.Match) -> tuple:
    """A header's shape: separators, where and how long the year is, clock (`pm`, `PM`, `p.m.`). One
    phone writes every line alike; two phones' exports joined in one file differ in it. Day and month
    digits are no part of it: `1/2/24` and `12/31/23` come from one phone."""
    ampm = (header["ampm"] or "").replace("A", "P").replace("a", "p")  # AM and PM alike, case and dots kept
    return (header["sep"], len(header["a"]) == 4, len(header["c"]), header["close"].strip(), ampm,
            header["second"] is not None)


def _over_12(header: re.Match) -> str | None:
    """The one order this header can be read in, when exactly one of its first two fields is above 12."""
    a, b = int(header["a"]), int(header["b"])
    if a > 12 >= b:
        return "dmy"
    if b > 12 >= a:
        return "mdy"
    return None


@dataclass
class Layout:
    """How one layout's dates are read, and why. `mixed`: both orders are proven in it, so a line
    with a field above 12 is read by it, and any other line as the nearest such line before it."""

    order: str
    why: str
    mixed: bool = False


@dataclass
class Evidence:
    """What the headers of one layout say about day- or month-first, gathered line by line."""

    year_first: bool
    twelve_hour: bool
    proven: list[str] = field(default_factory=list)  # orders proven by a field above 12, in order of appearance
    votes: Counter = field(default_factory=Counter)  # order -> attachment names dated as that reading only
    backwards: Counter = field(default_factory=Counter)  # order -> times the chat goes back in time read so
    last: dict[str, dt.datetime] = field(default_factory=dict)

    def add(self, header: re.Match) -> None:
        if self.year_first:
            return
        proven = _over_12(header)
        if proven and proven not in self.proven:
            self.proven.append(proven)
        if self.proven:
            return  # a field above 12 outweighs what follows; only a proof of the other order still matters
        moments = {}
        for order in ("dmy", "mdy"):
            try:
                moments[order] = _moment(header, order)
            except ValueError:
                continue
            if order in self.last and moments[order] < self.last[order] - BACKWARDS:
                self.backwards[order] += 1
            self.last[order] = moments[order]
        dated = _attachment_date(header["rest"])
        matching = [order for order, moment in moments.items() if moment.date() == dated]
        if len(matching) == 1:
            self.votes[matching[0]] += 1

    def decide(self) -> Layout:
        if self.year_first:
            return Layout("ymd", "year-first date")
        if len(self.proven) == 2:
            return Layout(self.proven[0], MIXED, mixed=True)
        if self.proven:
            order = self.proven[0]
            return Layout(order, f"{NAMES[order]}: a {FIELD[order]} date field is above 12")
        for order in ("dmy", "mdy"):
            if self.votes[order] > self.votes[OTHER[order]]:
                return Layout(order, f"{NAMES[order]}: the dates in attachment names match "
                                     f"({self.votes[order]} for, {self.votes[OTHER[order]]} against)")
        for order in ("dmy", "mdy"):
            if self.backwards[order] < self.backwards[OTHER[order]]:
                back = self.backwards[OTHER[order]]
                return Layout(order, f"{NAMES[order]}: time order (read {NAMES[OTHER[order]]}, the chat goes back "
                                     f"in time at {back} message{'s' * (back != 1)})")
        # Nothing tells: the old default, said to be one. en-US, the biggest 12-hour locale, is month-first.
        order = "mdy" if self.twelve_hour else "dmy"
        clock = " (12-hour clock)" if self.twelve_hour else ""
        return Layout(order, f"{NAMES[order]} by default{clock}, ambiguous: no date field above 12, "
                             "attachment names and time order fit both orders")


@dataclass
class DateOrder:
    """How this file writes dates, per layout."""

    layouts: dict[tuple, Layout] = field(default_factory=dict)
    senders: set[str] = field(default_factory=set)
    last: dict[tuple, str] = field(default_factory=dict)  # mixed layouts: the order the last proving line had

    def reading(self, header: re.Match) -> tuple[str, str]:
        """(order, why) for this header; asked for every header in file order."""
        if len(self.layouts) == 1:  # one phone's export, the usual case: no need to work out the shape
            key, found = next(iter(self.layouts.items()))
        else:
            key = layout(header)
            found = self.layouts[key]
        if not found.mixed:
            return found.order, found.why
        proven = _over_12(header)
        if proven:
            self.last[key] = proven
            return proven, f"{NAMES[proven]}: a {FIELD[proven]} date field is above 12 ({MIXED})"
        order = self.last.get(key, found.order)
        where = "previous" if key in self.last else "first"
        return order, f"{NAMES[order]} like the {where} line with a date field above 12 ({MIXED})"

    @staticmethod
    def rule(why: str) -> str:
        return f"{why}; {LOCAL_TIME}"


class WhatsAppReader(Reader):
    platform = "whatsapp"
    parser_version = "1.1"  # 1.1: date order per layout, from attachment names and time order too

    @classmethod
    def match(cls, archive: Archive) -> float:
        units = cls._units(archive)
        if not units:
            return 0.0
        named = any(posixpath.basename(u) == "_chat.txt" or posixpath.basename(u).startswith("WhatsApp")
                    for u in units)
        return 0.95 if named else 0.7

    def units(self, archive: Archive) -> list[str]:
        return self._units(archive)

    @staticmethod
    def _units(archive: Archive) -> list[str]:
        found = []
        for name in (n for n in archive.members() if n.lower().endswith(".txt")):
            lines = [clean(line) for line in head_text(archive, name, 4096).splitlines()[:8] if line.strip()]
            if lines and sum(bool(HEADER.match(line)) for line in lines) * 2 >= len(lines):
                found.append(name)
        return found

    def context(self, archive: Archive) -> tuple[dict, list[DeadLetter]]:
        return {"archive_name": archive.name}, []

    def read(self, stream: BinaryIO, member: str, context: dict) -> Iterator[Record]:
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
            order = self._prescan(stream, spool)
            spool.seek(0)
            conversation = _conversation(member, context, order)
            ids = UniqueIds()
            for number, lines in _messages(spool):
                pointer = f"line:{number}"
                try:
                    yield self._message(lines, member, pointer, conversation, order, ids)
                except DataError as exc:
                    yield DeadLetter(member, pointer, str(exc))

    @staticmethod
    def _prescan(stream: BinaryIO, spool: BinaryIO) -> DateOrder:
        evidence: dict[tuple, Evidence] = {}
        senders: set[str] = set()
        for raw in lines_of(stream):
            spool.write(raw)
            found = HEADER.match(_line_text(raw))
            if found:
                _note(found, evidence, senders)
        return DateOrder({key: e.decide() for key, e in evidence.items()}, senders)

    def _message(self, lines: list[str], member: str, pointer: str, conversation: dict, order: DateOrder,
                 ids: UniqueIds) -> dict:
        return self._finish(_partial(lines), member, pointer, conversation, order, ids)

    def _finish(self, partial: dict, member: str, pointer: str, conversation: dict, order: DateOrder,
                ids: UniqueIds) -> dict:
        """The message from what its lines say alone (`_partial`) and what the whole file says (date order)."""
        header = HEADER.match(clean(partial["first"]))
        when, raw_time, why = _time(header, order)
        author, body = partial["author"], partial["body"]
        return new_message(
            platform=self.platform,
            message_id=ids(content_id(raw_time, author["name"], body)),
            text=body,
            timestamp=when,
            raw_timestamp=raw_time,
            timestamp_rule=order.rule(why),
            conversation=conversation,
            author=author,
            kind=partial["kind"],
            subtype="deleted" if partial["deleted"] else partial["subtype"],
            deleted=partial["deleted"],
            edits=partial["edits"],
            attachments=partial["attachments"],
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )

    # A huge chat in byte ranges (pipelines/ingest/split.py). A line that begins with a date always starts a
    # message, so any such line may start a range; a range parses its messages as far as their own lines go
    # (`_partial`) and gives each one's header line as a fact: the date order is decided from all of them, in
    # file order, when the ranges are settled, as `_prescan` decides it before a whole read.
    splittable = True

    def split_context(self, archive: Archive, member: str, context: Any, stream: BinaryIO) -> tuple[Any, int] | None:
        return None, 0

    def record_start(self, cursor) -> int | None:
        return find_line(cursor, lambda line, previous, following: bool(HEADER.match(_line_text(line))))

    def read_range(self, stream: BinaryIO, member: str, context: Any, extra: Any, start: int, end: int,
                   summary: dict) -> Iterator[tuple[Any, Any]]:
        lines = Bounded(stream, end - start)
        for number, message in _messages(io.BufferedReader(lines, 1 << 16)):
            try:
                partial = _partial(message)
            except DataError as exc:
                yield {"n": number, "dead": str(exc)}, None
                continue
            yield {"n": number, **partial}, clean(partial["first"])
        summary["lines"] = lines.lines()

    def settle(self, member: str, context: Any, extra: Any, summaries: list[dict]) -> Settler | None:
        if any("failed" in s for s in summaries):
            return None
        return _ChatSettler(self, member, context, [s["lines"] for s in summaries], [s["items"] for s in summaries])


class _ChatSettler(Settler):
    """The ranges of one chat settled as a whole read goes: the date order from every header line in file order
    (`WhatsAppReader._prescan`), then each message finished with it, its line numbered in the file."""

    needs_facts = True

    def __init__(self, reader: WhatsAppReader, member: str, context: dict, lines: list[int], items: list[int]):
        self.reader, self.member, self.context = reader, member, context
        self.bases = iter([sum(lines[:i]) for i in range(len(lines))])
        self.left = iter(items)
        self.base = self.remaining = 0
        self.ids = UniqueIds()

    def facts(self, facts: Iterator[Any]) -> None:
        evidence: dict[tuple, Evidence] = {}
        senders: set[str] = set()
        for text in facts:
            found = HEADER.match(text)
            _note(found, evidence, senders)
        self.order = DateOrder({key: e.decide() for key, e in evidence.items()}, senders)
        self.conversation = _conversation(self.member, self.context, self.order)

    def record(self, item: Any) -> Record:
        while self.remaining == 0:
            self.base, self.remaining = next(self.bases), next(self.left)
        self.remaining -= 1
        pointer = f"line:{self.base + item['n']}"
        if "dead" in item:
            return DeadLetter(self.member, pointer, item["dead"])
        try:
            return self.reader._finish(item, self.member, pointer, self.conversation, self.order, self.ids)
        except DataError as exc:
            return DeadLetter(self.member, pointer, str(exc))


def _line_text(raw: bytes) -> str:
    """A raw line as every pass reads it for its header: decoded, its line break and WhatsApp's marks gone."""
    return clean(raw.decode("utf-8", errors="replace").rstrip("\r\n"))


def _note(found: re.Match, evidence: dict[tuple, Evidence], senders: set[str]) -> None:
    """What one header line tells about the file's date order and its senders."""
    key = layout(found)
    if key not in evidence:
        evidence[key] = Evidence(len(found["a"]) == 4, bool(found["ampm"]))
    evidence[key].add(found)
    sender = SENDER.match(found["rest"])
    if sender and len(senders) < 3:
        senders.add(sender["sender"])


def _partial(lines: list[str | None]) -> dict:
    """What a message's own lines say: everything but its time, which needs the file's date order."""
    raw_first = lines[0]
    if raw_first is None:
        # The pointer locates the text in the archive; its words stay out of errors.jsonl (secrets, PII).
        raise DataError(f"{sum(len(line) for line in lines[1:])} characters of text before the first message line")
    header = HEADER.match(clean(raw_first))
    rest = "\n".join([header["rest"], *(clean(line) for line in lines[1:])]).rstrip()
    body, author, kind = _split(rest, IOS_NOTICE in raw_first)
    body, edits = _strip_edit_marker(body, author)
    body, attachments, subtype = _attachments(body)
    return {"first": raw_first, "body": body, "author": author, "kind": kind, "edits": edits,
            "attachments": attachments, "subtype": subtype, "deleted": _is_deleted(body)}


def _messages(spool: BinaryIO) -> Iterator[tuple[int, list[str | None]]]:
    """(line number, [header line, continuation lines...]); text before any header comes as [None, ...]."""
    current: list[str | None] = []
    start = 1
    for number, raw in enumerate(spool, start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if HEADER.match(clean(line)):
            if current and (current[0] is not None or any(s.strip() for s in current[1:])):
                yield start, current
            current, start = [line], number
        elif current:
            current.append(line)
        else:
            current, start = [None, line], number
    if current and (current[0] is not None or any(s.strip() for s in current[1:])):
        yield start, current


def _time(header: re.Match, order: DateOrder) -> tuple[float, str, str]:
    """(epoch, raw time, why it was read in its order)."""
    reading, why = order.reading(header)
    hour = int(header["hour"])
    if header["ampm"] and not 1 <= hour <= 12:
        raise DataError(f"hour {hour} on a 12-hour clock")
    raw = header.group(0)[: header.start("rest")].strip(" []-–")
    try:
        moment = _moment(header, reading)
    except ValueError as exc:
        raise DataError(f"invalid date or time {raw!r} ({why}): {exc}") from None
    return epoch_of(moment, "time"), raw, why


def _moment(header: re.Match, order: str) -> dt.datetime:
    """The header's time read in `order`; ValueError when that is no valid date."""
    a, b, c = header["a"], header["b"], header["c"]
    year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
    hour = int(header["hour"])
    if header["ampm"]:
        hour = hour % 12 + (12 if header["ampm"][0] in "pP" else 0)
    return dt.datetime(int(year) + (2000 if len(year) == 2 else 0), int(month), int(day), hour,
                       int(header["minute"]), int(header["second"] or 0), tzinfo=dt.UTC)


def _attachment_date(text: str) -> dt.date | None:
    """The date an attachment's file name carries (WhatsApp names media by the day it was sent)."""
    head = text[:300]  # the name follows the sender's name (at most 100 characters); a pasted dump is not searched
    for pattern in _patterns()["dated_file_names"]:
        found = pattern.search(head)
        if found:
            try:
                return dt.date(int(found["year"]), int(found["month"]), int(found["day"]))
            except ValueError:
                return None
    return None


def _split(rest: str, ios_notice: bool) -> tuple[str, dict, str]:
    """(text, author, kind). Android writes notices without a sender; iOS puts the chat's name as
    sender and a direction mark before the notice, which attachments and deletions also carry."""
    sender = SENDER.match(rest)
    # A notice may hold a colon (a new subject "a: b"): then the whole line reads as one, its tail does not.
    if sender is None or (_is_notice(rest) and not _is_notice(sender["body"])):
        return rest, SYSTEM_AUTHOR, "system"
    name, body = sender["sender"].strip(), sender["body"]
    author = {"id": name, "name": name, "email": None}
    if ios_notice and not _is_media(body) and not _is_deleted(body):
        return body, author, "system"
    return body, author, "user"


def _is_notice(text: str) -> bool:
    return any(p.search(text) for p in _patterns()["system"])


def _is_deleted(text: str) -> bool:
    return any(p.fullmatch(text.strip()) for p in _patterns()["deleted"])


def _is_media(text: str) -> bool:
    patterns = _patterns()
    return any(p.search(text) for p in patterns["attached"]) or any(
        p.fullmatch(text.strip()) for p in patterns["media_omitted"])


def _strip_edit_marker(body: str, author: dict) -> tuple[str, list[dict]]:
    for pattern in _patterns()["edited_suffix"]:
        if pattern.search(body):
            # Only the final text is exported, and no edit time.
            return pattern.sub("", body), [{"text": None, "at": None, "by": author["id"]}]
    return body, []


def _attachments(body: str) -> tuple[str, list[dict], str | None]:
    patterns = _patterns()
    if any(p.fullmatch(body.strip()) for p in patterns["media_omitted"]):
        return "", [{"name": None, "type": body.strip().strip("<>"), "size": None}], "media_omitted"
    for pattern in patterns["attached"]:
        found = pattern.search(body)
        if found:
            name = found["name"].strip()
            caption = (body[: found.start()] + body[found.end():]).strip()
            kind = posixpath.splitext(name)[1].lstrip(".").lower() or None
            return caption, [{"name": name, "type": kind, "size": None}], "attachment"
    return body, [], None


def _conversation(member: str, context: dict, order: DateOrder) -> dict:
    """The chat's name comes from its file name, else from the ZIP or folder holding it."""
    holder, _, inner = member.rpartition(NESTED_SEPARATOR)
    stem = posixpath.splitext(posixpath.basename(inner))[0]
    if stem == "_chat" or not stem:
        parent = posixpath.dirname(inner) or holder or context.get("archive_name", "")
        stem = posixpath.splitext(posixpath.basename(parent))[0] or "WhatsApp chat"
    for prefix in _patterns()["file_name_prefixes"]:
        stem = stem.removeprefix(prefix)
    return {"id": stem, "name": stem, "type": "dm" if len(order.senders) <= 2 else "group_dm"}
