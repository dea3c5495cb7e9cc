"""Microsoft Teams: Graph `chatMessage` JSON saved per chat or channel.

A message file is a Graph collection page (`{"@odata.context":..,"value":[..],"@odata.nextLink":..}`),
a list of such pages, or a bare list of chatMessages. Channel messages may carry their replies
nested (`$expand=replies`); each reply is its own record. Optional metadata: `chats.json` (Graph
`chat` resources: id, topic, chatType) and `channels.json` (Graph `channel`: id, displayName,
membershipType). A message id seen twice in one file (delta or repeated exports) is one message
whose versions become its edit history.

Graph writes its keys in camelCase; Microsoft's export tooling writes the same properties in
PascalCase (`CreatedDateTime`, `Body`, `From`). Every file's keys are respelled the Graph way once,
whatever their letter case, so the code below reads one spelling.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any, BinaryIO

from analyzers.normalize import detect_language
from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Merged, Reader, Record, iso_utc, new_message
from pipelines.ingest.parsing import as_dict, as_list, epoch_iso, head_text, load_json

METADATA = {"chats.json", "channels.json", "teams.json", "users.json"}
CHAT_TYPES = {"oneOnOne": "dm", "group": "group_dm", "meeting": "group_dm"}
BLOCK_TAGS = {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol"}
EVENT_NAME = re.compile(r"#microsoft\.graph\.(\w+?)EventMessageDetail$")
# 1:1 chat ids end in this suffix; group chats and meetings end in "@thread.v2".
ONE_ON_ONE_SUFFIX = "@unq.gbl.spaces"
# PascalCase exports write `Body` before `CreatedDateTime`; a Teams message holds at most ~28 KB of text,
# so this window always reaches the first message's times.
SNIFF_BYTES = 64 << 10

# Graph's spelling of the properties of a page, chatMessage (with its identity sets, body, attachments,
# mentions, reactions, history and event detail), chat, channel and Adaptive Card text.
GRAPH_KEYS = {key.lower(): key for key in (
    "value", "@odata.context", "@odata.nextLink", "@odata.deltaLink", "@odata.type", "error", "code", "message",
    "id", "replyToId", "etag", "messageType", "createdDateTime", "lastModifiedDateTime", "lastEditedDateTime",
    "deletedDateTime", "subject", "summary", "chatId", "importance", "locale", "webUrl", "channelIdentity",
    "policyViolation", "eventDetail", "from", "body", "attachments", "mentions", "reactions", "messageHistory",
    "replies", "hostedContents",
    "teamId", "channelId", "application", "device", "user", "displayName", "userIdentityType", "tenantId",
    "contentType", "content", "contentUrl", "name", "thumbnailUrl", "teamsAppId", "mentionText", "mentioned",
    "reactionType", "reactionContentUrl", "modifiedDateTime", "actions", "reaction", "initiator", "members",
    "topic", "chatType", "membershipType", "description", "email", "userId", "roles",
    "text", "title",
)}
# Keys that are steps of a record's JSON pointer: their spelling in the file is kept for the pointer.
POINTER_KEYS = {"value", "replies"}


def _candidates(archive: Archive) -> list[str]:
    return [n for n in archive.members()
            if n.lower().endswith(".json") and posixpath.basename(n).lower() not in METADATA]


def _looks_like_messages(text: str) -> bool:
    text = text.lower()
    return '"createddatetime"' in text and ('"messagetype"' in text or '"replytoid"' in text)


def _is_message_file(archive: Archive, name: str) -> bool:
    return _looks_like_messages(head_text(archive, name, SNIFF_BYTES))


def _graph_spelling(data: Any) -> dict[tuple[int, str], str]:
    """Respells, in place, every key of `data` that Graph knows to Graph's spelling, whatever its letter case.

    Returns how the file spelled the renamed pointer keys, by (id of their object, Graph key), so that
    pointers name what is in the file. A loop, not recursion: any depth the JSON parser accepted is fine.
    """
    written: dict[tuple[int, str], str] = {}
    pending = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key in list(node):
                graph_key = GRAPH_KEYS.get(key.lower())
                if graph_key and graph_key != key and graph_key not in node:  # spelled both ways: both kept
                    node[graph_key] = node.pop(key)
                    if graph_key in POINTER_KEYS:
                        written[id(node), graph_key] = key
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return written


class TeamsReader(Reader):
    platform = "teams"
    parser_version = "1.0"

    @classmethod
    def match(cls, archive: Archive) -> float:
        if not any(_is_message_file(archive, n) for n in _candidates(archive)[:20]):
            return 0.0
        return 0.9

    def units(self, archive: Archive) -> list[str]:
        return [n for n in _candidates(archive) if _is_message_file(archive, n)]

    def context(self, archive: Archive) -> tuple[dict, list[DeadLetter]]:
        errors: list[DeadLetter] = []
        conversations: dict[str, dict] = {}
        for name in archive.members():
            base = posixpath.basename(name).lower()
            if base not in ("chats.json", "channels.json"):
                continue
            try:
                metadata = load_json(archive.read_bytes(name))
                entries = list(_iter_values(metadata, "", _graph_spelling(metadata)))
            except DataError as exc:
                errors.append(DeadLetter(name, "", f"unreadable metadata file: {exc}"))
                continue
            for pointer, entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                    errors.append(DeadLetter(name, pointer, "entry without an id"))
                elif base == "chats.json":
                    conversations[entry["id"]] = _chat(entry)
                else:
                    conversations[entry["id"]] = _channel(entry)
        return {"conversations": conversations}, errors

    def read(self, stream: BinaryIO, member: str, context: dict) -> Iterator[Record]:
        try:
            data = load_json(stream.read())
        except DataError as exc:
            yield DeadLetter(member, "", str(exc))
            return
        written = _graph_spelling(data)
        built: dict[str, dict] = {}
        changed: dict[str, float] = {}
        out: list[Record] = []
        for pointer, item in _iter_values(data, "", written):
            try:
                record = self._message(item, member, pointer, context)
            except DataError as exc:
                out.append(DeadLetter(member, pointer, str(exc)))
                continue
            key = f"{record['conversation']['id']}\x1f{record['message']['id']}"
            if key in built:
                _merge_versions(built[key], record, changed[key], _version_time(item))
                changed[key] = max(changed[key], _version_time(item))
                out.append(Merged(pointer, record["message"]["id"]))
                continue
            built[key], changed[key] = record, _version_time(item)
            out.append(record)
        if not out:  # a file taken as Teams messages never reads as silence
            out.append(DeadLetter(member, "", "read as a Teams message file, but it holds no chatMessages "
                                  "(an empty page or list)"))
        yield from out  # versions met later in the file change messages built earlier

    def _message(self, item: Any, member: str, pointer: str, context: dict) -> dict:
        if isinstance(item, DataError):
            raise item
        if not isinstance(item, dict):
            raise DataError(f"a chatMessage must be a JSON object, not {type(item).__name__}")
        message_id = item.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise DataError("chatMessage without an id")
        when = epoch_iso(item.get("createdDateTime"), "createdDateTime")
        sender = as_dict(item.get("from"))
        person = as_dict(sender.get("user")) or as_dict(sender.get("application")) or as_dict(sender.get("device"))
        author_id = str(person.get("id") or "")
        edits = []
        if item.get("lastEditedDateTime"):
            edits.append({"text": None, "at": iso_utc(epoch_iso(item["lastEditedDateTime"], "lastEditedDateTime")),
                          "by": author_id})
        reply_to = item.get("replyToId") or _quoted_message_id(item)
        in_channel = bool(_channel_id(item))
        return new_message(
            platform=self.platform,
            message_id=message_id,
            text=_text(item),
            timestamp=when,
            raw_timestamp=str(item["createdDateTime"]),
            conversation=self._conversation(item, member, context),
            author={"id": author_id, "name": person.get("displayName") or author_id or "unknown", "email": None},
            kind=_kind(item, sender),
            subtype=item.get("messageType"),
            # In a channel every root post opens a thread and replies point at the root.
            thread_id=item.get("replyToId") or (message_id if in_channel else None),
            reply_to=reply_to,
            deleted=bool(item.get("deletedDateTime")),
            edits=edits,
            attachments=[{"name": a.get("name"), "type": a.get("contentType"), "size": None}
                         for a in as_list(item.get("attachments"))
                         if isinstance(a, dict) and a.get("contentType") != "messageReference"],
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )

    def _conversation(self, item: dict, member: str, context: dict) -> dict:
        known = context["conversations"]
        channel_id = _channel_id(item)
        if channel_id:
            return known.get(channel_id) or {"id": channel_id, "name": channel_id, "type": "channel"}
        chat_id = item.get("chatId")
        if isinstance(chat_id, str) and chat_id:
            kind = "dm" if chat_id.endswith(ONE_ON_ONE_SUFFIX) else "group_dm"
            return known.get(chat_id) or {"id": chat_id, "name": chat_id, "type": kind}
        stem = posixpath.splitext(member)[0]
        return {"id": stem, "name": posixpath.basename(stem), "type": "channel"}


def _channel_id(item: dict) -> str | None:
    channel_id = as_dict(item.get("channelIdentity")).get("channelId")
    return channel_id if isinstance(channel_id, str) and channel_id else None


def _iter_values(data: Any, prefix: str, written: dict[tuple[int, str], str]) -> Iterator[tuple[str, Any]]:
    """(JSON pointer, chatMessage) for pages, lists of pages and bare lists, nested replies included.
    `written` is what `_graph_spelling` returned: the file's spelling of the keys a pointer steps through."""
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data, prefix = data["value"], f"{prefix}/{written.get((id(data), 'value'), 'value')}"
    elif isinstance(data, dict):
        if "error" in data:
            yield prefix, DataError(f"Graph error response: {as_dict(data['error']).get('code') or data['error']}")
        elif "value" in data:
            yield prefix, DataError(f"page whose value is {type(data['value']).__name__}, not a list of chatMessages")
        else:
            yield prefix, DataError(f"page without a value list (keys: {', '.join(sorted(data)[:10]) or 'none'})")
        return
    if not isinstance(data, list):
        yield prefix, DataError(f"expected a Graph page or a list, not {type(data).__name__}")
        return
    for i, entry in enumerate(data):
        pointer = f"{prefix}/{i}"
        if isinstance(entry, dict) and "value" in entry and "id" not in entry:
            yield from _iter_values(entry, pointer, written)
            continue
        yield pointer, entry
        replies = entry.get("replies") if isinstance(entry, dict) else None
        for j, reply in enumerate(as_list(replies)):
            yield f"{pointer}/{written.get((id(entry), 'replies'), 'replies')}/{j}", reply


def _chat(chat: dict) -> dict:
    members = [m.get("displayName") for m in as_list(chat.get("members")) if isinstance(m, dict)]
    kind = CHAT_TYPES.get(chat.get("chatType"), "group_dm")
    names = ", ".join(n for n in members if isinstance(n, str) and n)
    name = chat.get("topic") or ((f"DM: {names}" if kind == "dm" else names) if names else chat["id"])
    return {"id": chat["id"], "name": name, "type": kind}


def _channel(channel: dict) -> dict:
    kind = "private" if channel.get("membershipType") == "private" else "channel"
    return {"id": channel["id"], "name": channel.get("displayName") or channel["id"], "type": kind}


def _kind(item: dict, sender: dict) -> str:
    # Any other type, known or not (e.g. "unknownFutureValue"), is a system event; its raw type is the subtype.
    if str(item.get("messageType") or "message").lower() != "message" or not sender:
        return "system"
    return "bot" if sender.get("application") and not sender.get("user") else "user"


def _text(item: dict) -> str:
    body = as_dict(item.get("body"))
    content = body.get("content") if isinstance(body.get("content"), str) else ""
    text = html_to_text(content) if str(body.get("contentType", "html")).lower() == "html" else content.strip()
    if not text:
        text = _card_text(item) or _event_text(item)
    return text


def _quoted_message_id(item: dict) -> str | None:
    """Chats have no threads; a quoted reply carries the quoted message as a messageReference attachment."""
    for attachment in as_list(item.get("attachments")):
        if isinstance(attachment, dict) and attachment.get("contentType") == "messageReference":
            return attachment.get("id")
    return None


def _card_text(item: dict) -> str:
    """Bots often post only an Adaptive Card: its TextBlocks are the message."""
    parts: list[str] = []
    for attachment in as_list(item.get("attachments")):
        if not isinstance(attachment, dict) or "card" not in str(attachment.get("contentType")):
            continue
        content = attachment.get("content")
        try:  # Graph sends the card as a JSON string; an exporter may have embedded it as an object
            card = json.loads(content) if isinstance(content, str) else content
        except (ValueError, RecursionError):
            continue
        _graph_spelling(card)
        _collect_texts(card, parts)
    return "\n".join(parts)


def _collect_texts(node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for child in node:
            _collect_texts(child, parts)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "title") and isinstance(value, str) and value.strip():
                parts.append(value.strip())
            elif isinstance(value, dict | list):
                _collect_texts(value, parts)


def _event_text(item: dict) -> str:
    detail = as_dict(item.get("eventDetail"))
    if not detail:
        return ""
    match = EVENT_NAME.search(str(detail.get("@odata.type") or ""))
    event = match.group(1) if match else "event"
    initiator = as_dict(as_dict(detail.get("initiator")).get("user")).get("displayName")
    members = [as_dict(m).get("displayName") for m in as_list(detail.get("members"))]
    names = ", ".join(m for m in members if isinstance(m, str) and m)
    return f"[{event}]" + (f" by {initiator}" if initiator else "") + (f": {names}" if names else "")


class _HtmlText(HTMLParser):
    """Visible text of a Teams HTML body: line breaks kept, `<at>` mentions as @Name, scripts dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "at":
            self.parts.append("@")
        elif tag in ("img", "emoji"):
            alt = dict(attrs).get("alt")
            self.parts.append(alt if alt else "[image]")
        elif tag == "customemoji":  # a tenant's own emoji: its alt is a name, not a character
            alt = dict(attrs).get("alt")
            self.parts.append(f":{alt}:" if alt else "[emoji]")
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.replace("\xa0", " ").split()) for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _version_time(item: dict) -> float:
    """When this version of a message was last changed (edit, deletion, or creation)."""
    times = []
    for field in ("createdDateTime", "lastModifiedDateTime", "lastEditedDateTime", "deletedDateTime"):
        try:
            times.append(epoch_iso(item.get(field), field))
        except DataError:
            continue
    return max(times)


def _merge_versions(target: dict, other: dict, target_time: float, other_time: float) -> None:
    """Two versions of one message: the later text wins, the earlier becomes an edit; deletion sticks."""
    earlier, later = (target, other) if other_time >= target_time else (other, target)
    changed_at = iso_utc(max(target_time, other_time))
    old, new = earlier["message"]["text"], later["message"]["text"]
    edits = [e for e in target["message"]["edits"] + other["message"]["edits"]
             if not (e["text"] is None and e["at"] == changed_at)]
    if new and new != old:  # a deleted version has an empty body: the words stay
        edits.append({"text": old, "at": changed_at, "by": later["author"]["id"]})
    message = target["message"]
    message["edits"] = sorted({json.dumps(e, sort_keys=True): e for e in edits}.values(), key=lambda e: e["at"])
    message["text"] = new or old
    message["language"] = detect_language(message["text"])
    message["deleted"] = earlier["message"]["deleted"] or later["message"]["deleted"]
