"""Real Slack exports written by people outside this project, read with their known counts."""

import json

import pytest

from pipelines.scan import run

pytestmark = pytest.mark.realdata

EXPORTS = {
    "houstondatavis": ("houstondatavis-slack", 1382),
    "testarchive": ("slack-export-viewer-testarchive/testarchive.zip", 158),
    "slackdump": ("slackdump-fixtures/internal/fixtures/assets/source_export_dir", 16),
    "slackdump-zip": ("slackdump-fixtures/internal/fixtures/assets/source_export.zip", 16),
}


@pytest.fixture(scope="module", params=sorted(EXPORTS))
def scanned(request, realdata, tmp_path_factory):
    relative, expected = EXPORTS[request.param]
    out = tmp_path_factory.mktemp(request.param)
    assert run(["--input", str(realdata / relative), "--out", str(out), "--no-index", "--quiet"]) == 0
    return json.loads((out / "manifest.json").read_text()), expected, out


def test_every_record_read_none_malformed(scanned):
    manifest, expected, _ = scanned
    counts = manifest["counts"]
    assert counts["records"] == expected
    assert counts["malformed"] == 0
    assert counts["records"] == counts["messages"] + counts["merged"] + counts["malformed"]
    for member in manifest["members"]:
        assert member["records"] == member["messages"] + member["merged"] + member["malformed"]
        assert len(member["sha256"]) == 64


def test_no_medium_or_high_hits(scanned):
    _, _, out = scanned
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    assert [h["message"]["text"][:80] for h in hits if h["detection"]["severity"] != "low"] == []
