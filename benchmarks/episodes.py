"""The episode step against real human reply links: #ubuntu IRC (Kummerfeld et al., ACL 2019).

    .venv/bin/python -m benchmarks.episodes [--split test]

Feeds every line of each sample (context included, as the paper does) through the same Linker the
pipeline uses, one sample at a time, and scores its links and episodes on the annotated lines
beside the paper's figures. Needs ../shared/realdata/irc-disentanglement (see benchmarks/irc.py).
"""

from __future__ import annotations

import argparse

from analyzers.episodes import Linker, Turn
from benchmarks import irc

# Ubuntu test set, paper Tables 3 and 4: (link P, link R, link F, 1-VI, 1-1, exact F)
PAPER = {
    "Previous (paper)": (35.7, 34.4, 35.0, 66.1, 27.6, 0.0),
    "Linear (paper)": (64.7, 62.3, 63.5, 88.9, 69.5, 21.8),
    "Feedforward (paper)": (73.7, 71.0, 72.3, 91.3, 75.6, 36.2),
}


def turn_of(line: irc.Line) -> Turn:
    return Turn(id=str(line.index), author=line.nick, name=line.nick, when=line.minutes * 60.0, text=line.text,
                kind="system" if line.kind == "system" else "user")


def predict(lines: list[irc.Line], sample: str) -> irc.Links:
    """Each line's antecedent as the episode step links it; a line that starts an episode links to itself."""
    out: irc.Links = {}
    for turn, link in Linker().link_all(turn_of(line) for line in lines):
        index = int(turn.id)
        out[index] = {int(link.parent)} if link.parent is not None else {index}
    return out


def row(name: str, values) -> str:
    return f"{name:<26}" + "".join(f"{v:>8.1f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=irc.SPLITS[:2])
    args = parser.parse_args(argv)
    print(f"{'#ubuntu ' + args.split:<26}{'link P':>8}{'link R':>8}{'link F':>8}{'1-VI':>8}{'1-1':>8}{'exact F':>8}")
    for name, predictor in (("Previous (measured)", irc.previous), ("chatforensics episodes", predict)):
        r = irc.evaluate(args.split, predictor)
        print(row(name, (r["link_p"], r["link_r"], r["link_f"], r["one_minus_vi"], r["one_to_one"], r["exact_f"])))
    if args.split == "test":
        for name, values in PAPER.items():
            print(row(name, values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
