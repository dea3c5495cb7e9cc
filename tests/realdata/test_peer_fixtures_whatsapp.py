"""A real WhatsApp Android export from a peer project, read with counts and values checked against the raw file.

Two phones' exports joined in one file: lines 1-10 are `M/D/YY` (`6/30/23, 16:13`), lines 11-18
`D/M/YYYY` (`30/6/2023, 16:15`); every line has exactly one valid reading, all on 30 June 2023.
"""

import pytest

from tests.helpers.readers import read_export, scan_counts

pytestmark = pytest.mark.realdata

CHAT = "peer-fixtures/whatsapp/chm-whatsapp-text_2023-10"
ME, PEER, SYSTEM = "Aaaaa Aaaaaaaaaaa", "+123 45 6789", "WhatsApp"
MONTH_FIRST = "month-first: a second date field is above 12; local-time-assumed-utc"
DAY_FIRST = "day-first: a first date field is above 12; local-time-assumed-utc"
# (line, time, author, kind, text, attachment) as read by eye from the raw file.
EXPECTED = [
    (1, "16:13", SYSTEM, "system", "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
                                   "WhatsApp, can read or listen to them. Tap to learn more.", None),
    (2, "16:14", SYSTEM, "system", "+123 45 6789 is a contact", None),
    (3, "16:14", ME, "user", "hello there!\n\nthis is a\nmulti-line message!", None),
    (8, "16:14", ME, "user", "and these messages", None),
    (9, "16:14", ME, "user", "should not be reordered!", None),
    (10, "16:14", PEER, "user", "should not be reordered indeed!", None),
    (11, "16:15", PEER, "user", "image comment", "IMG-20230630-WA0000.jpg"),
    (13, "16:15", PEER, "user", "", "VID-20230630-WA0001.mp4"),
    (14, "16:15", PEER, "user", "", "AUD-20230630-WA0002.opus"),
    (15, "16:15", PEER, "user", "", "STK-20230630-WA0003.webp"),
    (16, "16:15", PEER, "user", "null", None),
    (17, "16:15", PEER, "user", "", None),
    (18, "16:15", PEER, "user", "+123 45 6789 updated the message timer. New messages will disappear from this chat "
                                "24 hours after they're sent, except when kept. Tap to change.", None),
]


def test_joined_exports_every_line_read_once_with_its_own_date_order(realdata):
    _, messages, merged, dead = read_export(realdata / CHAT)
    assert (len(messages), len(merged), len(dead)) == (13, 0, 0)
    got = [(int(m["source"]["pointer"].removeprefix("line:")), m["@timestamp"], m["author"]["name"],
            m["message"]["kind"], m["message"]["text"], m["attachments"][0]["name"] if m["attachments"] else None)
           for m in messages]
    assert got == [(line, f"2023-06-30T{time}:00.000Z", author, kind, text, name)
                   for line, time, author, kind, text, name in EXPECTED]
    assert [m["timestamp"]["rule"] for m in messages] == [MONTH_FIRST] * 6 + [DAY_FIRST] * 7
    assert [m["timestamp"]["raw"] for m in messages][5:7] == ["6/30/23, 16:14", "30/6/2023, 16:15"]
    assert messages[11]["attachments"] == [{"name": None, "type": "Media omitted", "size": None}]
    assert messages[0]["conversation"] == {"id": PEER, "name": PEER, "type": "dm"}
    assert len({m["message"]["id"] for m in messages}) == 13


def test_the_whole_pipeline_counts_13_records_none_malformed(realdata, tmp_path):
    counts = scan_counts(realdata / CHAT, tmp_path / "out")
    assert (counts["records"], counts["messages"], counts["merged"], counts["malformed"]) == (13, 13, 0, 0)
