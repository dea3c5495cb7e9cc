"""Elasticsearch: connection, index templates behind aliases, migrations, and the bulk sink.

Every document carries an id derived from what it is (a hit from its platform,
conversation and message), so a re-run or a retried bundle overwrites instead of
duplicating. Indices are versioned (`<alias>-v1`, `-v2`, ...) behind the aliases of
DESIGN.md so an incompatible mapping change is a migration (`es migrate`), not a rebuild.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue
from elastic_transport import TlsError
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    ConnectionError,
    ConnectionTimeout,
    Elasticsearch,
    NotFoundError,
    helpers,
)

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "index_templates"
KINDS = ("hits", "cases", "runs")
RETRY_STATUS = (429, 502, 503, 504)
SOURCE_PREFIX = "elasticsearch:"  # the source path of a document the node rejected, in errors.jsonl
FALSE_WORDS = ("0", "false", "no", "off")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class EsConfig:
    """Where and how to connect. Secrets never appear in repr(), logs or the run record."""

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
    def from_env(cls, url: str | None = None, prefix: str | None = None, **options) -> EsConfig:
        """Options given explicitly win over CHATFORENSICS_ES_* variables, which win over defaults."""
        env = os.environ
        verify = options.pop("verify", None)
        if verify is None:
            verify = env.get("CHATFORENSICS_ES_VERIFY", "true").strip().lower() not in FALSE_WORDS
        chosen = {
            "url": url or env.get("CHATFORENSICS_ES_URL") or cls.url,
            "prefix": prefix or env.get("CHATFORENSICS_ES_PREFIX") or cls.prefix,
            "api_key": env.get("CHATFORENSICS_ES_API_KEY") or None,
            "username": env.get("CHATFORENSICS_ES_USERNAME") or None,
            "password": env.get("CHATFORENSICS_ES_PASSWORD") or None,
            "ca_file": env.get("CHATFORENSICS_ES_CA_FILE") or None,
            "verify": verify,
        }
        chosen.update({k: v for k, v in options.items() if v is not None})
        config = cls(**chosen)
        if config.url.startswith("https") and not config.verify:
            # Here, once per command: client() runs in every worker and for every count.
            log.warning("TLS certificate verification is off for %s (CHATFORENSICS_ES_VERIFY=false): "
                        "anyone on the path can read and change what is sent, credentials included", config.safe_url)
        return config

    @property
    def safe_url(self) -> str:
        """The URL without any user:password@ part, for messages and the run record."""
        parts = urlsplit(self.url)
        if not parts.username and not parts.password:
            return self.url
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))

    def client(self) -> Elasticsearch:
        # Transport retries stay off: with_retries and streaming_bulk own the retry policy.
        kwargs: dict = {"request_timeout": 30, "max_retries": 0}
        if self.api_key:
            kwargs["api_key"] = self.api_key
        elif self.username:
            kwargs["basic_auth"] = (self.username, self.password or "")
        if self.url.startswith("https"):
            kwargs["verify_certs"] = self.verify
            if self.ca_file:
                kwargs["ca_certs"] = self.ca_file
            if not self.verify:
                kwargs["ssl_show_warn"] = False
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


def version_of(index: str) -> int:
    found = re.search(r"-v(\d+)$", index)
    return int(found.group(1)) if found else 0


def backing_index(es: Elasticsearch, alias: str) -> str | None:
    """The newest versioned index behind an alias (v10 after v9, not after v1)."""
    try:
        indices = list(es.indices.get_alias(name=alias))
    except NotFoundError:
        return None
    return max(indices, key=version_of) if indices else None


def install_templates(config: EsConfig, es: Elasticsearch) -> dict[str, dict]:
    analyzer = cjk_analyzer(es)
    bodies = {kind: template_body(config, kind, analyzer) for kind in KINDS}
    for kind, body in bodies.items():
        es.indices.put_index_template(name=config.alias(kind), **body)
    return bodies


def setup(config: EsConfig, client: Elasticsearch | None = None) -> dict[str, str]:
    """Install the templates and make sure every alias points at a versioned index. Idempotent.

    New fields in a template reach the existing index in place; a change the index
    cannot take (a field changing type) fails here and asks for `es migrate`.
    """
    es = client or config.client()
    backing = {}
    bodies = install_templates(config, es)
    for kind in KINDS:
        alias = config.alias(kind)
        index = backing_index(es, alias)
        if index is None:
            index = f"{alias}-v1"
            if es.indices.exists(index=index):
                es.indices.put_alias(index=index, name=alias, is_write_index=True)
            else:
                es.indices.create(index=index, aliases={alias: {"is_write_index": True}})
        else:
            _add_new_fields(es, index, bodies[kind]["template"]["mappings"])
        backing[kind] = index
    return backing


def _add_new_fields(es: Elasticsearch, index: str, mappings: dict) -> None:
    try:
        es.indices.put_mapping(index=index, **mappings)
    except ApiError as exc:
        if exc.meta.status != 400:
            raise
        raise MigrationError(f"the mapping of {index} cannot take the current template ({error_reason(exc)}); "
                             "run `chatforensics es migrate`") from exc


def migrate(config: EsConfig, client: Elasticsearch | None = None) -> dict[str, dict]:
    """Create the next index version of every kind, copy the documents, then swap all aliases at once.

    Old indices are kept (evidence is never deleted implicitly). The swap happens only
    after every copy is complete and counted, in a single `_aliases` call, so readers
    see either all old or all new indices.
    """
    es = client or config.client()
    install_templates(config, es)
    plan = {}
    for kind in KINDS:
        alias = config.alias(kind)
        old = backing_index(es, alias)
        if old is None:
            raise MigrationError(f"{alias} does not exist yet; run `chatforensics es setup` first")
        new = f"{alias}-v{version_of(old) + 1}"
        if es.indices.exists(index=new):
            raise MigrationError(f"{new} already exists (an interrupted migration?); delete it and retry")
        es.indices.create(index=new)
        try:
            plan[kind] = {"alias": alias, "from": old, "to": new, "documents": _copy_checked(es, old, new)}
        except Exception:
            # Only copies live in `new`, and no alias points at it yet: drop it so a retry starts clean.
            es.indices.delete(index=new)
            raise
    actions = []
    for step in plan.values():
        actions.append({"remove": {"index": step["from"], "alias": step["alias"]}})
        actions.append({"add": {"index": step["to"], "alias": step["alias"], "is_write_index": True}})
    es.indices.update_aliases(actions=actions)
    return plan


def _copy_checked(es: Elasticsearch, old: str, new: str) -> int:
    copied = copy_documents(es, old, new)
    es.indices.refresh(index=[old, new])
    before, after = es.count(index=old)["count"], es.count(index=new)["count"]
    if before != after:
        raise MigrationError(f"copied {after} of {before} documents from {old} to {new}; aliases left as they were")
    return copied


def copy_documents(es: Elasticsearch, source: str, dest: str) -> int:
    """Server-side `_reindex` where the node has the reindex module, else scan + bulk from here.

    (helpers.reindex is no fallback: it first asks for data streams, an API the
    minimal distribution lacks, and fails on the 400.)
    """
    try:
        done = es.reindex(source={"index": source}, dest={"index": dest}, wait_for_completion=True, refresh=True)
    except ApiError as exc:
        if exc.meta.status not in (400, 404, 405, 410):
            raise
        log.info("no _reindex on this node (%s); copying %s -> %s through the client", exc.meta.status, source, dest)
        return _copy_through_client(es, source, dest)
    if done.get("failures"):
        raise MigrationError(f"reindex {source} -> {dest} failed: {json.dumps(done['failures'])[:500]}")
    return done["total"]


def _copy_through_client(es: Elasticsearch, source: str, dest: str) -> int:
    actions = ({"_op_type": "index", "_index": dest, "_id": doc["_id"], "_source": doc["_source"]}
               for doc in helpers.scan(es, index=source, query={"query": {"match_all": {}}}))
    copied, failed = 0, []
    for ok, item in helpers.streaming_bulk(es, actions, chunk_size=500, raise_on_error=False):
        if ok:
            copied += 1
        else:
            failed.append(item)
    if failed:
        raise MigrationError(f"{len(failed)} document(s) did not fit {dest}, e.g. {json.dumps(failed[0])[:500]}; "
                             "aliases left as they were")
    return copied


def untrusted_certificate(exc: Exception) -> bool:
    """A TLS failure that no retry fixes: the node's certificate does not verify against the CA given."""
    return isinstance(exc, TlsError) and "certificate verify failed" in str(exc.message).lower()


def refusal(config: EsConfig, exc: Exception) -> str | None:
    """One line naming why the node will not take this run (credentials, privileges, certificate), else None."""
    url = config.safe_url
    if isinstance(exc, AuthenticationException):
        who = ("the API key" if config.api_key else f"user {config.username}" if config.username
               else "no credentials")
        return (f"Elasticsearch at {url} did not accept the credentials ({who}; 401: {error_reason(exc)}); check "
                "CHATFORENSICS_ES_USERNAME/_PASSWORD or CHATFORENSICS_ES_API_KEY")
    if isinstance(exc, AuthorizationException):
        return (f"Elasticsearch at {url} refused this identity the privileges a run needs on {config.prefix}-* "
                f"(403: {error_reason(exc)})")
    if untrusted_certificate(exc):
        return (f"the TLS certificate of {url} is not trusted ({exc.message}); set CHATFORENSICS_ES_CA_FILE to the "
                "CA file that signed it")
    return None


def with_retries(config: EsConfig, call, what: str):
    """Run `call()`, retrying with exponential backoff while the node is away or busy."""
    delay = config.backoff
    for attempt in range(config.retries + 1):
        try:
            return call()
        except (ConnectionError, ConnectionTimeout) as exc:
            if untrusted_certificate(exc):
                raise
            error = exc
        except ApiError as exc:
            if exc.meta.status not in RETRY_STATUS:
                raise
            error = exc
        if attempt == config.retries:
            raise error
        log.warning("%s failed (%s); retry %d of %d in %.1fs", what, type(error).__name__, attempt + 1,
                    config.retries, delay)
        time.sleep(delay)
        delay = min(delay * 2, 30)
    raise AssertionError("unreachable")


def dead_letter(alias: str, doc_id: str, reason: str) -> dict:
    return {"source": {"path": f"{SOURCE_PREFIX}{alias}", "pointer": doc_id}, "reason": reason, "stage": "index"}


def bulk_index(config: EsConfig, es: Elasticsearch, alias: str, docs: list[tuple[str, dict]]) -> list[dict]:
    """Index (id, doc) pairs; return one dead letter per document that is not in the index afterwards.

    Documents the node refuses (mapping conflicts) are dead letters straight away; a
    node that stays away or busy after every retry makes the whole batch dead letters,
    so nothing is dropped silently and the run ends non-zero.
    """
    actions = [{"_op_type": "index", "_index": alias, "_id": doc_id, "_source": doc} for doc_id, doc in docs]

    def attempt() -> list[dict]:
        failures = []
        for ok, item in helpers.streaming_bulk(
            es, actions, chunk_size=500, max_chunk_bytes=10 << 20, raise_on_error=False,
            raise_on_exception=True, max_retries=config.retries, initial_backoff=config.backoff, max_backoff=30,
            retry_on_status=RETRY_STATUS,
        ):
            if not ok:
                result = item.get("index", {})
                reason = (f"rejected by Elasticsearch ({result.get('status')}): "
                          f"{json.dumps(result.get('error'), ensure_ascii=False)[:500]}")
                failures.append(dead_letter(alias, str(result.get("_id")), reason))
        return failures

    try:
        return with_retries(config, attempt, f"bulk index into {alias}")
    except (ConnectionError, ConnectionTimeout, ApiError) as exc:
        status = getattr(getattr(exc, "meta", None), "status", None)
        reason = refusal(config, exc)
        reason = f"not indexed: {reason}" if reason else (
            f"not indexed: Elasticsearch unavailable after {config.retries} retries "
            f"({type(exc).__name__}{f' {status}' if status else ''})")
        return [dead_letter(alias, doc_id, reason) for doc_id, _ in docs]


def error_reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        return error.get("reason") or error.get("type") or str(exc.message)
    if exc.body is None and str(exc.message) == "None":  # HEAD requests: a status, no body
        return f"HTTP {exc.meta.status} without a reason"
    return str(exc.message)


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
    es = es or config.client()
    alias = config.alias(kind)

    def counted() -> int:
        es.indices.refresh(index=alias)
        return es.count(index=alias, query={"term": {"run.id": run_id}})["count"]

    return with_retries(config, counted, f"count {alias}")


def rejected_by_kind(config: EsConfig, errors_by_source: dict[str, int]) -> dict[str, int]:
    """How many documents of each kind the sink gave up on, from the dead letters' source counts."""
    return {kind: errors_by_source.get(f"{SOURCE_PREFIX}{config.alias(kind)}", 0) for kind in ("hits", "cases")}


def index_run(config: EsConfig, manifest: dict, es: Elasticsearch | None = None) -> None:
    es = es or config.client()
    alias = config.alias("runs")
    with_retries(config, lambda: es.index(index=alias, id=manifest["run"]["id"], document=manifest,
                                          refresh="wait_for"), "index the run record")
