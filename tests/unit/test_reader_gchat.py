import pytest

from pipelines.ingest.base import DataError
from pipelines.ingest.gchat import GoogleChatReader, parse_created_date
from tests.conftest import FIXTURES
from tests.helpers.readers import by_id, read_all, scan_counts, slack_demo_still_detected_as_slack, tally, zip_folder

EXPORT = FIXTURES / "exports" / "gchat" / "Takeout"
S = "AAAAq1w2e3"
ROOT, EDITED, OFFSET, BOT, DELETED, FILE = (f"{S}/tP1xYz/tP1xYz", f"{S}/tP1xYz/m2Bq", f"{S}/tP1xYz/m3Cr",
                                            f"{S}/tB0t/tB0t", f"{S}/tP1xYz/m5Dl", f"{S}/tF1le/tF1le")


@pytest.mark.parametrize(("raw", "iso", "rule"), [
    ("Tuesday, January 9, 2024 at 3:04:05 PM UTC", "2024-01-09T15:04:05.000Z", "explicit-utc"),
    ("Tuesday, January 9, 2024 at 3:04:05\u202fPM UTC", "2024-01-09T15:04:05.000Z", "explicit-utc"),
    ("January 9, 2024 at 12:04:05 AM GMT", "2024-01-09T00:04:05.000Z", "explicit-utc"),
    ("Jan 9, 2024, 12:30:00 PM PST", "2024-01-09T20:30:00.000Z", "zone-abbreviation"),
    ("Tuesday, 9 January 2024 at 15:04:05 UTC", "2024-01-09T15:04:05.000Z", "explicit-utc"),
    ("Tuesday, January 9, 2024 at 11:04:05 PM GMT+8", "2024-01-09T15:04:05.000Z", "offset"),
    ("9 Jan 2024 09:01 UTC+05:30", "2024-01-09T03:31:00.000Z", "offset"),
    ("Tuesday, January 9, 2024 at 10:04:05 AM GMT-05:00", "2024-01-09T15:04:05.000Z", "offset"),
    ("Tuesday, January 9, 2024 at 3:04:05 PM", "2024-01-09T15:04:05.000Z", "assumed-utc"),
    ("Tuesday, January 9, 2024 at 3:04:05 PM CST", "2024-01-09T15:04:05.000Z", "assumed-utc"),  # ambiguous name
    ("2024-01-09T15:04:05+00:00", "2024-01-09T15:04:05.000Z", "iso"),
])
def test_created_date_variants(raw, iso, rule):
    from pipelines.ingest.base import iso_utc

    seconds, used = parse_created_date(raw)
    assert (iso_utc(seconds), used) == (iso, rule)


@pytest.mark.parametrize("raw", ["sometime last week", "", None, "Tuesday, Smarch 9, 2024 at 3:04:05 PM UTC",
                                 "January 32, 2024 at 3:04:05 PM UTC", "January 9, 2024 at 13:04:05 PM UTC"])
def test_unreadable_dates_are_data_errors(raw):
    with pytest.raises(DataError):
        parse_created_date(raw)


def test_detects_google_chat_and_accounts_for_every_record():
    reader, records, errors = read_all(EXPORT)
    assert isinstance(reader, GoogleChatReader) and errors == []
    assert tally(records) == {"records": 11, "messages": 8, "merged": 0, "malformed": 3}


def test_conversations_threads_and_authors():
    msgs = by_id(read_all(EXPORT)[1])
    assert msgs[ROOT]["conversation"] == {"id": "Space AAAAq1w2e3", "name": "Data sourcing", "type": "channel"}
    dm = msgs["7Xy9AAAAE/d1AaA/d1AaA"]["conversation"]
    assert dm == {"id": "DM 7Xy9AAAAE", "name": "DM: Alice Chen, Bob Diaz", "type": "dm"}
    assert [msgs[i]["author"]["name"] for i in (ROOT, EDITED, OFFSET, BOT)] == [
        "Alice Chen", "Bob Diaz", "Carol Evans", "Build Bot"]
    assert msgs[ROOT]["author"]["email"] == "alice@acme.example"
    assert (msgs[ROOT]["thread"]["id"], msgs[ROOT]["reply_to"]) == ("tP1xYz", None)
    assert (msgs[OFFSET]["thread"]["id"], msgs[OFFSET]["reply_to"]) == ("tP1xYz", ROOT)
    assert msgs[BOT]["thread"]["id"] is None  # a topic of one message is no thread
    assert msgs["7Xy9AAAAE/d1AaA/d1AaA"]["thread"]["id"] is None


def test_times_rules_kinds_edits_deletions_files():
    msgs = by_id(read_all(EXPORT)[1])
    assert msgs[OFFSET]["@timestamp"] == "2024-01-09T15:06:30.000Z"
    assert msgs[OFFSET]["timestamp"] == {"raw": "Tuesday, January 9, 2024 at 11:06:30 PM GMT+8",
                                         "epoch": 1704812790.0, "rule": "offset"}
    assert msgs[DELETED]["timestamp"]["rule"] == "assumed-utc"
    assert msgs[FILE]["timestamp"]["rule"] == "zone-abbreviation" and msgs[FILE]["@timestamp"] == (
        "2024-01-09T23:15:00.000Z")
    assert msgs[BOT]["message"]["kind"] == "bot" and msgs[ROOT]["message"]["kind"] == "user"
    assert msgs[EDITED]["message"]["edits"] == [{"text": None, "at": "2024-01-09T15:06:00.000Z",
                                                 "by": "bob@acme.example"}]
    assert msgs[DELETED]["message"]["deleted"] is True
    assert msgs[FILE]["attachments"] == [{"name": "clean_dataset.csv", "type": None, "size": None}]
    assert msgs["7Xy9AAAAE/d2BbB/d2BbB"]["message"]["text"] == "ok \ufffd sure"


def test_dead_letters():
    _, records, _ = read_all(EXPORT)
    dead = {(d.path.rsplit("/", 2)[-2], d.pointer) for d in records if not isinstance(d, dict)}
    assert dead == {("DM Gr0upAAAA", ""), ("Space AAAAq1w2e3", "/messages/6"), ("Space AAAAq1w2e3", "/messages/7")}


def test_zip_with_a_top_folder_gives_the_same_ids(tmp_path):
    zipped = zip_folder(EXPORT, tmp_path / "takeout-20240110T000000Z-001.zip", prefix="Takeout/")
    reader, records, _ = read_all(zipped)
    assert isinstance(reader, GoogleChatReader)
    assert sorted(by_id(records)) == sorted(by_id(read_all(EXPORT)[1]))
    assert by_id(records)[ROOT]["conversation"]["name"] == "Data sourcing"


def test_slack_is_still_slack():
    slack_demo_still_detected_as_slack()


def test_scan_runs_end_to_end_on_a_concealment_thread(tmp_path):
    counts = scan_counts(EXPORT, tmp_path / "out")
    assert {k: counts[k] for k in ("records", "messages", "merged", "malformed")} == {
        "records": 11, "messages": 8, "merged": 0, "malformed": 3}
    assert counts["hits"] >= 1
