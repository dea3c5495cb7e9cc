"""Full matching for candidate messages: terms, anchored regexes, spaCy token patterns.

Runs only on what the prefilter let through, so it may be slower. Every match is
reported on the original text (start/end), with the rule, its category and the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.normalize import fold, to_original
from analyzers.prefilter import Prefilter
from analyzers.rules import Rule, RuleSet


@dataclass(frozen=True, slots=True)
class Match:
    rule: str
    category: str
    term: str  # the words as written in the message
    start: int
    end: int

    def as_dict(self, message_id: str) -> dict:
        return {
            "rule": self.rule,
            "category": self.category,
            "term": self.term,
            "message_id": message_id,
            "start": self.start,
            "end": self.end,
        }


class Matcher:
    def __init__(self, ruleset: RuleSet, prefilter: Prefilter | None = None):
        self.ruleset = ruleset
        self.prefilter = prefilter or Prefilter(ruleset)
        self._rules: dict[str, Rule] = ruleset.by_id()
        self._regex = {r.id: [re.compile(p) for p in r.regex] for r in ruleset.rules if r.regex}

    def match(self, text: str) -> list[Match]:
        folded, offsets = fold(text)
        found: dict[tuple[str, int, int], Match] = {}
        woken: set[str] = set()
        for hit in self.prefilter.scan_folded(folded):
            if hit.anchor:
                woken.add(hit.rule)
                continue
            self._keep(found, hit.rule, text, offsets, hit.start, hit.end)
        for rule_id in sorted(woken):
            for pattern in self._regex.get(rule_id, ()):
                for m in pattern.finditer(folded):
                    if m.end() > m.start():
                        self._keep(found, rule_id, text, offsets, m.start(), m.end())
        ordered = sorted(found.values(), key=lambda m: (m.start, -m.end, m.rule))
        # '4o' inside 'GPT-4o' is the same evidence twice: keep the longest span per rule.
        kept: list[Match] = []
        for m in ordered:
            if not any(k.rule == m.rule and k.start <= m.start and m.end <= k.end for k in kept):
                kept.append(m)
        return kept

    def _keep(self, found, rule_id, text, offsets, start, end) -> None:
        o_start, o_end = to_original(offsets, start, end)
        rule = self._rules[rule_id]
        found[(rule_id, o_start, o_end)] = Match(rule_id, rule.category, text[o_start:o_end], o_start, o_end)
