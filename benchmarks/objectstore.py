"""What reading a ZIP export from an object store costs: requests, bytes fetched and seconds, beside local disk.

    python -m benchmarks.objectstore [--messages 100000] [--profile tidy|dense] [--scan]

Needs the S3-compatible server of `scripts/s3proxy.sh start` (endpoint and credentials from its env file, or
CHATFORENSICS_S3_ENV). Uploads the benchmark's Slack export ZIP (benchmarks/generate.py, cached) to a fresh
bucket, then, in this process, counts every GET Beam's S3 client sends and every byte it receives while
chatforensics opens the ZIP (central directory), detects the format, and reads every member the way the
workers do (one stream of a conversation's day files after the other, members in name order), once through
the 64 KiB buffer pipelines/storage.py reads with and once through Beam's own 16 MiB buffer. `--scan` also
times a whole `chatforensics run --no-index` from the bucket and from local disk. The alternative, staging a
local copy and checking its hash, costs one full download (the ZIP's size) per worker process before any
member is read. README (Scale-out) has the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

CACHE = Path(os.environ.get("CHATFORENSICS_CACHE", Path.home() / ".cache" / "chatforensics"))


class Meter:
    """GET requests (a new ranged stream each) and bytes received by Beam's boto3 client wrapper."""

    def __init__(self):
        from apache_beam.io.aws.clients.s3 import boto3_client

        self.gets = self.bytes = 0
        meter, get_stream, get_range = self, boto3_client.Client.get_stream, boto3_client.Client.get_range

        def counting_stream(client, request, start):
            before = client._download_stream
            stream = get_stream(client, request, start)
            if stream is not before:
                meter.gets += 1
            return stream

        def counting_range(client, request, start, end):
            data = get_range(client, request, start, end)
            meter.bytes += len(data)
            return data

        boto3_client.Client.get_stream, boto3_client.Client.get_range = counting_stream, counting_range

    def reading(self, label: str, work) -> dict:
        gets, size, started = self.gets, self.bytes, time.perf_counter()
        result = work()
        return {"what": label, "gets": self.gets - gets, "bytes": self.bytes - size,
                "seconds": time.perf_counter() - started, "result": result}


def detect_only(location: str) -> str:
    from pipelines.archive import Archive
    from pipelines.ingest import detect

    return detect(Archive(location)).platform


def read_everything(location: str, buffer: int, shuffled: bool = False) -> int:
    """Opens the export, detects it, reads every member of every stream; bytes read. Streams in name order, or
    `shuffled` as a worker meets them after the pipeline's Reshuffle (each stream's members still in order)."""
    from pipelines import storage
    from pipelines.archive import Archive
    from pipelines.ingest import detect

    saved = storage.RANGE_BUFFER
    storage.RANGE_BUFFER = buffer
    try:
        archive = Archive(location)
        reader = detect(archive)
        total = 0
        streams = reader.streams(archive)
        if shuffled:
            random.Random(7).shuffle(streams)
        for stream in streams:
            for member in stream:
                with archive.open(member) as fh:
                    while chunk := fh.read(1 << 20):
                        total += len(chunk)
        return total
    finally:
        storage.RANGE_BUFFER = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--profile", default="tidy", help="benchmarks/generate.py profile (tidy, dense)")
    parser.add_argument("--scan", action="store_true", help="also a whole run from the bucket and from disk")
    args = parser.parse_args(argv)
    import boto3
    from apache_beam.options.pipeline_options import PipelineOptions

    from benchmarks.generate import cached_export
    from pipelines import storage
    from pipelines.archive import Archive

    env_file = Path(os.environ.get("CHATFORENSICS_S3_ENV", CACHE / "s3proxy" / "node-9400" / "s3.env"))
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#")
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    endpoint = env["CHATFORENSICS_S3_ENDPOINT"]
    export = cached_export(args.messages, 7, args.profile)
    client = boto3.client("s3", endpoint_url=endpoint)
    bucket = f"cfbench-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/{export.name}"
    try:
        client.upload_file(str(export), bucket, export.name)
        storage.configure(PipelineOptions([f"--s3_endpoint_url={endpoint}"]))
        meter = Meter()
        size = export.stat().st_size
        print(f"{export.name}: {size / 2**20:.1f} MiB ZIP, {args.messages:,} messages")
        rows = [meter.reading("open + members", lambda: len(Archive(url).members())),
                meter.reading("open + detect the format", lambda: detect_only(url))]
        for order in ("in order", "shuffled"):
            for label, buffer in (("64 KiB buffer", storage.RANGE_BUFFER), ("16 MiB buffer", 16 << 20)):
                rows.append(meter.reading(f"{order}, {label}",
                                          lambda b=buffer, o=order: read_everything(url, b, o == "shuffled")))
        started = time.perf_counter()
        local_bytes = read_everything(str(export), storage.RANGE_BUFFER)
        local = time.perf_counter() - started
        for row in rows:
            print(f"{row['what']:>26}: {row['gets']:6,} GETs, {row['bytes'] / 2**20:9.1f} MiB fetched "
                  f"({row['bytes'] / size:5.2f}x the ZIP), {row['seconds']:6.1f} s")
        print(f"{'in order, local disk':>26}: {local:6.1f} s ({local_bytes / 2**20:.1f} MiB inflated)")
        if args.scan:
            from pipelines.scan import run

            for label, source in (("scan from s3", url), ("scan from disk", str(export))):
                with tempfile.TemporaryDirectory() as out:
                    started = time.perf_counter()
                    run(["--input", source, "--out", out, "--no-index", "--quiet", f"--s3_endpoint_url={endpoint}"])
                    print(f"{label:>26}: {time.perf_counter() - started:6.1f} s")
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
