import pytest

from analyzers.scoring import RuleInfo, Signal, windows
from analyzers.scoring import assess as assess_with

WEAK = {"evade.weak", "secrecy.weak", "data.weak"}


def assess(window, weak=WEAK):
    """Every rule weighs 0.45; the ones named in `weak` are everyday words."""
    profile = {m["rule"]: RuleInfo(0.45, m["category"], m["rule"] in weak) for s in window for m in s.matches}
    return assess_with(window, profile)


def sig(mid, author, t, thread=None, *cats, episode=None, part="p"):
    """A candidate; by default all of a test's candidates are surely linked (one part of one episode)."""
    matches = [{"rule": f"{c.lower()}.r", "category": c, "term": c.lower(), "message_id": mid, "start": 0,
                "end": 1} for c in cats]
    return Signal(mid, author, t, thread, matches, episode=episode, part=part)


def ids(ws):
    return [[s.message_id for s in w] for w in ws]


def test_only_linked_evidence_shares_a_window():
    """Candidates seconds apart but in different exchanges (episodes) never combine."""
    ws = windows([sig("1", "a", 0, episode="e1"), sig("2", "b", 5, episode="e2"), sig("3", "a", 9, episode="e1")],
                 gap_seconds=600)
    assert ids(ws) == [["1", "3"], ["2"]]


def test_thread_messages_share_a_window_even_hours_apart():
    ws = windows([sig("1", "a", 0, "t", episode="e"), sig("2", "b", 7200, "t", episode="e"),
                  sig("3", "c", 20000, episode="e")], gap_seconds=600)
    assert ids(ws) == [["1", "2"], ["3"]]


def test_a_long_pause_inside_an_episode_starts_a_new_window():
    ws = windows([sig("1", "a", 0, episode="e"), sig("2", "b", 300, episode="e"), sig("3", "c", 5000, episode="e")],
                 gap_seconds=400)
    assert ids(ws) == [["1", "2"], ["3"]]


def test_a_message_outside_any_episode_is_a_window_of_its_own():
    assert ids(windows([sig("1", "a", 0), sig("2", "b", 1)], gap_seconds=600)) == [["1"], ["2"]]


def test_hiding_without_a_vendor_subject_stays_below_medium():
    verdict = assess([sig("1", "a", 0, None, "CONCEALMENT", "SECRECY"), sig("2", "b", 10, None, "EVASION")])
    assert verdict.score <= 0.39 and verdict.severity == "low" and not verdict.gated
    assert "capped below medium" in verdict.explanation


def test_signals_split_across_speakers_combine():
    verdict = assess([sig("1", "a", 0, None, "THIRD_PARTY_API"), sig("2", "b", 10, None, "CONCEALMENT"),
                      sig("3", "c", 20, None, "SECRECY")])
    assert verdict.gated and verdict.severity in ("medium", "high")
    assert verdict.speakers == ["a", "b", "c"]
    assert "third party api" in verdict.explanation and "by b" in verdict.explanation


def test_legitimacy_pulls_the_score_down():
    """Said by who proposed the hiding ("legal signed off on it"), innocence qualifies it."""
    base = [sig("1", "a", 0, None, "THIRD_PARTY_API"), sig("2", "b", 10, None, "CONCEALMENT")]
    plain = assess(base)
    mitigated = assess([*base, sig("3", "b", 20, None, "LEGITIMACY")])
    assert mitigated.score < plain.score


def test_legitimacy_said_about_something_else_does_not():
    """A bystander's "approved" that answers nothing of the hiding talk is innocence of something else."""
    base = [sig("1", "a", 0, None, "THIRD_PARTY_API"), sig("2", "b", 10, None, "CONCEALMENT")]
    assert assess([*base, sig("3", "c", 20, None, "LEGITIMACY")]).score == assess(base).score


def test_one_generic_data_word_does_not_tie_hiding_to_a_vendor():
    verdict = assess([sig("1", "a", 0, None, "API_DATA"), sig("2", "b", 10, None, "CONCEALMENT")])
    assert not verdict.gated and verdict.severity == "low"


def test_two_kinds_of_api_data_evidence_do():
    data = sig("1", "a", 0, None, "API_DATA")
    data.matches.append({**data.matches[0], "rule": "api_data.other"})
    verdict = assess([data, sig("2", "b", 10, None, "CONCEALMENT")])
    assert verdict.gated


def test_negation_and_hypothetical_cues_never_score():
    base = [sig("1", "a", 0, None, "THIRD_PARTY_API"), sig("2", "b", 10, None, "CONCEALMENT")]
    assert assess([*base, sig("3", "c", 20, None, "NEGATION", "HYPOTHETICAL")]).score == assess(base).score


def test_each_distinct_legitimacy_term_counts():
    base = [sig("1", "a", 0, None, "THIRD_PARTY_API"), sig("2", "b", 10, None, "CONCEALMENT")]
    one = sig("3", "b", 20, None, "LEGITIMACY")
    two = sig("3", "b", 20, None, "LEGITIMACY")
    two.matches.append({**two.matches[0], "term": "dpa", "start": 5, "end": 8})
    assert assess([*base, two]).score < assess([*base, one]).score


def ruled(mid, author, t, rule, category, parent=None, sure=True):
    """A signal with one match of a named rule (the origin gate looks at rule ids); one part, surely linked."""
    match = {"rule": rule, "category": category, "term": rule, "message_id": mid, "start": 0, "end": 1}
    return Signal(mid, author, t, None, [match], parent=parent, sure=sure, part="p")


@pytest.mark.parametrize("data_rule, hiding_rule, hiding_category", [
    ("data.provenance", "conceal.sanitize_source", "CONCEALMENT"),  # "scrub the lineage" with model data
    ("data.provenance_zh", "conceal.whitewash_zh", "CONCEALMENT"),
    ("data.model_outputs", "conceal.claim_origin", "CONCEALMENT"),  # "don't name the model" over its outputs
])
def test_concealing_where_model_data_came_from_is_tied_to_its_subject(data_rule, hiding_rule, hiding_category):
    verdict = assess([ruled("1", "a", 0, data_rule, "API_DATA"), ruled("2", "b", 10, hiding_rule, hiding_category)])
    assert verdict.gated and verdict.severity != "low"


@pytest.mark.parametrize("signals", [
    # origin words with secrecy or evasion, but no concealment: not enough without a vendor
    [("data.provenance", "API_DATA"), ("secrecy.offline", "SECRECY"), ("evade.accounts", "EVASION")],
    # concealment of an origin with no model data in the window
    [("conceal.claim_origin", "CONCEALMENT"), ("secrecy.offline", "SECRECY")],
    # one data word and concealment that says nothing about origin
    [("data.training_use", "API_DATA"), ("conceal.sanitize_source", "CONCEALMENT")],
])
def test_origin_talk_needs_data_and_concealment_together(signals):
    verdict = assess([ruled(str(i), "a", i, rule, category) for i, (rule, category) in enumerate(signals)])
    assert not verdict.gated and verdict.severity == "low"


def test_two_records_with_one_message_id_stay_two_hits():
    from analyzers.cases import detect_conversation

    def candidate(author, text_rule, category, t):
        doc = {"platform": "mbox", "conversation": {"id": "c", "name": "c", "type": "channel"},
               "message": {"id": "dup@x", "text": "t"}, "author": {"id": author, "name": author},
               "thread": {"id": None}, "timestamp": {"epoch": t}, "@timestamp": f"2024-05-01T10:00:0{int(t)}.000Z",
               "episode": {"id": "e1", "parent": None, "cue": "start"}}
        match = {"rule": text_rule, "category": category, "term": "x", "message_id": "dup@x", "start": 0, "end": 1}
        return {"doc": doc, "matches": [match], "entities": [], "context": []}

    profile = {"api.x": RuleInfo(0.6, "THIRD_PARTY_API"), "conceal.x": RuleInfo(0.6, "CONCEALMENT")}
    hits, _ = detect_conversation([candidate("a", "api.x", "THIRD_PARTY_API", 1),
                                   candidate("b", "conceal.x", "CONCEALMENT", 2)], "v", profile)
    assert sorted(h["author"]["name"] for h in hits) == ["a", "b"]
    assert len({h["hit"]["id"] for h in hits}) == 2


def test_everyday_hiding_words_never_open_the_gate_even_beside_a_vendor():
    """'quota' next to 'OpenAI', 'DM me' next to 'Gemini': ordinary talk, however close."""
    for weak in ("evade.weak", "secrecy.weak"):
        vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
        verdict = assess([vendor, ruled("2", "b", 5, weak, weak.split(".")[0].replace("evade", "EVASION")
                                        .replace("secrecy", "SECRECY"))])
        assert not verdict.gated and verdict.severity == "low", weak
        assert "everyday talk" in verdict.explanation


def test_everyday_words_add_weight_once_real_hiding_ties_the_window():
    base = [ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API"), ruled("2", "b", 5, "conceal.r", "CONCEALMENT")]
    plain = assess(base)
    boosted = assess([*base, ruled("3", "c", 9, "evade.weak", "EVASION")])
    assert plain.gated and boosted.gated and boosted.score > plain.score


def test_everyday_data_words_do_not_name_the_subject():
    """'the batch' and 'sft-0311-a' are two kinds of data word, but neither says whose data it is."""
    window = [ruled("1", "a", 0, "data.weak", "API_DATA"), ruled("2", "a", 1, "data.training_use", "API_DATA"),
              ruled("3", "b", 5, "conceal.r", "CONCEALMENT")]
    assert not assess(window).gated
    assert assess(window, weak=set()).gated


def test_one_kind_of_data_evidence_said_in_two_languages_is_still_one_kind():
    window = [ruled("1", "a", 0, "data.training_use", "API_DATA"),
              ruled("2", "a", 1, "data.training_use_zh", "API_DATA"), ruled("3", "b", 5, "conceal.r", "CONCEALMENT")]
    assert not assess(window).gated


def test_the_explanation_says_how_the_evidence_is_linked():
    a = Signal("1", "a", 0, None, [{"rule": "api.v", "category": "THIRD_PARTY_API", "term": "GPT-4o",
                                     "message_id": "1", "start": 0, "end": 6}], episode="e", part="e")
    b = Signal("2", "b", 9, None, [{"rule": "conceal.r", "category": "CONCEALMENT", "term": "relabel",
                                     "message_id": "2", "start": 0, "end": 7}], episode="e", parent="1",
               cue="addresses", sure=True, part="e")
    verdict = assess([a, b])
    assert "linked by mention" in verdict.explanation
    assert verdict.gist == "Concealment about 'GPT-4o'"


def test_hiding_and_subject_joined_only_by_a_guess_stay_below_medium():
    """A speaker going on, or a shared word, in a busy channel is a guess: it may group messages into one
    exchange, but it cannot carry a vendor named in one part to hiding talk in another."""
    vendor = Signal("1", "a", 0, None, [{"rule": "api.v", "category": "THIRD_PARTY_API", "term": "OpenAI",
                                          "message_id": "1", "start": 0, "end": 6}], episode="e", part="e")
    hiding = Signal("2", "a", 60, None, [{"rule": "conceal.r", "category": "CONCEALMENT", "term": "scrub",
                                           "message_id": "2", "start": 0, "end": 5}], episode="e", parent="1",
                    cue="same-author", sure=False, part="x")
    verdict = assess([vendor, hiding])
    assert not verdict.gated and verdict.severity == "low"
    hiding.part, hiding.sure = "e", True
    assert assess([vendor, hiding]).gated


def test_two_kinds_of_everyday_hiding_words_tied_to_the_subject_count_as_hiding():
    """"用kimi接口跑数据的事周会上要说吗" answered by "私聊" and later "删了": each everyday, together telling."""
    vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
    private = ruled("2", "b", 5, "secrecy.weak", "SECRECY", parent="1")
    deleted = ruled("3", "b", 9, "conceal.erase_weak", "CONCEALMENT", parent="1")
    weak = {"secrecy.weak", "conceal.erase_weak"}
    assert assess([vendor, private, deleted], weak=weak).gated
    assert not assess([vendor, private], weak=weak).gated  # one kind is not enough
    # Two links away (an answer to the answer) is the thread going on, not the subject's own reply.
    farther = ruled("3", "b", 9, "conceal.erase_weak", "CONCEALMENT", parent="2")
    assert not assess([vendor, private, farther], weak=weak).gated
    unlinked = ruled("2", "b", 5, "secrecy.weak", "SECRECY", parent=None)
    assert not assess([vendor, unlinked, ruled("3", "b", 9, "conceal.erase_weak", "CONCEALMENT")], weak=weak).gated


def test_a_disclosure_answered_by_concealment_no_longer_clears_the_exchange():
    vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
    disclosure = ruled("2", "a", 5, "legit.disclosed", "LEGITIMACY", parent="1")
    cut = ruled("3", "b", 9, "conceal.r", "CONCEALMENT", parent="2")
    kept = assess([vendor, disclosure, ruled("3", "a", 9, "conceal.r", "CONCEALMENT", parent="1")])
    withdrawn = assess([vendor, disclosure, cut])
    assert withdrawn.score > kept.score


def test_everyday_hiding_words_a_message_itself_explains_are_not_hiding():
    """"调用豆包接口前一定要先做 PII 脱敏" beside "日志自动删除": masking personal data and retention, not hiding."""
    vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
    vendor.matches += [{**vendor.matches[0], "rule": "conceal.mask_weak", "category": "CONCEALMENT"},
                       {**vendor.matches[0], "rule": "legit.pii", "category": "LEGITIMACY"}]
    deleted = ruled("2", "a", 5, "conceal.erase_weak", "CONCEALMENT", parent="1")
    weak = {"conceal.mask_weak", "conceal.erase_weak"}
    assert not assess([vendor, deleted], weak=weak).gated
    vendor.matches.pop()  # without its own reason, the same two kinds are tied to the vendor
    assert assess([vendor, deleted], weak=weak).gated


def corroborating(subject_parent: str | None) -> list[Signal]:
    """Two kinds of everyday hiding from two people in an exchange aware of a rule, and a vendor named."""
    return [ruled("1", "a", 0, "secrecy.weak", "SECRECY"),
            ruled("2", "b", 5, "conceal.erase_weak", "CONCEALMENT", parent="1"),
            ruled("3", "a", 9, "policy.r", "POLICY_AWARENESS", parent="2"),
            ruled("4", "c", 14, "policy.r2", "POLICY_AWARENESS", parent="3"),
            ruled("5", "d", 20, "api.vendor", "THIRD_PARTY_API", parent=subject_parent)]


def test_corroborated_everyday_hiding_must_touch_its_subject():
    """"take this offline", "I'll delete my local copy", "is there an audit trail?", then a reading-group post
    on GPT-written text four turns on: everyday words about something else. Said to the vendor message, they
    are about it."""
    weak = {"secrecy.weak", "conceal.erase_weak"}
    assert not assess(corroborating("4"), weak=weak).gated
    assert assess(corroborating("2"), weak=weak).gated


def test_a_check_said_as_passed_is_no_awareness_of_breaking_a_rule():
    """"legal confirmed, it's in the DPA annex" names the check as done: it does not make everyday words
    ("delete", "dm me") corroborate each other."""
    signals = corroborating("2")
    for s in signals[2:4]:
        s.matches.append({**s.matches[0], "rule": "legit.r", "category": "LEGITIMACY"})
    assert not assess(signals, weak={"secrecy.weak", "conceal.erase_weak"}).gated


def test_hiding_a_message_explains_itself_does_not_borrow_a_vendor_named_elsewhere():
    """"scrub the real phone numbers from the test fixtures before merging" in a thread where someone else
    asked about the OpenAI quota is PII work, not hiding the vendor; "scrub the GPT-4 mentions from the customer
    data" names its object itself and still ties hiding to the vendor, whatever its other words."""
    vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
    scrub = ruled("2", "b", 5, "conceal.scrub", "CONCEALMENT", parent="1")
    scrub.matches.append({**scrub.matches[0], "rule": "legit.pii", "category": "LEGITIMACY"})
    assert not assess([vendor, scrub]).gated
    scrub.matches.append({**scrub.matches[0], "rule": "api.vendor", "category": "THIRD_PARTY_API"})
    assert assess([vendor, scrub]).gated


def test_secrecy_about_its_own_news_does_not_borrow_a_vendor_named_elsewhere():
    """"off the record: the new chairs are amazing" answered in an exchange where someone named GPT-4o keeps
    its own news quiet; "keep this between the three of us" points back at what it answers, and "off the
    record" with nothing else said is about what it answers too: both tie secrecy to the vendor."""
    def exchange(says: int, refers: bool) -> list[Signal]:
        vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
        quiet = ruled("2", "b", 5, "secrecy.offline", "SECRECY", parent="1")
        quiet.said, quiet.refers = frozenset(f"word{i}" for i in range(says)), refers
        return [vendor, quiet]

    assert not assess(exchange(says=4, refers=False)).gated
    assert assess(exchange(says=4, refers=True)).gated
    assert assess(exchange(says=0, refers=False)).gated


def test_secrecy_about_what_the_vendor_message_speaks_of_is_about_it():
    """"the link pointed at the DeepSeek dump" answered by "keep the dump location between the three of us":
    the secrecy says words of its own, but they are the vendor message's words, so it is about that."""
    vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
    vendor.said = frozenset({"link", "pointed", "dump", "public", "channel"})
    quiet = ruled("2", "b", 5, "secrecy.offline", "SECRECY", parent="1")
    quiet.said = frozenset({"keep", "location", "three"})
    assert not assess([vendor, quiet]).gated
    quiet.said |= {"dump"}
    assert assess([vendor, quiet]).gated


def test_secrecy_beside_other_hiding_still_counts():
    """Its own words do not excuse secrecy said together with other hiding in the same message."""
    vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
    quiet = ruled("2", "b", 5, "secrecy.offline", "SECRECY", parent="1")
    quiet.matches.append({**quiet.matches[0], "rule": "conceal.scrub", "category": "CONCEALMENT"})
    quiet.said = frozenset(f"word{i}" for i in range(6))
    assert assess([vendor, quiet]).gated


def test_a_quota_is_no_awareness_of_breaking_a_rule():
    """Everyday hiding words corroborate each other only in an exchange that knows a rule is there; "we hit the
    quota again" (a weak rule) is ordinary work."""
    signals = corroborating("2")
    weak = {"secrecy.weak", "conceal.erase_weak", "policy.r", "policy.r2"}
    assert assess(signals, weak={"secrecy.weak", "conceal.erase_weak"}).gated
    assert not assess(signals, weak=weak).gated


def test_paraphrasing_hides_only_what_it_names_or_points_back_at():
    """Paraphrasing is everyday augmentation ("paraphrase augmentation for the router" in a thread where someone
    compares GPT-4o's costs); it hides the vendor's outputs when its message names them, or points back
    ("paraphrase them") at the message of its exchange that just did; not at one named long before."""
    def exchange(refers: bool, named: bool = False, position: int = 2) -> list[Signal]:
        vendor = ruled("1", "a", 0, "api.vendor", "THIRD_PARTY_API")
        rewrite = ruled("2", "b", 5, "conceal.rewrite_technique", "CONCEALMENT", parent="1")
        if named:
            rewrite.matches.append({**rewrite.matches[0], "rule": "api.vendor", "category": "THIRD_PARTY_API"})
        vendor.position, rewrite.position, rewrite.refers = 1, position, refers
        return [vendor, rewrite]

    def scored(window):
        profile = {m["rule"]: RuleInfo(0.45, m["category"], m["rule"] == "conceal.rewrite_technique",
                                       with_subject=m["rule"] == "conceal.rewrite_technique")
                   for s in window for m in s.matches}
        return assess_with(window, profile)

    assert not scored(exchange(refers=False)).gated
    assert scored(exchange(refers=True)).gated
    assert not scored(exchange(refers=True, position=40)).gated  # "them" is not what was said 39 messages ago
    assert scored(exchange(refers=False, named=True)).gated


def test_secrecy_answering_secrecy_about_its_own_news_keeps_that_news_quiet():
    """"my lips are sealed, this stays off the record" in the thread of "off the record, the vending machine
    takes Alipay now" points back at that news, not at a vendor someone names in the same thread."""
    joke = ruled("1", "a", 0, "secrecy.offline", "SECRECY")
    joke.said = frozenset({"vending", "machine", "takes", "alipay"})
    vendor = ruled("2", "b", 5, "api.vendor", "THIRD_PARTY_API", parent="1")
    vendor.said = frozenset({"fallback", "slow", "drafts"})
    sealed = ruled("3", "c", 9, "secrecy.offline", "SECRECY", parent="2")
    sealed.refers, sealed.thread = True, "1"
    joke.position, vendor.position, sealed.position = 1, 2, 3
    assert not assess([joke, vendor, sealed]).gated
    sealed.thread = None  # answering the vendor message alone, "this" is what the vendor message said
    assert assess([joke, vendor, sealed]).gated
