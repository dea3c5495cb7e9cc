"""From messages to candidates: the funnel, in plain Python.

Every message goes through the prefilter; only those it lets through are matched in
full and scanned for entities, and only for those are the neighbouring messages
kept as context. Text leaving this step has its secrets masked (always) and its PII
masked when redaction is on, and every span refers to the text as it leaves.
"""

from __future__ import annotations

from analyzers.entities import EntityFinder, redact
from analyzers.matcher import Matcher
from analyzers.rules import RuleSet

IGNORED_KINDS = ("system", "bot")  # noise is kept in the data, never a signal
CONTEXT_RADIUS = 2


class Screener:
    def __init__(self, ruleset: RuleSet, finder: EntityFinder | None = None, redact_pii: bool = True):
        self.ruleset = ruleset
        self.matcher = Matcher(ruleset)
        self.prefilter = self.matcher.prefilter
        self.weights = {r.id: r.weight for r in ruleset.rules}
        self.finder = finder if finder is not None else EntityFinder()
        self.mask_kinds = ("secret", "pii") if redact_pii else ("secret",)

    def is_candidate(self, message: dict) -> bool:
        return message["message"]["kind"] not in IGNORED_KINDS and bool(
            self.prefilter.scan(message["message"]["text"])
        )

    def screen(self, messages: list[dict]) -> list[dict]:
        """Candidates of one batch (messages of one source file, in file order)."""
        out = []
        for i, message in enumerate(messages):
            if not self.is_candidate(message):
                continue
            text, entities = self._clean(message["message"]["text"], message["message"]["language"])
            matches = self.matcher.match(text)
            if not matches:  # a prefilter term the full matcher rejected (e.g. an anchor alone)
                continue
            msg_id = message["message"]["id"]
            candidate = {**message, "message": {**message["message"], "text": text}}
            lo, hi = max(0, i - CONTEXT_RADIUS), min(len(messages), i + CONTEXT_RADIUS + 1)
            out.append({
                "doc": candidate,
                "matches": [m.as_dict(msg_id) for m in matches],
                "weights": {m.rule: self.weights[m.rule] for m in matches},
                "entities": entities,
                "context": [self._context(messages[j]) for j in range(lo, hi) if j != i],
            })
        return out

    def _clean(self, text: str, language: str) -> tuple[str, list[dict]]:
        found = self.finder.find(text, language)
        return redact(text, found, self.mask_kinds)

    def _context(self, message: dict) -> dict:
        text, _ = self._clean(message["message"]["text"], message["message"]["language"])
        return {
            "id": message["message"]["id"],
            "author": message["author"]["name"],
            "time": message["@timestamp"],
            "kind": message["message"]["kind"],
            "text": text,
        }
