"""Peak memory of reading one huge Slack day file: a reader must stream it, whatever one file holds.

    python -m benchmarks.hugefile [--messages 600000] [--budget-mib 100]

Writes a Slack export whose one day file is a JSON list of `--messages` messages, reads it with the Slack
reader in a child process and prints that process's peak RSS beside the same process reading a one-message
file; exit 1 when the difference is over the budget. Measured
(two cores): 600,000 messages (80 MB) peaked at 1,351 MiB when the day file was decoded whole, 44 MiB
streamed (15 s). tests/unit/test_hostile_input.py holds 200,000 messages to a budget.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

T0 = 1_709_600_000
CHILD = """
import resource, sys
from pipelines.archive import Archive
from pipelines.ingest import detect
archive = Archive(sys.argv[1]); reader = detect(archive); context, _ = reader.context(archive)
records = 0
for unit in reader.units(archive):
    with archive.open(unit) as stream:
        records += sum(1 for _ in reader.read(stream, unit, context))
print(records, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def write_export(root: Path, messages: int) -> Path:
    (root / "general").mkdir(parents=True)
    (root / "users.json").write_text(json.dumps([{"id": f"U{i:03d}", "name": f"user{i}"} for i in range(50)]))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    with open(root / "general" / "2024-03-05.json", "w", encoding="utf-8") as day:
        day.write("[")
        for i in range(messages):
            message = {"type": "message", "user": f"U{i % 50:03d}", "ts": f"{T0 + i}.000100",
                       "text": f"message {i} about the eval run and the dashboard"}
            day.write(("," if i else "") + json.dumps(message))
        day.write("]")
    return root


def peak_rss_mib(messages: int) -> tuple[int, int]:
    """(records read, peak RSS in MiB of the process that read them)."""
    with tempfile.TemporaryDirectory(prefix="cf-hugefile-") as folder:
        export = write_export(Path(folder) / "export", messages)
        out = subprocess.run([sys.executable, "-c", CHILD, str(export)], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parents[1])
    records, peak = map(int, out.stdout.split())
    return records, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600_000)
    parser.add_argument("--budget-mib", type=int, default=100)
    args = parser.parse_args(argv)
    records, peak = peak_rss_mib(args.messages)
    _, start = peak_rss_mib(1)
    print(f"{records} records from one day file of {args.messages} messages: peak RSS {peak} MiB, {peak - start} MiB "
          f"over reading a one-message file (budget {args.budget_mib} MiB)")
    return 0 if peak - start <= args.budget_mib and records == args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
