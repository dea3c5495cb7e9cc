"""Conversation-disentanglement evaluation on real #ubuntu IRC (Kummerfeld et al., ACL 2019).

    .venv/bin/python -m benchmarks.irc [--split test]

The data is `../shared/realdata/irc-disentanglement/` (see its README.md): per sample a `.raw.txt`
log (line i, from 0, is message i; lines 0-999 are unannotated context) and an `.annotation.txt`
with one gold link `A B -` per line (B is the message, A <= B the earlier message it answers,
A == B starts a conversation). Standard library only.

Metrics, as in the paper and its tools:
* link P/R/F over (message, antecedent) pairs of annotated messages (`graph-eval.py`), micro-averaged
  over a split by summing matched/predicted/gold counts;
* conversations are connected components over all links of annotated messages (links into the
  context still join), restricted to annotated messages, singletons included;
* 1-1 (optimal one-to-one pairing of predicted and gold conversations, Hungarian method),
  exact-match P/R/F (conversations of 2+ messages), and 1 - VI / log2(n).
  Over a split these are *pooled*: every message is (sample, line), all samples form one
  clustering, and n is the split's number of annotated messages. That is what reproduces the
  paper's "Previous" row (see `evaluate`).
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path

from builders.slack import JsonStyle, SlackExport

FIRST_ANNOTATED = 1000
SPLITS = ("dev", "test", "train")
DATASET = "irc-disentanglement"

CHAT = re.compile(r"^\[(\d\d):(\d\d)\] <([^>]*)>(.*)$", re.S)
ACTION = re.compile(r"^\[(\d\d):(\d\d)\]  ?\* (\S+)(?: (.*))?$", re.S)
# Nicks may hold spaces and brackets (`[Big] Endian`, `brad[]`, `zcat[1] `): anchor on the user@host part.
JOIN_LEAVE = re.compile(r"^(.*?) *\[[^\[\]]*\] +has (joined|left) #", re.I)
NICK_CHANGE = re.compile(r"^(.*?) +is now known as \S+ *$")
MODE = re.compile(r"^mode/#\S* \[.*\] +by (\S+)")
TOPIC = re.compile(r"^\.\.\[topic/#[^:\]]*:([^\]]*)\]")

Links = dict[int, set[int]]
Predictor = Callable[[list["Line"], str], Links]


@dataclass(frozen=True)
class Line:
    """One line of a `.raw.txt` log.

    kind: "message" (`[HH:MM] <nick> text`), "action" (`[HH:MM]  * nick text`, or an old clockless
    `=== nick text` /me), or "system" (`===` join/leave/nick change/mode/topic; nick is the user who
    joined/left, the old nick, or the setter; text is everything after `=== `).
    minutes: minutes after 00:00 UTC of the sample's date (the day of line 1000), from the clock,
    unwrapped so that it never decreases in file order (may be negative for the previous day).
    """

    index: int
    kind: str
    nick: str
    text: str
    minutes: int
    raw: str


# ---------------------------------------------------------------- loading


def data_root() -> Path:
    """`$CHATFORENSICS_REALDATA/irc-disentanglement`, default `../shared/realdata` beside the repo."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
    return Path(os.environ.get("CHATFORENSICS_REALDATA", default)) / DATASET


def samples(split: str) -> list[str]:
    """Sample prefixes (path without `.raw.txt`) of a split, sorted by name."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    folder = data_root() / split
    return sorted(str(p)[: -len(".raw.txt")] for p in folder.glob("*.raw.txt"))


def sample_name(prefix: str) -> str:
    return os.path.basename(prefix)


def _read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        data = fh.read()
    if not data:
        return []
    # Split on LF only: str.splitlines() would also break on \x0b, \x1c, U+2028, ...
    return (data[:-1] if data.endswith("\n") else data).split("\n")


def _name_date_hour(name: str) -> tuple[str, int | None]:
    """`2005-07-06_14` -> ("2005-07-06", 14); `2007-12-17.train-a` -> ("2007-12-17", None)."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:_(\d{2}))?", name)
    if not m:
        raise ValueError(f"sample name without a date: {name!r}")
    return m.group(1), (int(m.group(2)) if m.group(2) else None)


def _parse(index: int, raw: str) -> tuple[str, str, str, int | None]:
    """(kind, nick, text, HH*60+MM or None) of one raw line."""
    if raw.startswith("=== "):
        body = raw[4:]
        for pattern in (JOIN_LEAVE, NICK_CHANGE, MODE, TOPIC):
            m = pattern.match(body)
            if m:
                return "system", m.group(1), body, None
        nick, _, text = body.partition(" ")
        return "action", nick, text, None
    m = ACTION.match(raw)
    if m:
        return "action", m.group(3), m.group(4) or "", int(m.group(1)) * 60 + int(m.group(2))
    m = CHAT.match(raw)
    if m:
        rest = m.group(4)
        if rest and not rest.startswith(" "):
            raise ValueError(f"line {index}: no space after the nick")
        return "message", m.group(3), rest[1:], int(m.group(1)) * 60 + int(m.group(2))
    raise ValueError(f"line {index}: unknown line shape")


def _minutes(clock: list[int | None], date: str, hour: int | None) -> list[int]:
    """README recipe: fill clockless lines, unwrap (W = 720 before 2007-10, else 1440), anchor at line c."""
    n = len(clock)
    first = next((m for m in clock if m is not None), None)
    if first is None:
        return [0] * n
    filled, last = [], first
    for m in clock:
        last = m if m is not None else last
        filled.append(last)
    wrap = 720 if date < "2007-10" else 1440
    unwrapped, offset = [], 0
    for i, m in enumerate(filled):
        if i and m < filled[i - 1]:
            offset += wrap
        unwrapped.append(m + offset)
    start = min(FIRST_ANNOTATED, n - 1)
    c = next((i for i in range(start, n) if clock[i] is not None), None)
    if c is None:
        c = max(i for i in range(n) if clock[i] is not None)
    h = hour if hour is not None else clock[c] // 60
    base = h * 60 + clock[c] % 60 - unwrapped[c]
    return [u + base for u in unwrapped]


def load_sample(path_prefix: str) -> list[Line]:
    """All lines of `<path_prefix>.raw.txt`, context included, in file order."""
    raws = _read_lines(path_prefix + ".raw.txt")
    parsed = [_parse(i, raw) for i, raw in enumerate(raws)]
    date, hour = _name_date_hour(sample_name(path_prefix))
    minutes = _minutes([p[3] for p in parsed], date, hour)
    return [Line(i, kind, nick, text, minutes[i], raw)
            for i, ((kind, nick, text, _), raw) in enumerate(zip(parsed, raws, strict=True))]


def sample_epoch(path_prefix: str, lines: list[Line] | None = None) -> list[int]:
    """Epoch seconds of every line: sample date 00:00 UTC + `minutes`."""
    lines = load_sample(path_prefix) if lines is None else lines
    date, _ = _name_date_hour(sample_name(path_prefix))
    y, mo, d = (int(x) for x in date.split("-"))
    midnight = calendar.timegm((y, mo, d, 0, 0, 0, 0, 0, 0))
    return [midnight + line.minutes * 60 for line in lines]


def gold_links(prefix: str) -> Links:
    """message -> antecedents from `<prefix>.annotation.txt` (a self-link is the message itself).

    The larger number of a line is the message (as graph-eval.py reads it); only messages >= 1000."""
    links: Links = defaultdict(set)
    with open(prefix + ".annotation.txt", encoding="ascii") as fh:
        for row in fh:
            parts = row.split()
            if not parts:
                continue
            if len(parts) != 3 or parts[2] != "-":
                raise ValueError(f"{prefix}.annotation.txt: bad line {row!r}")
            a, b = sorted((int(parts[0]), int(parts[1])))
            if b >= FIRST_ANNOTATED:
                links[b].add(a)
    return dict(links)


def gold_clusters(split: str) -> dict[str, list[set[int]]]:
    """`gold.<split>.clusters.txt`: sample name -> conversations (lines >= 1000, singletons included)."""
    out: dict[str, list[set[int]]] = defaultdict(list)
    with open(data_root() / f"gold.{split}.clusters.txt", encoding="ascii") as fh:
        for row in fh:
            if not row.strip():
                continue
            head, *rest = row.split()
            name, _, first = head.rpartition(":")
            out[name].append({int(first), *(int(x) for x in rest)})
    return dict(out)


# ---------------------------------------------------------------- links and clusters


def clusters_from_links(links: dict[int, set[int]], first: int = FIRST_ANNOTATED) -> list[set[int]]:
    """Connected components (union-find) over all links, then lines < first dropped; singletons kept.

    Links into the context still join annotated messages. Sorted by smallest line."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for message, antecedents in links.items():
        find(message)
        for a in antecedents:
            ra, rb = find(a), find(message)
            if ra != rb:
                parent[ra] = rb
    groups: dict[int, set[int]] = defaultdict(set)
    for x in list(parent):
        if x >= first:
            groups[find(x)].add(x)
    return sorted(groups.values(), key=min)


def _link_pairs(links: dict[int, set[int]], first: int) -> set[tuple[int, int]]:
    return {(m, a) for m, ants in links.items() if m >= first for a in ants}


def _link_counts(predicted: dict[int, set[int]], gold: dict[int, set[int]], first: int) -> tuple[int, int, int]:
    p, g = _link_pairs(predicted, first), _link_pairs(gold, first)
    return len(p & g), len(p), len(g)


def _prf(matched: int, n_predicted: int, n_gold: int) -> tuple[float, float, float]:
    p = 100.0 * matched / n_predicted if n_predicted else 0.0
    r = 100.0 * matched / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def link_prf(predicted: dict[int, set[int]], gold: dict[int, set[int]],
             first: int = FIRST_ANNOTATED) -> tuple[float, float, float]:
    """Precision, recall, F (percent) over (message, antecedent) pairs of messages >= first."""
    return _prf(*_link_counts(predicted, gold, first))


# ---------------------------------------------------------------- Hungarian method


def hungarian(weights: list[list[float]]) -> list[tuple[int, int]]:
    """Maximum-weight assignment of a rectangular matrix: (row, column) pairs, min(rows, cols) of them.

    Shortest augmenting paths with potentials (Kuhn-Munkres), O(n^2 m) for n <= m."""
    if not weights or not weights[0]:
        return []
    transposed = len(weights) > len(weights[0])
    w = [list(col) for col in zip(*weights, strict=True)] if transposed else weights
    n, m = len(w), len(w[0])
    big = max(max(row) for row in w)
    cost = [[big - x for x in row] for row in w]  # minimise cost <=> maximise weight (all rows assigned)
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    p = [0] * (m + 1)  # p[j]: row (1-based) assigned to column j; column 0 is the virtual start
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = p[j0]
            row = cost[i0 - 1]
            ui0 = u[i0]
            delta, j1 = inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = row[j - 1] - ui0 - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    pairs = [(p[j] - 1, j - 1) for j in range(1, m + 1) if p[j]]
    return sorted((c, r) for r, c in pairs) if transposed else sorted(pairs)


# ---------------------------------------------------------------- conversation metrics


def _labels(clusters: Iterable[Iterable[Hashable]]) -> dict[Hashable, int]:
    out: dict[Hashable, int] = {}
    for k, cluster in enumerate(clusters):
        for x in cluster:
            if x in out:
                raise ValueError(f"message {x!r} is in two conversations")
            out[x] = k
    return out


def _aligned(predicted_clusters, gold_clusters) -> tuple[dict, dict]:
    """Cluster labels on the gold messages; a gold message missing from the prediction is a singleton."""
    gold = _labels(gold_clusters)
    pred_all = _labels(predicted_clusters)
    pred: dict[Hashable, Hashable] = {}
    for x in gold:
        pred[x] = pred_all.get(x, ("missing", x))
    return pred, gold


def _one_to_one_matched(predicted_clusters, gold_clusters) -> tuple[int, int]:
    """(messages shared by the optimal one-to-one pairing, all gold messages)."""
    pred, gold = _aligned(predicted_clusters, gold_clusters)
    overlap = Counter((pred[x], gold[x]) for x in gold)
    # Split into connected components of the overlap graph: the optimum is the sum over components.
    parent: dict[tuple, tuple] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pc, gc in overlap:
        ra, rb = find(("p", pc)), find(("g", gc))
        if ra != rb:
            parent[ra] = rb
    components: dict[tuple, list] = defaultdict(list)
    for pc, gc in overlap:
        components[find(("p", pc))].append((pc, gc))
    matched = 0
    for edges in components.values():
        if len(edges) == 1:
            matched += overlap[edges[0]]
            continue
        rows = sorted({pc for pc, _ in edges}, key=repr)
        cols = sorted({gc for _, gc in edges}, key=repr)
        ri, ci = {r: k for k, r in enumerate(rows)}, {c: k for k, c in enumerate(cols)}
        matrix = [[0] * len(cols) for _ in rows]
        for pc, gc in edges:
            matrix[ri[pc]][ci[gc]] = overlap[pc, gc]
        matched += sum(matrix[r][c] for r, c in hungarian(matrix))
    return matched, len(gold)


def one_to_one(predicted_clusters, gold_clusters) -> float:
    """1-1 overlap (Elsner and Charniak 2008), percent: messages shared by the best one-to-one pairing
    of predicted and gold conversations, over all gold messages. Predicted messages outside the gold
    are ignored; gold messages missing from the prediction count as singletons."""
    matched, n = _one_to_one_matched(predicted_clusters, gold_clusters)
    return 100.0 * matched / n if n else 0.0


def _exact_counts(predicted_clusters, gold_clusters) -> tuple[int, int, int]:
    pred = {frozenset(c) for c in predicted_clusters if len(c) > 1}
    gold = {frozenset(c) for c in gold_clusters if len(c) > 1}
    return len(pred & gold), len(pred), len(gold)


def exact_match_prf(predicted_clusters, gold_clusters) -> tuple[float, float, float]:
    """Conversations of 2+ messages whose message sets are equal, as P/R/F percent."""
    return _prf(*_exact_counts(predicted_clusters, gold_clusters))


def one_minus_vi(predicted_clusters, gold_clusters) -> float:
    """100 * (1 - VI / log2 n), VI the variation of information (Meila 2007), n = gold messages."""
    pred, gold = _aligned(predicted_clusters, gold_clusters)
    n = len(gold)
    if n < 2:
        return 100.0

    def entropy(counts: Iterable[int]) -> float:
        return -sum(c / n * math.log2(c / n) for c in counts)

    joint = Counter((pred[x], gold[x]) for x in gold)
    vi = 2 * entropy(joint.values()) - entropy(Counter(pred.values()).values()) \
        - entropy(Counter(gold.values()).values())
    return 100.0 * (1 - vi / math.log2(n))


# ---------------------------------------------------------------- baseline and evaluation


def previous_baseline(lines: list[Line]) -> Links:
    """The paper's "Previous": link to the most recent earlier line that is not a `===` line;
    `===` lines (and a first line with nothing before it) link to themselves."""
    out: Links = {}
    last = None
    for line in lines:
        if line.raw.startswith("=== "):
            out[line.index] = {line.index}
            continue
        out[line.index] = {last if last is not None else line.index}
        last = line.index
    return out


def _conversations(predicted: Links, annotated: range) -> list[set[int]]:
    """Predicted conversations over the annotated lines: only the links of annotated messages count,
    and an annotated line without a predicted link is a singleton."""
    own = {m: set(a) for m, a in predicted.items() if m in annotated}
    clusters = clusters_from_links(own, annotated.start)
    seen = set().union(*clusters) if clusters else set()
    clusters = [{x for x in c if x in annotated} for c in clusters]
    clusters += [{i} for i in annotated if i not in seen]
    return [c for c in clusters if c]


def evaluate(split: str, predict: Predictor, averaging: str = "pooled") -> dict:
    """Score `predict(lines, sample_name) -> {line: antecedents}` on a split.

    Link P/R/F are micro-averaged (counts summed over samples, as graph-eval.py over all files).
    1-1, 1-VI and exact match: averaging="pooled" (default) treats the split as one clustering of
    (sample, line) messages, with n = all annotated messages of the split; this reproduces the paper's
    "Previous" numbers on test and dev. averaging="mean" averages the per-sample scores instead
    (it gives a lower 1-VI, since log2 n is smaller per sample)."""
    if averaging not in ("pooled", "mean"):
        raise ValueError("averaging must be 'pooled' or 'mean'")
    link = [0, 0, 0]
    pooled_pred: list[set] = []
    pooled_gold: list[set] = []
    per_sample: dict[str, dict] = {}
    for prefix in samples(split):
        name = sample_name(prefix)
        lines = load_sample(prefix)
        gold = gold_links(prefix)
        annotated = range(FIRST_ANNOTATED, len(lines))
        if set(gold) != set(annotated):
            raise ValueError(f"{name}: annotated lines are not exactly {FIRST_ANNOTATED}..{len(lines) - 1}")
        predicted = predict(lines, name)
        counts = _link_counts(predicted, gold, FIRST_ANNOTATED)
        link = [a + b for a, b in zip(link, counts, strict=True)]
        pred_c = _conversations(predicted, annotated)
        gold_c = clusters_from_links(gold, FIRST_ANNOTATED)
        pooled_pred += [{(name, x) for x in c} for c in pred_c]
        pooled_gold += [{(name, x) for x in c} for c in gold_c]
        per_sample[name] = {
            "link": link_prf(predicted, gold), "one_to_one": one_to_one(pred_c, gold_c),
            "one_minus_vi": one_minus_vi(pred_c, gold_c), "exact": exact_match_prf(pred_c, gold_c),
            "messages": len(annotated),
        }
    result = {"split": split, "averaging": averaging, "samples": len(per_sample),
              "messages": sum(s["messages"] for s in per_sample.values()), "per_sample": per_sample}
    result["link_p"], result["link_r"], result["link_f"] = _prf(*link)
    if averaging == "pooled":
        result["one_to_one"] = one_to_one(pooled_pred, pooled_gold)
        result["one_minus_vi"] = one_minus_vi(pooled_pred, pooled_gold)
        exact = exact_match_prf(pooled_pred, pooled_gold)
    else:
        k = len(per_sample) or 1
        result["one_to_one"] = sum(s["one_to_one"] for s in per_sample.values()) / k
        result["one_minus_vi"] = sum(s["one_minus_vi"] for s in per_sample.values()) / k
        exact = tuple(sum(s["exact"][i] for s in per_sample.values()) / k for i in range(3))
    result["exact_p"], result["exact_r"], result["exact_f"] = exact
    return result


def previous(lines: list[Line], sample: str) -> Links:
    """`previous_baseline` with the `evaluate` predictor signature."""
    return previous_baseline(lines)


# ---------------------------------------------------------------- Slack export


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _hex_id(letter: str, key: str) -> str:
    return letter + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8].upper()


def channel_name(name: str) -> str:
    return "ubuntu-" + name.replace("_", "-").replace(".", "-")


def _subtype(line: Line) -> str | None:
    if line.kind == "message":
        return None
    if line.kind == "action":
        return "me_message"
    m = JOIN_LEAVE.match(line.text)
    if m:
        return "channel_join" if m.group(2).lower() == "joined" else "channel_leave"
    return "channel_topic"  # nick change, mode, topic: all read as system messages


def to_slack_export(sample_prefixes: Iterable[str], folder: str | os.PathLike) -> dict[str, str]:
    """Write a Slack export: one channel per sample, the whole sample in ONE day file named by the
    sample's date, one message per raw line in file order, `ts = "%d.%06d" % (epoch, line index)`.
    Returns {channel name: sample prefix}."""
    export = SlackExport(folder, JsonStyle(indent=1, newline=False))
    users: dict[str, str] = {}
    channels: list[dict] = []
    made: dict[str, str] = {}
    for prefix in sample_prefixes:
        name = sample_name(prefix)
        channel = channel_name(name)
        if channel in made:
            raise ValueError(f"two samples map to channel {channel}")
        lines = load_sample(prefix)
        epochs = sample_epoch(prefix, lines)
        records, previous_ts = [], None
        for line, epoch in zip(lines, epochs, strict=True):
            uid = users.get(line.nick)
            if uid is None:
                uid = _hex_id("U", line.nick)
                if uid in users.values():
                    raise ValueError(f"user id collision for {uid}")
                users[line.nick] = uid
            ts = (epoch, line.index)
            if previous_ts is not None and ts <= previous_ts:
                raise ValueError(f"{name}: ts does not increase at line {line.index}")
            previous_ts = ts
            record = {"type": "message", "user": uid, "text": _escape(line.text), "ts": f"{ts[0]}.{ts[1]:06d}"}
            subtype = _subtype(line)
            if subtype:
                record["subtype"] = subtype
            records.append(record)
        date, _ = _name_date_hour(name)
        export.day(channel, date, records)
        created = int(records[0]["ts"].split(".")[0]) if records else 0
        channels.append({"id": _hex_id("C", channel), "name": channel, "created": created,
                         "creator": records[0]["user"] if records else "",
                         "members": sorted({r["user"] for r in records}),
                         "topic": {"value": "", "creator": "", "last_set": 0},
                         "purpose": {"value": f"#ubuntu IRC sample {name}", "creator": "", "last_set": 0}})
        made[channel] = prefix
    user_list = [{"id": uid, "name": nick, "real_name": nick, "deleted": False, "is_bot": False,
                  "profile": {"display_name": nick, "real_name": nick}} for nick, uid in sorted(users.items())]
    export.users(user_list)
    export.channels(channels)
    return made


# ---------------------------------------------------------------- CLI


def _report(result: dict) -> str:
    r = result
    return (f"{r['split']:<5} link P/R/F {r['link_p']:.1f}/{r['link_r']:.1f}/{r['link_f']:.1f}  "
            f"1-VI {r['one_minus_vi']:.1f}  1-1 {r['one_to_one']:.1f}  "
            f"exact-match P/R/F {r['exact_p']:.1f}/{r['exact_r']:.1f}/{r['exact_f']:.1f}  "
            f"({r['samples']} samples, {r['messages']} messages, {r['averaging']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The 'Previous' baseline on the #ubuntu IRC disentanglement data.")
    parser.add_argument("--split", choices=SPLITS, action="append",
                        help="split to score (repeatable; default: dev and test)")
    parser.add_argument("--averaging", choices=("pooled", "mean"), default="pooled")
    args = parser.parse_args(argv)
    if not data_root().is_dir():
        parser.error(f"data not found at {data_root()} (set CHATFORENSICS_REALDATA)")
    print("paper, Ubuntu test, Previous: link P/R/F 35.7/34.4/35.0  1-VI 66.1  1-1 27.6  exact-match 0.0/0.0/0.0")
    for split in args.split or ["dev", "test"]:
        print(_report(evaluate(split, previous, args.averaging)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
