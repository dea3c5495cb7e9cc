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
