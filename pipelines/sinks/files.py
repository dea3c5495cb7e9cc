"""The output folder: JSON lines in a stable order, so the same input gives the same files.

A path may be a URL (`s3://bucket/runs/x/.work-.../hits.jsonl`): workers then write through Beam's
filesystems (pipelines/storage.py), where an object appears whole when it is closed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import apache_beam as beam

from pipelines import storage


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


def write_jsonl(path: str | Path, docs, sort_key) -> int:
    """Write atomically (temp file + rename) so a crashed run never leaves half a file."""
    if storage.is_url(path):
        rows = sorted(docs, key=sort_key)
        storage.write_bytes(path, "".join(dumps(doc) + "\n" for doc in rows).encode("utf-8"))
        return len(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    rows = sorted(docs, key=sort_key)
    with open(tmp, "w", encoding="utf-8") as fh:
        for doc in rows:
            fh.write(dumps(doc) + "\n")
    os.replace(tmp, path)
    return len(rows)


def read_jsonl(path: str | Path) -> list[dict]:
    if storage.is_url(path):
        if not storage.exists(path):
            return []
        return [json.loads(line) for line in storage.read_bytes(path).decode("utf-8").splitlines() if line.strip()]
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def count_jsonl(path: str | Path) -> int:
    """Documents in a JSON-lines file, without parsing them (a run's hits can be hundreds of megabytes)."""
    path = Path(path)
    if not path.exists():
        return 0
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


class WriteJsonLines(beam.PTransform):
    """All elements into one sorted file. For outputs that stay small (hits, cases, stats)."""

    def __init__(self, path: str, sort_key):
        super().__init__()
        self.path, self.sort_key = path, sort_key

    def expand(self, docs):
        return (
            docs
            | "Gather" >> beam.combiners.ToList()
            | "Write" >> beam.Map(lambda rows, path, key: write_jsonl(path, rows, key), self.path, self.sort_key)
        )


class WriteDeadLetters(beam.PTransform):
    """Dead letters grouped by source file, each group sorted into its own part file.

    However broken an export is, no worker holds more than one source file's dead letters;
    `merge_parts` then joins the parts into one file in the driver, streaming.
    """

    def __init__(self, parts_dir: str, sort_key):
        super().__init__()
        self.parts_dir, self.sort_key = parts_dir, sort_key

    def expand(self, errors):
        return (
            errors
            | "BySource" >> beam.Map(lambda error: (error["source"]["path"], error))
            | "Group" >> beam.GroupByKey()
            | "WritePart" >> beam.Map(_write_part, self.parts_dir, self.sort_key)
        )


def _write_part(group: tuple[str, list[dict]], parts_dir: str, sort_key) -> int:
    source, errors = group
    name = hashlib.sha256(source.encode("utf-8", errors="replace")).hexdigest()[:24] + ".jsonl"
    return write_jsonl(storage.join(parts_dir, name) if storage.is_url(parts_dir) else Path(parts_dir) / name,
                       errors, sort_key)


def merge_parts(parts_dir: str | Path, target: str | Path) -> dict[str, int]:
    """Concatenate part files in source-path order into `target` (a local file); return lines per source path.
    The parts may lie on an object store (`parts_dir` a URL), streamed from there."""
    remote = storage.is_url(parts_dir)
    names = ([storage.join(parts_dir, n) for n, _ in storage.listing(parts_dir) if n.endswith(".jsonl")] if remote
             else Path(parts_dir).glob("*.jsonl"))
    parts = []
    for part in names:
        with _open_text(part) as fh:
            first = fh.readline()
        if first.strip():
            parts.append((json.loads(first)["source"]["path"], str(part)))
    counts: dict[str, int] = {}
    target = Path(target)
    tmp = target.with_suffix(target.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for source, part in sorted(parts):
            with _open_text(part) as fh:
                for line in fh:
                    out.write(line)
                    counts[source] = counts.get(source, 0) + 1
    os.replace(tmp, target)
    return counts


def _open_text(path):
    if storage.is_url(str(path)):
        return io.TextIOWrapper(storage.open_read(str(path), storage.STREAM_BUFFER), encoding="utf-8")
    return open(path, encoding="utf-8")
