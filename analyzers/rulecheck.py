"""`chatforensics rules check`: every pack loads, and every rule does what its examples say."""

from __future__ import annotations

from analyzers.matcher import Matcher
from analyzers.normalize import detect_language
from analyzers.rules import LANGUAGES, Rule, RuleError, load_ruleset


def check_ruleset(rules_dir=None) -> tuple[list[str], str]:
    try:
        ruleset = load_ruleset(rules_dir)
        matcher = Matcher(ruleset)
    except RuleError as exc:
        return [str(exc)], "rule packs do not load"
    problems = []
    examples = 0
    for rule in ruleset.rules:
        problems += _language_problems(rule)
        for sentence in rule.examples_match:
            examples += 1
            if rule.id not in {m.rule for m in matcher.match(sentence)}:
                problems.append(f"{rule.id}: should match {sentence!r}")
        for sentence in rule.examples_no_match:
            examples += 1
            if rule.id in {m.rule for m in matcher.match(sentence)}:
                problems.append(f"{rule.id}: should not match {sentence!r}")
    summary = (f"{len(ruleset.rules)} rules in {len(ruleset.packs)} packs, ruleset {ruleset.version}: "
               f"{examples} examples, {len(problems)} failing")
    return problems, summary


def _language_problems(rule: Rule) -> list[str]:
    """A rule's languages are the ones its match examples are said in (a mixed example shows each)."""
    said = {detect_language(sentence) for sentence in rule.examples_match}
    problems = [f"{rule.id}: an example is in {lang}, not one of its languages {list(rule.languages)}"
                for lang in sorted(said & set(LANGUAGES) - set(rule.languages))]
    if "mixed" not in said:
        problems += [f"{rule.id}: no example in {lang}, one of its languages" for lang in rule.languages
                     if lang not in said]
    return problems
