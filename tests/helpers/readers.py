"""Shared checks for format readers: read a whole export the way the pipeline does (records split by type,
every record accounted for), zip one, and run a scan."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from pipelines.archive import Archive
from pipelines.ingest import detect
from pipelines.ingest.base import DeadLetter, Merged
from pipelines.scan import run
from tests.conftest import EXAMPLES, FIXTURES

EXPORTS = FIXTURES / "exports"


def read_all(path: Path, forced: str = "auto"):
    """(reader, records, metadata dead letters) for every unit, as ReadExport reads them."""
    archive = Archive(path)
    reader = detect(archive, forced)
    context, errors = reader.context(archive)
    records = []
    for unit in reader.units(archive):
        with archive.open(unit) as fh:
            records.extend(reader.read(fh, unit, context))
    return reader, records, errors


def messages(records) -> list[dict]:
    return [r for r in records if isinstance(r, dict)]


def by_id(records) -> dict[str, dict]:
    return {m["message"]["id"]: m for m in messages(records)}


def tally(records) -> dict[str, int]:
    return {"records": len(records), "messages": len(messages(records)),
            "merged": sum(isinstance(r, Merged) for r in records),
            "malformed": sum(isinstance(r, DeadLetter) for r in records)}


def slack_demo_still_detected_as_slack() -> None:
    assert detect(Archive(EXAMPLES / "slack-demo")).platform == "slack"


def scan_counts(path: Path, out: Path) -> dict:
    """Run the whole pipeline without Elasticsearch; the manifest's counts."""
    assert run(["--input", str(path), "--out", str(out), "--no-index", "--quiet"]) == 0
    return json.loads((out / "manifest.json").read_text())["counts"]


def read_export(path: Path | str, forced: str = "auto"):
    """(reader, messages, merged, dead letters), every record accounted for."""
    reader, records, errors = read_all(Path(path), forced)
    counts = tally(records)
    assert counts["records"] == counts["messages"] + counts["merged"] + counts["malformed"]
    merged = [r for r in records if isinstance(r, Merged)]
    dead = [r for r in records if isinstance(r, DeadLetter)] + errors
    return reader, messages(records), merged, dead


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def as_zip(folder: Path, tmp_path: Path, prefix: str = "") -> Path:
    return zip_folder(folder, tmp_path / f"{folder.name}.zip", prefix)
