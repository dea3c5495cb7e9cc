"""Hostile single messages against time budgets: the worst inputs found for the entity scan and the PDF printer.

Each case is one crafted message; its budget is for that one message, on one core. The entity scan is
Presidio with every recognizer the run registers (analyzers/entities.py), in Chinese and English; the PDF
case is `report --pdf` of a one-case run whose flagged message is one long word.

    python -m benchmarks.hostile                 # every case at its full size, exit 1 when one is over budget
    python -m benchmarks.hostile --scale 0.25    # the same at a quarter of the size, budgets scaled

tests/unit/test_hostile_input.py holds the three blow-ups and the PDF to budgets at 20,000-40,000 characters.
Before the windows and the keyword index of analyzers/entities.py, the bounded e-mail pattern and the PDF's
broken words (measured on this machine, two shared cores): `zh-dotted-tail` 34 s at 40,000 characters and
486 s at 100,000, `email-local-run` 293 s at 20,000, `zh-phones` 187 s at 40,000, and an 80,000-character
word took 988 s to print; each now grows with its length (README, Hostile input).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from builders.slack import JsonStyle, SlackExport


@dataclass(frozen=True)
class Case:
    name: str
    size: int  # characters at scale 1
    budget: float  # seconds at scale 1 (scaled with the size: the cost must stay linear)
    make: Callable[[int], str]
    language: str = "zh"


ZH = "这批数据要脱敏，别让人看出是从接口里拿的。"
CASES = [
    # The message: Chinese, then "1.1.1.1…" (thousands of IP-shaped entities, and Presidio's context
    # step walked back through every character for each of them).
    Case("zh-dotted-tail", 100_000, 40.0, lambda n: (ZH * (n // 2 // len(ZH)) + "1." * n)[:n]),
    Case("dotted", 100_000, 40.0, lambda n: ("1." * n)[:n], "en"),
    # Presidio's e-mail pattern, unbounded local part: every start of "a.a.a.…@" scanned to the "@" and back.
    Case("email-local-run", 100_000, 20.0, lambda n: ("a." * n)[:n - 1] + "@", "en"),
    Case("zh-phones", 100_000, 40.0, lambda n: ("你好" * (n // 4) + "13812345678 " * n)[:n]),
    Case("digit-groups", 100_000, 40.0, lambda n: ("(1) " * n)[:n], "en"),
]
PDF_WORD, PDF_BUDGET = 80_000, 30.0


def screen_seconds(finder, case: Case, scale: float) -> float:
    text = case.make(max(1, int(case.size * scale)))
    started = time.perf_counter()
    finder.find(text, case.language)
    return time.perf_counter() - started


def pdf_seconds(word_length: int) -> float:
    """Seconds to print the case page of a one-message run whose flagged message ends in one long word."""
    from pipelines.reports import render_reports
    from pipelines.scan import run

    word = ("Ab1x" * (word_length // 4 + 1))[:word_length]
    with tempfile.TemporaryDirectory(prefix="cf-hostile-") as tmp:
        export, out = Path(tmp, "export"), Path(tmp, "out")
        slack = SlackExport(export, JsonStyle(indent=None, ensure_ascii=True, newline=False))
        slack.channels([{"id": "C1", "name": "general"}])
        slack.users([{"id": "U1", "name": "alice"}])
        slack.day("general", "2025-03-05", [{
            "type": "message", "user": "U1", "ts": "1741170120.000300",
            "text": f"we need to hide that the data came from GPT-4 outputs, scrub the vendor name {word}"}])
        if run(["--input", str(export), "--out", str(out), "--no-index", "--quiet"]) != 0:
            raise RuntimeError("the one-message scan failed")
        manifest = json.loads((out / "manifest.json").read_text())
        started = time.perf_counter()
        if not render_reports(out, manifest, pdf=True)["pdfs"]:
            raise RuntimeError("no PDF was printed: the planted message was not a hit")
        return time.perf_counter() - started


def measure(scale: float = 1.0, pdf: bool = True) -> list[tuple[str, float, float]]:
    """(case, seconds, budget) of every case at `scale` of its size."""
    from analyzers.entities import EntityFinder

    finder = EntityFinder()
    rows = [(c.name, screen_seconds(finder, c, scale), c.budget * scale) for c in CASES]
    if pdf:
        rows.append(("pdf-long-word", pdf_seconds(int(PDF_WORD * scale)), PDF_BUDGET * max(scale, 0.25)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each case's size (default 1)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF case (no WeasyPrint here)")
    args = parser.parse_args(argv)
    over = 0
    for name, seconds, budget in measure(args.scale, not args.no_pdf):
        over += seconds > budget
        print(f"{name:18} {seconds:7.2f} s  budget {budget:6.1f} s  {'OVER' if seconds > budget else 'ok'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
