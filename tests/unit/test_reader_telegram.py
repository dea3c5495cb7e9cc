import json

from pipelines.archive import Archive
from pipelines.ingest import detect
from pipelines.ingest.telegram import TelegramReader
from tests.helpers.readers import EXPORTS, as_zip, read_export

SINGLE, ACCOUNT = EXPORTS / "telegram" / "single", EXPORTS / "telegram" / "account"


def test_single_chat_counts_kinds_and_pointers():
    reader, messages, merged, dead = read_export(SINGLE)
    assert isinstance(reader, TelegramReader)
    assert (len(messages), len(merged), len(dead)) == (5, 0, 2)
    assert [d.pointer for d in dead] == ["/messages/5", "/messages/6"]
    assert [m["message"]["kind"] for m in messages] == ["system", "user", "user", "user", "user"]
    assert [m["source"]["pointer"] for m in messages] == [f"/messages/{i}" for i in range(5)]
    assert {m["conversation"]["id"] for m in messages} == {"1001"}
    assert messages[0]["conversation"] == {"id": "1001", "name": "ML Team", "type": "private"}


def test_text_entities_replies_edits_and_attachments():
    _, messages, _, _ = read_export(SINGLE)
    service, first, reply, photo, forwarded = messages
    assert service["message"]["text"] == "Alice Chen create group Bob Diaz, ML Team"
    assert service["message"]["subtype"] == "create_group" and service["author"]["id"] == "user1"
    assert first["message"]["text"] == "we have 40k completions, see the doc (https://example.com/d)"
    assert first["@timestamp"] == "2024-05-01T12:01:00.000Z"  # date_unixtime, not the local `date`
    assert first["timestamp"] == {"raw": "1714564860", "epoch": 1714564860.0, "rule": "telegram:date_unixtime"}
    assert reply["reply_to"] == "2" and reply["thread"]["id"] == "2"
    assert reply["message"]["edits"] == [{"text": None, "at": "2024-05-01T12:05:00.000Z", "by": "user2"}]
    assert photo["reply_to"] == "3" and photo["thread"]["id"] == "2"  # the chain's root
    assert photo["attachments"] == [{"name": "photo_1@01-05-2024_14-03-00.jpg", "type": "photo", "size": 1234}]
    assert forwarded["timestamp"]["rule"] == "local-time-assumed-utc"
    assert forwarded["@timestamp"] == "2024-05-01T14:04:00.000Z"
    assert forwarded["author"] == {"id": "channel77", "name": "Announcements", "email": None}
    assert forwarded["message"]["subtype"] == "forwarded"
    assert forwarded["attachments"] == [{"name": "report.pdf", "type": "application/pdf", "size": 999}]


def test_whole_account_export_reads_every_chat_and_left_chats():
    _, messages, _, dead = read_export(ACCOUNT)
    assert dead == [] and len(messages) == 4
    assert [(m["conversation"]["name"], m["source"]["pointer"]) for m in messages] == [
        ("Bob Diaz", "/chats/list/0/messages/0"), ("Bob Diaz", "/chats/list/0/messages/1"),
        ("Ops", "/chats/list/1/messages/0"), ("Old Project", "/left_chats/list/0/messages/0")]
    assert [m["conversation"]["type"] for m in messages] == ["dm", "dm", "group_dm", "channel"]
    assert messages[1]["message"]["text"] == "你好" and messages[1]["reply_to"] == "10"
    assert messages[2]["message"]["kind"] == "system" and messages[2]["message"]["id"] == "10"
    assert messages[3]["author"]["name"] == "Deleted Account"


def test_zip_and_folder_give_the_same_ids(tmp_path):
    _, from_folder, _, _ = read_export(SINGLE)
    reader, from_zip, _, dead = read_export(as_zip(SINGLE, tmp_path, "Telegram Desktop/ChatExport/"))
    assert isinstance(reader, TelegramReader) and len(dead) == 2
    assert [m["message"]["id"] for m in from_zip] == [m["message"]["id"] for m in from_folder]


def test_truncated_file_keeps_what_came_before(tmp_path):
    text = (SINGLE / "result.json").read_text()
    cut = text[: text.index('"id": 4')]
    (tmp_path / "result.json").write_text(cut)
    _, messages, _, dead = read_export(tmp_path)
    assert len(messages) == 3 and len(dead) == 1
    assert dead[0].pointer == "/messages/3" and "breaks off" in dead[0].reason


def test_invalid_utf8_is_replaced(tmp_path):
    data = json.dumps({"name": "x", "type": "personal_chat", "id": 1, "messages": [
        {"id": 1, "type": "message", "date_unixtime": "1714564860", "from": "A", "from_id": "user1",
         "text": "caf@"}]}).encode().replace(b"caf@", b"caf\xff")
    (tmp_path / "result.json").write_bytes(data)
    _, messages, _, dead = read_export(tmp_path)
    assert dead == [] and messages[0]["message"]["text"] == "caf\ufffd"


def test_not_confident_on_other_formats():
    assert TelegramReader.match(Archive(EXPORTS / "discord" / "server")) == 0
    assert detect(Archive(SINGLE)).platform == "telegram"
