"""`make bench`: speed and memory of a scan, as ratios against baselines measured in the same run.

For each size and each export profile (benchmarks/generate.py: `tidy`, ~3 % of messages use a rule
word; `dense`, ~25 % do, as in an ML team's channels), the generated export, then
  bare parse   reading and JSON-decoding every day file of the ZIP, nothing else (the floor);
  end to end   `chatforensics run --no-index` in a child process (DirectRunner, every core),
               with the peak RSS of its whole process tree;
  naive        Presidio + a spaCy blank pipeline on every message, timed on a sample, extrapolated;
and once: start-up (a whole run of a one-message export: imports, Presidio and spaCy, the Beam graph)
and documents per second into the local Elasticsearch through the bulk sink.

    python -m benchmarks.run --sizes 100000,1000000 --profiles tidy,dense
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from benchmarks.generate import PROFILES, cached_export, planted_of, planted_path
from builders.slack import JsonStyle, SlackExport
from pipelines.archive import Archive
from pipelines.ingest.slack import DAY_FILE

TARGETS = {"rate": 50_000, "vs_bare": 8.0, "vs_naive": 50.0, "rss": 1 << 30, "startup": 2.0}


def bare_parse(path: Path) -> tuple[int, float]:
    """Messages and seconds to read and decode every day file: what any Python tool pays."""
    started = time.perf_counter()
    archive = Archive(path)
    messages = 0
    for name in archive.members():
        if DAY_FILE.search(name):
            messages += len(json.loads(archive.read_bytes(name)))
    return messages, time.perf_counter() - started


def end_to_end(path: Path, extra: list[str]) -> dict:
    """One `chatforensics run` in a child process; peak RSS summed over its process tree; and what it found
    of the planted concealment threads."""
    with tempfile.TemporaryDirectory(prefix="cf-bench-") as out:
        command = [sys.executable, "-m", "pipelines.cli", "run", "--input", str(path), "--out", out,
                   "--no-index", "--quiet", *extra]
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = _watch_tree(child)
        stdout, stderr = child.communicate()
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            raise RuntimeError(f"chatforensics run failed ({child.returncode}):\n{stderr[-3000:]}")
        counts = json.loads(Path(out, "manifest.json").read_text())["counts"]
        found = detection_found(Path(out), planted_of(path) if planted_path(path).exists() else [])
    return {"seconds": seconds, "peak_rss": peak, "counts": counts, "summary": stdout.strip(), **found}


def detection_found(out: Path, planted: list[dict]) -> dict:
    """Planted threads with a medium/high hit, and how many medium/high cases the run raised in all."""
    serious = set()
    cases = set()
    for line in (out / "hits.jsonl").read_text(encoding="utf-8").splitlines():
        hit = json.loads(line)
        if hit["detection"]["severity"] in ("medium", "high"):
            serious.add((hit["conversation"]["name"], hit["message"]["id"]))
            cases.add(hit["case"]["id"])
    found = sum(1 for p in planted if any((p["channel"], ts) in serious for ts in p["messages"]))
    return {"planted": len(planted), "planted_found": found, "serious_cases": len(cases)}


def _watch_tree(child: subprocess.Popen, every: float = 0.2) -> int:
    """Largest sum of RSS over the child and all its descendants, sampled until it exits."""
    root = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        total = 0
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            break
        peak = max(peak, total)
        time.sleep(every)
    return peak


def naive(path: Path, sample: int) -> float:
    """Seconds per message for Presidio and spaCy on every message (what skipping the funnel costs)."""
    import spacy

    from analyzers.entities import EntityFinder
    from pipelines.ingest import detect

    archive = Archive(path)
    reader = detect(archive)
    context, _ = reader.context(archive)
    texts: list[tuple[str, str]] = []
    for unit in reader.units(archive):
        with archive.open(unit) as fh:
            texts += [(r["message"]["text"], r["message"]["language"]) for r in reader.read(fh, unit, context)
                      if isinstance(r, dict)]
        if len(texts) >= sample:
            break
    texts = texts[:sample]
    finder = EntityFinder()
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"}).initialize()
    finder.find("warm up", "en")
    started = time.perf_counter()
    for text, language in texts:
        finder.find(text, language)
        nlp(text)
    return (time.perf_counter() - started) / len(texts)


def elasticsearch_rate(url: str, docs: int) -> dict:
    """Documents per second through the bulk sink into a throwaway index prefix."""
    import apache_beam as beam
    from elasticsearch import Elasticsearch

    from pipelines.sinks import elasticsearch as es_sink

    config = es_sink.EsConfig(url=url, prefix=f"cfbench-{uuid.uuid4().hex[:8]}", retries=3, backoff=0.2)
    es_sink.setup(config)
    try:
        started = time.perf_counter()
        with beam.Pipeline() as p:
            # Documents are made inside the pipeline, as hits are: beam.Create of 20,000 large dicts
            # alone takes longer than indexing them (it serialises every element into the graph).
            (p | beam.Create([docs]) | beam.FlatMap(lambda n: (_hit_like(i) for i in range(n)))
             | es_sink.WriteToElasticsearch(config, "hits", lambda d: d["hit"]["id"])
             | beam.combiners.Count.Globally() | beam.Map(_expect_no_rejects))
        seconds = time.perf_counter() - started
        client = Elasticsearch(url)
        client.indices.refresh(index=config.alias("hits"))
        stored = client.count(index=config.alias("hits"))["count"]
    finally:
        client = Elasticsearch(url)
        client.indices.delete(index=f"{config.prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        client.options(ignore_status=404).indices.delete_index_template(name=f"{config.prefix}-*")
    return {"docs": docs, "stored": stored, "seconds": seconds, "rate": docs / seconds}


def _expect_no_rejects(rejected: int) -> None:
    if rejected:
        raise RuntimeError(f"Elasticsearch rejected {rejected} benchmark documents")


def _hit_like(i: int) -> dict:
    when = f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}.000Z"
    return {
        "platform": "slack", "@timestamp": when, "hit": {"id": f"h{i:08d}"}, "run": {"id": "run-bench"},
        "message": {"id": str(i), "text": f"we need to scrub anything that says OpenAI, take {i} offline",
                    "kind": "user", "language": "en", "deleted": False, "edits": []},
        "conversation": {"id": f"C{i % 50:03d}", "name": f"chan-{i % 50}", "type": "channel"},
        "author": {"id": f"U{i % 250:05d}", "name": f"u{i % 250}"},
        "detection": {"score": 0.8, "severity": "high", "rules": ["conceal.sanitize_source"],
                      "categories": ["CONCEALMENT"], "explanation": "benchmark document"},
    }


def startup(tmp: Path) -> float:
    """Seconds for a whole `chatforensics run` of a one-message export: what every run pays before its first message."""
    export = SlackExport(tmp / "one", JsonStyle(indent=None, newline=False))
    export.users([{"id": "U1", "name": "ann"}])
    export.channels([{"id": "C1", "name": "general"}])
    export.day("general", "2024-01-01", [{"type": "message", "user": "U1", "text": "hi", "ts": "1704103200.0"}])
    return end_to_end(export.root, [])["seconds"]


def report(size: int, profile: str, bare: tuple[int, float], e2e: dict, naive_per_msg: float) -> list[str]:
    messages = e2e["counts"]["messages"]
    rate = messages / e2e["seconds"]
    bare_rate = bare[0] / bare[1]
    naive_seconds = naive_per_msg * messages
    rss = e2e["peak_rss"]
    verdict = {
        "rate": rate >= TARGETS["rate"], "vs_bare": e2e["seconds"] / bare[1] <= TARGETS["vs_bare"],
        "vs_naive": naive_seconds / e2e["seconds"] >= TARGETS["vs_naive"], "rss": rss <= TARGETS["rss"],
    }
    mark = {True: "ok", False: "MISSED"}
    return [
        f"== {size:,} messages, {profile} ({messages:,} normalised, {e2e['counts']['hits']} hits, "
        f"{e2e['counts']['cases']} cases)",
        f"  detection    planted concealment threads found {e2e['planted_found']}/{e2e['planted']}, "
        f"medium/high cases {e2e['serious_cases']} (planted {e2e['planted']})",
        f"  bare parse   {bare[1]:8.1f} s  {bare_rate:>10,.0f} msg/s",
        f"  end to end   {e2e['seconds']:8.1f} s  {rate:>10,.0f} msg/s   target >= {TARGETS['rate']:,}: "
        f"{mark[verdict['rate']]}",
        f"  naive (est.) {naive_seconds:8.1f} s  {1 / naive_per_msg:>10,.0f} msg/s",
        f"  end to end / bare parse: {e2e['seconds'] / bare[1]:6.1f}x slower   target <= {TARGETS['vs_bare']:.0f}x: "
        f"{mark[verdict['vs_bare']]}",
        f"  naive / end to end:      {naive_seconds / e2e['seconds']:6.1f}x faster   target >= "
        f"{TARGETS['vs_naive']:.0f}x: {mark[verdict['vs_naive']]}",
        f"  peak RSS (process tree): {rss / 2**20:8.0f} MiB   target <= {TARGETS['rss'] >> 20} MiB: "
        f"{mark[verdict['rss']]}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=os.environ.get("SIZES", "100000,1000000"),
                        help="comma-separated message counts (default 100000,1000000; env SIZES)")
    parser.add_argument("--profiles", default=os.environ.get("PROFILES", ",".join(PROFILES)),
                        help=f"comma-separated export profiles (default {','.join(PROFILES)}; env PROFILES)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--naive-sample", type=int, default=2000)
    parser.add_argument("--es-url", default=os.environ.get("CHATFORENSICS_ES_URL", "http://127.0.0.1:9200"))
    parser.add_argument("--es-docs", type=int, default=20_000, help="0 skips the Elasticsearch figure")
    parser.add_argument("run_options", nargs="*", help="extra `chatforensics run` options, after --")
    args = parser.parse_args(argv)
    print(f"chatforensics benchmark, {os.cpu_count()} cores, seed {args.seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cf-bench-one-") as tmp:
        seconds = startup(Path(tmp))
    verdict = "ok" if seconds <= TARGETS["startup"] else "MISSED"
    print(f"== start-up: a one-message export end to end in {seconds:.1f} s   target <= "
          f"{TARGETS['startup']:.0f} s: {verdict}", flush=True)
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        for profile in (p.strip() for p in args.profiles.split(",") if p.strip()):
            path = cached_export(size, args.seed, profile)
            bare = bare_parse(path)
            e2e = end_to_end(path, args.run_options)
            per_msg = naive(path, args.naive_sample)
            print("\n".join(report(size, profile, bare, e2e, per_msg)), flush=True)
    if args.es_docs:
        es = elasticsearch_rate(args.es_url, args.es_docs)
        line = (f"== Elasticsearch bulk sink: {es['docs']:,} docs in {es['seconds']:.1f} s = {es['rate']:,.0f} docs/s "
                f"({es['stored']:,} stored)")
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
