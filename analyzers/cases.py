"""One conversation's candidates become scored hits, and hits become cases.

Plain Python over the candidates of one conversation (never its other messages),
so the Beam step that calls it only ever holds the rare messages that matched.
A case is one episode (one exchange) of the conversation: its flagged windows and the
messages that carry their evidence, never the unrelated talk around them.
Ids are hashes of what identifies the thing, so a re-run writes the same ids.
"""

from __future__ import annotations

import datetime as dt
import re

from analyzers.episodes import words_of
from analyzers.ids import case_id, hit_id, stable_id
from analyzers.rules import HIDING
from analyzers.scoring import (
    MIN_HIT_SCORE,
    UNGATED_CAP,
    Assessment,
    Profile,
    Signal,
    assess,
    join_references,
    severity_of,
    windows,
)

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}
HIDING_TALK = frozenset(HIDING)  # a hit is talk about hiding, however faint
SCORING_LINKS = ("thread", "reply", "addresses", "addressed")  # cues worth naming in a case's story


def _unique_ids(candidates: list[dict]) -> list[dict]:
    """Two records with one message id (a resent mail, an export quirk) stay two pieces of evidence."""
    seen: dict[str, int] = {}
    out = []
    for c in candidates:
        mid = c["doc"]["message"]["id"]
        seen[mid] = seen.get(mid, 0) + 1
        if seen[mid] > 1:
            new = f"{mid}#{seen[mid]}"
            c = {**c, "doc": {**c["doc"], "message": {**c["doc"]["message"], "id": new}},
                 "matches": [{**m, "message_id": new} for m in c["matches"]]}
        out.append(c)
    return out


def references_pattern(words: tuple[str, ...]) -> re.Pattern | None:
    """One pattern for the ruleset's words that point back ("it", 那批); ASCII words at word boundaries."""
    if not words:
        return None
    parts = [rf"\b{re.escape(w)}\b" if w.isascii() else re.escape(w) for w in sorted(words, key=len, reverse=True)]
    return re.compile("|".join(parts), re.IGNORECASE)


def signal_of(candidate: dict, refers: re.Pattern | None = None) -> Signal:
    doc = candidate["doc"]
    episode = doc.get("episode") or {}
    return Signal(
        message_id=doc["message"]["id"],
        author=doc["author"]["name"],
        timestamp=doc["timestamp"]["epoch"],
        thread=doc["thread"]["id"],
        matches=candidate["matches"],
        episode=episode.get("id"),
        parent=episode.get("parent"),
        cue=episode.get("cue", "start"),
        sure=episode.get("sure", False),
        part=episode.get("part"),
        position=doc["message"].get("position"),
        refers=bool(refers and refers.search(doc["message"].get("text") or "")),
        said=_words_beyond(doc["message"].get("text") or "", candidate["matches"]),
    )


def _words_beyond(text: str, matches: list[dict]) -> frozenset:
    """What a message says besides its matched words: content words, or Chinese character pairs."""
    return words_of(text) - frozenset().union(*(words_of(m["term"]) for m in matches))


def detect_conversation(
    candidates: list[dict],
    ruleset_version: str,
    profile: Profile,
    gap_seconds: float = 1800,
    refers: re.Pattern | None = None,
) -> tuple[list[dict], list[dict]]:
    """(hits, cases) for the candidates of one conversation; cases lack their run, page and summary."""
    candidates = _unique_ids(candidates)
    by_id = {c["doc"]["message"]["id"]: c for c in candidates}
    flagged: list[tuple[Assessment, list[dict]]] = []
    signals = join_references([signal_of(c, refers) for c in candidates], profile)
    for window in windows(signals, gap_seconds):
        verdict = assess(window, profile)
        if verdict.score < MIN_HIT_SCORE or len(verdict.categories) < 2 or not HIDING_TALK & set(verdict.categories):
            continue  # a vendor's quota or its outputs, with no word of hiding, is ordinary work, not a lead
        hits = [_hit(by_id[s.message_id], verdict, ruleset_version) for s in verdict.evidence]
        flagged.append((verdict, hits))
    return _cases(flagged)


def _hit(candidate: dict, verdict: Assessment, ruleset_version: str) -> dict:
    doc = candidate["doc"]
    own = candidate["matches"]
    window_ids = [s.message_id for s in verdict.signals]
    # A message that only says everyday words ("deleted the merged ones") is part of the case, not its proof.
    score = min(verdict.score, UNGATED_CAP) if doc["message"]["id"] in verdict.everyday else verdict.score
    return {
        "hit": {"id": hit_id(doc["platform"], doc["conversation"]["id"], doc["message"]["id"])},
        **doc,
        "detection": {
            "score": score,
            "severity": severity_of(score),
            "rules": sorted({m["rule"] for m in own}),
            "categories": sorted({m["category"] for m in own}),
            "matches": own,
            "explanation": verdict.explanation,
            "window": {
                "id": stable_id(doc["platform"], doc["conversation"]["id"], window_ids[0], length=16),
                "score": verdict.score,
                "rules": verdict.rules,
                "categories": verdict.categories,
                "speakers": verdict.speakers,
                "message_ids": window_ids,
            },
        },
        "context": candidate["context"],
        "entities": candidate["entities"],
        "ruleset": {"version": ruleset_version},
    }


def _cases(flagged: list[tuple[Assessment, list[dict]]]) -> tuple[list[dict], list[dict]]:
    """One case per episode: the windows of one exchange belong together, other exchanges never."""
    groups: dict[str, list[tuple[Assessment, list[dict]]]] = {}
    for verdict, hits in sorted(flagged, key=lambda f: (f[0].signals[0].timestamp, f[0].signals[0].message_id)):
        key = verdict.signals[0].episode or f"message:{verdict.signals[0].message_id}"
        groups.setdefault(key, []).append((verdict, hits))
    all_hits: list[dict] = []
    cases: list[dict] = []
    for group in groups.values():
        hits = sorted((h for _, hs in group for h in hs), key=lambda h: (h["@timestamp"], h["message"]["id"]))
        if not hits:
            continue
        first = hits[0]
        cid = case_id(first["platform"], first["conversation"]["id"], first["message"]["id"])
        top = max(group, key=lambda f: (SEVERITY_RANK[f[0].severity], f[0].score))[0]
        for h in hits:
            h["case"] = {"id": cid}
        participants = sorted({h["author"]["name"] for h in hits})
        conversation = first["conversation"]
        cases.append({
            "case": {"id": cid},
            "title": title(top, participants, conversation["name"], first["@timestamp"],
                           mail_thread="folder" in conversation),
            "severity": top.severity,
            "score": top.score,
            "score_explanation": f"highest of {len(group)} window score(s): "
                                 + ", ".join(f"{v.score:.2f}" for v, _ in group),
            "platform": first["platform"],
            "conversation": conversation,
            "episodes": sorted({h["episode"]["id"] for h in hits if h.get("episode")}),
            "categories": sorted({c for v, _ in group for c in v.categories}),
            "rules": sorted({r for v, _ in group for r in v.rules}),
            "participants": participants,
            "first_seen": hits[0]["@timestamp"],
            "last_seen": hits[-1]["@timestamp"],
            "@timestamp": hits[0]["@timestamp"],
            "hit_count": len(hits),
            "hits": [h["message"]["id"] for h in hits],
            "explanations": [v.explanation for v, _ in group],
        })
        all_hits.extend(hits)
    return all_hits, cases


def title(verdict: Assessment, participants: list[str], conversation: str, first_seen: str,
          mail_thread: bool = False) -> str:
    """What was found and who said it, in words: "Scrubbing and relabelling of 'GPT-4o' 'outputs'
    (priya, marcus), #ml-platform, 5 Mar 2025"; a mail thread by its subject: ..., mail "Fine-tune data", ..."""
    day = dt.datetime.fromisoformat(first_seen.replace("Z", "+00:00"))
    people = _people(participants)
    if mail_thread:
        where = f'mail "{conversation}"'
    else:
        where = conversation if conversation.startswith(("#", "DM")) else f"#{conversation}"
    return f"{verdict.gist} ({people}), {where}, {day.day} {day:%b %Y}"


def _people(names: list[str], limit: int = 3) -> str:
    if len(names) <= limit:
        return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"
