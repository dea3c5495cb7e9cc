from pipelines.ingest.teams import TeamsReader, html_to_text
from tests.conftest import FIXTURES
from tests.helpers import zip_folder
from tests.readers import by_id, read_all, scan_counts, slack_demo_still_detected_as_slack, tally

EXPORT = FIXTURES / "exports" / "teams" / "graph-export"
ROOT, BOB_REPLY, CAROL_REPLY, BOT, EVENT, DELETED, FILE_SHARE = (
    "1714557600123", "1714557660000", "1714557720000", "1714558000000", "1714558100000", "1714558200000",
    "1714558300000")
DM_FIRST, DM_QUOTE, DM_PLAIN, GROUP = "1714560000000", "1714560060000", "1714560120000", "1714561000000"


def test_detects_teams_and_accounts_for_every_record():
    reader, records, errors = read_all(EXPORT)
    assert isinstance(reader, TeamsReader) and errors == []
    assert tally(records) == {"records": 15, "messages": 11, "merged": 1, "malformed": 3}


def test_channel_threads_authors_and_conversations():
    msgs = by_id(read_all(EXPORT)[1])
    assert [msgs[i]["author"]["name"] for i in (ROOT, BOB_REPLY, CAROL_REPLY, BOT)] == [
        "Alice Chen", "Bob Diaz", "Carol Evans", "Deploy Bot"]
    assert msgs[ROOT]["conversation"] == {"id": "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2",
                                          "name": "ml-platform", "type": "channel"}
    assert (msgs[ROOT]["thread"]["id"], msgs[ROOT]["reply_to"]) == (ROOT, None)
    assert (msgs[CAROL_REPLY]["thread"]["id"], msgs[CAROL_REPLY]["reply_to"]) == (ROOT, ROOT)
    assert msgs[CAROL_REPLY]["source"]["pointer"] == "/0/value/0/replies/1"
    assert msgs[DM_FIRST]["conversation"]["type"] == "dm"
    assert msgs[DM_FIRST]["conversation"]["name"] == "DM: Alice Chen, Bob Diaz"
    assert msgs[GROUP]["conversation"]["name"] == "Launch crew" and msgs[GROUP]["conversation"]["type"] == "group_dm"
    assert msgs[DM_QUOTE]["reply_to"] == DM_FIRST and msgs[DM_QUOTE]["thread"]["id"] is None


def test_html_bodies_become_text():
    msgs = by_id(read_all(EXPORT)[1])
    assert msgs[ROOT]["message"]["text"] == "We have 40k completions from gpt-4o for the fine-tune & eval"
    assert msgs[CAROL_REPLY]["message"]["text"] == "use my personal key\nso it won't show up on the org bill"
    assert msgs[GROUP]["message"]["text"] == "launch party friday 🎉"  # emoji alt kept, <script> dropped
    assert msgs[DM_PLAIN]["message"]["text"] == "plain \ufffd body"
    assert msgs[BOT]["message"]["text"] == "Deployed v2 to staging"
    assert msgs[FILE_SHARE]["attachments"] == [{"name": "clean_dataset.xlsx", "type": "reference", "size": None}]


def test_html_to_text_keeps_lines_and_mentions():
    assert html_to_text('<p>a&nbsp;<at id="0">Dan</at></p><p>b<br/>c &lt;d&gt;</p><style>p{}</style>') == (
        "a @Dan\n\nb\nc <d>")


def test_kinds_versions_deletions_and_times():
    msgs = by_id(read_all(EXPORT)[1])
    assert [msgs[i]["message"]["kind"] for i in (ROOT, BOT, EVENT)] == ["user", "bot", "system"]
    assert msgs[EVENT]["message"]["text"] == "[membersAdded] by Alice Chen: Dan Ito"
    edited = msgs[BOB_REPLY]["message"]
    assert edited["text"] == ("@Alice Chen we need to scrub anything that says OpenAI before the audit, "
                              "and the eval logs too")
    assert edited["edits"] == [{"text": "@Alice Chen we need to scrub anything that says OpenAI before the audit",
                                "at": "2024-05-01T10:02:30.000Z", "by": "5031bb31-22c0-4f6f-9f73-91d34ab2b32d"}]
    assert msgs[DELETED]["message"]["deleted"] is True
    assert msgs[ROOT]["@timestamp"] == "2024-05-01T10:00:00.123Z"
    assert msgs[CAROL_REPLY]["@timestamp"] == "2024-05-01T10:02:00.123Z"  # 7 fractional digits in the source
    assert msgs[CAROL_REPLY]["timestamp"]["raw"] == "2024-05-01T10:02:00.1234567Z"


def test_broken_records_and_files_are_dead_letters():
    _, records, _ = read_all(EXPORT)
    dead = {(d.path, d.pointer) for d in records if not isinstance(d, dict) and hasattr(d, "reason")}
    assert dead == {("channels/ml-platform.json", "/1/value/3"), ("channels/ml-platform.json", "/1/value/4"),
                    ("chats/broken.json", "")}


def test_zip_with_a_top_folder_gives_the_same_ids(tmp_path):
    zipped = zip_folder(EXPORT, tmp_path / "teams.zip", prefix="Teams export/")
    reader, records, _ = read_all(zipped)
    assert isinstance(reader, TeamsReader)
    assert sorted(by_id(records)) == sorted(by_id(read_all(EXPORT)[1]))


def test_slack_is_still_slack():
    slack_demo_still_detected_as_slack()


def test_scan_runs_end_to_end_on_a_concealment_thread(tmp_path):
    counts = scan_counts(EXPORT, tmp_path / "out")
    assert {k: counts[k] for k in ("records", "messages", "merged", "malformed")} == {
        "records": 15, "messages": 11, "merged": 1, "malformed": 3}
    assert counts["hits"] >= 1
