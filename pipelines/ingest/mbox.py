"""E-mail: mbox files and folders of `.eml` files, each a mailbox; every thread in it is a conversation.

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
A mail's subject is `message.subject`, never part of its text.

The conversation is the thread (DESIGN.md): mails joined by `Message-ID`, `In-Reply-To` and `References`
over the whole mailbox (union-find, so the order mails were filed in does not matter and a lost link in
the middle of a chain is bridged by the others), and only a mail with none of these headers joins by its
subject, with `Re:`/`Fwd:`/`AW:`/`回复:`/`转发:` prefixes and `[list]` tags, case and spacing set aside
(Enron's mails have no such headers). Its root is its first mail that replies to nothing, else its first
mail: `thread.id` is the root's message id, `conversation.id` a hash of the mailbox and that id,
`conversation.name` the root's subject without reply prefixes, `conversation.folder` the mailbox (the
mbox file, or the folder of the `.eml` files), and `conversation.type` `channel` for list mail
(`List-Id`), `dm` when the thread's From/To/Cc name two addresses at most, else `group_dm`. An mbox
is read once: its parsed mails wait in a spool (memory, then a temporary file) until the last one has
been seen and the threads are known, then go on in file order with their conversation. `.eml` files
are read one by one, so their threads are worked out up front from their headers (`MboxReader.context`).
"""

from __future__ import annotations

import bisect
import codecs
import datetime as dt
import email.errors
import email.utils
import html
import pickle
import posixpath
import quopri
import re
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from html.parser import HTMLParser
from typing import Any, BinaryIO

from analyzers.ids import content_id, mail_thread_id
from pipelines.archive import Archive
from pipelines.ingest.base import DataError, DeadLetter, Reader, Record, new_message
from pipelines.ingest.parsing import UniqueIds, epoch_of, head_text, lines_of
from pipelines.ingest.split import Settler, find_line, from_item, to_item

# `From sender Mon Apr 18 14:20:57`; Mailman's archives write the sender as `alice at example.com`.
FROM_LINE = re.compile(rb"^From \S+(?: at \S+)?\s+\w{3} \w{3}\s+\d{1,2} \d{1,2}:\d{2}")
HEADER_FIELD = re.compile(rb"^[!-9;-~]+:")  # an RFC 822 field name and its colon
CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)\s*$", re.I)
BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]+)"|([^\s;"]+))', re.I)
ESCAPED_FROM = re.compile(rb"^>(>*From )")  # mboxrd quoting of body lines that start with "From "
HEADER_LINE = re.compile(r"^(?:date|from|subject|message-id|received|return-path|to|mime-version):", re.I | re.M)
FIRST_LINES = re.compile(r"^From [^\r\n]*\r?\n[!-9;-~]+:")  # a separator, then a header line
REPLY_WORD = r"(?:re|fwd?|aw|wg|sv|vs|antw|tr|回复|答复|转发)\s*(?:\[\d+\])?\s*[:：]\s*"  # Re:, RE[2]:, AW:, 回复：
REPLY_PREFIX = re.compile(rf"^\s*(?:{REPLY_WORD})+", re.I)
# What a subject starts with that is not its topic: reply and forward prefixes, and list tags (`[ml-list]`).
TOPIC_PREFIX = re.compile(rf"^\s*(?:{REPLY_WORD}|\[[^\[\]\r\n]{{1,40}}\]\s*)+", re.I)
REPLY_IN_PREFIX = re.compile(REPLY_WORD, re.I)
NO_SUBJECT = "(no subject)"
# What mail programs write for no subject: never a topic that joins mails.
NO_TOPIC = frozenset({"", "(no subject)", "no subject", "(无主题)", "无主题", "(kein betreff)"})
LIST_HEADERS = ("List-Id", "List-Post")
SPOOL_MEMORY = 16 << 20  # parsed mails of one mailbox held in memory up to this size, then in a temporary file
HEADER_BYTES = 1 << 20  # of an `.eml` file, read up front for its threading headers
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
    parser_version = "1.2"  # 1.2: threads are conversations, the subject is `message.subject`

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
        archive_name = archive.name
        emls = [n for n in archive.members() if n.lower().endswith(".eml")]
        return {"archive_name": archive_name, "eml": self._eml_threads(archive, emls, archive_name)}, []

    def read(self, stream: BinaryIO, member: str, context: dict) -> Iterator[Record]:
        if member.lower().endswith(".eml"):
            folder = _eml_folder(member, context.get("archive_name", ""))
            record, mail, links = self._record(stream.read(MAX_MESSAGE_BYTES + 1), member, "offset:0", folder,
                                               UniqueIds())
            if mail is not None:
                placed = (context.get("eml") or {}).get(member)
                if placed is None:  # not seen up front (read on its own): a thread of its own mails only
                    alone = _Threads()
                    alone.add(mail, links)
                    placed = alone.resolve(folder)[0]
                _place(record, *placed)
            yield record
            return
        yield from self._read_mbox(stream, member)

    def _read_mbox(self, stream: BinaryIO, member: str) -> Iterator[Record]:
        """Every mail parsed once into the spool while the threads are worked out, then handed on in file
        order with its conversation."""
        threads, ids, count = _Threads(), UniqueIds(), 0
        with tempfile.SpooledTemporaryFile(SPOOL_MEMORY) as spool:
            for offset, data, problem in _split_mbox(stream):
                pointer = f"offset:{offset}"
                record, mail, links = (DeadLetter(member, pointer, problem), None, ()) if problem else self._record(
                    data, member, pointer, member, ids)
                if mail is not None:
                    threads.add(mail, links)
                pickle.dump(record, spool, pickle.HIGHEST_PROTOCOL)
                count += 1
            if not count:  # never silence: a file handed to this reader is accounted for
                yield DeadLetter(member, "offset:0", "no mail in this file: no `From ` line followed by mail headers")
                return
            placed = iter(threads.resolve(member))
            spool.seek(0)
            for _ in range(count):
                record = pickle.load(spool)
                if isinstance(record, dict):
                    _place(record, *next(placed))
                yield record

    # A huge mbox in byte ranges (pipelines/ingest/split.py). A range starts at a `From ` line after a blank
    # line and before a header line: there the line rule always starts a mail, whatever came before, unless a
    # declared Content-Length of a mail above runs across it; the range before checks that (`clean_end`). The
    # ids a mail takes and its threading headers are the facts: unique ids and threads are worked out over the
    # whole mailbox when the ranges are settled, as `_read_mbox` does after its spool.
    splittable = True

    def split_context(self, archive: Archive, member: str, context: Any, stream: BinaryIO) -> tuple[Any, int] | None:
        return None if member.lower().endswith(".eml") else (None, 0)

    def record_start(self, cursor) -> int | None:
        return find_line(cursor, _starts_a_mail)

    def read_range(self, stream: BinaryIO, member: str, context: Any, extra: Any, start: int, end: int,
                   summary: dict) -> Iterator[tuple[Any, Any]]:
        limit, declared = end - start, [0]  # offsets in the range; how far the declared bodies before `end` reach

        def noting(parts: Iterator[_Part]) -> Iterator[_Part]:
            for part in parts:
                if part.start is not None and part.start < limit and part.body_end is not None:
                    declared[0] = max(declared[0], part.body_end)
                yield part

        ids = _TakenIds()
        summary["clean_end"] = False  # until a mail is seen to start exactly at `end`, with nothing declared across
        for part in _mails(noting(_parts(stream))):
            if part.start is not None and part.start >= limit:
                summary["clean_end"] = part.start == limit and declared[0] <= limit
                break
            for offset, data, problem in _flush(part):
                pointer = f"offset:{start + offset}"
                record, mail, links = (DeadLetter(member, pointer, problem), None, ()) if problem else self._record(
                    data, member, pointer, member, ids)
                taken = ids.take()
                facts = {"ids": taken, "mail": _mail_facts(mail), "links": list(links)} if taken or mail else None
                yield to_item(record), facts

    def settle(self, member: str, context: Any, extra: Any, summaries: list[dict]) -> Settler | None:
        if any("failed" in s for s in summaries) or not all(s.get("clean_end") for s in summaries[:-1]):
            return None
        return _MailboxSettler(member, sum(s["items"] for s in summaries))

    def _eml_threads(self, archive: Archive, names: list[str], archive_name: str) -> dict[str, tuple[str, dict]]:
        """{member: (thread id, conversation)} of every `.eml` file, each folder a mailbox, from their headers.
        A file that cannot be read here is left out: `read` names what is wrong with it."""
        threads: dict[str, _Threads] = {}
        members: dict[str, list[str]] = {}
        for name in sorted(names):
            folder = _eml_folder(name, archive_name)
            try:
                with archive.open(name) as fh:
                    msg = BytesHeaderParser(policy=policy.default).parsebytes(_header_block(fh))
                facts = _facts_of_headers(msg)
                if facts is None:  # no Message-ID: its id comes from its body, so it is read whole
                    with archive.open(name) as fh:
                        _, mail, links = self._record(fh.read(MAX_MESSAGE_BYTES + 1), name, "offset:0", folder,
                                                      UniqueIds())
                    if mail is None:
                        continue
                    facts = mail, links
            except Exception:  # noqa: BLE001 - `read` meets the same file and says what is wrong with it
                continue
            threads.setdefault(folder, _Threads()).add(*facts)
            members.setdefault(folder, []).append(name)
        placed: dict[str, tuple[str, dict]] = {}
        for folder, found in threads.items():
            placed.update(zip(members[folder], found.resolve(folder), strict=True))
        return placed

    def _record(self, data: bytes, member: str, pointer: str, folder: str,
                ids: UniqueIds) -> tuple[Record, _Mail | None, tuple[str, ...]]:
        """The mail as a message still without its conversation, what threading needs of it, and the ids it
        answers; or a dead letter."""
        if len(data) > MAX_MESSAGE_BYTES:
            return DeadLetter(member, pointer, f"message larger than {MAX_MESSAGE_BYTES} bytes"), None, ()
        try:
            return self._message(BytesParser(policy=policy.default).parsebytes(data), member, pointer, folder, ids)
        except DataError as exc:
            return DeadLetter(member, pointer, str(exc)), None, ()
        except PARSE_ERRORS as exc:
            return DeadLetter(member, pointer, f"unparseable message: {type(exc).__name__}: {exc}"), None, ()

    def _message(self, msg: EmailMessage, member: str, pointer: str, folder: str,
                 ids: UniqueIds) -> tuple[dict, _Mail, tuple[str, ...]]:
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
        own_id, links, in_reply_to = _links(msg)
        # A Message-ID seen twice in a mailbox (copies, resends) must not make two records one.
        message_id = ids(own_id) if own_id else ids("noid-" + content_id(raw_date, address, subject, text[:500]))
        in_trash = bool(DELETED_FOLDER.search(posixpath.basename(folder))
                        or DELETED_FOLDER.search(_header(msg, "X-Folder")))
        doc = new_message(
            platform=self.platform,
            message_id=message_id,
            text=text,
            subject=subject,
            timestamp=when,
            raw_timestamp=raw_date,
            timestamp_rule=rule,
            conversation={},  # the thread's, once the whole mailbox is known (`_place`)
            author={"id": address.lower() or name, "name": name or "unknown", "email": address or None},
            kind=_kind(msg, address),
            subtype="deleted-items-folder" if in_trash else None,
            reply_to=in_reply_to,
            deleted=in_trash,
            attachments=_attachments(msg),
            source={"path": member, "pointer": pointer, "parser": self.platform,
                    "parser_version": self.parser_version,
                    **({"charset": charset} if charset else {}),
                    **({"header_charset": ",".join(sorted(header_charsets))} if header_charsets else {})},
        )
        return doc, _mail(msg, message_id, own_id, links, subject, when, declared), links


@dataclass(slots=True)
class _Mail:
    """What threading needs of one mail; the message itself waits in the spool."""

    message_id: str
    own_id: str | None  # its Message-ID header
    linked: bool  # it names mails it answers (In-Reply-To, References)
    topic: str  # its subject without reply prefixes and list tags, case and spacing set aside
    reply: bool  # its subject says Re:, Fwd:, AW:, 回复: ...
    subject: str
    when: float
    people: frozenset[str]  # up to three of the addresses in From, To and Cc
    addressed: bool  # To or Cc names someone
    listed: bool  # sent through a mailing list


class _Threads:
    """The threads of one mailbox: union-find over message ids, then subjects where no header links."""

    def __init__(self) -> None:
        self.mails: list[_Mail] = []
        self._up: dict[str, str] = {}

    def add(self, mail: _Mail, links: tuple[str, ...]) -> None:
        self.mails.append(mail)
        node = self._node(len(self.mails) - 1)
        self._find(node)
        for link in links:
            self._union(node, link)

    def resolve(self, folder: str) -> list[tuple[str, dict]]:
        """(thread id, conversation) of every mail, in the order they were added."""
        mails = self.mails
        self._join_by_subject()
        groups: dict[str, list[int]] = {}
        for i in range(len(mails)):
            groups.setdefault(self._find(self._node(i)), []).append(i)
        placed: list[tuple[str, dict]] = [("", {})] * len(mails)
        for members in groups.values():
            # The root: its first mail that answers nothing, else its first mail.
            root = mails[min(members, key=lambda i: (mails[i].linked or mails[i].reply, mails[i].when, i))]
            conversation = {"id": mail_thread_id(folder, root.message_id),
                            "name": " ".join(REPLY_PREFIX.sub("", root.subject).split()) or NO_SUBJECT,
                            "type": _thread_type([mails[i] for i in members]), "folder": folder}
            for i in members:
                placed[i] = (root.message_id, conversation)
        return placed

    def _join_by_subject(self) -> None:
        """A reply with no header links joins the latest mail of its topic sent before it that is no reply (the
        first one if all came later); failing that, the first linked mail of its topic; failing that, the
        other such replies: the topic names their thread."""
        mails = self.mails
        by_topic: dict[str, list[int]] = {}
        for i, mail in enumerate(mails):
            if mail.topic not in NO_TOPIC:
                by_topic.setdefault(mail.topic, []).append(i)
        for members in by_topic.values():
            loose = [i for i in members if mails[i].reply and not mails[i].linked]
            if not loose:
                continue
            roots = sorted((mails[i].when, i) for i in members if not mails[i].reply and not mails[i].linked)
            linked = [i for i in members if mails[i].linked]
            fallback = min(linked, key=lambda j: (mails[j].when, j)) if linked else loose[0]
            for i in loose:
                if roots:
                    before = bisect.bisect_right(roots, (mails[i].when, len(mails)))
                    target = roots[before - 1 if before else 0][1]
                else:
                    target = fallback
                self._union(self._node(i), self._node(target))

    def _node(self, i: int) -> str:
        return self.mails[i].own_id or f"\x00{i}"  # a mail without a Message-ID stands for itself

    def _find(self, node: str) -> str:
        up = self._up
        root = up.setdefault(node, node)
        while up[root] != root:
            root = up[root]
        while up[node] != root:
            up[node], node = root, up[node]
        return root

    def _union(self, a: str, b: str) -> None:
        first, second = self._find(a), self._find(b)
        if first != second:
            self._up[max(first, second)] = min(first, second)


class _TakenIds:
    """Stands in for UniqueIds in a range: hands back each id as it is and notes it, for the settling to make
    unique over the whole mailbox in file order (a mail whose parse fails after taking its id took it too)."""

    def __init__(self) -> None:
        self._taken: list[str] = []

    def __call__(self, base: str) -> str:
        self._taken.append(base)
        return base

    def take(self) -> list[str]:
        taken, self._taken = self._taken, []
        return taken


def _mail_facts(mail: _Mail | None) -> list | None:
    if mail is None:
        return None
    return [mail.own_id, mail.linked, mail.topic, mail.reply, mail.subject, mail.when, sorted(mail.people),
            mail.addressed, mail.listed]


def _mail_of(facts: list, message_id: str) -> _Mail:
    own_id, linked, topic, reply, subject, when, people, addressed, listed = facts
    return _Mail(message_id, own_id, linked, topic, reply, subject, when, frozenset(people), addressed, listed)


class _MailboxSettler(Settler):
    """The ranges of one mbox settled as `_read_mbox` settles its spool: ids made unique and threads resolved over
    the whole mailbox in file order, then every mail placed in its thread."""

    needs_facts = True

    def __init__(self, member: str, count: int):
        self.member, self.count = member, count
        self.finals: list[str] = []
        self.placed: list[tuple[str, dict]] = []
        self.next = 0

    def facts(self, facts: Iterator[Any]) -> None:
        ids, threads = UniqueIds(), _Threads()
        for fact in facts:
            final = None
            for base in fact["ids"]:
                final = ids(base)
            if fact["mail"] is not None:
                threads.add(_mail_of(fact["mail"], final), tuple(fact["links"]))
                self.finals.append(final)
        self.placed = threads.resolve(self.member)

    def before(self) -> Iterator[Record]:
        if not self.count:
            yield DeadLetter(self.member, "offset:0", "no mail in this file: no `From ` line followed by mail headers")

    def record(self, item: Any) -> Record:
        record = from_item(item)
        if isinstance(record, dict):
            record["message"]["id"] = self.finals[self.next]
            _place(record, *self.placed[self.next])
            self.next += 1
        return record


def _starts_a_mail(line: bytes, previous: bytes | None, following: bytes | None) -> bool:
    """A `From ` line after a blank line and before a header line: the line rule starts a mail there whatever came
    before (`_opens` holds after a blank line, `_separates` with a header line after)."""
    return (previous is not None and not previous.strip() and line.startswith(b"From ")
            and following is not None and bool(HEADER_FIELD.match(following)))


def _thread_type(mails: list[_Mail]) -> str:
    """`channel` for list mail, `dm` when at most two addresses write and are written to, else `group_dm`."""
    if any(m.listed for m in mails):
        return "channel"
    people: set[str] = set()
    for mail in mails:
        if not mail.addressed:
            return "group_dm"  # who else read it is unknown
        people |= mail.people
        if len(people) > 2:
            return "group_dm"
    return "dm"


def _place(record: dict, thread_id: str, conversation: dict) -> None:
    record["conversation"] = dict(conversation)
    record["thread"] = {"id": thread_id}


def _eml_folder(member: str, archive_name: str) -> str:
    """The mailbox of an `.eml` file: its folder (the export itself for files at its top)."""
    return posixpath.dirname(member) or archive_name


def _header_block(stream: BinaryIO) -> bytes:
    """A mail's header lines, up to the blank line that ends them (at most HEADER_BYTES)."""
    out, size = [], 0
    for line in lines_of(stream):
        out.append(line)
        size += len(line)
        if not line.strip() or size > HEADER_BYTES:
            break
    return b"".join(out)


def _topic(subject: str) -> tuple[str, bool]:
    """(the subject's topic: no reply prefixes or list tags, case and spacing set aside; whether it says Re:)."""
    prefix = TOPIC_PREFIX.match(subject)
    head = prefix.group(0) if prefix else ""
    return " ".join(subject[len(head):].casefold().split()), bool(head and REPLY_IN_PREFIX.search(head))


def _links(msg: EmailMessage) -> tuple[str | None, tuple[str, ...], str | None]:
    """(its Message-ID, the ids it answers: References then In-Reply-To, the one it answers directly)."""
    own_id = _first_id(_header(msg, "Message-ID"))
    references = MESSAGE_ID.findall(_header(msg, "References"))
    in_reply_to = _first_id(_header(msg, "In-Reply-To")) or (references[-1] if references else None)
    links = tuple(i for i in dict.fromkeys([*references, *([in_reply_to] if in_reply_to else [])]) if i != own_id)
    return own_id, links, in_reply_to


def _mail(msg: EmailMessage, message_id: str, own_id: str | None, links: tuple[str, ...], subject: str,
          when: float, declared: str | None) -> _Mail:
    topic, reply = _topic(subject)
    people: set[str] = set()
    addressed = False
    for field_name in ("From", "To", "Cc"):
        written = ""
        try:
            written = _header(msg, field_name, declared)
            found = email.utils.getaddresses([written]) if written else []
        except PARSE_ERRORS:  # an unreadable recipient list still says someone was written to
            found = [("", written or field_name)]
        for name, address in found:
            who = (address or name).strip().lower()
            if not who:
                continue
            addressed = addressed or field_name != "From"
            if len(people) < 3:
                people.add(who)
    return _Mail(message_id, own_id, bool(links), topic, reply, subject, when, frozenset(people), addressed,
                 any(msg.get(h) for h in LIST_HEADERS))


def _facts_of_headers(msg: EmailMessage) -> tuple[_Mail, tuple[str, ...]] | None:
    """What threading needs of an `.eml` file, from its headers alone; None when it has no Message-ID (its
    message id is then made from its body)."""
    if not any(msg.get(h) for h in ("From", "Date", "Message-ID", "Subject")):
        raise DataError("no mail headers")
    own_id, links, _ = _links(msg)
    if own_id is None:
        return None
    when, _, _ = _sent_time(msg)
    declared = msg.get_content_charset()
    subject = _header(msg, "Subject", declared)
    return _mail(msg, own_id, own_id, links, subject, when, declared), links


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
    for part in _mails(_parts(stream)):
        yield from _flush(part)


def _mails(parts: Iterator[_Part]) -> Iterator[_Part]:
    """The parts of the line rule, those inside a declared Content-Length joined to the mail declaring it."""
    ahead: deque[_Part] = deque()
    while (part := ahead.popleft() if ahead else next(parts, None)) is not None:
        if part.body_end is not None and part.body_end > part.end:
            while (len(ahead) <= MAX_INNER_PARTS and (not ahead or ahead[-1].end <= part.body_end + 2)
                   and (more := next(parts, None)) is not None):
                ahead.append(more)
            inside = _inside_length(part, ahead)
            for _ in range(inside):
                part = _joined(part, ahead.popleft())
        yield part


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
