"""Index design on the real node: templates, versions and migration, Chinese search, secrets, rejections."""

import json
import time
from dataclasses import replace

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from elasticsearch import Elasticsearch

from pipelines.cli import main
from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks.files import read_jsonl
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.integration
DEMO_KEY = "sk-proj-sJ9QjJFgsdc5J02vaT7uz8YUkgFJr5yLAdg4WNbv7u"  # planted in examples/slack-demo


def sub_config(es_config, name: str) -> es_sink.EsConfig:
    """A prefix of its own inside the session's (the session fixture deletes `<prefix>-*`)."""
    return replace(es_config, prefix=f"{es_config.prefix}-{name}")


def hit_doc(message_id: str, text: str, **extra) -> dict:
    return {
        "hit": {"id": f"h-{message_id}"}, "platform": "slack", "@timestamp": "2025-03-04T10:30:31.495Z",
        "message": {"id": message_id, "text": text, "kind": "user", "language": "zh", "deleted": False, "edits": []},
        "conversation": {"id": "C1", "name": "模型组", "type": "channel"}, "author": {"id": "U1", "name": "晓雨"},
        "detection": {"score": 0.8, "severity": "high", "rules": ["conceal.desensitize"], "categories": ["CONCEALMENT"],
                      "matches": [{"rule": "conceal.desensitize", "category": "CONCEALMENT", "term": "脱敏",
                                   "message_id": message_id, "start": 0, "end": 2}]},
        "run": {"id": "run-test"}, **extra,
    }


def ids(es: Elasticsearch, alias: str) -> list[str]:
    es.indices.refresh(index=alias)
    found = es.search(index=alias, query={"match_all": {}}, size=1000, source=False)
    return sorted(h["_id"] for h in found["hits"]["hits"])


def scan_demo(out, config, monkeypatch) -> int:
    monkeypatch.setenv("CHATFORENSICS_ES_PREFIX", config.prefix)
    return main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--es-url", config.url, "--quiet"])


def test_setup_is_idempotent_and_migration_swaps_every_alias_in_one_call(es_config, monkeypatch):
    config = sub_config(es_config, "mig")
    es = config.client()
    assert es_sink.setup(config) == {kind: f"{config.alias(kind)}-v1" for kind in es_sink.KINDS}
    assert es_sink.setup(config) == {kind: f"{config.alias(kind)}-v1" for kind in es_sink.KINDS}
    docs = [(f"h{i}", hit_doc(f"m{i}", "脱敏")) for i in range(3)]
    assert es_sink.bulk_index(config, es, config.alias("hits"), docs) == []
    before = ids(es, config.alias("hits"))

    calls = []
    real_update = es.indices.update_aliases
    monkeypatch.setattr(es.indices, "update_aliases", lambda **kw: calls.append(kw) or real_update(**kw))
    plan = es_sink.migrate(config, es)

    assert len(calls) == 1 and len(calls[0]["actions"]) == 2 * len(es_sink.KINDS)
    for kind in es_sink.KINDS:
        alias = config.alias(kind)
        assert plan[kind]["from"] == f"{alias}-v1" and plan[kind]["to"] == f"{alias}-v2"
        assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v2"]
        assert es.indices.exists(index=f"{alias}-v1")  # evidence is never dropped implicitly
    assert plan["hits"]["documents"] == 3 and ids(es, config.alias("hits")) == before
    mapping = es.indices.get_mapping(index=f"{config.alias('hits')}-v2")[f"{config.alias('hits')}-v2"]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert es_sink.setup(config) == {kind: f"{config.alias(kind)}-v2" for kind in es_sink.KINDS}
    assert es_sink.migrate(config, es)["hits"]["to"] == f"{config.alias('hits')}-v3"  # v3 after v2, then v10 after v9


def test_mapping_types_for_search_and_aggregation(es_config):
    config = sub_config(es_config, "types")
    es = config.client()
    es_sink.setup(config)
    caps = es.field_caps(index=config.alias("hits"), fields="*")["fields"]

    def kind(field):
        return next(iter(caps[field]))

    for field in ("hit.id", "author.name", "conversation.name", "detection.rules", "detection.categories",
                  "detection.severity", "platform", "message.language", "entities.type", "detection.matches.term",
                  "case.id", "run.id"):
        assert kind(field) == "keyword", field
    for field in ("message.text", "message.text.cjk", "context.text", "context.text.cjk",
                  "detection.matches.term.text", "detection.explanation"):
        assert kind(field) == "text", field
    assert kind("@timestamp") == "date" and kind("context.time") == "date"
    assert kind("detection.score") == "float" and kind("entities.score") == "float"
    cases = es.field_caps(index=config.alias("cases"), fields="*")["fields"]
    assert {f: next(iter(cases[f])) for f in ("first_seen", "last_seen", "@timestamp", "score", "hit_count")} == {
        "first_seen": "date", "last_seen": "date", "@timestamp": "date", "score": "float", "hit_count": "integer"}


def test_chinese_phrase_search_finds_chinese_hits(es_config):
    config = sub_config(es_config, "zh")
    es = config.client()
    es_sink.setup(config)
    docs = [("zh1", hit_doc("1", "训练数据先脱敏，再说是自己标注的")), ("zh2", hit_doc("2", "敏感的东西别脱了")),
            ("en1", hit_doc("3", "nothing Chinese here"))]
    assert es_sink.bulk_index(config, es, config.alias("hits"), docs) == []
    es.indices.refresh(index=config.alias("hits"))
    found = es.search(index=config.alias("hits"), query={"match_phrase": {"message.text.cjk": "脱敏"}})
    assert [h["_id"] for h in found["hits"]["hits"]] == ["zh1"]  # 脱 and 敏 apart do not count
    term = es.search(index=config.alias("hits"), query={"match_phrase": {"detection.matches.term.cjk": "脱敏"}})
    assert term["hits"]["total"]["value"] == 3


def test_a_secret_never_reaches_the_index(tmp_path, es_config, monkeypatch):
    assert DEMO_KEY in "".join(p.read_text() for p in (EXAMPLES / "slack-demo").rglob("*.json"))
    config = sub_config(es_config, "secret")
    assert scan_demo(tmp_path / "out", config, monkeypatch) == 0
    es = config.client()
    seen = 0
    for kind in es_sink.KINDS:
        es.indices.refresh(index=config.alias(kind))
        for hit in es.search(index=config.alias(kind), size=1000)["hits"]["hits"]:
            assert "sk-proj-" not in json.dumps(hit["_source"], ensure_ascii=False)
            seen += 1
    keyed = es.search(index=config.alias("hits"), query={"term": {"entities.type": "API_KEY_OPENAI"}})
    assert seen > 0 and keyed["hits"]["total"]["value"] >= 1  # the key was found, and only its type was kept


def test_mail_is_indexed_with_its_subject_thread_and_folder(tmp_path, es_config, monkeypatch):
    from tests.unit.test_reader_mbox import CONCEALMENT_THREADS

    config = sub_config(es_config, "mail")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "wei.zhang.mbox").write_text(CONCEALMENT_THREADS)
    monkeypatch.setenv("CHATFORENSICS_ES_PREFIX", config.prefix)
    assert main(["run", "--input", str(tmp_path / "export"), "--out", str(tmp_path / "out"), "--es-url", config.url,
                 "--quiet"]) == 0  # the strict mappings take message.subject, conversation.folder, matches' field
    es = config.client()
    for kind in ("hits", "cases"):
        es.indices.refresh(index=config.alias(kind))

    def count(kind: str, query: dict) -> int:
        return es.count(index=config.alias(kind), query=query)["count"]

    assert count("hits", {"match": {"message.subject": "fine-tune"}}) == 2
    assert count("hits", {"match": {"message.text": "fine-tune"}}) == 0  # the subject is not in the text
    assert count("hits", {"term": {"detection.matches.field": "subject"}}) == 1  # the thread's first mail
    assert count("cases", {"term": {"conversation.folder": "wei.zhang.mbox"}}) == 1
    assert count("cases", {"term": {"conversation.name": "GPT-4 outputs for the fine-tune"}}) == 1


def test_indexed_counts_are_verified_into_the_run_record(tmp_path, es_config, monkeypatch):
    config = sub_config(es_config, "verify")
    assert scan_demo(tmp_path / "a", config, monkeypatch) == 0
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    produced = {"hits": manifest["counts"]["hits"], "cases": manifest["counts"]["cases"]}
    assert manifest["elasticsearch"]["expected"] == manifest["elasticsearch"]["found"] == produced
    assert manifest["elasticsearch"]["verified"] is True
    first = {kind: ids(config.client(), config.alias(kind)) for kind in ("hits", "cases")}
    assert scan_demo(tmp_path / "b", config, monkeypatch) == 0
    assert {kind: ids(config.client(), config.alias(kind)) for kind in ("hits", "cases")} == first
    run = config.client().get(index=config.alias("runs"), id=manifest["run"]["id"])["_source"]
    assert run["elasticsearch"]["found"] == produced and run["counts"] == manifest["counts"]


def test_a_rejected_document_is_a_dead_letter_and_nothing_else_is_lost(es_config):
    config = sub_config(es_config, "reject")
    es_sink.setup(config)
    docs = [hit_doc("ok1", "a"), hit_doc("bad", "b", surprise="not in the mapping"), hit_doc("ok2", "c")]
    with TestPipeline() as p:
        dead = (p | beam.Create(docs)
                | es_sink.WriteToElasticsearch(config, "hits", lambda d: d["hit"]["id"]))
        assert_that(dead | beam.Map(lambda d: (d["source"]["pointer"], d["stage"], "strict" in d["reason"])),
                    equal_to([("h-bad", "index", True)]))
    assert ids(config.client(), config.alias("hits")) == ["h-ok1", "h-ok2"]


def test_a_keyword_longer_than_lucene_takes_is_kept_out_of_the_terms_not_the_index(es_config):
    """A 40,000-character attachment name is more than one Lucene term can hold: the hit is indexed and
    found by its text; only that keyword is left unindexed (ignore_above), not the evidence."""
    config = sub_config(es_config, "long-keyword")
    es_sink.setup(config)
    long_name = "x" * 40_000 + ".png"
    docs = [hit_doc("long", "脱敏", attachments=[{"name": long_name, "type": "image/png", "size": 1}])]
    with TestPipeline() as p:
        dead = p | beam.Create(docs) | es_sink.WriteToElasticsearch(config, "hits", lambda d: d["hit"]["id"])
        assert_that(dead, equal_to([]))
    assert ids(config.client(), config.alias("hits")) == ["h-long"]


def test_the_cli_reports_a_rejection_and_exits_non_zero(tmp_path, es_config, monkeypatch):
    """One hit is made to violate the strict mapping on its way into the sink."""
    config = sub_config(es_config, "cli-reject")
    real_process = es_sink.IndexDocuments.process
    spoiled = []

    def spoil_first_hit(self, doc):
        if self.kind == "hits" and not spoiled:
            spoiled.append(doc["hit"]["id"])
            doc = {**doc, "surprise": True}
        return real_process(self, doc)

    monkeypatch.setattr(es_sink.IndexDocuments, "process", spoil_first_hit)
    assert scan_demo(tmp_path / "out", config, monkeypatch) == 3
    errors = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert [(e["source"]["pointer"], e["stage"]) for e in errors] == [(spoiled[0], "index")]
    assert "strict_dynamic_mapping_exception" in errors[0]["reason"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    hits = read_jsonl(tmp_path / "out" / "hits.jsonl")
    assert manifest["counts"]["index_rejected"] == 1 and len(hits) == manifest["counts"]["hits"]
    indexed = ids(config.client(), config.alias("hits"))
    assert indexed == sorted(h["hit"]["id"] for h in hits if h["hit"]["id"] != spoiled[0])
    assert manifest["elasticsearch"]["verified"] is True


def test_a_rejection_quoting_a_value_leaves_it_masked_in_errors(tmp_path, es_config, monkeypatch):
    """The node quotes the value it could not parse ("Preview of field's value: ..."); errors.jsonl gets the
    reason through the masking gate, so an address or a phone number in it is masked there too."""
    config = sub_config(es_config, "cli-reject-quote")
    real_process = es_sink.IndexDocuments.process
    planted = ("wei.zhang@example.com", "+49 151 23456789")
    spoiled = []

    def spoil_first_hit(self, doc):
        if self.kind == "hits" and not spoiled:
            spoiled.append(doc["hit"]["id"])
            doc = {**doc, "message": {**doc["message"], "position": " ".join(planted)}}
        return real_process(self, doc)

    monkeypatch.setattr(es_sink.IndexDocuments, "process", spoil_first_hit)
    assert scan_demo(tmp_path / "out", config, monkeypatch) == 3
    errors = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert [(e["source"]["pointer"], e["stage"]) for e in errors] == [(spoiled[0], "index")]
    assert "message.position" in errors[0]["reason"] and "<EMAIL_ADDRESS>" in errors[0]["reason"]
    written = (tmp_path / "out" / "errors.jsonl").read_text()
    assert not [v for v in planted if v in written]


def test_indexing_rate(es_config, capsys):
    """20k synthetic hits through the Beam sink; the rate goes into the report, the floor only catches collapse."""
    config = sub_config(es_config, "rate")
    es_sink.setup(config)
    docs = [hit_doc(str(i), f"message {i}: 训练数据先脱敏 then relabel the OpenAI outputs") for i in range(20_000)]
    started = time.perf_counter()
    with TestPipeline() as p:
        dead = p | beam.Create(docs) | es_sink.WriteToElasticsearch(config, "hits", lambda d: d["hit"]["id"])
        assert_that(dead, equal_to([]))
    seconds = time.perf_counter() - started
    es = config.client()
    es.indices.refresh(index=config.alias("hits"))
    assert es.count(index=config.alias("hits"))["count"] == 20_000
    with capsys.disabled():
        print(f"\nindexing rate: 20000 docs in {seconds:.1f}s = {20_000 / seconds:.0f} docs/s")
    assert 20_000 / seconds > 200
