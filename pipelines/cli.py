"""The `chatforensics` command: run, es setup, kibana install, rules check, eval, report."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

# What Beam's S3 I/O logs at ERROR (with a traceback) before it raises the error the run then names in one line.
BEAM_S3_NOISE = ("HTTP error while requesting file", "Error in _start_upload while inserting file",
                 "HTTP error while deleting file")


def _run_help() -> int:
    """`run --help`: our options (Beam's own parser would print only its -h)."""
    from pipelines.options import ChatForensicsOptions

    parser = argparse.ArgumentParser(
        prog="chatforensics run", description="Scan an export into hits, cases, errors, a manifest and reports.",
        epilog="Any Apache Beam pipeline option is accepted too (--runner, --direct_num_workers, ...).")
    ChatForensicsOptions._add_argparse_args(parser)
    parser.print_help()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Beam warns on import about Google Cloud clients this tool never uses, and its S3 I/O logs errors of its own.
    logging.getLogger().handlers[0].addFilter(
        lambda record: "apitools" not in record.getMessage() and not record.getMessage().startswith(BEAM_S3_NOISE))
    if argv and argv[0] == "run":
        if {"-h", "--help"} & set(argv[1:]):
            return _run_help()
        # Beam parses the run options itself (ours plus any --runner, --direct_num_workers, ...).
        from pipelines.scan import run

        return _guard(lambda: run(argv[1:]))
    parser = argparse.ArgumentParser(prog="chatforensics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="scan an export (see `chatforensics run --help`)", add_help=False)

    es = sub.add_parser("es", help="Elasticsearch administration")
    es_sub = es.add_subparsers(dest="es_command", required=True)
    for name, text in (("setup", "install index templates and aliases (idempotent)"),
                       ("migrate", "create the next index versions, copy every document, swap all aliases at once")):
        p = es_sub.add_parser(name, help=text)
        p.add_argument("--es-url", default=None)
        p.add_argument("--es-prefix", default=None)

    kibana = sub.add_parser("kibana", help="Kibana saved objects")
    kibana_sub = kibana.add_subparsers(dest="kibana_command", required=True)
    install = kibana_sub.add_parser("install", help="import the saved objects (data views, Discover session, Lens "
                                                    "panels, dashboard) for an index prefix, overwriting earlier "
                                                    "copies of the same prefix")
    install.add_argument("--kibana-url", default=None, help="Kibana URL (or CHATFORENSICS_KIBANA_URL)")
    install.add_argument("--es-prefix", default=None, help="index prefix the data views point at")
    install.add_argument("--es-url", default=None, help="Elasticsearch, asked for the indexed data's time range "
                                                        "(or CHATFORENSICS_ES_URL)")
    install.add_argument("--time-from", default=None, metavar="TIME",
                         help="where the dashboard's time range starts (ISO time or Kibana date math such as "
                              "now-30d); default: the day of the first indexed hit")
    install.add_argument("--time-to", default=None, metavar="TIME",
                         help="where it ends; default: the day after the last indexed hit")
    install.add_argument("--space", default=None, help="Kibana space to import into (default: the default space)")
    install.add_argument("--reports-url", default=None, metavar="URL",
                         help="where the run's output folder is served (e.g. file:///cases/out): case ids and "
                              "report paths then link to the case reports")

    rules = sub.add_parser("rules", help="rule packs")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="validate every pack and run its examples")
    check.add_argument("--rules", default=None)
    check.add_argument("--background", action="append", default=[], metavar="EXPORT",
                       help="also report how often each rule fires on this export's ordinary messages "
                            "(repeatable; messages planted in it per a labels.json beside it are left out)")

    evaluate = sub.add_parser("eval", help="precision/recall on a labelled export, next to a keyword baseline")
    evaluate.add_argument("--input", required=True)
    evaluate.add_argument("--labels", required=True)
    evaluate.add_argument("--rules", default=None)

    report = sub.add_parser("report", help="re-render reports from an output folder")
    report.add_argument("--from", dest="source", required=True)
    report.add_argument("--pdf", action="store_true", help="also print each case report to PDF")

    args = parser.parse_args(argv)
    if args.command == "es":
        return _guard(lambda: _es(args))
    if args.command == "kibana":
        return _guard(lambda: _kibana_install(args))
    if args.command == "rules":
        return _guard(lambda: _rules_check(args.rules, args.background))
    if args.command == "eval":
        from pipelines.evaluate import main as evaluate_main

        return _guard(lambda: evaluate_main(args.input, args.labels, args.rules))
    if args.command == "report":
        return _guard(lambda: _report(args.source, args.pdf))
    parser.error("unknown command")
    return 2


def _guard(call) -> int:
    """Expected failures end with one clear line and a non-zero code, not a traceback."""
    from elasticsearch import ApiError, ConnectionError

    from analyzers.rules import RuleError
    from pipelines.archive import ArchiveError
    from pipelines.ingest import UnknownFormat
    from pipelines.kibana import KibanaError
    from pipelines.pdf import PdfUnavailable
    from pipelines.scan import UsageError
    from pipelines.sinks.elasticsearch import (
        ElasticsearchProblem,
        MigrationError,
        SettingError,
        error_reason,
        untrusted_certificate,
    )
    from pipelines.storage import StorageError

    try:
        return call()
    except (ArchiveError, UnknownFormat, RuleError, UsageError, KibanaError, MigrationError, PdfUnavailable,
            ElasticsearchProblem, SettingError, StorageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConnectionError as exc:
        if untrusted_certificate(exc):
            print(f"error: the TLS certificate of Elasticsearch is not trusted ({exc.message}); set "
                  "CHATFORENSICS_ES_CA_FILE to the CA file that signed it", file=sys.stderr)
            return 2
        print(f"error: cannot reach Elasticsearch ({exc.message}); start it (make es-start) or pass --no-index",
              file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"error: Elasticsearch answered {exc.meta.status}: {error_reason(exc)}", file=sys.stderr)
        return 2


def _es(args) -> int:
    from pipelines.sinks import elasticsearch as es_sink

    config = es_sink.EsConfig.from_env(args.es_url, args.es_prefix)
    if args.es_command == "migrate":
        print(json.dumps({"migrated": es_sink.explained(config, lambda: es_sink.migrate(config))}, indent=2))
        return 0
    backing = es_sink.explained(config, lambda: es_sink.setup(config))
    print(json.dumps({"aliases": {config.alias(k): v for k, v in backing.items()}}, indent=2))
    return 0


def _kibana_install(args) -> int:
    from pipelines.kibana import KibanaConfig, choose_time_range, install, saved_objects
    from pipelines.sinks.elasticsearch import EsConfig, explained

    kibana = KibanaConfig.from_env(args.kibana_url)  # first: a missing Kibana URL needs no Elasticsearch
    es_config = EsConfig.from_env(args.es_url, args.es_prefix)
    prefix = es_config.prefix
    time, source = explained(es_config, lambda: choose_time_range(es_config, args.time_from, args.time_to))
    objects = saved_objects(prefix, time, args.reports_url)
    answer = install(kibana, objects, args.space)
    where = f" in space {args.space}" if args.space else ""
    print(f"kibana: imported {answer.get('successCount', 0)} saved object(s) for {prefix}-hits / {prefix}-cases"
          f"{where}; the dashboard opens on {time[0]} to {time[1]} ({source})")
    return 0


def _rules_check(rules_dir: str | None, backgrounds: list[str]) -> int:
    from analyzers.rulecheck import check_ruleset

    problems, summary = check_ruleset(rules_dir)
    for line in problems:
        print(f"FAIL {line}")
    print(summary)
    if backgrounds and not problems:
        from pipelines.evaluate import format_noise, rule_noise

        print(format_noise(rule_noise(backgrounds, rules_dir)))
    return 1 if problems else 0


def _report(source: str, pdf: bool) -> int:
    from pipelines.reports import remove_stale_reports, render_reports, report_files
    from pipelines.scan import UsageError

    folder = Path(source)
    if not (folder / "cases.jsonl").is_file():
        raise UsageError(f"{folder} holds no cases.jsonl: pass the --out folder of a `chatforensics run`")
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    if isinstance(manifest, dict):
        # Like a run: remove only pages the manifest lists and this rendering does not write, then list what
        # it writes (PDFs included), so the next run knows them as its own.
        # (PDFs of cases still there stay: they print the same evidence.)
        previous = [p for p in manifest.get("outputs") or [] if isinstance(p, str)]
        current = report_files(folder, pdf)
        kept = [p for p in previous if not p.startswith("reports/")
                or (p.endswith(".pdf") and p.removesuffix(".pdf") + ".html" in current)]
        remove_stale_reports(folder, previous, [*current, *kept])
        manifest["outputs"] = sorted({*current, *kept})
        manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True))
    paths = render_reports(folder, manifest, pdf=pdf)
    print(f"{len(paths['cases'])} case report(s), {len(paths['pdfs'])} PDF(s); index: {paths['index']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
