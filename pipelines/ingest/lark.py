"""Lark / Feishu: message lists saved from the Open Platform API (`GET /open-apis/im/v1/messages`).

Each message file holds one chat's history as API pages (`{"code":0,"data":{"items":[...]}}`),
a bare list of items, a list of pages, or JSON lines of either. `body.content` is itself a JSON
string whose shape depends on `msg_type`. Optional metadata: `chats.json` (chat list pages with
chat_id, name, chat_mode, chat_type) and `members*.json` (member lists with member_id and name),
which give senders their names; the message API itself only returns sender ids.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Reader, Record, iso_utc, new_message
from pipelines.ingest.parsing import as_dict, as_list, epoch_ms, head_text, json_lines, load_json

MESSAGE_FILE = re.compile(r"\.(json|jsonl|ndjson)$", re.IGNORECASE)
MESSAGE_MARKERS = ('"msg_type"', '"message_id"', '"create_time"')
# Rich text carries one body per language; the first ones here come first in the flattened text.
LANGUAGE_ORDER = ("zh_cn", "en_us", "ja_jp")
MENTION_KEY = re.compile(r"@_(?:user_\d+|all)")
AT_TAG = re.compile(r"<at [^>]*?(?:user_id|id)=\"?([^\" >]*)\"?[^>]*>(.*?)</at>")
PLACEHOLDERS = {"image": "[image]", "audio": "[audio]", "media": "[video]", "sticker": "[sticker]",
                "file": "[file]", "share_chat": "[shared chat]", "share_user": "[shared contact]",
                "merge_forward": "[merged forward]", "location": "[location]", "video_chat": "[video call]",
                "todo": "[task]", "vote": "[vote]", "hongbao": "[red packet]", "calendar": "[calendar]",
                "share_calendar_event": "[calendar]", "general_calendar": "[calendar]"}
CARD_TEXT_KEYS = ("title", "content", "text", "user_name")


def _is_metadata(name: str) -> bool:
    base = posixpath.basename(name).lower()
    return base == "chats.json" or base.startswith("members")


def _message_files(archive: Archive) -> list[str]:
    return [n for n in archive.members() if MESSAGE_FILE.search(n) and not _is_metadata(n)]


def _looks_like_messages(text: str) -> bool:
    return all(marker in text for marker in MESSAGE_MARKERS)


class LarkReader(Reader):
    platform = "lark"
    parser_version = "1.0"

    @classmethod
    def match(cls, archive: Archive) -> float:
        files = _message_files(archive)[:20]
        if not any(_looks_like_messages(head_text(archive, name)) for name in files):
            return 0.0
        has_metadata = any(_is_metadata(n) for n in archive.members())
        return 0.95 if has_metadata else 0.85

    def units(self, archive: Archive) -> list[str]:
        return [n for n in _message_files(archive) if _looks_like_messages(head_text(archive, n))]

    def context(self, archive: Archive) -> tuple[dict, list[DeadLetter]]:
        errors: list[DeadLetter] = []
        chats: dict[str, dict] = {}
        names: dict[str, str] = {}
        for name in archive.members():
            if not _is_metadata(name) or not name.lower().endswith(".json"):
                continue
            try:
                data = load_json(archive.read_bytes(name))
            except DataError as exc:
                errors.append(DeadLetter(name, "", f"unreadable metadata file: {exc}"))
                continue
            is_chat_list = posixpath.basename(name).lower() == "chats.json"
            for pointer, item in _iter_items(data, ""):
                if isinstance(item, DataError) or not isinstance(item, dict):
                    errors.append(DeadLetter(name, pointer, str(item) if isinstance(item, DataError)
                                             else "list entry is not an object"))
                elif is_chat_list and isinstance(item.get("chat_id"), str):
                    chats[item["chat_id"]] = _conversation(item)
                elif not is_chat_list and isinstance(item.get("member_id"), str):
                    names[item["member_id"]] = item.get("name") or item["member_id"]
                else:
                    errors.append(DeadLetter(name, pointer, "entry without a chat_id or member_id"))
        return {"chats": chats, "names": names}, errors

    def read(self, stream: BinaryIO, member: str, context: dict) -> Iterator[Record]:
        entries = list(self._entries(stream, member))
        items = [item for _, item in entries if isinstance(item, dict)]
        roots = {item.get("root_id") for item in items if item.get("root_id")}
        names = {**_mention_names(items), **context["names"]}
        for pointer, item in entries:
            try:
                yield self._message(item, member, pointer, context, names, roots)
            except DataError as exc:
                yield DeadLetter(member, pointer, str(exc))

    def _entries(self, stream: BinaryIO, member: str) -> Iterator[tuple[str, Any]]:
        if member.lower().endswith(".json"):
            try:
                data = load_json(stream.read())
            except DataError as exc:
                yield "", exc
                return
            yield from _iter_items(data, "")
            return
        for number, value in json_lines(stream):
            if isinstance(value, DataError) or (isinstance(value, dict) and "message_id" in value):
                yield f"line:{number}", value
            else:
                yield from _iter_items(value, f"line:{number}")

    def _message(self, item: Any, member: str, pointer: str, context: dict, names: dict[str, str],
                 roots: set) -> dict:
        if isinstance(item, DataError):
            raise item
        if not isinstance(item, dict):
            raise DataError(f"a message must be a JSON object, not {type(item).__name__}")
        message_id = item.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise DataError("message without a message_id")
        when = epoch_ms(item.get("create_time"), "create_time")
        sender = as_dict(item.get("sender"))
        sender_id = str(sender.get("id") or "")
        msg_type = str(item.get("msg_type") or "")
        text, attachments = _content(msg_type, as_dict(item.get("body")).get("content"), item.get("mentions"))
        chat_id = str(item.get("chat_id") or posixpath.splitext(posixpath.basename(member))[0])
        edits = []
        if item.get("updated") and item.get("update_time"):
            # The API returns only the current text; the edit time is what is known of the change.
            edits.append({"text": None, "at": iso_utc(epoch_ms(item["update_time"], "update_time")), "by": sender_id})
        thread_id = item.get("thread_id") or item.get("root_id") or (message_id if message_id in roots else None)
        return new_message(
            platform=self.platform,
            message_id=message_id,
            text=text,
            timestamp=when,
            raw_timestamp=str(item.get("create_time")),
            conversation=context["chats"].get(chat_id) or {"id": chat_id, "name": chat_id, "type": "channel"},
            author={"id": sender_id, "name": names.get(sender_id) or sender_id or "unknown", "email": None},
            kind=_kind(msg_type, sender.get("sender_type")),
            subtype=msg_type or None,
            thread_id=thread_id,
            reply_to=item.get("parent_id") or None,
            deleted=bool(item.get("deleted")),
            edits=edits,
            attachments=attachments,
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )


def _iter_items(data: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(JSON pointer, item) for every item of a page, a bare list of items or a list of pages."""
    if isinstance(data, list):
        for i, entry in enumerate(data):
            if isinstance(entry, dict) and ("data" in entry or "code" in entry) and "message_id" not in entry:
                yield from _iter_items(entry, f"{prefix}/{i}")
            else:
                yield f"{prefix}/{i}", entry
        return
    if not isinstance(data, dict):
        yield prefix, DataError(f"expected an API page or a list, not {type(data).__name__}")
        return
    if data.get("code") not in (None, 0):
        yield prefix, DataError(f"API error page: code {data.get('code')} {data.get('msg') or ''}".strip())
        return
    if isinstance(data.get("data"), dict):
        data, prefix = data["data"], f"{prefix}/data"
    if not isinstance(data.get("items"), list):
        if data.get("has_more") is False or "items" in data:  # an empty last page is not an error
            return
        yield prefix, DataError("page without an items list")
        return
    for i, entry in enumerate(data["items"]):
        yield f"{prefix}/items/{i}", entry


def _conversation(chat: dict) -> dict:
    if chat.get("chat_mode") == "p2p":
        kind = "dm"
    elif chat.get("chat_type") == "private":
        kind = "private"
    else:
        kind = "channel"
    return {"id": chat["chat_id"], "name": chat.get("name") or chat["chat_id"], "type": kind}


def _mention_names(items: list[dict]) -> dict[str, str]:
    """Names the messages themselves reveal (mentions carry id and name); metadata wins over these."""
    names: dict[str, str] = {}
    for item in items:
        for mention in as_list(item.get("mentions")):
            if isinstance(mention, dict) and mention.get("id") and mention.get("name"):
                names.setdefault(str(mention["id"]), str(mention["name"]))
    return names


def _kind(msg_type: str, sender_type: Any) -> str:
    if msg_type == "system" or sender_type == "system":
        return "system"
    return "bot" if sender_type == "app" else "user"


def _content(msg_type: str, raw: Any, mentions: Any) -> tuple[str, list[dict]]:
    """Flattened text and attachments of one `body.content` string."""
    if not isinstance(raw, str) or not raw:
        return "", []
    try:
        content = json.loads(raw)
    except (ValueError, RecursionError):
        return raw, []  # recalled messages carry a plain sentence here, not JSON
    if not isinstance(content, dict):
        return raw, []
    if msg_type == "text":
        text = str(content.get("text") or "")
    elif msg_type == "post":
        text = _post_text(content)
    elif msg_type == "interactive":
        text = _card_text(content)
    elif msg_type == "system":
        text = _system_text(content)
    else:
        return _file_placeholder(msg_type, content)
    return _resolve_mentions(text, mentions), []


def _file_placeholder(msg_type: str, content: dict) -> tuple[str, list[dict]]:
    label = PLACEHOLDERS.get(msg_type, f"[{msg_type or 'unknown'}]")
    name = content.get("file_name")
    key = content.get("file_key") or content.get("image_key")
    attachments = [{"name": name or key, "type": msg_type, "size": None}] if (name or key) else []
    return (f"{label} {name}" if name else label), attachments


def _post_text(content: dict) -> str:
    if "content" in content or "title" in content:
        bodies = [content]
    else:  # one body per language: {"zh_cn": {...}, "en_us": {...}}
        langs = sorted(content, key=lambda k: (LANGUAGE_ORDER.index(k) if k in LANGUAGE_ORDER else 99, k))
        bodies = [content[k] for k in langs if isinstance(content[k], dict)]
    texts: list[str] = []
    for body in bodies:
        lines = [str(body["title"])] if body.get("title") else []
        for paragraph in as_list(body.get("content")):
            lines.append("".join(_post_node(node) for node in as_list(paragraph)))
        text = "\n".join(lines).strip()
        if text and text not in texts:
            texts.append(text)
    return "\n\n".join(texts)


def _post_node(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    tag = node.get("tag")
    if tag == "a":
        text, href = node.get("text") or "", node.get("href") or ""
        return f"{text} ({href})" if text and href and text != href else text or href
    if tag == "at":
        return "@" + str(node.get("user_name") or node.get("user_id") or "")
    if tag == "img":
        return "[image]"
    if tag == "media":
        return "[video]"
    if tag == "emotion":
        return f":{node.get('emoji_type', '')}:"
    return str(node.get("text") or "")


def _card_text(content: dict) -> str:
    """Header title, then every text the card shows, in document order."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in CARD_TEXT_KEYS and isinstance(value, str):
                    if value.strip():
                        parts.append(value.strip())
                elif isinstance(value, dict | list) and key not in ("i18n_elements", "i18n_header"):
                    walk(value)

    walk(content.get("header"))
    walk({k: v for k, v in content.items() if k != "header"})
    return "\n".join(parts)


def _system_text(content: dict) -> str:
    template = content.get("template")
    if not isinstance(template, str):
        return _card_text(content)

    def fill(match: re.Match) -> str:
        value = content.get(match.group(1))
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")

    return re.sub(r"\{(\w+)\}", fill, template)


def _resolve_mentions(text: str, mentions: Any) -> str:
    by_key = {m.get("key"): m.get("name") for m in as_list(mentions) if isinstance(m, dict) and m.get("key")}
    text = AT_TAG.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    return MENTION_KEY.sub(lambda m: "@" + (by_key.get(m.group(0)) or ("all" if m.group(0) == "@_all" else
                                                                          m.group(0)[1:])), text)
