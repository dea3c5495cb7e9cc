from pipelines.ingest.mattermost import MattermostReader
from tests.conftest import FIXTURES
from tests.helpers.readers import messages, read_all, scan_counts, slack_demo_still_detected_as_slack, tally, zip_folder

EXPORT = FIXTURES / "exports" / "mattermost" / "mattermost-export"


def by_pointer(records) -> dict[str, dict]:
    return {m["source"]["pointer"]: m for m in messages(records)}


def test_detects_mattermost_and_counts_each_reply_as_a_record():
    reader, records, errors = read_all(EXPORT)
    assert isinstance(reader, MattermostReader) and errors == []
    assert tally(records) == {"records": 15, "messages": 12, "merged": 0, "malformed": 3}


def test_threads_authors_and_conversations():
    msgs = by_pointer(read_all(EXPORT)[1])
    root, replies = msgs["line:10"], [msgs[f"line:10/replies/{i}"] for i in range(3)]
    assert [m["author"]["name"] for m in [root, *replies]] == ["Alice Chen", "bobby", "carol", "Alice Chen"]
    assert root["author"]["email"] == "alice@acme.example"
    assert root["thread"]["id"] == root["message"]["id"] and root["reply_to"] is None
    assert {r["thread"]["id"] for r in replies} == {root["message"]["id"]}
    assert {r["reply_to"] for r in replies} == {root["message"]["id"]}
    assert root["conversation"] == {"id": "acme/ml-platform", "name": "ML Platform", "type": "channel"}
    assert msgs["line:13"]["conversation"]["type"] == "private"
    assert msgs["line:18"]["conversation"] == {"id": "direct:alice,bob", "name": "DM: Alice Chen, bobby", "type": "dm"}
    assert msgs["line:19"]["conversation"]["type"] == "group_dm"
    assert msgs["line:18/replies/0"]["reply_to"] == msgs["line:18"]["message"]["id"]


def test_kinds_edits_attachments_times_and_text():
    msgs = by_pointer(read_all(EXPORT)[1])
    assert [msgs[p]["message"]["kind"] for p in ("line:10", "line:11", "line:12")] == ["user", "system", "bot"]
    assert msgs["line:10/replies/0"]["message"]["edits"] == [
        {"text": None, "at": "2024-05-01T10:01:30.000Z", "by": "bob"}]
    assert msgs["line:13"]["message"]["text"] == "clean_dataset.csv uploaded"
    assert msgs["line:13"]["attachments"] == [{"name": "clean_dataset.csv", "type": None, "size": None}]
    assert msgs["line:10"]["@timestamp"] == "2024-05-01T10:00:00.000Z"
    assert msgs["line:10"]["timestamp"]["raw"] == "1714557600000"
    assert msgs["line:19"]["message"]["text"] == "lunch \ufffd?"


def test_dead_letters_name_the_line_and_the_reply():
    _, records, _ = read_all(EXPORT)
    dead = {d.pointer: d.reason for d in records if not isinstance(d, dict)}
    assert sorted(dead) == ["line:14", "line:15", "line:16/replies/1"]
    assert "not valid JSON" in dead["line:14"] and "create_at" in dead["line:16/replies/1"]


def test_derived_ids_are_stable_and_unique_and_survive_zipping(tmp_path):
    ids = [m["message"]["id"] for m in messages(read_all(EXPORT)[1])]
    assert len(set(ids)) == len(ids) == 12
    assert ids == [m["message"]["id"] for m in messages(read_all(EXPORT)[1])]
    zipped = zip_folder(EXPORT, tmp_path / "export.zip", prefix="mattermost-export/")
    reader, records, _ = read_all(zipped)
    assert isinstance(reader, MattermostReader)
    assert [m["message"]["id"] for m in messages(records)] == ids


def test_slack_is_still_slack():
    slack_demo_still_detected_as_slack()


def test_scan_runs_end_to_end_on_a_concealment_thread(tmp_path):
    counts = scan_counts(EXPORT, tmp_path / "out")
    assert {k: counts[k] for k in ("records", "messages", "merged", "malformed")} == {
        "records": 15, "messages": 12, "merged": 0, "malformed": 3}
    assert counts["hits"] >= 1
