"""Quality on the labelled conversation sets, measured the way `chatforensics eval` measures it.

devset, devset2, devset3 and devset4 are development sets (rules were developed on them; devset4, of the
mechanisms people use in busy ML teams, is the youngest and lowest); holdout and blind2
were written by people who never read the rules and are never tuned on: their floors only guard
against regressions. Every set's floors are the figures the README publishes for it (engine precision,
recall and F1, as `python -m benchmarks.quality` prints them), read from the README's table, so the two
cannot drift apart: a change that lowers a figure fails here, one that raises it may raise the README.
"""

import functools
import re

import pytest

from pipelines.evaluate import evaluate
from tests.conftest import FIXTURES, ROOT

README_ROW = re.compile(r"^\| (\w+) \([^|]*\) \| ([\d.]+) / ([\d.]+) / ([\d.]+) \|", re.M)


def readme_figures() -> dict[str, tuple[float, float, float]]:
    """{set: (precision, recall, F1)} from the README's table of labelled conversation sets."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return {name: (float(p), float(r), float(f1)) for name, p, r, f1 in README_ROW.findall(text)}


FLOORS = readme_figures()
LABELLED = sorted(p.parent.name for p in FIXTURES.glob("*/labels.jsonl"))


def test_every_labelled_set_has_its_readme_figures():
    assert LABELLED == ["blind2", "devset", "devset2", "devset3", "devset4", "holdout"]
    assert sorted(FLOORS) == LABELLED, "a labelled set without figures in the README's table has no floor"


@functools.cache
def evaluated(name: str) -> dict:
    folder = FIXTURES / name
    return evaluate(str(folder), str(folder / "labels.jsonl"))


@pytest.fixture(params=LABELLED)
def results(request):
    return request.param, evaluated(request.param)


def test_engine_holds_the_readme_figures(results):
    name, r = results
    overall = r["engine"]["overall"]["all"]
    precision, recall, f1 = FLOORS[name]
    shown = {k: float(f"{getattr(overall, k):.2f}") for k in ("precision", "recall", "f1")}  # as the README rounds
    assert shown["f1"] >= f1, (name, overall)
    assert shown["precision"] >= precision and shown["recall"] >= recall, (name, overall, FLOORS[name])


def test_engine_beats_the_keyword_baseline(results):
    name, r = results
    engine, baseline = r["engine"]["overall"]["all"], r["baseline"]["overall"]["all"]
    assert engine.precision > baseline.precision, name
    if name.startswith("devset"):
        assert engine.f1 > baseline.f1, name


@pytest.mark.parametrize("name", ["devset", "devset2", "devset3"])
@pytest.mark.parametrize("language", ["en", "zh", "mixed"])
def test_every_language_is_first_class(name, language):
    r = evaluated(name)
    assert r["engine"]["language"][language].f1 >= 0.85, (name, language, r["engine"]["language"][language])


def test_every_hiding_category_contributes():
    r = evaluated("devset")
    for category in ("CONCEALMENT", "EVASION", "SECRECY", "THIRD_PARTY_API"):
        assert r["engine"]["category"][category].tp > 0, category
