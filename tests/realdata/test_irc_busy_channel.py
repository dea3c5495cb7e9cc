"""Real busy chat (#ubuntu IRC, Kummerfeld et al. 2019) through the whole pipeline.

People there delete files, hide windows, mask partitions, paste keys and passwords and talk about
"GPT" partition tables, but nobody hides a vendor API: any medium or high hit is a false alarm.
"""

import json

import pytest

from benchmarks import irc
from pipelines.scan import run

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    export = tmp_path_factory.mktemp("irc-export")
    prefixes = [p for split in irc.SPLITS for p in irc.samples(split)]
    irc.to_slack_export(prefixes, export)
    out = tmp_path_factory.mktemp("irc-out")
    assert run(["--input", str(export), "--out", str(out), "--no-index", "--quiet"]) == 0
    return json.loads((out / "manifest.json").read_text()), out


def test_every_line_is_one_record_and_none_is_lost(scanned):
    counts = scanned[0]["counts"]
    assert counts["records"] == 50_456  # dev 12,500 + test 15,000 + train 22,956 lines
    assert counts["malformed"] == 0 and counts["records"] == counts["messages"] + counts["merged"]


def test_no_medium_or_high_hit_in_a_real_busy_channel(scanned):
    hits = [json.loads(line) for line in (scanned[1] / "hits.jsonl").read_text().splitlines()]
    loud = [h["detection"]["explanation"] for h in hits if h["detection"]["severity"] != "low"]
    assert loud == []
