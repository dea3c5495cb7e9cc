"""Rule packs: load, validate and version the YAML files under analyzers/rules/.

A rule says what to look for (literal terms, regexes anchored by terms, spaCy token
patterns), what it means (category), how much it counts (weight) and carries its own
examples, so `chatforensics rules check` can prove every pack behaves as written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_RULES_DIR = Path(__file__).parent / "rules"

# What a signal means. The first two name the subject (the vendor API or its data),
# the next three the intent to hide it; the next two only move the score. The last two
# never score: they cancel hiding talk said in the negative or as a hypothetical.
SUBJECT = ("THIRD_PARTY_API", "API_DATA")
HIDING = ("CONCEALMENT", "EVASION", "SECRECY")
NEUTRALIZERS = ("NEGATION", "HYPOTHETICAL")
CATEGORIES = SUBJECT + HIDING + ("POLICY_AWARENESS", "LEGITIMACY") + NEUTRALIZERS
# The languages a rule is written for: its terms are words of them and its match examples are said in them
# (`rules check` checks the examples). Not a filter on messages: chat switches code, and English vendor
# names inside Chinese messages are evidence (as a filter it would drop 9 to 137 of the matches in the hits
# of the demo and of each development set; 1 to 18 even if a mixed message counted as both languages).
LANGUAGES = ("en", "zh")
RULE_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9_]+)+$")
# libyaml's safe loader when PyYAML was built with it: the packs take ~0.9 s to parse in pure Python, ~0.1 s in C.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PACK_KEYS = {"pack", "version", "rules", "references"}
RULE_KEYS = {"id", "category", "languages", "weight", "description", "terms", "regex", "anchors", "tokens",
             "examples", "weak", "with_subject", "gist"}


class RuleError(ValueError):
    """A rule pack that cannot be used, with the file and rule named."""


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    languages: tuple[str, ...]
    weight: float
    description: str = ""
    terms: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    tokens: tuple[tuple[dict, ...], ...] = ()
    examples_match: tuple[str, ...] = ()
    examples_no_match: tuple[str, ...] = ()
    pack: str = ""
    weak: bool = False  # everyday words: never open the gate or name the subject alone (see scoring)
    with_subject: bool = False  # a weak rule that is real hiding when its own message names the subject
    gist: str = ""  # what a match means, in a few words, for case titles ("relabelling the data's origin")


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    version: str
    packs: dict[str, str] = field(default_factory=dict)
    # Words that point back at something said before ("it", 那批): hiding talk that only refers to its
    # subject may take it from the message that just named it (see analyzers/cases.py).
    references: tuple[str, ...] = ()

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def _tuple(value, what: str, where: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise RuleError(f"{where}: '{what}' must be a list")
    return tuple(value)


def _rule(raw: dict, pack: str, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: a rule must be a mapping")
    rid = raw.get("id")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        named = f"{where} [{rid}]" if isinstance(rid, str) else where
        raise RuleError(f"{named}: unknown keys {sorted(unknown)}")
    if not isinstance(rid, str) or not RULE_ID.match(rid):
        raise RuleError(f"{where}: id {rid!r} must look like 'category.name' in lower case")
    where = f"{where} [{rid}]"
    category = raw.get("category")
    if category not in CATEGORIES:
        raise RuleError(f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    languages = _tuple(raw.get("languages"), "languages", where)
    if not languages or set(languages) - set(LANGUAGES):
        raise RuleError(f"{where}: languages must be a non-empty subset of {LANGUAGES}")
    weight = raw.get("weight")
    if not isinstance(weight, int | float) or not 0 < weight <= 1:
        raise RuleError(f"{where}: weight must be a number in (0, 1]")
    terms = tuple(str(t).strip() for t in _tuple(raw.get("terms"), "terms", where))
    if any(not t for t in terms):
        raise RuleError(f"{where}: empty term")
    regex = _tuple(raw.get("regex"), "regex", where)
    for pattern in regex:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RuleError(f"{where}: bad regex {pattern!r}: {exc}") from exc
    anchors = tuple(str(a) for a in _tuple(raw.get("anchors"), "anchors", where))
    tokens = tuple(tuple(p) for p in _tuple(raw.get("tokens"), "tokens", where))
    if (regex or tokens) and not anchors:
        raise RuleError(f"{where}: regex and token rules need 'anchors' (terms the prefilter can see)")
    if not (terms or regex or tokens):
        raise RuleError(f"{where}: a rule needs terms, regex or tokens")
    weak = raw.get("weak", False)
    if not isinstance(weak, bool):
        raise RuleError(f"{where}: weak must be true or false")
    with_subject = raw.get("with_subject", False)
    if not isinstance(with_subject, bool) or (with_subject and not weak):
        raise RuleError(f"{where}: with_subject must be true or false, and only on a weak rule")
    gist = raw.get("gist", "")
    if not isinstance(gist, str):
        raise RuleError(f"{where}: gist must be a string")
    examples = raw.get("examples") or {}
    if not isinstance(examples, dict) or set(examples) - {"match", "no_match"}:
        raise RuleError(f"{where}: examples must be a mapping with 'match' and 'no_match'")
    match = _tuple(examples.get("match"), "examples.match", where)
    no_match = _tuple(examples.get("no_match"), "examples.no_match", where)
    if not match:
        raise RuleError(f"{where}: at least one example in examples.match is required")
    return Rule(
        id=rid,
        category=category,
        languages=languages,
        weight=float(weight),
        description=str(raw.get("description", "")),
        terms=terms,
        regex=regex,
        anchors=anchors,
        tokens=tokens,
        examples_match=match,
        examples_no_match=no_match,
        pack=pack,
        weak=weak,
        with_subject=with_subject,
        gist=gist.strip(),
    )


def load_ruleset(rules_dir: str | Path | None = None) -> RuleSet:
    """Load every *.yaml pack in the folder; raise RuleError on the first problem."""
    folder = Path(rules_dir) if rules_dir else DEFAULT_RULES_DIR
    files = sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("_"))
    if not files:
        raise RuleError(f"no rule packs (*.yaml) in {folder}")
    digest = hashlib.sha256()
    rules: list[Rule] = []
    packs: dict[str, str] = {}
    seen: dict[str, str] = {}
    references: list[str] = []
    for path in files:
        text = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + text + b"\0")
        try:
            doc = yaml.load(text, Loader=SAFE_LOADER)
        except yaml.YAMLError as exc:
            raise RuleError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise RuleError(f"{path.name}: a pack must be a mapping with 'pack', 'version' and 'rules'")
        unknown = set(doc) - PACK_KEYS
        if unknown or "rules" not in doc:
            raise RuleError(f"{path.name}: unknown keys {sorted(unknown)}" if unknown
                            else f"{path.name}: no 'rules' list")
        name, version = doc.get("pack"), doc.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            raise RuleError(f"{path.name}: a pack needs 'pack' (name) and 'version' strings")
        packs[name] = version
        references.extend(str(w).strip() for w in _tuple(doc.get("references"), "references", path.name))
        raw_rules = _tuple(doc.get("rules"), "rules", path.name)
        if not raw_rules:
            raise RuleError(f"{path.name}: 'rules' is empty")
        for i, raw in enumerate(raw_rules):
            rule = _rule(raw, name, f"{path.name} rule #{i + 1}")
            if rule.id in seen:
                raise RuleError(f"{path.name}: duplicate rule id {rule.id} (also in {seen[rule.id]})")
            seen[rule.id] = path.name
            rules.append(rule)
    newest = max(packs.values(), key=lambda v: tuple(int(x) for x in re.findall(r"\d+", v)))
    return RuleSet(rules=tuple(rules), version=f"{newest}+{digest.hexdigest()[:10]}", packs=packs,
                   references=tuple(dict.fromkeys(w for w in references if w)))
