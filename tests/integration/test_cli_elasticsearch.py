"""The CLI against the real node: templates, counts, ids stable across runs."""

import dataclasses
import json

import pytest
from elasticsearch import Elasticsearch

from pipelines.cli import main
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.integration


def scan(out, es_config, monkeypatch, *extra):
    monkeypatch.setenv("CHATFORENSICS_ES_PREFIX", es_config.prefix)
    code = main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--es-url", es_config.url,
                 "--quiet", *extra])
    return code, json.loads((out / "manifest.json").read_text())


def ids(es, alias):
    es.indices.refresh(index=alias)
    found = es.search(index=alias, query={"match_all": {}}, size=1000, source=False)
    return sorted(h["_id"] for h in found["hits"]["hits"])


def test_demo_indexed_twice_keeps_the_same_documents(tmp_path, es_config, monkeypatch):
    es = Elasticsearch(es_config.url)
    code, first = scan(tmp_path / "a", es_config, monkeypatch)
    assert code == 0 and first["counts"]["hits"] > 0 and first["counts"]["cases"] > 0
    assert first["elasticsearch"]["verified"] is True
    hit_ids, case_ids = ids(es, es_config.alias("hits")), ids(es, es_config.alias("cases"))
    assert len(hit_ids) == first["counts"]["hits"] and len(case_ids) == first["counts"]["cases"]

    code, second = scan(tmp_path / "b", es_config, monkeypatch)
    assert code == 0 and second["run"]["id"] == first["run"]["id"]
    assert ids(es, es_config.alias("hits")) == hit_ids
    assert ids(es, es_config.alias("cases")) == case_ids
    assert ids(es, es_config.alias("runs")) == [first["run"]["id"]]
    assert (tmp_path / "a" / "hits.jsonl").read_text() == (tmp_path / "b" / "hits.jsonl").read_text()


def test_indexed_hit_carries_the_documented_fields(tmp_path, es_config, monkeypatch):
    scan(tmp_path / "c", es_config, monkeypatch)
    es = Elasticsearch(es_config.url)
    es.indices.refresh(index=es_config.alias("hits"))
    top = es.search(index=es_config.alias("hits"), size=1, sort=[{"detection.score": "desc"}])["hits"]["hits"][0]
    doc = top["_source"]
    assert doc["hit"]["id"] == top["_id"]
    for field in ("platform", "message", "conversation", "author", "@timestamp", "source", "detection", "context",
                  "entities", "case", "run", "ruleset"):
        assert field in doc
    assert doc["detection"]["severity"] in ("low", "medium", "high")
    assert doc["detection"]["matches"] and doc["detection"]["explanation"].endswith(".")
    assert len(doc["source"]["archive_sha256"]) == 64
    mapping = es.indices.get_mapping(index=es_config.alias("hits"))
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["detection"]["properties"]["rules"]["type"] == "keyword"
    assert props["@timestamp"]["type"] == "date"


def test_es_setup_is_idempotent(es_config, capsys):
    assert main(["es", "setup", "--es-url", es_config.url, "--es-prefix", es_config.prefix]) == 0
    first = capsys.readouterr().out
    assert main(["es", "setup", "--es-url", es_config.url, "--es-prefix", es_config.prefix]) == 0
    assert capsys.readouterr().out == first


def test_no_indexed_document_holds_a_raw_secret(tmp_path, es_config, monkeypatch):
    """The masking gate stands before the index too: every _source of hits, cases and the run record."""
    from tests.unit.test_secret_gate import PLACEHOLDER_LOOKING, SECRETS, _slack

    _slack(tmp_path / "export")
    config = dataclasses.replace(es_config, prefix=es_config.prefix + "-gate")
    monkeypatch.setenv("CHATFORENSICS_ES_PREFIX", config.prefix)
    assert main(["run", "--input", str(tmp_path / "export"), "--out", str(tmp_path / "out"),
                 "--es-url", es_config.url, "--quiet"]) == 0
    es = Elasticsearch(es_config.url)
    sources = []
    for kind in ("hits", "cases", "runs"):
        es.indices.refresh(index=config.alias(kind))
        sources += [h["_source"] for h in es.search(index=config.alias(kind), size=1000)["hits"]["hits"]]
    assert any("hit" in s for s in sources) and any("case" in s for s in sources)
    indexed = json.dumps(sources, ensure_ascii=False)
    assert [v[:24] for v in [*SECRETS.values(), PLACEHOLDER_LOOKING] if json.dumps(v)[1:-1] in indexed] == []


def sources(es, alias) -> dict[str, dict]:
    es.indices.refresh(index=alias)
    return {h["_id"]: h["_source"] for h in es.search(index=alias, query={"match_all": {}}, size=1000)["hits"]["hits"]}


def test_a_no_redact_run_never_overwrites_a_redacted_index(tmp_path, es_config, monkeypatch, capsys):
    """Ids name the message, not its redaction, so a --no-redact run into a redacted prefix would replace every
    redacted document while the first run record still said verified. It is refused, the files are still
    written, and the unredacted run indexes under a prefix of its own, where a re-run duplicates nothing."""
    config = dataclasses.replace(es_config, prefix=es_config.prefix + "-redaction")
    es = Elasticsearch(es_config.url)
    code, redacted = scan(tmp_path / "redacted", config, monkeypatch)
    assert code == 0 and redacted["elasticsearch"]["verified"] is True
    before = {kind: sources(es, config.alias(kind)) for kind in ("hits", "cases")}
    assert "<EMAIL_ADDRESS>" in json.dumps(before["hits"])
    capsys.readouterr()

    code, raw = scan(tmp_path / "raw", config, monkeypatch, "--no-redact")
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error:")]
    assert code == 3 and len(line) == 1
    assert "--redact" in line[0] and "--no-redact" in line[0] and f"CHATFORENSICS_ES_PREFIX={config.prefix}-" in line[0]
    assert raw["elasticsearch"]["indexed"] is False and raw["elasticsearch"]["error"] in line[0]
    assert raw["counts"]["hits"] == redacted["counts"]["hits"]
    assert (tmp_path / "raw" / "reports" / "index.html").exists()
    assert {kind: sources(es, config.alias(kind)) for kind in ("hits", "cases")} == before
    record = es.get(index=config.alias("runs"), id=redacted["run"]["id"])["_source"]
    assert record["elasticsearch"]["verified"] is True
    assert ids(es, config.alias("runs")) == [redacted["run"]["id"]]

    # Narrower masking is another setting too: it would unmask the kinds it leaves out.
    code, _ = scan(tmp_path / "narrow", config, monkeypatch, "--redact-kinds", "PHONE_NUMBER")
    assert code == 3 and {kind: sources(es, config.alias(kind)) for kind in ("hits", "cases")} == before

    own = dataclasses.replace(config, prefix=config.prefix + "-unredacted")
    for attempt in ("first", "again"):
        code, unredacted = scan(tmp_path / attempt, own, monkeypatch, "--no-redact")
        assert code == 0 and unredacted["elasticsearch"]["verified"] is True
        assert len(ids(es, own.alias("hits"))) == unredacted["counts"]["hits"]
    assert sorted(ids(es, own.alias("hits"))) == sorted(before["hits"])  # the same ids, in another index


def test_an_index_from_before_the_marker_is_judged_by_its_run_records(tmp_path, es_config, monkeypatch):
    """Indices made by an earlier version carry no redaction marker: their run records say how they were made."""
    config = dataclasses.replace(es_config, prefix=es_config.prefix + "-legacy")
    es = Elasticsearch(es_config.url)
    code, _ = scan(tmp_path / "redacted", config, monkeypatch)
    assert code == 0
    for kind in ("hits", "cases"):
        es.indices.put_mapping(index=config.alias(kind), meta={})  # as an index of the earlier version
    before = sources(es, config.alias("hits"))
    code, _ = scan(tmp_path / "raw", config, monkeypatch, "--no-redact")
    assert code == 3 and sources(es, config.alias("hits")) == before


def test_a_migration_keeps_the_prefix_s_redaction_setting(tmp_path, es_config, monkeypatch):
    from pipelines.sinks.elasticsearch import REDACTION_META

    config = dataclasses.replace(es_config, prefix=es_config.prefix + "-migrated")
    assert scan(tmp_path / "a", config, monkeypatch, "--no-redact")[0] == 0
    assert main(["es", "migrate", "--es-url", es_config.url, "--es-prefix", config.prefix]) == 0
    es = Elasticsearch(es_config.url)
    for kind in ("hits", "cases"):
        (index, body), = es.indices.get_mapping(index=config.alias(kind)).items()
        assert index.endswith("-v2") and body["mappings"]["_meta"][REDACTION_META] == {"redact": False, "kinds": []}
