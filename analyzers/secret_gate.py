"""The masking gate: every string on its way out of the pipeline has its secrets masked, by their shape.

Presidio masks the secrets it recognises in the texts it scans, and prunes what looks like a placeholder
("sk-your-key-here", low entropy, "abcdef" runs) so that an investigator is not shown documentation as
evidence. That pruning, and every path that never meets Presidio (names, titles, attachment names, mail
subjects, dead letters, the manifest), must not be a way for a key to leave. So the last step before any
output (hits, cases, errors, manifest, run record, and through them reports and index documents) passes
every string through this gate: whatever has the shape of a secret the recognizers know is replaced by
its `<TYPE>` placeholder, placeholder-looking or not. Masking a placeholder costs nothing; leaking a
key costs everything.
"""

from __future__ import annotations

import functools
from typing import Any

import regex

from analyzers.recognizers import SECRET_RECOGNIZERS
from analyzers.recognizers._secret_utils import CASE_SENSITIVE_FLAGS, TOKEN_LEFT, TOKEN_RIGHT

# On the same span, a vendor's own shape names it better than these.
_CATCH_ALL = frozenset({"API_KEY_GENERIC", "BEARER_TOKEN", "API_KEY_SK_COMPATIBLE"})


@functools.cache
def _shapes() -> tuple[tuple[str, regex.Pattern], ...]:
    # The recognizers want a key to stand alone; in a file name or an id ("creds-AKIA….txt", "user_hf_…")
    # it is still a key, so only letters and digits around it keep it from being one.
    def loosened(pattern: str) -> str:
        return pattern.replace(TOKEN_LEFT, r"(?<![A-Za-z0-9])").replace(TOKEN_RIGHT, r"(?![A-Za-z0-9])")

    return tuple((cls.ENTITY, regex.compile(loosened(pattern.regex), CASE_SENSITIVE_FLAGS))
                 for cls in SECRET_RECOGNIZERS for pattern in cls.PATTERNS)


def find_secrets(text: str) -> list[tuple[str, int, int]]:
    """(type, start, end) of every secret-shaped span of `text`, without overlaps, in order."""
    if not text:
        return []
    found = [(entity, m.start(), m.end()) for entity, pattern in _shapes()
             for m in pattern.finditer(text) if m.end() > m.start()]
    found.sort(key=lambda f: (f[1], -(f[2] - f[1]), f[0] in _CATCH_ALL))
    kept: list[tuple[str, int, int]] = []
    for f in found:
        if not kept or f[1] >= kept[-1][2]:
            kept.append(f)
    return kept


def mask_secrets(text: str) -> str:
    spans = find_secrets(text)
    if not spans:
        return text
    out, pos = [], 0
    for entity, start, end in spans:
        out += [text[pos:start], f"<{entity}>"]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def masked(value: Any) -> Any:
    """`value` (a document: dicts, lists, strings, numbers) with every string passed through the gate."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(item) for item in value]
    return value

