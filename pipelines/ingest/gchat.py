"""Google Chat from Google Takeout: `Google Chat/Groups/<group>/messages.json` per conversation.

Each group folder ("Space …", "DM …") holds `messages.json` (`{"messages": [...]}`) and
`group_info.json` (name, members); `Google Chat/Users/<user>/user_info.json` lists the exporter's
memberships with group names. `created_date` is a locale-formatted string ("Tuesday, January 9,
2024 at 3:04:05 PM UTC", with a narrow no-break space before PM in newer exports, 24-hour and
day-first variants, zone names or GMT offsets); it is parsed by explicit rules and the rule used
is kept in `timestamp.rule` beside the raw string.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from typing import Any, BinaryIO

from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Reader, Record, iso_utc, new_message
from pipelines.ingest.parsing import LATEST_EPOCH, as_dict, as_list, head_text, load_json

MESSAGES_FILE = re.compile(r"(?:^|/)Groups/([^/]+)/messages\.json$")
TAKEOUT_PATH = "Google Chat/Groups/"
# English names on purpose: calendar.month_name follows the process locale, Takeout does not.
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
               "november", "december")
MONTHS = {name: i for i, name in enumerate(MONTH_NAMES, 1)} | {
    name[:3]: i for i, name in enumerate(MONTH_NAMES, 1)} | {"sept": 9}
DATE_MONTH_FIRST = re.compile(r"^(?:[A-Za-z]+,\s*)?(?P<month>[A-Za-z]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})")
DATE_DAY_FIRST = re.compile(r"^(?:[A-Za-z]+,?\s*)?(?P<day>\d{1,2})\.?\s+(?P<month>[A-Za-z]+)\.?,?\s+(?P<year>\d{4})")
TIME = re.compile(r"^,?\s*(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
                  r"\s*(?P<meridiem>[AaPp]\.?\s?[Mm]\.?)?\s*(?P<zone>.*)$")
OFFSET = re.compile(r"^(?:UTC|GMT)?\s*(?P<sign>[+-−])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$")
UTC_NAMES = {"UTC", "GMT", "UT", "Z"}
SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


def _zone_abbreviations() -> dict[str, int]:
    table = json.loads(resources.files("pipelines.ingest").joinpath("timezones.json").read_text("utf-8"))
    return {k: v for k, v in table.items() if not k.startswith("_")}


ZONES = _zone_abbreviations()


def parse_created_date(raw: Any) -> tuple[float, str]:
    """(epoch seconds, rule) for a Takeout date string; DataError when no rule reads it."""
    if not isinstance(raw, str) or not raw.strip():
        raise DataError(f"missing or invalid created_date {raw!r}")
    text = SPACES.sub(" ", raw).strip()
    iso = _iso(text)
    if iso is not None:
        return iso, "iso"
    date = DATE_MONTH_FIRST.match(text) or DATE_DAY_FIRST.match(text)
    time = TIME.match(text[date.end():]) if date else None
    month = MONTHS.get(date.group("month").lower()) if date else None
    if not (date and time and month):
        raise DataError(f"unrecognised date {raw!r}")
    hour = _hour(int(time.group("hour")), time.group("meridiem"), raw)
    offset_minutes, rule = _zone(time.group("zone").strip())
    try:
        local = dt.datetime(int(date.group("year")), month, int(date.group("day")), hour,
                            int(time.group("minute")), int(time.group("second") or 0), tzinfo=dt.UTC)
    except ValueError as exc:
        raise DataError(f"impossible date {raw!r}: {exc}") from None
    seconds = local.timestamp() - offset_minutes * 60
    if not 0 < seconds < LATEST_EPOCH:
        raise DataError(f"date {raw!r} is out of range")
    return seconds, rule


def _iso(text: str) -> float | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _hour(hour: int, meridiem: str | None, raw: str) -> int:
    if not meridiem:
        return hour
    if not 1 <= hour <= 12:
        raise DataError(f"hour {hour} with AM/PM in {raw!r}")
    pm = meridiem.lower().startswith("p")
    return hour % 12 + (12 if pm else 0)


def _zone(zone: str) -> tuple[int, str]:
    """Minutes east of UTC and the rule that decided them."""
    if zone.upper() in UTC_NAMES:
        return 0, "explicit-utc"
    offset = OFFSET.match(zone.upper())
    if offset:
        minutes = int(offset.group("hours")) * 60 + int(offset.group("minutes") or 0)
        return (-minutes if offset.group("sign") in "-−" else minutes), "offset"
    if zone.upper() in ZONES:
        return ZONES[zone.upper()], "zone-abbreviation"
    return 0, "assumed-utc"  # no zone, or a name too ambiguous to trust; the raw string is kept


def _group_dir(member: str) -> str:
    return posixpath.dirname(member)


class GoogleChatReader(Reader):
    platform = "gchat"
    parser_version = "1.0"

    @classmethod
    def match(cls, archive: Archive) -> float:
        files = [n for n in archive.members() if MESSAGES_FILE.search(n)]
        if any(TAKEOUT_PATH in f"/{n}" or n.startswith(TAKEOUT_PATH) for n in files):
            return 0.95
        if any('"created_date"' in head_text(archive, n) and '"creator"' in head_text(archive, n) for n in files[:10]):
            return 0.8
        return 0.0

    def units(self, archive: Archive) -> list[str]:
        return [n for n in archive.members() if MESSAGES_FILE.search(n)]

    def context(self, archive: Archive) -> tuple[dict, list[DeadLetter]]:
        errors: list[DeadLetter] = []
        groups: dict[str, dict] = {}
        group_names: dict[str, str] = {}
        names = archive.members()
        for name in names:
            if posixpath.basename(name) not in ("group_info.json", "user_info.json"):
                continue
            try:
                info = as_dict(load_json(archive.read_bytes(name)))
            except DataError as exc:
                errors.append(DeadLetter(name, "", f"unreadable metadata file: {exc}"))
                continue
            if name.endswith("group_info.json"):
                groups[_group_dir(name)] = info
            for membership in as_list(info.get("membership_info")):
                membership = as_dict(membership)
                if membership.get("group_id") and membership.get("group_name"):
                    group_names[str(membership["group_id"])] = str(membership["group_name"])
        conversations = {_group_dir(u): _conversation(_group_dir(u), groups.get(_group_dir(u), {}), group_names)
                         for u in self.units(archive)}
        return {"conversations": conversations}, errors

    def read(self, stream: BinaryIO, member: str, context: dict) -> Iterator[Record]:
        try:
            data = load_json(stream.read())
        except DataError as exc:
            yield DeadLetter(member, "", str(exc))
            return
        items = as_dict(data).get("messages")
        if not isinstance(items, list):
            yield DeadLetter(member, "", "messages.json without a messages list")
            return
        conversation = context["conversations"].get(_group_dir(member)) or _conversation(_group_dir(member), {}, {})
        topics = Counter(m.get("topic_id") for m in items if isinstance(m, dict) and m.get("topic_id"))
        first_in_topic: dict[str, str] = {}
        for i, item in enumerate(items):
            pointer = f"/messages/{i}"
            try:
                yield self._message(item, member, pointer, conversation, topics, first_in_topic)
            except DataError as exc:
                yield DeadLetter(member, pointer, str(exc))

    def _message(self, item: Any, member: str, pointer: str, conversation: dict, topics: Counter,
                 first_in_topic: dict[str, str]) -> dict:
        if not isinstance(item, dict):
            raise DataError(f"a message must be a JSON object, not {type(item).__name__}")
        message_id = item.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise DataError("message without a message_id")
        when, rule = parse_created_date(item.get("created_date"))
        creator = as_dict(item.get("creator"))
        author_id = str(creator.get("email") or creator.get("name") or "")
        edits = []
        if item.get("updated_date"):
            edited, _ = parse_created_date(item["updated_date"])
            edits.append({"text": None, "at": iso_utc(edited), "by": author_id})
        topic = item.get("topic_id")
        # DMs give every message its own topic: a thread only exists when a topic has replies.
        threaded = bool(topic) and topics[topic] > 1
        root = first_in_topic.setdefault(topic, message_id) if threaded else None
        return new_message(
            platform=self.platform,
            message_id=message_id,
            text=item.get("text") if isinstance(item.get("text"), str) else "",
            timestamp=when,
            raw_timestamp=str(item.get("created_date")),
            timestamp_rule=rule,
            conversation=conversation,
            author={"id": author_id, "name": creator.get("name") or author_id or "unknown",
                    "email": creator.get("email")},
            kind="bot" if str(creator.get("user_type", "")).lower() == "bot" else "user",
            thread_id=topic if threaded else None,
            reply_to=root if root and root != message_id else None,
            deleted=str(item.get("message_state", "")).upper() == "DELETED",
            edits=edits,
            attachments=[{"name": f.get("original_name") or f.get("export_name"), "type": None, "size": None}
                         for f in as_list(item.get("attached_files")) if isinstance(f, dict)],
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )


def _conversation(group_dir: str, info: dict, group_names: dict[str, str]) -> dict:
    group_id = posixpath.basename(group_dir)
    members = [as_dict(m).get("name") or as_dict(m).get("email") for m in as_list(info.get("members"))]
    members = [str(m) for m in members if m]
    # Takeout names folders "DM …" for direct and group chats, "Space …" for spaces.
    kind = ("dm" if len(members) <= 2 else "group_dm") if group_id.startswith("DM ") else "channel"
    name = info.get("name") or group_names.get(group_id)
    if not name:
        name = f"DM: {', '.join(members)}" if members else group_id
    return {"id": group_id, "name": str(name), "type": kind}
