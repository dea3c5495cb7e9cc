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
import random
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue
from elastic_transport import TlsError, TransportError
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


class ElasticsearchProblem(RuntimeError):
    """Elasticsearch did not do what a step asked, in one line that names the cause (never a secret).

    `retryable` is False when retrying cannot help (credentials, privileges, certificates, settings, a
    redaction conflict); True when the node was away or busy and the retries or the run's budget ran out.
    """

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class SettingError(ValueError):
    """A connection setting that cannot work (a CA file that is not there): said before any request."""


class BusyItems(Exception):
    """Some documents of a bulk request were answered with a retryable status (429, 5xx) one by one."""

    def __init__(self, status: int, documents: int, reason: str):
        super().__init__(f"{documents} document(s) answered {status}: {reason}")
        self.status, self.documents, self.reason = status, documents, reason


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """`https://user:pass@host:9243` -> ("https://host:9243", "user", "pass"), percent-decoded."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return urlunsplit(parts._replace(netloc=netloc)), user, password


@dataclass(frozen=True)
class EsConfig:
    """Where and how to connect. Secrets never appear in repr(), logs or the run record.

    `retries` bounds one call's retries; `retry_budget` bounds every retry of a run together (all steps,
    all workers), counted in the file `budget_file` (the run's work folder) when there is one.
    """

    url: str = "http://127.0.0.1:9200"
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    verify: bool = True
    prefix: str = "chatforensics"
    retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 16.0
    retry_budget: int = 10
    budget_file: str | None = None

    def __post_init__(self):
        # Credentials in the URL (https://user:pass@host) become settings; the URL kept is the bare one,
        # so it can be shown, recorded and passed on without them.
        url, user, password = split_credentials(self.url)
        if user is not None or password is not None:
            object.__setattr__(self, "url", url)
            object.__setattr__(self, "username", user)
            object.__setattr__(self, "password", password)

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
        if env.get("CHATFORENSICS_ES_RETRY_BUDGET", "").strip():
            try:
                chosen["retry_budget"] = max(0, int(env["CHATFORENSICS_ES_RETRY_BUDGET"]))
            except ValueError as exc:
                raise SettingError(f"CHATFORENSICS_ES_RETRY_BUDGET must be a whole number, not "
                                   f"{env['CHATFORENSICS_ES_RETRY_BUDGET']!r}") from exc
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

    @property
    def tls_verify(self) -> bool | None:
        """For the run record: whether the node's certificate is checked (None: plain http, no TLS)."""
        return self.verify if self.url.startswith("https") else None

    def client(self) -> Elasticsearch:
        # Transport retries stay off: with_retries owns the retry policy (and the run's budget).
        kwargs: dict = {"request_timeout": 30, "max_retries": 0}
        if self.api_key:
            kwargs["api_key"] = self.api_key
        elif self.username:
            kwargs["basic_auth"] = (self.username, self.password or "")
        if self.url.startswith("https"):
            kwargs["verify_certs"] = self.verify
            if self.ca_file and self.verify:
                check_ca_file(self.ca_file)
                kwargs["ca_certs"] = self.ca_file
            if not self.verify:
                kwargs["ssl_show_warn"] = False
        return Elasticsearch(self.url, **kwargs)

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"


def check_ca_file(path: str) -> None:
    """The CA file must be a readable file; said with its path (ssl's own error is a bare "[Errno 2]")."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except IsADirectoryError as exc:
        raise SettingError(f"CHATFORENSICS_ES_CA_FILE {path} is a folder, not a CA file") from exc
    except FileNotFoundError as exc:
        raise SettingError(f"CHATFORENSICS_ES_CA_FILE {path} does not exist") from exc
    except OSError as exc:
        raise SettingError(f"CHATFORENSICS_ES_CA_FILE {path} cannot be read ({exc.strerror})") from exc


def cjk_analyzer(es: Elasticsearch) -> str:
    """'cjk' where the node has it (analysis-common module), else 'standard'.

    The minimal test distribution ships without analysis-common; its standard
    analyzer still splits Han text into single characters, so phrase search on
    Chinese works, only with less precise scoring than cjk's bigrams.
    """
    try:
        es.indices.analyze(analyzer="cjk", text="删除")
        return "cjk"
    except AuthenticationException:
        raise  # credentials, not the analyzer: said once, by the caller
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


REDACTION_META = "chatforensics_redaction"  # key in the hits and cases indices' mapping _meta


class RedactionConflict(ElasticsearchProblem):
    pass


def redaction_setting(masked_kinds) -> dict:
    """What a run masks, as the index records it: {"redact": false, "kinds": []} for --no-redact."""
    return {"redact": bool(masked_kinds), "kinds": sorted(masked_kinds)}


def _said(setting: dict) -> str:
    return f"--redact ({', '.join(setting['kinds'])} masked)" if setting["redact"] else "--no-redact"


def claim_redaction(config: EsConfig, masked_kinds, client: Elasticsearch | None = None) -> dict:
    """One redaction setting per index prefix: the first run that indexes into it records its setting in the
    hits and cases indices' mapping `_meta`; a run with another setting is refused (RedactionConflict).

    A hit's id names its message (platform, conversation, message id: DESIGN.md), not how it was masked, so a
    --no-redact run into a redacted prefix would replace every redacted document with its unredacted twin
    while the earlier run record still says verified. Keeping one setting per prefix keeps the ids as they
    are and re-runs idempotent; the unredacted copy goes to a prefix of its own (its own access rights).
    Indices made before this marker existed are judged by the run records they hold.
    """
    es = client or config.client()
    wanted = redaction_setting(masked_kinds)
    held, unmarked = [], []
    for kind in ("hits", "cases"):
        for index, body in es.indices.get_mapping(index=config.alias(kind)).items():
            meta = body.get("mappings", {}).get("_meta") or {}
            if REDACTION_META in meta:
                held.append(meta[REDACTION_META])
            else:
                unmarked.append((index, meta))
    earlier = held or _settings_of_runs(config, es)
    for setting in earlier:
        if setting != wanted:
            other = f"{config.prefix}-unredacted" if not wanted["redact"] else f"{config.prefix}-redacted"
            raise RedactionConflict(
                f"{config.prefix}-hits and -cases hold documents indexed with {_said(setting)}; this run is "
                f"{_said(wanted)} and would overwrite them (ids name the message, not its redaction): index it "
                f"under a prefix of its own (CHATFORENSICS_ES_PREFIX={other}) or pass --no-index")
    for index, meta in unmarked:
        es.indices.put_mapping(index=index, meta={**meta, REDACTION_META: wanted})
    return wanted


def _settings_of_runs(config: EsConfig, es: Elasticsearch) -> list[dict]:
    """The distinct redaction settings of the run records under the prefix (indices older than the marker)."""
    try:
        found = es.search(index=config.alias("runs"), size=1000, source=["redact", "redact_kinds"],
                          query={"match_all": {}})
    except NotFoundError:
        return []
    settings = []
    for record in found["hits"]["hits"]:
        source = record.get("_source") or {}
        setting = redaction_setting(source.get("redact_kinds") or [] if source.get("redact", True) else [])
        if setting not in settings:
            settings.append(setting)
    return settings


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
        # The new index keeps the old one's _meta (the redaction setting the prefix holds; see claim_redaction).
        meta = es.indices.get_mapping(index=old)[old]["mappings"].get("_meta")
        es.indices.create(index=new, **({"mappings": {"_meta": meta}} if meta else {}))
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


def _plain_http(exc: Exception) -> bool:
    """A TLS handshake answered in plain HTTP: the URL says https, the port does not speak it."""
    text = str(getattr(exc, "message", exc)).lower()
    return isinstance(exc, TlsError) and any(sign in text for sign in ("wrong version number", "record layer failure",
                                                                      "http request", "unknown protocol"))


def _error_of(exc: ApiError) -> dict:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _who(config: EsConfig) -> str:
    return "the API key" if config.api_key else f"user {config.username}" if config.username else "no credentials"


ES_ERRORS = (ApiError, TransportError, SettingError, BusyItems)


def explain(config: EsConfig, exc: Exception) -> tuple[str, bool]:
    """One line naming why a request failed, and whether retrying it could help. Each cause its own line."""
    url = config.safe_url
    if isinstance(exc, SettingError):
        return str(exc), False
    if isinstance(exc, AuthenticationException):
        error = _error_of(exc)
        extra = str(error.get("additional_unsuccessful_credentials") or "")
        if config.api_key and "expired" in extra.lower():
            return (f"Elasticsearch at {url} says the API key has expired (401: {extra}); create a new key and set "
                    "CHATFORENSICS_ES_API_KEY", False)
        if not config.api_key and not config.username:
            return (f"Elasticsearch at {url} asks for credentials and none were given (401: {error_reason(exc)}); set "
                    "CHATFORENSICS_ES_USERNAME/_PASSWORD or CHATFORENSICS_ES_API_KEY", False)
        detail = error_reason(exc) + (f"; {extra}" if extra else "")
        return (f"Elasticsearch at {url} did not accept the credentials ({_who(config)}; 401: {detail}); check "
                "CHATFORENSICS_ES_USERNAME/_PASSWORD or CHATFORENSICS_ES_API_KEY", False)
    if isinstance(exc, AuthorizationException):
        who = _who(config) if config.api_key or config.username else "anonymous access"
        return (f"Elasticsearch at {url} refused {who} a privilege a run needs on {config.prefix}-* "
                f"(403: {error_reason(exc)}); the README lists the role", False)
    if untrusted_certificate(exc):
        return (f"the TLS certificate of {url} is not trusted ({exc.message}); set CHATFORENSICS_ES_CA_FILE to the "
                "CA file that signed it", False)
    if _plain_http(exc):
        return (f"{url} does not speak TLS ({exc.message}): the node serves plain http on that port; use an "
                "http:// URL or turn TLS on", False)
    if isinstance(exc, ConnectionTimeout):
        return f"Elasticsearch at {url} did not answer in time ({exc.message})", True
    if isinstance(exc, ConnectionError):
        return (f"cannot reach Elasticsearch at {url} ({exc.message}); start it (make es-start) or pass --no-index",
                True)
    if isinstance(exc, BusyItems):
        return f"Elasticsearch at {url} answered {exc.status} to {exc.documents} document(s) ({exc.reason})", True
    if isinstance(exc, ApiError):
        status = exc.meta.status
        if status == 429:
            return f"Elasticsearch at {url} is too busy (429: {error_reason(exc)})", True
        if status in RETRY_STATUS:
            return f"Elasticsearch at {url} is unavailable ({status}: {error_reason(exc)})", True
        return f"Elasticsearch at {url} answered {status}: {error_reason(exc)}", False
    return f"Elasticsearch at {url}: {type(exc).__name__} ({getattr(exc, 'message', exc)})", False


def explained(config: EsConfig, call):
    """`call()` once; an Elasticsearch failure becomes an ElasticsearchProblem naming its cause."""
    try:
        return call()
    except ES_ERRORS as exc:
        raise ElasticsearchProblem(*explain(config, exc)) from exc


_local_retries: dict[str, int] = {}
_local_lock = threading.Lock()


def take_retry(config: EsConfig) -> bool:
    """Charge one retry to the run's budget; False once the budget is spent.

    The ledger is a file in the run's work folder, one byte a retry, appended with O_APPEND so that every
    process of the run (driver, local workers, workers on the shared --out storage) counts into the same
    budget. Without a ledger (a command that is not a run) each call is bounded by `retries` alone.
    """
    if config.budget_file is None:
        return True
    try:
        fd = os.open(config.budget_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:  # a worker that does not see the run's folder keeps a budget of its own
        with _local_lock:
            taken = _local_retries[config.budget_file] = _local_retries.get(config.budget_file, 0) + 1
        return taken <= config.retry_budget
    try:
        os.write(fd, b".")
        taken = os.lseek(fd, 0, os.SEEK_CUR)  # this retry's place in the ledger, whoever appended since
    finally:
        os.close(fd)
    return taken <= config.retry_budget


def retries_taken(config: EsConfig) -> int:
    """Retries charged to the run so far (the budget's ledger), at most the budget."""
    if config.budget_file is None:
        return 0
    try:
        return min(os.path.getsize(config.budget_file), config.retry_budget)
    except OSError:
        return 0


def backoff(config: EsConfig, attempt: int) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^attempt, capped."""
    ceiling = min(config.max_backoff, config.backoff * 2 ** attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def with_retries(config: EsConfig, call, what: str):
    """Run `call()`, retrying with backoff and jitter while the node is away or busy, within `config.retries` for
    this call and the run's retry budget. Any Elasticsearch failure ends as one ElasticsearchProblem; a failure
    retrying cannot help (credentials, privileges, certificates, settings) is raised at once."""
    started = time.monotonic()
    for attempt in range(config.retries + 1):
        try:
            return call()
        except ES_ERRORS as exc:
            message, retryable = explain(config, exc)
            if not retryable:
                raise ElasticsearchProblem(message) from exc
            error = exc
        if attempt == config.retries:
            raise ElasticsearchProblem(f"{message}; gave up after {attempt} retries in "
                                       f"{time.monotonic() - started:.0f}s", retryable=True) from error
        if not take_retry(config):
            raise ElasticsearchProblem(f"{message}; retried {attempt} time(s), then the run's retry budget "
                                       f"({config.retry_budget} retries) was spent", retryable=True) from error
        delay = backoff(config, attempt)
        log.warning("%s failed (%s); retry %d of at most %d in %.1fs", what, message, attempt + 1, config.retries,
                    delay)
        time.sleep(delay)
    raise AssertionError("unreachable")


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
