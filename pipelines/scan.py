"""`chatforensics run`: the whole scan, readable top to bottom.

export -> ReadExport -> ScoreMessages -> DetectCases -> files + Elasticsearch -> manifest -> reports
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from analyzers.ids import stable_id
from analyzers.rules import load_ruleset
from analyzers.screening import pii_types
from analyzers.secret_gate import masked
from pipelines import __version__, storage
from pipelines.archive import Archive
from pipelines.composites import (
    CASES,
    ERRORS,
    STATS,
    DetectCases,
    MaskDocuments,
    ReadExport,
    ScoreMessages,
    masking_gate,
)
from pipelines.ingest import detect
from pipelines.ingest.base import DeadLetter, iso_utc
from pipelines.options import ChatForensicsOptions
from pipelines.pdf import check_pdf_support
from pipelines.progress import Display, Totals, read_tallies, wanted, worker_output_to
from pipelines.reports import STALE_PAGE, remove_stale_reports, render_reports, report_files, summarize
from pipelines.sinks import elasticsearch as es_sink
from pipelines.sinks.files import WriteDeadLetters, WriteJsonLines, count_jsonl, merge_parts, read_jsonl

log = logging.getLogger(__name__)
LOCAL_WORKERS_MAX = 8
LOCAL_PARALLEL_MIN_BYTES = 32 << 20  # below this (~150k Slack messages) one process finishes first
OWN_FILES = ("hits.jsonl", "cases.jsonl", "errors.jsonl", "manifest.json")  # beside the reports, always rewritten


class UsageError(ValueError):
    pass


def _by_time(doc: dict):
    return (doc.get("@timestamp", ""), json.dumps(doc.get("hit") or doc.get("case"), sort_keys=True))


def _by_source(doc: dict):
    src = doc["source"]
    return (src.get("path", ""), src.get("pointer", ""), doc.get("reason", ""))


def with_local_parallelism(argv: list[str], input_bytes: int) -> list[str]:
    """On the DirectRunner, use every core unless told otherwise: one worker process per core.

    Workers are separate processes (DoFns are pickled to them, heavy objects are built once
    per process), so the in-memory mode's single thread is no longer the ceiling. Starting them
    (each loads Presidio and spaCy) costs seconds, so small exports stay in one process.
    """
    runner = PipelineOptions(argv).view_as(StandardOptions).runner
    if runner not in (None, "DirectRunner", "direct") or any(a.startswith("--direct_") for a in argv):
        return argv
    if input_bytes < LOCAL_PARALLEL_MIN_BYTES:
        return argv
    workers = min(os.cpu_count() or 1, LOCAL_WORKERS_MAX)
    if workers < 2:
        return argv
    quiet_workers = [] if any(a.startswith("--default_sdk_harness_log_level") for a in argv) else [
        "--default_sdk_harness_log_level=WARNING"]
    return [*argv, "--direct_running_mode=multi_processing", f"--direct_num_workers={workers}", *quiet_workers]


def run(argv: list[str] | None = None) -> int:
    started = time.time()
    argv = move_url_credentials(list(argv or []))  # before Beam sees the options: it copies them everywhere
    argv = storage.move_credentials(argv)  # --s3_secret_access_key and the like, likewise
    pipeline_options = PipelineOptions(argv)
    storage.configure(pipeline_options)  # the export is opened before the pipeline exists
    opts = pipeline_options.view_as(ChatForensicsOptions)
    if not opts.input or not opts.out:
        raise UsageError("chatforensics run needs --input PATH and --out DIR")
    masked_pii = masked_pii_types(opts)
    if opts.pdf:
        check_pdf_support()  # before the scan, not after it
    outputs = Outputs.remote(opts.out) if storage.is_url(opts.out) else Outputs.local(Path(opts.out))
    try:
        return _scan(argv, opts, masked_pii, outputs, started)
    finally:
        outputs.clean()


@dataclass
class Outputs:
    """Where a run's files go.

    `folder` is the local folder the driver writes the manifest and renders the reports into, `work` its
    scratch folder (progress tallies, worker log, retry ledger), and `shared` where the pipeline's steps write
    (hits, cases, per-file stats, dead-letter parts, split spools), which workers anywhere must reach. Locally
    that is the output folder and its scratch folder, as it always was. With `--out` on an object store
    (`target`), `folder` is a staging folder on this machine, `shared` a scratch prefix under the target, and
    `publish` uploads the finished files (the manifest last) and removes what the previous run there listed.
    """

    folder: Path
    work: Path
    shared: str
    previous: list[str]
    target: str | None = None
    stage: Path | None = None

    @classmethod
    def local(cls, out: Path) -> Outputs:
        out.mkdir(parents=True, exist_ok=True)
        previous = previous_outputs(out)
        # The run's scratch folder is made new (mkdtemp never reuses a name), so nothing already in --out is
        # touched, and it goes when the run ends, however it ends.
        work = Path(tempfile.mkdtemp(prefix=".work-", dir=out))
        return cls(out, work, str(work), previous)

    @classmethod
    def remote(cls, out: str) -> Outputs:
        target = out.rstrip("/")
        shared = storage.join(target, f".work-{uuid.uuid4().hex[:12]}")
        try:
            # First of all, a write: the bucket is there and takes this run's writes.
            storage.write_bytes(storage.join(shared, "started"), b"a chatforensics run's scratch\n")
            previous = previous_outputs(target)
        except storage.StorageError as exc:
            raise UsageError(f"--out: {exc}") from None
        stage = Path(tempfile.mkdtemp(prefix="chatforensics-out-"))
        return cls(stage, Path(tempfile.mkdtemp(prefix=".work-", dir=stage)), shared, previous, target, stage)

    def hits_path(self, name: str) -> str:
        """Where a pipeline step writes one of the output folder's JSON-lines files."""
        return storage.join(self.shared, name) if self.target else str(self.folder / name)

    def scratch(self, name: str) -> str:
        """Where a pipeline step writes a scratch file or folder of the run."""
        return storage.join(self.shared, name)

    def shown(self, relative: str = "") -> str:
        """A path as the user should see it: in the output folder, or in the bucket."""
        if self.target:
            return storage.join(self.target, relative) if relative else self.target
        return str(self.folder / relative) if relative else str(self.folder)

    def fetch(self, *names: str) -> None:
        """What the steps wrote on the object store, into the staging folder for the manifest and reports."""
        for name in names if self.target else ():
            (self.folder / name).write_bytes(storage.read_bytes(storage.join(self.shared, name)))

    def remove_stale(self, current: list[str]) -> None:
        if not self.target:
            remove_stale_reports(self.folder, self.previous, current)
            return
        stale = [p for p in sorted(set(self.previous) - set(current)) if STALE_PAGE.fullmatch(p)]
        for relative in stale:  # only pages an earlier run listed as its own, one by one (a missing one is fine)
            with contextlib.suppress(storage.StorageError):
                storage.delete([storage.join(self.target, relative)])

    def publish(self, files: list[str]) -> None:
        """The finished files up to the target, the manifest last, so a manifest there means a complete run."""
        if not self.target:
            return
        for relative in sorted(files, key=lambda f: (f == "manifest.json", f)):
            with open(self.folder / relative, "rb") as fh:
                data = fh.read()
            try:
                storage.write_bytes(storage.join(self.target, relative), data)
            except storage.StorageError as exc:
                raise UsageError(f"--out: {exc}") from None

    def clean(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        if self.target:
            storage.delete_tree(self.shared)
            shutil.rmtree(self.stage, ignore_errors=True)


def move_url_credentials(argv: list[str]) -> list[str]:
    """`--es-url https://user:pass@host` -> `--es-url https://host`, the user and password moved into this
    process's CHATFORENSICS_ES_USERNAME/_PASSWORD.

    Beam copies every option into the pipeline it builds (the options local workers get in their environment,
    the job a runner shows in its UI); credentials in the URL would go with it. Local worker processes inherit
    the environment, and the indexing step carries the resolved settings to any worker (README, Scale-out).
    """
    moved = []
    for i, arg in enumerate(argv):
        if arg.startswith("--es-url="):
            moved.append("--es-url=" + _strip_url(arg.split("=", 1)[1]))
        elif i > 0 and argv[i - 1] == "--es-url":
            moved.append(_strip_url(arg))
        else:
            moved.append(arg)
    return moved


def _strip_url(url: str) -> str:
    bare, user, password = es_sink.split_credentials(url)
    if user is not None:
        os.environ["CHATFORENSICS_ES_USERNAME"] = user
    if password is not None:
        os.environ["CHATFORENSICS_ES_PASSWORD"] = password
    return bare


def previous_outputs(out: Path | str) -> list[str]:
    """What the last run in this folder wrote (its manifest's `outputs`), the only files a run may remove."""
    try:
        if storage.is_url(out):
            path = storage.join(out, "manifest.json")
            text = storage.read_bytes(path).decode("utf-8") if storage.exists(path) else ""
        else:
            text = (Path(out) / "manifest.json").read_text(encoding="utf-8")
        manifest = json.loads(text)
    except (OSError, ValueError):
        return []
    outputs = manifest.get("outputs") if isinstance(manifest, dict) else None
    return [p for p in outputs if isinstance(p, str)] if isinstance(outputs, list) else []


def _scan(argv: list[str], opts, masked_pii: tuple[str, ...], outputs: Outputs, started: float) -> int:
    out, work = outputs.folder, outputs.work
    archive = Archive(opts.input)
    reader = detect(archive, opts.format)
    context, metadata_errors = reader.context(archive)
    archive_sha256 = archive.sha256()
    ruleset = load_ruleset(opts.rules)
    # Everything that changes what a run produces is in its id, so re-indexing with other settings
    # never mixes two runs' documents under one id.
    run_id = "run-" + stable_id(archive_sha256, ruleset.version, __version__, reader.platform,
                                f"redact={','.join(masked_pii)}", f"gap={opts.window_gap}",
                                f"batch={opts.batch_size}", length=16)
    upfront_errors = [e.as_dict(reader.platform, archive_sha256) for e in metadata_errors] + [
        DeadLetter(name, "", reason).as_dict(reader.platform, archive_sha256) for name, reason in archive.refused
    ]

    es_config = es_error = None
    if not opts.no_index:
        # One retry budget for the whole run, every step and worker: its ledger lives in the work folder.
        es_config = replace(es_sink.EsConfig.from_env(opts.es_url), budget_file=os.path.abspath(work / "es-retries"))
        try:
            es_sink.with_retries(es_config, lambda: es_sink.setup(es_config), "install index templates")
            es_sink.with_retries(es_config, lambda: es_sink.claim_redaction(es_config, masked_pii),
                                 "check the redaction setting of the indices")
        except es_sink.ElasticsearchProblem as problem:
            # Refused, away or another redaction setting: the scan still writes every file, then fails.
            es_error = str(problem)
            log.warning("not indexing this run: %s", es_error)

    show = wanted(opts.quiet)
    progress = work / "progress"
    progress.mkdir()
    units = reader.units(archive)
    totals = Totals(files=len(units), bytes=sum(archive.members()[u].size for u in units))
    tallies = str(progress) if show else None
    pipeline_options = PipelineOptions(with_local_parallelism(argv, totals.bytes))
    errors_dir = outputs.scratch("errors")
    if not outputs.target:
        Path(errors_dir).mkdir()
    with contextlib.ExitStack() as stack:
        terminal = sys.stderr
        if pipeline_options.view_as(DirectOptions).direct_running_mode == "multi_processing":
            terminal = stack.enter_context(worker_output_to(work / "workers.log"))
        if show:
            stack.enter_context(Display(lambda: read_tallies(progress), totals, stream=terminal))
        p = stack.enter_context(beam.Pipeline(options=pipeline_options))
        read = p | "ReadExport" >> ReadExport(archive, reader, context, archive_sha256, opts.batch_size, tallies,
                                              scratch=outputs.shared, split_bytes=opts.split_bytes)
        detected = (
            read.batches
            | "ScoreMessages" >> ScoreMessages(opts.rules, masked_pii, tallies, defer_context=True)
            | "DetectCases" >> DetectCases(ruleset, run_id, opts.window_gap, summarize,
                                           tallies, mask_context=(opts.rules, masked_pii))
        )
        # The masking gate: nothing leaves the pipeline without passing it (see analyzers/secret_gate.py).
        hits = detected.hits | "MaskHits" >> beam.Map(masked)
        cases = detected[CASES] | "MaskCases" >> beam.Map(masked)
        hits | "WriteHits" >> WriteJsonLines(outputs.hits_path("hits.jsonl"), _by_time)
        cases | "WriteCases" >> WriteJsonLines(outputs.hits_path("cases.jsonl"), _by_time)
        read[STATS] | "WriteStats" >> WriteJsonLines(outputs.scratch("members.jsonl"), lambda s: s["path"])
        error_sources = [read[ERRORS], p | "UpfrontErrors" >> beam.Create(upfront_errors)]
        if es_config and not es_error:
            error_sources.append(hits | "IndexHits" >> es_sink.WriteToElasticsearch(
                es_config, "hits", lambda d: d["hit"]["id"]))
            error_sources.append(cases | "IndexCases" >> es_sink.WriteToElasticsearch(
                es_config, "cases", lambda d: d["case"]["id"]))
        (tuple(error_sources) | "AllErrors" >> beam.Flatten()
         | "MaskErrors" >> MaskDocuments(opts.rules, masked_pii)
         | "WriteErrors" >> WriteDeadLetters(errors_dir, _by_source))

    outputs.fetch("hits.jsonl", "cases.jsonl")
    errors_by_source = merge_parts(errors_dir, out / "errors.jsonl")
    manifest = masked(masking_gate(opts.rules, masked_pii).document(build_manifest(
        opts, archive, reader, archive_sha256, ruleset, run_id, started, outputs, upfront_errors,
        errors_by_source)))
    # Every file this run writes, so that the next run in this folder removes only what a run wrote.
    files = sorted([*OWN_FILES, *report_files(out, opts.pdf)])
    manifest["outputs"] = files
    es_state = manifest["elasticsearch"]
    if es_config:
        es_state.update({"url": es_config.safe_url, "tls_verify": es_config.tls_verify})
    if es_error:
        es_state.update(masked({"indexed": False, "error": es_error}))
    elif es_config:
        es_error = index_and_verify(es_config, manifest, errors_by_source)
    if not outputs.target:
        outputs.remove_stale(files)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True))
    render_reports(out, manifest, pdf=opts.pdf)
    if outputs.target:
        outputs.publish([*files, *(["reports/pdf.log"] if (out / "reports" / "pdf.log").is_file() else [])])
        outputs.remove_stale(files)
    # even with --quiet: the one line a run always ends with
    print_summary(manifest, outputs.shown("reports/index.html"))
    if es_error:
        state = "not verified" if es_state["indexed"] else "not indexed"
        print(f"error: {state}: {es_error} (the files in {outputs.shown()} are complete)", file=sys.stderr)
        return 3
    rejected = manifest["counts"]["index_rejected"]
    if rejected:
        print(f"error: {rejected} document(s) not indexed, e.g. {first_index_reason(out / 'errors.jsonl')}; see "
              f"{outputs.shown('errors.jsonl')}", file=sys.stderr)
        return 3
    if not es_state.get("verified", True):
        print(f"error: Elasticsearch holds {es_state['found']} for this run, expected "
              f"{es_state['expected']}", file=sys.stderr)
        return 3
    return 0


def first_index_reason(errors: Path) -> str:
    """The reason of the first document the sink gave up on (errors.jsonl is streamed, not loaded)."""
    with open(errors, encoding="utf-8") as fh:
        for line in fh:
            if f'"{es_sink.SOURCE_PREFIX}' in line:
                error = json.loads(line)
                if error["source"]["path"].startswith(es_sink.SOURCE_PREFIX):
                    return error["reason"].removeprefix("not indexed: ")
    return "no reason recorded"


def index_and_verify(config: es_sink.EsConfig, manifest: dict, errors_by_source: dict[str, int]) -> str | None:
    """Count what the index holds for this run, then index the run record; record both in the manifest.

    Returns the error line when either could not be done (the node went away, a privilege is missing): the
    manifest then says what is known (`expected`, `not_indexed`; `found` only when counted, `run_record`).
    """
    state = manifest["elasticsearch"]
    error = None
    try:
        verify_index(config, manifest, errors_by_source)
    except es_sink.ElasticsearchProblem as problem:
        state["verified"] = False
        error = f"could not count what Elasticsearch holds for this run: {problem}"
    state["run_record"] = True  # as the indexed record says of itself; the file says so only if it was
    state["retries"] = {"budget": config.retry_budget, "taken": es_sink.retries_taken(config)}
    try:
        es_sink.index_run(config, manifest)
    except es_sink.ElasticsearchProblem as problem:
        state["run_record"] = False
        error = error or f"the run record was not indexed: {problem}"
    state["retries"] = {"budget": config.retry_budget, "taken": es_sink.retries_taken(config)}
    if error:
        state.update(masked({"error": error}))
    return error


def masked_pii_types(opts) -> tuple[str, ...]:
    """PII types masked in every output: the --redact-kinds list (default all), none with --no-redact."""
    try:
        return pii_types(opts.redact_kinds) if opts.redact else ()
    except ValueError as exc:
        raise UsageError(f"--redact-kinds: {exc}") from exc


def build_manifest(opts, archive, reader, archive_sha256, ruleset, run_id, started, outputs: Outputs,
                   upfront_errors, errors_by_source: dict[str, int]) -> dict:
    out = outputs.folder
    members = read_jsonl(outputs.scratch("members.jsonl"))
    read_paths = {m["path"] for m in members}
    for name in archive.members():
        if name not in read_paths:  # metadata and files no reader uses still get their hash
            members.append({"path": name, "sha256": archive.member_sha256(name), "bytes": archive.members()[name].size,
                            "parser": None, "records": 0, "messages": 0, "merged": 0, "malformed": 0})
    members.sort(key=lambda m: m["path"])
    upfront = len(upfront_errors)
    rejected = sum(n for source, n in errors_by_source.items() if source.startswith(es_sink.SOURCE_PREFIX))
    counts = {
        "records": sum(m["records"] for m in members) + upfront,
        "messages": sum(m["messages"] for m in members),
        "merged": sum(m["merged"] for m in members),
        "malformed": sum(m["malformed"] for m in members) + upfront,
        "hits": count_jsonl(out / "hits.jsonl"),
        "cases": count_jsonl(out / "cases.jsonl"),
        "index_rejected": rejected,
    }
    finished = time.time()
    return {
        "run": {"id": run_id},
        "@timestamp": iso_utc(started),
        "tool": {"name": "chatforensics", "version": __version__},
        "ruleset": {"version": ruleset.version, "packs": ruleset.packs},
        "input": {"path": archive.location, "sha256": archive_sha256, "kind": archive.kind},
        "formats": [reader.platform],
        "parser_version": reader.parser_version,
        "redact": opts.redact,
        "redact_kinds": list(masked_pii_types(opts)),
        "counts": counts,
        "members": members,
        "timings": {"started": iso_utc(started), "finished": iso_utc(finished),
                    "seconds": round(finished - started, 3)},
        "elasticsearch": {"indexed": not opts.no_index},
    }


def verify_index(config: es_sink.EsConfig, manifest: dict, errors_by_source: dict[str, int]) -> None:
    """Compare what the index holds for this run with what the run produced, kind by kind. What was not
    indexed (dead letters) is recorded first, so it is there even when the node cannot be counted."""
    rejected = es_sink.rejected_by_kind(config, errors_by_source)
    expected = {kind: manifest["counts"][kind] - rejected[kind] for kind in ("hits", "cases")}
    manifest["elasticsearch"].update({
        "url": config.safe_url,
        "aliases": {kind: config.alias(kind) for kind in es_sink.KINDS},
        "expected": expected,
        "not_indexed": rejected,
    })
    found = {kind: es_sink.count(config, kind, manifest["run"]["id"]) for kind in ("hits", "cases")}
    manifest["elasticsearch"].update({"found": found, "verified": found == expected})


def print_summary(manifest: dict, report_index: Path | str) -> None:
    c = manifest["counts"]
    print(
        f"chatforensics: {c['records']} records read, {c['messages']} messages, {c['merged']} merged, "
        f"{c['malformed']} malformed, {c['hits']} hits, {c['cases']} cases in {manifest['timings']['seconds']:.1f}s"
        f" -> {report_index}"
    )
