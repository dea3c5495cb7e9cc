from pipelines.archive import Archive
from pipelines.ingest.discord import DiscordReader
from tests.helpers.readers import EXPORTS, as_zip, read_export

SERVER = EXPORTS / "discord" / "server"


def by_id(messages):
    return {m["message"]["id"]: m for m in messages}


def test_counts_kinds_and_dead_letters():
    reader, messages, merged, dead = read_export(SERVER)
    assert isinstance(reader, DiscordReader)
    assert (len(messages), len(merged), len(dead)) == (8, 0, 1)
    assert dead[0].pointer == "/messages/6" and "timestamp" in dead[0].reason
    kinds = {i: m["message"]["kind"] for i, m in by_id(messages).items()}
    assert kinds == {"1001": "user", "1002": "user", "1003": "user", "1004": "bot", "1005": "system",
                     "1006": "system", "2001": "user", "2002": "user"}


def test_replies_edits_timestamps_and_attachments():
    _, messages, _, _ = read_export(SERVER)
    m = by_id(messages)
    assert m["1001"]["@timestamp"] == "2024-05-01T10:00:00.123Z"  # +02:00 to UTC
    assert m["1001"]["timestamp"]["raw"] == "2024-05-01T12:00:00.123+02:00"
    assert m["1001"]["attachments"] == [{"name": "completions.csv", "type": "csv", "size": 2048}]
    assert m["1001"]["author"] == {"id": "111", "name": "Alice", "email": None}
    assert m["1002"]["reply_to"] == "1001" and m["1002"]["thread"]["id"] == "1001"
    assert m["1003"]["reply_to"] == "1002" and m["1003"]["thread"]["id"] == "1001"
    assert m["1002"]["message"]["edits"] == [{"text": None, "at": "2024-05-01T10:03:00.000Z", "by": "222"}]
    assert m["1004"]["message"]["text"] == "Deploy\nv2 shipped\nenv: prod"
    assert m["1005"]["message"]["subtype"] == "ChannelPinnedMessage"
    assert m["1001"]["conversation"] == {"id": "600", "name": "Engineering / ml-platform", "type": "channel"}


def test_thread_channel_is_one_thread():
    _, messages, _, _ = read_export(SERVER)
    m = by_id(messages)
    assert m["2001"]["thread"]["id"] == m["2002"]["thread"]["id"] == "800"
    assert m["2001"]["@timestamp"] == "2024-05-02T14:00:00.000Z"


def test_zip_gives_the_same_ids(tmp_path):
    _, from_folder, _, _ = read_export(SERVER)
    reader, from_zip, _, dead = read_export(as_zip(SERVER, tmp_path))
    assert isinstance(reader, DiscordReader) and len(dead) == 1
    assert sorted(m["message"]["id"] for m in from_zip) == sorted(m["message"]["id"] for m in from_folder)


def test_not_confident_on_telegram():
    assert DiscordReader.match(Archive(EXPORTS / "telegram" / "single")) == 0
