"""Telegram Desktop JSON export (`result.json`), one chat or the whole account.

One chat: `{name, type, id, messages: [...]}`. Whole account: `{..., chats: {list: [chat]},
left_chats: {list: [chat]}}`. The file can be gigabytes, so it is walked as a stream of
JSON events and one message is built at a time; a chat's name, type and id come before its
messages in every export Telegram Desktop writes.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Reader, Record, iso_utc, new_message
from pipelines.ingest.parsing import JSON_ERRORS, StreamedJson, as_dict, as_list, build_value, epoch_of, head_text

# `chats.list.item.messages.item` and friends: the ijson prefixes of a chat's fields.
CHAT_FIELD = re.compile(r"^(?:(?P<list>chats|left_chats)\.list\.item\.)?(?P<field>name|type|id|messages\.item)$")
CHAT_START = re.compile(r"^(?:(chats|left_chats)\.list\.item)?$")
CONVERSATION_TYPES = {
    "personal_chat": "dm", "bot_chat": "dm", "saved_messages": "dm", "private_group": "group_dm",
    "private_supergroup": "private", "private_channel": "private",
    "public_supergroup": "channel", "public_channel": "channel",
}
NOT_INCLUDED = "(File not included"
RULE_UNIXTIME = "telegram:date_unixtime"
RULE_LOCAL = "local-time-assumed-utc"  # `date` is the exporting machine's local time, zone unrecorded


def _looks_like_telegram(head: str) -> bool:
    return '"messages"' in head and ('"date_unixtime"' in head or '"from_id"' in head
                                     or '"personal_information"' in head or '"chats"' in head)


class TelegramReader(Reader):
    platform = "telegram"
    parser_version = "1.0"

    @classmethod
    def match(cls, archive: Archive) -> float:
        units = cls._units(archive)
        if not units:
            return 0.0
        return 0.95 if any(posixpath.basename(u) == "result.json" for u in units) else 0.8

    def units(self, archive: Archive) -> list[str]:
        return self._units(archive)

    @staticmethod
    def _units(archive: Archive) -> list[str]:
        names = [n for n in archive.members() if n.lower().endswith(".json")]
        # Desktop names it result.json; other names are sniffed only when few, to keep detection cheap.
        candidates = [n for n in names if posixpath.basename(n) == "result.json"] or names[:20]
        return [n for n in candidates if _looks_like_telegram(head_text(archive, n))]

    def read(self, stream: BinaryIO, member: str, context: Any) -> Iterator[Record]:
        document = StreamedJson(stream)
        events = document.events()
        chat: dict = {}
        counters = {"chats": -1, "left_chats": -1}
        pointer = "/"
        try:
            for prefix, event, value in events:
                if event == "start_map" and CHAT_START.match(prefix):
                    chat = {"list": prefix.split(".")[0] if prefix else "", "index": None, "roots": {},
                            "messages": -1}
                    if prefix:
                        counters[chat["list"]] += 1
                        chat["index"] = counters[chat["list"]]
                    continue
                field = CHAT_FIELD.match(prefix)
                if not field or (field["list"] or "") != chat.get("list"):
                    continue
                if field["field"] != "messages.item":
                    if event in ("string", "number"):
                        chat[field["field"]] = value
                    continue
                chat["messages"] += 1
                pointer = _pointer(chat)
                item = build_value(event, value, events)
                try:
                    yield self._message(item, member, pointer, chat)
                except DataError as exc:
                    yield DeadLetter(member, pointer, str(exc))
        except JSON_ERRORS as exc:
            yield DeadLetter(member, pointer, f"JSON breaks off after this record: {exc}")
        yield from document.dead_letters(member)

    def _message(self, item: Any, member: str, pointer: str, chat: dict) -> dict:
        if not isinstance(item, dict):
            raise DataError(f"a message must be a JSON object, not {type(item).__name__}")
        if "id" not in item:
            raise DataError("message without an id")
        when, raw, rule = _time(item, "date")
        service = item.get("type") == "service"
        author_id = str(item.get("actor_id" if service else "from_id") or item.get("from_id") or "")
        author_name = item.get("actor" if service else "from") or item.get("from")
        message_id = str(item["id"])
        reply = item.get("reply_to_message_id")
        reply_to = str(reply) if reply is not None else None
        thread_id = chat["roots"].get(reply_to, reply_to) if reply_to else None
        if thread_id:
            chat["roots"][message_id] = thread_id  # only replies are remembered: memory grows with them alone
        text = _flatten(item.get("text"))
        if service and not text:
            text = _service_text(item, author_name)
        return new_message(
            platform=self.platform,
            message_id=message_id,
            text=text,
            timestamp=when,
            raw_timestamp=raw,
            timestamp_rule=rule,
            conversation=_conversation(chat),
            author={"id": author_id, "name": author_name or ("Deleted Account" if author_id else "unknown"),
                    "email": None},
            kind="system" if service else "user",
            subtype=item.get("action") if service else ("forwarded" if item.get("forwarded_from") else None),
            thread_id=thread_id,
            reply_to=reply_to,
            edits=_edits(item, author_id),
            attachments=_attachments(item),
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )


def _pointer(chat: dict) -> str:
    head = f"/{chat['list']}/list/{chat['index']}" if chat["list"] else ""
    return f"{head}/messages/{chat['messages']}"


def _conversation(chat: dict) -> dict:
    chat_id = chat.get("id")
    fallback = f"{chat['list'] or 'chat'}-{chat['index'] or 0}"
    return {"id": str(chat_id) if chat_id is not None else fallback,
            "name": chat.get("name") or str(chat_id or fallback),
            "type": CONVERSATION_TYPES.get(chat.get("type"), "group_dm")}


def _time(item: dict, key: str) -> tuple[float, str, str]:
    """(epoch, raw, rule): `<key>_unixtime` when present, else the zone-less local `<key>` read as UTC."""
    unix = item.get(f"{key}_unixtime")
    if unix not in (None, ""):
        try:
            seconds = float(unix)
        except (TypeError, ValueError):
            raise DataError(f"invalid {key}_unixtime {unix!r}") from None
        return epoch_of(dt.datetime.fromtimestamp(seconds, tz=dt.UTC), key), str(unix), RULE_UNIXTIME
    local = item.get(key)
    if not isinstance(local, str):
        raise DataError(f"message without {key}")
    try:
        moment = dt.datetime.fromisoformat(local).replace(tzinfo=dt.UTC)
    except ValueError:
        raise DataError(f"invalid {key} {local!r}") from None
    return epoch_of(moment, key), local, RULE_LOCAL


def _edits(item: dict, author_id: str) -> list[dict]:
    if not item.get("edited") and not item.get("edited_unixtime"):
        return []
    # The export keeps only the final text; when and by whom it changed is what is known.
    when, _, _ = _time(item, "edited")
    return [{"text": None, "at": iso_utc(when), "by": author_id}]


def _flatten(text: Any) -> str:
    """`text` is a string or a list of strings and entity objects ({type, text, href?})."""
    if isinstance(text, str):
        return text
    parts = []
    for part in as_list(text):
        if isinstance(part, str):
            parts.append(part)
            continue
        entity = as_dict(part)
        label = entity.get("text") if isinstance(entity.get("text"), str) else ""
        href = entity.get("href")
        parts.append(f"{label} ({href})" if isinstance(href, str) and href and href != label else label)
    return "".join(parts)


def _service_text(item: dict, actor: str | None) -> str:
    action = str(item.get("action") or "service").replace("_", " ")
    extra = [str(m) for m in as_list(item.get("members")) if m is not None]
    if isinstance(item.get("title"), str):
        extra.append(item["title"])
    return " ".join(p for p in (actor or "", action, ", ".join(extra)) if p)


def _attachments(item: dict) -> list[dict]:
    found = []
    if isinstance(item.get("photo"), str):
        found.append({"name": _file_name(item["photo"]), "type": "photo", "size": item.get("photo_file_size")})
    if isinstance(item.get("file"), str):
        found.append({"name": item.get("file_name") or _file_name(item["file"]),
                      "type": item.get("mime_type") or item.get("media_type"), "size": item.get("file_size")})
    return found


def _file_name(path: str) -> str | None:
    return None if path.startswith(NOT_INCLUDED) else posixpath.basename(path)
