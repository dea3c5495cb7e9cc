"""The hit and case documents of DESIGN.md ("Documents"), each built in one place from its parts.

Each comes in two halves, and this is where they meet. What detection found (analyzers.cases.detect_conversation):
- a hit: the message as the Screener left it (the reader's fields with texts masked, `episode`), `hit.id`,
  `detection.*`, `entities`, `case.id`, `ruleset.version`, and `context` (masked by DetectCases' MaskContext
  step by the time it gets here);
- a case: `case.id`, `title`, `severity`, `score`, `conversation`, `participants`, `first_seen`, `last_seen`,
  `hit_count`, `hits`, `explanations` and the rest.
What only the run knows: `run.id` on both; on a case `ruleset.version`, `report.path` (where pipelines.reports
writes its page) and `summary`, rendered from all of that and the case's hits.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.reports import case_page


def hit(found: dict, run_id: str) -> dict:
    """The hit document: `found` (a hit as detection found it, its context masked) with the run's id.

    Context still as the Screener left it for later masking (each item marked by its `language`) never
    becomes a document."""
    if any("language" in item for item in found["context"]):
        raise ValueError("context was left unmasked: hits' context goes through DetectCases' MaskContext step")
    return {**found, "run": {"id": run_id}}


def case(found: dict, hits: list[dict], run_id: str, ruleset_version: str,
         summarize: Callable[[dict, list[dict]], str]) -> dict:
    """The case document: `found` (a case as detection grouped it) with the run's fields, then its summary."""
    doc = {
        **found,
        "run": {"id": run_id},
        "ruleset": {"version": ruleset_version},
        "report": {"path": case_page(found["case"]["id"])},
    }
    doc["summary"] = summarize(doc, hits)
    return doc
