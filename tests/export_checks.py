"""Reader-test shortcuts on top of tests/readers.py: records split by type, exports zipped."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.base import DeadLetter, Merged
from tests.conftest import FIXTURES
from tests.helpers import zip_folder
from tests.readers import messages, read_all, tally

EXPORTS = FIXTURES / "exports"


def read_export(path: Path | str, forced: str = "auto"):
    """(reader, messages, merged, dead letters), every record accounted for."""
    reader, records, errors = read_all(Path(path), forced)
    counts = tally(records)
    assert counts["records"] == counts["messages"] + counts["merged"] + counts["malformed"]
    merged = [r for r in records if isinstance(r, Merged)]
    dead = [r for r in records if isinstance(r, DeadLetter)] + errors
    return reader, messages(records), merged, dead


def as_zip(folder: Path, tmp_path: Path, prefix: str = "") -> Path:
    return zip_folder(folder, tmp_path / f"{folder.name}.zip", prefix)
