"""The README demo: the two concealment conversations are flagged, the look-alikes stay low (examples/README.md)."""

import json

import pytest

from pipelines.scan import run
from tests.conftest import EXAMPLES

RANK = {"low": 0, "medium": 1, "high": 2}


@pytest.fixture(scope="module")
def worst_by_day(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert run(["--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--no-index", "--quiet"]) == 0
    worst: dict[tuple[str, str], str] = {}
    for line in (out / "hits.jsonl").read_text().splitlines():
        hit = json.loads(line)
        key = (hit["conversation"]["name"], hit["@timestamp"][:10])
        severity = hit["detection"]["severity"]
        if RANK[severity] > RANK[worst.get(key, "low")]:
            worst[key] = severity
    return worst


def test_the_ml_platform_thread_is_high(worst_by_day):
    assert worst_by_day[("ml-platform", "2025-03-05")] == "high"


def test_the_chinese_data_eng_conversation_is_medium_or_worse(worst_by_day):
    assert RANK[worst_by_day[("data-eng", "2025-03-06")]] >= 1


def test_look_alikes_stay_below_medium(worst_by_day):
    flagged = {key for key, severity in worst_by_day.items() if severity != "low"}
    assert flagged <= {("ml-platform", "2025-03-05"), ("ml-platform", "2025-03-06"), ("data-eng", "2025-03-06")}
