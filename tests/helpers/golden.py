"""What a scan writes for the demo and the development sets, as digests: a speed change must leave
hits, cases and errors byte for byte the same (tests/unit/test_outputs_unchanged.py checks it).

A change that is meant to change what is found (rules, scoring, a reader) updates the digests on
purpose, and its commit says why:

    python -m tests.helpers.golden --update
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden_outputs.json")
SETS = {
    "demo": ROOT / "examples" / "slack-demo",
    "devset": ROOT / "tests" / "fixtures" / "devset",
    "devset2": ROOT / "tests" / "fixtures" / "devset2",
    "devset3": ROOT / "tests" / "fixtures" / "devset3",
    "devset4": ROOT / "tests" / "fixtures" / "devset4",
}
OUTPUTS = ("hits.jsonl", "cases.jsonl", "errors.jsonl")


def scan_digests(name: str) -> dict[str, dict]:
    """sha256 and line count of each output of one scan of the set (no index, default settings)."""
    from pipelines.scan import run

    with tempfile.TemporaryDirectory(prefix=f"cf-golden-{name}-") as out:
        if run(["--input", str(SETS[name]), "--out", out, "--no-index", "--quiet"]) != 0:
            raise RuntimeError(f"the scan of {name} failed")
        return {file: _digest(Path(out) / file) for file in OUTPUTS}


def _digest(path: Path) -> dict:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "lines": data.count(b"\n")}


def recorded() -> dict[str, dict]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help=f"rewrite {GOLDEN.name} from fresh scans")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    fresh = {name: scan_digests(name) for name in SETS}
    if args.update:
        GOLDEN.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {GOLDEN}")
        return 0
    changed = [name for name in SETS if fresh[name] != recorded().get(name)]
    print("unchanged" if not changed else f"changed: {', '.join(changed)}")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
