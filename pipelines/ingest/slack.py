"""Slack admin export (ZIP or folder), old and new layouts.

`users.json`, `channels.json`, `groups.json`, `dms.json`, `mpims.json` describe the
workspace; every conversation folder holds one JSON list of messages per UTC day.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
from collections import deque
from collections.abc import Iterator
from typing import Any, BinaryIO

from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Merged, Reader, Record, iso_utc, new_message
from pipelines.ingest.parsing import JSON_ERRORS, StreamedJson

DAY_FILE = re.compile(r"(?:^|/)([^/]+)/(\d{4}-\d{2}-\d{2})\.json$")
LISTS = {"channels.json": "channel", "groups.json": "private", "dms.json": "dm", "mpims.json": "group_dm"}
SYSTEM_SUBTYPES = {
    "channel_join", "channel_leave", "channel_purpose", "channel_topic", "channel_name", "channel_archive",
    "channel_unarchive", "group_join", "group_leave", "group_purpose", "group_topic", "group_name",
    "group_archive", "group_unarchive", "pinned_item", "unpinned_item", "bot_add", "bot_remove",
    "bot_enable", "bot_disable", "reminder_add", "channel_convert_to_private", "channel_posting_permissions",
    "sh_room_created", "huddle_thread",
}
DELETED_TEXT = "This message was deleted."
MENTION = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")
LINK = re.compile(r"<((?:https?|mailto|ftp):[^>|]+)(?:\|([^>]*))?>")
HELD = 10_000  # records of a day file held back for edit and deletion events that come after them


def _root(archive: Archive) -> str:
    """The folder inside the archive that holds the export (ZIPs often add one level)."""
    best = None
    for name in archive.members():
        base = posixpath.basename(name)
        if base in ("channels.json", "users.json"):
            prefix = name[: -len(base)]
            if best is None or len(prefix) < len(best):
                best = prefix
    return best or ""


class SlackReader(Reader):
    platform = "slack"
    parser_version = "1.0"

    @classmethod
    def match(cls, archive: Archive) -> float:
        names = archive.members()
        root = _root(archive)
        day_files = sum(1 for n in names if n.startswith(root) and DAY_FILE.search(n[len(root):]))
        if not day_files:
            return 0.0
        has_lists = any(f"{root}{n}" in names for n in ("users.json", *LISTS))
        return 0.95 if has_lists else 0.5

    def units(self, archive: Archive) -> list[str]:
        root = _root(archive)
        return [n for n in archive.members() if n.startswith(root) and DAY_FILE.search(n[len(root):])
                and n[len(root):].count("/") == 1]

    def stream_key(self, member: str) -> str:
        return posixpath.dirname(member)  # a conversation's folder; its day files sort by date

    def context(self, archive: Archive) -> tuple[dict, list[DeadLetter]]:
        root = _root(archive)
        errors: list[DeadLetter] = []
        users: dict[str, dict] = {}
        conversations: dict[str, dict] = {}

        def load(name: str) -> list:
            path = root + name
            if path not in archive.members():
                return []
            try:
                data = json.loads(archive.read_bytes(path).decode("utf-8", errors="replace"))
            except (ValueError, RecursionError, OSError) as exc:
                errors.append(DeadLetter(path, "", f"unreadable metadata file: {exc}"))
                return []
            if not isinstance(data, list):
                errors.append(DeadLetter(path, "", "metadata file is not a JSON list"))
                return []
            return data

        for i, u in enumerate(load("users.json")):
            if not isinstance(u, dict) or not isinstance(u.get("id"), str):
                errors.append(DeadLetter(root + "users.json", f"/{i}", "user without an id"))
                continue
            profile = u.get("profile") or {}
            users[u["id"]] = {
                "name": profile.get("display_name") or profile.get("real_name") or u.get("real_name")
                or u.get("name") or u["id"],
                "email": profile.get("email"),
                "bot": bool(u.get("is_bot")),
            }
        for list_name, kind in LISTS.items():
            for i, c in enumerate(load(list_name)):
                if not isinstance(c, dict) or not isinstance(c.get("id"), str):
                    errors.append(DeadLetter(root + list_name, f"/{i}", "conversation without an id"))
                    continue
                name = c.get("name") or c["id"]
                if kind == "dm":
                    members = [users.get(m, {}).get("name", m) for m in c.get("members") or []]
                    name = "DM: " + ", ".join(members) if members else c["id"]
                # The folder of a DM is its id; of every other conversation, its name.
                folder = c["id"] if kind == "dm" else (c.get("name") or c["id"])
                conversations[folder] = {"id": c["id"], "name": name, "type": kind}
        return {"users": users, "conversations": conversations, "root": root}, errors

    def read(self, stream: BinaryIO, member: str, context: dict) -> Iterator[Record]:
        """The day file's messages in file order, streamed: a day file can hold millions of messages.

        An edit or deletion event changes a message read before it; the last `HELD` records wait so
        their later events can still be merged into them, and an event whose message has already gone
        on is kept as a message of its own (as when the message is in another day file)."""
        folder = DAY_FILE.search(member).group(1)
        conversation = context["conversations"].get(folder) or {"id": folder, "name": folder, "type": "channel"}
        document = StreamedJson(stream)
        items = document.items()
        if items is None:
            yield DeadLetter(member, "", "a day file must be a JSON list of messages")
            return
        held: deque[Record] = deque()
        built: dict[str, dict] = {}  # message id -> its record, while held
        index = -1
        try:
            for index, item in enumerate(items):
                pointer = f"/{index}"
                try:
                    record = self._record(item, member, pointer, conversation, context, built)
                except DataError as exc:
                    record = DeadLetter(member, pointer, str(exc))
                if isinstance(record, dict):
                    built[record["message"]["id"]] = record
                held.append(record)
                if len(held) > HELD:
                    yield self._let_go(held.popleft(), built)
        except JSON_ERRORS as exc:
            yield from held
            after = " after this record" if index >= 0 else ""
            yield DeadLetter(member, f"/{index + 1}", f"not valid JSON{after}: {exc}")
        else:
            yield from held
        yield from document.dead_letters(member)

    @staticmethod
    def _let_go(record: Record, built: dict[str, dict]) -> Record:
        if isinstance(record, dict) and built.get(record["message"]["id"]) is record:
            del built[record["message"]["id"]]
        return record

    def _record(self, item: Any, member: str, pointer: str, conversation: dict, context: dict,
                built: dict[str, dict]) -> Record:
        if not isinstance(item, dict):
            raise DataError(f"a message must be a JSON object, not {type(item).__name__}")
        subtype = item.get("subtype")
        if subtype in ("message_changed", "message_deleted"):
            return self._event(item, member, pointer, conversation, context, built)
        return self._message(item, member, pointer, conversation, context)

    def _event(self, item, member, pointer, conversation, context, built) -> Record:
        inner = item.get("message") if isinstance(item.get("message"), dict) else {}
        target_ts = inner.get("ts") or item.get("deleted_ts")
        target = built.get(target_ts)
        if target is None:  # the original is not in this file: keep the event as its own message
            if inner:
                message = self._message({**inner, "subtype": item["subtype"]}, member, pointer, conversation,
                                        context)
                message["message"]["deleted"] = item["subtype"] == "message_deleted"
                # Its own id: the original (same ts) may be read from another day file.
                message["message"]["id"] = f"{inner.get('ts')}~{item.get('ts')}"
                return message
            raise DataError(f"{item['subtype']} event without the message it changes")
        when = _epoch(item.get("ts"))
        if item["subtype"] == "message_deleted":
            target["message"]["deleted"] = True
        else:
            target["message"]["edits"].append({
                "text": target["message"]["text"], "at": iso_utc(when), "by": target["author"]["id"],
            })
            target["message"]["text"] = self._text(inner, context)
        return Merged(pointer, target_ts)

    def _message(self, item: dict, member: str, pointer: str, conversation: dict, context: dict) -> dict:
        ts = item.get("ts")
        when = _epoch(ts)
        subtype = item.get("subtype")
        users = context["users"]
        user_id = item.get("user") or item.get("bot_id") or ""
        profile = item.get("user_profile") or {}
        known = users.get(user_id, {})
        name = (known.get("name") or profile.get("display_name") or profile.get("real_name")
                or _plain_username(item.get("username")) or (item.get("bot_profile") or {}).get("name")
                or user_id or "unknown")
        if subtype in SYSTEM_SUBTYPES:
            kind = "system"
        elif subtype == "bot_message" or known.get("bot") or (item.get("bot_id") and not item.get("user")):
            kind = "bot"
        else:
            kind = "user"
        text = self._text(item, context)
        deleted = subtype == "tombstone" or item.get("text") == DELETED_TEXT
        edits = []
        if isinstance(item.get("edited"), dict):
            # Exports keep only the final text; the edit time and editor are what is known.
            edits.append({"text": None, "at": iso_utc(_epoch(item["edited"].get("ts"))),
                          "by": item["edited"].get("user")})
        thread_ts = item.get("thread_ts")
        return new_message(
            platform=self.platform,
            message_id=str(ts),
            text=text,
            timestamp=when,
            raw_timestamp=str(ts),
            conversation=conversation,
            author={"id": user_id, "name": name, "email": known.get("email")},
            kind=kind,
            subtype=subtype,
            thread_id=thread_ts,
            reply_to=thread_ts if thread_ts and thread_ts != ts else None,
            deleted=deleted,
            edits=edits,
            attachments=_files(item),
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )

    def _text(self, item: dict, context: dict) -> str:
        text = item.get("text")
        if not isinstance(text, str):
            text = ""
        if not text.strip():
            text = _flatten_blocks(item.get("blocks")) or _attachment_text(item.get("attachments"))
        return _resolve(text, context)


def _epoch(ts: Any) -> float:
    try:
        value = float(ts)
    except (TypeError, ValueError):
        raise DataError(f"missing or invalid ts {ts!r}") from None
    if not 0 < value < 4102444800:  # before 2100
        raise DataError(f"ts {ts!r} is out of range")
    return value


def _plain_username(username: Any) -> str | None:
    # Old file_share messages carry "<@U123|name>" as the username.
    if not isinstance(username, str):
        return None
    m = MENTION.fullmatch(username)
    return (m.group(3) or m.group(2)) if m else username


def _files(item: dict) -> list[dict]:
    files = item.get("files") if isinstance(item.get("files"), list) else []
    if isinstance(item.get("file"), dict):
        files = [*files, item["file"]]
    return [
        {"name": f.get("name") or f.get("title"), "type": f.get("mimetype") or f.get("filetype"),
         "size": f.get("size")}
        for f in files if isinstance(f, dict)
    ]


def _flatten_blocks(blocks: Any) -> str:
    """Rich-text blocks to plain text, for messages whose `text` is empty."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind == "text" and isinstance(node.get("text"), str):
                parts.append(node["text"])
            elif kind == "link":
                parts.append(node.get("text") or node.get("url") or "")
            elif kind == "user":
                parts.append(f"<@{node.get('user_id')}>")
            elif kind == "channel":
                parts.append(f"<#{node.get('channel_id')}>")
            elif kind == "emoji":
                parts.append(f":{node.get('name')}:")
            elif isinstance(node.get("text"), dict):
                walk(node["text"])
            for key in ("elements", "fields"):
                walk(node.get(key))
            if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote", "section"):
                parts.append("\n")

    walk(blocks)
    return "".join(parts).strip()


def _attachment_text(attachments: Any) -> str:
    if not isinstance(attachments, list):
        return ""
    texts = []
    for a in attachments:
        if isinstance(a, dict):
            texts.append(a.get("text") or a.get("fallback") or a.get("pretext") or "")
    return "\n".join(t for t in texts if t)


def _resolve(text: str, context: dict) -> str:
    if "<" not in text:  # the hot path: most messages hold no mention or link
        return html.unescape(text)
    users = context["users"]

    def mention(m: re.Match) -> str:
        sigil, ref, label = m.groups()
        if sigil == "@":
            return "@" + (users.get(ref, {}).get("name") or label or ref)
        if sigil == "#":
            return "#" + (label or _channel_name(context, ref))
        return "@" + (label or ref.split("^")[0])  # <!here>, <!channel>

    text = LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    text = MENTION.sub(mention, text)
    return html.unescape(text)


def _channel_name(context: dict, channel_id: str) -> str:
    """Looked up only for a bare <#C…> mention: a workspace has hundreds of conversations."""
    name = channel_id
    for conversation in context["conversations"].values():
        if conversation["id"] == channel_id:
            name = conversation["name"]  # the last one wins, as a dict keyed by id would
    return name
