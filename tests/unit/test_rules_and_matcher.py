import pytest

from analyzers.matcher import Matcher
from analyzers.normalize import detect_language, fold
from analyzers.rulecheck import check_ruleset
from analyzers.rules import RuleError, load_ruleset


@pytest.fixture(scope="module")
def matcher():
    return Matcher(load_ruleset())


def test_every_shipped_pack_passes_its_own_examples():
    problems, summary = check_ruleset()
    assert problems == [], summary


def rules_of(matcher, text):
    return {m.rule for m in matcher.match(text)}


@pytest.mark.parametrize("text, rule, term", [
    ("we must desensitize the GPT-4o outputs", "conceal.sanitize_source", "desensitize"),
    ("ＧＰＴ－４o output", "api.vendor_openai", "ＧＰＴ－４o"),
    ("use key sk-proj-abcdefghijklmnopqrs123 for now", "api.endpoint_or_key", "sk-proj-abcdefghijklmnopqrs123"),
])
def test_matches_report_the_words_as_written(matcher, text, rule, term):
    found = [m for m in matcher.match(text) if m.rule == rule]
    assert found and found[0].term == term and text[found[0].start:found[0].end] == term


@pytest.mark.parametrize("text", ["scrum at ten", "the sk-learn docs", "open a ticket", "bitmask of flags"])
def test_word_boundaries_keep_lookalikes_out(matcher, text):
    assert not {r for r in rules_of(matcher, text) if not r.startswith("legit")}


def test_fold_maps_offsets_back_to_the_original():
    folded, offsets = fold("ﬁne-tune ＧＰＴ")
    assert folded == "fine-tune gpt" and offsets is not None and offsets[0] == 0 and offsets[2] == 1


@pytest.mark.parametrize("text, language", [
    ("let's take this offline", "en"), ("用Claude的接口生成的数据要先脱敏", "zh"),
    ("GPT 的 output 要先做 desensitization", "mixed"), ("12:30", "und"),
])
def test_language_routing(text, language):
    assert detect_language(text) == language


def write_pack(folder, body):
    folder.mkdir(exist_ok=True)
    (folder / "pack.yaml").write_text(body)
    return folder


def test_duplicate_rule_ids_are_refused(tmp_path):
    rule = ("  - {id: api.x, category: THIRD_PARTY_API, languages: [en], weight: 0.3, terms: [x],"
            " examples: {match: [x]}}\n")
    folder = write_pack(tmp_path / "r", "pack: p\nversion: '1'\nrules:\n" + rule + rule)
    with pytest.raises(RuleError, match="duplicate rule id api.x"):
        load_ruleset(folder)


@pytest.mark.parametrize("rule, error", [
    ("{id: api.x, category: NOPE, languages: [en], weight: 0.3, terms: [x], examples: {match: [x]}}", "category"),
    ("{id: api.x, category: API_DATA, languages: [en], weight: 3, terms: [x], examples: {match: [x]}}", "weight"),
    ("{id: api.x, category: API_DATA, languages: [en], weight: 0.3, regex: ['x'], examples: {match: [x]}}",
     "anchors"),
    ("{id: api.x, category: API_DATA, languages: [en], weight: 0.3, terms: [x]}", "examples"),
])
def test_schema_errors_name_the_rule(tmp_path, rule, error):
    folder = write_pack(tmp_path / "r", f"pack: p\nversion: '1'\nrules:\n  - {rule}\n")
    with pytest.raises(RuleError, match=error):
        load_ruleset(folder)


@pytest.mark.parametrize("body, error", [
    ("pack: p\nversion: '1'\nrule:\n  - {id: api.x}\n", r"pack.yaml: unknown keys \['rule'\]"),
    ("pack: p\nversion: '1'\n", "pack.yaml: no 'rules' list"),
    ("pack: p\nversion: '1'\nrules: []\n", "pack.yaml: 'rules' is empty"),
    ("pack: p\nversion: '1'\nrules:\n  - {id: api.x, category: API_DATA, languages: [en], weight: 0.3, term: [x],"
     " examples: {match: [x]}}\n", r"pack.yaml rule #1 \[api.x\]: unknown keys \['term'\]"),
])
def test_malformed_packs_are_refused_naming_file_and_key(tmp_path, body, error):
    with pytest.raises(RuleError, match=error):
        load_ruleset(write_pack(tmp_path / "r", body))


def test_a_folder_without_packs_is_refused(tmp_path):
    (tmp_path / "r").mkdir()
    with pytest.raises(RuleError, match="no rule packs"):
        load_ruleset(tmp_path / "r")


@pytest.mark.parametrize("languages, examples, problem", [
    ("[en, zh]", "[the foo]", "api.x: no example in zh, one of its languages"),
    ("[en]", "[the foo, 用foo]", "api.x: an example is in zh, not one of its languages ['en']"),
])
def test_rules_check_reports_examples_outside_the_rules_languages(tmp_path, languages, examples, problem):
    folder = write_pack(tmp_path / "r", f"pack: p\nversion: '1'\nrules:\n  - {{id: api.x, category: API_DATA, "
                                        f"languages: {languages}, weight: 0.3, terms: [foo], "
                                        f"examples: {{match: {examples}}}}}\n")
    assert check_ruleset(folder)[0] == [problem]


def test_rules_check_reports_examples_that_misbehave(tmp_path):
    folder = write_pack(tmp_path / "r", "pack: p\nversion: '1'\nrules:\n  - {id: api.x, category: API_DATA, "
                                        "languages: [en], weight: 0.3, terms: [foo], "
                                        "examples: {match: [bar], no_match: [foo]}}\n")
    problems, _ = check_ruleset(folder)
    assert problems == ["api.x: should match 'bar'", "api.x: should not match 'foo'"]


@pytest.mark.parametrize("text, rule", [
    ("We scrubbed the GPT rows", "conceal.sanitize_source"),
    ("she is relabelling the rows as human", "conceal.relabel"),
    ("the answers were paraphrased twice", "conceal.rewrite_technique"),
    ("Stripping the source tags before delivery", "conceal.strip_provenance"),
    ("then we renamed the source table", "conceal.rename"),
])
def test_token_patterns_see_through_inflections(matcher, text, rule):
    assert rule in rules_of(matcher, text)


@pytest.mark.parametrize("text, rules", [
    ("用Claude的接口生成的数据要先脱敏再洗白", {"api.vendor_other", "conceal.whitewash_zh"}),
    ("这事别在群里说了，私聊", {"secrecy.channel_zh"}),
    ("GPT 的 output 要先做 desensitization", {"api.vendor_openai", "conceal.sanitize_source"}),
    ("通义千问的输出改写一下，别让人看出来源",
     {"api.vendor_zh", "conceal.rewrite_technique_zh", "conceal.whitewash_zh"}),
])
def test_chinese_and_code_switched_text_needs_no_spaces(matcher, text, rules):
    assert rules <= rules_of(matcher, text)


@pytest.mark.parametrize("text, cancelled", [
    ("we must never scrub the source or paraphrase vendor outputs", "conceal.rewrite_technique"),
    ("禁止通过改写绕过供应商条款", "conceal.rewrite_technique_zh"),
    ("which of these is a violation? (b) paraphrasing GPT outputs so nobody can tell", "conceal.rewrite_technique"),
])
def test_negated_or_hypothetical_hiding_is_cancelled(matcher, text, cancelled):
    found = rules_of(matcher, text)
    assert cancelled not in found and found & {"negation.never", "hypothetical.question"}


def test_negation_only_reaches_forward_in_its_sentence(matcher):
    found = rules_of(matcher, "GPT never lies. Let's paraphrase the outputs anyway")
    assert "conceal.rewrite_technique" in found


def test_a_bad_token_pattern_is_a_rule_error(tmp_path):
    folder = write_pack(tmp_path / "r", "pack: p\nversion: '1'\nrules:\n  - {id: conceal.x, category: CONCEALMENT, "
                                        "languages: [en], weight: 0.3, anchors: [x], tokens: [[{NOPE: 1}]], "
                                        "examples: {match: [x]}}\n")
    problems, summary = check_ruleset(folder)
    assert "conceal.x" in problems[0] and "do not load" in summary


def test_typographic_quotes_match_like_ascii(matcher):
    curly = [(m.rule, m.term) for m in matcher.match("don’t tell anyone")]
    straight = [(m.rule, m.term.replace("’", "'")) for m in matcher.match("don't tell anyone")]
    assert curly and [(r, t.replace("’", "'")) for r, t in curly] == straight


@pytest.mark.parametrize("text, rule", [
    # vendors referred to without a name
    ("most of it came from the upstream provider", "api.euphemism"),
    ("the teacher's logits are cached on the shared disk", "api.euphemism"),
    ("that endpoint we're not allowed to use is half the price", "api.euphemism"),
    ("honestly it reads like you-know-who wrote it", "api.euphemism"),
    ("先拿人家的接口跑一批", "api.euphemism_zh"),
    # where data came from
    ("the buyer will ask about data lineage", "data.provenance"),
    ("客户要看数据出处", "data.provenance_zh"),
    # claims of another origin, omissions
    ("we can just say our contractors wrote them", "conceal.relabel"),
    ("label the whole batch as in-house", "conceal.relabel"),
    ("make them read like humans wrote them", "conceal.claim_origin"),
    ("ship the writeup without naming the vendor", "conceal.claim_origin"),
    ("please don't write the source in the ticket", "conceal.claim_origin"),
    ("cut the generator details out of the appendix", "conceal.claim_origin"),
    # evasion through other accounts, entities, books and proxies
    ("we could shard the calls over five orgs", "evade.accounts"),
    ("use the subsidiary's account for the big batch", "evade.accounts"),
    ("bill it under consulting this quarter", "evade.accounts"),
    ("tunnel the batch through a vpn in another region", "evade.accounts"),
    # secrecy
    ("going to nuke my messages after lunch", "secrecy.offline"),
    ("let's jump on a call instead of typing", "secrecy.channel"),
    ("keep finance out of this one", "secrecy.offline"),
])
def test_indirect_talk_is_recognised(matcher, text, rule):
    assert rule in rules_of(matcher, text)


@pytest.mark.parametrize("text", [
    "the teacher's lounge is closed on friday",
    "make it look like the figma mock",
    "don't put secrets in the ticket, use the vault",
    "keep credentials out of the repo",
    "rotate the keys and split the work across two sprints",
    "route traffic through the reverse proxy",
    "expense the offsite dinner",
    "delete the duplicate messages from the table",
    "say hi to the public speaking club",
    "tell them the web app is back",
    "keep a paper trail for the audit",
    "don't cc the whole team, just me",
    "update the billing contact on the org",
    "tie it back to the OKRs",
    "that's the line that throws",
    "so latency doesn't spike again",
    "重复数据已删，写上自己的名字",
])
def test_everyday_lookalikes_of_indirect_talk_stay_out(matcher, text):
    """Everyday words may meet a weak rule (they never open the gate alone), never a real hiding one."""
    hiding = {"conceal", "evade", "secrecy"}
    weak = {r.id for r in matcher.ruleset.rules if r.weak}
    assert not {r for r in rules_of(matcher, text)
                if (r.split(".")[0] in hiding or r == "api.euphemism") and r not in weak}, text


def test_a_legitimacy_word_inside_a_hiding_phrase_is_the_hiding_phrase():
    from analyzers.matcher import Matcher
    from analyzers.rules import load_ruleset

    matcher = Matcher(load_ruleset())
    withheld = {m.rule for m in matcher.match("we don't disclose that we used GPT-4 outputs")}
    assert "conceal.claim_origin" in withheld and "legit.disclosed" not in withheld
    assert "legit.disclosed" in {m.rule for m in matcher.match("we disclose it in the model card")}


def test_a_legitimacy_word_inside_the_name_of_a_check_names_the_check():
    """"the DPA annex", "our subprocessor list": what the customer checks, not that it passed."""
    from analyzers.matcher import Matcher
    from analyzers.rules import load_ruleset

    matcher = Matcher(load_ruleset())
    named = {m.rule for m in matcher.match("the DPA annex pulls from the same subprocessor list")}
    assert "policy.scrutiny" in named and not any(r.startswith("legit.") for r in named)
    assert any(m.rule.startswith("legit.") for m in matcher.match("we signed a DPA with them last year"))
