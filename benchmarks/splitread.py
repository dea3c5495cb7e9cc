"""One huge mbox read in byte ranges by 1 and by 2 worker processes: time, records, peak memory.

    python -m benchmarks.splitread [--messages 1000000] [--workers 1,2] [--split-mib 16] [--stage read|scan]
                                   [--whole]

Writes a deterministic single mbox of `--messages` mails (threads by In-Reply-To/References and by subject,
plain, HTML and quoted-printable bodies, some Chinese, a few dead letters; cached in
~/.cache/chatforensics/bench), then, each in a child process on the DirectRunner in multi-processing mode,
reads it with `--direct_num_workers` set to each of `--workers`:

- `--stage read` (default): ReadExport alone (plan, ranges, settling with episodes, batches spread again),
  which is what splitting changes; its batches are only counted.
- `--stage scan`: the whole `chatforensics run --no-index`.

`--whole` adds the read as it was before ranges (`--split-bytes=0`, one worker). Prints wall time, CPU time
of the child's process tree, peak RSS summed over it, the counts (records, messages, malformed: they must be
identical, else exit 1), the speed-up of each worker count over one, and the load average before and after
(the machine is shared: a busy neighbour lowers the speed-up). README (Scale-out) has the figures.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

CACHE = Path(os.environ.get("CHATFORENSICS_CACHE", Path.home() / ".cache" / "chatforensics")) / "bench"
T0 = 1_704_067_200  # 2024-01-01
WORDS_TEXT = ("the eval run dashboard pipeline numbers deadline review draft slides budget launch weekly sync notes "
              "customer feedback latency cache rollout staging migration owner ticket retro plan")
WORDS = WORDS_TEXT.split()
ZH_TEXT = "我们 下周 评审 数据 报告 会议 进度 上线 预算 讨论"
ZH = ZH_TEXT.split()


def write_mailbox(path: Path, messages: int, seed: int = 11) -> Path:
    """A single mbox of `messages` mails, the same for the same arguments."""
    rnd = random.Random(seed)
    people = [(f"Person {i}", f"p{i}@corp.example") for i in range(400)]
    lists = ["<ml-team.lists.corp.example>", None, None, None]
    open_threads: list[tuple[str, str, list[str]]] = []
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        chunk: list[str] = []
        for i in range(messages):
            name, address = people[rnd.randrange(len(people))]
            to = ", ".join(f"{n} <{a}>" for n, a in rnd.sample(people, rnd.choice((1, 1, 2, 3))))
            when = T0 + i * 3 + rnd.randrange(3)
            mid = f"<{i:x}.{seed}@mail.corp.example>"
            headers = [f"From {address} {time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(when))}",
                       f"Return-Path: <{address}>",
                       f"Received: from mx{i % 7}.corp.example by mail.corp.example; {email.utils.formatdate(when)}",
                       f"From: {name} <{address}>", f"To: {to}", f"Date: {email.utils.formatdate(when)}",
                       f"Message-ID: {mid}", "MIME-Version: 1.0"]
            listed = lists[i % len(lists)]
            if listed:
                headers.append(f"List-Id: {listed}")
            if open_threads and rnd.random() < 0.55:
                k = rnd.randrange(len(open_threads))
                _, subject, refs = open_threads[k]
                if rnd.random() < 0.1:  # no header links: joined by its subject
                    headers.append(f"Subject: RE: {subject}")
                else:
                    headers += [f"Subject: Re: {subject}", f"In-Reply-To: {refs[-1]}",
                                f"References: {' '.join(refs[-6:])}"]
                refs.append(mid)
            else:
                subject = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 7)))
                headers.append(f"Subject: {subject}")
                open_threads.append((mid, subject, [mid]))
                if len(open_threads) > 3000:
                    open_threads.pop(rnd.randrange(len(open_threads)))
            lines = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 14))) for _ in range(rnd.randint(2, 9))]
            if i % 9 == 0:
                lines.append(" ".join(rnd.choice(ZH) for _ in range(8)))
            if i % 400 == 0:
                lines.append("we need to scrub that these came from the OpenAI API before the customer audit")
            body = "\n".join(lines)
            if i % 5 == 0:
                boundary = f"b{i:x}"
                html = "".join(f"<p>{line}</p>" for line in lines)
                headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
                body = (f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
                        f"--{boundary}\nContent-Type: text/html; charset=utf-8\n\n<html><body>{html}</body></html>\n"
                        f"--{boundary}--")
            elif i % 7 == 0:
                headers += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"]
                body = body.replace("the", "th=\ne")
            else:
                headers.append("Content-Type: text/plain; charset=utf-8")
            if i % 5000 == 4999:
                headers = [headers[0], "X-Broken: no mail headers at all"]  # a dead letter
            chunk.append("\n".join(headers) + "\n\n" + body + "\n\n")
            if len(chunk) >= 5000:
                out.write("".join(chunk).encode("utf-8"))
                chunk = []
        out.write("".join(chunk).encode("utf-8"))
    tmp.replace(path)
    return path


def mailbox(messages: int) -> Path:
    path = CACHE / f"mailbox-{messages}.mbox"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} ...", file=sys.stderr)
        write_mailbox(path, messages)
    return path


CHILD_READ = """
import json, sys, tempfile
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from pipelines import storage
from pipelines.archive import Archive
from pipelines.detect import ERRORS, STATS, ReadExport
from pipelines.ingest import detect

path, workers, split_bytes, result = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
options = PipelineOptions(["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}",
                           "--default_sdk_harness_log_level=WARNING"])
storage.configure(options)
archive = Archive(path)
reader = detect(archive)
context, _ = reader.context(archive)
sha = archive.sha256()
with tempfile.TemporaryDirectory(prefix="cf-splitread-") as scratch, beam.Pipeline(options=options) as p:
    read = p | ReadExport(archive, reader, context, sha, 2000, scratch=scratch, split_bytes=split_bytes)
    messages = read.batches | "Count" >> beam.Map(len) | "Sum" >> beam.CombineGlobally(sum)
    stats = read[STATS] | "Stats" >> beam.combiners.ToList()
    errors = read[ERRORS] | "Errors" >> beam.combiners.Count.Globally()

    def write(messages, stats, errors):
        with open(result, "w") as fh:
            json.dump({"batched_messages": messages, "dead_letters": errors, "stats": stats}, fh)

    messages | "Write" >> beam.Map(write, beam.pvalue.AsSingleton(stats), beam.pvalue.AsSingleton(errors))
"""


def child(path: Path, workers: int, split_bytes: int, stage: str) -> dict:
    """One read or scan in a child process: wall and CPU seconds, peak RSS of its tree, counts."""
    with tempfile.TemporaryDirectory(prefix="cf-splitread-out-") as out:
        if stage == "read":
            command = [sys.executable, "-c", CHILD_READ, str(path), str(workers), str(split_bytes),
                       f"{out}/result.json"]
        else:
            command = [sys.executable, "-m", "pipelines.cli", "run", "--input", str(path), "--out", out, "--no-index",
                       "--quiet", f"--split-bytes={split_bytes}", "--direct_running_mode=multi_processing",
                       f"--direct_num_workers={workers}"]
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parents[1])
        peak, cpu = watch(proc)
        _, stderr = proc.communicate()
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{stage} with {workers} worker(s) failed ({proc.returncode}):\n{stderr[-3000:]}")
        if stage == "read":
            found = json.loads(Path(out, "result.json").read_text())
            (member,) = found["stats"]
            counts = {k: member[k] for k in ("records", "messages", "merged", "malformed")}
            counts["sha256"], ranges = member["sha256"], member.get("ranges", 1)
            assert found["batched_messages"] == member["messages"] and found["dead_letters"] == member["malformed"]
        else:
            manifest = json.loads(Path(out, "manifest.json").read_text())
            counts = {k: manifest["counts"][k] for k in ("records", "messages", "merged", "malformed", "hits", "cases")}
            counts["sha256"], ranges = manifest["members"][0]["sha256"], manifest["members"][0].get("ranges", 1)
    return {"workers": workers, "split_bytes": split_bytes, "seconds": seconds, "cpu": cpu, "peak_rss": peak,
            "counts": counts, "ranges": ranges}


def watch(proc: subprocess.Popen, every: float = 0.5) -> tuple[int, float]:
    """(largest RSS summed over the process tree, CPU seconds of the tree) until it exits."""
    root = psutil.Process(proc.pid)
    peak, cpu = 0, {}
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                    times = p.cpu_times()
                    cpu[p.pid] = times.user + times.system
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            break
        peak = max(peak, total)
        time.sleep(every)
    return peak, sum(cpu.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--split-mib", type=int, default=16)
    parser.add_argument("--stage", choices=("read", "scan"), default="read")
    parser.add_argument("--whole", action="store_true", help="also the read without ranges, one worker")
    args = parser.parse_args(argv)
    path = mailbox(args.messages)
    print(f"{path}: {path.stat().st_size / 2**20:,.0f} MiB, {args.messages:,} mails; stage {args.stage}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    runs = []
    if args.whole:
        runs.append(child(path, 1, 0, args.stage))
        print(line("whole", runs[-1]), flush=True)
    for workers in (int(w) for w in args.workers.split(",")):
        runs.append(child(path, workers, args.split_mib << 20, args.stage))
        print(line(f"{workers} worker(s)", runs[-1]), flush=True)
    base = next((r for r in runs if r["workers"] == 1 and r["split_bytes"]), None)
    for run in runs:
        if base and run is not base:
            print(f"{run['workers']} worker(s) over 1 in ranges: {base['seconds'] / run['seconds']:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    same = all(run["counts"] == runs[0]["counts"] for run in runs)
    print("counts identical" if same else "COUNTS DIFFER: " + json.dumps([r["counts"] for r in runs]))
    return 0 if same else 1


def line(label: str, run: dict) -> str:
    c = run["counts"]
    return (f"{label:>12}: {run['seconds']:8.1f} s wall, {run['cpu']:8.1f} s CPU, peak {run['peak_rss'] / 2**20:7,.0f} "
            f"MiB, {run['ranges']} range(s), {c['records']:,} records, {c['messages']:,} messages, "
            f"{c['malformed']:,} malformed" + (f", {c['hits']:,} hits, {c['cases']:,} cases" if "hits" in c else ""))


if __name__ == "__main__":
    sys.exit(main())
