"""Lark / Feishu: message lists saved from the Open Platform API (`GET /open-apis/im/v1/messages`).

Each message file holds one chat's history as API pages (`{"code":0,"data":{"items":[...]}}`),
a bare list of items, a list of pages, or JSON lines of either. `body.content` is itself a JSON
string whose shape depends on `msg_type`. Optional metadata: `chats.json` (chat list pages with
chat_id, name, chat_mode, chat_type) and `members*.json` (member lists with member_id and name),
which give senders their names; the message API itself only returns sender ids.

Also read, one per file or one per line: single-message responses (`get` returns `data.items`,
send/reply/edit return the message as `data` or `data.message`), bare message objects, and
`im.message.receive_v1` event envelopes (`{"schema":"2.0","header":{...},"event":{"message":{...},
"sender":{...}}}`) as a webhook or bot archive stores them. Content shapes per msg_type follow
https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/im-v1/message/events/message_content
(the page the fixtures' README cites).
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
MESSAGE_MARKERS = ('"message_id"', '"create_time"')
TYPE_MARKERS = ('"msg_type"', '"message_type"')  # list/get API items / event messages
# Rich text carries one body per language; the first ones here come first in the flattened text.
LANGUAGE_ORDER = ("zh_cn", "en_us", "ja_jp")
MENTION_KEY = re.compile(r"@_(?:user_\d+|all)")
AT_TAG = re.compile(r"<at [^>]*?(?:user_id|id)=\"?([^\" >]*)\"?[^>]*>(.*?)</at>")
PLACEHOLDERS = {"image": "[image]", "audio": "[audio]", "media": "[video]", "sticker": "[sticker]",
                "file": "[file]", "folder": "[folder]", "share_chat": "[shared chat]",
                "share_user": "[shared contact]", "merge_forward": "[merged forward]", "location": "[location]",
                "video_chat": "[video call]", "todo": "[task]", "vote": "[vote]", "hongbao": "[red packet]",
                "calendar": "[calendar]", "share_calendar_event": "[calendar]", "general_calendar": "[calendar]"}
FILE_TYPES = ("image", "audio", "media", "sticker", "file", "folder")
CARD_TYPES = ("interactive", "card")  # "card": what some archivers write for a card message
CARD_TEXT_KEYS = ("title", "content", "text", "user_name")
# Keys whose string values are ids, keys, links or times, not words a person sees (unknown msg_types).
NOT_TEXT_KEY = re.compile(r"(^|_)(id|key|url|href|time|type|tag|token|style|schema)s?$", re.IGNORECASE)
# create_time below this is seconds since the epoch (1e11 ms is 1973, 1e11 s is the year 5138).
SECONDS_LIMIT = 10**11


def _is_metadata(name: str) -> bool:
    base = posixpath.basename(name).lower()
    return base == "chats.json" or base.startswith("members")


def _message_files(archive: Archive) -> list[str]:
    return [n for n in archive.members() if MESSAGE_FILE.search(n) and not _is_metadata(n)]


def _looks_like_messages(text: str) -> bool:
    return all(marker in text for marker in MESSAGE_MARKERS) and any(marker in text for marker in TYPE_MARKERS)


def _may_hold_messages(text: str) -> bool:
    """Units are read (and dead-lettered when not understood) once they name a message id at all."""
    return '"message_id"' in text


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
        return [n for n in _message_files(archive) if _may_hold_messages(head_text(archive, n))]

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
        if not entries:  # the file looked like Lark messages: silence would hide it
            yield DeadLetter(member, "", "no Lark messages found in this file")
            return
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
        when, rule = _epoch(item.get("create_time"), "create_time")
        sender = as_dict(item.get("sender"))
        sender_id = str(sender.get("id") or "")
        msg_type = str(item.get("msg_type") or "")
        text, attachments, known = _content(msg_type, as_dict(item.get("body")).get("content"), item.get("mentions"))
        chat_id = str(item.get("chat_id") or posixpath.splitext(posixpath.basename(member))[0])
        edits = []
        if item.get("updated") and item.get("update_time"):
            # The API returns only the current text; the edit time is what is known of the change.
            edits.append({"text": None, "at": iso_utc(_epoch(item["update_time"], "update_time")[0]), "by": sender_id})
        # A merged-forward child (`upper_message_id`) belongs to its container message.
        upper = item.get("upper_message_id") or None
        thread_id = (item.get("thread_id") or item.get("root_id") or upper
                     or (message_id if message_id in roots else None))
        conversation = context["chats"].get(chat_id) or {
            "id": chat_id, "name": chat_id, "type": "dm" if item.get("chat_type") == "p2p" else "channel"}
        return new_message(
            platform=self.platform,
            message_id=message_id,
            text=text,
            timestamp=when,
            raw_timestamp=str(item.get("create_time")),
            timestamp_rule=rule,
            conversation=conversation,
            author={"id": sender_id, "name": names.get(sender_id) or sender_id or "unknown", "email": None},
            kind="system" if not known else _kind(msg_type, sender.get("sender_type")),
            subtype=msg_type or None,
            thread_id=thread_id,
            reply_to=item.get("parent_id") or upper,
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
            if isinstance(entry, dict) and "message_id" not in entry and (
                    "data" in entry or "code" in entry or _is_envelope(entry)):
                yield from _iter_items(entry, f"{prefix}/{i}")
            else:
                yield f"{prefix}/{i}", entry
        return
    if not isinstance(data, dict):
        yield prefix, DataError(f"expected an API page or a list, not {type(data).__name__}")
        return
    if "message_id" in data:  # a bare message object
        yield prefix, data
        return
    if _is_envelope(data):
        yield prefix, _event_message(data)
        return
    if data.get("code") not in (None, 0):
        yield prefix, DataError(f"API error page: code {data.get('code')} {data.get('msg') or ''}".strip())
        return
    if isinstance(data.get("data"), dict):
        data, prefix = data["data"], f"{prefix}/data"
        if "message_id" in data:  # send / reply / edit return the message itself
            yield prefix, data
            return
        if isinstance(data.get("message"), dict):
            yield f"{prefix}/message", data["message"]
            return
    if not isinstance(data.get("items"), list):
        if data.get("has_more") is False or "items" in data:  # an empty last page is not an error
            return
        yield prefix, DataError("page without an items list")
        return
    for i, entry in enumerate(data["items"]):
        yield f"{prefix}/items/{i}", entry


def _is_envelope(data: dict) -> bool:
    return isinstance(data.get("event"), dict) and ("header" in data or "schema" in data or "uuid" in data)


def _event_message(envelope: dict) -> dict | DataError:
    """An `im.message.receive_v1` event (schema 2.0) as a list-API item: `message_type` is `msg_type`,
    `content` is `body.content`, `sender.sender_id` is an object of ids."""
    header, event = as_dict(envelope.get("header")), envelope["event"]
    message = event.get("message")
    if not isinstance(message, dict):
        kind = header.get("event_type") or as_dict(event).get("type") or "unknown"
        return DataError(f"event {kind} carries no message object")
    sender = as_dict(event.get("sender"))
    ids = as_dict(sender.get("sender_id"))
    item = {k: v for k, v in message.items() if k not in ("message_type", "content", "mentions")}
    item["msg_type"] = message.get("message_type") or message.get("msg_type")
    item["body"] = {"content": message.get("content")}
    item["sender"] = {"id": ids.get("open_id") or ids.get("user_id") or ids.get("union_id") or "",
                      "sender_type": sender.get("sender_type")}
    item["mentions"] = [{**m, "id": _id_of(m.get("id"))} if isinstance(m, dict) else m
                        for m in as_list(message.get("mentions"))]
    return item


def _id_of(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("open_id") or value.get("user_id") or value.get("union_id")
    return value


def _epoch(value: Any, what: str) -> tuple[float, str | None]:
    """The API gives milliseconds; some archivers store seconds. Told apart by magnitude."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise DataError(f"missing or invalid {what} {value!r}") from None
    if 0 < number < SECONDS_LIMIT:
        return epoch_ms(number * 1000, what), "epoch-seconds-by-magnitude"
    return epoch_ms(number, what), None


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
            if isinstance(mention, dict) and _id_of(mention.get("id")) and mention.get("name"):
                names.setdefault(str(_id_of(mention["id"])), str(mention["name"]))
    return names


def _kind(msg_type: str, sender_type: Any) -> str:
    if msg_type == "system" or sender_type == "system":
        return "system"
    return "bot" if sender_type == "app" else "user"


def _content(msg_type: str, raw: Any, mentions: Any) -> tuple[str, list[dict], bool]:
    """Flattened text and attachments of one `body.content` string, and whether the msg_type is known."""
    known = msg_type in KNOWN_TYPES
    if not isinstance(raw, str) or not raw:
        return "", [], known
    try:
        content = json.loads(raw)
    except (ValueError, RecursionError):
        return raw, [], known  # recalled messages carry a plain sentence here, not JSON
    if not isinstance(content, dict):
        return raw, [], known
    attachments: list[dict] = []
    if msg_type == "text":
        text = str(content.get("text") or "")
    elif msg_type == "post":
        text = _post_text(content, attachments)
    elif msg_type in CARD_TYPES:
        text = _card_text(content)
    elif msg_type == "system":
        text = _system_text(content)
    elif msg_type in RENDERERS:
        text = RENDERERS[msg_type](content)
    elif msg_type in FILE_TYPES or not known and (content.get("file_key") or content.get("image_key")):
        text, attachments = _file_placeholder(msg_type, content)
    else:  # an unknown type keeps whatever words its content carries
        text = "\n".join(_loose_texts(content)) or f"[{msg_type or 'unknown'}]"
    return _resolve_mentions(text, mentions), attachments, known


def _labelled(label: str, *parts: Any) -> str:
    words = [str(p).strip() for p in parts if isinstance(p, str | int | float) and str(p).strip()]
    return f"{label} " + " ".join(words) if words else label


def _todo_text(content: dict) -> str:
    summary = content.get("summary")
    body = _post_text(summary, []) if isinstance(summary, dict) else str(summary or "")
    return _labelled("[task]", body)


def _vote_text(content: dict) -> str:
    options = [str(o) for o in as_list(content.get("options")) if isinstance(o, str | int | float)]
    lines = [_labelled("[vote]", content.get("topic"))] + [f"- {o}" for o in options]
    return "\n".join(lines)


RENDERERS = {
    "share_chat": lambda c: _labelled("[shared chat]", c.get("chat_id")),
    "share_user": lambda c: _labelled("[shared contact]", c.get("user_id")),
    "merge_forward": lambda c: "[merged forward]",
    "location": lambda c: _labelled("[location]", c.get("name")),
    "video_chat": lambda c: _labelled("[video call]", c.get("topic")),
    "todo": _todo_text,
    "vote": _vote_text,
    "hongbao": lambda c: _labelled("[red packet]", c.get("text")),
    "calendar": lambda c: _labelled("[calendar]", c.get("summary")),
    "share_calendar_event": lambda c: _labelled("[calendar]", c.get("summary")),
    "general_calendar": lambda c: _labelled("[calendar]", c.get("summary")),
}
KNOWN_TYPES = frozenset(("text", "post", "system", *CARD_TYPES, *RENDERERS, *FILE_TYPES))


def _loose_texts(node: Any) -> list[str]:
    """String leaves of an unknown content, skipping ids, keys, links and times."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if value.strip() and not NOT_TEXT_KEY.search(str(key)):
                    out.append(value.strip())
            else:
                out.extend(_loose_texts(value))
    elif isinstance(node, list):
        for child in node:
            out.extend([child.strip()] if isinstance(child, str) and child.strip() else _loose_texts(child))
    return out


def _file_placeholder(msg_type: str, content: dict) -> tuple[str, list[dict]]:
    label = PLACEHOLDERS.get(msg_type, f"[{msg_type or 'unknown'}]")
    name = content.get("file_name")
    key = content.get("file_key") or content.get("image_key")
    attachments = [{"name": name or key, "type": msg_type, "size": None}] if (name or key) else []
    return (f"{label} {name}" if name else label), attachments


def _post_text(content: dict, attachments: list[dict]) -> str:
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
            for node in as_list(paragraph):  # images and videos inside a post are attachments too
                if isinstance(node, dict) and node.get("tag") in ("img", "media"):
                    key = node.get("file_name") or node.get("file_key") or node.get("image_key")
                    entry = {"name": key, "type": "image" if node["tag"] == "img" else "media", "size": None}
                    if key and entry not in attachments:
                        attachments.append(entry)
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
        return _at(node.get("user_name"), node.get("user_id"))
    if tag == "img":
        return "[image]"
    if tag == "media":
        return "[video]"
    if tag == "emotion":
        return f":{node.get('emoji_type', '')}:"
    return str(node.get("text") or "")


def _at(name: Any, user_id: Any) -> str:
    """`@name`; a received post or card names the user by mention key (`@_user_1`, resolved from
    `mentions` afterwards) and leaves `user_name` empty."""
    if name:
        return "@" + str(name)
    user_id = str(user_id or "")
    if user_id.startswith("@"):
        return user_id
    return "@" + (user_id or "unknown")


def _card_text(content: dict) -> str:
    """The words a person sees on a card: the title, then each row, in document order."""
    if isinstance(content.get("json_card"), str):  # raw_card_content: the card JSON as a string
        return _json_card_text(content)
    elements = content.get("elements")
    if isinstance(elements, list) and any(isinstance(row, list) for row in elements):
        # The list/get form: a title and rows of post-like nodes.
        lines = [_text_of(content.get("title"))]
        for row in elements:
            lines.append("".join(_card_inline(node) for node in as_list(row)).strip() if isinstance(row, list)
                         else _card_element(row))
        return "\n".join(line for line in lines if line)
    lines = [_text_of(as_dict(content.get("header")).get("title"))]
    body = as_dict(content.get("body"))
    for element in as_list(elements if elements is not None else body.get("elements")):
        lines.append(_card_element(element))
    if not any(lines):  # i18n_elements and other layouts: every text, in order
        return _card_walk(content)
    return "\n".join(line for line in lines if line)


def _text_of(node: Any) -> str:
    if isinstance(node, str):
        return node.strip()
    node = as_dict(node)
    if isinstance(node.get("property"), dict):
        return _text_of(node["property"])
    for key in ("content", "text"):
        if isinstance(node.get(key), str):
            return node[key].strip()
    i18n = as_dict(node.get("i18n") or node.get("i18nContent"))
    for lang in LANGUAGE_ORDER:
        if isinstance(i18n.get(lang), str) and i18n[lang].strip():
            return i18n[lang].strip()
    return ""


def _card_inline(node: Any) -> str:
    """One node of a list/get card row: post nodes plus buttons and texts."""
    if not isinstance(node, dict):
        return ""
    if node.get("tag") in ("button", "plain_text", "lark_md") and not isinstance(node.get("text"), str):
        return _text_of(node.get("text") or node)
    return _post_node(node)


def _card_element(element: Any) -> str:
    """One element of a card as sent (JSON 1.0/2.0 card), flattened the way it reads."""
    if not isinstance(element, dict):
        return ""
    tag = element.get("tag")
    if tag in ("hr", "img", "image"):
        return "[image]" if tag != "hr" else ""
    if tag == "at":
        return _at(element.get("user_name"), element.get("user_id"))
    if tag == "div":
        parts = [_text_of(element.get("text"))]
        parts += [_text_of(as_dict(f).get("text")) for f in as_list(element.get("fields"))]
        parts.append(_card_element(element.get("extra")) if isinstance(element.get("extra"), dict) else "")
        return "\n".join(p for p in parts if p)
    if tag in ("markdown", "plain_text", "lark_md"):
        return _text_of(element)
    if tag in ("note", "action"):
        children = element.get("elements") if tag == "note" else element.get("actions")
        return " ".join(p for p in (_card_element(c) or _text_of(as_dict(c).get("text")) for c in as_list(children))
                        if p)
    if tag == "button":
        return _text_of(element.get("text"))
    if tag == "column_set":
        return "\n".join(p for p in (_card_element({"tag": "column", **as_dict(c)}) for c in
                                     as_list(element.get("columns"))) if p)
    if isinstance(element.get("elements"), list):
        return "\n".join(p for p in (_card_element(c) for c in element["elements"]) if p)
    return _card_walk(element)


def _card_walk(content: Any) -> str:
    """Every text a card shows, in document order (layouts not modelled above)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            if node.get("tag") == "at":
                parts.append(_at(node.get("user_name"), node.get("user_id")))
                return
            for key, value in node.items():
                if key in CARD_TEXT_KEYS and isinstance(value, str):
                    if value.strip():
                        parts.append(value.strip())
                elif isinstance(value, dict | list) and key not in ("i18n_elements", "i18n_header"):
                    walk(value)

    if isinstance(content, dict):
        walk(content.get("header"))
        walk({k: v for k, v in content.items() if k != "header"})
    else:
        walk(content)
    return "\n".join(parts)


def _json_card_text(content: dict) -> str:
    """`json_card` (a card as the client renders it: `tag` + `property` per node) with `json_attachment`
    naming the people it mentions."""
    try:
        card = json.loads(content["json_card"])
        attachment = json.loads(content["json_attachment"]) if isinstance(content.get("json_attachment"), str) \
            else as_dict(content.get("json_attachment"))
    except (ValueError, RecursionError):
        return content["json_card"]
    people = {**as_dict(as_dict(attachment).get("persons")), **as_dict(as_dict(attachment).get("at_users"))}

    def inline(node: Any) -> str:
        if isinstance(node, list):
            return "".join(inline(n) for n in node)
        if not isinstance(node, dict):
            return ""
        tag, prop = node.get("tag"), as_dict(node.get("property")) or node
        if tag in ("at", "person"):
            user = str(prop.get("userID") or prop.get("user_id") or "")
            name = as_dict(people.get(user)).get("content") or _text_of(prop.get("notation"))
            return _at(name, user)
        if tag == "at_all":
            return "@all"
        if tag in ("img", "image"):
            return "[image]"
        if tag == "emoji":
            return f":{prop.get('key', '')}:"
        if tag == "button":
            return _text_of(prop.get("text"))
        if isinstance(prop.get("content"), str):
            return prop["content"]
        if isinstance(prop.get("text"), dict):
            return inline(prop["text"])
        return inline(prop.get("elements"))

    def block(node: Any) -> list[str]:
        if not isinstance(node, dict):
            return []
        tag, prop = node.get("tag"), as_dict(node.get("property")) or node
        if tag in ("column_set", "column", "form", "collapsible_panel", "interactive_container", "action"):
            children = prop.get("columns") or prop.get("elements") or prop.get("actions") or []
            if tag == "action":
                return [" ".join(t for t in (inline(c) for c in as_list(children)) if t)]
            return [line for child in as_list(children) for line in block(child)]
        if tag == "div":
            lines = [inline(prop.get("text"))] + [inline(as_dict(f).get("text")) for f in as_list(prop.get("fields"))]
            return [line for line in lines if line]
        if tag == "hr":
            return []
        if tag == "note":
            return [" ".join(t for t in (inline(c) for c in as_list(prop.get("elements"))) if t)]
        return [inline(node)]

    header = as_dict(as_dict(card).get("header"))
    title = _text_of(as_dict(header.get("property")).get("title") or header.get("title"))
    body = as_dict(as_dict(card).get("body"))
    elements = as_dict(body.get("property")).get("elements") or body.get("elements") or as_dict(card).get("elements")
    lines = [title] + [line for element in as_list(elements) for line in block(element)]
    return "\n".join(line.strip() for line in lines if line and line.strip())


def _system_text(content: dict) -> str:
    template = content.get("template")
    if not isinstance(template, str):
        return _card_walk(content)

    def words(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(w for w in map(words, value) if w)
        if isinstance(value, dict):  # e.g. divider_text: {"text": "新会话", "i18n_text": {"zh_CN": "新会话"}}
            return _text_of(value) or words(list(as_dict(value.get("i18n_text")).values())[:1])
        return str(value or "")

    return re.sub(r"\{(\w+)\}", lambda m: words(content.get(m.group(1))), template).strip()


def _resolve_mentions(text: str, mentions: Any) -> str:
    by_key = {m.get("key"): m.get("name") for m in as_list(mentions) if isinstance(m, dict) and m.get("key")}
    text = AT_TAG.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    return MENTION_KEY.sub(lambda m: "@" + (by_key.get(m.group(0)) or ("all" if m.group(0) == "@_all" else
                                                                          m.group(0)[1:])), text)
