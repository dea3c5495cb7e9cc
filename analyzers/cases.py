"""One conversation's candidates become scored hits, and hits become cases.

Plain Python over the candidates of one conversation (never its other messages),
so the Beam step that calls it only ever holds the rare messages that matched.
Ids are hashes of what identifies the thing, so a re-run writes the same ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from analyzers.scoring import MIN_HIT_SCORE, Assessment, Signal, assess, windows

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}


def stable_id(*parts: str, length: int = 24) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def hit_id(platform: str, conversation_id: str, message_id: str) -> str:
    """The Elasticsearch _id of a hit: platform, conversation and message only."""
    return stable_id(platform, conversation_id, message_id)


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


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


def detect_conversation(
    candidates: list[dict],
    ruleset_version: str,
    gap_seconds: float = 1800,
    case_gap_seconds: float = 86400,
) -> tuple[list[dict], list[dict]]:
    """(hits, cases) for the candidates of one conversation; cases lack their summary."""
    candidates = _unique_ids(candidates)
    by_id = {c["doc"]["message"]["id"]: c for c in candidates}
    signals = [
        Signal(
            message_id=c["doc"]["message"]["id"],
            author=c["doc"]["author"]["name"],
            timestamp=c["doc"]["timestamp"]["epoch"],
            thread=c["doc"]["thread"]["id"],
            matches=c["matches"],
            weights=c["weights"],
        )
        for c in candidates
    ]
    flagged: list[tuple[Assessment, list[dict]]] = []
    for window in windows(signals, gap_seconds):
        verdict = assess(window)
        if verdict.score < MIN_HIT_SCORE or len(verdict.categories) < 2:
            continue
        hits = [
            _hit(by_id[s.message_id], verdict, ruleset_version)
            for s in window
            if any(m["category"] != "LEGITIMACY" for m in s.matches)
        ]
        flagged.append((verdict, hits))
    return _cases(flagged, case_gap_seconds)


def _hit(candidate: dict, verdict: Assessment, ruleset_version: str) -> dict:
    doc = candidate["doc"]
    own = candidate["matches"]
    window_ids = [s.message_id for s in verdict.signals]
    hit = {
        "hit": {"id": hit_id(doc["platform"], doc["conversation"]["id"], doc["message"]["id"])},
        **doc,
        "detection": {
            "score": verdict.score,
            "severity": verdict.severity,
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
    return hit


def _cases(flagged: list[tuple[Assessment, list[dict]]], case_gap_seconds: float = 86400):
    groups: list[list[tuple[Assessment, list[dict]]]] = []
    last_end = None
    for verdict, hits in sorted(flagged, key=lambda f: f[0].signals[0].timestamp):
        start = verdict.signals[0].timestamp
        if groups and last_end is not None and start - last_end <= case_gap_seconds:
            groups[-1].append((verdict, hits))
        else:
            groups.append([(verdict, hits)])
        last_end = max(last_end or start, verdict.signals[-1].timestamp)
    all_hits: list[dict] = []
    cases: list[dict] = []
    for group in groups:
        hits = sorted((h for _, hs in group for h in hs), key=lambda h: (h["@timestamp"], h["message"]["id"]))
        if not hits:
            continue
        first = hits[0]
        case_id = "case-" + stable_id(first["platform"], first["conversation"]["id"], first["message"]["id"],
                                      length=12)
        top = max(group, key=lambda f: (SEVERITY_RANK[f[0].severity], f[0].score))[0]
        for h in hits:
            h["case"] = {"id": case_id}
        participants = sorted({h["author"]["name"] for h in hits})
        categories = sorted({c for v, _ in group for c in v.categories})
        conversation = first["conversation"]
        cases.append({
            "case": {"id": case_id},
            "title": f"{top.severity.capitalize()}: {', '.join(c.lower().replace('_', ' ') for c in categories)}"
                     f" in {conversation['name']}",
            "severity": top.severity,
            "score": top.score,
            "score_explanation": f"highest of {len(group)} window score(s): "
                                 + ", ".join(f"{v.score:.2f}" for v, _ in group),
            "platform": first["platform"],
            "conversation": conversation,
            "categories": categories,
            "rules": sorted({r for v, _ in group for r in v.rules}),
            "participants": participants,
            "first_seen": hits[0]["@timestamp"],
            "last_seen": hits[-1]["@timestamp"],
            "@timestamp": hits[0]["@timestamp"],
            "hit_count": len(hits),
            "hits": [h["message"]["id"] for h in hits],
            "explanations": [v.explanation for v, _ in group],
            "report": {"path": f"reports/cases/{case_id}.html"},
        })
        all_hits.extend(hits)
    return all_hits, cases
