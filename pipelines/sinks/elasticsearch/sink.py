"""The bulk sink: hits and cases into their aliases, the run record, and what the index holds for a run.

Every document carries an id derived from what it is (a hit from its platform, conversation and message), so
a re-run or a retried bundle overwrites instead of duplicating.
"""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue
from elasticsearch import (
    Elasticsearch,
    helpers,
)

from pipelines.sinks.elasticsearch.connection import (
    RETRY_STATUS,
    BusyItems,
    ElasticsearchProblem,
    EsConfig,
    explained,
    with_retries,
)

SOURCE_PREFIX = "elasticsearch:"  # the source path of a document the node rejected, in errors.jsonl


def dead_letter(alias: str, doc_id: str, reason: str) -> dict:
    return {"source": {"path": f"{SOURCE_PREFIX}{alias}", "pointer": doc_id}, "reason": reason, "stage": "index"}


def bulk_index(config: EsConfig, es: Elasticsearch, alias: str, docs: list[tuple[str, dict]]) -> list[dict]:
    """Index (id, doc) pairs; return one dead letter per document that is not in the index afterwards.

    Documents the node refuses (mapping conflicts, a 403 on their index) are dead letters straight away; those
    answered 429 or 5xx, one by one or as a whole request, are sent again (only they) within the retry budget
    (see with_retries), then become dead letters too, so nothing is dropped silently and the run ends non-zero.
    """
    pending = dict(docs)
    failures: list[dict] = []

    def attempt() -> None:
        actions = [{"_op_type": "index", "_index": alias, "_id": doc_id, "_source": doc}
                   for doc_id, doc in pending.items()]
        busy = None
        for ok, item in helpers.streaming_bulk(
            es, actions, chunk_size=500, max_chunk_bytes=10 << 20, raise_on_error=False, raise_on_exception=True,
            max_retries=0,  # retried here, under the run's budget, not inside the helper
        ):
            result = item.get("index", {})
            doc_id, status = str(result.get("_id")), result.get("status")
            if ok:
                pending.pop(doc_id, None)
            elif status in RETRY_STATUS:
                busy = (status, json.dumps(result.get("error"), ensure_ascii=False)[:300])
            else:
                pending.pop(doc_id, None)
                failures.append(dead_letter(alias, doc_id, f"rejected by Elasticsearch ({status}): "
                                            f"{json.dumps(result.get('error'), ensure_ascii=False)[:500]}"))
        if pending and busy:
            raise BusyItems(busy[0], len(pending), busy[1])

    try:
        with_retries(config, attempt, f"bulk index into {alias}")
    except ElasticsearchProblem as problem:
        failures += [dead_letter(alias, doc_id, f"not indexed: {problem}") for doc_id in pending]
        pending.clear()
    failures += [dead_letter(alias, doc_id, "not indexed: Elasticsearch gave no answer for it") for doc_id in pending]
    return failures


class IndexDocuments(beam.DoFn):
    """One client per worker, batches by count and bytes, flushed at the end of every bundle."""

    def __init__(self, config: EsConfig, kind: str, id_of, max_docs: int = 500, max_bytes: int = 5 << 20):
        self.config, self.kind, self.id_of = config, kind, id_of
        self.max_docs, self.max_bytes = max_docs, max_bytes

    def setup(self):
        self.es = self.config.client()
        self.alias = self.config.alias(self.kind)

    def start_bundle(self):
        self.batch: list[tuple[str, dict]] = []
        self.size = 0

    def process(self, doc):
        self.batch.append((self.id_of(doc), doc))
        self.size += len(json.dumps(doc, ensure_ascii=False).encode())
        if len(self.batch) >= self.max_docs or self.size >= self.max_bytes:
            yield from self._flush()

    def finish_bundle(self):
        for failure in self._flush():
            yield WindowedValue(failure, MIN_TIMESTAMP, [GlobalWindow()])

    def _flush(self) -> list[dict]:
        if not self.batch:
            return []
        batch, self.batch, self.size = self.batch, [], 0
        return bulk_index(self.config, self.es, self.alias, batch)

    def teardown(self):
        if getattr(self, "es", None) is not None:
            self.es.close()


class WriteToElasticsearch(beam.PTransform):
    """Documents in, dead letters (documents not in the index afterwards) out."""

    def __init__(self, config: EsConfig, kind: str, id_of):
        super().__init__()
        self.config, self.kind, self.id_of = config, kind, id_of

    def expand(self, docs):
        return (
            docs
            | "Reshuffle" >> beam.Reshuffle()
            | "Bulk" >> beam.ParDo(IndexDocuments(self.config, self.kind, self.id_of))
        )


def count(config: EsConfig, kind: str, run_id: str, es: Elasticsearch | None = None) -> int:
    es = es or explained(config, config.client)
    alias = config.alias(kind)

    def counted() -> int:
        es.indices.refresh(index=alias)
        return es.count(index=alias, query={"term": {"run.id": run_id}})["count"]

    return with_retries(config, counted, f"count {alias}")


def rejected_by_kind(config: EsConfig, errors_by_source: dict[str, int]) -> dict[str, int]:
    """How many documents of each kind the sink gave up on, from the dead letters' source counts."""
    return {kind: errors_by_source.get(f"{SOURCE_PREFIX}{config.alias(kind)}", 0) for kind in ("hits", "cases")}


def index_run(config: EsConfig, manifest: dict, es: Elasticsearch | None = None) -> None:
    es = es or explained(config, config.client)
    alias = config.alias("runs")
    with_retries(config, lambda: es.index(index=alias, id=manifest["run"]["id"], document=manifest,
                                          refresh="wait_for"), "index the run record")
