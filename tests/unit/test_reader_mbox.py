import hashlib
import io
import json
import shutil
import tempfile

import pytest

from pipelines.archive import Archive
from pipelines.ingest import detect, mbox
from pipelines.ingest.mbox import MboxReader
from tests.helpers.readers import EXPORTS, as_zip, read_export, scan_counts

MAIL = EXPORTS / "email"
ENRON = {"enron.haedicke-m.sent": 988, "enron.scott-s.sent": 937, "enron.skilling-j.sent": 276,
         "enron.lay-k.sent": 266, "enron.martin-t.deleted_items": 205, "enron.sanders-r.senator_dunn_inv_": 89}
ENRON_THREADS = {"enron.haedicke-m.sent": 885, "enron.scott-s.sent": 767, "enron.skilling-j.sent": 222,
                 "enron.lay-k.sent": 241, "enron.martin-t.deleted_items": 195, "enron.sanders-r.senator_dunn_inv_": 71}


def test_mbox_counts_offsets_and_dead_letters():
    reader, messages, merged, dead = read_export(MAIL / "mbox")
    assert isinstance(reader, MboxReader)
    assert (len(messages), len(merged), len(dead)) == (5, 0, 2)
    assert [m["source"]["pointer"] for m in messages] == [f"offset:{n}" for n in (0, 360, 753, 1126, 1534)]
    assert [d.reason for d in dead] == ["no mail headers",
                                        "no usable Date header ('') and no dated Received header"]
    assert all(d.pointer.startswith("offset:") for d in dead)


def test_threads_dates_bodies_and_attachments():
    _, messages, _, _ = read_export(MAIL / "mbox")
    root, reply, html, attach, received = messages
    assert root["message"]["id"] == "<root-1@example.com>"
    assert root["@timestamp"] == "2000-09-25T10:39:00.000Z"
    assert root["timestamp"] == {"raw": "Mon, 25 Sep 2000 03:39:00 -0700 (PDT)", "epoch": 969878340.0}
    assert root["message"]["text"] == ("we have 40k completions from the teacher model\n"
                                       "From here on, keep it quiet.")  # mboxrd ">From " unquoted
    assert root["message"]["subject"] == "Fine-tune data"  # its own field, never in the text
    assert root["thread"]["id"] == "<root-1@example.com>"
    assert reply["reply_to"] == "<root-1@example.com>" and reply["thread"]["id"] == "<root-1@example.com>"
    assert reply["author"] == {"id": "bob@example.com", "name": "Bob Diaz", "email": "Bob@Example.com"}
    assert "café talk: scrub the vendor name before the audit \ufffd" in reply["message"]["text"]
    assert html["message"]["text"] == "Café & résumé\nline two" and html["message"]["subject"] == "Menu"
    assert html["@timestamp"] == "2000-09-26T08:00:00.000Z"
    assert attach["thread"]["id"] == "<root-1@example.com>"  # no References: joins the root by subject
    assert html["thread"]["id"] == "<html-3@example.com>"
    assert received["thread"]["id"] == received["message"]["id"]  # no Message-ID, no links: a thread of its own
    assert attach["attachments"] == [{"name": "report.pdf", "type": "application/pdf", "size": 13}]
    assert attach["timestamp"]["rule"] == "date-header-without-zone-assumed-utc"
    assert attach["message"]["id"].startswith("noid-")
    assert received["timestamp"]["rule"] == "no-date-header-used-received"
    assert received["@timestamp"] == "2000-09-28T12:00:00.000Z" and received["message"]["kind"] == "bot"
    # The conversation is the thread, named by its root's subject; the mailbox file is its folder.
    fine_tune = root["conversation"]
    assert fine_tune["name"] == "Fine-tune data" and fine_tune["folder"] == "inbox"
    assert fine_tune["id"].startswith("thread-") and fine_tune["type"] == "group_dm"  # alice, bob, dave
    assert reply["conversation"] == attach["conversation"] == fine_tune
    assert html["conversation"]["name"] == "Menu" and received["conversation"]["name"] == "no date header"
    assert len({m["conversation"]["id"] for m in messages}) == 3
    assert all(m["conversation"]["folder"] == "inbox" for m in messages)


def test_eml_folder_and_zip(tmp_path):
    _, messages, _, dead = read_export(MAIL / "eml")
    assert dead == [] and len(messages) == 2
    a, b = messages
    assert a["conversation"] == b["conversation"]  # one thread across two files of one folder
    # No To or Cc: who else read it is unknown, so not a dm.
    assert {k: v for k, v in a["conversation"].items() if k != "id"} == {"name": "Offsite", "type": "group_dm",
                                                                          "folder": "Project"}
    assert b["thread"]["id"] == a["thread"]["id"] == "<eml-1@example.com>"
    assert (b["message"]["subject"], b["message"]["text"]) == ("Re: Offsite", "thanks")  # unknown charset: UTF-8
    reader, zipped, _, _ = read_export(as_zip(MAIL / "eml", tmp_path))
    assert isinstance(reader, MboxReader) and [m["message"]["id"] for m in zipped] == ["<eml-1@example.com>",
                                                                                       "<eml-2@example.com>"]
    _, mbox_zip, _, dead = read_export(as_zip(MAIL / "mbox", tmp_path))
    assert len(mbox_zip) == 5 and len(dead) == 2


def test_same_input_same_ids():
    first = [m["message"]["id"] for m in read_export(MAIL / "mbox")[1]]
    assert first == [m["message"]["id"] for m in read_export(MAIL / "mbox")[1]]


def test_detection_is_specific():
    assert detect(Archive(MAIL / "mbox")).platform == "mbox"
    assert MboxReader.match(Archive(EXPORTS / "telegram" / "single")) == 0


def read_bytes(data: bytes, member: str = "box.mbox"):
    """(messages, dead letters) of one mailbox given as bytes, read the way the pipeline reads a unit."""
    records = list(MboxReader().read(io.BytesIO(data), member, {}))
    return [r for r in records if isinstance(r, dict)], [r for r in records if not isinstance(r, dict)]


def mail(n: int, extra: str = "", body: str = "hello\n", sender: str = "x@example.com") -> str:
    return (f"Message-ID: <m{n}@example.com>\nDate: Mon, 2 Jan 2023 0{n}:00:00 +0000\nFrom: P{n} <{sender}>\n"
            f"Subject: mail {n}\n{extra}\n{body}")


def test_bare_separator_right_after_a_closing_boundary_starts_a_mail():
    # Netscape folders put `From - ` straight after the last MIME boundary: no blank line, no date.
    multipart = mail(1, 'Content-Type: multipart/mixed; boundary="b1"\n',
                     "--b1\nContent-Type: text/plain\n\nfirst\n--b1--\n")
    # A dashed line that closes no declared boundary is only text: a `From ` line after it stays in the body.
    quoted = mail(3, body="see below\n-----Original Message-----\nFrom Alice\nSent: Monday\n")
    messages, dead = read_bytes(f"From - \n{multipart}From - \n{mail(2)}\nFrom - \n{quoted}".encode())
    assert dead == []
    assert [m["message"]["id"] for m in messages] == ["<m1@example.com>", "<m2@example.com>", "<m3@example.com>"]
    assert messages[0]["message"]["text"] == "first"
    assert messages[2]["message"]["text"].endswith("-----Original Message-----\nFrom Alice\nSent: Monday")


def test_content_length_keeps_a_body_line_starting_with_from_in_its_mail():
    body = "my plan:\n\nFrom now on: we clean the logs\nTo: nobody: it stays here\n"
    length = f"Content-Length: {len(body)}\n"
    # mboxcl2 counts the body and leaves out the blank line before the next `From `; Netscape counts the body
    # without its last line break and needs no blank line.
    cl2 = "From a@example.com Mon Jan  2 01:00:00 2023\n" + mail(1, length, body) + "\n"
    netscape = "From - \n" + mail(2, f"Content-Length: {len(body) - 1}\n", body)
    last = "From - \n" + mail(3, length, body)  # the length ends the file
    messages, dead = read_bytes((cl2 + netscape + last).encode())
    assert dead == [] and len(messages) == 3
    assert all(m["message"]["text"] == body.rstrip() for m in messages)
    assert messages[1]["source"]["pointer"] == f"offset:{len(cl2)}"


def test_a_wrong_content_length_never_swallows_a_mail():
    body = "note\n\nFrom here on: nothing\nTo: all\n"
    too_long = "From - \n" + mail(1, "Content-Length: 9999\n", body) + "\n"  # no separator where it ends
    too_short = "From - \n" + mail(2, "Content-Length: 3\n") + "\n"
    messages, dead = read_bytes((too_long + too_short + "From - \n" + mail(3)).encode())
    # The line rule stands: the `From here on` line looks like a mail and is read as one (a dead letter here),
    # never silently merged, and the mails after the lengths are all read.
    assert [m["message"]["id"] for m in messages] == ["<m1@example.com>", "<m2@example.com>", "<m3@example.com>"]
    assert [d.reason for d in dead] == ["no mail headers"]


def test_a_from_line_in_a_paragraph_is_body_text():
    body = "first paragraph\n\nFrom what I hear, Friday.\n\nbye\n"
    messages, dead = read_bytes(f"From - \n{mail(1, body=body)}\nFrom - \n{mail(2)}".encode())
    assert dead == [] and len(messages) == 2
    assert messages[0]["message"]["text"] == body.rstrip()


def test_latin1_subject_name_and_body_without_charset_are_decoded():
    # Eudora and Outlook 2000 sent raw 8-bit Latin-1 with no charset anywhere.
    raw = (b"From - Mon Jan  2 10:00:00 2023\nMessage-ID: <l1@example.com>\nDate: Mon, 2 Jan 2023 10:00:00 +0100\n"
           b"From: J\xf6rg M\xfcller <j@example.de>\nSubject: Fr\xf6sche im Teich\n\neinst \xfcber den Berg\n\n"
           b"From - Mon Jan  2 11:00:00 2023\nMessage-ID: <l2@example.com>\nDate: Mon, 2 Jan 2023 11:00:00 +0100\n"
           b"From: Ana <a@example.com>\nSubject: Gr\xfc\xdfe\nContent-Type: text/plain; charset=iso-8859-1\n\n"
           b"\x93gel\xf6scht\x94, sagt sie\n\n"
           b"From - Mon Jan  2 12:00:00 2023\nMessage-ID: <l3@example.com>\nDate: Mon, 2 Jan 2023 12:00:00 +0100\n"
           b"From: Bo <b@example.com>\nSubject: caf\xc3\xa9\nContent-Type: text/plain; charset=us-ascii\n\n"
           b"na\xc3\xafve\n")
    messages, dead = read_bytes(raw)
    assert dead == [] and len(messages) == 3
    eudora, outlook, utf8 = messages
    assert (eudora["message"]["subject"], eudora["message"]["text"]) == ("Fr\u00f6sche im Teich",
                                                                       "einst \u00fcber den Berg")
    assert eudora["author"]["name"] == "J\u00f6rg M\u00fcller"
    assert (eudora["source"]["charset"], eudora["source"]["header_charset"]) == ("windows-1252", "windows-1252")
    # Latin-1 labels on Windows text: the C1 bytes are quotes, not control characters.
    assert (outlook["message"]["subject"], outlook["message"]["text"]) == ("Gr\u00fc\u00dfe",
                                                                         "\u201cgel\u00f6scht\u201d, sagt sie")
    assert (outlook["source"]["charset"], outlook["source"]["header_charset"]) == ("windows-1252", "iso-8859-1")
    # UTF-8 that decodes strictly is UTF-8, whatever the label says.
    assert (utf8["message"]["subject"], utf8["message"]["text"]) == ("caf\u00e9", "na\u00efve")
    assert (utf8["source"]["charset"], utf8["source"]["header_charset"]) == ("utf-8", "utf-8")
    assert all("\ufffd" not in m["message"]["text"] for m in messages)


def test_declared_charsets_win_and_are_recorded():
    _, messages, _, _ = read_export(MAIL / "mbox")
    root, reply, html, _, _ = messages
    assert [m["source"]["charset"] for m in (root, reply, html)] == ["us-ascii", "utf-8", "iso-8859-1"]
    assert "header_charset" not in root["source"]  # only raw 8-bit headers need one


@pytest.mark.parametrize("folder, forced", [("mbox-txt", "auto"), ("mbox-txt", "mbox"), ("pipermail", "auto"),
                                            ("pipermail", "mbox")])
def test_txt_mailboxes_are_known_by_their_content(folder, forced):
    reader, messages, merged, dead = read_export(MAIL / folder, forced)
    assert isinstance(reader, MboxReader) and dead == [] and merged == []
    if folder == "mbox-txt":
        assert [(m["author"]["name"], m["@timestamp"]) for m in messages] == [
            ("Carol Evans", "2023-03-01T09:00:00.000Z"), ("Dan Okafor", "2023-03-01T09:30:00.000Z")]
        return
    # Mailman's archive writes addresses as `jdoe at example.org`; a body line `From what I heard` stays text.
    assert [(m["author"]["email"], m["author"]["name"], m["@timestamp"]) for m in messages] == [
        ("jdoe@example.org", "John Doe", "2023-01-02T08:15:02.000Z"),
        ("asmith@example.org", "Alice Smith", "2023-01-02T10:01:44.000Z"),
        ("jdoe@example.org", "John Doe", "2023-01-03T07:00:00.000Z")]
    assert messages[1]["message"]["text"].endswith("From what I heard, Friday.")
    assert {m["thread"]["id"] for m in messages} == {"<rel-1@example.org>"}
    assert {m["conversation"]["name"] for m in messages} == {"[ml-list] Release schedule"}


def test_whatsapp_txt_is_still_whatsapp(tmp_path):
    chat = EXPORTS / "whatsapp" / "android" / "WhatsApp Chat with Project X.txt"
    assert MboxReader.match(Archive(chat.parent)) == 0
    # Beside a `.txt` mailbox, a chat export still wins: the text mailbox scores below any WhatsApp chat.
    shutil.copy(chat, tmp_path / "chat.txt")
    shutil.copy(MAIL / "mbox-txt" / "list.mbox.txt", tmp_path)
    assert detect(Archive(tmp_path)).platform == "whatsapp"
    assert detect(Archive(MAIL / "mbox-txt")).platform == "mbox"


def test_a_file_handed_over_with_no_mail_gets_a_dead_letter():
    messages, dead = read_bytes(b"")
    assert messages == [] and [d.reason for d in dead] == [
        "no mail in this file: no `From ` line followed by mail headers"]


@pytest.mark.realdata
def test_enron_counts_and_pacific_dates(realdata):
    folder = realdata / "enron-mbox-subset" / "MailDir_to_MBOX" / "enron"
    reader, messages, merged, dead = read_export(folder)
    assert isinstance(reader, MboxReader) and dead == [] and merged == []
    counts, threads = {}, {}
    for m in messages:
        counts[m["conversation"]["folder"]] = counts.get(m["conversation"]["folder"], 0) + 1
        threads.setdefault(m["conversation"]["folder"], set()).add(m["conversation"]["id"])
    assert counts == ENRON and len(messages) == 2761  # the six counts sum to 2,761
    # Enron mails carry no In-Reply-To or References: threads come from subjects ("RE: ..." joins its topic).
    assert {folder: len(ids) for folder, ids in threads.items()} == ENRON_THREADS
    assert all(not m["reply_to"] and "subject" in m["message"] for m in messages)
    first = messages[0]
    assert first["source"] == {"path": "enron.haedicke-m.sent", "pointer": "offset:0", "parser": "mbox",
                               "parser_version": "1.2", "charset": "us-ascii"}
    assert all(m["@timestamp"] < "2003" for m in messages)  # Date headers, never the 2022 From lines
    lay = next(m for m in messages if m["message"]["id"] == "<32517802.1075840279763.JavaMail.evans@thyme>")
    assert lay["@timestamp"] == "2000-09-25T10:39:00.000Z" and lay["author"]["name"] == "Rosalee Fleming"
    deleted = [m for m in messages if m["message"]["deleted"]]
    assert len(deleted) == 205 and {m["conversation"]["folder"] for m in deleted} == {"enron.martin-t.deleted_items"}


@pytest.fixture(scope="module")
def enron_scan(realdata, tmp_path_factory):
    """One whole CLI run over the six Enron mailboxes (minutes on two cores), shared by the checks below."""
    out = tmp_path_factory.mktemp("enron")
    counts = scan_counts(realdata / "enron-mbox-subset" / "MailDir_to_MBOX" / "enron", out)
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines() if line]
    return counts, hits


@pytest.mark.realdata
def test_enron_scan_counts(enron_scan):
    counts, _ = enron_scan
    assert {k: counts[k] for k in ("records", "messages", "merged", "malformed")} == {
        "records": 2761, "messages": 2761, "merged": 0, "malformed": 0}


@pytest.mark.realdata
def test_enron_retention_talk_stays_quiet(enron_scan):
    # Document-retention talk and "destroy all copies" disclaimers concern no third-party API.
    _, hits = enron_scan
    loud = [(h["detection"]["severity"], h["detection"]["rules"]) for h in hits
            if h["detection"]["severity"] in ("medium", "high")]
    assert loud == []


# -- threads: the conversation of a mail is its thread, the mailbox file is its folder -------------------------

def thread_mail(mid: str, subject: str, hour: int, links: str = "", sender: str = "ana@example.com",
                to: str = "bo@example.com", body: str = "") -> str:
    """One mbox entry; `links` are header lines (In-Reply-To, References, List-Id)."""
    return (f"From {sender} Mon Jan  2 00:00:00 2023\nMessage-ID: <{mid}@example.com>\n{links}"
            f"Date: Mon, 2 Jan 2023 {hour:02d}:00:00 +0000\nFrom: {sender}\n" + (f"To: {to}\n" if to else "")
            + f"Subject: {subject}\n\n{body or 'about ' + mid}\n\n")


def conversations(messages) -> dict[str, list[str]]:
    """{conversation name: ids of its messages, in file order}."""
    found: dict[str, list[str]] = {}
    for m in messages:
        found.setdefault(m["conversation"]["name"], []).append(m["message"]["id"].strip("<>").split("@")[0])
    return found


def test_unrelated_threads_in_one_mailbox_are_two_conversations():
    box = (thread_mail("a1", "Budget 2024", 1) + thread_mail("b1", "Fine-tune data", 2, body="40k teacher rows")
           + thread_mail("a2", "Re: Budget 2024", 3, "In-Reply-To: <a1@example.com>\n")
           + thread_mail("b2", "RE: Fine-tune data", 4, "References: <b1@example.com>\n"))
    messages, dead = read_bytes(box.encode(), member="mail/wei.zhang.mbox")
    assert dead == []
    assert conversations(messages) == {"Budget 2024": ["a1", "a2"], "Fine-tune data": ["b1", "b2"]}
    budget, fine_tune = messages[0]["conversation"], messages[1]["conversation"]
    assert budget["id"] != fine_tune["id"]
    assert budget["folder"] == fine_tune["folder"] == "mail/wei.zhang.mbox"  # the mailbox is where, not what
    assert all(m["conversation"]["name"] != "wei.zhang.mbox" for m in messages)
    # The subject is its own field: the text is the body only.
    assert [(m["message"]["subject"], m["message"]["text"]) for m in messages[1::2]] == [
        ("Fine-tune data", "40k teacher rows"), ("RE: Fine-tune data", "about b2")]
    assert all("Budget" not in m["message"]["text"] and "Fine-tune" not in m["message"]["text"] for m in messages)
    assert [(m["thread"]["id"], m["reply_to"]) for m in messages] == [
        ("<a1@example.com>", None), ("<b1@example.com>", None), ("<a1@example.com>", "<a1@example.com>"),
        ("<b1@example.com>", "<b1@example.com>")]


def test_a_reply_chain_is_one_conversation_whatever_the_filing_order():
    # The newest reply is filed first, the root last; c4 names only its parent, and c3's References skip c2.
    box = (thread_mail("c3", "Re: Re: Plan", 3, "References: <c1@example.com>\nIn-Reply-To: <c2@example.com>\n")
           + thread_mail("c4", "Re: Plan", 4, "In-Reply-To: <c3@example.com>\n")
           + thread_mail("c2", "Re: Plan", 2, "In-Reply-To: <c1@example.com>\n")
           + thread_mail("x1", "Lunch", 5)
           + thread_mail("c1", "Plan", 1))
    messages, dead = read_bytes(box.encode())
    assert dead == [] and conversations(messages) == {"Plan": ["c3", "c4", "c2", "c1"], "Lunch": ["x1"]}
    plan = [m for m in messages if m["conversation"]["name"] == "Plan"]
    assert {m["thread"]["id"] for m in plan} == {"<c1@example.com>"}  # the root, though it comes last
    assert [m["reply_to"] for m in plan] == ["<c2@example.com>", "<c3@example.com>", "<c1@example.com>", None]
    # A chain whose root is not in the mailbox is still one thread, named by its first mail without the Re:.
    orphans = (thread_mail("d3", "Re: Plan B", 8, "In-Reply-To: <d2@example.com>\n")
               + thread_mail("d2", "RE: Plan B", 7, "In-Reply-To: <gone@example.com>\n"))
    messages, _ = read_bytes(orphans.encode())
    assert conversations(messages) == {"Plan B": ["d3", "d2"]} and messages[0]["thread"]["id"] == "<d2@example.com>"


def test_subjects_join_only_mails_without_header_links():
    box = (thread_mail("w1", "Weekly report", 1) + thread_mail("w2", "Weekly report", 5)  # two mails, two threads
           + thread_mail("r6", "RE:  weekly   REPORT", 6) + thread_mail("r2", "AW: Weekly report", 2)
           + thread_mail("f7", "Fwd: [team] Re: Weekly report", 7) + thread_mail("z9", "回复：Weekly report", 9)
           + thread_mail("l8", "Re: Weekly report", 8, "In-Reply-To: <elsewhere@example.com>\n")  # linked: stays
           + thread_mail("n1", "Re: (no subject)", 1) + thread_mail("n2", "Re: (no subject)", 2))
    messages, _ = read_bytes(box.encode())
    by_mail = {m["message"]["id"].strip("<>").split("@")[0]: m for m in messages}
    thread = {name: m["thread"]["id"].strip("<>").split("@")[0] for name, m in by_mail.items()}
    # A reply joins the latest mail of its topic sent before it: r2 the first report, r6, f7 and z9 the second.
    assert thread == {"w1": "w1", "w2": "w2", "r6": "w2", "r2": "w1", "f7": "w2", "z9": "w2", "l8": "l8",
                      "n1": "n1", "n2": "n2"}
    assert by_mail["r6"]["conversation"] == by_mail["w2"]["conversation"] != by_mail["w1"]["conversation"]
    assert by_mail["l8"]["conversation"]["name"] == "Weekly report"  # its own thread, named without the Re:


def test_replies_without_their_root_share_the_topic_thread():
    box = thread_mail("s1", "Re: Offsite", 1) + thread_mail("s2", "RE: offsite", 3) + thread_mail("s3", "Offsite?", 2)
    messages, _ = read_bytes(box.encode())
    assert conversations(messages) == {"Offsite": ["s1", "s2"], "Offsite?": ["s3"]}


def test_conversation_types_dm_group_and_list():
    box = (thread_mail("p1", "Two of us", 1, to="bo@example.com")
           + thread_mail("p2", "Re: Two of us", 2, "In-Reply-To: <p1@example.com>\n", sender="bo@example.com",
                         to="Ana <ANA@example.com>")
           + thread_mail("g1", "Three of us", 3, to="bo@example.com, cy@example.com")
           + thread_mail("u1", "Who knows", 4, to="")
           + thread_mail("l1", "List talk", 5, "List-Id: <ml.example.com>\n"))
    messages, _ = read_bytes(box.encode())
    assert [m["conversation"]["type"] for m in messages] == ["dm", "dm", "group_dm", "group_dm", "channel"]


def test_thread_ids_are_stable_and_kept_apart_by_mailbox():
    box = (thread_mail("a1", "Budget", 1)
           + thread_mail("a2", "Re: Budget", 2, "In-Reply-To: <a1@example.com>\n")).encode()
    first, again, other = read_bytes(box, "inbox"), read_bytes(box, "inbox"), read_bytes(box, "archive/inbox")
    ids = [m["conversation"]["id"] for m in first[0]]
    assert ids == [m["conversation"]["id"] for m in again[0]] and len(set(ids)) == 1
    # The same mails filed in another mailbox are another conversation there, so their hits never share an id.
    assert {m["conversation"]["id"] for m in other[0]}.isdisjoint(ids)
    assert [m["thread"]["id"] for m in other[0]] == [m["thread"]["id"] for m in first[0]]


def test_a_mailbox_bigger_than_the_spool_memory_goes_through_a_file(monkeypatch):
    spools, real = [], tempfile.SpooledTemporaryFile

    def spool(max_size):
        spools.append(real(max_size))
        return spools[-1]

    monkeypatch.setattr(mbox, "SPOOL_MEMORY", 64)
    monkeypatch.setattr(mbox.tempfile, "SpooledTemporaryFile", spool)
    box = "".join(thread_mail(f"m{i}", f"Re: topic {i % 3}", i % 24) for i in range(40))
    messages, dead = read_bytes((box + "From nobody Mon Apr 18 14:20:57 2022\nnot a mail\n").encode())
    assert spools[0]._rolled  # the parsed mails went to a temporary file
    assert len(messages) == 40 and [d.reason for d in dead] == ["no mail headers"]
    assert len({m["conversation"]["id"] for m in messages}) == 3


def test_eml_files_of_a_folder_are_threaded_up_front(tmp_path):
    def eml(path: str, mid: str, subject: str, hour: int, links: str = "") -> None:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(thread_mail(mid, subject, hour, links).split("\n", 1)[1])  # no `From ` line

    eml("Inbox/1.eml", "e3", "Re: Plan", 3, "In-Reply-To: <e2@example.com>\n")  # read first, its parent later
    eml("Inbox/2.eml", "e2", "Re: Plan", 2, "In-Reply-To: <e1@example.com>\n")
    eml("Inbox/3.eml", "e1", "Plan", 1)
    eml("Inbox/4.eml", "e4", "Re: plan", 4)  # no links: joins by its subject
    eml("Inbox/5.eml", "e5", "Other", 5)
    eml("Sent/1.eml", "e6", "Re: Plan", 6, "In-Reply-To: <e1@example.com>\n")  # another mailbox
    _, messages, _, dead = read_export(tmp_path)
    assert dead == []
    by_mail = {m["message"]["id"].strip("<>").split("@")[0]: m["conversation"] for m in messages}
    plan = by_mail["e1"]
    assert plan["name"] == "Plan" and plan["folder"] == "Inbox"
    assert by_mail["e2"] == by_mail["e3"] == by_mail["e4"] == plan
    assert by_mail["e5"]["name"] == "Other" and by_mail["e5"]["id"] != plan["id"]
    assert by_mail["e6"]["folder"] == "Sent" and by_mail["e6"]["id"] != plan["id"]


# -- through the whole scan: cases name the thread, reports show its folder and each mail's subject ------------

CONCEALMENT_THREADS = (
    thread_mail("b1", "Budget 2024", 9, to="wei.zhang@example.com", body="Can you send the Q3 numbers by Friday?")
    # The vendor is named in the subject only: the thread's first mail is read with its subject.
    + thread_mail("f1", "GPT-4 outputs for the fine-tune", 10, to="wei.zhang@example.com, bo@example.com",
                  body="Strip the provenance from them and relabel them as our own human-labelled data.")
    + thread_mail("f2", "RE: GPT-4 outputs for the fine-tune (cc bo.li@example.com)", 11,
                  "References: <f1@example.com>\n", sender="wei.zhang@example.com",
                  to="ana@example.com, bo@example.com",
                  body="ok, I will scrub the OpenAI request ids from the logs too so nobody can trace it.")
    + thread_mail("b2", "Re: Budget 2024", 12, "In-Reply-To: <b1@example.com>\n", sender="wei.zhang@example.com",
                  body="Sure, attached tomorrow."))


def test_a_mail_case_is_named_by_its_thread_and_shows_folder_and_subjects(tmp_path):
    (tmp_path / "export" / "mail").mkdir(parents=True)
    (tmp_path / "export" / "mail" / "wei.zhang.mbox").write_text(CONCEALMENT_THREADS)
    out = tmp_path / "out"
    assert scan_counts(tmp_path / "export", out)["cases"] == 1
    case = json.loads((out / "cases.jsonl").read_text())
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    assert case["conversation"]["name"] == "GPT-4 outputs for the fine-tune"
    assert case["conversation"]["folder"] == "mail/wei.zhang.mbox" and case["conversation"]["type"] == "group_dm"
    assert 'mail "GPT-4 outputs for the fine-tune"' in case["title"] and "wei.zhang.mbox" not in case["title"]
    assert case["summary"].startswith('High-severity case in the mail thread "GPT-4 outputs for the fine-tune" '
                                      "(mail/wei.zhang.mbox, mbox)")
    # Message-IDs are address-shaped: masked like every label, deterministically, so they still join.
    f1, f2 = (f"<<EMAIL_ADDRESS>>#{hashlib.sha256(i.encode()).hexdigest()[:8]}"
              for i in ("<f1@example.com>", "<f2@example.com>"))
    assert sorted(h["message"]["id"] for h in hits) == sorted([f1, f2])
    for hit in hits:
        assert "GPT-4 outputs" not in hit["message"]["text"] and "fine-tune" in hit["message"]["subject"]
        for m in hit["detection"]["matches"]:  # every span points into the field it was found in
            assert hit["message"][m.get("field", "text")][m["start"]:m["end"]] == m["term"]
    root = next(h for h in hits if h["message"]["id"] == f1)
    reply = next(h for h in hits if h["message"]["id"] == f2)
    assert reply["reply_to"] == reply["thread"]["id"] == root["thread"]["id"] == f1
    assert ("api.vendor_openai", "GPT-4") in {(m["rule"], m["term"]) for m in root["detection"]["matches"]
                                              if m.get("field") == "subject"}
    assert not any(m.get("field") for m in reply["detection"]["matches"])  # a reply's "RE: ..." is not read
    assert reply["message"]["subject"] == "RE: GPT-4 outputs for the fine-tune (cc <EMAIL_ADDRESS>)"  # redacted
    page = (out / case["report"]["path"]).read_text()
    assert '<dd class="folder"><code>mail/wei.zhang.mbox</code></dd>' in page
    assert page.count('<span class="label">Subject:</span>') == 4  # in the timeline and with each flagged mail
    assert 'Subject:</span> <mark title="api.vendor_openai (THIRD_PARTY_API)">GPT-4</mark>' in page  # marked there
