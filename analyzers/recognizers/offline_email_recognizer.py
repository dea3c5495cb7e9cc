"""Presidio's email recognizer with an offline public-suffix lookup."""

from __future__ import annotations

import tldextract
from presidio_analyzer import Pattern
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from analyzers.recognizers._base import PII, copy_patterns

# Presidio's EmailRecognizer.validate_result calls the module-level ``tldextract.extract``,
# whose default extractor downloads the Public Suffix List from publicsuffix.org (then
# raw.githubusercontent.com) on first use and writes it to ~/.cache/python-tldextract;
# without network it logs two tracebacks and falls back to the bundled snapshot. This
# extractor goes straight to the snapshot shipped inside the wheel: no URLs, no disk cache.
OFFLINE_TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)

# For Chinese text: ASCII-only local part so "邮箱a.b@corp.com" yields "a.b@corp.com"
# (the stock pattern's Unicode ``\w`` would swallow the Chinese characters).
_ASCII_EMAIL = Pattern(
    "Email, ASCII local part (medium)",
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*[A-Za-z0-9_%+\-]@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+(?![A-Za-z0-9\-])",
    0.5,
)


# Presidio's own pattern with the local part bounded: "{0,}" let every start in a run like "a.a.a.a…@"
# scan to the "@" and back (107 s for 20,000 characters). No address is longer than 254 characters.
_LOCAL_RUN = r"[!#$%&'*+\-/=?^_`{|}~\.\w]"
_BOUNDED_EMAIL = [Pattern(p.name, p.regex.replace(_LOCAL_RUN + "{0,}", _LOCAL_RUN + "{0,252}"), p.score)
                  for p in EmailRecognizer.PATTERNS]
assert all("{0,252}" in p.regex for p in _BOUNDED_EMAIL), "Presidio's e-mail pattern changed: bound it again"


class OfflineEmailRecognizer(EmailRecognizer):
    """``EmailRecognizer`` whose TLD validation never touches the network or the disk cache.

    ``ascii_only=True`` (used for ``zh``) swaps in an ASCII pattern so CJK characters
    adjacent to an address are not absorbed into it.
    """

    KIND = PII

    def __init__(self, supported_language: str = "en", ascii_only: bool = False, name: str | None = None):
        patterns = copy_patterns([_ASCII_EMAIL] if ascii_only else _BOUNDED_EMAIL)
        super().__init__(patterns=patterns, supported_language=supported_language, name=name)

    def validate_result(self, pattern_text: str) -> bool:
        """Valid when the domain ends in a known public suffix (bundled PSL snapshot)."""
        return OFFLINE_TLD_EXTRACTOR(pattern_text).fqdn != ""
