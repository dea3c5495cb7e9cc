"""The rule behind every reader (issue 13): real input never turns into silence.

A file a reader takes as its own yields records (messages, merged edits, dead letters) or is named by a dead
letter that says why it yields none; a reader forced with `--format` onto an export it cannot read ends in
records, dead letters or one clear error, never in a run of 0 records and 0 errors that exits 0.

Every fixture export is read as the pipeline reads it (auto-detected, `context` then `read` per unit), as a
folder and zipped; every reader is forced onto the fixture exports of the other formats, end to end through
`pipelines.scan.run` on one small foreign export each and through the reader interface on all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipelines.archive import Archive, ArchiveError
from pipelines.ingest import READERS, UnknownFormat, detect
from pipelines.ingest.base import DeadLetter, Merged
from pipelines.scan import UsageError, run
from tests.conftest import EXAMPLES, FIXTURES
from tests.helpers.readers import EXPORTS, as_zip
from tests.helpers.slack import CONCEALMENT_DAY, write_slack

# The errors the CLI turns into one `error: ...` line and exit code 2 (pipelines/cli.py `_guard`).
CLEAR_ERRORS = (ArchiveError, UnknownFormat, UsageError)
FOLDER_FORMAT = {"email": "mbox"}  # tests/fixtures/exports/<folder>/ holds exports of this reader


def fixture_exports() -> dict[str, tuple[Path, str]]:
    """{id: (export, the reader auto-detection must pick)} for every fixture export of the repository."""
    found = {f"{fmt.name}/{export.name}": (export, FOLDER_FORMAT.get(fmt.name, fmt.name))
             for fmt in sorted(EXPORTS.iterdir()) if fmt.is_dir()
             for export in sorted(fmt.iterdir()) if export.is_dir()}
    found["examples/slack-demo"] = (EXAMPLES / "slack-demo", "slack")
    found["fixtures/devset"] = (FIXTURES / "devset", "slack")
    return found


FIXTURE_EXPORTS = fixture_exports()


@dataclass
class Account:
    """What one export yields, file by file, read the way ReadExport reads it."""

    platform: str
    units: list[str]
    per_unit: dict[str, dict[str, int]] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)  # from context and from read, in order
    counts: dict[str, int] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)  # records that are neither message, Merged nor DeadLetter
    misnamed: list[str] = field(default_factory=list)  # read dead letters that name another file

    def silent_units(self) -> list[str]:
        """Units that yield no record and that no dead letter names."""
        named = {d.path for d in self.dead}
        return [u for u in self.units if sum(self.per_unit[u].values()) == 0 and u not in named]


def account(path: Path, forced: str = "auto") -> Account:
    archive = Archive(path)
    reader = detect(archive, forced)
    context, errors = reader.context(archive)
    result = Account(reader.platform, reader.units(archive), dead=list(errors))
    counts = {"records": len(errors), "messages": 0, "merged": 0, "malformed": len(errors)}
    for unit in result.units:
        tally = {"messages": 0, "merged": 0, "malformed": 0}
        with archive.open(unit) as fh:
            for record in reader.read(fh, unit, context):
                counts["records"] += 1
                if isinstance(record, DeadLetter):
                    tally["malformed"] += 1
                    result.dead.append(record)
                    if record.path != unit:
                        result.misnamed.append(f"{unit}: {record}")
                elif isinstance(record, Merged):
                    tally["merged"] += 1
                elif isinstance(record, dict):
                    tally["messages"] += 1
                else:
                    result.strays.append(f"{unit}: {type(record).__name__}")
        result.per_unit[unit] = tally
        for key, n in tally.items():
            counts[key] += n
    result.counts = counts
    return result


def assert_contract(result: Account) -> None:
    assert result.units, f"{result.platform}: the export lists no file to read"
    assert result.strays == [], "records that are neither a message, a Merged nor a DeadLetter"
    assert result.silent_units() == [], "files read to nothing, and no dead letter says why"
    assert result.misnamed == [], "a dead letter must name the file it was read from"
    assert all(d.reason.strip() for d in result.dead), "a dead letter without a reason explains nothing"
    c = result.counts
    assert c["records"] == c["messages"] + c["merged"] + c["malformed"]
    assert c["records"] > 0


@pytest.mark.parametrize("name", list(FIXTURE_EXPORTS))
def test_every_file_of_every_fixture_export_is_accounted_for(name):
    export, expected = FIXTURE_EXPORTS[name]
    result = account(export)
    assert result.platform == expected
    assert_contract(result)


@pytest.mark.parametrize("name", list(FIXTURE_EXPORTS))
def test_every_file_of_every_zipped_fixture_export_is_accounted_for(name, tmp_path):
    export, expected = FIXTURE_EXPORTS[name]
    zipped = account(as_zip(export, tmp_path, prefix=f"{export.name}/"))
    assert zipped.platform == expected
    assert_contract(zipped)
    # The same files, one folder deeper, yield the same records.
    folder = account(export)
    assert {u.removeprefix(f"{export.name}/"): t for u, t in zipped.per_unit.items()} == folder.per_unit


# -- forced formats -------------------------------------------------------------------------------------------

def _tiny_slack(tmp_path: Path) -> Path:
    return write_slack(tmp_path / "slack-export", {"ml-platform/2024-05-01": CONCEALMENT_DAY})


# One small export of another format per reader, as the brief's examples: a Slack folder forced as Teams,
# a WhatsApp .txt as mbox, a Telegram result.json as Discord, a text mailbox as WhatsApp...
FOREIGN = {
    "slack": "telegram/single",
    "lark": "mattermost/mattermost-export",
    "teams": None,  # a tiny Slack folder written at test time
    "mattermost": "discord/server",
    "gchat": "lark/feishu-export",
    "telegram": "gchat/Takeout",
    "discord": "telegram/single",
    "whatsapp": "email/mbox-txt",
    "mbox": "whatsapp/android",
}
assert set(FOREIGN) == set(READERS), "every reader is forced onto a foreign export"


@pytest.fixture(scope="module")
def screener_kept():
    """Nine small scans: the screener (spaCy, Presidio, the automaton) is built once for all of them, not per run.

    Beam's `shared.Shared` keeps it only while something holds it; this holds what the runs acquire."""
    from pipelines import composites as stages

    kept = []
    acquire = stages._SCREENERS.acquire

    def keep(*args, **kwargs):
        held = acquire(*args, **kwargs)
        if not any(k is held for k in kept):
            kept.append(held)
        return held

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stages._SCREENERS, "acquire", keep)
        yield


@pytest.mark.parametrize("name", list(READERS))
def test_forced_reader_on_a_foreign_export_is_never_a_silent_run(name, tmp_path, screener_kept):
    export = _tiny_slack(tmp_path) if FOREIGN[name] is None else FIXTURE_EXPORTS[FOREIGN[name]][0]
    assert detect(Archive(export)).platform != name, "the export must be of another format"
    out = tmp_path / "out"
    try:
        code = run(["--input", str(export), "--out", str(out), "--format", name, "--no-index", "--quiet"])
    except CLEAR_ERRORS as exc:
        assert str(exc).strip(), "an error without a message is no explanation"
        return
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["records"] == counts["messages"] + counts["merged"] + counts["malformed"]
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines() if line.strip()]
    assert len(errors) == counts["malformed"]
    assert all(e["reason"].strip() and e["source"]["parser"] == name for e in errors)
    assert counts["records"] > 0, (f"--format {name} on {export.name}: exit 0 with 0 records and 0 dead letters "
                                   f"({len(manifest['members'])} files, none read)")


def _outcome(export: Path, name: str) -> str | None:
    """Why forcing `name` onto `export` is not silent, or None when it is."""
    try:
        result = account(export, name)
    except CLEAR_ERRORS as exc:
        return f"error: {exc}" if str(exc).strip() else None
    assert result.strays == [] and result.misnamed == []
    assert result.silent_units() == []
    return f"{result.counts['records']} records" if result.counts["records"] else None


@pytest.mark.parametrize("name", list(READERS))
def test_forced_reader_is_never_silent_on_any_foreign_fixture_export(name):
    foreign = {key: export for key, (export, fmt) in FIXTURE_EXPORTS.items()
               if fmt != name and key != "fixtures/devset"}  # slack-demo stands for the Slack ones
    silent = [key for key, export in foreign.items() if _outcome(export, name) is None]
    assert silent == [], (f"--format {name}: 0 records, 0 dead letters and no error on {len(silent)} of "
                          f"{len(foreign)} foreign exports: {', '.join(silent)}")
