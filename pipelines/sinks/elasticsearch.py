"""Elasticsearch: connection, index templates behind aliases, and the bulk sink.

Every document carries an id derived from what it is (a hit from its platform,
conversation and message), so a re-run or a retried bundle overwrites instead of
duplicating. Indices are versioned (`<alias>-v1`, `-v2`, ...) behind the aliases of
DESIGN.md so a mapping change is a migration, not a rebuild.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch, helpers

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "index_templates"
KINDS = ("hits", "cases", "runs")
RETRY_STATUS = (429, 502, 503, 504)
REJECTED = "rejected"


@dataclass(frozen=True)
class EsConfig:
    url: str = "http://127.0.0.1:9200"
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    verify: bool = True
    prefix: str = "chatforensics"
    retries: int = 6
    backoff: float = 0.5

    @classmethod
    def from_env(cls, url: str | None = None, prefix: str | None = None) -> EsConfig:
        env = os.environ
        return cls(
            url=url or env.get("CHATFORENSICS_ES_URL") or cls.url,
            api_key=env.get("CHATFORENSICS_ES_API_KEY") or None,
            username=env.get("CHATFORENSICS_ES_USERNAME") or None,
            password=env.get("CHATFORENSICS_ES_PASSWORD") or None,
            ca_file=env.get("CHATFORENSICS_ES_CA_FILE") or None,
            verify=env.get("CHATFORENSICS_ES_VERIFY", "true").lower() not in ("0", "false", "no"),
            prefix=prefix or env.get("CHATFORENSICS_ES_PREFIX") or cls.prefix,
        )

    def client(self) -> Elasticsearch:
        kwargs: dict = {"request_timeout": 30, "max_retries": 2, "retry_on_timeout": True,
                        "retry_on_status": RETRY_STATUS}
        if self.api_key:
            kwargs["api_key"] = self.api_key
        elif self.username:
            kwargs["basic_auth"] = (self.username, self.password or "")
        if self.url.startswith("https"):
            kwargs["verify_certs"] = self.verify
            if self.ca_file:
                kwargs["ca_certs"] = self.ca_file
        return Elasticsearch(self.url, **kwargs)

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"


def cjk_analyzer(es: Elasticsearch) -> str:
    """'cjk' where the node has it (analysis-common module), else 'standard'.

    The minimal test distribution ships without analysis-common; its standard
    analyzer still splits Han text into single characters, so phrase search on
    Chinese works, only with less precise scoring than cjk's bigrams.
    """
    try:
        es.indices.analyze(analyzer="cjk", text="删除")
        return "cjk"
    except ApiError:
        return "standard"


def template_body(config: EsConfig, kind: str, analyzer: str = "cjk") -> dict:
    raw = (TEMPLATES / f"{kind}.json").read_text()
    body = json.loads(raw.replace('"analyzer": "cjk"', f'"analyzer": "{analyzer}"'))
    return {
        "index_patterns": [f"{config.alias(kind)}-v*"],
        "priority": 200,
        "template": body,
        "_meta": {"managed_by": "chatforensics", "kind": kind},
    }


def setup(config: EsConfig, client: Elasticsearch | None = None) -> dict[str, str]:
    """Install the templates and make sure every alias points at a versioned index. Idempotent."""
    es = client or config.client()
    backing = {}
    analyzer = cjk_analyzer(es)
    for kind in KINDS:
        alias = config.alias(kind)
        es.indices.put_index_template(name=alias, **template_body(config, kind, analyzer))
        if es.indices.exists_alias(name=alias):
            backing[kind] = sorted(es.indices.get_alias(name=alias))[-1]
            continue
        index = f"{alias}-v1"
        if not es.indices.exists(index=index):
            es.indices.create(index=index, aliases={alias: {"is_write_index": True}})
        else:
            es.indices.put_alias(index=index, name=alias)
        backing[kind] = index
    return backing


def with_retries(config: EsConfig, call, what: str):
    """Run `call()`, retrying with exponential backoff while the node is away or busy."""
    delay = config.backoff
    for attempt in range(config.retries + 1):
        try:
            return call()
        except (ConnectionError, ConnectionTimeout) as exc:
            error = exc
        except ApiError as exc:
            if exc.meta.status not in RETRY_STATUS:
                raise
            error = exc
        if attempt == config.retries:
            raise error
        log.warning("%s failed (%s); retrying in %.1fs", what, type(error).__name__, delay)
        time.sleep(delay)
        delay = min(delay * 2, 30)
    raise AssertionError("unreachable")


def bulk_index(config: EsConfig, es: Elasticsearch, alias: str, docs: list[tuple[str, dict]]) -> list[dict]:
    """Index (id, doc) pairs; return one dead letter per document the node rejected for good."""
    actions = [{"_op_type": "index", "_index": alias, "_id": doc_id, "_source": doc} for doc_id, doc in docs]

    def attempt() -> list[dict]:
        failures = []
        for ok, item in helpers.streaming_bulk(
            es, actions, chunk_size=500, max_chunk_bytes=10 << 20, raise_on_error=False,
            raise_on_exception=True, max_retries=config.retries, initial_backoff=config.backoff,
            retry_on_status=RETRY_STATUS,
        ):
            if not ok:
                result = item.get("index", {})
                failures.append({
                    "source": {"path": f"elasticsearch:{alias}", "pointer": str(result.get("_id"))},
                    "reason": f"rejected by Elasticsearch ({result.get('status')}): "
                              f"{json.dumps(result.get('error'), ensure_ascii=False)[:500]}",
                    "stage": "index",
                })
        return failures

    return with_retries(config, attempt, f"bulk index into {alias}")


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
        self.size += len(json.dumps(doc, ensure_ascii=False))
        if len(self.batch) >= self.max_docs or self.size >= self.max_bytes:
            yield from self._flush()

    def finish_bundle(self):
        for failure in self._flush():
            yield WindowedValue(failure, MIN_TIMESTAMP, [GlobalWindow()])

    def _flush(self):
        if not self.batch:
            return []
        batch, self.batch, self.size = self.batch, [], 0
        return bulk_index(self.config, self.es, self.alias, batch)

    def teardown(self):
        if getattr(self, "es", None) is not None:
            self.es.close()


class WriteToElasticsearch(beam.PTransform):
    """Documents in, dead letters (documents the node rejected) out."""

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
    es = es or config.client()
    alias = config.alias(kind)
    es.indices.refresh(index=alias)
    return es.count(index=alias, query={"term": {"run.id": run_id}})["count"]


def index_run(config: EsConfig, manifest: dict, es: Elasticsearch | None = None) -> None:
    es = es or config.client()
    alias = config.alias("runs")
    with_retries(config, lambda: es.index(index=alias, id=manifest["run"]["id"], document=manifest,
                                          refresh="wait_for"), "index the run record")
