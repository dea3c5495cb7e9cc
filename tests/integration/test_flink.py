"""The scan runs unchanged on portable runners and gives the DirectRunner's hits and cases, byte for byte.

Flink: Beam's Flink job server jar (an embedded local Flink cluster) with LOOPBACK workers,
so the workers run in this test process and write the output files on the local disk.
The jar comes from Maven Central through scripts/flink-jobserver.sh (cached in
~/.cache/chatforensics) or from CHATFORENSICS_FLINK_JOB_SERVER_JAR.

Portable: Beam's own portable job service (`--job_endpoint=embed`), the same Runner API,
job submission and Fn API workers that Flink and Spark are driven through; it needs no jar.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pipelines.scan import run
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow
OUTPUTS = ("hits.jsonl", "cases.jsonl", "errors.jsonl")


def scan(out: Path, *runner_options: str) -> dict[str, bytes]:
    argv = ["--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--no-index", "--quiet", *runner_options]
    assert run(argv) == 0
    return {name: (out / name).read_bytes() for name in OUTPUTS}


@pytest.fixture(scope="module")
def direct(tmp_path_factory) -> dict[str, bytes]:
    return scan(tmp_path_factory.mktemp("direct"), "--direct_running_mode=in_memory")


@pytest.fixture(scope="module")
def flink_jar() -> str:
    given = os.environ.get("CHATFORENSICS_FLINK_JOB_SERVER_JAR")
    if given:
        return given
    fetched = subprocess.run(["bash", str(ROOT / "scripts" / "flink-jobserver.sh"), str(ROOT / ".venv/bin/python")],
                             capture_output=True, text=True, timeout=600)
    if fetched.returncode != 0:
        # Not a hidden service: the registry does not serve the artifact (see the report in README 'Scale-out').
        missing = [line for line in fetched.stderr.splitlines() if "find artifact" in line] or [fetched.stderr[-300:]]
        pytest.skip(f"Beam's Flink job server jar is not obtainable here: {missing[0].strip()[:300]}")
    return fetched.stdout.strip()


def test_portable_runner_gives_the_direct_runners_outputs(tmp_path, direct):
    portable = scan(tmp_path, "--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK")
    assert portable["hits.jsonl"].count(b"\n") > 0
    assert portable == direct


def test_flink_gives_the_direct_runners_outputs(tmp_path, direct, flink_jar):
    flink = scan(tmp_path, "--runner=FlinkRunner", "--flink_master=[local]", f"--flink_job_server_jar={flink_jar}",
                 "--environment_type=LOOPBACK", "--parallelism=2")
    assert flink["hits.jsonl"].count(b"\n") > 0
    assert flink == direct
