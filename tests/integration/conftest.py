"""Fixtures of the integration tests that more than one module uses: the Flink job server (one per session)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

JOBSERVER = ROOT / "scripts" / "flink-jobserver.sh"


def flink_jobserver(command: str, state: Path) -> str:
    """Runs scripts/flink-jobserver.sh; its state folder keeps this session's server apart from others'."""
    done = subprocess.run(["bash", str(JOBSERVER), command], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "CHATFORENSICS_FLINK_STATE": str(state)})
    if done.returncode != 0:
        pytest.fail(f"scripts/flink-jobserver.sh {command} failed (exit {done.returncode}): {done.stderr[-1500:]}")
    return done.stdout.strip()


@pytest.fixture(scope="session")
def flink_endpoint(tmp_path_factory):
    state = tmp_path_factory.mktemp("flink-jobserver")
    yield flink_jobserver("start", state)
    flink_jobserver("stop", state)


@pytest.fixture(scope="session")
def flink_launcher(tmp_path_factory) -> str:
    return flink_jobserver("fetch", tmp_path_factory.mktemp("flink-fetch"))
