"""E-mail: mbox files (one conversation per mailbox file) and `.eml` files (one per folder).

An mbox is streamed line by line; `mailbox.mbox` would build an index of the whole file first.
A `From ` line starts a message when it follows a blank line, the closing boundary of the MIME
body above it (Netscape folders put no blank line there) or the file start, and header lines
follow it; a full `From sender date` line needs only one of the two. A declared `Content-Length`
(Netscape, mboxcl2) is trusted when a separator stands where it ends: that keeps a body line
starting with `From ` inside its mail. Mailboxes are known by their first lines, so a
`list.mbox.txt` or a Mailman `2023-January.txt` is read too.
That `From ` line's date is when the mbox was written (the Enron files all say 2022), not when
the mail was sent: the `Date:` header is the time, kept raw beside UTC.
Text without a usable charset is read as UTF-8 when it decodes strictly, else as windows-1252
(what Outlook and Eudora wrote); `source.charset` says which charset the body was read with, and
`source.header_charset` that of raw 8-bit headers, when there were any.
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
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
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

# `From sender Mon Apr 18 14:20:57`; Mailman's archives write the sender as `alice at example.com`.
FROM_LINE = re.compile(rb"^From \S+(?: at \S+)?\s+\w{3} \w{3}\s+\d{1,2} \d{1,2}:\d{2}")
HEADER_FIELD = re.compile(rb"^[!-9;-~]+:")  # an RFC 822 field name and its colon
CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)\s*$", re.I)
BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]+)"|([^\s;"]+))', re.I)
ESCAPED_FROM = re.compile(rb"^>(>*From )")  # mboxrd quoting of body lines that start with "From "
HEADER_LINE = re.compile(r"^(?:date|from|subject|message-id|received|return-path|to|mime-version):", re.I | re.M)
FIRST_LINES = re.compile(r"^From [^\r\n]*\r?\n[!-9;-~]+:")  # a separator, then a header line
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|回复|答复|转发)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.I)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
OBFUSCATED_ADDRESS = re.compile(r"^[^\s@<>()\"]+ at [^\s@<>()\"]+\.[^\s@<>()\"]+(?:\s|$)")  # `a at b.org`
QP_HINT = re.compile(r"=(?:\r?\n|20\r?$|09\r?$|3D)", re.M)  # quoted-printable text under a 7bit label
C1_BYTES = re.compile(rb"[\x80-\x9f]")
UNFOLD = re.compile(r"\r?\n(?=[ \t])")
# Decoders that read more than the label they stand for, as mail programs do (WHATWG Encoding Standard).
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "shift-jis": "cp932", "euc-kr": "cp949"}
DELETED_FOLDER = re.compile(r"deleted[ _]items|\btrash\b|\bdeleted\b", re.I)
MAX_MESSAGE_BYTES = 64 << 20
# A declared body holding more `From ` lines that look like mails than this is not trusted: it bounds the look-ahead.
MAX_INNER_PARTS = 32
SNIFF_LIMIT = 200
# A mailbox named `.txt` (Mailman archives, `x.mbox.txt`) scores below any WhatsApp chat (0.7), so an export
# that holds a chat is still read as that chat.
TEXT_MAILBOX_SCORE = 0.6
PARSE_ERRORS = (ValueError, LookupError, TypeError, IndexError, AttributeError, UnicodeError,
                email.errors.MessageError)
RULE_NO_ZONE = "date-header-without-zone-assumed-utc"
RULE_RECEIVED = "no-date-header-used-received"


def _is_mailbox(archive: Archive, name: str) -> bool:
    """Known by content, not by name: a `From ` separator first, header lines right after it."""
    head = head_text(archive, name, 4096)
    return bool(FIRST_LINES.match(head)) and bool(HEADER_LINE.search(head))


class MboxReader(Reader):
    platform = "mbox"
    parser_version = "1.1"

    @classmethod
    def match(cls, archive: Archive) -> float:
        names = cls._candidates(archive)[:SNIFF_LIMIT]
        mailboxes = [n for n in names if not n.lower().endswith(".eml") and _is_mailbox(archive, n)]
        if any(not n.lower().endswith(".txt") for n in mailboxes):
            return 0.9
        if any(n.lower().endswith(".eml") and HEADER_LINE.search(head_text(archive, n, 4096)) for n in names):
            return 0.85
        return TEXT_MAILBOX_SCORE if mailboxes else 0.0

    def units(self, archive: Archive) -> list[str]:
        return [n for n in self._candidates(archive)
                if n.lower().endswith(".eml") or _is_mailbox(archive, n)]

    @staticmethod
    def _candidates(archive: Archive) -> list[str]:
        # JSON, HTML and CSV are other formats' business; skipping them keeps detection cheap. `.txt` stays:
        # mailboxes are often named so, and a chat export never starts with a `From ` line and headers.
        return [n for n in archive.members() if not n.lower().endswith((".json", ".html", ".csv"))]

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
        found = False
        for offset, data, problem in _split_mbox(stream):
            found = True
            pointer = f"offset:{offset}"
            yield DeadLetter(member, pointer, problem) if problem else self._record(
                data, member, pointer, conversation, state)
        if not found:  # never silence: a file handed to this reader is accounted for
            yield DeadLetter(member, "offset:0", "no mail in this file: no `From ` line followed by mail headers")

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
        body = msg.get_body(preferencelist=("plain", "html"))
        text, charset = _body_text(body)
        text = text.rstrip()
        # Raw 8-bit headers carry no charset of their own; the message's is the best guess after UTF-8.
        declared = msg.get_content_charset() or (body.get_content_charset() if body is not None else None)
        header_charsets: set[str] = set()
        name, address = email.utils.parseaddr(_header(msg, "From", declared, header_charsets))
        written = _raw_header(msg, "From", declared).strip()
        if not name or "@" not in address:
            # The strict parser drops the name of `addr (Name)` and cannot read Mailman's `jdoe at example.org`.
            plain_name, plain_address = email.utils.parseaddr(
                written.replace(" at ", "@", 1) if OBFUSCATED_ADDRESS.match(written) else written)
            name = name or str(policy.default.header_factory("Subject", plain_name))  # decodes =?..?= words
            address = plain_address if "@" in plain_address and "@" not in address else address
        # An address no parser reads (`a!b@c@d`, UUCP era) still names the sender as written.
        name = name or _header(msg, "X-From", declared, header_charsets) or address or written
        subject = _header(msg, "Subject", declared, header_charsets)
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
                    "parser_version": self.parser_version,
                    **({"charset": charset} if charset else {}),
                    **({"header_charset": ",".join(sorted(header_charsets))} if header_charsets else {})},
        )


@dataclass
class _Part:
    """The lines from one separator to the next, as the line rule splits them."""

    start: int | None  # offset of its `From ` line; None for text before the first one
    head: bytes  # the `From ` line itself
    end: int  # offset past its last line
    chunks: list[bytes] = field(default_factory=list)  # the lines after `head`, held up to the size cap
    size: int = 0
    body_end: int | None = None  # where its declared Content-Length says the body ends
    tail: bytes = b""  # its last line, raw


def _split_mbox(stream: BinaryIO) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(byte offset of the `From ` line, message bytes, problem) for each message, streamed.

    A part whose declared Content-Length runs past the next separator swallows the parts inside that body
    when a separator (or the file end) stands where the length ends; otherwise the length is wrong (the
    MimeKit sample has short ones) and the line rule stands. The look-ahead is bounded by the size cap and
    MAX_INNER_PARTS."""
    parts = _parts(stream)
    ahead: deque[_Part] = deque()
    while (part := ahead.popleft() if ahead else next(parts, None)) is not None:
        if part.body_end is not None and part.body_end > part.end:
            while (len(ahead) <= MAX_INNER_PARTS and (not ahead or ahead[-1].end <= part.body_end + 2)
                   and (more := next(parts, None)) is not None):
                ahead.append(more)
            inside = _inside_length(part, ahead)
            for _ in range(inside):
                part = _joined(part, ahead.popleft())
        yield from _flush(part)


def _inside_length(part: _Part, ahead: deque[_Part]) -> int:
    """How many of the parts ahead lie inside `part`'s declared body; 0 when no separator is where it ends."""
    previous = part
    for count, candidate in enumerate(ahead):
        if count > MAX_INNER_PARTS or candidate.start > part.body_end + 2:
            return 0
        if _ends_at(previous.tail, candidate.start, part.body_end):
            return count
        previous = candidate
    # No separator after it: the length is right if it ends the file.
    return len(ahead) if len(ahead) <= MAX_INNER_PARTS and _ends_at(previous.tail, previous.end, part.body_end) else 0


def _ends_at(tail: bytes, boundary: int, body_end: int) -> bool:
    """Whether a declared body that ends at `body_end` ends at `boundary`, the start of the line after `tail`:
    the length may count the line break before the separator or not (Netscape leaves it out)."""
    gap = boundary - body_end
    return gap == 0 or (0 < gap <= 2 and not tail[-gap:].strip())


def _joined(part: _Part, inner: _Part) -> _Part:
    size = part.size + len(inner.head) + inner.size
    chunks = [*part.chunks, inner.head, *inner.chunks] if size <= MAX_MESSAGE_BYTES else []
    return _Part(part.start, part.head, inner.end, chunks, size, part.body_end, inner.tail)


def _parts(stream: BinaryIO) -> Iterator[_Part]:
    """The file split by the line rule (see the module's docstring), one part per separator."""
    part = _Part(None, b"", 0)
    boundaries: set[bytes] = set()  # declared by the mail above: its closing line may precede a separator
    in_headers = False
    content_length = None
    length_end = 0  # where the last declared body ends: a `From ` line inside it keeps the mail's boundaries
    offset, previous = 0, None
    for line, following in _with_next(lines_of(stream)):
        end = offset + len(line)
        if line.startswith(b"From ") and _separates(line, following, _opens(previous, offset, boundaries, length_end)):
            yield part
            part, in_headers, content_length = _Part(offset, line, end, tail=line), True, None
            if offset >= length_end:
                boundaries = set()
        else:
            if in_headers:
                if not line.strip():
                    in_headers = False
                    if content_length is not None and content_length <= MAX_MESSAGE_BYTES:
                        part.body_end = end + content_length
                        length_end = max(length_end, part.body_end)
                elif found := CONTENT_LENGTH.match(line):
                    content_length = int(found.group(1))
            if b"=" in line and (declared := BOUNDARY.search(line)):
                boundaries.add(declared.group(1) or declared.group(2))
            part.size += len(line)
            if part.size <= MAX_MESSAGE_BYTES:  # past the cap, keep counting but stop holding bytes
                part.chunks.append(ESCAPED_FROM.sub(rb"\1", line) if line.startswith(b">") else line)
            part.end, part.tail = end, line
        offset, previous = end, line
    yield part


def _separates(line: bytes, following: bytes | None, before: bool) -> bool:
    """Whether this `From ` line starts a message: where one may start (`before`, see `_opens`) and before
    header lines; a full `From sender date` line needs only one of the two."""
    after = following is not None and bool(HEADER_FIELD.match(following))
    return (before and after) or ((before or after) and bool(FROM_LINE.match(line)))


def _opens(previous: bytes | None, offset: int, boundaries: set[bytes], length_end: int) -> bool:
    """Whether a message may start after `previous`: at the file start, after a blank line, after the closing
    boundary of the mail above (Netscape) or where a declared body ends."""
    if previous is None or not previous.strip() or _ends_at(previous, offset, length_end):
        return True
    stripped = previous.rstrip()
    return stripped.startswith(b"--") and stripped.endswith(b"--") and stripped[2:-2] in boundaries


def _with_next(lines: Iterator[bytes]) -> Iterator[tuple[bytes, bytes | None]]:
    """Each line with the one after it (None at the end): a separator is known by what follows it."""
    previous = next(lines, None)
    for line in lines:
        yield previous, line
        previous = line
    if previous is not None:
        yield previous, None


def _flush(part: _Part) -> Iterator[tuple[int, bytes | None, str | None]]:
    if part.start is None:
        if any(c.strip() for c in part.chunks):
            yield 0, None, "text before the first `From ` line"
    elif part.size > MAX_MESSAGE_BYTES:
        yield part.start, None, f"message of {part.size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte cap"
    else:
        yield part.start, b"".join(part.chunks), None


def _header(msg: EmailMessage, name: str, declared: str | None = None, used: set[str] | None = None) -> str:
    """A header's text; raw 8-bit bytes in it (Outlook, Eudora) are decoded, not replaced, and their
    charset added to `used`."""
    value = msg.get(name)
    if value is None:
        return ""
    raw = _raw_header(msg, name, declared, used)
    return str(value if raw.isascii() else policy.default.header_factory(name, raw)).strip()


def _raw_header(msg: EmailMessage, name: str, declared: str | None = None, used: set[str] | None = None) -> str:
    """A header as written, unfolded, its 8-bit bytes decoded (the parser keeps them as surrogates)."""
    raw = UNFOLD.sub("", next((v for k, v in msg.raw_items() if k.lower() == name.lower()), ""))
    if raw.isascii():
        return raw
    try:
        text, charset = _text(raw.encode("ascii", "surrogateescape"), declared, utf8_first=True)
    except UnicodeError:  # not surrogates after all: the text is already decoded
        return raw
    if used is not None:
        used.add(charset)
    return text


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


def _body_text(part: EmailMessage | None) -> tuple[str, str | None]:
    """The chosen text part (plain before HTML, HTML made plain) and the charset it was read with."""
    if part is None:
        return "", None
    payload = part.get_payload(decode=True)
    payload = payload if isinstance(payload, bytes) else b""
    declared = part.get_content_charset()
    text, charset = _text(payload, declared)
    encoding = _header(part, "Content-Transfer-Encoding").lower()
    if encoding in ("", "7bit", "8bit") and len(QP_HINT.findall(text)) >= 2:
        # Lotus Notes exports (Enron) hold quoted-printable text under a 7bit label.
        text, charset = _text(quopri.decodestring(payload), declared)
    return (_html_to_text(text) if part.get_content_type() == "text/html" else text), charset


def _text(raw: bytes, declared: str | None, utf8_first: bool = False) -> tuple[str, str]:
    """Bytes as text, and the charset they were read with: the declared one when it decodes them, else UTF-8
    when it does, else windows-1252 (what Outlook and Eudora sent undeclared), else Latin-1 (reads any byte).
    A charset is used with replacement only where the bytes show it is right and a byte is merely damaged."""
    if utf8_first:  # raw 8-bit headers are UTF-8 when they decode so (RFC 6532), whatever the body says
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    codec = _codec(declared)
    if codec:
        tries = [codec]
        if codec == "iso-8859-1" and C1_BYTES.search(raw):  # Latin-1 labels on Windows text: C1 holds quotes
            tries.insert(0, "windows-1252")
        if codec in SUPERSETS:
            tries.append(SUPERSETS[codec])
        for name in tries:
            try:
                return raw.decode(name), name
            except UnicodeDecodeError:
                pass
        # ASCII with 8-bit bytes, or UTF-8 that is really a single-byte text, is mislabelled: guess instead.
        if codec not in ("us-ascii", "utf-8"):
            return raw.decode(tries[-1], errors="replace"), tries[-1]
    if raw.isascii():
        return raw.decode("ascii"), "us-ascii"
    text = raw.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    if not damaged or len(text) - len(text.encode("ascii", "ignore")) - damaged >= damaged:
        return text, "utf-8"  # UTF-8, or UTF-8 with a stray byte: its sequences are at least as many
    try:
        return raw.decode("windows-1252"), "windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "iso-8859-1"


def _codec(charset: str | None) -> str | None:
    """The canonical name of a declared charset (`ANSI_X3.4-1968` is `us-ascii`); None when unknown."""
    try:
        name = codecs.lookup(charset).name if charset else None
    except LookupError:
        return None
    if name is None:
        return None
    if name == "ascii":
        return "us-ascii"
    return re.sub(r"^cp(125\d)$", r"windows-\1", re.sub(r"^iso8859-", "iso-8859-", name)).replace("_", "-")


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
