"""`chatforensics rules check`: every pack loads, and every rule does what its examples say."""

from __future__ import annotations

from analyzers.matcher import Matcher
from analyzers.rules import RuleError, load_ruleset


def check_ruleset(rules_dir=None) -> tuple[list[str], str]:
    try:
        ruleset = load_ruleset(rules_dir)
        matcher = Matcher(ruleset)
    except RuleError as exc:
        return [str(exc)], "rule packs do not load"
    problems = []
    examples = 0
    for rule in ruleset.rules:
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
