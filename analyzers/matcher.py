"""Full matching for candidate messages: terms, anchored regexes, spaCy token patterns.

Runs only on what the prefilter let through, so it may be slower. Every match is
reported on the original text (start/end), with the rule, its category and the words.

Token patterns run on a blank English spaCy pipeline whose lemmatizer reads the lookup
tables of spacy-lookups-data (installed, never downloaded), over the folded text, so
"Scrubbed", "relabelling" and "paraphrased" meet their rules through LEMMA or LOWER.

Hiding talk said in the negative ("we must never hide ...") or as a hypothetical
("which of these is a violation? ...") is dropped here, by the NEGATION and
HYPOTHETICAL rules of the packs: a negation cancels the hiding matches that follow it
closely in the same clause, a hypothetical those anywhere in the message. The cue itself is
kept as a match, so the explanation can say why.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from analyzers.normalize import fold, pieces, to_original
from analyzers.prefilter import Prefilter
from analyzers.rules import HIDING, NEUTRALIZERS, Rule, RuleError, RuleSet

# A negation reaches the hiding words of its own clause only: "GPT never does, I can inject some noise".
CLAUSE_END = re.compile(r"[.!?;。！？；\n,，:：]+")
NEGATION_REACH = 60  # characters after the negation
# A rule said thousands of times in one pasted dump is one signal: its first places are the evidence.
MATCHES_PER_RULE = 25


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


def _token_pipeline(rules: list[Rule]):
    """A blank English pipeline with lookup lemmas and one Matcher entry per token rule."""
    from spacy.errors import MatchPatternError
    from spacy.matcher import Matcher as SpacyMatcher

    from analyzers.nlp import english

    nlp = english()  # the lemma tables of spacy-lookups-data; no network
    matcher = SpacyMatcher(nlp.vocab, validate=True)
    for rule in rules:
        try:
            matcher.add(rule.id, [list(pattern) for pattern in rule.tokens])
        except MatchPatternError as exc:
            raise RuleError(f"{rule.pack} [{rule.id}]: bad token pattern: {exc}") from exc
    return nlp, matcher


class Matcher:
    def __init__(self, ruleset: RuleSet, prefilter: Prefilter | None = None):
        self.ruleset = ruleset
        self.prefilter = prefilter or Prefilter(ruleset)
        self._rules: dict[str, Rule] = ruleset.by_id()
        self._regex = {r.id: [re.compile(p) for p in r.regex] for r in ruleset.rules if r.regex}
        token_rules = [r for r in ruleset.rules if r.tokens]
        self._nlp, self._token_matcher = _token_pipeline(token_rules) if token_rules else (None, None)

    @property
    def nlp(self):
        """The spaCy pipeline of the token patterns (None when no rule has any)."""
        return self._nlp

    def match(self, text: str, hidden: Sequence[tuple[int, int]] = ()) -> list[Match]:
        """Every rule match in `text`; none that overlaps a `hidden` span (e.g. a masked `<API_KEY_OPENAI>`)."""
        folded, offsets = fold(text)
        found: dict[tuple[str, int, int], tuple[int, int]] = {}  # (rule, original span) -> folded span
        woken: set[str] = set()
        for hit in self.prefilter.scan_folded(folded):
            if hit.anchor:
                woken.add(hit.rule)
                continue
            self._keep(found, hit.rule, offsets, hit.start, hit.end)
        for rule_id in sorted(woken):
            for pattern in self._regex.get(rule_id, ()):
                for m in pattern.finditer(folded):
                    if m.end() > m.start():
                        self._keep(found, rule_id, offsets, m.start(), m.end())
        if self._nlp is not None and any(self._rules[r].tokens for r in woken):
            self._match_tokens(found, woken, folded, offsets)
        if hidden:  # a placeholder names what was masked, not what was said
            found = {k: v for k, v in found.items() if not any(k[1] < e and s < k[2] for s, e in hidden)}
        kept = self._longest_per_rule(found)
        kept = self._neutralize(self._legitimacy_outside_phrases(kept), folded)
        per_rule: dict[str, int] = {}
        out = []
        for rule, s, e, _ in kept:
            per_rule[rule] = per_rule.get(rule, 0) + 1
            if per_rule[rule] <= MATCHES_PER_RULE:
                out.append(Match(rule, self._rules[rule].category, text[s:e], s, e))
        return out

    def _match_tokens(self, found, woken: set[str], folded: str, offsets) -> None:
        strings = self._nlp.vocab.strings
        for at, piece in pieces(folded):
            doc = self._nlp(piece)
            for match_id, start, end in self._token_matcher(doc):
                rule_id = strings[match_id]
                if rule_id in woken:
                    span = doc[start:end]
                    self._keep(found, rule_id, offsets, at + span.start_char, at + span.end_char)

    def _keep(self, found, rule_id, offsets, start, end) -> None:
        found[(rule_id, *to_original(offsets, start, end))] = (start, end)

    @staticmethod
    def _longest_per_rule(found) -> list[tuple[str, int, int, tuple[int, int]]]:
        # '4o' inside 'GPT-4o' is the same evidence twice: keep the longest span per rule.
        ordered = sorted(((r, s, e, f) for (r, s, e), f in found.items()), key=lambda m: (m[1], -m[2], m[0]))
        kept: list[tuple[str, int, int, tuple[int, int]]] = []
        reach: dict[str, int] = {}  # rule -> furthest end kept: every kept span starts at or before m
        for m in ordered:
            if reach.get(m[0], -1) < m[2]:
                kept.append(m)
                reach[m[0]] = m[2]
        return kept

    def _legitimacy_outside_phrases(self, kept):
        """A legitimacy word inside a hiding phrase is that phrase's word: "don't disclose that we used GPT-4
        outputs" withholds a disclosure, 不要 credit 它 withholds a credit; neither is innocence. Inside the
        name of a check ("the subprocessor list", "the DPA annex") it names what is checked, not that it passed."""
        starts, reach = [], []  # enclosing spans by start, and the furthest end among those started so far
        enclosing = HIDING + ("POLICY_AWARENESS",)
        for h in sorted((m for m in kept if self._rules[m[0]].category in enclosing), key=lambda h: h[1]):
            starts.append(h[1])
            reach.append(max(h[2], reach[-1] if reach else -1))

        def inside(m) -> bool:
            k = bisect.bisect_right(starts, m[1]) - 1
            return k >= 0 and reach[k] >= m[2]

        return [m for m in kept if self._rules[m[0]].category != "LEGITIMACY" or not inside(m)]

    def _neutralize(self, kept, folded: str):
        """Drop hiding matches that a negation (same clause, shortly before) or a hypothetical (same message) covers.

        A cue stays in the result only when it cancelled something, so the explanation can name it.
        """
        category = {m: self._rules[m[0]].category for m in kept}
        cues = [m for m in kept if category[m] in NEUTRALIZERS]
        hiding = [m for m in kept if category[m] in HIDING]
        if not cues or not hiding:
            return [m for m in kept if category[m] not in NEUTRALIZERS]
        clause_of = _clause_index(folded)
        hiding.sort(key=lambda m: m[3][0])
        starts = [m[3][0] for m in hiding]
        cancelled, used = set(), set()
        for cue in cues:
            if category[cue] == "HYPOTHETICAL":
                covered = hiding
            else:  # the hiding words shortly after it, in its clause
                at = cue[3][0]
                near = hiding[bisect.bisect_right(starts, at):bisect.bisect_right(starts, at + NEGATION_REACH)]
                covered = [m for m in near if clause_of(m[3][0]) == clause_of(at)]
            if covered:
                cancelled.update(covered)
                used.add(cue)
        return [m for m in kept if m not in cancelled and (category[m] not in NEUTRALIZERS or m in used)]


def _clause_index(folded: str):
    """A function from a position on the folded text to the number of the clause holding it."""
    ends = [m.end() for m in CLAUSE_END.finditer(folded)]

    def index(pos: int) -> int:
        return bisect.bisect_right(ends, pos)

    return index
