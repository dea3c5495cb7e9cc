"""`chatforensics eval`: how well the detector separates labelled conversations, next to a naive baseline.

A conversation is predicted positive when the scan gives it at least one hit of severity
medium or high. Per category and per rule, "predicted" means the category (or rule) is part
of a medium+ window in that conversation, so recall there reads "share of positive
conversations this signal helped flag" and precision "share of its flags that were right".

The baseline is what a keyword search would do: a conversation is positive when any of its
messages contains, as a plain lower-case substring, any term of any CONCEALMENT, EVASION or
SECRECY rule.

Labels are JSON lines: {"conversation": <conversation name>, "label": "positive"|"negative",
"language": ..., "family": ...}.

Busy exports, where the conversations to find are planted among thousands of ordinary
messages, are labelled per message instead: a JSON file {"positives": [{"id", "channel",
"messages": [message ids]}], "decoys": [...]} (`planted` below). A positive is caught when
any of its messages is a medium or high hit; every medium or high hit outside the positives
is a false alarm, and a medium or high case with no positive message is a false case.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from analyzers.rules import HIDING, load_ruleset

SERIOUS = ("medium", "high")


@dataclass
class Prediction:
    """What one system said about one conversation."""

    positive: bool = False
    categories: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_labels(path: str | Path) -> dict[str, dict]:
    labels = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("label") not in ("positive", "negative"):
                raise ValueError(f"{path}: label must be positive or negative: {line}")
            labels[row["conversation"]] = row
    return labels


def score(labels: dict[str, dict], predicted: dict[str, bool]) -> Score:
    tp = fp = fn = tn = 0
    for name, row in labels.items():
        truth, guess = row["label"] == "positive", predicted.get(name, False)
        tp += truth and guess
        fp += guess and not truth
        fn += truth and not guess
        tn += not truth and not guess
    return Score(tp, fp, fn, tn)


def engine_predictions(input_path: str, rules_dir: str | None = None, extra_args: list[str] | None = None
                       ) -> dict[str, Prediction]:
    """Run the real scan into a temporary folder and read its hits back."""
    from pipelines.scan import run

    with tempfile.TemporaryDirectory(prefix="cf-eval-") as out:
        argv = ["--input", input_path, "--out", out, "--no-index", "--quiet", *(extra_args or [])]
        if rules_dir:
            argv += ["--rules", rules_dir]
        run(argv)
        lines = (Path(out) / "hits.jsonl").read_text(encoding="utf-8").splitlines()
    predictions: dict[str, Prediction] = {}
    for line in lines:
        hit = json.loads(line)
        if hit["detection"]["severity"] not in SERIOUS:
            continue
        window = hit["detection"]["window"]
        p = predictions.setdefault(hit["conversation"]["name"], Prediction())
        p.positive = True
        p.categories.update(window["categories"])
        p.rules.update(window["rules"])
    return predictions


def baseline_predictions(input_path: str, rules_dir: str | None = None) -> dict[str, Prediction]:
    """Keyword-OR: any hiding term anywhere in a conversation flags it."""
    terms = [(rule.id, rule.category, term.rstrip("*").lower())
             for rule in load_ruleset(rules_dir).rules if rule.category in HIDING for term in rule.terms]
    predictions: dict[str, Prediction] = {}
    for message in _messages(input_path):
        text = message["message"]["text"].lower()
        for rule_id, category, term in terms:
            if term in text:
                p = predictions.setdefault(message["conversation"]["name"], Prediction())
                p.positive = True
                p.categories.add(category)
                p.rules.add(rule_id)
    return predictions


@dataclass(frozen=True)
class RuleNoise:
    """How often one rule fires on ordinary messages of a background export."""

    rule: str
    category: str
    weak: bool
    fired: int
    messages: int

    @property
    def rate(self) -> float:
        return self.fired / self.messages if self.messages else 0.0

    @property
    def noisy(self) -> bool:
        """Hiding talk that can open the gate and fires on more than one ordinary message in a hundred
        (vendors are meant to be named often: they are the subject, not the signal)."""
        return not self.weak and self.category in HIDING and self.rate > NOISY_RATE


NOISY_RATE = 0.01


def rule_noise(input_paths: list[str], rules_dir: str | None = None) -> list[RuleNoise]:
    """Per rule, the share of a background export's user messages it fires on. Messages of conversations
    planted in it (a labels.json beside it lists them) are left out: only ordinary talk counts."""
    from analyzers.matcher import Matcher

    ruleset = load_ruleset(rules_dir)
    matcher = Matcher(ruleset)
    fired: dict[str, int] = dict.fromkeys((r.id for r in ruleset.rules), 0)
    total = 0
    for input_path in input_paths:
        planted = _planted_ids(Path(input_path))
        for message in _messages(input_path):
            if (message["conversation"]["name"], message["message"]["id"]) in planted:
                continue
            total += 1
            for rule in {m.rule for m in matcher.match(message["message"]["text"])}:
                fired[rule] += 1
    rules = ruleset.by_id()
    rows = [RuleNoise(rid, rules[rid].category, rules[rid].weak, n, total) for rid, n in fired.items()]
    return sorted(rows, key=lambda r: (-r.rate, r.rule))


def _planted_ids(folder: Path) -> set[tuple[str, str]]:
    labels = folder / "labels.json" if folder.is_dir() else None
    if not labels or not labels.is_file():
        return set()
    data = json.loads(labels.read_text(encoding="utf-8"))
    return {(r["channel"], str(m)) for r in data.get("positives", []) for m in r["messages"]}


def format_noise(rows: list[RuleNoise]) -> str:
    total = rows[0].messages if rows else 0
    lines = [f"== how often each rule fires on {total} ordinary background messages",
             f"{'rule':<34}{'category':<18}{'weak':<6}{'fired':>7}{'share':>8}"]
    for r in rows:
        flag = "  NOISY: can open the gate, fires on ordinary talk" if r.noisy else ""
        lines.append(f"{r.rule:<34}{r.category:<18}{'yes' if r.weak else '':<6}{r.fired:>7}{r.rate:>8.2%}{flag}")
    return "\n".join(lines)


def _messages(input_path: str):
    from pipelines.archive import Archive
    from pipelines.ingest import detect
    from pipelines.ingest.base import DeadLetter, Merged

    archive = Archive(input_path)
    reader = detect(archive)
    context, _ = reader.context(archive)
    for member in reader.units(archive):
        with archive.open(member) as stream:
            for record in reader.read(stream, member, context):
                if not isinstance(record, DeadLetter | Merged) and record["message"]["kind"] == "user":
                    yield record


def breakdown(labels: dict[str, dict], predictions: dict[str, Prediction]) -> dict[str, dict[str, Score]]:
    """Scores overall, per language, per category and per rule."""
    out: dict[str, dict[str, Score]] = {"overall": {"all": score(labels, _flags(predictions, None))}}
    languages = sorted({row.get("language", "und") for row in labels.values()})
    out["language"] = {
        lang: score({k: v for k, v in labels.items() if v.get("language", "und") == lang}, _flags(predictions, None))
        for lang in languages
    }
    categories = sorted({c for p in predictions.values() for c in p.categories})
    out["category"] = {c: score(labels, _flags(predictions, lambda p, c=c: c in p.categories)) for c in categories}
    rules = sorted({r for p in predictions.values() for r in p.rules})
    out["rule"] = {r: score(labels, _flags(predictions, lambda p, r=r: r in p.rules)) for r in rules}
    return out


def _flags(predictions: dict[str, Prediction], having) -> dict[str, bool]:
    return {name: p.positive and (having is None or having(p)) for name, p in predictions.items()}


def format_report(title: str, table: dict[str, dict[str, Score]]) -> str:
    lines = [f"== {title}", f"{'':<9}{'name':<34}{'P':>6}{'R':>6}{'F1':>6}{'TP':>5}{'FP':>5}{'FN':>5}"]
    for section, rows in table.items():
        for name, s in rows.items():
            lines.append(f"{section:<9}{name:<34}{s.precision:>6.2f}{s.recall:>6.2f}{s.f1:>6.2f}"
                         f"{s.tp:>5}{s.fp:>5}{s.fn:>5}")
    return "\n".join(lines)


def evaluate(input_path: str, labels_path: str, rules_dir: str | None = None, extra_args: list[str] | None = None
             ) -> dict[str, dict[str, dict[str, Score]]]:
    labels = load_labels(labels_path)
    return {
        "engine": breakdown(labels, engine_predictions(input_path, rules_dir, extra_args)),
        "baseline": breakdown(labels, baseline_predictions(input_path, rules_dir)),
    }


@dataclass
class Planted:
    """What the scan made of the conversations planted in a busy export."""

    positives: int
    caught: list[str]
    missed: list[str]
    decoys_flagged: list[str]
    false_alarms: int  # medium/high hits outside every positive
    false_cases: int  # medium/high cases holding no positive message
    serious_cases: int
    hits: int

    @property
    def right(self) -> bool:
        return not self.missed and not self.false_alarms

    def line(self) -> str:
        return (f"caught {len(self.caught)}/{self.positives} planted, {self.false_alarms} false medium/high hits, "
                f"{self.false_cases} false medium/high cases ({self.serious_cases} medium/high cases in all), "
                f"decoys flagged {len(self.decoys_flagged)}, {self.hits} hits")


def evaluate_planted(input_path: str, labels_path: str, rules_dir: str | None = None,
                     extra_args: list[str] | None = None) -> Planted:
    from pipelines.scan import run

    labels = json.loads(Path(labels_path).read_text(encoding="utf-8"))

    def keyed(rows):
        return {(r["channel"], str(m)): r["id"] for r in rows for m in r["messages"]}

    positive_of, decoy_of = keyed(labels["positives"]), keyed(labels.get("decoys", []))
    with tempfile.TemporaryDirectory(prefix="cf-eval-") as out:
        argv = ["--input", input_path, "--out", out, "--no-index", "--quiet", *(extra_args or [])]
        if rules_dir:
            argv += ["--rules", rules_dir]
        run(argv)
        hits = [json.loads(line) for line in (Path(out) / "hits.jsonl").read_text(encoding="utf-8").splitlines()]
    caught, decoys, false_alarms = set(), set(), 0
    cases: dict[str, bool] = {}  # serious case -> holds a positive message
    for hit in hits:
        if hit["detection"]["severity"] not in SERIOUS:
            continue
        key = (hit["conversation"]["name"], hit["message"]["id"])
        cases[hit["case"]["id"]] = cases.get(hit["case"]["id"], False) or key in positive_of
        if key in positive_of:
            caught.add(positive_of[key])
        else:
            false_alarms += 1
            if key in decoy_of:
                decoys.add(decoy_of[key])
    every = [r["id"] for r in labels["positives"]]
    return Planted(positives=len(every), caught=[p for p in every if p in caught],
                   missed=[p for p in every if p not in caught], decoys_flagged=sorted(decoys),
                   false_alarms=false_alarms, false_cases=sum(not v for v in cases.values()),
                   serious_cases=len(cases), hits=len(hits))


def main(input_path: str, labels_path: str, rules_dir: str | None = None) -> int:
    if labels_path.endswith(".json"):
        result = evaluate_planted(input_path, labels_path, rules_dir)
        print(result.line())
        if result.missed:
            print("missed: " + ", ".join(result.missed))
        return 0
    results = evaluate(input_path, labels_path, rules_dir)
    print(format_report("engine (medium+ hit in the conversation)", results["engine"]))
    print()
    print(format_report("baseline (keyword-OR over concealment/evasion/secrecy terms)", results["baseline"]))
    return 0
