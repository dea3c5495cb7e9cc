"""Detection in a busy ML-team workspace: the planted conversations found, ordinary talk left alone.

The workspace (tests/fixtures/busy, a seeded generator written without reading the rules) has three
channels with a message every 5-60 s, 60 people, threads and interleaved exchanges, ~23 % Chinese or
code-switched, and a share of ordinary messages that use the vendor/quota/outputs/delete/audit/脱敏
vocabulary for legitimate reasons. Six concealment conversations are planted inside the busy channels,
beside split-signal decoys (hiding-ish words in one exchange, a vendor in another nearby) and hard
negatives (approved PII masking, key rotation, retention deletion, disclosure, news, quizzes).
"""

from __future__ import annotations

import pytest

from pipelines.evaluate import evaluate_planted
from tests.fixtures.busy._make import write_workspace

DENSITIES = (0.01, 0.10, 0.25, 0.40)


@pytest.fixture(scope="module", params=DENSITIES, ids=[f"{d:.0%} vocabulary" for d in DENSITIES])
def planted(request, tmp_path_factory):
    export = tmp_path_factory.mktemp("busy")
    write_workspace(export, messages=22000, density=request.param)
    return evaluate_planted(str(export), str(export / "labels.json"))


def test_every_planted_conversation_is_medium_or_high(planted):
    assert planted.missed == [], planted.line()


def test_no_case_of_ordinary_talk_reaches_medium(planted):
    assert planted.false_cases == 0, planted.line()


def test_every_decoy_stays_below_medium(planted):
    assert planted.decoys_flagged == [], planted.line()


def test_ordinary_messages_flagged_medium_are_at_most_a_few_inside_true_cases(planted):
    """A vendor mention linked by a name into a planted exchange may share its case; nothing else may."""
    assert planted.false_alarms <= 3, planted.line()


def test_no_rule_that_can_open_the_gate_fires_on_ordinary_busy_talk(tmp_path):
    """`rules check --background` on the busy workspace at 25 % vocabulary: a hiding rule that is not marked
    weak may fire on at most 1 % of its ordinary messages, or it is too common a word to be a signal."""
    from pipelines.evaluate import rule_noise

    write_workspace(tmp_path, messages=8000, density=0.25)
    rows = rule_noise([str(tmp_path)])
    assert rows[0].messages > 7500
    assert [(r.rule, f"{r.rate:.2%}") for r in rows if r.noisy] == []
