"""The scan runs unchanged on portable runners and gives the DirectRunner's hits and cases, byte for byte.

Flink: Beam's Flink job server (an embedded local Flink cluster) with LOOPBACK workers, so the workers
run in this test process and write the output files on the local disk. scripts/flink-jobserver.sh
assembles it from Maven Central (cached in ~/.cache/chatforensics/flink); a registry that cannot serve
it fails these tests, it does not skip them.

Portable: Beam's own portable job service (`--job_endpoint=embed`), the same Runner API,
job submission and Fn API workers that Flink and Spark are driven through; it needs no jar.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.scan import run
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.slow
OUTPUTS = ("hits.jsonl", "cases.jsonl", "errors.jsonl")


def scan(out: Path, *runner_options: str) -> dict[str, bytes]:
    argv = ["--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--no-index", "--quiet", *runner_options]
    assert run(argv) == 0
    return {name: (out / name).read_bytes() for name in OUTPUTS}


@pytest.fixture(scope="module")
def direct(tmp_path_factory) -> dict[str, bytes]:
    return scan(tmp_path_factory.mktemp("direct"), "--direct_running_mode=in_memory")


def test_portable_runner_gives_the_direct_runners_outputs(tmp_path, direct):
    portable = scan(tmp_path, "--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK")
    assert portable["hits.jsonl"].count(b"\n") > 0
    assert portable == direct


def test_flink_gives_the_direct_runners_outputs(tmp_path, direct, flink_endpoint):
    flink = scan(tmp_path, "--runner=PortableRunner", f"--job_endpoint={flink_endpoint}",
                 "--environment_type=LOOPBACK", "--parallelism=2")
    assert flink["hits.jsonl"].count(b"\n") > 0
    assert flink == direct


def test_flink_runner_starts_the_job_server_from_the_launcher_jar(tmp_path, direct, flink_launcher):
    """The README's one-command form: Beam's FlinkRunner runs the launcher jar itself for the pipeline."""
    flink = scan(tmp_path, "--runner=FlinkRunner", "--flink_master=[local]",
                 f"--flink_job_server_jar={flink_launcher}", "--environment_type=LOOPBACK")
    assert flink == direct
