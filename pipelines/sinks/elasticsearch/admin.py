"""Elasticsearch index administration: index templates behind aliases, the redaction setting an index
prefix holds, and migrations.

Indices are versioned (`<alias>-v1`, `-v2`, ...) behind the aliases of DESIGN.md so an incompatible mapping
change is a migration (`es migrate`), not a rebuild.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from elasticsearch import (
    ApiError,
    AuthenticationException,
    Elasticsearch,
    NotFoundError,
    helpers,
)

from pipelines.sinks.elasticsearch.connection import (
    ElasticsearchProblem,
    EsConfig,
    error_reason,
)

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parents[1] / "index_templates"
KINDS = ("hits", "cases", "runs")


class MigrationError(RuntimeError):
    pass


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
