import io
import json
import shutil

import pytest

from pipelines.archive import Archive
from pipelines.ingest import detect
from pipelines.ingest.mbox import MboxReader
from tests.export_checks import EXPORTS, as_zip, read_export
from tests.readers import scan_counts

MAIL = EXPORTS / "email"
ENRON = {"enron.haedicke-m.sent": 988, "enron.scott-s.sent": 937, "enron.skilling-j.sent": 276,
         "enron.lay-k.sent": 266, "enron.martin-t.deleted_items": 205, "enron.sanders-r.senator_dunn_inv_": 89}


def by_subject(messages):
    return {m["message"]["text"].split("\n", 1)[0]: m for m in messages}


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
    assert root["message"]["text"] == ("Fine-tune data\n\nwe have 40k completions from the teacher model\n"
                                       "From here on, keep it quiet.")  # mboxrd ">From " unquoted
    assert root["thread"]["id"] == "<root-1@example.com>"
    assert reply["reply_to"] == "<root-1@example.com>" and reply["thread"]["id"] == "<root-1@example.com>"
    assert reply["author"] == {"id": "bob@example.com", "name": "Bob Diaz", "email": "Bob@Example.com"}
    assert "café talk: scrub the vendor name before the audit \ufffd" in reply["message"]["text"]
    assert html["message"]["text"] == "Menu\n\nCafé & résumé\nline two"
    assert html["@timestamp"] == "2000-09-26T08:00:00.000Z"
    assert attach["thread"]["id"] == "<root-1@example.com>"  # no References: joins the root by subject
    assert html["thread"]["id"] == "<html-3@example.com>" and received["thread"]["id"] == "subject:no date header"
    assert attach["attachments"] == [{"name": "report.pdf", "type": "application/pdf", "size": 13}]
    assert attach["timestamp"]["rule"] == "date-header-without-zone-assumed-utc"
    assert attach["message"]["id"].startswith("noid-")
    assert received["timestamp"]["rule"] == "no-date-header-used-received"
    assert received["@timestamp"] == "2000-09-28T12:00:00.000Z" and received["message"]["kind"] == "bot"
    assert {m["conversation"]["id"] for m in messages} == {"inbox"}


def test_eml_folder_and_zip(tmp_path):
    _, messages, _, dead = read_export(MAIL / "eml")
    assert dead == [] and len(messages) == 2
    a, b = messages
    assert a["conversation"] == {"id": "Project", "name": "Project", "type": "mailbox"}
    assert b["thread"]["id"] == a["thread"]["id"] == "<eml-1@example.com>"
    assert b["message"]["text"] == "Re: Offsite\n\nthanks"  # unknown charset read as UTF-8
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
    assert messages[0]["message"]["text"] == "mail 1\n\nfirst"
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
    assert all(m["message"]["text"] == f"mail {n}\n\n{body.rstrip()}" for n, m in enumerate(messages, 1))
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
    assert messages[0]["message"]["text"] == f"mail 1\n\n{body.rstrip()}"


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
    assert eudora["message"]["text"] == "Fr\u00f6sche im Teich\n\neinst \u00fcber den Berg"
    assert eudora["author"]["name"] == "J\u00f6rg M\u00fcller"
    assert (eudora["source"]["charset"], eudora["source"]["header_charset"]) == ("windows-1252", "windows-1252")
    # Latin-1 labels on Windows text: the C1 bytes are quotes, not control characters.
    assert outlook["message"]["text"] == "Gr\u00fc\u00dfe\n\n\u201cgel\u00f6scht\u201d, sagt sie"
    assert (outlook["source"]["charset"], outlook["source"]["header_charset"]) == ("windows-1252", "iso-8859-1")
    # UTF-8 that decodes strictly is UTF-8, whatever the label says.
    assert utf8["message"]["text"] == "caf\u00e9\n\nna\u00efve"
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
    counts = {}
    for m in messages:
        counts[m["conversation"]["name"]] = counts.get(m["conversation"]["name"], 0) + 1
    assert counts == ENRON and len(messages) == 2761  # the six counts sum to 2,761
    first = messages[0]
    assert first["source"] == {"path": "enron.haedicke-m.sent", "pointer": "offset:0", "parser": "mbox",
                               "parser_version": "1.1", "charset": "us-ascii"}
    assert all(m["@timestamp"] < "2003" for m in messages)  # Date headers, never the 2022 From lines
    lay = next(m for m in messages if m["message"]["id"] == "<32517802.1075840279763.JavaMail.evans@thyme>")
    assert lay["@timestamp"] == "2000-09-25T10:39:00.000Z" and lay["author"]["name"] == "Rosalee Fleming"
    deleted = [m for m in messages if m["message"]["deleted"]]
    assert len(deleted) == 205 and {m["conversation"]["name"] for m in deleted} == {"enron.martin-t.deleted_items"}


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
