"""Issue 17 (hardening), spoofing: a name or a file name never displays as something else.

"\u202egpj.exe" (a right-to-left override) shows as "exe.jpg", "w\u200bei" (a zero-width space) as "wei".
Names, ids and file names leave with such characters spelled out (⟨U+202E⟩), in the documents the index shows
and the reports print, the value as found kept under `raw`; message text keeps its characters in the documents
(the spans point into it) and the pages spell out the ones that reorder it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzers.visible import shown, shown_text
from pipelines.scan import run
from tests.helpers.slack import write_slack

RLO, ZWSP = "\u202e", "\u200b"
SPOOFED_FILE = f"{RLO}gpj.exe"
LOOKALIKE = f"w{ZWSP}ei"
PLAN = "we need to hide that the data came from GPT-4 outputs, scrub the vendor name before the audit"


CHANNEL = f"general{RLO}lanif"


def _export(root: Path) -> None:
    write_slack(root, {f"{CHANNEL}/2025-03-05": [
        {"user": "U1", "text": PLAN, "ts": "1741170000.000100"},
        {"user": "U2", "text": f"{PLAN}, here it is {RLO}fdp.exe", "ts": "1741170060.000200",
         "files": [{"name": SPOOFED_FILE}]},
    ]}, users=[{"id": "U1", "name": "wei"}, {"id": "U2", "name": LOOKALIKE}], channels=[{"id": "C1", "name": CHANNEL}])


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("spoof")
    _export(root / "export")
    assert run(["--input", str(root / "export"), "--out", str(root / "out"), "--no-index", "--quiet"]) == 0
    return root / "out"


def test_marking_spells_out_and_changes_nothing_else():
    assert shown(SPOOFED_FILE) == "⟨U+202E⟩gpj.exe" and shown(LOOKALIKE) == "w⟨U+200B⟩ei"
    assert shown(shown(SPOOFED_FILE)) == shown(SPOOFED_FILE)  # the marks hold nothing they mark
    assert shown("张伟 Müller") == "张伟 Müller" and shown("") == ""
    assert shown_text(f"a{RLO}b 👩\u200d💻") == "a⟨U+202E⟩b 👩\u200d💻"  # a joiner is part of the writing


def test_documents_show_names_marked_and_keep_the_raw_value(out):
    hits = [json.loads(line) for line in (out / "hits.jsonl").read_text().splitlines()]
    spoofer = next(h for h in hits if h["attachments"])
    assert spoofer["author"]["name"] == "w⟨U+200B⟩ei"
    assert spoofer["attachments"][0]["name"] == "⟨U+202E⟩gpj.exe"
    assert spoofer["conversation"]["name"] == "general⟨U+202E⟩lanif"
    assert spoofer["source"]["path"] == "general⟨U+202E⟩lanif/2025-03-05.json"
    assert spoofer["raw"] == {"author.name": LOOKALIKE, "attachments.0.name": SPOOFED_FILE,
                              "conversation.name": CHANNEL, "source.path": f"{CHANNEL}/2025-03-05.json"}
    assert spoofer["message"]["text"].endswith(f"{RLO}fdp.exe")  # text as said: the spans point into it
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    assert sorted(cases[0]["participants"]) == ["wei", "w⟨U+200B⟩ei"]  # two people, and they look it
    for line in (out / "cases.jsonl").read_text().splitlines():
        assert RLO not in line and ZWSP not in line


def test_pages_spell_out_every_spoofing_character(out):
    from pipelines.pdf import printable

    pages = [out / "reports" / "index.html", *sorted((out / "reports" / "cases").glob("*.html"))]
    case_page = pages[1].read_text(encoding="utf-8")
    assert "w⟨U+200B⟩ei" in case_page and "general⟨U+202E⟩lanif" in case_page
    assert "here it is ⟨U+202E⟩fdp.exe" in case_page  # in message text too: it reorders what follows
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert RLO not in html and ZWSP not in html, page.name
        assert RLO not in printable(html)  # what the PDF is printed from
