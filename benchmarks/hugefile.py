"""Peak memory of reading one huge or deeply nested file: a reader must stream it, whatever one file holds.

    python -m benchmarks.hugefile [--messages 600000] [--depth 30000] [--budget-mib 100]

Writes a Slack export whose one day file is a JSON list of `--messages` messages, and a Telegram
`result.json` with one message nested `--depth` levels deep among ordinary ones; reads each with its reader
in a child process and prints that process's peak RSS beside the same process reading a one-message file;
exit 1 when a difference is over the budget or a record is missing. Measured (two cores): 600,000 messages
(80 MB) peaked at 1,351 MiB when the day file was decoded whole, 44 MiB streamed (15 s); 30,000 levels
peaked at 2,181 MiB (ijson keeps a prefix string per open level), 28 MiB with nesting capped.
tests/unit/test_hostile_input.py holds both to a budget.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from builders.slack import JsonStyle, SlackExport

T0 = 1_709_600_000
CHILD = """
import resource, sys
from pipelines.archive import Archive
from pipelines.ingest import detect
archive = Archive(sys.argv[1]); reader = detect(archive); context, _ = reader.context(archive)
records = 0
for unit in reader.units(archive):
    with archive.open(unit) as stream:
        records += sum(1 for r in reader.read(stream, unit, context) if isinstance(r, dict))
print(records, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def write_export(root: Path, messages: int) -> Path:
    """A Slack export whose one day file holds `messages` messages, written as they are made."""
    export = SlackExport(root, JsonStyle(indent=None, ensure_ascii=True, newline=False))
    export.users([{"id": f"U{i:03d}", "name": f"user{i}"} for i in range(50)])
    export.channels([{"id": "C1", "name": "general"}])
    export.day("general", "2024-03-05", ({"type": "message", "user": f"U{i % 50:03d}", "ts": f"{T0 + i}.000100",
                                          "text": f"message {i} about the eval run and the dashboard"}
                                         for i in range(messages)))
    return root


def write_deep_telegram(root: Path, depth: int, messages: int = 4) -> Path:
    """A Telegram chat whose second message's text is `depth` lists deep; the others are ordinary."""
    root.mkdir(parents=True)
    items = []
    for i in range(messages):
        text = "[" * depth + "]" * depth if i == 1 else json.dumps(f"message {i} about the eval run")
        items.append(f'{{"id": {i + 1}, "type": "message", "date": "2024-03-05T10:00:00", '
                     f'"date_unixtime": "{T0 + i}", "from": "Ann", "from_id": "user1", "text": {text}}}')
    (root / "result.json").write_text(
        '{"name": "ops", "type": "private_group", "id": 7, "messages": [' + ",".join(items) + "]}")
    return root


def peak_rss_mib(messages: int, depth: int = 0) -> tuple[int, int]:
    """(messages read, peak RSS in MiB of the process that read them): a Slack day file of `messages`, or
    with `depth` a Telegram chat of `messages` with one nested that deep."""
    with tempfile.TemporaryDirectory(prefix="cf-hugefile-") as folder:
        root = Path(folder) / "export"
        export = write_deep_telegram(root, depth, messages) if depth else write_export(root, messages)
        out = subprocess.run([sys.executable, "-c", CHILD, str(export)], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parents[1])
    records, peak = map(int, out.stdout.split())
    return records, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600_000)
    parser.add_argument("--depth", type=int, default=30_000)
    parser.add_argument("--budget-mib", type=int, default=100)
    args = parser.parse_args(argv)
    records, peak = peak_rss_mib(args.messages)
    _, start = peak_rss_mib(1)
    print(f"{records} records from one day file of {args.messages} messages: peak RSS {peak} MiB, {peak - start} MiB "
          f"over reading a one-message file (budget {args.budget_mib} MiB)")
    deep_records, deep_peak = peak_rss_mib(4, args.depth)
    print(f"{deep_records} of 4 messages from a Telegram chat with one nested {args.depth} levels deep: peak RSS "
          f"{deep_peak} MiB, {deep_peak - start} MiB over reading a one-message file (budget {args.budget_mib} MiB)")
    within = peak - start <= args.budget_mib and deep_peak - start <= args.budget_mib
    return 0 if within and records == args.messages and deep_records == 4 else 1


if __name__ == "__main__":
    sys.exit(main())
