"""Crafted input never stops a run: a message longer than spaCy's million characters is read up to
TEXT_LIMIT (its full length recorded), the rest of its file is read, and the run ends with its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.ingest.base import TEXT_LIMIT
from pipelines.scan import run
from tests.helpers.slack import write_slack

DUMP = "we scrub the OpenAI outputs so nobody can tell. "  # said a few thousand times in a pasted dump
PLAN = "we need to hide that the data came from GPT-4 outputs, scrub the vendor name before the audit"


def _slack(root: Path, long_text: str) -> None:
    write_slack(root, {"general/2025-03-05": [
        {"type": "message", "user": "U1", "text": "hello there", "ts": "1741170000.000100"},
        {"type": "message", "user": "U2", "text": long_text, "ts": "1741170060.000200"},
        {"type": "message", "user": "U1", "text": PLAN, "ts": "1741170120.000300"},
    ]}, users=[{"id": "U1", "name": "alice"}, {"id": "U2", "name": "bob"}], channels=[{"id": "C1", "name": "general"}])


def _mbox(root: Path, long_text: str) -> None:
    root.mkdir(parents=True)
    mails = [("<a@x>", "hello there"), ("<b@x>", long_text), ("<c@x>", PLAN)]
    (root / "inbox.mbox").write_text("".join(
        f"From x@example.com Mon Apr 18 14:20:57 2022\nMessage-ID: {mid}\nDate: Mon, 25 Sep 2000 0{3 + i}:39:00 "
        f"-0700\nFrom: P{i} <p{i}@example.com>\nSubject: data\nContent-Type: text/plain; charset=utf-8\n\n{body}\n\n"
        for i, (mid, body) in enumerate(mails)))


def _whatsapp(root: Path, long_text: str) -> None:
    root.mkdir(parents=True)
    (root / "WhatsApp Chat with ML.txt").write_text(
        "[05/03/2025, 09:00:00] Alice: hello there\n"
        f"[05/03/2025, 09:01:00] Bob: {long_text}\n"
        f"[05/03/2025, 09:02:00] Alice: {PLAN}\n")


@pytest.mark.parametrize("make", [_slack, _mbox, _whatsapp], ids=["slack", "mbox", "whatsapp"])
def test_a_message_past_spacys_limit_is_read_bounded_and_the_rest_goes_on(make, tmp_path):
    long_text = (DUMP * (1_250_000 // len(DUMP) + 1))[:1_250_000]
    make(tmp_path / "export", long_text)
    out = tmp_path / "out"
    assert run(["--input", str(tmp_path / "export"), "--out", str(out), "--no-index", "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["messages"] == 3 and manifest["counts"]["malformed"] == 0
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    dump = [h for h in hits if h["message"].get("truncated")]
    assert dump and dump[0]["message"]["truncated"] >= 1_250_000
    assert len(dump[0]["message"]["text"]) <= TEXT_LIMIT
    assert len(dump[0]["detection"]["matches"]) < 200  # one signal, not thousands of copies of it
    assert any(PLAN[:40] in h["message"]["text"] for h in hits)


def test_metadata_nested_past_the_stack_is_a_dead_letter_and_the_run_goes_on(tmp_path):
    export = tmp_path / "export"
    _slack(export, "hello again")
    (export / "users.json").write_text("[" * 100_000 + "]" * 100_000)
    out = tmp_path / "out"
    assert run(["--input", str(export), "--out", str(out), "--no-index", "--quiet"]) == 0
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [(e["source"]["path"], "recursion" in e["reason"]) for e in errors] == [("users.json", True)]
    assert json.loads((out / "manifest.json").read_text())["counts"]["messages"] == 3


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_whatsapp_export_is_recognised_and_read(encoding, tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    text = (f"[05/03/2025, 09:00:00] Alice: hello there\n[05/03/2025, 09:02:00] Bob: {PLAN}\n"
            "[05/03/2025, 09:03:00] Alice: 好的，来源别写\n")
    raw = text.encode(encoding)
    (export / "WhatsApp Chat with ML.txt").write_bytes(raw if encoding == "utf-16" else b"\xfe\xff" + raw)
    out = tmp_path / "out"
    assert run(["--input", str(export), "--out", str(out), "--no-index", "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["messages"] == 3 and manifest["counts"]["malformed"] == 0
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    assert any(PLAN in h["message"]["text"] for h in hits)


def test_thousands_of_small_inflating_members_are_refused_early_and_the_rest_is_read(tmp_path):
    """Each member under the per-member ratio floor, together hundreds of megabytes of nothing."""
    import zipfile

    bomb = tmp_path / "export.zip"
    blob = b"[" + b" " * ((1 << 20) - 2) + b"]"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        z.writestr("users.json", json.dumps([{"id": "U1", "name": "alice"}]))
        z.writestr("general/2025-03-05.json", json.dumps(
            [{"type": "message", "user": "U1", "text": PLAN, "ts": "1741170120.000300"}]))
        for i in range(300):
            z.writestr(f"c{i}/2025-03-05.json", blob)
    assert bomb.stat().st_size < 2 << 20
    out = tmp_path / "out"
    assert run(["--input", str(bomb), "--out", str(out), "--no-index", "--quiet"]) == 0
    assert json.loads((out / "manifest.json").read_text())["counts"]["messages"] == 1
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 300 and all("zip bomb" in e["reason"] for e in errors)


# Budgets for one crafted message (benchmarks/hostile.py has them all at full size): each is several times what
# the message costs now and a fraction of what it cost before the entity scan read text in windows with a
# keyword index and a bounded e-mail pattern (zh-dotted-tail 34 s at 40,000 characters, email-local-run 290 s
# at 20,000, zh-phones 187 s at 40,000), or before the PDF's long words were broken (quadratic in the word).
SCREEN_BUDGETS = [("zh-dotted-tail", 40_000, 15.0), ("email-local-run", 20_000, 5.0), ("zh-phones", 40_000, 15.0)]


@pytest.fixture(scope="module")
def finder():
    from analyzers.entities import EntityFinder

    return EntityFinder()


@pytest.mark.parametrize("name, size, budget", SCREEN_BUDGETS, ids=[b[0] for b in SCREEN_BUDGETS])
def test_the_worst_messages_are_screened_within_budget(finder, name, size, budget):
    from benchmarks.hostile import CASES, screen_seconds

    case = next(c for c in CASES if c.name == name)
    seconds = screen_seconds(finder, case, size / case.size)
    assert seconds < budget, f"{name}: {seconds:.1f} s for {size} characters (budget {budget} s)"


def test_a_long_word_is_printed_within_budget():
    # WeasyPrint is a test dependency (pyproject `dev`): missing, this fails rather than skips.
    from benchmarks.hostile import pdf_seconds

    seconds = pdf_seconds(40_000)
    assert seconds < 20.0, f"{seconds:.1f} s to print a case page holding a 40,000-character word"


def test_a_huge_day_file_is_streamed_in_bounded_memory():
    """200,000 messages in one Slack day file (27 MB): decoded whole it peaked near 450 MiB; streamed, the reading
    process stays near its start-up size (benchmarks/hugefile.py has the full-size figures)."""
    from benchmarks.hugefile import peak_rss_mib

    records, peak = peak_rss_mib(200_000)
    _, start = peak_rss_mib(1)
    assert records == 200_000
    assert peak - start < 60, f"peak RSS {peak} MiB reading 200,000 messages in one day file, {start} MiB for one"


def test_a_deeply_nested_message_is_left_out_in_bounded_memory_and_the_chat_goes_on():
    """30,000 levels in one Telegram message peaked at 2,181 MiB (ijson keeps a prefix string per open level)."""
    from benchmarks.hugefile import peak_rss_mib

    records, peak = peak_rss_mib(4, 30_000)
    _, start = peak_rss_mib(1)
    assert records == 4
    assert peak - start < 60, f"peak RSS {peak} MiB reading a message nested 30,000 levels, {start} MiB for one"
