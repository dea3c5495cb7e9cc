import json

import pytest

from pipelines.cli import main
from pipelines.evaluate import Prediction, Score, breakdown, format_report, load_labels, score
from tests.conftest import FIXTURES


def labels_of(**rows):
    return {name: {"conversation": name, "label": label, "language": "en"} for name, label in rows.items()}


def test_precision_recall_f1():
    s = Score(tp=8, fp=2, fn=2, tn=88)
    assert (s.precision, s.recall, round(s.f1, 3)) == (0.8, 0.8, 0.8)
    assert Score(0, 0, 0, 5).f1 == 0.0


def test_missing_predictions_count_as_negative():
    labels = labels_of(a="positive", b="negative", c="positive")
    assert score(labels, {"a": True}) == Score(tp=1, fp=0, fn=1, tn=1)


def test_breakdown_scores_rules_and_categories_on_flagged_conversations():
    labels = labels_of(a="positive", b="negative")
    predictions = {"a": Prediction(True, {"CONCEALMENT"}, {"conceal.x"}),
                   "b": Prediction(True, {"SECRECY"}, {"secrecy.y"})}
    table = breakdown(labels, predictions)
    assert table["category"]["CONCEALMENT"] == Score(1, 0, 0, 1)
    assert table["rule"]["secrecy.y"] == Score(0, 1, 1, 0)
    assert "conceal.x" in format_report("t", table)


def test_labels_must_be_positive_or_negative(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"conversation": "c", "label": "maybe"}) + "\n")
    with pytest.raises(ValueError, match="positive or negative"):
        load_labels(path)


def test_eval_command_prints_engine_and_baseline(capsys):
    devset = FIXTURES / "devset"
    assert main(["eval", "--input", str(devset), "--labels", str(devset / "labels.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "== engine" in out and "== baseline" in out
    for section in ("overall", "language", "category", "rule"):
        assert section in out


def test_run_help_lists_the_scan_options(capsys):
    assert main(["run", "--help"]) == 0
    shown = capsys.readouterr().out
    assert all(option in shown for option in ("--input", "--out", "--redact-kinds", "EMAIL_ADDRESS", "--pdf"))
