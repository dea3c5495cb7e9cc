import json

import pytest

from pipelines.archive import Archive
from pipelines.ingest import UnknownFormat, detect, slack
from pipelines.ingest.base import DeadLetter, Merged
from pipelines.ingest.slack import SlackReader
from tests.helpers.readers import read_all, zip_folder
from tests.helpers.slack import CONCEALMENT_DAY, T0, msg, write_slack


@pytest.fixture
def export(tmp_path):
    return write_slack(tmp_path / "export", {
        "ml-platform/2024-05-01": CONCEALMENT_DAY,
        "random/2024-05-01": [
            msg("U1", T0, "hi <@U2>, see <#C1|ml-platform> and <https://example.com|the doc> &lt;3"),
            {"type": "message", "subtype": "channel_join", "user": "U3", "text": "<@U3> has joined the channel",
             "ts": f"{T0 + 1:.6f}"},
            {"type": "message", "subtype": "bot_message", "bot_id": "B9", "username": "deploybot",
             "text": "deployed v2", "ts": f"{T0 + 2:.6f}"},
            msg("U2", T0 + 3, "", blocks=[{"type": "rich_text", "elements": [{"type": "rich_text_section",
                "elements": [{"type": "text", "text": "from blocks "}, {"type": "user", "user_id": "U1"}]}]}]),
            msg("U2", T0 + 4, "typo", edited={"user": "U2", "ts": f"{T0 + 5:.6f}"}),
            {"type": "message", "subtype": "message_changed", "ts": f"{T0 + 6:.6f}",
             "message": {"type": "message", "user": "U2", "text": "fixed typo", "ts": f"{T0 + 4:.6f}"}},
        ],
        "random/2024-05-02": "[{\"type\": \"message\", \"ts\": ",  # truncated day file
    })


def test_detects_slack_and_reads_messages(export):
    reader, records, errors = read_all(export)
    assert isinstance(reader, SlackReader) and errors == []
    messages = [r for r in records if isinstance(r, dict)]
    assert len(messages) == 10
    thread = [m for m in messages if m["conversation"]["name"] == "ml-platform"]
    assert [m["author"]["name"] for m in thread] == ["alice", "bob", "Carol Evans", "alice", "bob"]
    assert thread[0]["thread"]["id"] == thread[1]["thread"]["id"] == f"{T0:.6f}"
    assert thread[0]["reply_to"] is None and thread[1]["reply_to"] == f"{T0:.6f}"
    assert thread[0]["@timestamp"] == "2024-05-01T10:00:00.000Z"
    assert thread[0]["source"]["path"] == "ml-platform/2024-05-01.json" and thread[0]["source"]["pointer"] == "/0"


def test_rich_text_mentions_kinds_and_edits(export):
    _, records, _ = read_all(export)
    by_text = {r["message"]["text"]: r for r in records if isinstance(r, dict)}
    assert "hi @bob, see #ml-platform and the doc (https://example.com) <3" in by_text
    assert by_text["@Carol Evans has joined the channel"]["message"]["kind"] == "system"
    assert by_text["deployed v2"]["message"]["kind"] == "bot"
    assert by_text["from blocks @alice"]["message"]["kind"] == "user"
    edited = by_text["fixed typo"]["message"]
    assert [e["text"] for e in edited["edits"]] == [None, "typo"]
    assert sum(isinstance(r, Merged) for r in records) == 1


def test_truncated_day_file_is_a_dead_letter_and_the_rest_is_read(export):
    _, records, _ = read_all(export)
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert len(dead) == 1
    assert dead[0].path == "random/2024-05-02.json" and "not valid JSON" in dead[0].reason


def test_same_export_zipped_with_a_top_folder(export, tmp_path):
    zipped = zip_folder(export, tmp_path / "export.zip", prefix="Northwind Slack export/")
    _, records, _ = read_all(zipped)
    _, direct, _ = read_all(export)
    ids = sorted(r["message"]["id"] for r in records if isinstance(r, dict))
    assert ids == sorted(r["message"]["id"] for r in direct if isinstance(r, dict))


def test_unknown_layout_names_the_formats_tried(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnknownFormat, match="tried .*slack"):
        detect(Archive(tmp_path))


def test_a_day_file_broken_midway_keeps_the_messages_before_the_break(tmp_path):
    """A day file is streamed: a break in the JSON loses only what follows it, with the position it broke at."""
    good = json.dumps([msg("U1", T0 + i, f"message {i}") for i in range(3)])
    _, records, _ = read_all(write_slack(tmp_path / "export", {"random/2024-05-01": good[:-1] + ', {"ts": '}))
    assert [r["message"]["text"] for r in records if isinstance(r, dict)] == ["message 0", "message 1", "message 2"]
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert len(dead) == 1 and dead[0].pointer == "/3" and "not valid JSON after this record" in dead[0].reason


def test_a_day_file_that_is_not_a_list_is_one_dead_letter(tmp_path):
    _, records, _ = read_all(write_slack(tmp_path / "export", {"random/2024-05-01": '{"messages": []}'}))
    assert len(records) == 1 and "must be a JSON list" in records[0].reason


def test_an_edit_long_after_its_message_is_kept_as_a_message_of_its_own(tmp_path, monkeypatch):
    """Records wait for later edit events only up to HELD records back (memory stays bounded whatever one file
    holds); an edit of a message already let go is kept as its own message, as when the original is in another
    day file. Within reach, the edit is merged."""
    monkeypatch.setattr(slack, "HELD", 2)
    edit = {"type": "message", "subtype": "message_changed", "ts": f"{T0 + 9:.6f}",
            "message": {"type": "message", "user": "U2", "text": "fixed typo", "ts": f"{T0:.6f}"}}
    near = [msg("U2", T0, "typo"), msg("U1", T0 + 1, "one"), {**edit}]
    far = [msg("U2", T0, "typo"), msg("U1", T0 + 1, "one"), msg("U1", T0 + 2, "two"), {**edit}]
    _, records, _ = read_all(write_slack(tmp_path / "near", {"random/2024-05-01": near}))
    assert [r["message"]["text"] for r in records if isinstance(r, dict)] == ["fixed typo", "one"]
    _, records, _ = read_all(write_slack(tmp_path / "far", {"random/2024-05-01": far}))
    texts = [r["message"]["text"] for r in records if isinstance(r, dict)]
    assert texts == ["typo", "one", "two", "fixed typo"] and not any(isinstance(r, Merged) for r in records)
