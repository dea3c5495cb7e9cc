"""benchmarks/irc.py: disentanglement metrics checked against the paper's "Previous" baseline on real #ubuntu IRC."""

from __future__ import annotations

import html
import itertools
import json
import random
from collections import Counter

import pytest

from benchmarks import irc

pytestmark = pytest.mark.realdata

# Kummerfeld et al. (ACL 2019), "Previous" row (test: Tables 3 and 4) and the dataset README's dev figures.
PAPER = {
    "test": {"link_p": 35.7, "link_r": 34.4, "link_f": 35.0, "one_minus_vi": 66.1, "one_to_one": 27.6,
             "exact_p": 0.0, "exact_r": 0.0, "exact_f": 0.0},
    "dev": {"link_p": 30.8, "link_r": 29.6, "link_f": 30.2, "one_minus_vi": 66.2, "one_to_one": 23.9,
            "exact_p": 0.0, "exact_r": 0.0, "exact_f": 0.0},
}
# samples, lines per sample, lines, gold links, gold conversations
SIZES = {"dev": (10, 1250, 12500, 2607, 494), "test": (10, 1500, 15000, 5187, 961)}
KINDS = {"dev": {"message": 11615, "action": 29 + 40, "system": 816},
         "test": {"message": 13858, "action": 32 + 17, "system": 1093}}


def _close(got: float, want: float) -> bool:
    return abs(round(got, 1) - want) < 1e-9


# ---------------------------------------------------------------- the baseline on the real data


@pytest.mark.parametrize("split", ["test", "dev"])
def test_previous_baseline_reproduces_the_paper(split):
    result = irc.evaluate(split, irc.previous)
    assert result["averaging"] == "pooled"
    got = {k: round(result[k], 1) for k in PAPER[split]}
    assert all(_close(result[k], v) for k, v in PAPER[split].items()), got
    assert result["samples"] == SIZES[split][0]
    assert result["messages"] == SIZES[split][0] * (SIZES[split][1] - 1000)


@pytest.mark.parametrize("split", ["test", "dev"])
def test_per_sample_mean_does_not_reproduce_1_vi(split):
    """Link scores are micro-averaged either way, and 1-1 agrees because every sample has as many
    annotated messages; 1-VI only matches the paper when the split is pooled (log2 of all messages)."""
    mean = irc.evaluate(split, irc.previous, averaging="mean")
    assert _close(mean["link_f"], PAPER[split]["link_f"])
    assert _close(mean["one_to_one"], PAPER[split]["one_to_one"])
    assert mean["one_minus_vi"] < PAPER[split]["one_minus_vi"] - 10


def test_previous_baseline_links_and_self_links():
    lines = irc.load_sample(irc.samples("test")[0])
    links = irc.previous_baseline(lines)
    assert set(links) == set(range(len(lines)))
    for line in lines[1000:]:
        (a,) = links[line.index]
        if line.raw.startswith("=== "):
            assert a == line.index
        else:
            assert a < line.index and not lines[a].raw.startswith("=== ")
            assert all(x.raw.startswith("=== ") for x in lines[a + 1:line.index])


def test_gold_predictor_scores_100():
    def gold(lines, name):
        return irc.gold_links(str(irc.data_root() / "dev" / name))

    result = irc.evaluate("dev", gold)
    assert [round(result[k], 6) for k in PAPER["dev"]] == [100.0] * 8


# ---------------------------------------------------------------- data loading


@pytest.mark.parametrize("split", ["dev", "test"])
def test_clusters_from_links_equal_gold_cluster_files(split):
    gold_files = irc.gold_clusters(split)
    names = [irc.sample_name(p) for p in irc.samples(split)]
    assert sorted(gold_files) == names
    links = convs = 0
    for prefix in irc.samples(split):
        gold = irc.gold_links(prefix)
        built = irc.clusters_from_links(gold)
        want = gold_files[irc.sample_name(prefix)]
        assert sorted(map(sorted, built)) == sorted(map(sorted, want)), prefix
        assert set().union(*built) == set(range(1000, len(irc.load_sample(prefix))))
        links += sum(len(a) for a in gold.values())
        convs += len(built)
    assert (links, convs) == SIZES[split][3:]


@pytest.mark.parametrize("split", ["dev", "test"])
def test_line_kinds_and_clock(split):
    kinds = Counter()
    for prefix in irc.samples(split):
        lines = irc.load_sample(prefix)
        assert len(lines) == SIZES[split][1]
        assert [x.index for x in lines] == list(range(len(lines)))
        assert all(a.minutes <= b.minutes for a, b in itertools.pairwise(lines)), prefix
        hour = int(irc.sample_name(prefix)[-2:])
        first_clocked = next(x for x in lines[1000:] if not x.raw.startswith("=== "))
        assert first_clocked.minutes // 60 == hour, prefix
        kinds.update(x.kind for x in lines)
    assert dict(kinds) == KINDS[split]


def test_twelve_hour_clock_and_wraps():
    by_name = {irc.sample_name(p): p for p in irc.samples("test") + irc.samples("dev")}
    lines = irc.load_sample(by_name["2005-07-06_14"])  # prints 02:00 at line 1000, which is 14:00
    assert lines[1000].raw.startswith("[02:00]") and lines[1000].minutes == 14 * 60
    lines = irc.load_sample(by_name["2007-01-11_12"])  # noon wrap 12:59 -> 01:00 at line 1468
    assert lines[1467].minutes // 60 == 12 and lines[1468].minutes == 13 * 60
    lines = irc.load_sample(by_name["2005-08-08_01"])  # context starts at 11:29 pm the day before
    assert lines[0].minutes == -31 and lines[1000].minutes == 60
    lines = irc.load_sample(by_name["2011-11-13_02"])  # 24-hour file crossing midnight at line 646
    assert lines[645].minutes < 0 <= lines[646].minutes


def test_line_shapes():
    lines = irc.load_sample(irc.samples("dev")[0])
    chat = next(x for x in lines if x.kind == "message" and x.text)
    assert chat.raw == f"[{chat.raw[1:6]}] <{chat.nick}> {chat.text}"
    system = [x for x in lines if x.kind == "system"]
    assert system and all(x.raw == "=== " + x.text and x.nick for x in system)


# ---------------------------------------------------------------- metrics on hand-made cases


def _brute_force(w):
    n, m = len(w), len(w[0])
    if n <= m:
        return max(sum(w[i][c] for i, c in enumerate(cols)) for cols in itertools.permutations(range(m), n))
    return max(sum(w[r][j] for j, r in enumerate(rows)) for rows in itertools.permutations(range(n), m))


def _check_assignment(w, pairs):
    assert len(pairs) == min(len(w), len(w[0]))
    assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
    return sum(w[r][c] for r, c in pairs)


@pytest.mark.parametrize(("weights", "best"), [
    ([[5]], 5),
    ([[1, 2], [3, 4]], 5),
    ([[7, 5, 11], [5, 4, 1], [9, 3, 2]], 24),  # 11 + 4 + 9
    ([[4, 1, 3], [2, 0, 5], [3, 2, 2]], 11),  # 4 + 5 + 2
    ([[10, 9, 0], [9, 0, 0], [0, 0, 1]], 19),  # greedy takes 10 and loses: 9 + 9 + 1
    ([[1, 9, 3, 0], [8, 9, 2, 7]], 17),  # 2 x 4: 9 + 8, not 9 + 7
    ([[9, 9, 0, 0], [9, 1, 0, 0]], 18),  # 2 x 4: greedy 9 + 1 loses
    ([[1, 8], [9, 9], [3, 2], [0, 7]], 17),  # 4 x 2: 8 + 9
    ([[9, 9], [9, 1], [5, 5], [0, 0]], 18),  # 4 x 2: greedy 9 + 5 loses
    ([[0, 0, 0], [0, 0, 0]], 0),
    ([[3, 3, 3, 3, 3]], 3),
])
def test_hungarian_known_optimum(weights, best):
    pairs = irc.hungarian(weights)
    assert _check_assignment(weights, pairs) == best


def test_hungarian_matches_brute_force_on_random_rectangles():
    rng = random.Random(2019)
    for _ in range(400):
        n, m = rng.randint(1, 6), rng.randint(1, 6)
        w = [[rng.randint(0, 12) for _ in range(m)] for _ in range(n)]
        assert _check_assignment(w, irc.hungarian(w)) == _brute_force(w), w


def test_hungarian_large_rectangle_beats_greedy():
    rng = random.Random(7)
    w = [[rng.randint(0, 30) for _ in range(200)] for _ in range(60)]
    total = _check_assignment(w, irc.hungarian(w))
    greedy, used = 0, set()
    for r in range(60):
        c = max((c for c in range(200) if c not in used), key=lambda c: w[r][c])
        used.add(c)
        greedy += w[r][c]
    assert total >= greedy
    assert _check_assignment([list(col) for col in zip(*w, strict=True)],
                             irc.hungarian([list(col) for col in zip(*w, strict=True)])) == total


def test_one_to_one_hand_made():
    gold = [{1, 2, 3, 4}, {5, 6}, {7}]
    assert irc.one_to_one(gold, gold) == 100.0
    # One big predicted conversation can take only one gold conversation.
    assert irc.one_to_one([{1, 2, 3, 4, 5, 6, 7}], gold) == pytest.approx(100 * 4 / 7)
    pred = [{1, 2, 5, 6}, {3, 4}, {7}]  # {1,2,5,6}-{5,6} 2 + {3,4}-{1,2,3,4} 2 + {7}-{7} 1
    assert irc.one_to_one(pred, gold) == pytest.approx(100 * 5 / 7)
    # Greedy pairing loses here: overlaps [[3, 2], [2, 0]], greedy 3 + 0, optimum 2 + 2.
    pred, gold2 = [{1, 2, 3, 6, 7}, {4, 5}], [{1, 2, 3, 4, 5}, {6, 7}]
    assert irc.one_to_one(pred, gold2) == pytest.approx(100 * 4 / 7)
    # More predicted than gold conversations (rectangular), and messages outside the gold are ignored.
    assert irc.one_to_one([{1}, {2}, {3}, {4}, {5}, {6}, {7}, {99}], gold) == pytest.approx(100 * 3 / 7)
    # Gold messages the prediction left out count as singletons.
    assert irc.one_to_one([{1, 2, 3}], gold) == pytest.approx(100 * 5 / 7)


def test_one_minus_vi_and_exact_match_hand_made():
    gold = [{1, 2, 3, 4}, {5, 6, 7, 8}]
    assert irc.one_minus_vi(gold, gold) == pytest.approx(100.0)
    assert irc.one_minus_vi([set(range(1, 9))], [{i} for i in range(1, 9)]) == pytest.approx(0.0)
    # Splitting each gold conversation in half: VI = H(P|G) = 1 bit, n = 8 -> 1 - 1/3.
    assert irc.one_minus_vi([{1, 2}, {3, 4}, {5, 6}, {7, 8}], gold) == pytest.approx(100 * (1 - 1 / 3))
    assert irc.exact_match_prf(gold, gold) == (100.0, 100.0, 100.0)
    p, r, f = irc.exact_match_prf([{1, 2, 3, 4}, {5, 6}, {7}, {8}], gold + [{9}])
    assert (p, r) == (50.0, 50.0) and f == pytest.approx(50.0)  # singletons are left out on both sides
    assert irc.exact_match_prf([{i} for i in range(1, 9)], gold) == (0.0, 0.0, 0.0)


def test_link_prf_and_clusters_hand_made():
    gold = {1000: {998}, 1001: {1000}, 1002: {1002}, 1003: {1001, 1002}}
    pred = {999: {998}, 1000: {999}, 1001: {1000}, 1002: {1001}, 1003: {1002}}
    p, r, f = irc.link_prf(pred, gold)  # 999 is context and not scored; matched: (1001,1000), (1003,1002)
    assert (p, r) == (50.0, 40.0) and f == pytest.approx(2 * 50 * 40 / 90)
    assert irc.clusters_from_links(gold) == [{1000, 1001, 1002, 1003}]
    assert irc.clusters_from_links({1000: {5}, 1001: {5}, 1002: {1002}}) == [{1000, 1001}, {1002}]
    assert irc.clusters_from_links({1000: {999}, 1001: {1001}}, first=1001) == [{1001}]


# ---------------------------------------------------------------- Slack export


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("irc-slack")
    prefixes = irc.samples("dev") + irc.samples("test")
    return folder, irc.to_slack_export(prefixes, folder)


def test_slack_export_records_follow_the_lines(export):
    folder, made = export
    channels = json.loads((folder / "channels.json").read_text(encoding="utf-8"))
    users = json.loads((folder / "users.json").read_text(encoding="utf-8"))
    assert sorted(c["name"] for c in channels) == sorted(made)
    assert len({c["id"] for c in channels}) == len(channels)
    ids = {u["id"]: u["name"] for u in users}
    assert len(ids) == len(users) and all(len(i) == 9 and i.startswith("U") for i in ids)
    totals = Counter()
    for channel, prefix in made.items():
        name = irc.sample_name(prefix)
        assert channel == "ubuntu-" + name.replace("_", "-").replace(".", "-")
        day_files = sorted(p.name for p in (folder / channel).iterdir())
        assert day_files == [name[:10] + ".json"]  # the whole sample in the day of line 1000
        records = json.loads((folder / channel / day_files[0]).read_text(encoding="utf-8"))
        lines = irc.load_sample(prefix)
        assert len(records) == len(lines)
        stamps = [tuple(int(x) for x in r["ts"].split(".")) for r in records]
        assert all(a < b for a, b in itertools.pairwise(stamps)), channel
        assert all(len(r["ts"].split(".")[1]) == 6 for r in records)
        assert [micro for _, micro in stamps] == list(range(len(lines)))
        for record, line in zip(records, lines, strict=True):
            assert record["type"] == "message" and ids[record["user"]] == line.nick
            assert html.unescape(record["text"]) == line.text
            assert "<" not in record["text"] and ">" not in record["text"]
            subtype = record.get("subtype")
            assert (subtype is None) == (line.kind == "message")
            assert (subtype == "me_message") == (line.kind == "action")
            if subtype == "channel_join":
                assert "has joined" in line.raw
            if subtype == "channel_leave":
                assert "has left" in line.raw
        totals["test" if "/test/" in prefix else "dev"] += len(records)
    assert dict(totals) == {"dev": 12500, "test": 15000}


def test_slack_export_epochs(export):
    folder, made = export
    by_name = {irc.sample_name(p): c for c, p in made.items()}
    records = json.loads((folder / by_name["2005-07-06_14"] / "2005-07-06.json").read_text(encoding="utf-8"))
    assert records[1000]["ts"] == "1120658400.001000"  # 2005-07-06 14:00 UTC
    records = json.loads((folder / by_name["2005-08-08_01"] / "2005-08-08.json").read_text(encoding="utf-8"))
    assert records[0]["ts"] == f"{1123459200 - 31 * 60}.000000"  # 23:29 on 2005-08-07
    subtypes = Counter(r.get("subtype") for c in made for r in
                       json.loads(next((folder / c).iterdir()).read_text(encoding="utf-8")))
    assert subtypes["me_message"] == 29 + 40 + 32 + 17
    assert subtypes["channel_join"] + subtypes["channel_leave"] + subtypes["channel_topic"] == 816 + 1093
