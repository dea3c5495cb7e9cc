from pipelines.ingest.lark import LarkReader
from tests.conftest import FIXTURES
from tests.helpers.readers import by_id, read_all, scan_counts, slack_demo_still_detected_as_slack, tally, zip_folder

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


# --- Lark's documented shapes beyond list pages (fixtures and their doc pages: tests/fixtures/exports/lark/README.md)
LARK = FIXTURES / "exports" / "lark"


def test_event_envelopes_are_detected_and_read_one_per_file_or_per_line():
    reader, records, errors = read_all(LARK / "event-archive")
    assert isinstance(reader, LarkReader) and errors == []
    assert tally(records) == {"records": 4, "messages": 3, "merged": 0, "malformed": 1}
    msgs = by_id(records)
    assert msgs["om_e1"]["message"]["text"] == "@Bob Wang 把 OpenAI 的调用日志删掉"  # mentions[].id is an object
    assert msgs["om_e1"]["author"]["id"] == "ou_alice" and msgs["om_e1"]["source"]["pointer"] == ""
    assert (msgs["om_e2"]["thread"]["id"], msgs["om_e2"]["reply_to"]) == ("om_e1", "om_e1")
    assert msgs["om_e2"]["source"]["pointer"] == "line:1"
    assert msgs["om_e3"]["conversation"] == {"id": "oc_p2p", "name": "oc_p2p", "type": "dm"}  # chat_type p2p
    dead = [r for r in records if not isinstance(r, dict)]
    assert dead[0].pointer == "line:3" and "im.message.reaction.created_v1" in dead[0].reason


def test_forced_lark_reads_event_envelopes():
    reader, records, _ = read_all(LARK / "event-archive", forced="lark")
    assert isinstance(reader, LarkReader) and len(by_id(records)) == 3


def test_single_message_responses_and_bare_messages():
    _, records, _ = read_all(LARK / "single-responses")
    assert tally(records) == {"records": 7, "messages": 6, "merged": 0, "malformed": 1}
    msgs = by_id(records)
    assert msgs["om_s1"]["source"]["pointer"] == "/data" and msgs["om_s1"]["message"]["kind"] == "bot"
    assert msgs["om_r1"]["source"]["pointer"] == "/data/message" and msgs["om_r1"]["reply_to"] == "om_s1"
    assert msgs["om_b1"]["message"]["text"] == "bare item" and msgs["om_b1"]["source"]["pointer"] == ""
    dead = {d.path: d.reason for d in records if not isinstance(d, dict)}
    assert dead == {"unknown_shape.json": "page without an items list"}


def test_merged_forward_children_are_linked_to_their_container():
    msgs = by_id(read_all(LARK / "single-responses")[1])
    assert (msgs["om_f1"]["thread"]["id"], msgs["om_f1"]["reply_to"]) == (None, None)
    for child in ("om_f2", "om_f3"):
        assert (msgs[child]["thread"]["id"], msgs[child]["reply_to"]) == ("om_f1", "om_f1")


def _types():
    return by_id(read_all(LARK / "content-types")[1])


def test_cards_render_as_a_person_sees_them():
    msgs = _types()
    # list/get form: rows of nodes; the at (user_id = mention key, empty user_name) resolves from mentions
    assert msgs["om_c1"]["message"]["text"] == "审批提醒\n请 @Bob Wang 确认数据已脱敏\n确认"
    # raw json_card form, people named in json_attachment.at_users
    assert msgs["om_c2"]["message"]["text"] == "训练周报\n模型已换成 Claude，负责人 @Carol Zhang\n详情"
    assert msgs["om_c3"]["message"]["text"] == "告警\nkey 已泄露，请轮换"  # msg_type "card", not "[card]"


def test_post_at_with_empty_name_system_divider_and_post_media():
    msgs = _types()
    assert msgs["om_c4"]["message"]["text"] == "@Tom 看图\n[image]\n[video]"  # was "@@Tom"
    assert msgs["om_c4"]["attachments"] == [{"name": "img_v2_0c4a", "type": "image", "size": None},
                                            {"name": "file_v2_0c4b", "type": "media", "size": None}]
    assert msgs["om_c5"]["message"]["text"] == "新会话"  # was the divider_text dict's repr


def test_calendar_todo_vote_location_video_chat_and_shares_keep_their_words():
    texts = {i: m["message"]["text"] for i, m in _types().items()}
    assert [texts[f"om_c{i}"] for i in range(6, 15)] == [
        "[calendar] 数据清洗评审", "[calendar] 模型来源对齐会", "[calendar] 周会", "[task] 删除 OpenAI 调用记录",
        "[vote] 用哪个 teacher model\n- GPT-4\n- Claude", "[location] 望京 SOHO", "[video call] 脱敏方案讨论",
        "[shared chat] oc_0a1b2c3d", "[shared contact] ou_0a1b2c3d"]


def test_unknown_msg_type_is_system_with_its_words():
    msg = _types()["om_c15"]["message"]
    assert (msg["kind"], msg["subtype"], msg["text"]) == ("system", "some_future_type", "新类型的标题")


def test_create_time_in_seconds_is_told_apart_by_magnitude():
    msgs = _types()
    assert msgs["om_c16"]["@timestamp"] == "2024-05-01T02:35:00.000Z"
    assert msgs["om_c16"]["timestamp"]["rule"] == "epoch-seconds-by-magnitude"
    assert "rule" not in msgs["om_c15"]["timestamp"]  # milliseconds, as the API documents


def test_a_lark_file_that_yields_nothing_is_a_dead_letter(tmp_path):
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "oc_a.json").write_text(
        '{"code":0,"data":{"items":[{"message_id":"om_a","msg_type":"text","create_time":"1714528800000",'
        '"body":{"content":"{\\"text\\":\\"hi\\"}"}}]}}')
    # names a message (so it is read) but every page is empty: a dead letter, never silence
    (tmp_path / "messages" / "oc_empty.jsonl").write_text('\n{"code":0,"data":{"has_more":false,"items":[]},'
                                                          '"query":{"message_id":"om_a"}}\n')
    _, records, _ = read_all(tmp_path, forced="lark")
    dead = [(d.path, d.reason) for d in records if not isinstance(d, dict)]
    assert dead == [("messages/oc_empty.jsonl", "no Lark messages found in this file")]
