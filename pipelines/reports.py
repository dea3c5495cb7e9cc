"""Case summaries and HTML (and PDF) reports, from one Jinja2 environment.

Autoescape is on for every HTML template, so chat text full of markup renders as text.
Reports are built from hits.jsonl and cases.jsonl alone (plus manifest.json when present),
so `chatforensics report --from OUTDIR` re-renders them without re-running the scan.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import stat
from collections import Counter
from pathlib import Path, PurePosixPath

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from analyzers.visible import shown, shown_text
from pipelines import __version__
from pipelines.pictures import bar_unit, replies_svg, timeline_svg
from pipelines.sinks.files import read_jsonl

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")  # what analyzers.ids makes; nothing that walks a path
log = logging.getLogger(__name__)
QUIET_GAP_SECONDS = 1800  # a pause this long in the timeline gets a visible "… later" marker


def templates_dir() -> Path:
    """templates/ of the source tree, or the copy installed beside the package."""
    for candidate in (Path(__file__).resolve().parents[1] / "templates", Path(__file__).parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("templates/ not found beside the pipelines package")


def highlight(text: str, spans: list[dict], field: str = "text") -> Markup:
    """Escape text and wrap matched spans in <mark>, never trusting the text itself. Only the spans on `field`
    are marked: a mail's subject has spans of its own (`field: subject`), the text's have no field. Characters
    that reorder what follows them (bidi overrides) are spelled out, the spans' offsets still hold."""
    out, pos = [], 0
    spans = [s for s in spans if s.get("field", "text") == field]
    for span in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        if span["start"] < pos or span["end"] > len(text):
            continue
        out.append(escape(shown_text(text[pos : span["start"]])))
        title = escape(f"{span.get('rule', '')} ({span.get('category', '')})")
        out.append(Markup(f'<mark title="{title}">') + escape(shown_text(text[span["start"] : span["end"]]))
                   + Markup("</mark>"))
        pos = span["end"]
    out.append(escape(shown_text(text[pos:])))
    return Markup("").join(out)


def visible(value):
    """Every value a page prints, before it is escaped: a name, id or file name shows its invisible
    characters as ⟨U+XXXX⟩ (a right-to-left override would show "\u202egpj.exe" as "exe.jpg"). Message text
    comes through `highlight`, which spells out only the characters that reorder text."""
    return shown(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def label(value: str) -> str:
    return value.lower().replace("_", " ")


def _parse(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def when(iso: str) -> str:
    """2025-03-04T10:30:31.495Z -> 2025-03-04 10:30:31 (the page says UTC once)."""
    return _parse(iso).strftime("%Y-%m-%d %H:%M:%S") if iso else ""


def duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=lambda name: not (name or "").endswith(".txt.j2"),  # only the plain-text summary is raw
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=visible,
    )
    env.filters.update(highlight=highlight, label=label, when=when)
    return env


def summarize(case: dict, hits: list[dict]) -> str:
    """The paragraph a case opens with; also indexed with the case."""
    template = environment().get_template("summary.txt.j2")
    return " ".join(template.render(case=case, hits=hits).split())


def timeline(hits: list[dict]) -> list[dict]:
    """One chronological thread of the case: each flagged message once, each context message once.

    Neighbouring hits share context (and a hit is often another hit's context); listing each
    hit with its own context would repeat messages, so they are merged by message id.
    """
    entries: dict[str, dict] = {}
    for number, hit in enumerate(hits, 1):
        entries[hit["message"]["id"]] = {
            "id": hit["message"]["id"], "author": hit["author"]["name"], "time": hit["@timestamp"],
            "text": hit["message"]["text"], "subject": hit["message"].get("subject"), "hit": hit, "number": number,
        }
    for hit in hits:
        for ctx in hit["context"]:
            entries.setdefault(ctx["id"], {"id": ctx["id"], "author": ctx["author"], "time": ctx["time"],
                                           "text": ctx["text"], "subject": None, "hit": None, "number": None})
    ordered = sorted(entries.values(), key=lambda e: (e["time"], e["id"]))
    previous = None
    for entry in ordered:
        pause = (_parse(entry["time"]) - _parse(previous["time"])).total_seconds() if previous else 0
        entry["pause"] = duration(pause) if pause >= QUIET_GAP_SECONDS else None
        previous = entry
    return ordered


def redaction_note(manifest: dict) -> str:
    """What the reader is (not) seeing, from the run record."""
    if "redact" not in manifest:
        return "unknown (no manifest.json beside these results); secrets are always masked"
    if not manifest["redact"]:
        return "off (--no-redact): personal data is shown as found; secrets are masked"
    kinds = ", ".join(manifest.get("redact_kinds") or ["every personal-data type"])
    return (f"on: {kinds} replaced by <TYPE> placeholders, authors' e-mail addresses too; "
            "names are kept; secrets are always masked")


def case_page(case_id: str) -> str:
    """Where a case's page is, relative to the output folder: its `report.path`."""
    return f"reports/cases/{case_id}.html"


def _with_safe_pages(cases: list[dict], quiet: bool = False) -> list[dict]:
    """Each case's page is reports/cases/<case id>.html, worked out from its id: `report --from` reads
    cases.jsonl back, and a `report.path` in it ("../PWNED.html") is never trusted. A case whose id could
    name a path anywhere else is left out, and said so."""
    safe = []
    for case in cases:
        cid = str(case["case"]["id"])
        if not CASE_ID.fullmatch(cid):
            if quiet:
                continue
            log.warning("case id %r is not one chatforensics makes; no page written for it", cid[:80])
            continue
        safe.append({**case, "report": {**case.get("report", {}), "path": case_page(cid)}})
    return safe


def report_files(out_dir: str | Path, pdf: bool = False) -> list[str]:
    """The files render_reports(out_dir, pdf=pdf) writes, relative to out_dir (for the manifest's `outputs`)."""
    pages = [c["report"]["path"] for c in _with_safe_pages(read_jsonl(Path(out_dir) / "cases.jsonl"), quiet=True)]
    return ["reports/index.html", *pages, *([str(PurePosixPath(p).with_suffix(".pdf")) for p in pages] if pdf else [])]


STALE_PAGE = re.compile(r"reports/cases/([A-Za-z0-9][A-Za-z0-9_-]{0,127})\.(html|pdf)")


def remove_stale_reports(out_dir: str | Path, previous: list[str], current: list[str]) -> list[str]:
    """Remove the case pages an earlier run listed in its manifest (`outputs`) that this run does not write.

    Pages of an earlier run (perhaps unredacted) must not sit beside this run's index, but the folder is not
    the tool's alone: only pages a run listed are removed, only regular files, and never through a
    symbolic link (every folder on the way is opened with O_NOFOLLOW), so a `reports/cases` that links
    elsewhere loses nothing there. Returns what was removed."""
    removed = []
    for relative in sorted(set(previous) - set(current)):
        if STALE_PAGE.fullmatch(relative) and remove_own_file(Path(out_dir), relative):
            removed.append(relative)
    return removed


def remove_own_file(root: Path, relative: str) -> bool:
    """Unlink root/relative if it is a regular file reached without following any symbolic link."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or any(p in ("", ".", "..") for p in parts):
        return False
    try:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        if not stat.S_ISREG(os.stat(parts[-1], dir_fd=folder, follow_symlinks=False).st_mode):
            log.warning("%s is not a regular file; left as it is", relative)
            return False
        os.unlink(parts[-1], dir_fd=folder)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:  # ELOOP / ENOTDIR: a link or a file where a folder was
        log.warning("%s left as it is: %s is not a plain folder here (%s)", relative,
                    "/".join(parts[:-1]), exc.strerror)
        return False
    finally:
        os.close(folder)


def render_reports(out_dir: str | Path, manifest: dict | None = None, pdf: bool = False) -> dict:
    """Write reports/index.html and one page per case (and a PDF of each with pdf=True); return their paths."""
    out = Path(out_dir)
    manifest = manifest or {}
    hits = read_jsonl(out / "hits.jsonl")
    cases = sorted(_with_safe_pages(read_jsonl(out / "cases.jsonl")),
                   key=lambda c: (SEVERITY_ORDER[c["severity"]], -c["score"], c["case"]["id"]))
    hits_by_case: dict[str, list[dict]] = {}
    for hit in hits:
        hits_by_case.setdefault(hit["case"]["id"], []).append(hit)
    env = environment()
    common = {"manifest": manifest, "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "tool_version": __version__, "redaction": redaction_note(manifest)}
    folder = out / "reports" / "cases"
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for case in cases:
        case_hits = sorted(hits_by_case.get(case["case"]["id"], []),
                           key=lambda h: (h["@timestamp"], h["message"]["id"]))
        entries = timeline(case_hits)
        pictures = {"timeline": timeline_svg(case_hits, entries), "unit": bar_unit(entries),
                    "replies": replies_svg(case_hits, entries)}
        html = env.get_template("case.html.j2").render(case=case, hits=case_hits, timeline=entries,
                                                       pictures=pictures, **common)
        path = out / case["report"]["path"]
        _write(path, html)
        pages.append(path)
    pdfs = _print(pages) if pdf else []
    counts = {
        "severity": Counter(c["severity"] for c in cases),
        "platform": Counter(c["platform"] for c in cases),
        "conversation": Counter(c["conversation"]["name"] for c in cases),
    }
    index = out / "reports" / "index.html"
    _write(index, env.get_template("index.html.j2").render(cases=cases, counts=counts, pdf=bool(pdfs), **common))
    return {"index": index, "cases": pages, "pdfs": pdfs}


def _print(pages: list[Path]) -> list[Path]:
    from pipelines.pdf import write_pdfs  # WeasyPrint loads Pango: only when PDFs are asked for

    return write_pdfs(pages)


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
