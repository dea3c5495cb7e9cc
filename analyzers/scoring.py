"""Conversation windows and their scores.

A signal in one message means little; a vendor named by one person, a proposal to
scrub it by another and "take it to DM" from a third mean a lot, when they answer each
other. Candidate messages are grouped into windows of linked evidence (one episode, the
exchange the episode step put them in), and each window is scored as a whole:

* every distinct rule counts once, at its weight, combined as a noisy-OR;
* a window reaches medium or high only when hiding (concealment, evasion, secrecy)
  and its subject both appear in it: a third-party API; or its data by two kinds of
  evidence; or model data and concealment of where data came from (provenance words,
  or claims of another origin), since hiding the origin is itself the subject;
* legitimacy signals (sign-off, PII masking, approval) pull the score down, each
  distinct term of a legitimacy rule counting (up to three);
* more speakers agreeing push it up a little.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzers.rules import HIDING, NEUTRALIZERS

SEVERITY_THRESHOLDS = (("high", 0.75), ("medium", 0.45), ("low", 0.0))
UNGATED_CAP = 0.39  # below medium: no hiding tied to a vendor API in this window
MIN_HIT_SCORE = 0.3
LEGIT_TERMS_PER_RULE = 3
SPEAKER_BONUS = 0.05  # per extra speaker who adds a scoring signal
# Rules (by id prefix, so each language's variant counts) that say the talk is about where data came from.
ORIGIN_RULES = ("data.provenance", "conceal.claim_origin")


@dataclass
class Signal:
    """One candidate message and what the matchers found in it."""

    message_id: str
    author: str
    timestamp: float  # epoch seconds, for windowing
    thread: str | None
    matches: list[dict]  # Match.as_dict() rows
    weights: dict[str, float]  # rule id -> weight
    episode: str | None = None  # the exchange it belongs to (None: a message alone)
    parent: str | None = None  # the message it answers, as the episode step linked it
    cue: str = "start"  # why it was linked there


@dataclass
class Assessment:
    score: float
    severity: str
    categories: list[str]
    rules: list[str]
    speakers: list[str]
    explanation: str
    gated: bool
    signals: list[Signal] = field(default_factory=list)
    evidence: list[Signal] = field(default_factory=list)  # the messages whose signals count: the hits
    gist: str = ""  # what was found, in a few words, for a case title


def severity_of(score: float) -> str:
    return next(name for name, floor in SEVERITY_THRESHOLDS if score >= floor)


def windows(signals: list[Signal], gap_seconds: float, max_size: int = 60) -> list[list[Signal]]:
    """Split one conversation's candidate messages into windows: linked evidence only.

    A window holds candidates of one episode (one exchange of the conversation, as the episode
    step linked it), so words said in another exchange of a busy channel never combine. Inside
    an episode a pause longer than `gap_seconds` starts a new window, except inside a thread.
    Windows are cut at `max_size`.
    """
    by_episode: dict[str, list[Signal]] = {}
    for s in sorted(signals, key=lambda s: (s.timestamp, s.message_id)):
        by_episode.setdefault(s.episode or f"message:{s.message_id}", []).append(s)
    out: list[list[Signal]] = []
    for members in by_episode.values():
        window: list[Signal] = []
        for s in members:
            if window and s.timestamp - window[-1].timestamp > gap_seconds and not (
                    s.thread and s.thread == window[-1].thread):
                out.append(window)
                window = []
            window.append(s)
        out.append(window)
    out = [w[k : k + max_size] for w in out for k in range(0, len(w), max_size)]
    return sorted(out, key=lambda w: (w[0].timestamp, w[0].message_id))


def assess(window: list[Signal]) -> Assessment:
    best: dict[str, tuple[float, str]] = {}  # rule -> (weight, category)
    legit_terms: dict[str, set[str]] = {}  # legitimacy rule -> distinct terms said
    speakers_by_category: dict[str, set[str]] = {}
    for s in window:
        for m in s.matches:
            w = s.weights[m["rule"]]
            if w > best.get(m["rule"], (0.0, ""))[0]:
                best[m["rule"]] = (w, m["category"])
            if m["category"] == "LEGITIMACY":
                legit_terms.setdefault(m["rule"], set()).add(m["term"].casefold())
            speakers_by_category.setdefault(m["category"], set()).add(s.author)
    categories = sorted(speakers_by_category)
    positive = 1.0
    mitigation = 1.0
    for rule, (w, category) in best.items():
        if category in NEUTRALIZERS:
            continue  # they already cancelled hiding matches in the matcher; they never score
        if category == "LEGITIMACY":
            # Several distinct reasons for innocence (a DPA, a sign-off, a notice) weigh more than one.
            mitigation *= (1 - w) ** min(len(legit_terms[rule]), LEGIT_TERMS_PER_RULE)
        else:
            positive *= 1 - w
    score = 1 - positive
    speakers = sorted({s.author for s in window
                       if any(m["category"] not in NEUTRALIZERS + ("LEGITIMACY",) for m in s.matches)})
    if len(speakers) > 1:
        score = min(1.0, score + SPEAKER_BONUS * (len(speakers) - 1))
    score *= mitigation
    gated = any(c in speakers_by_category for c in HIDING) and _names_the_subject(best)
    if not gated:
        score = min(score, UNGATED_CAP)
    score = round(score, 3)
    return Assessment(
        score=score,
        severity=severity_of(score),
        categories=categories,
        rules=sorted(best),
        speakers=speakers,
        explanation=explain(score, speakers_by_category, window, gated),
        gated=gated,
        signals=window,
        evidence=[s for s in window if any(m["category"] not in NEUTRALIZERS + ("LEGITIMACY",) for m in s.matches)],
        gist=_gist(window),
    )


def _gist(window: list[Signal]) -> str:
    hiding = [c for c in HIDING if any(m["category"] == c for s in window for m in s.matches)]
    subject = _quote(window, "THIRD_PARTY_API") or _quote(window, "API_DATA")
    what = " and ".join(c.lower() for c in hiding) or "signals"
    return f"{what.capitalize()} about {subject}" if subject else what.capitalize()


def _names_the_subject(best: dict[str, tuple[float, str]]) -> bool:
    """A vendor API is named, or its data is, by two different kinds of evidence (e.g. outputs and distillation),
    or model data is there and concealment is about its origin ("keep the lineage vague", "don't name the model").

    One generic data word ("dataset", "corpus") is not enough to tie hiding talk to a vendor.
    """
    categories = [category for _, category in best.values()]
    if "THIRD_PARTY_API" in categories or categories.count("API_DATA") >= 2:
        return True
    about_origin = any(rule.startswith(ORIGIN_RULES) for rule in best)
    return about_origin and "API_DATA" in categories and "CONCEALMENT" in categories


def _quote(window: list[Signal], category: str, limit: int = 2) -> str:
    terms: list[str] = []
    for s in window:
        for m in s.matches:
            if m["category"] == category and m["term"] not in terms:
                terms.append(m["term"])
    return ", ".join(f"'{t}'" for t in terms[:limit])


def explain(score: float, speakers_by_category: dict[str, set[str]], window: list[Signal], gated: bool) -> str:
    parts = []
    for category in sorted(speakers_by_category):
        who = ", ".join(sorted(speakers_by_category[category]))
        name = category.lower().replace("_", " ")
        if category in NEUTRALIZERS:
            name = f"hiding talk set aside as {name}"
        parts.append(f"{name} ({_quote(window, category)} by {who})")
    n = len(window)
    sentence = f"Score {score:.2f} over {n} message{'s' if n != 1 else ''}: " + "; ".join(parts)
    if not gated:
        sentence += "; capped below medium because no hiding is tied to a third-party API or its data"
    return sentence + "."
