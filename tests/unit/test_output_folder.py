"""The output folder is not the tool's alone: a run removes only what a run wrote (the manifest's `outputs`),
never through a symbolic link, and leaves no scratch folder behind."""

from __future__ import annotations

import json
import shutil

from pipelines.cli import main
from tests.conftest import EXAMPLES


def scan(out, *extra) -> int:
    return main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--no-index", "--quiet", *extra])


def listed_by_an_earlier_run(out, *pages: str) -> None:
    """Pages a run in this folder wrote and listed, of cases the next run no longer has."""
    manifest = json.loads((out / "manifest.json").read_text())
    for page in pages:
        (out / page).write_text("<p>an earlier run's page</p>")
    manifest["outputs"] = sorted([*manifest["outputs"], *pages])
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_a_run_removes_only_pages_a_run_listed_and_keeps_everything_else(tmp_path):
    out = tmp_path / "out"
    (out / ".work").mkdir(parents=True)
    (out / ".work" / "notes.txt").write_text("the investigator's own folder called .work")
    (out / "reports" / "cases").mkdir(parents=True)
    theirs = [out / "reports" / "cases" / name for name in ("my-annotations.html", "exhibit-7.pdf")]
    for path in theirs:
        path.write_text("not written by chatforensics")
    assert scan(out) == 0

    manifest = json.loads((out / "manifest.json").read_text())
    pages = sorted(p.relative_to(out).as_posix() for p in (out / "reports").rglob("case-*.html"))
    assert len(pages) == manifest["counts"]["cases"] > 0
    assert manifest["outputs"] == sorted(["cases.jsonl", "errors.jsonl", "hits.jsonl", "manifest.json",
                                          "reports/index.html", *pages])
    assert (out / ".work" / "notes.txt").read_text().startswith("the investigator's")
    assert all(path.is_file() for path in theirs)
    assert [p.name for p in out.iterdir() if p.name.startswith(".work")] == [".work"]  # no scratch folder left

    listed_by_an_earlier_run(out, "reports/cases/case-000000000000.html", "reports/cases/case-000000000000.pdf")
    assert scan(out) == 0
    assert not (out / "reports" / "cases" / "case-000000000000.html").exists()
    assert not (out / "reports" / "cases" / "case-000000000000.pdf").exists()
    assert all(path.is_file() for path in theirs) and (out / ".work" / "notes.txt").is_file()

    # `report --from` follows the same rule and keeps the list up to date.
    listed_by_an_earlier_run(out, "reports/cases/case-111111111111.html")
    assert main(["report", "--from", str(out)]) == 0
    assert not (out / "reports" / "cases" / "case-111111111111.html").exists()
    assert all(path.is_file() for path in theirs)
    assert json.loads((out / "manifest.json").read_text())["outputs"] == manifest["outputs"]


def test_nothing_is_removed_through_a_linked_reports_folder(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    assert scan(out) == 0
    elsewhere.mkdir()
    for name in ("case-000000000000.html", "someone-elses.html", "case-000000000000.pdf"):
        (elsewhere / name).write_text("lives outside the output folder")
    shutil.rmtree(out / "reports" / "cases")
    (out / "reports" / "cases").symlink_to(elsewhere, target_is_directory=True)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["outputs"] += ["reports/cases/case-000000000000.html", "reports/cases/case-000000000000.pdf",
                            "reports/cases/someone-elses.html"]
    (out / "manifest.json").write_text(json.dumps(manifest))

    assert scan(out) == 0
    assert sorted(p.name for p in elsewhere.iterdir() if not p.name.startswith("case-") or "0000" in p.name) == [
        "case-000000000000.html", "case-000000000000.pdf", "someone-elses.html"]


def test_a_listed_entry_cannot_walk_out_of_the_folder(tmp_path):
    out = tmp_path / "out"
    assert scan(out) == 0
    outside = tmp_path / "case-222222222222.html"
    outside.write_text("outside")
    (out / "reports" / "cases" / "keep.html").write_text("mine")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["outputs"] += ["reports/cases/../../../case-222222222222.html", str(outside), "reports/cases/keep.html/."]
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert scan(out) == 0
    assert outside.is_file() and (out / "reports" / "cases" / "keep.html").is_file()
