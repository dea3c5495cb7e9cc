"""PDF copies of the case reports, printed by WeasyPrint from the same HTML.

WeasyPrint needs Pango from the system (Debian: libpango-1.0-0 libpangoft2-1.0-0) and,
for Chinese text, a CJK font that fontconfig can find (Debian: fonts-noto-cjk). The HTML
is self-contained, so the fetcher allows data: URLs only: printing never reaches a network.
"""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"


class PdfUnavailable(RuntimeError):
    pass


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the package is there but Pango is not
        raise PdfUnavailable(
            f"--pdf needs WeasyPrint (pip install 'chatforensics[pdf]') and Pango with a CJK font "
            f"(apt-get install -y {SYSTEM_PACKAGES}): {exc}") from exc
    return weasyprint


def check_pdf_support() -> None:
    """Fail before a long scan, not after it, when PDFs cannot be printed here."""
    _weasyprint()


def write_pdfs(pages: list[Path]) -> list[Path]:
    """One PDF beside each HTML page (reports/cases/<case id>.pdf)."""
    weasyprint = _weasyprint()
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=("data",))
    written = []
    for page in pages:
        target = page.with_suffix(".pdf")
        tmp = target.with_suffix(".pdf.tmp")
        weasyprint.HTML(filename=str(page), url_fetcher=fetcher).write_pdf(tmp)
        os.replace(tmp, target)
        written.append(target)
    return written
