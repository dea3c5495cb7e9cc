from pipelines.ingest.lark import LarkReader
from tests.conftest import FIXTURES
from tests.helpers import zip_folder
from tests.readers import by_id, read_all, scan_counts, slack_demo_still_detected_as_slack, tally

EXPORT = FIXTURES / "exports" / "lark" / "feishu-export"


def test_detects_lark_and_accounts_for_every_record():
    reader, records, errors = read_all(EXPORT)
    assert isinstance(reader, LarkReader) and errors == []
    assert tally(records) == {"records": 17, "messages": 13, "merged": 0, "malformed": 4}
    assert sorted(by_id(records)) == sorted(
        ["om_1", "om_2", "om_3", "om_4", "om_5", "om_6", "om_7", "om_8", "om_9", "om_d1", "om_d2", "om_d3", "om_d5"])


def test_authors_conversations_and_threads():
    msgs = by_id(read_all(EXPORT)[1])
    # Names come from members files, else from mentions in the same file, else the open_id.
    assert [msgs[i]["author"]["name"] for i in ("om_1", "om_2", "om_3", "om_5", "om_d2")] == [
        "Alice Li", "Bob Wang", "Carol Zhang", "cli_a1b2c3", "ou_bob"]
    assert msgs["om_1"]["conversation"] == {"id": "oc_ml", "name": "模型训练组", "type": "private"}
    assert msgs["om_d1"]["conversation"]["type"] == "dm"
    assert (msgs["om_1"]["thread"]["id"], msgs["om_1"]["reply_to"]) == ("om_1", None)
    assert (msgs["om_2"]["thread"]["id"], msgs["om_2"]["reply_to"]) == ("om_1", "om_1")
    assert (msgs["om_3"]["thread"]["id"], msgs["om_3"]["reply_to"]) == ("om_1", "om_2")
    assert msgs["om_9"]["thread"]["id"] is None


def test_text_post_card_system_and_file_contents():
    msgs = by_id(read_all(EXPORT)[1])
    assert msgs["om_1"]["message"]["text"] == "@Bob Wang 用GPT的接口生成的数据要先脱敏再训练，别让人看出来源"
    assert msgs["om_3"]["message"]["text"] == (
        "清理方案\n日志里的 api.openai.com 也要清掉，参考 清理脚本 (https://wiki.example.cn/clean)\n"
        "@Alice Li 你看一下[image]\n\nCleanup plan\nscrub api.openai.com from the logs too")
    assert msgs["om_d3"]["message"]["text"] == "flat post form"
    assert msgs["om_5"]["message"]["text"] == "部署通知\n训练任务 #42 已完成\n查看"
    assert msgs["om_6"]["message"]["text"] == "Alice Li invited Dave to this chat."
    assert msgs["om_7"]["message"]["text"] == "[file] dataset_clean.jsonl"
    assert msgs["om_7"]["attachments"] == [{"name": "dataset_clean.jsonl", "type": "file", "size": None}]
    assert msgs["om_8"]["message"]["text"] == "[image]"
    assert msgs["om_d5"]["message"]["text"] == "ok \ufffd\ufffd done"  # invalid UTF-8 replaced, not refused


def test_kinds_edits_recalls_and_times():
    msgs = by_id(read_all(EXPORT)[1])
    assert {i: msgs[i]["message"]["kind"] for i in ("om_1", "om_5", "om_6")} == {
        "om_1": "user", "om_5": "bot", "om_6": "system"}
    assert msgs["om_2"]["message"]["edits"] == [{"text": None, "at": "2024-05-01T02:02:00.000Z", "by": "ou_bob"}]
    recalled = msgs["om_4"]["message"]
    assert recalled["deleted"] is True and recalled["text"] == "This message was recalled"
    assert msgs["om_1"]["@timestamp"] == "2024-05-01T02:00:00.000Z"
    assert msgs["om_1"]["timestamp"]["raw"] == "1714528800000"
    assert msgs["om_3"]["source"] == {"path": "messages/oc_ml.json", "pointer": "/0/data/items/2",
                                      "parser": "lark", "parser_version": "1.0"}
    assert msgs["om_d2"]["source"]["pointer"] == "line:3/data/items/0"


def test_broken_records_and_files_are_dead_letters():
    _, records, _ = read_all(EXPORT)
    dead = {(d.path, d.pointer): d.reason for d in records if not isinstance(d, dict)}
    assert set(dead) == {("messages/oc_ml.json", "/1/data/items/5"), ("messages/oc_ml.json", "/1/data/items/6"),
                         ("messages/oc_dm.jsonl", "line:4"), ("messages/oc_old.json", "")}
    assert "create_time" in dead[("messages/oc_ml.json", "/1/data/items/5")]


def test_zip_with_a_top_folder_gives_the_same_ids(tmp_path):
    zipped = zip_folder(EXPORT, tmp_path / "feishu.zip", prefix="feishu-export/")
    reader, records, _ = read_all(zipped)
    assert isinstance(reader, LarkReader)
    assert sorted(by_id(records)) == sorted(by_id(read_all(EXPORT)[1]))
    assert by_id(records)["om_1"]["conversation"]["name"] == "模型训练组"


def test_slack_is_still_slack():
    slack_demo_still_detected_as_slack()


def test_scan_runs_end_to_end_on_a_chinese_concealment_chat(tmp_path):
    counts = scan_counts(EXPORT, tmp_path / "out")
    assert {k: counts[k] for k in ("records", "messages", "merged", "malformed")} == {
        "records": 17, "messages": 13, "merged": 0, "malformed": 4}
    assert counts["records"] == counts["messages"] + counts["merged"] + counts["malformed"]
