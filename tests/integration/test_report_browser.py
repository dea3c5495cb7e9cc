"""A case report with injected markup, opened in real headless Chromium: nothing runs, the text shows literally.

Needs Debian's `chromium` (apt-get install -y chromium; .ci/run installs it). No Elasticsearch.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from bs4 import BeautifulSoup

from tests.helpers.reporting import IMG, LINK, SCRIPT, TEMPLATE, jsonl, scan, write_tricky_export

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("headless Chromium is needed for this test: apt-get install -y chromium")
    return path


@pytest.fixture(scope="module")
def case_page(tmp_path_factory):
    out = scan(write_tricky_export(tmp_path_factory.mktemp("export")), tmp_path_factory.mktemp("out"))
    (case,) = jsonl(out / "cases.jsonl")
    return case, out / case["report"]["path"]


def browse(chromium, page, profile, *action) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *action, page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)


def test_injected_markup_stays_inert_in_a_real_browser(chromium, case_page, tmp_path):
    case, page = case_page
    # --virtual-time-budget lets timers and onerror handlers fire before the DOM is dumped.
    dom = BeautifulSoup(browse(chromium, page, tmp_path / "profile", "--virtual-time-budget=3000", "--dump-dom").stdout,
                        "html.parser")
    assert dom.title.string.startswith(case["case"]["id"]), "the injected script would have set the title"
    assert "PWNED" not in dom.title.string and "LINKED" not in dom.title.string
    assert not dom.body.has_attr("data-pwned"), "the injected onerror handler ran"
    assert dom.find_all("script") == [] and dom.find_all("img") == []
    assert [a["href"] for a in dom.find_all("a") if a["href"].startswith("javascript:")] == []
    shown = next(li for li in dom.select("#timeline li.flagged") if "scrub" in li.get_text()).select_one(".text")
    for injected in (SCRIPT, IMG, LINK, TEMPLATE):
        assert injected in shown.get_text(), injected


def test_the_page_paints(chromium, case_page, tmp_path):
    _, page = case_page
    shot = tmp_path / "case.png"
    browse(chromium, page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
