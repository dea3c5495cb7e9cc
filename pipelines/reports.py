"""Case summaries and HTML reports, from one Jinja2 environment.

Autoescape is on for every template, so chat text full of markup renders as text.
Reports are built from hits.jsonl and cases.jsonl alone, so `chatforensics report
--from OUTDIR` re-renders them without re-running the scan.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections import Counter
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from pipelines import __version__
from pipelines.sinks.files import read_jsonl

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def templates_dir() -> Path:
    """templates/ of the source tree, or the copy installed beside the package."""
    for candidate in (Path(__file__).resolve().parents[1] / "templates", Path(__file__).parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("templates/ not found beside the pipelines package")


def highlight(text: str, spans: list[dict]) -> Markup:
    """Escape text and wrap matched spans in <mark>, never trusting the text itself."""
    out, pos = [], 0
    for span in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        if span["start"] < pos or span["end"] > len(text):
            continue
        out.append(escape(text[pos : span["start"]]))
        title = escape(f"{span.get('rule', '')} ({span.get('category', '')})")
        out.append(Markup(f'<mark title="{title}">') + escape(text[span["start"] : span["end"]]) + Markup("</mark>"))
        pos = span["end"]
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def label(value: str) -> str:
    return value.lower().replace("_", " ")


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=lambda name: not (name or "").endswith(".txt.j2"),  # only the plain-text summary is raw
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(highlight=highlight, label=label)
    return env


def summarize(case: dict, hits: list[dict]) -> str:
    """The paragraph a case opens with; also indexed with the case."""
    template = environment().get_template("summary.txt.j2")
    return " ".join(template.render(case=case, hits=hits).split())


def render_reports(out_dir: str | Path, manifest: dict | None = None) -> dict:
    """Write reports/index.html and one page per case; return their paths."""
    out = Path(out_dir)
    hits = read_jsonl(out / "hits.jsonl")
    cases = sorted(read_jsonl(out / "cases.jsonl"),
                   key=lambda c: (SEVERITY_ORDER[c["severity"]], -c["score"], c["case"]["id"]))
    hits_by_case: dict[str, list[dict]] = {}
    for hit in hits:
        hits_by_case.setdefault(hit["case"]["id"], []).append(hit)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    env = environment()
    common = {"manifest": manifest or {}, "generated": generated, "tool_version": __version__}
    (out / "reports" / "cases").mkdir(parents=True, exist_ok=True)
    pages = []
    for case in cases:
        case_hits = sorted(hits_by_case.get(case["case"]["id"], []),
                           key=lambda h: (h["@timestamp"], h["message"]["id"]))
        html = env.get_template("case.html.j2").render(case=case, hits=case_hits, **common)
        path = out / case["report"]["path"]
        _write(path, html)
        pages.append(path)
    counts = {
        "severity": Counter(c["severity"] for c in cases),
        "platform": Counter(c["platform"] for c in cases),
        "conversation": Counter(c["conversation"]["name"] for c in cases),
    }
    index = out / "reports" / "index.html"
    _write(index, env.get_template("index.html.j2").render(cases=cases, counts=counts, **common))
    return {"index": index, "cases": pages}


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
