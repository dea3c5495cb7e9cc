"""DiscordChatExporter JSON: one file per channel, `{guild, channel, messages: [...]}`.

Files can be large, so they are walked as JSON events and one message is built at a time;
the exporter writes `guild` and `channel` before `messages`. Timestamps carry the exporting
machine's offset and become UTC. Deleted messages are not in these exports.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any, BinaryIO

from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Reader, Record, iso_utc, new_message
from pipelines.ingest.parsing import JSON_ERRORS, StreamedJson, as_dict, as_list, build_value, epoch_iso, head_text

CONVERSATION_TYPES = {
    "DirectTextChat": "dm", "DirectGroupTextChat": "group_dm", "GuildPrivateThread": "private",
}
THREAD_CHANNELS = {"GuildPublicThread", "GuildPrivateThread", "GuildNewsThread"}
# Kinds that carry what someone (or an app, on someone's behalf) wrote; the rest are Discord's own notices.
CONTENT_TYPES = {"Default", "Reply", "ApplicationCommand", "ContextMenuCommand"}
META_FIELDS = {"guild.id", "guild.name", "channel.id", "channel.type", "channel.name", "channel.category"}
SNIFF_LIMIT = 200


def _looks_like_discord(head: str) -> bool:
    return all(key in head for key in ('"guild"', '"channel"', '"messages"'))


class DiscordReader(Reader):
    platform = "discord"
    parser_version = "1.0"

    @classmethod
    def match(cls, archive: Archive) -> float:
        return 0.9 if cls._units(archive, SNIFF_LIMIT // 10) else 0.0

    def units(self, archive: Archive) -> list[str]:
        return self._units(archive, None)

    @staticmethod
    def _units(archive: Archive, limit: int | None) -> list[str]:
        names = [n for n in archive.members() if n.lower().endswith(".json")][:limit]
        return [n for n in names if _looks_like_discord(head_text(archive, n, 4096))]

    def read(self, stream: BinaryIO, member: str, context: Any) -> Iterator[Record]:
        document = StreamedJson(stream)
        events = document.events()
        meta: dict[str, Any] = {}
        roots: dict[str, str] = {}
        index, pointer = -1, "/"
        try:
            for prefix, event, value in events:
                if prefix in META_FIELDS and event in ("string", "number"):
                    meta[prefix] = value
                if prefix != "messages.item":
                    continue
                index += 1
                pointer = f"/messages/{index}"
                item = build_value(event, value, events)
                try:
                    yield self._message(item, member, pointer, meta, roots)
                except DataError as exc:
                    yield DeadLetter(member, pointer, str(exc))
        except JSON_ERRORS as exc:
            yield DeadLetter(member, pointer, f"JSON breaks off after this record: {exc}")
        yield from document.dead_letters(member)

    def _message(self, item: Any, member: str, pointer: str, meta: dict, roots: dict[str, str]) -> dict:
        if not isinstance(item, dict):
            raise DataError(f"a message must be a JSON object, not {type(item).__name__}")
        if not item.get("id"):
            raise DataError("message without an id")
        message_id = str(item["id"])
        when = epoch_iso(item.get("timestamp"))
        author = as_dict(item.get("author"))
        author_id = str(author.get("id") or "")
        kind = "bot" if author.get("isBot") else "user"
        if item.get("type", "Default") not in CONTENT_TYPES:
            kind = "system"
        reply_to = as_dict(item.get("reference")).get("messageId")
        reply_to = str(reply_to) if reply_to else None
        thread_id = self._thread(message_id, reply_to, meta, roots)
        edits = []
        if item.get("timestampEdited"):
            # The export holds the final text only: when it changed is what is known.
            edits.append({"text": None, "at": iso_utc(epoch_iso(item["timestampEdited"], "timestampEdited")),
                          "by": author_id})
        return new_message(
            platform=self.platform,
            message_id=message_id,
            text=_text(item),
            timestamp=when,
            raw_timestamp=str(item["timestamp"]),
            conversation=_conversation(meta, member),
            author={"id": author_id, "name": author.get("nickname") or author.get("name") or author_id or "unknown",
                    "email": None},
            kind=kind,
            subtype=None if item.get("type", "Default") == "Default" else str(item.get("type")),
            thread_id=thread_id,
            reply_to=reply_to,
            edits=edits,
            attachments=[
                {"name": a.get("fileName"), "type": posixpath.splitext(a.get("fileName") or "")[1].lstrip(".")
                 or None, "size": a.get("fileSizeBytes")}
                for a in map(as_dict, as_list(item.get("attachments")))
            ],
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )

    @staticmethod
    def _thread(message_id: str, reply_to: str | None, meta: dict, roots: dict[str, str]) -> str | None:
        """A thread channel is one thread; elsewhere a reply chain is, rooted at its first message."""
        if meta.get("channel.type") in THREAD_CHANNELS:
            return str(meta.get("channel.id"))
        if not reply_to:
            return None
        root = roots.get(reply_to, reply_to)
        roots[message_id] = root  # only replies are remembered: memory grows with them alone
        return root


def _conversation(meta: dict, member: str) -> dict:
    channel_id = meta.get("channel.id")
    name = meta.get("channel.name") or posixpath.basename(member)
    if meta.get("channel.category"):
        name = f"{meta['channel.category']} / {name}"
    return {"id": str(channel_id) if channel_id else member, "name": name,
            "type": CONVERSATION_TYPES.get(meta.get("channel.type"), "channel")}


def _text(item: dict) -> str:
    """The content, or for bot posts made only of embeds, their titles and descriptions."""
    content = item.get("content") if isinstance(item.get("content"), str) else ""
    if content.strip():
        return content
    parts = []
    for embed in map(as_dict, as_list(item.get("embeds"))):
        parts.extend(str(embed[k]) for k in ("title", "description") if embed.get(k))
        parts.extend(f"{f.get('name')}: {f.get('value')}" for f in map(as_dict, as_list(embed.get("fields"))))
    return "\n".join(parts)
