"""Quality on the labelled conversation sets, measured the way `chatforensics eval` measures it.

devset, devset2, devset3 and devset4 are development sets (rules were developed on them; devset4, of the
mechanisms people use in busy ML teams, is the youngest and lowest); holdout and blind2
were written by people who never read the rules and are never tuned on: their floors only guard
against regressions and match the figures in the README.
"""

import functools

import pytest

from pipelines.evaluate import evaluate
from tests.conftest import FIXTURES

FLOORS = {"devset": 0.95, "devset2": 0.95, "devset3": 0.95, "devset4": 0.80, "holdout": 0.65, "blind2": 0.50}


@functools.cache
def evaluated(name: str) -> dict:
    folder = FIXTURES / name
    return evaluate(str(folder), str(folder / "labels.jsonl"))


@pytest.fixture(params=sorted(FLOORS))
def results(request):
    return request.param, evaluated(request.param)


def test_engine_f1_holds_its_floor(results):
    name, r = results
    overall = r["engine"]["overall"]["all"]
    assert overall.f1 >= FLOORS[name], (name, overall)


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
