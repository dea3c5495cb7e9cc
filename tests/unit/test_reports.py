"""Reports: golden structure of the HTML (parsed, not string-matched), redaction both ways, PDFs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from pipelines.cli import main as cli
from pipelines.reports import highlight, timeline
from pipelines.severity import COLOURS
from tests.helpers.reporting import (
    CHINESE,
    EMAIL,
    IMG,
    LINK,
    OPENAI_KEY,
    PHONE,
    SCRIPT,
    TEMPLATE,
    jsonl,
    scan,
    write_tricky_export,
)

INJECTED = (SCRIPT, IMG, LINK, TEMPLATE)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return write_tricky_export(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def redacted(export, tmp_path_factory):
    return scan(export, tmp_path_factory.mktemp("redacted"))


@pytest.fixture(scope="module")
def raw(export, tmp_path_factory):
    return scan(export, tmp_path_factory.mktemp("raw"), "--no-redact")


def soup(path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def only_case(out):
    (case,) = jsonl(out / "cases.jsonl")
    return case, soup(out / case["report"]["path"])


def text_of(node) -> str:
    return node.get_text(" ", strip=True)


SVG = "{http://www.w3.org/2000/svg}"


# --- structure -------------------------------------------------------------------------------------------

def test_index_lists_cases_most_severe_first_with_counts_and_links(redacted):
    page = soup(redacted / "reports" / "index.html")
    cases = jsonl(redacted / "cases.jsonl")
    rows = page.select("#cases tr.case")
    assert [r["data-case-id"] for r in rows] == [c["case"]["id"] for c in cases]
    link = rows[0].find("a")
    assert link["href"] == f"cases/{cases[0]['case']['id']}.html"
    assert (redacted / "reports" / link["href"]).is_file()
    by_severity = {text_of(tr.td): text_of(tr.select_one("td.num")) for tr in page.select("#by-severity tbody tr")}
    assert by_severity == {"high": "1"}
    assert [text_of(td) for td in page.select("#by-conversation tbody td")] == ["ml-platform", "1"]
    assert [text_of(td) for td in page.select("#by-platform tbody td")] == ["slack", "1"]


def test_case_header_carries_the_case_facts(redacted):
    case, page = only_case(redacted)
    header = page.select_one("#header")
    facts = {text_of(dt): text_of(dt.find_next_sibling("dd")) for dt in header.select("dt")}
    assert facts["Case"] == case["case"]["id"]
    assert facts["Severity"] == case["severity"] == "high"
    assert facts["Score"].startswith(f"{case['score']:.2f}") and "window score" in facts["Score"]
    assert facts["Platform"] == "slack"
    assert facts["Conversation"].startswith("ml-platform")
    assert facts["Participants"] == ", ".join(case["participants"]) == "Carol Evans, alice, bob"
    assert facts["Period (UTC)"] == "2024-05-01 10:00:00 – 2024-05-01 10:03:00"
    assert facts["Flagged messages"] == str(case["hit_count"]) == str(len(jsonl(redacted / "hits.jsonl")))
    assert page.title.string.startswith(case["case"]["id"])
    hits = jsonl(redacted / "hits.jsonl")
    rank = {"low": 0, "medium": 1, "high": 2}
    assert case["severity"] == max((h["detection"]["severity"] for h in hits), key=rank.get)
    assert case["score"] == max(h["detection"]["score"] for h in hits)
    assert (case["first_seen"], case["last_seen"]) == (hits[0]["@timestamp"], hits[-1]["@timestamp"])


def test_summary_paragraph_is_the_indexed_summary(redacted):
    case, page = only_case(redacted)
    assert text_of(page.select_one("#summary")) == case["summary"]
    assert case["summary"].startswith(f"High-severity case in ml-platform (slack): {case['hit_count']} flagged")


def test_timeline_lists_each_message_once_flagged_ones_highlighted(redacted):
    case, page = only_case(redacted)
    items = page.select("#timeline li.msg")
    ids = [li["data-message-id"] for li in items]
    assert len(ids) == len(set(ids)), "a context message shared by neighbouring hits is listed once"
    flagged = [li for li in items if "flagged" in li["class"]]
    assert [li["data-message-id"] for li in flagged] == case["hits"]
    context = [text_of(li.select_one(".text")) for li in items if "context" in li["class"]]
    assert "sounds good, see you there" in context, "the exchange's own unflagged messages are context"
    assert "lunch at noon?" not in context, "talk of another exchange in the channel is not"
    assert CHINESE in page.select_one("#timeline").get_text()
    assert page.select_one("#timeline .pause") is not None, "the 3-hour pause in the thread is marked"
    marks = [text_of(m) for m in flagged[1].select("mark")]
    assert marks == ["scrub", "OpenAI", "audit"]
    for li in flagged:
        target = li.select_one("a.hit-ref")["href"]
        assert page.select_one(target) is not None, target


def test_each_hit_shows_rules_explanation_findings_and_source(redacted):
    _, page = only_case(redacted)
    hits = {h["hit"]["id"]: h for h in jsonl(redacted / "hits.jsonl")}
    sections = page.select("section.hit")
    assert len(sections) == len(hits)
    for section in sections:
        hit = hits[section["id"].removeprefix("hit-")]
        assert text_of(section.select_one(".why")) == f"Why: {hit['detection']['explanation']}"
        assert [text_of(c) for c in section.select("table.matches code.rule")] == hit["detection"]["rules"]
        assert hit["source"]["path"] in text_of(section.select_one(".source"))
    carol = next(s for s in sections if text_of(s.select_one(".who")) == "Carol Evans")
    findings = [[text_of(td) for td in tr.select("td")] for tr in carol.select("table.entities tbody tr")]
    placeholders = [f"<{kind}>" for kind in ("API_KEY_OPENAI", "EMAIL_ADDRESS", "PHONE_NUMBER")]
    assert [(row[0], row[4]) for row in findings] == [(p.strip("<>"), p) for p in placeholders]
    assert all("masked" in row[1] for row in findings)


def test_chain_of_custody_block(redacted):
    case, page = only_case(redacted)
    manifest = json.loads((redacted / "manifest.json").read_text())
    block = page.select_one("#custody")
    facts = {text_of(dt): text_of(dt.find_next_sibling("dd")) for dt in block.select("dt")}
    assert facts["Archive SHA-256"] == manifest["input"]["sha256"]
    assert facts["Ruleset"] == manifest["ruleset"]["version"]
    assert facts["Tool"] == f"chatforensics {manifest['tool']['version']}"
    assert facts["Run"] == manifest["run"]["id"]
    assert facts["Generated (UTC)"].endswith("Z")
    rows = [[text_of(td) for td in tr.select("td")] for tr in block.select("table.custody tbody tr")]
    assert [r[1] for r in rows] == case["hits"]
    assert {r[2] for r in rows} == {"ml-platform/2024-05-01.json"}
    assert [r[3] for r in rows] == [h["source"]["pointer"] for h in jsonl(redacted / "hits.jsonl")]
    assert {r[4] for r in rows} == {"slack 1.0"}
    assert {r[5] for r in rows} == {manifest["input"]["sha256"]}


def test_pages_are_self_contained(redacted):
    for path in (redacted / "reports").rglob("*.html"):
        page = soup(path)
        assert "default-src 'none'" in page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
        assert page.find_all(["script", "link", "img", "iframe", "object", "embed", "base"]) == []
        assert "@import" not in page.style.string and "url(" not in page.style.string
        assert "@media print" in page.style.string
        hrefs = [a["href"] for a in page.find_all("a")]
        assert all(not h.startswith(("http:", "https:", "javascript:", "//")) for h in hrefs), hrefs


def svg_of(page, figure_id: str) -> ET.Element:
    """The inline picture, parsed as the XML it must be."""
    return ET.fromstring(str(page.select_one(f"#{figure_id} svg")))


def test_the_case_page_draws_its_conversation_as_a_timeline(redacted):
    case, page = only_case(redacted)
    hits = [h for h in jsonl(redacted / "hits.jsonl") if h["case"]["id"] == case["case"]["id"]]
    svg = svg_of(page, "timeline-picture")
    assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
    bars = svg.findall(f"{SVG}rect[@class='bar']")
    assert bars and sum(int(b.get("data-count")) for b in bars) == len(page.select("#timeline li.msg"))
    flags = svg.findall(f"{SVG}circle[@class='flag']")
    assert [f.get("data-message-id") for f in flags] == [h["message"]["id"] for h in hits]
    assert all(f.get("fill") == COLOURS[f.get("data-severity")] for f in flags)
    episodes = svg.findall(f"{SVG}rect[@class='episode']")
    assert {e.get("data-episode") for e in episodes} == set(case["episodes"])
    shade_x, shade_w = float(episodes[0].get("x")), float(episodes[0].get("width"))
    assert all(shade_x - 0.1 <= float(f.get("cx")) <= shade_x + shade_w + 0.1 for f in flags)
    unit = svg.get("data-unit")
    assert f"per {unit} (UTC)" in text_of(page.select_one("#timeline-picture figcaption"))


def test_the_case_page_draws_who_answered_whom_in_the_episode(redacted):
    case, page = only_case(redacted)
    svg = svg_of(page, "replies-picture")
    people = {c.get("data-name") for c in svg.findall(f"{SVG}circle[@class='person']")}
    arrows = {(a.get("data-from"), a.get("data-to")) for a in svg.findall(f"{SVG}line[@class='answer']")}
    assert arrows and people <= set(case["participants"])
    assert {p for pair in arrows for p in pair} == people
    assert all(source != target for source, target in arrows)
    assert ("bob", "alice") in arrows, "the first reply in the thread answers its root"


def test_the_pictures_are_self_contained(redacted):
    for path in (redacted / "reports" / "cases").glob("*.html"):
        for svg in soup(path).select("figure.picture svg"):
            tree = ET.fromstring(str(svg))
            tags = {el.tag.removeprefix(SVG) for el in tree.iter()}
            assert tags <= {"svg", "title", "rect", "circle", "line", "text", "defs", "marker", "path"}, tags
            for el in tree.iter():
                for name, value in el.attrib.items():
                    assert "href" not in name and not name.startswith("on"), (name, value)
                    assert "url(" not in value or value == "url(#answer-arrow)", value


def test_injected_markup_and_template_syntax_render_as_text(redacted):
    _, page = only_case(redacted)
    assert not [tag for tag in page.find_all(True) if any(a.startswith("on") for a in tag.attrs)]
    bob = page.select("#timeline li.flagged")[1]
    shown = bob.select_one(".text").get_text()
    for injected in INJECTED:
        assert injected in shown, injected
    assert "49" not in shown and "JINJA{%" not in shown.replace(TEMPLATE, "")


# --- redaction -------------------------------------------------------------------------------------------

def test_default_redaction_masks_pii_and_secrets_in_jsonl_and_html(redacted):
    data = (redacted / "hits.jsonl").read_text() + (redacted / "cases.jsonl").read_text()
    html = str(only_case(redacted)[1])
    for text in (data, html):
        assert EMAIL not in text and PHONE not in text and OPENAI_KEY not in text
        assert "alice@example.com" not in text, "authors' e-mail is PII too"
        assert "&lt;EMAIL_ADDRESS&gt;" in text or "<EMAIL_ADDRESS>" in text
    alice = next(h for h in jsonl(redacted / "hits.jsonl") if h["author"]["id"] == "U1")
    assert alice["author"] == {"id": "U1", "name": "alice", "email": "<EMAIL_ADDRESS>"}
    manifest = json.loads((redacted / "manifest.json").read_text())
    assert manifest["redact"] is True and "EMAIL_ADDRESS" in manifest["redact_kinds"]


def test_no_redact_keeps_pii_but_still_masks_secrets(raw):
    data = (raw / "hits.jsonl").read_text()
    case, page = only_case(raw)
    html = str(page)
    for text in (data, html):
        assert EMAIL in text and PHONE in text
        assert OPENAI_KEY not in text and "API_KEY_OPENAI" in text
    assert "alice@example.com" in data
    facts = {text_of(dt): text_of(dt.find_next_sibling("dd")) for dt in page.select("#header dt")}
    assert facts["Redaction"].startswith("off (--no-redact)")
    manifest = json.loads((raw / "manifest.json").read_text())
    assert manifest["redact"] is False and manifest["redact_kinds"] == []


def test_redacted_and_raw_runs_have_different_run_ids(redacted, raw):
    ids = [json.loads((out / "manifest.json").read_text())["run"]["id"] for out in (redacted, raw)]
    assert ids[0] != ids[1]


def test_redact_kinds_chooses_the_pii_types(export, tmp_path):
    out = scan(export, tmp_path / "out", "--redact-kinds", "phone_number")
    data = (out / "hits.jsonl").read_text()
    assert PHONE not in data and "<PHONE_NUMBER>" in data
    assert EMAIL in data and "alice@example.com" in data
    assert OPENAI_KEY not in data
    assert json.loads((out / "manifest.json").read_text())["redact_kinds"] == ["PHONE_NUMBER"]


def test_unknown_redact_kind_is_a_usage_error(export, tmp_path, capsys):
    code = cli(["run", "--input", str(export), "--out", str(tmp_path / "out"), "--no-index",
                "--redact-kinds", "EMAIL_ADDRESS,SHOE_SIZE"])
    assert code == 2
    assert "SHOE_SIZE" in capsys.readouterr().err


# --- PDF ---------------------------------------------------------------------------------------------------

def test_report_from_outdir_prints_pdfs_with_the_evidence(redacted, capsys):
    assert cli(["report", "--from", str(redacted), "--pdf"]) == 0
    assert "1 PDF(s)" in capsys.readouterr().out
    case, _ = only_case(redacted)
    pdf = redacted / "reports" / "cases" / f"{case['case']['id']}.pdf"
    reader = PdfReader(pdf)
    # Header and timeline (the first flagged message may share its page), one page for every other
    # flagged message, and the chain of custody on its own page.
    assert case["hit_count"] + 1 <= len(reader.pages) <= case["hit_count"] + 3
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert CHINESE in text.replace(" ", "").replace("\n", "")
    for evidence in ("take this offline", "scrub", case["case"]["id"], "Chain of custody", "<EMAIL_ADDRESS>"):
        assert evidence in text, evidence
    assert EMAIL not in text
    assert all(case["case"]["id"] in page.extract_text() for page in reader.pages), "every page names its case"
    drawn = reader.pages[0].get_contents().get_data().decode("latin-1")
    assert "0.596078 0.635294 0.701961 rg" in drawn, "the timeline's bars (#98a2b3) are printed"
    index = soup(redacted / "reports" / "index.html")
    assert index.select_one("#cases a.pdf")["href"] == f"cases/{case['case']['id']}.pdf"


# --- pure helpers -----------------------------------------------------------------------------------------

def test_highlight_escapes_around_and_inside_marks():
    html = str(highlight("<b>hide</b> it", [{"start": 3, "end": 7, "rule": "r<x>", "category": "C"}]))
    node = BeautifulSoup(html, "html.parser")
    assert node.find("b") is None and node.mark.string == "hide" and node.mark["title"] == "r<x> (C)"
    assert node.get_text() == "<b>hide</b> it"


def test_timeline_merges_shared_context_and_marks_pauses():
    def hit(mid, time, context):
        return {"message": {"id": mid, "text": mid}, "author": {"name": "a"}, "@timestamp": time,
                "context": [{"id": c, "author": "b", "time": t, "text": c} for c, t in context]}

    hits = [hit("m2", "2024-01-01T10:02:00Z", [("m1", "2024-01-01T10:01:00Z"), ("m3", "2024-01-01T10:03:00Z")]),
            hit("m3", "2024-01-01T10:03:00Z", [("m2", "2024-01-01T10:02:00Z"), ("m4", "2024-01-01T12:03:00Z")])]
    entries = timeline(hits)
    assert [(e["id"], e["number"]) for e in entries] == [("m1", None), ("m2", 1), ("m3", 2), ("m4", None)]
    assert [e["pause"] for e in entries] == [None, None, None, "2 h"]


def test_report_from_rerenders_without_the_scan_or_its_manifest(redacted, tmp_path, capsys):
    for name in ("hits.jsonl", "cases.jsonl"):
        (tmp_path / name).write_bytes((redacted / name).read_bytes())
    assert cli(["report", "--from", str(tmp_path)]) == 0
    case, page = only_case(tmp_path)
    assert text_of(page.select_one("#summary")) == case["summary"]
    assert text_of(page.select_one("#header dd.redaction")).startswith("unknown")
    assert cli(["report", "--from", str(tmp_path / "missing")]) == 2
    assert "no cases.jsonl" in capsys.readouterr().err


def test_report_from_a_tampered_folder_writes_pages_only_where_case_ids_say(redacted, tmp_path):
    """`report --from` reads cases.jsonl back: a crafted report.path ("../PWNED.html") is ignored, the page
    goes to reports/cases/<case id>.html, and a case whose id would walk a path gets no page at all."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "hits.jsonl").write_text((redacted / "hits.jsonl").read_text())
    cases = [json.loads(line) for line in (redacted / "cases.jsonl").read_text().splitlines()]
    cases[0]["report"]["path"] = "../PWNED.html"
    evil = {**cases[-1], "case": {"id": "../../EVIL"}}
    (folder / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in [*cases, evil]))
    assert cli(["report", "--from", str(folder)]) == 0
    assert not (tmp_path / "PWNED.html").exists() and not list(tmp_path.rglob("EVIL*"))
    assert (folder / "reports" / "cases" / f"{cases[0]['case']['id']}.html").is_file()
