"""Issue 13's rule on real exports: every file a reader takes yields records or a dead letter naming it.

Every sample in ../shared/realdata/peer-fixtures, the Slack exports of its README (folder and ZIP layouts) and
the Enron mbox subset are read as the pipeline reads them, file by file, and what they yield is held to the
README's independently derived record counts, so a file read half-way without a word fails too. Not included:
the IRC disentanglement corpus, which is log lines and no export format the project reads.
"""

from __future__ import annotations

import json

import pytest

from pipelines.archive import Archive
from pipelines.ingest import detect
from pipelines.scan import run
from tests.unit.test_reader_contract import CLEAR_ERRORS, account, assert_contract

pytestmark = pytest.mark.realdata

SLACKDUMP = "slackdump-fixtures/internal/fixtures/assets"
# (export, reader auto-detection must pick, messages the README counts in it)
REAL_EXPORTS = {
    "telegram-chm-2023-01": ("peer-fixtures/telegram/chm-telegram_2023-01", "telegram", 6),
    "telegram-tg2md": ("peer-fixtures/telegram/tg2md", "telegram", 19),
    "teams-zulip-pascalcase": ("peer-fixtures/teams/zulip-team-channel-002145f2", "teams", 3),
    "mattermost-zulip": ("peer-fixtures/mattermost/zulip-export", "mattermost", 21),
    "mbox-netscape-content-length": ("peer-fixtures/mbox/mimekit-netscape-content-length", "mbox", 29),
    "mbox-gmail-issue1189": ("peer-fixtures/mbox/mimekit-gmail-issue1189", "mbox", 4),
    "whatsapp-chm-joined": ("peer-fixtures/whatsapp/chm-whatsapp-text_2023-10", "whatsapp", 13),
    "slack-houstondatavis": ("houstondatavis-slack", "slack", 1382),
    "slack-testarchive-zip": ("slack-export-viewer-testarchive/testarchive.zip", "slack", 158),
    "slack-slackdump-dir": (f"{SLACKDUMP}/source_export_dir", "slack", 16),
    "slack-slackdump-zip": (f"{SLACKDUMP}/source_export.zip", "slack", 16),
    "mbox-enron-6-custodians": ("enron-mbox-subset/MailDir_to_MBOX/enron", "mbox", 2761),  # ~11 s
}


def test_every_peer_fixture_is_in_the_contract(realdata):
    """A sample added to peer-fixtures is held to the rule as soon as it lands."""
    samples = {f"peer-fixtures/{fmt.name}/{sample.name}" for fmt in (realdata / "peer-fixtures").iterdir()
               if fmt.is_dir() for sample in fmt.iterdir()}
    assert samples <= {path for path, _, _ in REAL_EXPORTS.values()}


@pytest.mark.parametrize("name", list(REAL_EXPORTS))
def test_every_file_of_every_real_export_is_accounted_for(realdata, name):
    relative, expected, messages = REAL_EXPORTS[name]
    result = account(realdata / relative)
    assert result.platform == expected
    assert_contract(result)
    assert result.counts["messages"] == messages, {u: t for u, t in result.per_unit.items() if t["malformed"]}


def test_slack_list_files_without_day_files_are_a_clear_error(realdata):
    """slackdump's `export/` holds only users, channels, dms, mpims and groups lists: nothing to read, said so."""
    with pytest.raises(CLEAR_ERRORS, match="not a recognised export"):
        detect(Archive(realdata / SLACKDUMP / "export"))


def test_slack_forced_onto_list_files_only_is_never_a_silent_run(realdata, tmp_path):
    export = realdata / SLACKDUMP / "export"
    try:
        code = run(["--input", str(export), "--out", str(tmp_path), "--format", "slack", "--no-index", "--quiet"])
    except CLEAR_ERRORS as exc:
        assert str(exc).strip()
        return
    assert code == 0
    counts = json.loads((tmp_path / "manifest.json").read_text())["counts"]
    assert counts["records"] == counts["messages"] + counts["merged"] + counts["malformed"]
    assert counts["records"] > 0, "--format slack on list files only: exit 0, 0 records, 0 dead letters"
