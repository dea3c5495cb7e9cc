"""PDF copies of the case reports, printed by WeasyPrint from the same HTML.

WeasyPrint needs Pango from the system (Debian: libpango-1.0-0 libpangoft2-1.0-0), HarfBuzz's
subsetter to embed only the glyphs used (libharfbuzz-subset0; without it WeasyPrint falls back
to fontTools and warns once per font) and, for Chinese text, a CJK font that fontconfig can find
(fonts-noto-cjk). The HTML is self-contained, so the fetcher allows data: URLs only: printing
never reaches a network. What WeasyPrint and fontTools log goes to reports/pdf.log, not to the
terminal, which shows a run's progress and its summary line only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path

SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk"
LIBRARY_LOGGERS = ("weasyprint", "fontTools")


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


@contextlib.contextmanager
def library_log(path: Path):
    """While printing, the libraries' log records go to `path` (created only if one comes) and not on."""
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    before = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, before, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate
        handler.close()


# WeasyPrint splits a word too long for its line by itself, at a cost that grows with the square of the
# word (an 80,000-character paste took 343 s). The page it prints is the HTML page with a break opportunity
# (a zero-width space) every BREAK_EVERY characters of any word longer than LONG_WORD, in text only (never in
# a tag, an attribute or the style sheet); the HTML page keeps the text exactly as it was escaped.
LONG_WORD = 64
BREAK_EVERY = 32
_TAG = re.compile(r"(<style\b[\s\S]*?</style>|<[^>]*>)")
_WORD = re.compile(r"(?:&#?\w+;|[^\s<&])+")  # visible characters in a row, an entity counting as one
_UNIT = re.compile(r"&#?\w+;|.", re.DOTALL)


def printable(html: str) -> str:
    """`html` as it is printed: long words of its text broken every BREAK_EVERY characters."""
    parts = _TAG.split(html)
    parts[::2] = [_WORD.sub(_breakable, text) for text in parts[::2]]  # text between the tags
    return "".join(parts)


def _breakable(found: re.Match) -> str:
    word = found.group()
    if len(word) <= LONG_WORD:
        return word
    units = _UNIT.findall(word)
    if len(units) <= LONG_WORD:
        return word
    return "\u200b".join("".join(units[i:i + BREAK_EVERY]) for i in range(0, len(units), BREAK_EVERY))


def write_pdfs(pages: list[Path], log: Path | None = None) -> list[Path]:
    """One PDF beside each HTML page (reports/cases/<case id>.pdf); library messages in `log`
    (default reports/pdf.log), which holds this run's messages only."""
    weasyprint = _weasyprint()
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=("data",))
    written = []
    if not pages:
        return written
    log = log or pages[0].parent.parent / "pdf.log"
    from pipelines.reports import remove_own_file  # the last run's log goes; never through a symbolic link

    remove_own_file(log.parent.parent, f"{log.parent.name}/{log.name}")
    with library_log(log):
        for page in pages:
            target = page.with_suffix(".pdf")
            tmp = target.with_suffix(".pdf.tmp")
            html = printable(page.read_text(encoding="utf-8"))
            weasyprint.HTML(string=html, base_url=str(page), url_fetcher=fetcher).write_pdf(tmp)
            os.replace(tmp, target)
            written.append(target)
    return written
