"""The Beam transforms on the DirectRunner, with TestPipeline and assert_that."""

import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from analyzers.rules import load_ruleset
from pipelines.archive import Archive
from pipelines.composites import CASES, ERRORS, STATS, DetectCases, ReadExport, ScoreMessages
from pipelines.ingest import detect
from pipelines.reports import summarize
from pipelines.scan import run
from tests.helpers.slack import CONCEALMENT_DAY, T0, msg, write_slack


def export(tmp_path):
    return write_slack(tmp_path / "export", {
        "ml-platform/2024-05-01": CONCEALMENT_DAY,
        "random/2024-05-01": [msg("U1", T0, "who wants pizza"), msg("U2", T0 + 5, "me")],
        "random/2024-05-02": "{ not json",
    })


def test_graph_turns_an_export_into_hits_cases_errors_and_stats(tmp_path):
    archive = Archive(export(tmp_path))
    reader = detect(archive)
    context, _ = reader.context(archive)
    ruleset = load_ruleset()
    with BeamTestPipeline() as p:
        read = p | ReadExport(archive, reader, context, "a" * 64, batch_size=100)
        detected = (read.batches | ScoreMessages(None, True)
                    | DetectCases(ruleset, "run-x", 1800, summarize, mask_context=(None, True)))
        assert_that(detected.hits | "HitAuthors" >> beam.Map(lambda h: h["author"]["name"]),
                    equal_to(["alice", "bob", "Carol Evans", "alice"]), label="hits")
        assert_that(detected[CASES] | "CaseSeverity" >> beam.Map(lambda c: (c["severity"], c["hit_count"])),
                    equal_to([("high", 4)]), label="cases")
        assert_that(read[ERRORS] | "ErrorPaths" >> beam.Map(lambda e: e["source"]["path"]),
                    equal_to(["random/2024-05-02.json"]), label="errors")
        assert_that(read[STATS] | "Accounting" >> beam.Map(lambda s: (s["path"], s["records"], s["messages"])),
                    equal_to([("ml-platform/2024-05-01.json", 5, 5), ("random/2024-05-01.json", 2, 2),
                              ("random/2024-05-02.json", 1, 0)]), label="stats")


def test_run_without_elasticsearch_writes_the_documented_files(tmp_path):
    out = tmp_path / "out"
    assert run(["--input", str(export(tmp_path)), "--out", str(out), "--no-index", "--quiet"]) == 0
    for name in ("hits.jsonl", "cases.jsonl", "errors.jsonl", "manifest.json", "reports/index.html"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts == {"records": 8, "messages": 7, "merged": 0, "malformed": 1, "hits": 4, "cases": 1,
                      "index_rejected": 0}
    assert len(manifest["input"]["sha256"]) == 64
    assert {m["path"] for m in manifest["members"]} >= {"users.json", "channels.json", "random/2024-05-02.json"}
    case = json.loads((out / "cases.jsonl").read_text())
    assert (out / case["report"]["path"]).is_file()
    hit = json.loads((out / "hits.jsonl").read_text().splitlines()[0])
    assert hit["detection"]["explanation"] and hit["case"]["id"] == case["case"]["id"]


def test_same_input_same_ids_and_files(tmp_path):
    source = export(tmp_path)
    outs = [tmp_path / "one", tmp_path / "two"]
    for out in outs:
        run(["--input", str(source), "--out", str(out), "--no-index", "--quiet"])
    for name in ("hits.jsonl", "cases.jsonl", "errors.jsonl"):
        assert (outs[0] / name).read_text() == (outs[1] / name).read_text()


def test_dead_letters_are_written_per_source_and_merged_in_order(tmp_path):
    from pipelines.sinks.files import WriteDeadLetters, merge_parts

    def dead(path, pointer):
        return {"source": {"path": path, "pointer": pointer}, "reason": "bad"}

    parts = tmp_path / "parts"
    parts.mkdir()
    with BeamTestPipeline() as p:
        (p | beam.Create([dead("b.json", "/2"), dead("a.json", "/9"), dead("b.json", "/1"), dead("a.json", "/10")])
         | WriteDeadLetters(str(parts), lambda e: (e["source"]["path"], e["source"]["pointer"])))
    assert len(list(parts.glob("*.jsonl"))) == 2  # one part per source file
    counts = merge_parts(parts, tmp_path / "errors.jsonl")
    rows = [json.loads(line)["source"] for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert [(r["path"], r["pointer"]) for r in rows] == [("a.json", "/10"), ("a.json", "/9"), ("b.json", "/1"),
                                                         ("b.json", "/2")]
    assert counts == {"a.json": 2, "b.json": 2}


def test_a_vendor_its_quota_and_its_outputs_without_a_word_of_hiding_are_no_hit(tmp_path):
    """An ML team's ordinary talk ("the OpenAI quota reset", "check the GPT-4 outputs") is not a lead: a hit,
    however low, is talk about hiding."""
    folder = write_slack(tmp_path / "export", {"ml-platform/2024-05-01": [
        msg("U1", T0, "the OpenAI quota reset at midnight, batch 4821 is running again"),
        msg("U2", T0 + 30, "can you check the GPT-4 outputs for eval run 12 before standup?"),
        msg("U1", T0 + 60, "Anthropic rate limit hit again, switching to the batch endpoint"),
    ]})
    out = tmp_path / "out"
    assert run(["--input", str(folder), "--out", str(out), "--no-index", "--quiet"]) == 0
    assert (out / "hits.jsonl").read_text() == ""
