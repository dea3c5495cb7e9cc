"""Write a Slack admin export: the one writer behind every synthetic Slack export in this repository.

The layout is Slack's: ``users.json`` and ``channels.json`` at the top (``groups.json``, ``dms.json`` and
``mpims.json`` beside them when private channels and direct messages are exported), then one folder per
channel with one ``YYYY-MM-DD.json`` file per UTC day, each a JSON list of message records in time order.

What goes into the records is the caller's (the demo's story, a labelled set's scripts, a benchmark's
random traffic); how they reach the disk is this module's, so a JSON style is chosen once per export
(``JsonStyle``) and every file of it is written the same way. Committed fixtures keep the style they were
written in, and regenerating one gives the same bytes (tests/unit/test_fixture_builders.py).

Standard library only: ``python examples/_make.py`` and the fixture generators run from a clone with any
Python 3.11, nothing installed.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # fixed member times keep a ZIP byte-identical between runs


@dataclass(frozen=True)
class JsonStyle:
    """How every JSON file of one export is written: ``json.dumps(obj, indent=, ensure_ascii=)`` plus an
    optional final newline."""

    indent: int | None = 2
    ensure_ascii: bool = False
    newline: bool = True

    def dumps(self, obj) -> str:
        return json.dumps(obj, indent=self.indent, ensure_ascii=self.ensure_ascii) + ("\n" if self.newline else "")

    def write_list(self, fh: TextIO, items: Iterable) -> None:
        """``fh.write(self.dumps(list(items)))``, one item at a time: a day file of any length is written
        without holding it as one string."""
        if self.indent is None:
            separator, first, close = ", ", "[", "]"
        else:
            pad = " " * self.indent
            separator, first, close = ",\n" + pad, "[\n" + pad, "\n]"
        written = False
        for item in items:
            text = json.dumps(item, indent=self.indent, ensure_ascii=self.ensure_ascii)
            if self.indent is not None:
                text = text.replace("\n", "\n" + pad)  # JSON text holds no raw newline inside a string
            fh.write((separator if written else first) + text)
            written = True
        fh.write((close if written else "[]") + ("\n" if self.newline else ""))


def day_of(ts: str) -> str:
    """The UTC day (YYYY-MM-DD) of a Slack ``ts`` such as ``"1709632800.000100"``: its day file."""
    return dt.datetime.fromtimestamp(int(ts.split(".")[0]), dt.UTC).strftime("%Y-%m-%d")


def by_day(messages: Iterable[dict]) -> dict[str, list[dict]]:
    """Messages grouped into their day files, each list in the order given, days in calendar order."""
    days: dict[str, list[dict]] = {}
    for message in messages:
        days.setdefault(day_of(message["ts"]), []).append(message)
    return dict(sorted(days.items()))


class SlackExport:
    """One export being written, into a folder or into an open ``zipfile.ZipFile`` (members stamped with
    ``ZIP_DATE``, deflated). Names are paths inside the export: ``users.json``, ``general/2024-03-05.json``."""

    def __init__(self, target: Path | str | zipfile.ZipFile, style: JsonStyle = JsonStyle()):
        self.zip = target if isinstance(target, zipfile.ZipFile) else None
        self.root = None if self.zip else Path(target)
        self.style = style
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)

    def users(self, users: list[dict]) -> None:
        self.write("users.json", users)

    def channels(self, channels: list[dict]) -> None:
        self.write("channels.json", channels)

    def channel(self, name: str, messages: Iterable[dict]) -> None:
        """All of a channel's messages, split into day files by their ``ts``; in a folder, the channel's
        folder is made even when it has no messages."""
        if self.root is not None:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        for day, records in by_day(messages).items():
            self.day(name, day, records)

    def day(self, channel: str, day: str, messages: Iterable[dict]) -> None:
        """One day file; ``messages`` may be a generator (written as it comes, when the target is a folder)."""
        name = f"{channel}/{day}.json"
        if self.zip is not None:
            self.text(name, self.style.dumps(list(messages)))
            return
        with self._open(name) as fh:
            self.style.write_list(fh, messages)

    def write(self, name: str, obj) -> None:
        """Any other JSON file of the export (``groups.json``, a generator's ``labels.json``), in its style."""
        self.text(name, self.style.dumps(obj))

    def jsonl(self, name: str, rows: Iterable[dict]) -> None:
        """JSON lines, one compact object a line (the labelled sets' ``labels.jsonl``)."""
        self.text(name, "".join(json.dumps(row, ensure_ascii=self.style.ensure_ascii) + "\n" for row in rows))

    def text(self, name: str, text: str) -> None:
        """A file as given: a README, or a deliberately broken day file."""
        if self.zip is not None:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            self.zip.writestr(info, text)
            return
        with self._open(name) as fh:
            fh.write(text)

    def _open(self, name: str) -> TextIO:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "w", encoding="utf-8", newline="\n")
