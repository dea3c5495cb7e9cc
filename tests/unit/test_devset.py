"""Quality on the labelled dev set, measured the way `chatforensics eval` measures it."""

import pytest

from pipelines.evaluate import evaluate
from tests.conftest import FIXTURES

DEVSET = FIXTURES / "devset"


@pytest.fixture(scope="module")
def results():
    return evaluate(str(DEVSET), str(DEVSET / "labels.jsonl"))


def test_engine_f1_on_the_devset_is_at_least_0_9(results):
    overall = results["engine"]["overall"]["all"]
    assert overall.f1 >= 0.9, overall


@pytest.mark.parametrize("language", ["en", "zh", "mixed"])
def test_every_language_is_first_class(results, language):
    assert results["engine"]["language"][language].f1 >= 0.85, results["engine"]["language"][language]


def test_engine_beats_the_keyword_baseline(results):
    engine, baseline = results["engine"]["overall"]["all"], results["baseline"]["overall"]["all"]
    assert engine.f1 > baseline.f1 and engine.precision > baseline.precision


def test_every_hiding_category_contributes(results):
    for category in ("CONCEALMENT", "EVASION", "SECRECY", "THIRD_PARTY_API"):
        assert results["engine"]["category"][category].tp > 0, category


DEVSET2 = FIXTURES / "devset2"


@pytest.fixture(scope="module")
def results2():
    """devset2 was written independently of the rules, with indirect talk; the rules were widened on it."""
    return evaluate(str(DEVSET2), str(DEVSET2 / "labels.jsonl"))


def test_engine_on_the_indirect_devset2_keeps_recall_and_precision(results2):
    overall = results2["engine"]["overall"]["all"]
    assert overall.f1 >= 0.95 and overall.precision >= 0.85, overall


def test_engine_beats_the_keyword_baseline_on_devset2(results2):
    engine, baseline = results2["engine"]["overall"]["all"], results2["baseline"]["overall"]["all"]
    assert engine.f1 > baseline.f1 and engine.precision > baseline.precision


@pytest.mark.parametrize("language", ["en", "zh", "mixed"])
def test_indirect_talk_is_caught_in_every_language(results2, language):
    assert results2["engine"]["language"][language].f1 >= 0.9, results2["engine"]["language"][language]
