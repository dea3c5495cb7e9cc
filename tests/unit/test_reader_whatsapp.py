import io

from pipelines.archive import Archive
from pipelines.ingest.whatsapp import WhatsAppReader
from tests.export_checks import EXPORTS, as_zip, read_export
from tests.helpers import zip_folder
from tests.readers import slack_demo_still_detected_as_slack

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
    (tmp_path / "_chat.txt").write_text("01/02/24, 10:00 AM - A: one\n")
    _, messages, _, _ = read_export(tmp_path)
    assert messages[0]["@timestamp"] == "2024-01-02T10:00:00.000Z"
    assert messages[0]["timestamp"]["rule"].startswith("month-first by default")


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
