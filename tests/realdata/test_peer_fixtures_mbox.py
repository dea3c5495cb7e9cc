"""Mailboxes from MimeKit's own tests (Netscape 1996-97, Gmail Takeout style), read with their known counts."""

import pytest

from pipelines.ingest.mbox import MboxReader
from tests.helpers.readers import read_export, scan_counts

pytestmark = pytest.mark.realdata

MBOX = "peer-fixtures/mbox"
SAMPLES = {
    "netscape": (f"{MBOX}/mimekit-netscape-content-length/content-length.mbox", 29),
    "gmail": (f"{MBOX}/mimekit-gmail-issue1189/issue1189.mbox", 4),
}


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_every_mail_read_none_malformed(sample, realdata, tmp_path):
    relative, expected = SAMPLES[sample]
    reader, messages, merged, dead = read_export(realdata / relative)
    assert isinstance(reader, MboxReader) and (len(messages), merged, dead) == (expected, [], [])
    assert scan_counts(realdata / relative, tmp_path) == {
        "records": expected, "messages": expected, "merged": 0, "malformed": 0, "hits": 0, "cases": 0,
        "index_rejected": 0}


def test_netscape_bare_separators_after_a_closing_boundary(realdata):
    _, messages, _, _ = read_export(realdata / SAMPLES["netscape"][0])
    by_offset = {m["source"]["pointer"]: m for m in messages}
    # The two mails whose `From - ` line follows the first mail's closing boundary with no blank line.
    for offset, test in (("offset:1889", "test 2: inline disposition"),
                         ("offset:8123", "test 1: attachment disposition")):
        lost = by_offset[offset]
        assert lost["message"]["subject"] == f"attached image cache test ({test})"
        assert lost["author"] == {"id": "jwz@netscape.com", "name": "Jamie Zawinski", "email": "jwz@netscape.com"}
        assert lost["@timestamp"] == "1996-06-14T06:25:49.000Z"  # Thu, 13 Jun 1996 23:25:49 -0700
    first = by_offset["offset:0"]
    assert first["message"]["subject"] == "Re: mailusr1@navstar1 3.0b6gold #1"
    assert first["message"]["text"] == "\n".join(f"default echo {n}" for n in range(1, 6))
    html = by_offset["offset:14395"]
    assert html["message"]["subject"].startswith("RE[4]: your generated HTML")
    assert html["conversation"]["name"].startswith("your generated HTML")  # its root is not in the folder
    assert html["@timestamp"] == "1996-06-03T16:42:32.000Z" and html["source"]["charset"] == "iso-8859-1"
    last = messages[-1]
    assert last["source"]["pointer"] == "offset:928496" and last["@timestamp"] == "1996-09-27T16:36:54.000Z"
    assert last["author"]["name"] == "Dr. Mark K. Joseph"  # `addr (Name)`, the 1996 way of writing it
    assert all("\ufffd" not in m["message"]["text"] for m in messages)


def test_gmail_takeout_separators(realdata):
    _, messages, _, _ = read_export(realdata / SAMPLES["gmail"][0])
    assert [(m["message"]["subject"], m["message"]["text"], m["@timestamp"]) for m in messages] == [
        (f"Message {n}", f"Body of message {n}.", when) for n, when in enumerate(
            ("2025-09-26T17:18:40.000Z", "2025-09-26T17:19:25.000Z", "2025-09-26T17:19:39.000Z",
             "2025-09-26T17:19:54.000Z"), start=1)]
    assert {m["author"]["email"] for m in messages} == {"sender@example.com"}
    assert messages[1]["attachments"] == [{"name": "Attachment.zip", "type": "application/x-zip-compressed",
                                           "size": 3750}]  # one 5,000-character base64 line
