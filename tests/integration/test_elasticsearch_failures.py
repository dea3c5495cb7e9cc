"""A run whose Elasticsearch fails part-way still leaves every file complete and says what was not indexed;
a node that stays busy costs one bounded retry budget per run, not minutes per batch.

Failures are injected by a proxy in front of the shared plain node (tests/helpers/fault_proxy.py): the
node itself answers everything the proxy lets through.
"""

import json
import time

import pytest

from pipelines.cli import main
from pipelines.sinks.files import read_jsonl
from tests.conftest import EXAMPLES
from tests.helpers.fault_proxy import DROP, FORBIDDEN_BULK, TOO_MANY, FaultProxy, from_then_on, on

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    assert main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--quiet", "--no-index"]) == 0
    return out


def scan(out, url, es_config, monkeypatch, name, **env) -> tuple[int, float]:
    monkeypatch.setenv("CHATFORENSICS_ES_PREFIX", f"{es_config.prefix}-{name}")
    for key, value in env.items():
        monkeypatch.setenv(f"CHATFORENSICS_ES_{key.upper()}", value)
    started = time.monotonic()
    code = main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--es-url", url, "--quiet"])
    return code, time.monotonic() - started


def complete(out, reference) -> dict:
    """The files are those of a run without indexing, the manifest and the reports are there, no scratch left."""
    for name in ("hits.jsonl", "cases.jsonl"):
        assert (out / name).read_text() == (reference / name).read_text(), name
    manifest = json.loads((out / "manifest.json").read_text())
    reference_counts = json.loads((reference / "manifest.json").read_text())["counts"]
    assert {k: v for k, v in manifest["counts"].items() if k != "index_rejected"} == {
        k: v for k, v in reference_counts.items() if k != "index_rejected"}
    assert (out / "reports" / "index.html").is_file()
    assert len(list((out / "reports" / "cases").glob("*.html"))) == manifest["counts"]["cases"]
    assert [p.name for p in out.iterdir() if p.name.startswith(".work")] == []
    return manifest


def index_dead_letters(out) -> list[dict]:
    return [e for e in read_jsonl(out / "errors.jsonl") if e.get("stage") == "index"]


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_a_node_that_goes_away_mid_run_leaves_the_files_complete_and_says_what_was_not_indexed(
        tmp_path, es_config, reference, monkeypatch, capsys):
    """The first bulk request gets through, then the node is gone: for the other batch, the count and the run
    record. Files, manifest and reports are all written; the manifest says what is and is not in the index."""
    with FaultProxy(es_config.url, from_then_on("_bulk", DROP, after=1)) as proxy:
        code, _ = scan(tmp_path, proxy.url, es_config, monkeypatch, "gone", retry_budget="3")
    line = error_line(capsys.readouterr().err)
    assert code == 3 and "cannot reach Elasticsearch" in line and "the files in" in line
    manifest = complete(tmp_path, reference)
    es = manifest["elasticsearch"]
    dead = index_dead_letters(tmp_path)
    assert es["indexed"] is True and es["verified"] is False and es["run_record"] is False
    assert "found" not in es and es["error"] in line
    assert sorted(es["not_indexed"].values())[0] == 0 and sum(es["not_indexed"].values()) == len(dead) > 0
    assert es["expected"] == {k: manifest["counts"][k] - es["not_indexed"][k] for k in ("hits", "cases")}
    assert manifest["counts"]["index_rejected"] == len(dead)
    assert es["retries"] == {"budget": 3, "taken": 3}
    assert proxy.count("_bulk") <= 2 + 3


def test_a_403_on_the_run_record_leaves_a_complete_run_record_on_disk(tmp_path, es_config, reference, monkeypatch,
                                                                      capsys):
    forbidden = (403, {"error": {"type": "security_exception", "reason": "action [indices:data/write/index] is "
                                 "unauthorized for user [chatforensics_writer]"}, "status": 403})
    with FaultProxy(es_config.url, on("runs", forbidden)) as proxy:
        code, _ = scan(tmp_path, proxy.url, es_config, monkeypatch, "runs403")
    line = error_line(capsys.readouterr().err)
    assert code == 3 and "run record was not indexed" in line and "403" in line
    es = complete(tmp_path, reference)["elasticsearch"]
    assert es["verified"] is True and es["run_record"] is False and es["found"] == es["expected"]
    assert proxy.count("runs") == 1  # a 403 is not retried


def test_a_403_on_bulk_makes_dead_letters_that_say_403_and_is_not_retried(tmp_path, es_config, reference,
                                                                         monkeypatch, capsys):
    with FaultProxy(es_config.url, on("_bulk", FORBIDDEN_BULK)) as proxy:
        code, _ = scan(tmp_path, proxy.url, es_config, monkeypatch, "bulk403")
    line = error_line(capsys.readouterr().err)
    manifest = complete(tmp_path, reference)
    dead = index_dead_letters(tmp_path)
    assert code == 3 and len(dead) == manifest["counts"]["hits"] + manifest["counts"]["cases"]
    for reason in {d["reason"] for d in dead}:
        assert "403" in reason and "indices:data/write/bulk" in reason  # the privilege it lacks
        assert "retr" not in reason and "unavailable" not in reason
    assert "403" in line and proxy.count("_bulk") == 2  # one request per batch, none again
    assert manifest["elasticsearch"]["not_indexed"] == {"hits": manifest["counts"]["hits"],
                                                        "cases": manifest["counts"]["cases"]}


def test_sustained_429_spends_one_bounded_budget_per_run_then_dead_letters(tmp_path, es_config, reference,
                                                                          monkeypatch, capsys):
    """Before: each batch was retried 7 x 7 times (the helper's retries inside the sink's), 49 requests and
    about 4 minutes a batch, 8.5 minutes for the demo's two. Now every retry of the run draws on one budget
    (default 10) with backoff and jitter; what is left becomes dead letters, counted, and the run exits 3."""
    with FaultProxy(es_config.url, on("_bulk", TOO_MANY)) as proxy:
        code, seconds = scan(tmp_path, proxy.url, es_config, monkeypatch, "busy")
    line = error_line(capsys.readouterr().err)
    manifest = complete(tmp_path, reference)
    dead = index_dead_letters(tmp_path)
    documents = manifest["counts"]["hits"] + manifest["counts"]["cases"]
    assert code == 3 and len(dead) == documents == manifest["counts"]["index_rejected"]
    assert f"{documents} document(s) not indexed" in line and "429" in line
    assert all("429" in d["reason"] for d in dead)
    assert any("retry budget (10 retries) was spent" in d["reason"] for d in dead)
    assert proxy.count("_bulk") == 2 + 10  # one first try per batch, ten retries in all
    assert manifest["elasticsearch"]["retries"] == {"budget": 10, "taken": 10}
    assert seconds < 90, seconds
    gaps = [b - a for a, b in zip(proxy.times("_bulk"), proxy.times("_bulk")[1:], strict=False)]
    assert max(gaps) <= 16 + 2  # the backoff is capped
