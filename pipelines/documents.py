"""The case document of DESIGN.md ("Documents"), built in one place from its parts.

A case comes in two halves, and this is where they meet:
- what detection found (analyzers.cases.detect_conversation): `case.id`, `title`, `severity`, `score`,
  `conversation`, `participants`, `first_seen`, `last_seen`, `hit_count`, `hits`, `explanations` and the rest;
- what only the run knows: `run.id`, `ruleset.version`, `report.path` (where pipelines.reports writes the case's
  page) and `summary`, rendered from all of the above and the case's hits.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.reports import case_page


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
