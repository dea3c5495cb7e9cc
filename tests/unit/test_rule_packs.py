"""Every shipped rule checked as one set (after elastic/detection-rules' tests/test_all_rules.py): an id's
prefix says its category, no term belongs to two rules, and every rule id the code names exists. Each pack's
schema and self-tests are `chatforensics rules check` (tests/unit/test_rules_and_matcher.py)."""

from __future__ import annotations

import ast
import re
from collections import Counter, defaultdict
from pathlib import Path

from analyzers.normalize import fold
from analyzers.rules import load_ruleset

ROOT = Path(__file__).resolve().parents[2]
RULES = load_ruleset().rules
IDS = {r.id for r in RULES}

# Terms two shipped rules share, each with why it stays. Editing a pack changes the ruleset version that
# every output carries, so these wait for a change meant to change detection. A new overlap fails, and so
# does a listed one that has gone.
SHARED_TERMS = {
    "old tenant": ({"evade.accounts", "evade.accounts_zh"}, "English words said in Chinese messages; one family"),
    "sandbox org": ({"evade.accounts", "evade.accounts_zh"}, "English words said in Chinese messages; one family"),
    "查重": ({"conceal.rewrite_zh", "policy.awareness_zh"},
             "a plagiarism check: getting past it is hiding, knowing of it is awareness"),
    "风控": ({"evade.accounts_zh", "policy.awareness_zh"},
             "a risk-control review: slipping past it is evasion, knowing of it is awareness"),
}


def _prefix(rule_id: str) -> str:
    return rule_id.split(".", 1)[0]


def test_an_id_prefix_names_one_category_and_a_category_one_prefix():
    categories: dict[str, Counter] = defaultdict(Counter)
    for rule in RULES:
        categories[_prefix(rule.id)][rule.category] += 1
    usual = {prefix: counts.most_common(1)[0][0] for prefix, counts in categories.items()}
    outliers = [f"{r.id} is {r.category}, the other {_prefix(r.id)}.* rules {usual[_prefix(r.id)]}"
                for r in RULES if r.category != usual[_prefix(r.id)]]
    assert not outliers
    twice = {c: sorted(p for p in usual if usual[p] == c) for c in usual.values() if list(usual.values()).count(c) > 1}
    assert not twice, f"categories named by two prefixes: {twice}"


def test_no_term_belongs_to_two_rules_but_the_listed_ones():
    owners: dict[str, set[str]] = defaultdict(set)
    for rule in RULES:
        for term in rule.terms:
            owners[fold(term.rstrip("*"))[0]].add(rule.id)  # the prefilter's key for the term
    shared = {term: ids for term, ids in owners.items() if len(ids) > 1}
    assert shared == {term: ids for term, (ids, _why) in SHARED_TERMS.items()}


def _rule_ids_in_code() -> dict[str, str]:
    """String literals in analyzers/ and pipelines/ shaped like a rule id or an id prefix ("legit.")."""
    shaped = re.compile(rf"(?:{'|'.join(sorted({_prefix(i) for i in IDS}))})\.[a-z0-9_]*")
    found = {}
    for path in sorted([*ROOT.glob("analyzers/**/*.py"), *ROOT.glob("pipelines/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and shaped.fullmatch(node.value):
                found[node.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_rule_id_the_code_names_exists():
    named = _rule_ids_in_code()
    assert "legit.disclosed" in named  # the scan finds them
    missing = {literal: where for literal, where in named.items()
               if literal not in IDS and not (literal.endswith(".") and any(i.startswith(literal) for i in IDS))}
    assert not missing, f"rule ids named in code that no shipped rule has: {missing}"
