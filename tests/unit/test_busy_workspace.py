"""Detection in busy ML-team workspaces: the planted conversations found, ordinary talk left alone.

Two seeded workspace generators, written by people who never read the rules (tests/fixtures/busy and
busy_c), make Slack exports of busy channels (a message every few seconds to a minute, 60-80 people,
threads and interleaved exchanges, ~20 % Chinese or code-switched) in which a share of ordinary messages
use the vendor/quota/outputs/delete/audit/脱敏 vocabulary for legitimate reasons. Six concealment
conversations are planted inside the busy channels of each, beside split-signal decoys (hiding-ish
words in one exchange, a vendor in another nearby) and hard negatives (approved PII masking, key
rotation, retention deletion, disclosure, news, quizzes).

The floors are what the detector holds on every one of these workspaces (benchmarks/quality.py gives
the exact figures, over several seeds too, and the third, blind generator): at most one planted
conversation missed, at most one case of ordinary talk at medium or high, at most one decoy flagged.
"""

from __future__ import annotations

import importlib

import pytest

from pipelines.evaluate import evaluate_planted

DENSITIES = (0.01, 0.10, 0.25, 0.40)
WORKSPACES = [(name, d) for name in ("busy", "busy_c") for d in DENSITIES]


@pytest.fixture(scope="module", params=WORKSPACES, ids=[f"{n}-{d:.0%}" for n, d in WORKSPACES])
def planted(request, tmp_path_factory):
    name, density = request.param
    export = tmp_path_factory.mktemp(name)
    importlib.import_module(f"tests.fixtures.{name}._make").write_workspace(export, messages=20000, density=density)
    return evaluate_planted(str(export), str(export / "labels.json"))


def test_the_planted_conversations_are_medium_or_high(planted):
    assert len(planted.missed) <= 1, planted.line()


def test_ordinary_talk_raises_at_most_one_medium_case(planted):
    assert planted.false_cases <= 1, planted.line()


def test_decoys_stay_below_medium(planted):
    assert len(planted.decoys_flagged) <= 1, planted.line()


def test_no_rule_that_can_open_the_gate_fires_on_ordinary_busy_talk(tmp_path):
    """`rules check --background` on the busy workspace at 25 % vocabulary: a hiding rule that is not marked
    weak may fire on at most 1 % of its ordinary messages, or it is too common a word to be a signal."""
    from pipelines.evaluate import rule_noise
    from tests.fixtures.busy._make import write_workspace

    write_workspace(tmp_path, messages=8000, density=0.25)
    rows = rule_noise([str(tmp_path)])
    assert rows[0].messages > 7500
    assert [(r.rule, f"{r.rate:.2%}") for r in rows if r.noisy] == []
