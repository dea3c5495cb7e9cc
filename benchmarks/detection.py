"""Detection speed: the funnel against running spaCy and Presidio on every message.

    .venv/bin/python -m benchmarks.detection [--messages 20000] [--candidates 1000]

Measured in one process, on one core:
* prefilter: the Aho-Corasick scan on everyday messages that match nothing (the hot path);
* candidates: full screening (entities, masking, terms, regexes, spaCy token patterns) of
  messages that do match, i.e. the rule packs' own example sentences;
* naive: Presidio and the spaCy pipeline on every everyday message, as if there were no prefilter;
* funnel: a realistic mix (a few percent candidates) through the real Screener.
Ratios say how many times faster the funnel is than the naive path.
"""

from __future__ import annotations

import argparse
import random
import time

from analyzers.rules import load_ruleset
from analyzers.screening import Screener
from pipelines.ingest.base import new_message

# Everyday chat, none of it a rule term; combined at random into a few thousand distinct lines.
OPENERS = ["morning all", "quick one", "fyi", "heads up", "ok so", "hey team", "reminder", "sorry to bug you", "早上好",
           "同步一下"]
MIDDLES = ["the deploy to staging is green", "standup moves to 10:30 tomorrow", "lunch order closes at noon",
           "the tokenizer fix is merged", "can someone review PR 4521", "the flaky test is quarantined",
           "book club picks the new novel", "I pushed the dashboard tweaks", "the CI cache was cold again",
           "latency p99 improved after the index change", "下午三点讨论需求", "周报已经发到邮箱",
           "明天的发布推迟到周四"]
CLOSERS = ["thanks!", "lmk", "cheers", "see you there", ":tada:", "will update the ticket", "more after lunch", "收到",
           "辛苦了"]


def everyday_lines(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(OPENERS)}, {rng.choice(MIDDLES)} {rng.choice(CLOSERS)} #{rng.randint(1, 9999)}"
            for _ in range(n)]


def candidate_lines(ruleset, n: int) -> list[str]:
    examples = [e for r in ruleset.rules for e in r.examples_match]
    return [examples[i % len(examples)] for i in range(n)]


def as_messages(lines: list[str]) -> list[dict]:
    return [new_message(platform="bench", message_id=str(i), text=text, timestamp=1.7e9 + i, raw_timestamp=str(i),
                        conversation={"id": "C1", "name": "bench", "type": "channel"},
                        author={"id": "U1", "name": "bench", "email": None}, source={"path": "bench"})
            for i, text in enumerate(lines)]


def rate(count: int, call) -> float:
    """Messages per second for `call()` processing `count` messages (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return count / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000, help="everyday messages for the prefilter")
    parser.add_argument("--candidates", type=int, default=500, help="candidate messages for full screening")
    parser.add_argument("--naive", type=int, default=500, help="messages for the naive path (it is slow)")
    parser.add_argument("--candidate-share", type=float, default=0.03)
    args = parser.parse_args(argv)

    ruleset = load_ruleset()
    screener = Screener(ruleset)
    prefilter, matcher, finder = screener.prefilter, screener.matcher, screener.finder
    nlp = matcher.nlp

    quiet = everyday_lines(args.messages)
    assert not any(prefilter.scan(t) for t in quiet[:2000]), "everyday lines must not match the rules"
    candidates = as_messages(candidate_lines(ruleset, args.candidates))
    naive_lines = quiet[: args.naive]
    n_mixed = args.messages // 4
    n_hot = int(n_mixed * args.candidate_share)
    mixed = as_messages(quiet[: n_mixed - n_hot] + candidate_lines(ruleset, n_hot))
    random.Random(3).shuffle(mixed)

    def naive():
        for text in naive_lines:
            finder.find(text, "en")
            nlp(text.lower())
            matcher.match(text)

    results = {
        "prefilter (non-matching)": rate(len(quiet), lambda: [prefilter.scan(t) for t in quiet]),
        "screening (candidates)": rate(len(candidates), lambda: screener.screen(candidates)),
        "naive (Presidio + spaCy on every message)": rate(len(naive_lines), naive),
        f"funnel ({args.candidate_share:.0%} candidates)": rate(len(mixed), lambda: screener.screen(mixed)),
    }
    for name, value in results.items():
        print(f"{name:<46}{value:>14,.0f} msg/s per core   ({1e6 / value:,.1f} µs/msg)")
    naive_rate = results["naive (Presidio + spaCy on every message)"]
    print(f"prefilter / naive: {results['prefilter (non-matching)'] / naive_rate:,.0f}x")
    print(f"funnel / naive:    {results[f'funnel ({args.candidate_share:.0%} candidates)'] / naive_rate:,.1f}x")
    print(f"candidates / naive: {results['screening (candidates)'] / naive_rate:,.2f}x "
          "(a candidate costs about what every message costs without the funnel)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
