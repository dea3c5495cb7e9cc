"""E-mail: mbox files (one conversation per mailbox file) and `.eml` files (one per folder).

An mbox is streamed line by line and split on `From ` lines at a line start (after a blank
line, or shaped like a `From sender date` line); `mailbox.mbox` would build an index of the
whole file first. That `From ` line's date is when the mbox was written (the Enron files all
say 2022), not when the mail was sent: the `Date:` header is the time, kept raw beside UTC.
Threads follow `References`/`In-Reply-To` to the root Message-ID, else the normalised subject.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email.errors
import email.utils
import html
import posixpath
import quopri
import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO

from analyzers.ids import content_id
from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Reader, Record, new_message
from pipelines.ingest.parsing import UniqueIds, epoch_of, head_text, lines_of

FROM_LINE = re.compile(rb"^From \S+\s+\w{3} \w{3}\s+\d{1,2} \d{1,2}:\d{2}")  # `From sender Mon Apr 18 14:20:57`
ESCAPED_FROM = re.compile(rb"^>(>*From )")  # mboxrd quoting of body lines that start with "From "
HEADER_LINE = re.compile(r"^(?:date|from|subject|message-id|received|return-path|to|mime-version):", re.I | re.M)
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|回复|答复|转发)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.I)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
QP_HINT = re.compile(r"=(?:\r?\n|20\r?$|09\r?$|3D)", re.M)  # quoted-printable text under a 7bit label
DELETED_FOLDER = re.compile(r"deleted[ _]items|\btrash\b|\bdeleted\b", re.I)
MAX_MESSAGE_BYTES = 64 << 20
SNIFF_LIMIT = 200
PARSE_ERRORS = (ValueError, LookupError, TypeError, IndexError, AttributeError, UnicodeError,
                email.errors.MessageError)
RULE_NO_ZONE = "date-header-without-zone-assumed-utc"
RULE_RECEIVED = "no-date-header-used-received"


def _looks_like_mbox(head: str) -> bool:
    return head.startswith("From ") and bool(HEADER_LINE.search(head))


class MboxReader(Reader):
    platform = "mbox"
    parser_version = "1.0"

    @classmethod
    def match(cls, archive: Archive) -> float:
        names = cls._candidates(archive)[:SNIFF_LIMIT]
        if any(_looks_like_mbox(head_text(archive, n, 4096)) for n in names if not n.lower().endswith(".eml")):
            return 0.9
        if any(n.lower().endswith(".eml") and HEADER_LINE.search(head_text(archive, n, 4096)) for n in names):
            return 0.85
        return 0.0

    def units(self, archive: Archive) -> list[str]:
        return [n for n in self._candidates(archive)
                if n.lower().endswith(".eml") or _looks_like_mbox(head_text(archive, n, 4096))]

    @staticmethod
    def _candidates(archive: Archive) -> list[str]:
        # JSON and chat text files are other formats' business; skipping them keeps detection cheap.
        return [n for n in archive.members() if not n.lower().endswith((".json", ".txt", ".html", ".csv"))]

    def context(self, archive: Archive) -> tuple[dict, list[DeadLetter]]:
        return {"archive_name": Path(archive.location).name}, []

    def read(self, stream: BinaryIO, member: str, context: dict) -> Iterator[Record]:
        state = {"threads": {}, "subjects": {}, "ids": UniqueIds()}
        if member.lower().endswith(".eml"):
            folder = posixpath.dirname(member) or context.get("archive_name", "")
            conversation = {"id": folder, "name": posixpath.basename(folder) or folder, "type": "mailbox"}
            yield self._record(stream.read(MAX_MESSAGE_BYTES + 1), member, "offset:0", conversation, state)
            return
        conversation = {"id": member, "name": posixpath.basename(member), "type": "mailbox"}
        for offset, data, problem in _split_mbox(stream):
            pointer = f"offset:{offset}"
            yield DeadLetter(member, pointer, problem) if problem else self._record(
                data, member, pointer, conversation, state)

    def _record(self, data: bytes, member: str, pointer: str, conversation: dict, state: dict) -> Record:
        if len(data) > MAX_MESSAGE_BYTES:
            return DeadLetter(member, pointer, f"message larger than {MAX_MESSAGE_BYTES} bytes")
        try:
            return self._message(BytesParser(policy=policy.default).parsebytes(data), member, pointer,
                                 conversation, state)
        except DataError as exc:
            return DeadLetter(member, pointer, str(exc))
        except PARSE_ERRORS as exc:
            return DeadLetter(member, pointer, f"unparseable message: {type(exc).__name__}: {exc}")

    def _message(self, msg: EmailMessage, member: str, pointer: str, conversation: dict, state: dict) -> dict:
        if not any(msg.get(h) for h in ("From", "Date", "Message-ID", "Subject")):
            raise DataError("no mail headers")
        when, raw_date, rule = _sent_time(msg)
        name, address = email.utils.parseaddr(_header(msg, "From"))
        name = name or _header(msg, "X-From") or address
        subject = _header(msg, "Subject")
        text = _body_text(msg).rstrip()
        own_id = _first_id(_header(msg, "Message-ID"))
        # A Message-ID seen twice in a mailbox (copies, resends) must not make two records one.
        message_id = state["ids"](own_id) if own_id else state["ids"](
            "noid-" + content_id(raw_date, address, subject, text[:500]))
        references = MESSAGE_ID.findall(_header(msg, "References"))
        in_reply_to = _first_id(_header(msg, "In-Reply-To")) or (references[-1] if references else None)
        thread_id = _thread(state, message_id, own_id, references or ([in_reply_to] if in_reply_to else []),
                            subject)
        in_trash = bool(DELETED_FOLDER.search(conversation["name"]) or DELETED_FOLDER.search(_header(msg, "X-Folder")))
        return new_message(
            platform=self.platform,
            message_id=message_id,
            text=f"{subject}\n\n{text}" if subject else text,
            timestamp=when,
            raw_timestamp=raw_date,
            timestamp_rule=rule,
            conversation=conversation,
            author={"id": address.lower() or name, "name": name or "unknown", "email": address or None},
            kind=_kind(msg, address),
            subtype="deleted-items-folder" if in_trash else None,
            thread_id=thread_id,
            reply_to=in_reply_to,
            deleted=in_trash,
            attachments=_attachments(msg),
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version},
        )


def _split_mbox(stream: BinaryIO) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(byte offset of the `From ` line, message bytes, problem) for each message, streamed."""
    offset, start, previous_blank = 0, None, True
    chunks: list[bytes] = []
    size = 0
    for line in lines_of(stream):
        if line.startswith(b"From ") and (previous_blank or FROM_LINE.match(line)):
            yield from _flush(start, chunks, size)
            start, chunks, size = offset, [], 0
        else:
            size += len(line)
            if size <= MAX_MESSAGE_BYTES:  # past the cap, keep counting but stop holding bytes
                chunks.append(ESCAPED_FROM.sub(rb"\1", line))
        offset += len(line)
        previous_blank = not line.strip()
    yield from _flush(start, chunks, size)


def _flush(start: int | None, chunks: list[bytes], size: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    if start is None:
        if any(c.strip() for c in chunks):
            yield 0, None, "text before the first `From ` line"
    elif size > MAX_MESSAGE_BYTES:
        yield start, None, f"message of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte cap"
    else:
        yield start, b"".join(chunks), None


def _header(msg: EmailMessage, name: str) -> str:
    value = msg.get(name)
    return str(value).strip() if value is not None else ""


def _first_id(value: str) -> str | None:
    found = MESSAGE_ID.search(value)
    return found.group(0) if found else None


def _sent_time(msg: EmailMessage) -> tuple[float, str, str | None]:
    """(epoch, raw, rule) from `Date:`; a zone-less date is read as UTC; no date, the newest `Received:`."""
    raw = next((" ".join(str(v).split()) for k, v in msg.raw_items() if k.lower() == "date"), "")
    rule = None
    if not raw or _parse_date(raw) is None:
        received = [str(r) for r in msg.get_all("Received") or []]
        stamps = [r.rsplit(";", 1)[1].strip() for r in received if ";" in r]
        raw = next((s for s in stamps if _parse_date(s) is not None), "")
        if not raw:
            raise DataError(f"no usable Date header ({_header(msg, 'Date')!r}) and no dated Received header")
        rule = RULE_RECEIVED
    moment = _parse_date(raw)
    if moment.tzinfo is None:
        moment, rule = moment.replace(tzinfo=dt.UTC), RULE_NO_ZONE
    return epoch_of(moment, "Date"), raw, rule


def _parse_date(raw: str) -> dt.datetime | None:
    try:
        return email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _thread(state: dict, message_id: str, own_id: str | None, references: list[str], subject: str) -> str:
    """The root Message-ID of the References chain. Without References (Enron has none) a mail is its own
    root unless its subject reads as a reply; then it joins the first root seen with that normalised subject
    in this file, else the subject itself names the thread."""
    normalised = " ".join(REPLY_PREFIX.sub("", subject).lower().split())
    if references:
        root = state["threads"].get(references[0], references[0])
    elif own_id and not REPLY_PREFIX.match(subject):
        root = own_id
    else:
        root = state["subjects"].get(normalised) or (f"subject:{normalised}" if normalised else message_id)
    state["threads"].setdefault(message_id, root)  # a later mail that references this one joins its thread
    if normalised:
        state["subjects"].setdefault(normalised, root)
    return root


def _kind(msg: EmailMessage, address: str) -> str:
    local = address.split("@", 1)[0].lower()
    if msg.get_content_type() == "multipart/report" or local in ("mailer-daemon", "postmaster"):
        return "system"
    auto = _header(msg, "Auto-Submitted").lower()
    return "bot" if auto and auto != "no" else "user"


def _body_text(msg: EmailMessage) -> str:
    """text/plain preferred, else HTML made plain; transfer encodings and charsets decoded with replacement."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decode(part)
    return _html_to_text(text) if part.get_content_type() == "text/html" else text


def _decode(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    text = payload.decode(charset, errors="replace")
    declared = _header(part, "Content-Transfer-Encoding").lower()
    if declared in ("", "7bit", "8bit") and len(QP_HINT.findall(text)) >= 2:
        # Lotus Notes exports (Enron) hold quoted-printable text under a 7bit label.
        text = quopri.decodestring(text.encode(charset, errors="replace")).decode(charset, errors="replace")
    return text


class _TextOnly(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_to_text(markup: str) -> str:
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in html.unescape("".join(parser.parts)).splitlines())
    return "\n".join(line for line in lines if line)


def _attachments(msg: EmailMessage) -> list[dict]:
    found = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        found.append({"name": part.get_filename(), "type": part.get_content_type(),
                      "size": len(payload) if isinstance(payload, bytes) else None})
    return found
