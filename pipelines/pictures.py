"""Pictures for the case pages: inline SVG, drawn from the same hits and timeline the page lists.

Self-contained on purpose (the page's policy loads and runs nothing): no scripts, no links, no external
fonts or images; colours are attributes, every text is escaped. WeasyPrint draws inline SVG, so the PDF
shows the same pictures.

* `timeline_svg`: the case's conversation as the report knows it (flagged messages and the context
  around them) as messages per hour, day or week; each flagged message a dot in its severity's colour,
  each episode's span shaded behind the bars.
* `replies_svg`: who answered whom inside the case's episodes, from each flagged message's episode link
  (`episode.parent`, decided by analyzers/episodes.py) to the author of the message it answers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

from markupsafe import Markup, escape

from analyzers.visible import shown
from pipelines.severity import COLOURS

WIDTH, HEIGHT = 720, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 14, 30  # margins around the plot
MAX_BARS = 72
STEPS = tuple((name, dt.timedelta(minutes=minutes)) for name, minutes in (
    ("5 minutes", 5), ("15 minutes", 15), ("hour", 60), ("day", 1440), ("week", 7 * 1440)))
MUTED, BAR, SHADE = "#667085", "#98a2b3", "#eaecf5"  # BAR and SHADE appear nowhere else on the page


def _time(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _floor(moment: dt.datetime, unit: str, size: dt.timedelta) -> dt.datetime:
    """The start of the bar holding `moment` (UTC; weeks start on Monday)."""
    if unit == "week":
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - dt.timedelta(days=day.weekday())
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return epoch + size * ((moment - epoch) // size)


def _step(first: dt.datetime, last: dt.datetime) -> tuple[str, dt.timedelta, dt.datetime, int]:
    """The finest bar width (5 minutes ... a week) that fits the span in MAX_BARS bars."""
    for unit, size in STEPS:
        start = _floor(first, unit, size)
        bars = int((last - start) / size) + 1
        if bars <= MAX_BARS or unit == "week":
            return unit, size, start, bars
    raise AssertionError("unreachable")


def _label(moment: dt.datetime, unit: str) -> str:
    return moment.strftime("%Y-%m-%d" if unit in ("day", "week") else "%Y-%m-%d %H:%M")


def episode_spans(hits: list[dict], entries: list[dict]) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """Each episode of the case, from its first to its last known message (flagged ones and those they answer)."""
    times = {e["id"]: _time(e["time"]) for e in entries}
    spans: dict[str, list[dt.datetime]] = {}
    for hit in hits:
        episode = hit.get("episode") or {}
        if not episode.get("id"):
            continue
        moments = [_time(hit["@timestamp"])]
        if episode.get("parent") in times:
            moments.append(times[episode["parent"]])
        spans.setdefault(episode["id"], []).extend(moments)
    return {eid: (min(m), max(m)) for eid, m in spans.items()}


def bar_unit(entries: list[dict]) -> str:
    """hour, day or week: what one bar of the timeline counts."""
    moments = [_time(e["time"]) for e in entries] or [dt.datetime.now(dt.UTC)]
    return _step(min(moments), max(moments))[0]


def timeline_svg(hits: list[dict], entries: list[dict]) -> Markup:
    if not entries:
        return Markup("")
    moments = [_time(e["time"]) for e in entries]
    unit, size, start, bars = _step(min(moments), max(moments))
    per_bar = Counter(int((m - start) / size) for m in moments)
    tallest = max(per_bar.values())
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / bars

    def x_of(moment: dt.datetime) -> float:
        return LEFT + (moment - start) / size * bar_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="picture timeline" role="img" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" data-unit="{unit}">',
             f"<title>{escape(f'Messages per {unit}; flagged messages marked by severity')}</title>"]
    for eid, (first, last) in sorted(episode_spans(hits, entries).items()):
        x0, x1 = x_of(first), max(x_of(last), x_of(first) + 3)
        parts.append(f'<rect class="episode" data-episode="{escape(eid)}" x="{x0:.1f}" y="{TOP}" '
                     f'width="{x1 - x0:.1f}" height="{plot_h}" fill="{SHADE}"/>')
    for index, number in sorted(per_bar.items()):
        h = plot_h * 0.8 * number / tallest
        parts.append(f'<rect class="bar" data-count="{number}" x="{LEFT + index * bar_w + bar_w * 0.1:.1f}" '
                     f'y="{TOP + plot_h - h:.1f}" width="{max(bar_w * 0.8, 1):.1f}" height="{h:.1f}" fill="{BAR}"/>')
    for hit in hits:
        severity = hit["detection"]["severity"]
        parts.append(f'<circle class="flag" data-severity="{escape(severity)}" '
                     f'data-message-id="{escape(hit["message"]["id"])}" cx="{x_of(_time(hit["@timestamp"])):.1f}" '
                     f'cy="{TOP + 4}" r="4" fill="{COLOURS.get(severity, MUTED)}"/>')
    axis_y = TOP + plot_h
    parts += [f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="{MUTED}"/>',
              _text(LEFT, axis_y + 16, _label(start, unit), "start"),
              _text(WIDTH - RIGHT, axis_y + 16, _label(start + size * (bars - 1), unit), "end"),
              _text(LEFT - 4, TOP + plot_h * 0.2 + 4, str(tallest), "end"),
              _text(LEFT - 4, axis_y, "0", "end"), "</svg>"]
    return Markup("".join(parts))


def answers(hits: list[dict], entries: list[dict]) -> Counter:
    """(who answered, whom) -> how often, inside the case's episodes; someone going on after themselves is not
    an answer."""
    author_of = {e["id"]: e["author"] for e in entries}
    found = Counter()
    for hit in hits:
        parent = (hit.get("episode") or {}).get("parent")
        if parent in author_of and author_of[parent] != hit["author"]["name"]:
            found[(hit["author"]["name"], author_of[parent])] += 1
    return found


def replies_svg(hits: list[dict], entries: list[dict]) -> Markup:
    pairs = answers(hits, entries)
    if not pairs:
        return Markup("")
    people = sorted({p for pair in pairs for p in pair})
    size = 300 if len(people) <= 6 else 380
    centre, radius = size / 2, size / 2 - 56
    where = {}
    for i, person in enumerate(people):
        angle = -math.pi / 2 + 2 * math.pi * i / len(people)
        where[person] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    marker = "answer-arrow"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="picture replies" role="img" '
             f'viewBox="0 0 {size} {size}" width="{size}" height="{size}">',
             "<title>Who answered whom inside the episode</title>",
             f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
             f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
             f'<path d="M0,0 L10,5 L0,10 z" fill="{MUTED}"/></marker></defs>']
    strongest = max(pairs.values())
    for (source, target), number in sorted(pairs.items()):
        (x0, y0), (x1, y1) = where[source], where[target]
        length = math.hypot(x1 - x0, y1 - y0) or 1
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        bend = 6 if (target, source) in pairs else 0  # two-way exchanges: two parallel arrows
        ox, oy = -uy * bend, ux * bend
        parts.append(f'<line class="answer" data-from="{escape(source)}" data-to="{escape(target)}" '
                     f'data-count="{number}" x1="{x0 + ux * 22 + ox:.1f}" y1="{y0 + uy * 22 + oy:.1f}" '
                     f'x2="{x1 - ux * 24 + ox:.1f}" y2="{y1 - uy * 24 + oy:.1f}" stroke="{MUTED}" '
                     f'stroke-width="{1 + 3 * number / strongest:.1f}" marker-end="url(#{marker})"/>')
    for person, (x, y) in where.items():
        parts.append(f'<circle class="person" data-name="{escape(person)}" cx="{x:.1f}" cy="{y:.1f}" r="20" '
                     f'fill="#fff" stroke="#1d2330"/>')
        parts.append(_text(x, y + 36 if y >= centre else y - 26, person, "middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _text(x: float, y: float, text: str, anchor: str) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" fill="{MUTED}" text-anchor="{anchor}" '
            f'font-family="sans-serif">{escape(shown(text))}</text>')  # a name: invisible characters spelled out
