"""Mattermost bulk export (`mmctl export create`): one JSON-lines file, folder or ZIP.

The first line is `{"type":"version",..}`; then teams, channels, users and bots, then `post`
lines (team, channel, user as names), then `direct_channel` and `direct_post` lines (members
by username). Replies are nested in their root post (`replies[]`); each is its own record and
message. Posts carry no ids, so ids are derived from what the importer itself treats as a post's
identity (conversation, user, create_at, message): the same file always yields the same ids.
Metadata lines come before the posts, so one streamed pass reads the whole file.
"""

from __future__ import annotations

import copy
import json
import posixpath
from collections.abc import Iterator
from typing import Any, BinaryIO

from analyzers.ids import stable_id
from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Reader, Record, iso_utc, new_message
from pipelines.ingest.parsing import as_dict, as_list, decode, epoch_ms, head_text, json_lines
from pipelines.ingest.split import Bounded, Settler, find_line, from_item, to_item

CHANNEL_TYPES = {"O": "channel", "P": "private"}


def _is_export(text: str) -> bool:
    first = text.lstrip().split("\n", 1)[0].replace(" ", "")
    return first.startswith("{") and '"type":"version"' in first


class MattermostReader(Reader):
    platform = "mattermost"
    parser_version = "1.0"

    @classmethod
    def match(cls, archive: Archive) -> float:
        return 0.95 if cls._exports(archive) else 0.0

    @staticmethod
    def _exports(archive: Archive) -> list[str]:
        return [n for n in archive.members() if n.lower().endswith((".jsonl", ".json"))
                and _is_export(head_text(archive, n, 4096))]

    def units(self, archive: Archive) -> list[str]:
        return self._exports(archive)

    def read(self, stream: BinaryIO, member: str, context: Any) -> Iterator[Record]:
        state = _State()
        for number, line in json_lines(stream):
            pointer = f"line:{number}"
            if isinstance(line, DataError):
                yield DeadLetter(member, pointer, str(line))
            elif not isinstance(line, dict):
                yield DeadLetter(member, pointer, "line is not a JSON object")
            elif line.get("type") in POST_TYPES:
                yield from self._post(line, member, pointer, state)
            else:
                state.learn(line)

    # A huge export in byte ranges (pipelines/ingest/split.py). Every line is a record, so any line after the
    # metadata lines may start a range; each range starts from what the metadata lines said (read once by the
    # plan) and numbers its lines from 1, the settling adds the lines of the ranges before. A metadata line
    # after the first post would change what later posts mean: the member is then read whole.
    splittable = True

    def split_context(self, archive: Archive, member: str, context: Any, stream: BinaryIO) -> tuple[Any, int] | None:
        state, offset = _State(), 0
        for raw in stream:  # as `json_lines` reads them, with their byte offsets
            try:
                line = json.loads(text) if (text := decode(raw).strip()) else None
            except (ValueError, RecursionError):
                line = None
            if isinstance(line, dict) and line.get("type") in POST_TYPES:
                return state, offset
            if isinstance(line, dict):
                state.learn(line)
            offset += len(raw)
        return None  # no post at all: nothing worth reading in parallel

    def record_start(self, cursor) -> int | None:
        return find_line(cursor, lambda line, previous, following: True)

    def read_range(self, stream: BinaryIO, member: str, context: Any, extra: Any, start: int, end: int,
                   summary: dict) -> Iterator[tuple[Any, Any]]:
        state = _State() if start == 0 else copy.deepcopy(extra)
        lines = Bounded(stream, end - start)
        posted = start > 0
        summary["learned"] = False  # a metadata line after the first post
        for number, line in json_lines(lines):
            pointer = f"line:{number}"
            if isinstance(line, DataError):
                yield to_item(DeadLetter(member, pointer, str(line))), None
            elif not isinstance(line, dict):
                yield to_item(DeadLetter(member, pointer, "line is not a JSON object")), None
            elif line.get("type") in POST_TYPES:
                posted = True
                for record in self._post(line, member, pointer, state):
                    yield to_item(record), None
            else:
                summary["learned"] = summary["learned"] or (posted and line.get("type") in LEARNED)
                state.learn(line)
        summary["lines"] = lines.lines()

    def settle(self, member: str, context: Any, extra: Any, summaries: list[dict]) -> Settler | None:
        if any("failed" in s or s["learned"] for s in summaries[:-1]) or "failed" in summaries[-1]:
            return None
        return _LineSettler([s["lines"] for s in summaries], [s["items"] for s in summaries])

    def _post(self, line: dict, member: str, pointer: str, state: _State) -> Iterator[Record]:
        post = line.get(line["type"])
        if not isinstance(post, dict):
            yield DeadLetter(member, pointer, f"{line['type']} line without a {line['type']} object")
            return
        conversation = state.conversation(line["type"], post)
        root_id = stable_id(conversation["id"], str(post.get("user")), str(post.get("create_at")),
                            str(post.get("message")))
        yield self._guarded(post, root_id, None, member, pointer, conversation, state)
        for j, reply in enumerate(as_list(post.get("replies"))):
            reply_pointer = f"{pointer}/replies/{j}"
            if not isinstance(reply, dict):
                yield DeadLetter(member, reply_pointer, "a reply must be a JSON object")
                continue
            reply_id = stable_id(root_id, str(reply.get("user")), str(reply.get("create_at")),
                                 str(reply.get("message")))
            yield self._guarded(reply, reply_id, root_id, member, reply_pointer, conversation, state)

    def _guarded(self, post, message_id, root_id, member, pointer, conversation, state) -> Record:
        try:
            return self._message(post, message_id, root_id, member, pointer, conversation, state)
        except DataError as exc:
            return DeadLetter(member, pointer, str(exc))

    def _message(self, post: dict, message_id: str, root_id: str | None, member: str, pointer: str,
                 conversation: dict, state: _State) -> dict:
        when = epoch_ms(post.get("create_at"), "create_at")
        username = str(post.get("user") or "")
        props = as_dict(post.get("props"))
        edits = []
        if post.get("edit_at"):
            # The export keeps only the final text; when it changed is what is known.
            edits.append({"text": None, "at": iso_utc(epoch_ms(post["edit_at"], "edit_at")), "by": username})
        person = state.users.get(username, {})
        has_replies = bool(as_list(post.get("replies")))
        return new_message(
            platform=self.platform,
            message_id=message_id,
            text=_text(post, props),
            timestamp=when,
            raw_timestamp=str(post.get("create_at")),
            conversation=conversation,
            author={"id": username, "name": person.get("name") or username or "unknown",
                    "email": person.get("email")},
            kind=_kind(post, props, username in state.bots),
            subtype=post.get("type") or None,
            thread_id=root_id or (message_id if has_replies else None),
            reply_to=root_id,
            edits=edits,
            attachments=[{"name": posixpath.basename(str(a.get("path") or "")) or None, "type": None, "size": None}
                         for a in as_list(post.get("attachments")) if isinstance(a, dict)],
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )


POST_TYPES = ("post", "direct_post")
LEARNED = ("channel", "user", "bot")  # the metadata lines `_State.learn` keeps something of


class _LineSettler(Settler):
    """Ranges whose records are finished already: only their line numbers run on from range to range."""

    def __init__(self, lines: list[int], items: list[int]):
        self.bases = iter([sum(lines[:i]) for i in range(len(lines))])
        self.left = iter(items)
        self.base, self.remaining = 0, 0

    def record(self, item: Any) -> Record:
        while self.remaining == 0:
            self.base, self.remaining = next(self.bases), next(self.left)
        self.remaining -= 1
        record = from_item(item)
        if isinstance(record, DeadLetter):
            return DeadLetter(record.path, _rebased(record.pointer, self.base), record.reason)
        if isinstance(record, dict):
            record["source"]["pointer"] = _rebased(record["source"]["pointer"], self.base)
        return record


def _rebased(pointer: str, base: int) -> str:
    """`line:N...` of a range as the line of the file."""
    number, _, rest = pointer.removeprefix("line:").partition("/")
    return f"line:{int(number) + base}" + (f"/{rest}" if rest else "")


class _State:
    """What the metadata lines said so far: channels, users and bots, by name."""

    def __init__(self) -> None:
        self.channels: dict[tuple[str, str], dict] = {}
        self.users: dict[str, dict] = {}
        self.bots: set[str] = set()

    def learn(self, line: dict) -> None:
        kind = line.get("type")
        data = as_dict(line.get(kind)) if isinstance(kind, str) else {}
        if kind == "channel" and data.get("name"):
            self.channels[(str(data.get("team")), str(data["name"]))] = data
        elif kind == "user" and data.get("username"):
            full = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
            self.users[data["username"]] = {"name": full or data.get("nickname") or data["username"],
                                            "email": data.get("email")}
        elif kind == "bot" and data.get("username"):
            self.bots.add(data["username"])
            self.users[data["username"]] = {"name": data.get("display_name") or data["username"], "email": None}

    def conversation(self, line_type: str, post: dict) -> dict:
        if line_type == "direct_post":
            members = sorted(str(m) for m in as_list(post.get("channel_members")))
            names = ", ".join(self.users.get(m, {}).get("name", m) for m in members)
            return {"id": "direct:" + ",".join(members), "name": f"DM: {names}",
                    "type": "dm" if len(members) <= 2 else "group_dm"}
        team, name = str(post.get("team")), str(post.get("channel"))
        channel = self.channels.get((team, name), {})
        return {"id": f"{team}/{name}", "name": channel.get("display_name") or name,
                "type": CHANNEL_TYPES.get(channel.get("type"), "channel")}


def _kind(post: dict, props: dict, by_bot: bool) -> str:
    if str(post.get("type") or "").startswith("system_"):
        return "system"
    if by_bot or str(props.get("from_bot")).lower() == "true" or str(props.get("from_webhook")).lower() == "true":
        return "bot"
    return "user"


def _text(post: dict, props: dict) -> str:
    message = post.get("message")
    text = message if isinstance(message, str) else ""
    if text.strip():
        return text
    # Integrations put their words in Slack-style message attachments.
    parts = [a.get("text") or a.get("fallback") or a.get("pretext") or ""
             for a in as_list(props.get("attachments")) if isinstance(a, dict)]
    return "\n".join(p for p in parts if p)
