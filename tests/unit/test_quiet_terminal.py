"""A demo-like run (`chatforensics run --pdf`) prints its summary line and nothing else: the cause of
WeasyPrint's font warnings (no HarfBuzz subsetter) is installed by scripts/sysdeps.sh, and whatever
WeasyPrint or fontTools still log goes to reports/pdf.log (issue 14: `make demo` printed 19 "Using
fontTools instead of HarfBuzz-Subset" warnings between the command and its summary)."""

import subprocess
import sys

from tests.conftest import EXAMPLES, ROOT

# The run as the CLI does it, on a machine without libharfbuzz-subset0: WeasyPrint's fallback that warns.
WITHOUT_SUBSETTER = """
import sys
import weasyprint.pdf.fonts
weasyprint.pdf.fonts.harfbuzz_subset = None
from pipelines.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_weasyprint_finds_the_harfbuzz_subsetter_here():
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    assert harfbuzz_subset is not None, "install libharfbuzz-subset0 (scripts/sysdeps.sh does, as root)"
    assert harfbuzz.hb_version_atleast(4, 1, 0)


def test_a_pdf_run_prints_only_its_summary_and_logs_library_warnings_to_a_file(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_SUBSETTER, "run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out),
         "--pdf", "--no-index"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    [summary] = run.stdout.splitlines()
    assert summary.startswith("chatforensics: ") and " hits, " in summary and " cases in " in summary
    assert len(list((out / "reports" / "cases").glob("*.pdf"))) >= 1
    assert "Using fontTools instead of HarfBuzz-Subset" in (out / "reports" / "pdf.log").read_text()
