"""The episode step: one busy channel split into the exchanges people actually had."""

from __future__ import annotations

import pytest

from analyzers.episodes import Disentangler, Limits, Linker, Turn, words_of
from pipelines.archive import Archive
from pipelines.composites import ReadExport
from pipelines.ingest import detect
from tests.helpers.slack import T0, msg, write_slack


def turns(*rows) -> list[Turn]:
    """rows: (id, author, seconds after T0, text[, thread[, reply_to]])."""
    out = []
    for row in rows:
        mid, author, t, text, *rest = row
        out.append(Turn(id=mid, author=author, name=author, when=T0 + t, text=text,
                        thread=rest[0] if rest else None, reply_to=rest[1] if len(rest) > 1 else None))
    return out


def episodes(linked) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for turn, link in linked:
        groups.setdefault(link.episode, []).append(turn.id)
    return sorted(groups.values())


def link_all(*rows):
    return Linker().link_all(turns(*rows))


def test_a_quiet_conversation_of_several_people_is_one_episode():
    linked = link_all(
        ("1", "ana", 0, "the eval outputs are in the bucket"),
        ("2", "bo", 180, "looked at them, the long answers are truncated"),
        ("3", "cy", 420, "that's the max_tokens setting in the config"),
        ("4", "ana", 600, "fixed, rerunning tonight"),
    )
    assert episodes(linked) == [["1", "2", "3", "4"]]
    assert [link.cue for _, link in linked] == ["start", "adjacent", "adjacent", "adjacent"]


def test_two_exchanges_interleaved_in_a_busy_channel_stay_apart():
    linked = link_all(
        ("a1", "ana", 0, "@bo did the tokenizer fix land?"),
        ("c1", "cy", 8, "@dee lunch at the ramen place?"),
        ("b1", "bo", 15, "@ana yes, merged this morning"),
        ("d1", "dee", 22, "@cy sure, 12:30"),
        ("a2", "ana", 30, "@bo great, I'll rebase the eval branch"),
        ("d2", "dee", 41, "@cy I'll book a table"),
    )
    assert episodes(linked) == [["a1", "b1", "a2"], ["c1", "d1", "d2"]]


def test_a_message_nobody_answers_in_a_busy_channel_starts_its_own_episode():
    chatter = [(f"x{i}", f"p{i}", i * 10, f"@p{i + 1} sounds good") for i in range(6)]
    linked = link_all(*chatter, ("lone", "zed", 65, "hide the debug panel before the demo"))
    lone = next(link for turn, link in linked if turn.id == "lone")
    assert lone.parent is None and lone.cue == "start"


def test_a_mention_links_to_the_named_persons_latest_message():
    linked = link_all(
        ("1", "ana", 0, "we got 40k completions back from the vendor"),
        ("2", "bo", 5, "standup moved to 10:30"),
        ("3", "cy", 9, "anyone seen the flaky test?"),
        ("4", "dee", 14, "@ana nice, scrub the vendor name before it goes in"),
    )
    four = dict((t.id, link) for t, link in linked)["4"]
    assert four.parent == "1" and four.cue == "addresses"


def test_an_answer_to_someone_who_addressed_you_links_back():
    linked = link_all(
        ("1", "ana", 0, "@bo can you own the relabel script?"),
        ("2", "cy", 5, "standup moved to 10:30"),
        ("3", "dee", 9, "the build is green again"),
        ("4", "bo", 14, "yes, on it after lunch"),
    )
    four = dict((t.id, link) for t, link in linked)["4"]
    assert four.parent == "1" and four.cue == "addressed"


def test_leading_name_addresses_like_irc():
    linked = link_all(
        ("1", "ana", 0, "how do I mount the partition?"),
        ("2", "bo", 4, "anyone tried the new kernel"),
        ("3", "cy", 6, "ana: use sudo mount /dev/sdb1 /mnt"),
    )
    three = dict((t.id, link) for t, link in linked)["3"]
    assert three.parent == "1" and three.cue == "addresses"


def test_thread_replies_join_their_root_even_hours_later():
    linked = link_all(
        ("d0", "dee", -7200, "morning all"),
        ("r", "ana", 0, "the GPT-4 batch finished", "r"),
        ("x", "bo", 30, "@dee coffee?"),
        ("t1", "cy", 7200, "nice, strip the vendor tags", "r"),
        ("t2", "ana", 90000, "done", "r"),
    )
    by_id = {t.id: link for t, link in linked}
    assert by_id["t1"].episode == by_id["r"].episode == by_id["t2"].episode
    assert by_id["t1"].cue == "thread" and by_id["t2"].parent == "t1"
    assert by_id["x"].episode != by_id["r"].episode


def test_in_a_quiet_channel_a_reply_that_brings_someone_new_in_still_answers():
    """"别申请了，@娜娜 用两个子公司的账号跑" right after "智谱的限额又到了": an answer handed on, not a new talk."""
    linked = link_all(("1", "ana", 0, "the zhipu quota ran out again"),
                      ("2", "bo", 120, "don't apply, @nana run it on the two subsidiaries' accounts"))
    assert dict((t.id, link) for t, link in linked)["2"].parent == "1"


def test_an_explicit_reply_links_to_its_target():
    linked = link_all(
        ("1", "ana", 0, "who has the key?"),
        *[(f"n{i}", f"p{i}", 10 + i, f"@p{i + 1} ok") for i in range(8)],
        ("2", "bo", 60, "me", None, "1"),
    )
    two = dict((t.id, link) for t, link in linked)["2"]
    assert two.parent == "1" and two.cue == "reply"


def test_shared_rare_words_link_when_nothing_else_does():
    linked = link_all(
        ("a", "ana", 0, "the sft-0311-a run diverged after step 4000"),
        ("b", "bo", 10, "@cy coffee?"),
        ("c", "cy", 15, "@bo sure"),
        ("d", "dee", 20, "@eve standup?"),
        ("e", "eve", 25, "@dee in 5"),
        ("f", "fay", 30, "sft-0311-a diverged for me too, lr warmup?"),
    )
    f = dict((t.id, link) for t, link in linked)["f"]
    assert f.parent == "a" and f.cue == "words"


def test_the_same_person_going_on_stays_in_their_exchange():
    linked = link_all(
        ("a1", "ana", 0, "@bo the outputs are ready"),
        ("b1", "bo", 10, "@ana thanks"),
        ("x", "cy", 15, "@dee lunch?"),
        ("y", "dee", 20, "@cy yes"),
        ("b2", "bo", 25, "and I'll relabel them tomorrow"),
    )
    by_id = {t.id: link for t, link in linked}
    assert by_id["b2"].episode == by_id["b1"].episode == by_id["a1"].episode != by_id["x"].episode


def test_system_messages_are_episodes_of_their_own_and_never_parents():
    linker = Linker()
    rows = turns(("1", "ana", 0, "morning"), ("2", "bo", 60, "morning ana"))
    join = Turn(id="j", author="cy", name="cy", when=T0 + 30, text="cy has joined", kind="system")
    linked = linker.link_all([rows[0], join, rows[1]])
    by_id = {t.id: link for t, link in linked}
    assert by_id["j"].parent is None and by_id["2"].parent == "1"
    assert [link.position for _, link in linked] == [0, 1, 2]


def test_the_linker_holds_a_bounded_window():
    limits = Limits(lookback=5, remembered=10)
    linker = Linker(limits=limits)
    for i in range(50):
        linker.link(Turn(id=str(i), author=f"p{i % 7}", name=f"p{i % 7}", when=T0 + i, text="hi", thread=str(i)))
        assert len(linker.recent) <= limits.lookback and len(linker.index) <= 10 and len(linker.thread_last) <= 10
    assert linker.position == 50


def test_same_input_same_links():
    rows = [(f"m{i}", f"p{i % 5}", i * 7, f"@p{(i + 2) % 5} about run-{i % 3}") for i in range(60)]
    assert [link for _, link in link_all(*rows)] == [link for _, link in link_all(*rows)]


def test_words_ignore_stopwords_and_pair_chinese_characters():
    assert words_of("The GPT outputs are in the bucket") == {"gpt", "outputs", "bucket"}
    assert words_of("那批数据") == {"那批", "批数", "数据"}


def test_disentangler_writes_position_and_episode_on_each_conversation_separately():
    def doc(channel, mid, t, author, text):
        return {"platform": "slack", "conversation": {"id": channel, "name": channel, "type": "channel"},
                "message": {"id": mid, "text": text, "kind": "user"}, "author": {"id": author, "name": author},
                "thread": {"id": None}, "reply_to": None, "timestamp": {"epoch": T0 + t}}

    d = Disentangler()
    out = [d.add(item) for item in [doc("A", "1", 0, "ana", "hi"), doc("B", "1", 1, "bo", "hey"),
                                    doc("A", "2", 60, "cy", "hello")]]
    positions = {(o["conversation"]["id"], o["message"]["id"]): o["message"]["position"] for o in out}
    assert positions == {("A", "1"): 0, ("A", "2"): 1, ("B", "1"): 0}
    a = [o for o in out if o["conversation"]["id"] == "A"]
    assert a[0]["episode"]["id"] == a[1]["episode"]["id"] and a[1]["episode"]["parent"] == "1"
    b = next(o for o in out if o["conversation"]["id"] == "B")
    assert b["episode"]["id"] != a[0]["episode"]["id"]


def test_positions_run_on_across_a_channels_day_files(tmp_path):
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    root = write_slack(tmp_path / "export", {
        "ml-platform/2024-05-01": [msg("U1", T0, "late one"), msg("U2", T0 + 60, "yes")],
        "ml-platform/2024-05-02": [msg("U1", T0 + 86400, "next day"), msg("U3", T0 + 86460, "morning")],
        "random/2024-05-01": [msg("U2", T0 + 5, "pizza?")],
    })
    archive = Archive(root)
    reader = detect(archive)
    context, _ = reader.context(archive)
    assert reader.streams(archive) == [("ml-platform/2024-05-01.json", "ml-platform/2024-05-02.json"),
                                       ("random/2024-05-01.json",)]
    with TestPipeline() as p:
        read = p | ReadExport(archive, reader, context, "a" * 64, batch_size=1)
        positions = read.batches | beam.FlatMap(lambda b: [(m["conversation"]["name"], m["message"]["text"],
                                                            m["message"]["position"]) for m in b])
        assert_that(positions, equal_to([("ml-platform", "late one", 0), ("ml-platform", "yes", 1),
                                         ("ml-platform", "next day", 2), ("ml-platform", "morning", 3),
                                         ("random", "pizza?", 0)]))


@pytest.mark.realdata
def test_on_real_irc_gold_the_episode_step_is_far_above_the_previous_message_baseline():
    """Kummerfeld et al. 2019, #ubuntu test split: "Previous" scores link F 35.0 and 1-1 27.6, their
    feed-forward model 72.3 and 75.6; a linker with no learned model should land well between."""
    from benchmarks.episodes import predict
    from benchmarks.irc import evaluate

    result = evaluate("test", predict)
    assert result["link_f"] >= 55.0 and result["one_to_one"] >= 60.0, result


def test_a_stream_of_many_conversations_holds_a_bounded_number_of_linkers():
    """A mailbox is one stream of thousands of threads: the linker of the thread quiet longest is let go,
    and a thread that speaks again goes on counting its positions where it stopped."""
    def doc(conversation: str, i: int) -> dict:
        return {"platform": "mbox", "conversation": {"id": conversation},
                "message": {"id": f"{conversation}-{i}", "text": f"note {i}", "kind": "user"},
                "author": {"id": "a", "name": "a"}, "timestamp": {"epoch": T0 + i}, "thread": {"id": None}}

    stream = Disentangler(limits=Limits(conversations_held=3))
    positions = [stream.add(doc(c, i))["message"]["position"]
                 for i, c in enumerate(["t1", "t2", "t3", "t4", "t5", "t1", "t2", "t1"])]
    assert len(stream.linkers) == 3
    assert positions == [0, 0, 0, 0, 0, 1, 1, 2]


def test_thread_replies_do_not_stand_between_two_channel_messages():
    """A thread's replies are read in their thread (Slack, Teams, Mattermost show them apart): bo answering
    ana in the channel answers her message even when a reply in someone else's thread came in between."""
    linked = dict((turn.id, link) for turn, link in link_all(
        ("x", "cy", 0, "standup notes are up", "x"),
        ("1", "ana", 40, "the judge eval now runs nightly"),
        ("r", "cy", 50, "added the action items", "x"),
        ("2", "bo", 70, "nice, which config?"),
    ))
    assert linked["2"].parent == "1" and linked["2"].cue == "adjacent"
    assert linked["r"].parent == "x" and linked["r"].cue == "thread"
