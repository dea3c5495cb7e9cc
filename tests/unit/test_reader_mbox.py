import json

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
                               "parser_version": "1.0"}
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
