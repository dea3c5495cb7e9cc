"""Progress of a running scan, seen from the driver.

The DirectRunner runs a pipeline to the end inside `p.run()`, and Beam metrics only
reach the driver when bundles finish, so neither shows a long run moving. Instead every
worker process keeps a small tally (files, bytes, messages read; candidates and hits
found) and rewrites it, at most a few times a second, as one JSON file in a folder the
driver watches. That works for every runner whose workers share the driver's disk
(DirectRunner in both modes, Flink/Spark with LOOPBACK workers); on remote runners the
folder stays empty, the runner's UI shows the Beam counters the same steps increment, and
the summary line still ends the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from apache_beam.metrics import Metrics

FIELDS = ("files", "bytes", "messages", "candidates", "hits")
WRITE_EVERY = 0.5  # seconds between a worker's tally writes
NAMESPACE = "chatforensics"


class Tally:
    """One per worker process: counts, Beam counters, and the file the driver reads."""

    _instances: dict[str | None, Tally] = {}
    _lock = threading.Lock()

    def __init__(self, folder: str | None):
        self.folder = folder
        self.counts = dict.fromkeys(FIELDS, 0)
        self.counters = {name: Metrics.counter(NAMESPACE, name) for name in FIELDS}
        self.path = Path(folder or ".", f"{socket.gethostname()}-{os.getpid()}.json")
        self.written = 0.0

    @classmethod
    def of(cls, folder: str | None) -> Tally:
        """The process's tally for this run's folder (None: Beam counters only)."""
        with cls._lock:
            if folder not in cls._instances:
                cls._instances[folder] = cls(folder)
            return cls._instances[folder]

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                self.counts[name] += amount
                self.counters[name].inc(amount)
            due = time.monotonic() - self.written >= WRITE_EVERY
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            self.written = time.monotonic()
            snapshot = json.dumps(self.counts)
        if not self.folder or not Path(self.folder).is_dir():  # remote worker: the driver's folder is not here
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(snapshot)
        os.replace(tmp, self.path)


def read_tallies(folder: str | Path) -> dict[str, int]:
    """The sum of every worker's last written tally."""
    total = dict.fromkeys(FIELDS, 0)
    for path in Path(folder).glob("*.json"):
        try:
            counts = json.loads(path.read_text())
        except (OSError, ValueError):  # being replaced right now: the next poll reads it
            continue
        for name in FIELDS:
            total[name] += counts.get(name, 0)
    return total


@dataclass
class Totals:
    files: int
    bytes: int


def format_line(counts: dict[str, int], totals: Totals, elapsed: float) -> str:
    """One status line: what was read out of what, the rate, and the time left by bytes read."""
    rate = counts["messages"] / elapsed if elapsed > 0 else 0.0
    share = counts["bytes"] / totals.bytes if totals.bytes else 0.0
    left = f"{_duration(elapsed * (1 - share) / share)} left" if 0 < share < 1 else "finishing"
    return (f"{counts['files']}/{totals.files} files, {_size(counts['bytes'])}/{_size(totals.bytes)} "
            f"({share:.0%}), {counts['messages']:,} messages, {counts['candidates']:,} candidates, "
            f"{counts['hits']:,} hits, {rate:,.0f} msg/s, {left}")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass
class Display:
    """Redraws one terminal line from a poll function until stopped; silent when not shown."""

    poll: Callable[[], dict[str, int]]
    totals: Totals
    stream: object = sys.stderr
    every: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self):
        self.started = self.clock()

    def draw(self) -> None:
        line = format_line(self.poll(), self.totals, self.clock() - self.started)
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.draw()

    def __enter__(self) -> Display:
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.stream.write("\r\x1b[2K")  # the summary line takes its place
        self.stream.flush()


def wanted(quiet: bool, stream=sys.stderr) -> bool:
    """Progress only on a terminal, and never with --quiet."""
    return not quiet and hasattr(stream, "isatty") and stream.isatty()


@contextlib.contextmanager
def worker_output_to(path: Path):
    """Send what local worker processes print (their start-up logging) to a file, not the terminal.

    DirectRunner worker processes inherit the driver's stderr; the driver's own messages keep
    going to the terminal through the stream this yields.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                         errors="replace")
    try:
        with open(path, "ab") as log_file:
            os.dup2(log_file.fileno(), 2)
            try:
                yield terminal
            finally:
                terminal.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)
        terminal.close()
