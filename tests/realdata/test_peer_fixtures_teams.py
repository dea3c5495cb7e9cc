"""A real Microsoft Teams export (zulip/zulip's importer fixture): PascalCase keys, as Microsoft's export
tooling writes them. Expected values were read off the raw file by hand; the author's display name is
compared with the raw file rather than written here (real people's names stay out of the repo)."""

import json

import pytest

from pipelines.scan import run
from tests.helpers.readers import read_export

pytestmark = pytest.mark.realdata

SAMPLE = "peer-fixtures/teams/zulip-team-channel-002145f2"
MEMBER = "teams/002145f2-eaba-4962-997d-6d841a9f50af/messages_002145f2-eaba-4962-997d-6d841a9f50af.json"
CHANNEL = "19:9OOyLpkB8mEaoB17Z5CJx-RDBuMCZ5IZfuZVTCV97Bg1@thread.tacv2"
AUTHOR_ID = "88cbf3c2-0810-4d32-aa19-863c12bf7be9"
FILES = ["wp12245700.jpg", "zlp_logo.png", "zulip-export-j8zps83t.tar.gz", "TeamsData2025-10-09.zip",
         "usersList.json", "Hashing.xlsx", "Untitled document.txt", "Untitled document.pdf", "Untitled document.docx"]


@pytest.fixture(scope="module")
def sample(realdata):
    return realdata / SAMPLE


def test_auto_detected_and_every_record_read(sample):
    reader, messages, merged, dead = read_export(sample)
    assert reader.platform == "teams"
    assert (len(messages), merged, dead) == (3, [], [])
    assert [(m["source"]["path"], m["source"]["pointer"]) for m in messages] == [
        (MEMBER, "/0"), (MEMBER, "/1"), (MEMBER, "/2")]


def test_ids_times_kinds_and_texts(sample):
    _, messages, _, _ = read_export(sample)
    assert [(m["message"]["id"], m["@timestamp"], m["message"]["kind"], m["message"]["subtype"], m["message"]["text"])
            for m in messages] == [
        ("1759320958611", "2025-10-01T12:15:58.611Z", "user", "message", ":notif-bot::zlp-logo:"),  # custom emojis
        ("1760338105757", "2025-10-13T06:48:25.757Z", "user", "message", ""),  # files only
        ("1760954236688", "2025-10-20T09:57:16.688Z", "system", "unknownFutureValue", "[event]"),
    ]
    assert [a["name"] for a in messages[1]["attachments"]] == FILES
    assert all(m["conversation"] == {"id": CHANNEL, "name": CHANNEL, "type": "channel"} for m in messages)
    assert [(m["thread"]["id"], m["reply_to"]) for m in messages] == [(m["message"]["id"], None) for m in messages]


def test_authors(sample):
    _, messages, _, _ = read_export(sample)
    raw = json.loads((sample / MEMBER).read_text())
    name = raw[0]["From"]["User"]["DisplayName"]
    assert name and raw[1]["From"]["User"]["DisplayName"] == name and raw[2]["From"] is None
    assert [m["author"] for m in messages] == [{"id": AUTHOR_ID, "name": name, "email": None}] * 2 + [
        {"id": "", "name": "unknown", "email": None}]  # a system event has no sender


def test_scan_counts(sample, tmp_path):
    assert run(["--input", str(sample), "--out", str(tmp_path), "--no-index", "--quiet"]) == 0
    counts = json.loads((tmp_path / "manifest.json").read_text())["counts"]
    assert {k: counts[k] for k in ("records", "messages", "merged", "malformed")} == {
        "records": 3, "messages": 3, "merged": 0, "malformed": 0}
    assert (tmp_path / "errors.jsonl").read_text() == ""
