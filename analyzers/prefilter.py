"""The cheap first pass every message goes through.

One Aho-Corasick automaton over the folded text finds every rule term and every
anchor of the regex/token rules in a single scan. Most messages match nothing and
cost a few microseconds; only the rest go on to the matchers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from analyzers.normalize import fold
from analyzers.rules import HIDING, SUBJECT, RuleSet

# Categories that can make a window score. The others (legitimacy, negation, hypothetical)
# only qualify what a candidate says, so they never make a message a candidate alone.
SCORING = SUBJECT + HIDING + ("POLICY_AWARENESS",)
# An emoji shortcode (:white_check_mark:) is a picture, not words: 'mark' in it is no anchor.
EMOJI_SHORTCODE = re.compile(r":[a-z0-9_+'\-]*[a-z][a-z0-9_+'\-]*:")


@dataclass(frozen=True, slots=True)
class TermHit:
    rule: str
    term: str
    start: int  # on the folded text
    end: int
    anchor: bool  # True when the term only wakes a regex/token rule up


def _alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class Prefilter:
    def __init__(self, ruleset: RuleSet):
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[tuple[str, str, bool, bool]]] = {}
        for rule in ruleset.rules:
            for term in rule.terms:
                self._add(entries, rule.id, term, anchor=False)
            for term in rule.anchors:
                self._add(entries, rule.id, term, anchor=True)
        for key, values in entries.items():
            self._automaton.add_word(key, (len(key), tuple(values)))
        self._automaton.make_automaton()

    @staticmethod
    def _add(entries, rule_id: str, term: str, anchor: bool) -> None:
        prefix = term.endswith("*")
        folded, _ = fold(term.rstrip("*"))
        entries.setdefault(folded, []).append((rule_id, term, prefix, anchor))

    def scan_folded(self, folded: str) -> list[TermHit]:
        hits: list[TermHit] = []
        if ":" in folded:  # same length, so offsets stay valid
            folded = EMOJI_SHORTCODE.sub(lambda m: " " * len(m.group()), folded)
        for end_index, (length, values) in self._automaton.iter(folded):
            start, end = end_index - length + 1, end_index + 1
            left_open = start == 0 or not _alnum(folded[start - 1]) or not _alnum(folded[start])
            for rule_id, term, prefix, anchor in values:
                right_open = (
                    prefix or end == len(folded) or not _alnum(folded[end]) or not _alnum(folded[end - 1])
                )
                if left_open and right_open:
                    stop = end
                    if prefix:  # report the whole word: desensiti* -> desensitization
                        while stop < len(folded) and (_alnum(folded[stop]) or folded[stop] == "-"):
                            stop += 1
                    hits.append(TermHit(rule_id, term, start, stop, anchor))
        return hits

    def scan(self, text: str) -> list[TermHit]:
        """Term hits on the folded text, context terms included."""
        if not text:
            return []
        return self.scan_folded(fold(text)[0])
