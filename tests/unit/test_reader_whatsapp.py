import io

import pytest

from pipelines.archive import Archive
from pipelines.ingest.whatsapp import WhatsAppReader
from tests.helpers.readers import EXPORTS, as_zip, read_export, slack_demo_still_detected_as_slack, zip_folder

WA = EXPORTS / "whatsapp"
MONTH_FIRST = "month-first: a second date field is above 12; local-time-assumed-utc"
DAY_FIRST = "day-first: a first date field is above 12; local-time-assumed-utc"


def test_android_us_locale():
    reader, messages, merged, dead = read_export(WA / "android")
    assert isinstance(reader, WhatsAppReader)
    assert (len(messages), len(merged), len(dead)) == (10, 0, 1)
    assert dead[0].pointer == "line:13" and "day is out of range" in dead[0].reason
    assert [m["source"]["pointer"] for m in messages] == [f"line:{n}" for n in (1, 2, 3, 7, 8, 9, 10, 11, 14, 15)]
    assert [m["message"]["kind"] for m in messages] == ["system", "system", "user", "user", "user", "user",
                                                        "system", "user", "user", "user"]
    assert {m["timestamp"]["rule"] for m in messages} == {MONTH_FIRST}
    encrypted, added, multi, media, deleted, edited, subject, attached, ok, ok_again = messages
    assert encrypted["@timestamp"] == "2023-12-31T21:41:00.000Z"
    assert encrypted["timestamp"]["raw"] == "12/31/23, 9:41 PM"
    assert added["message"]["text"] == "Alice Chen added +1 555 0100"  # direction marks stripped
    assert multi["message"]["text"] == ("we have 40k completions\nfrom gpt-4o, second line\n\n"
                                        "and a third after a blank line")
    assert multi["author"] == {"id": "Alice Chen", "name": "Alice Chen", "email": None}
    assert media["author"]["name"] == "+1 555 0100" and media["message"]["text"] == ""
    assert media["attachments"] == [{"name": None, "type": "Media omitted", "size": None}]
    assert deleted["message"]["deleted"] is True and deleted["message"]["subtype"] == "deleted"
    assert edited["message"]["text"] == "scrub the vendor name"
    assert edited["message"]["edits"] == [{"text": None, "at": None, "by": "Bob Diaz"}]
    assert subject["message"]["text"] == 'Alice Chen changed the subject from "x" to "audit: prep"'
    assert attached["message"]["text"] == "the receipt"
    assert attached["attachments"] == [{"name": "IMG-20240102-WA0001.jpg", "type": "jpg", "size": None}]
    assert attached["@timestamp"] == "2024-01-02T10:00:00.000Z"
    assert ok["message"]["id"] != ok_again["message"]["id"] and ok_again["message"]["id"].endswith("-2")
    assert ok["conversation"] == {"id": "Project X", "name": "Project X", "type": "group_dm"}


def test_ios_day_first_with_marks():
    _, messages, _, dead = read_export(WA / "ios")
    assert dead == [] and len(messages) == 7
    assert {m["timestamp"]["rule"] for m in messages} == {DAY_FIRST}
    assert [m["message"]["kind"] for m in messages] == ["system", "system", "user", "user", "user", "user", "user"]
    assert messages[1]["message"]["text"] == "Alice Chen created group \u201cProject X\u201d"
    assert messages[3]["attachments"][0]["name"] == "00000012-PHOTO-2023-12-31-21-43-00.jpg"
    assert messages[4]["attachments"][0]["type"] == "image omitted"
    assert messages[5]["message"]["deleted"] is True and messages[5]["@timestamp"] == "2024-01-01T08:00:00.000Z"
    assert messages[6]["message"]["text"] == "happy new year"  # \r\n line ends
    assert messages[0]["conversation"]["name"] == "ios"  # `_chat.txt`: named after its folder


def test_german_dotted_dates():
    _, messages, _, dead = read_export(WA / "german")
    assert dead == [] and len(messages) == 4
    assert messages[0]["message"]["kind"] == "system"
    assert messages[2]["@timestamp"] == "2024-01-01T00:01:00.000Z" and messages[2]["author"]["name"] == "Ben"
    assert messages[3]["message"]["subtype"] == "media_omitted"
    assert messages[0]["conversation"]["name"] == "Familie"


def test_ambiguous_dates_use_the_documented_default(tmp_path):
    (tmp_path / "_chat.txt").write_text("01/02/2024, 10:00 - A: one\n03/04/2024, 11:00 - B: two\n")
    _, messages, _, _ = read_export(tmp_path)
    assert messages[0]["@timestamp"] == "2024-02-01T10:00:00.000Z"
    assert messages[0]["timestamp"]["rule"].startswith("day-first by default")
    assert "ambiguous" in messages[0]["timestamp"]["rule"]
    (tmp_path / "_chat.txt").write_text("01/02/24, 10:00 AM - A: one\n")
    _, messages, _, _ = read_export(tmp_path)
    assert messages[0]["@timestamp"] == "2024-01-02T10:00:00.000Z"
    assert messages[0]["timestamp"]["rule"].startswith("month-first by default (12-hour clock), ambiguous")


@pytest.mark.parametrize(("chat", "expected", "rule"), [
    # en-GB iOS: a 12-hour clock yet day-first; only the photo's name says 2 November, not 11 February.
    ("[02/11/2020, 9:41:05 pm] Project X: \u200eMessages and calls are end-to-end encrypted.\n"
     "[02/11/2020, 9:45:00 pm] Alice: the receipt\n"
     "\u200e[02/11/2020, 9:47:19 pm] Bob: \u200e<attached: 00000012-PHOTO-2020-11-02-21-47-19.jpg>\n"
     "[03/11/2020, 8:00:00 am] Alice: thanks\n",
     ["2020-11-02T21:41:05", "2020-11-02T21:45:00", "2020-11-02T21:47:19", "2020-11-03T08:00:00"],
     "day-first: the dates in attachment names match (1 for, 0 against)"),
    # en-AU Android: the same with Android's media names.
    ("03/04/24, 10:00 am - Bob: IMG-20240403-WA0001.jpg (file attached)\n"
     "04/04/24, 9:00 am - Ann: PTT-20240404-WA0002.opus (file attached)\n"  # 4/4 reads alike: no vote
     "05/04/24, 9:00 am - Ann: PTT-20240405-WA0003.opus (file attached)\n06/04/24, 9:00 am - Ann: ok\n",
     ["2024-04-03T10:00:00", "2024-04-04T09:00:00", "2024-04-05T09:00:00", "2024-04-06T09:00:00"],
     "day-first: the dates in attachment names match (2 for, 0 against)"),
    # en-US: the names prove month-first just as well.
    ("04/03/24, 10:00 AM - Bob: IMG-20240403-WA0001.jpg (file attached)\n04/05/24, 9:00 AM - Ann: ok\n",
     ["2024-04-03T10:00:00", "2024-04-05T09:00:00"],
     "month-first: the dates in attachment names match (1 for, 0 against)"),
], ids=["en-GB-ios", "en-AU-android", "en-US-android"])
def test_dates_in_attachment_names_decide_the_order(chat, expected, rule, tmp_path):
    (tmp_path / "_chat.txt").write_text(chat, encoding="utf-8")
    _, messages, _, dead = read_export(tmp_path)
    assert dead == []
    assert [m["@timestamp"] for m in messages] == [f"{e}.000Z" for e in expected]
    assert {m["timestamp"]["rule"] for m in messages} == {f"{rule}; local-time-assumed-utc"}


@pytest.mark.parametrize(("chat", "expected", "rule"), [
    # en-IN, 12-hour clock: read month-first, 12 March -> 1 April would run from 3 December back to 4 January.
    ("10/03/24, 9:00 am - A: one\n12/03/24, 9:00 pm - B: two\n01/04/24, 8:00 am - A: three\n"
     "02/04/24, 8:00 am - B: four\n",
     ["2024-03-10T09:00:00", "2024-03-12T21:00:00", "2024-04-01T08:00:00", "2024-04-02T08:00:00"],
     "day-first: time order (read month-first, the chat goes back in time at 1 message)"),
    # 24-hour clock, month-first: read day-first, 12 October -> 1 November would run from 10 December back
    # to 11 January.
    ("10/12/2023, 09:00 - A: one\n11/01/2023, 10:00 - B: two\n11/05/2023, 11:00 - A: three\n",
     ["2023-10-12T09:00:00", "2023-11-01T10:00:00", "2023-11-05T11:00:00"],
     "month-first: time order (read day-first, the chat goes back in time at 1 message)"),
], ids=["en-IN-12-hour", "month-first-24-hour"])
def test_time_order_alone_decides_the_order(chat, expected, rule, tmp_path):
    (tmp_path / "_chat.txt").write_text(chat)
    _, messages, _, dead = read_export(tmp_path)
    assert dead == []
    assert [m["@timestamp"] for m in messages] == [f"{e}.000Z" for e in expected]
    assert {m["timestamp"]["rule"] for m in messages} == {f"{rule}; local-time-assumed-utc"}


def test_joined_exports_of_two_phones_are_read_per_layout(tmp_path):
    (tmp_path / "WhatsApp Chat with Bob.txt").write_text(
        "12/31/23, 9:41 PM - Alice: from the US phone\n"
        "1/2/24, 10:00 AM - Alice: read as the US phone writes\n"
        "31/12/2023, 21:41 - Bob: from the UK phone\n"
        "01/02/2024, 10:00 - Bob: read as the UK phone writes\n")
    _, messages, _, dead = read_export(tmp_path)
    assert dead == []
    assert [m["@timestamp"][:16] for m in messages] == ["2023-12-31T21:41", "2024-01-02T10:00", "2023-12-31T21:41",
                                                        "2024-02-01T10:00"]
    assert [m["timestamp"]["rule"] for m in messages] == [MONTH_FIRST] * 2 + [DAY_FIRST] * 2


def test_one_layout_with_both_orders_is_read_line_by_line(tmp_path):
    # Same shape, a first field above 12 in one part and a second one in another: each part keeps its order.
    (tmp_path / "WhatsApp Chat with Bob.txt").write_text(
        "05/01/2024, 09:00 - A: before any proof\n"
        "13/01/2024, 09:00 - A: day-first\n"
        "02/02/2024, 09:00 - A: still day-first\n"
        "02/14/2024, 09:00 - B: month-first\n"
        "03/01/2024, 09:00 - B: still month-first\n"
        "02/30/2024, 09:00 - B: no such day\n")
    _, messages, _, dead = read_export(tmp_path)
    assert [m["@timestamp"][:10] for m in messages] == ["2024-01-05", "2024-01-13", "2024-02-02", "2024-02-14",
                                                        "2024-03-01"]
    mixed = "(the file mixes both orders); local-time-assumed-utc"
    assert [m["timestamp"]["rule"] for m in messages] == [
        f"day-first like the first line with a date field above 12 {mixed}",
        f"day-first: a first date field is above 12 {mixed}",
        f"day-first like the previous line with a date field above 12 {mixed}",
        f"month-first: a second date field is above 12 {mixed}",
        f"month-first like the previous line with a date field above 12 {mixed}"]
    assert [d.pointer for d in dead] == ["line:6"] and "day is out of range" in dead[0].reason


def test_zip_with_media_and_nested_zip(tmp_path):
    folder = tmp_path / "WhatsApp Chat - Project X"
    folder.mkdir()
    (folder / "_chat.txt").write_bytes((WA / "ios" / "_chat.txt").read_bytes())
    (folder / "00000012-PHOTO-2023-12-31-21-43-00.jpg").write_bytes(b"\xff\xd8jpeg")
    plain = zip_folder(folder, tmp_path / "WhatsApp Chat - Project X.zip")
    _, messages, _, dead = read_export(plain)
    assert dead == [] and len(messages) == 7 and messages[0]["conversation"]["name"] == "Project X"
    outer = tmp_path / "outer"
    outer.mkdir()
    (outer / "WhatsApp Chat - Project X.zip").write_bytes(plain.read_bytes())
    _, nested, _, _ = read_export(outer)
    assert [m["message"]["id"] for m in nested] == [m["message"]["id"] for m in messages]
    assert nested[0]["source"]["path"] == "WhatsApp Chat - Project X.zip!_chat.txt"
    assert nested[0]["conversation"]["name"] == "Project X"
    _, zipped, _, _ = read_export(as_zip(WA / "android", tmp_path))
    assert len(zipped) == 10


def test_invalid_utf8_and_text_before_the_first_message(tmp_path):
    (tmp_path / "_chat.txt").write_bytes(b"stray preamble\n31/12/2023, 21:41 - A: caf\xff\n"
                                         b"31/12/2023, 21:42 - B: ok\n31/12/2023, 21:43 - B: ok\n")
    _, messages, _, dead = read_export(tmp_path)
    assert [m["message"]["text"] for m in messages] == ["caf\ufffd", "ok", "ok"]
    assert [d.pointer for d in dead] == ["line:1"]
    assert dead[0].reason.endswith("characters of text before the first message line")


def test_detection_is_specific():
    slack_demo_still_detected_as_slack()
    assert WhatsAppReader.match(Archive(EXPORTS / "email" / "mbox")) == 0
    reader = WhatsAppReader()
    records = list(reader.read(io.BytesIO(b"hello\n"), "_chat.txt", {"archive_name": "x"}))
    assert len(records) == 1 and records[0].pointer == "line:1"
