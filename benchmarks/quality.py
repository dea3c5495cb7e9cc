"""Detection quality on every labelled set, in one table (the README's Detection figures).

    .venv/bin/python -m benchmarks.quality [--busy-messages 22000] [--skip-irc]

* conversation sets (tests/fixtures/<set>/labels.jsonl): precision, recall and F1 of "the conversation
  has a medium or high hit", beside a keyword-OR baseline. devset, devset2, devset3, devset4 are
  development sets; holdout and blind2 were written by people who never read the rules and are never
  tuned on.
* busy workspaces (seeded generators in tests/fixtures/busy, busy_c, busy_blind and busy_blind3): planted concealment
  conversations caught (any of their messages medium/high), medium/high cases and hits outside them,
  at several shares of ordinary messages using the rules' vocabulary. `busy` and `busy_c` are tuned on;
  `busy_blind` is the blind check; `busy_blind3` was blind at its first run, then its false alarms were read.
* the episode step on real #ubuntu IRC gold (needs ../shared/realdata), beside the paper's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import tempfile
from pathlib import Path

from pipelines.evaluate import evaluate, evaluate_planted

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
CONVERSATION_SETS = ("devset", "devset2", "devset3", "devset4", "holdout", "blind2")
BUSY = (("busy", "tuned on"), ("busy_c", "tuned on"), ("busy_blind", "blind"), ("busy_blind3", "blind, then read"))
DENSITIES = (0.01, 0.10, 0.25, 0.40)


def quiet(call):
    with contextlib.redirect_stdout(io.StringIO()):
        return call()


def conversation_rows() -> list[str]:
    rows = [f"{'set':<10}{'P':>6}{'R':>6}{'F1':>6}{'keyword F1':>12}   per language F1"]
    for name in CONVERSATION_SETS:
        folder = FIXTURES / name
        r = quiet(lambda folder=folder: evaluate(str(folder), str(folder / "labels.jsonl")))
        e, b = r["engine"]["overall"]["all"], r["baseline"]["overall"]["all"]
        langs = ", ".join(f"{k} {v.f1:.2f}" for k, v in sorted(r["engine"]["language"].items()))
        rows.append(f"{name:<10}{e.precision:>6.2f}{e.recall:>6.2f}{e.f1:>6.2f}{b.f1:>12.2f}   {langs}")
    return rows


def busy_rows(messages: int) -> list[str]:
    rows = [f"{'workspace':<22}{'vocabulary':>11}{'caught':>8}{'false cases':>13}{'false hits':>12}{'hits':>7}"]
    for name, kind in BUSY:
        generator = importlib.import_module(f"tests.fixtures.{name}._make")
        for density in DENSITIES:
            with tempfile.TemporaryDirectory(prefix=f"cf-{name}-") as folder:
                generator.write_workspace(Path(folder), messages=messages, density=density)
                r = quiet(lambda folder=folder: evaluate_planted(folder, str(Path(folder) / "labels.json")))
            rows.append(f"{name + ' (' + kind + ')':<22}{density:>11.0%}{len(r.caught):>5}/{r.positives:<2}"
                        f"{r.false_cases:>13}{r.false_alarms:>12}{r.hits:>7}")
    return rows


def irc_rows() -> list[str]:
    from benchmarks import episodes, irc

    r = irc.evaluate("test", episodes.predict)
    rows = [f"#ubuntu test: chatforensics episodes link F {r['link_f']:.1f}, 1-1 {r['one_to_one']:.1f}, "
            f"1-VI {r['one_minus_vi']:.1f}"]
    for name, values in episodes.PAPER.items():
        rows.append(f"  {name}: link F {values[2]:.1f}, 1-1 {values[4]:.1f}, 1-VI {values[3]:.1f}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy-messages", type=int, default=22000)
    parser.add_argument("--skip-irc", action="store_true")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    print("\n".join(conversation_rows()), flush=True)
    print("\n".join(busy_rows(args.busy_messages)), flush=True)
    if not args.skip_irc:
        print("\n".join(irc_rows()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
