"""The output folder: JSON lines in a stable order, so the same input gives the same files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import apache_beam as beam


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True)


def write_jsonl(path: str | Path, docs, sort_key) -> int:
    """Write atomically (temp file + rename) so a crashed run never leaves half a file."""
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
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


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
