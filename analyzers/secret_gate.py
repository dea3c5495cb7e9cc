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
import hashlib
from typing import Any

import regex

from analyzers.recognizers import SECRET_RECOGNIZERS
from analyzers.recognizers._secret_utils import CASE_SENSITIVE_FLAGS, TOKEN_LEFT, TOKEN_RIGHT
from analyzers.visible import invisible, shown

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
    if not text.isascii() and any(map(invisible, text)):
        # A zero-width space inside a key hides it from its shape, not from a reader: look again without them.
        at = [i for i, ch in enumerate(text) if not invisible(ch)]
        seen = "".join(text[i] for i in at)
        found += [(entity, at[m.start()], at[m.end() - 1] + 1) for entity, pattern in _shapes()
                  for m in pattern.finditer(seen) if m.end() > m.start()]
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


# ---------------------------------------------------------------------------------------------------------------
# The whole gate: secrets by shape (above) on every string, always, and personal data on every string a person or
# an export wrote, by what the field is. One table says what each field of an output document is; a field it
# does not name is a LABEL, so a field added tomorrow is masked, not forgotten.
#   TEXT     what people wrote (message text, subject, edits, context): Presidio, spans kept. Messages have
#            theirs cleaned by the Screener, which needs the spans; anywhere else `document` cleans them.
#   LABEL    names, ids, paths and file names: masked whole-value-deterministically (below), and invisible
#            characters shown (analyzers/visible.py), the value as found kept under `raw`.
#   QUOTE    the tool's own words quoting input (a dead letter's reason): masked like a label, no suffix.
#   ADDRESS  an author's e-mail address: "<EMAIL_ADDRESS>" whole when addresses are masked.
#   KEEP     made by the tool or the format (hashes, times, kinds, pointers, counts): left as they are.
# ---------------------------------------------------------------------------------------------------------------
TEXT, LABEL, QUOTE, ADDRESS, KEEP = "text", "label", "quote", "address", "keep"

FIELDS: dict[str, str] = {
    **dict.fromkeys(("message.text", "message.subject", "message.edits.text", "context.text"), TEXT),
    "reason": QUOTE,
    "author.email": ADDRESS,
    **dict.fromkeys((
        "platform", "message.kind", "message.subtype", "message.language", "message.edits.at",
        "conversation.type", "@timestamp", "timestamp.raw", "timestamp.rule", "episode.id", "episode.cue",
        "episode.part", "context.time", "context.kind", "context.language", "source.archive_sha256",
        "source.pointer", "source.parser", "source.parser_version", "source.charset", "source.header_charset",
        "stage", "hit.id", "case.id", "run.id", "input.sha256", "input.kind", "formats", "parser_version",
        "redact_kinds", "members.sha256", "members.parser"), KEEP),
}
KEPT_ROOTS = frozenset({"tool", "ruleset", "counts", "timings", "elasticsearch", "detection", "entities", "outputs"})
LABEL_CACHE = 50_000  # labels remembered per worker: authors, conversations and files recur, ids seldom
RAW = "raw"  # where a document keeps the labels it shows marked, as found (masked, unmarked), by dotted path

# Where a label may hold personal data (else only its secrets are looked for): an e-mail address; a phone
# number written with its country code ("+49 151 …", how exports show an unsaved contact) or a bracketed
# area code; a run of 11+ digits, or groups of 3-4-4 (Chinese mobiles and ids, cards, IBANs); an IP address.
# Other digits in a name, id or path are not a phone number: phonenumbers calls most Slack timestamps
# ("1741170060.000200") and many dated paths ("conv-089/2024-01-31.json": Munich) valid numbers.
_MAY_HOLD_PII = regex.compile(
    r"@|\+\s*\(?\d|\(\d{1,5}\)|\d{11,}|\d{3,4}[\s\-]\d{4}[\s\-]\d{4}|\d{1,3}(?:\.\d{1,3}){3}"
    r"|[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f]*:")
_PHONE_TYPES = frozenset({"PHONE_NUMBER"})
_EXTENSION = regex.compile(r"\.(?=[A-Za-z0-9]{1,8}(?:$|[/#!]))")  # the dot of a file name's extension
_GLUED = regex.compile(r"[\p{L}\p{N}_]")


def _written_as_phone(value: str, start: int, end: int) -> bool:
    """A phone-shaped match in a label is a phone number when it starts with + or ( and stands apart."""
    return value[start] in "+(" and not (_GLUED.match(value, end) or (start and _GLUED.match(value, start - 1)))


class MaskingGate:
    """The masking gate of one run: `finder` (an analyzers.entities.EntityFinder) finds what Presidio knows,
    `mask_types` are the entity types masked (every secret type, and the PII types redaction chose).

    Labels are masked deterministically: the same value gives the same masked value in every field and
    document (`<EMAIL_ADDRESS>#1f2e3d4c`: the placeholders, then a short hash of the value), so ids that
    join (conversation, thread, reply, message, author, source file) still join, and two masked people
    stay apart. The hash is not keyed: someone who already holds a candidate value can confirm it.
    """

    def __init__(self, finder, mask_types: frozenset[str]):
        from analyzers.entities import ENTITY_KINDS, SECRET

        self.finder, self.mask_types = finder, frozenset(mask_types)
        self.pii = frozenset(t for t in self.mask_types if ENTITY_KINDS.get(t) != SECRET)
        self._labels: dict[tuple[str, bool], tuple[str, str]] = {}

    # -- what people wrote -----------------------------------------------------------------------------------
    def text(self, text: str, language: str) -> tuple[str, list[dict]]:
        """`text` with every entity of a masked type replaced by `<TYPE>`, and every entity with its span on
        the masked text (`masked` says which)."""
        from analyzers.entities import ENTITY_KINDS, redact

        found = [{**e, "kind": "masked"} if e["type"] in self.mask_types else e
                 for e in self.finder.find(text, language)]
        text, spans = redact(text, found, ("masked",))
        return text, [{**e, "kind": ENTITY_KINDS[e["type"]]} for e in spans]

    # -- names, ids, paths -----------------------------------------------------------------------------------
    def label(self, value):
        """A name, id or path as it may leave: masked deterministically, invisible characters shown."""
        return self._label(value)[0] if isinstance(value, str) and value else value

    def _label(self, value: str, suffix: bool = True) -> tuple[str, str]:
        """(as shown, as found but masked) of one label."""
        key = (value, suffix)
        if key not in self._labels:
            if len(self._labels) >= LABEL_CACHE:  # message ids are many and seen a few times each
                self._labels.clear()
            hidden = self._mask_label(value)
            if suffix and hidden != value:
                hidden = f"{hidden}#{hashlib.sha256(value.encode()).hexdigest()[:8]}"
            self._labels[key] = (shown(hidden), hidden)
        return self._labels[key]

    def _mask_label(self, value: str) -> str:
        if not (self.pii and _MAY_HOLD_PII.search(value)):
            return mask_secrets(value)
        from analyzers.entities import redact
        from analyzers.normalize import detect_language

        language = "en" if detect_language(value) in ("en", "und") else "zh"
        found = [e for e in self.finder.find(value, language)
                 if e["type"] not in _PHONE_TYPES or _written_as_phone(value, e["start"], e["end"])]
        if "@" in value and _EXTENSION.search(value):  # "wei@example.com.mbox": ".mbox" is no domain
            found += [e for e in self.finder.find(_EXTENSION.sub(" ", value), language)
                      if e["type"] == "EMAIL_ADDRESS" and not any(f["start"] < e["end"] and e["start"] < f["end"]
                                                                  for f in found)]
        found = [{**e, "kind": "masked"} if e["type"] in self.mask_types else e for e in found]
        return mask_secrets(redact(value, found, ("masked",))[0])

    # -- whole documents -------------------------------------------------------------------------------------
    def labels(self, doc: dict) -> dict:
        """`doc` with every LABEL, QUOTE and ADDRESS field masked; TEXT fields left as they are (cleaned
        already, with their spans)."""
        return self._walk(doc, texts=False)

    def document(self, doc: dict) -> dict:
        """`doc` with every field masked by what it is, TEXT fields included (dead letters, the run record)."""
        return self._walk(doc, texts=True)

    def _walk(self, doc: dict, texts: bool) -> dict:
        raw: dict[str, str] = dict(doc.get(RAW) or {})

        def walk(value, path: str, where: str | None):
            """`path` names the field (lists are transparent), `where` the value (with list indices; None
            while it is `path`)."""
            if isinstance(value, str):
                return leaf(value, path, path if where is None else where) if value else value
            if isinstance(value, dict):
                return {k: walk(v, f"{path}.{k}" if path else k, None if where is None else f"{where}.{k}")
                        for k, v in value.items()}
            if isinstance(value, list):
                at = path if where is None else where
                return [walk(v, path, f"{at}.{i}") for i, v in enumerate(value)]
            return value

        def leaf(value: str, path: str, where: str) -> str:
            policy = _policy(path)
            if policy == KEEP:
                return value
            if policy == TEXT:
                return self.text(value, "en" if value.isascii() else "zh")[0] if texts else value
            if policy == ADDRESS and "EMAIL_ADDRESS" in self.mask_types:
                return "<EMAIL_ADDRESS>"
            seen, hidden = self._label(value, suffix=policy != QUOTE)
            if seen != hidden:
                raw[where] = hidden
            return seen

        out = walk({k: v for k, v in doc.items() if k != RAW}, "", None)
        if raw:
            out[RAW] = raw
        return out


@functools.cache
def _policy(path: str) -> str:
    return FIELDS.get(path) or (KEEP if path.split(".", 1)[0] in KEPT_ROOTS else LABEL)
