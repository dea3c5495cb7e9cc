"""Real workspaces that never discuss hiding vendor API use: the detector must stay below medium on them."""

import json

import pytest

from pipelines.scan import run

pytestmark = pytest.mark.realdata

QUIET_EXPORTS = [
    "houstondatavis-slack",
    "slack-export-viewer-testarchive/testarchive.zip",
    "slackdump-fixtures/internal/fixtures/assets/source_export_dir",
]


@pytest.mark.parametrize("relative", QUIET_EXPORTS)
def test_real_workspaces_raise_nothing_above_low(realdata, tmp_path, relative):
    assert run(["--input", str(realdata / relative), "--out", str(tmp_path), "--no-index", "--quiet"]) == 0
    hits = [json.loads(line) for line in (tmp_path / "hits.jsonl").read_text().splitlines()]
    loud = [(h["conversation"]["name"], h["detection"]["explanation"]) for h in hits
            if h["detection"]["severity"] != "low"]
    assert loud == []
