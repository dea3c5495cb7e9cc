"""From messages to candidates: the funnel, in plain Python.

Every message goes through the prefilter; only those with a term of a scoring rule are
matched in full and scanned for entities, and only for those are the neighbouring
messages kept as context. A message that only says something innocent-making ("legal
signed off", "incident report") is passed on as a bare legitimacy signal, with no text
and no entity scan, so it can still lower the score of the window it falls in. Text
leaving this step has its secrets masked (always) and its PII masked when redaction is
on, and every span refers to the text as it leaves.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection

from analyzers.entities import ENTITY_KINDS, PII, SECRET, EntityFinder
from analyzers.matcher import Matcher
from analyzers.prefilter import SCORING
from analyzers.rules import RuleSet
from analyzers.secret_gate import MaskingGate

IGNORED_KINDS = ("system", "bot")  # noise is kept in the data, never a signal
CONTEXT_RADIUS = 2
PII_TYPES = tuple(t for t, kind in ENTITY_KINDS.items() if kind == PII)
SECRET_TYPES = tuple(t for t, kind in ENTITY_KINDS.items() if kind == SECRET)
SUBJECT_BREAK = "\n\n"  # between a mail's subject and its text, where both are read as one


def _subject_read(message: dict) -> str:
    """The subject a mail is read with: its thread's first mail only, as the opening line of what it says
    (the replies repeat it as "Re: ...", which says nothing new); "" for every other message."""
    subject = message["message"].get("subject")
    return subject if subject and message["thread"]["id"] == message["message"]["id"] else ""


def _placed(matches, message_id: str, subject_length: int) -> list[dict]:
    """Matches on `subject + SUBJECT_BREAK + text` as rows on the field each is in: the subject's marked
    `field: subject`, the text's shifted back onto the text; one that straddles the two is no match."""
    if not subject_length:
        return [m.as_dict(message_id) for m in matches]
    shift = subject_length + len(SUBJECT_BREAK)
    out = []
    for m in matches:
        row = m.as_dict(message_id)
        if m.end <= subject_length:
            row["field"] = "subject"
        elif m.start >= shift:
            row["start"], row["end"] = m.start - shift, m.end - shift
        else:
            continue
        out.append(row)
    return out


def pii_types(spec: str | None) -> tuple[str, ...]:
    """The PII types named in a --redact-kinds list ("EMAIL_ADDRESS,PHONE_NUMBER"); all of them when unset."""
    if not spec:
        return PII_TYPES
    chosen = tuple(dict.fromkeys(t.strip().upper() for t in spec.split(",") if t.strip()))
    unknown = [t for t in chosen if t not in PII_TYPES]
    if unknown:
        raise ValueError(f"unknown PII type(s) {', '.join(unknown)}; choose from {', '.join(PII_TYPES)}")
    return chosen


class _Neighbours:
    """Context of a message: the messages around it in its own episode (the exchange it belongs to),
    not whatever other exchanges a busy channel interleaved with it; its parent always comes along."""

    def __init__(self, messages: list[dict]):
        self.messages = messages
        self._by_episode: dict[str, list[int]] | None = None

    def __call__(self, i: int) -> list[int]:
        episode = self.messages[i].get("episode")
        if episode is None:  # messages that did not pass the episode step: neighbours in the file
            return [j for j in range(max(0, i - CONTEXT_RADIUS), min(len(self.messages), i + CONTEXT_RADIUS + 1))
                    if j != i]
        if self._by_episode is None:
            self._by_episode = {}
            for j, message in enumerate(self.messages):
                self._by_episode.setdefault((message.get("episode") or {}).get("id"), []).append(j)
        members = self._by_episode[episode["id"]]
        k = bisect.bisect_left(members, i)
        chosen = set(members[max(0, k - CONTEXT_RADIUS):k] + members[k + 1:k + 1 + CONTEXT_RADIUS])
        parent = episode.get("parent")
        if parent is not None:
            chosen.update(j for j in members[:k] if self.messages[j]["message"]["id"] == parent)
        return sorted(chosen)


class Screener:
    def __init__(self, ruleset: RuleSet, finder: EntityFinder | None = None,
                 redact_pii: bool | Collection[str] = True):
        """redact_pii: True masks every PII type, a collection masks those types, False none (secrets always)."""
        self.ruleset = ruleset
        self.matcher = Matcher(ruleset)
        self.prefilter = self.matcher.prefilter
        self.finder = finder if finder is not None else EntityFinder()
        pii = PII_TYPES if redact_pii is True else tuple(redact_pii or ())
        self.mask_types = frozenset(SECRET_TYPES + pii)
        # The one masking gate: texts with their spans here; every other field of what leaves by `labels`.
        self.gate = MaskingGate(self.finder, self.mask_types)

    def _scores(self, matches) -> bool:
        return any(m.category in SCORING for m in matches)

    def screen(self, messages: list[dict], defer_context: bool = False) -> list[dict]:
        """Candidates of one batch (messages of one source file, in file order).

        defer_context leaves context texts unmasked (marked by their `language`) for `clean_context`
        to mask once it is known which candidates became hits: Presidio is the costly step, and only
        hits' context ever leaves the pipeline.
        """
        out = []
        cleaned: dict[int, tuple[str, list[dict]]] = {}

        def clean(j: int) -> tuple[str, list[dict]]:
            # Presidio is the costly step: a message shared by several windows is cleaned once.
            if j not in cleaned:
                cleaned[j] = self._clean(messages[j]["message"]["text"], messages[j]["message"]["language"])
            return cleaned[j]

        neighbours = _Neighbours(messages)
        for i, message in enumerate(messages):
            subject = _subject_read(message)
            said = f"{subject}{SUBJECT_BREAK}{message['message']['text']}" if subject else message["message"]["text"]
            if message["message"]["kind"] in IGNORED_KINDS or not self.prefilter.scan(said):
                continue
            # Matching the raw text first is cheap next to Presidio: an anchor that woke no
            # pattern, hiding talk cancelled by a negation, or context terms alone cost no entity scan.
            raw = self.matcher.match(said)
            if not self._scores(raw):
                if any(m.category == "LEGITIMACY" for m in raw):
                    out.append(self._legitimacy_signal(message, raw, len(subject)))
                continue
            text, entities = clean(i)
            hidden = [(e["start"], e["end"]) for e in entities if e["masked"]]
            read = text
            if subject:
                subject, found = self._clean(subject, message["message"]["language"])
                shift = len(subject) + len(SUBJECT_BREAK)
                hidden = [(e["start"], e["end"]) for e in found if e["masked"]] + [
                    (start + shift, end + shift) for start, end in hidden]
                read = f"{subject}{SUBJECT_BREAK}{text}"
            # Nothing masked: `read` is the text already matched. Otherwise a placeholder names what was
            # masked, not what was said, and the masked text is matched again without it.
            matches = self.matcher.match(read, hidden=hidden) if hidden else raw
            if not self._scores(matches):
                continue
            msg_id = message["message"]["id"]
            cleaned_message = {**message["message"], "text": text, "edits": self._clean_edits(message["message"])}
            if message["message"].get("subject"):  # a mail's subject leaves as masked as its text
                cleaned_message["subject"] = subject or self._clean(message["message"]["subject"],
                                                                    message["message"]["language"])[0]
            candidate = self.gate.labels({**message, "message": cleaned_message})
            out.append({
                "doc": candidate,
                "matches": _placed(matches, msg_id, len(subject)),
                "entities": entities,
                "context": [self._context(messages[j], None if defer_context else clean(j)[0])
                            for j in neighbours(i)],
            })
        return out

    def _legitimacy_signal(self, message: dict, matches, subject_length: int = 0) -> dict:
        """What a window needs from an innocent-making message: who, when, which terms; never its text."""
        msg_id = message["message"]["id"]
        legit = [m for m in matches if m.category == "LEGITIMACY"]
        bare = {**message["message"], "text": "", "edits": []}
        if "subject" in bare:
            bare["subject"] = ""
        return {
            "doc": self.gate.labels({**message, "message": bare}),
            "matches": _placed(legit, msg_id, subject_length),
            "entities": [],
            "context": [],
        }

    def _clean(self, text: str, language: str) -> tuple[str, list[dict]]:
        return self.gate.text(text, language)

    def _clean_edits(self, message: dict) -> list[dict]:
        """Earlier versions of a message are as sensitive as its text."""
        return [{**edit, "text": self._clean(edit["text"], message["language"])[0]} if edit.get("text") else edit
                for edit in message["edits"]]

    def _context(self, message: dict, text: str | None) -> dict:
        item = {
            "id": self.gate.label(message["message"]["id"]),
            "author": self.gate.label(message["author"]["name"]),
            "time": message["@timestamp"],
            "kind": message["message"]["kind"],
            "text": message["message"]["text"] if text is None else text,
        }
        if text is None:
            item["language"] = message["message"]["language"]
        return item

    def clean_context(self, context: list[dict], cleaned: dict | None = None) -> list[dict]:
        """Mask context that screen(defer_context=True) left raw; `cleaned` remembers texts across calls."""
        cleaned = {} if cleaned is None else cleaned
        out = []
        for item in context:
            if "language" not in item:
                out.append(item)
                continue
            key = (item["text"], item["language"])
            if key not in cleaned:
                cleaned[key] = self._clean(*key)[0]
            out.append({**{k: v for k, v in item.items() if k != "language"}, "text": cleaned[key]})
        return out
