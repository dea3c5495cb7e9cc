import io
import json

import pytest

from pipelines.archive import Archive
from pipelines.ingest import UnknownFormat, detect
from pipelines.ingest.base import DeadLetter
from pipelines.ingest.teams import TeamsReader, html_to_text
from tests.conftest import FIXTURES
from tests.helpers.readers import (
    by_id,
    read_all,
    read_export,
    scan_counts,
    slack_demo_still_detected_as_slack,
    tally,
    zip_folder,
)

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


# Microsoft's export tooling writes Graph's properties in PascalCase (see tests/realdata/test_peer_fixtures_teams.py).
def _respelled(data, spell):
    if isinstance(data, dict):
        return {spell(key): _respelled(value, spell) for key, value in data.items()}
    if isinstance(data, list):
        return [_respelled(value, spell) for value in data]
    return data


def _pascal(key: str) -> str:
    return key[:1].upper() + key[1:]


@pytest.mark.parametrize("spell", [_pascal, str.lower, str.upper], ids=["PascalCase", "lowercase", "UPPERCASE"])
def test_any_key_case_reads_the_same_as_graph_camel_case(spell, tmp_path):
    respelled = tmp_path / "export"
    for path in EXPORT.rglob("*.json"):
        target = respelled / path.relative_to(EXPORT)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_text(json.dumps(_respelled(json.loads(path.read_text()), spell)))
        except ValueError:  # the broken file stays broken
            target.write_bytes(path.read_bytes())
    reader, records, errors = read_all(respelled)
    assert isinstance(reader, TeamsReader) and errors == []
    _, camel_records, _ = read_all(EXPORT)
    assert tally(records) == tally(camel_records)
    camel, other = by_id(camel_records), by_id(records)
    for message_id, message in camel.items():
        pointer = message["source"]["pointer"]
        assert other[message_id]["source"]["pointer"] == pointer.replace("value", spell("value")).replace(
            "replies", spell("replies"))  # pointers name the keys as the file spells them
        assert {**other[message_id], "source": None} == {**message, "source": None}


def _pascal_message(message_id: str, content: str, **fields) -> dict:
    return {"Id": message_id, "MessageType": "message", "CreatedDateTime": "2025-03-05T09:00:00.5+01:00",
            "ReplyToId": None, "Body": {"ContentType": "html", "Content": content},
            "From": {"Application": None, "Device": None, "User": {"Id": "u-ana", "DisplayName": "Ana Silva"}},
            "ChannelIdentity": {"TeamId": "t1", "ChannelId": "19:ml@thread.tacv2"}, "ChatId": None, **fields}


def test_pascal_case_records_built_here(tmp_path):
    reply = _pascal_message("101", '<p><at id="0">Ana Silva</at> done, <customemoji alt="party"></customemoji></p>',
                            ReplyToId="100", From={"User": {"Id": "u-bo", "DisplayName": "Bo Li"}})
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#messages", "Value": [
        _pascal_message("100", "<p>scrub the <b>OpenAI</b> name</p>", Replies=[reply],
                        LastEditedDateTime="2025-03-05T09:05:00+01:00",
                        Attachments=[{"Id": "a1", "ContentType": "reference", "Name": "eval.xlsx"}]),
        _pascal_message("102", "<p></p>", From={"Application": {"Id": "app", "DisplayName": "Deploy Bot"}},
                        Attachments=[{"ContentType": "application/vnd.microsoft.card.adaptive",
                                      "Content": json.dumps({"Body": [{"Type": "TextBlock", "Text": "Deployed"}]})}]),
        _pascal_message("103", "<systemEventMessage/>", MessageType="unknownFutureValue", From=None),
        _pascal_message("104", "gone", ChannelIdentity=None, ChatId="19:a_b@unq.gbl.spaces",
                        DeletedDateTime="2025-03-05T10:00:00Z"),
    ]}
    export = tmp_path / "export"
    export.mkdir()
    (export / "messages.json").write_text(json.dumps(page))
    (export / "chats.json").write_text(json.dumps({"Value": [{"Id": "19:a_b@unq.gbl.spaces", "ChatType": "oneOnOne",
                                                              "Members": [{"DisplayName": "Ana Silva"},
                                                                          {"DisplayName": "Bo Li"}]}]}))
    reader, messages, merged, dead = read_export(export)
    assert isinstance(reader, TeamsReader) and (merged, dead) == ([], [])
    msgs = {m["message"]["id"]: m for m in messages}
    root, answer, bot, event, deleted = (msgs[i] for i in ("100", "101", "102", "103", "104"))
    assert (root["author"], root["message"]["text"]) == (
        {"id": "u-ana", "name": "Ana Silva", "email": None}, "scrub the OpenAI name")
    assert root["@timestamp"] == "2025-03-05T08:00:00.500Z"
    assert root["message"]["edits"] == [{"text": None, "at": "2025-03-05T08:05:00.000Z", "by": "u-ana"}]
    assert root["attachments"] == [{"name": "eval.xlsx", "type": "reference", "size": None}]
    assert root["conversation"] == {"id": "19:ml@thread.tacv2", "name": "19:ml@thread.tacv2", "type": "channel"}
    assert (answer["author"]["name"], answer["message"]["text"]) == ("Bo Li", "@Ana Silva done, :party:")
    assert (answer["thread"]["id"], answer["reply_to"], answer["source"]["pointer"]) == ("100", "100",
                                                                                        "/Value/0/Replies/0")
    assert (bot["message"]["kind"], bot["author"]["name"], bot["message"]["text"]) == ("bot", "Deploy Bot", "Deployed")
    assert (event["message"]["kind"], event["message"]["subtype"]) == ("system", "unknownFutureValue")
    assert deleted["message"]["deleted"] is True
    assert deleted["conversation"] == {"id": "19:a_b@unq.gbl.spaces", "name": "DM: Ana Silva, Bo Li", "type": "dm"}


@pytest.mark.parametrize("files", [{"messages.json": [{"Sent": "2025-03-05", "Text": "hello"}]},
                                   {"notes.txt": "not a chat"}])
def test_forced_teams_on_files_it_cannot_read_is_a_clear_error_not_silence(files, tmp_path):
    for name, content in files.items():
        (tmp_path / name).write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(UnknownFormat, match="--format teams finds nothing to read"):
        detect(Archive(tmp_path), "teams")


@pytest.mark.parametrize(("content", "reason"), [
    ([], "holds no chatMessages"),
    ({"value": []}, "holds no chatMessages"),
    ([{"Value": []}], "holds no chatMessages"),
    ({"Value": {"Id": "1", "CreatedDateTime": "2025-03-05T09:00:00Z"}}, "page whose value is dict"),
    ({"Messages": [{"Id": "1"}]}, "page without a value list (keys: Messages)"),
])
def test_a_message_file_that_yields_nothing_is_a_dead_letter(content, reason):
    records = list(TeamsReader().read(io.BytesIO(json.dumps(content).encode()), "chat.json", {"conversations": {}}))
    assert [(type(r), r.path, r.pointer) for r in records] == [(DeadLetter, "chat.json", "")]
    assert reason in records[0].reason
