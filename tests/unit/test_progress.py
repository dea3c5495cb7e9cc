import io
import json

import pytest

from pipelines.progress import Display, Tally, Totals, format_line, read_tallies, wanted
from pipelines.scan import run, with_local_parallelism
from tests.conftest import EXAMPLES

COUNTS = {"files": 3, "bytes": 512 << 10, "messages": 12_000, "candidates": 300, "hits": 4}


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_line_says_what_was_read_out_of_the_total_the_rate_and_the_time_left():
    line = format_line(COUNTS, Totals(files=10, bytes=2 << 20), elapsed=6.0)
    assert line == ("3/10 files, 512.0 KiB/2.0 MiB (25%), 12,000 messages, 300 candidates, 4 hits, "
                    "2,000 msg/s, 18s left")


def test_line_before_anything_was_read_and_after_everything_was():
    empty = dict.fromkeys(COUNTS, 0)
    assert format_line(empty, Totals(files=2, bytes=100), elapsed=0.0).endswith("0 msg/s, finishing")
    done = {**COUNTS, "bytes": 100}
    assert "100 B/100 B (100%)" in format_line(done, Totals(files=3, bytes=100), elapsed=2.0)
    long = format_line({**COUNTS, "bytes": 10}, Totals(files=3, bytes=1000), elapsed=60.0)
    assert long.endswith("99m00s left")


def test_display_redraws_one_line_and_clears_it_for_the_summary():
    clock, stream = FakeClock(), io.StringIO()
    display = Display(lambda: COUNTS, Totals(files=10, bytes=2 << 20), stream=stream, every=3600, clock=clock)
    clock.now += 6.0
    with display:
        display.draw()
    assert stream.getvalue() == "\r\x1b[2K" + format_line(COUNTS, Totals(10, 2 << 20), 6.0) + "\r\x1b[2K"


def test_worker_tallies_are_summed_by_the_driver(tmp_path):
    tally = Tally(str(tmp_path))
    tally.add(files=1, bytes=10, messages=5)
    tally.add(hits=2)
    tally.flush()
    (tmp_path / "other-worker.json").write_text(json.dumps({"files": 2, "messages": 7}))
    (tmp_path / "half-written.json").write_text("{")
    assert read_tallies(tmp_path) == {"files": 3, "bytes": 10, "messages": 12, "candidates": 0, "hits": 2}


def test_a_remote_worker_without_the_folder_keeps_counting_silently(tmp_path):
    tally = Tally(str(tmp_path / "not-here"))
    tally.add(messages=3)
    tally.flush()
    assert tally.counts["messages"] == 3 and not (tmp_path / "not-here").exists()


def test_progress_only_on_a_terminal_and_never_when_quiet():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert wanted(quiet=False, stream=Tty())
    assert not wanted(quiet=True, stream=Tty())
    assert not wanted(quiet=False, stream=io.StringIO())


def test_large_local_runs_use_every_core_unless_told_otherwise(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    large = 1 << 30
    assert "--direct_num_workers=2" in with_local_parallelism(["--input", "x"], large)
    assert "--direct_running_mode=multi_processing" in with_local_parallelism(["--runner=DirectRunner"], large)
    assert with_local_parallelism(["--direct_num_workers=1"], large) == ["--direct_num_workers=1"]
    assert with_local_parallelism(["--runner=FlinkRunner"], large) == ["--runner=FlinkRunner"]
    assert with_local_parallelism(["--input", "x"], 1 << 20) == ["--input", "x"]  # workers' start-up would dominate


@pytest.mark.parametrize("flags", [[], ["--quiet"]], ids=["not-a-terminal", "quiet"])
def test_without_a_terminal_or_with_quiet_only_the_summary_line_is_printed(tmp_path, capsys, flags):
    argv = ["--input", str(EXAMPLES / "slack-demo"), "--out", str(tmp_path), "--no-index",
            "--direct_running_mode=in_memory", *flags]
    assert run(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and captured.out.startswith("chatforensics: 121 records read")
    assert "files," not in captured.err and "\r" not in captured.err
