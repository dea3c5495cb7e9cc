"""Connection settings: options over environment over defaults, and secrets that never show."""

import logging

import pytest

from pipelines.cli import main
from pipelines.kibana import KibanaConfig
from pipelines.sinks.elasticsearch import EsConfig

API_KEY = "QVBJLUtFWS1zaG91bGQtbmV2ZXItc2hvdw=="
PASSWORD = "pa55-should-never-show"
ENV = {
    "CHATFORENSICS_ES_URL": "https://es.example:9243",
    "CHATFORENSICS_ES_API_KEY": API_KEY,
    "CHATFORENSICS_ES_USERNAME": "investigator",
    "CHATFORENSICS_ES_PASSWORD": PASSWORD,
    "CHATFORENSICS_ES_CA_FILE": "/etc/ssl/case.pem",
    "CHATFORENSICS_ES_VERIFY": "false",
    "CHATFORENSICS_ES_PREFIX": "case42",
}


@pytest.fixture
def env(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_every_setting_comes_from_the_environment(env):
    config = EsConfig.from_env()
    assert (config.url, config.api_key, config.username, config.password, config.ca_file, config.verify,
            config.prefix) == ("https://es.example:9243", API_KEY, "investigator", PASSWORD, "/etc/ssl/case.pem",
                               False, "case42")
    assert config.alias("hits") == "case42-hits"


def test_options_win_over_the_environment(env):
    config = EsConfig.from_env("http://127.0.0.1:9201", "other", verify=True, ca_file="/tmp/ca.pem")
    assert (config.url, config.prefix, config.verify, config.ca_file) == ("http://127.0.0.1:9201", "other", True,
                                                                          "/tmp/ca.pem")


def test_defaults_without_environment(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    config = EsConfig.from_env()
    assert (config.url, config.prefix, config.verify, config.api_key) == ("http://127.0.0.1:9200", "chatforensics",
                                                                          True, None)


def test_secrets_stay_out_of_repr_and_the_recorded_url(env):
    config = EsConfig.from_env()
    kibana = KibanaConfig.from_env("https://kibana.example")
    for text in (repr(config), str(config), repr(kibana)):
        assert API_KEY not in text and PASSWORD not in text
    assert EsConfig(url="https://user:hunter2@es.example:9243").safe_url == "https://es.example:9243"


def test_a_failing_connection_logs_and_prints_no_secret(env, monkeypatch, caplog, capsys):
    monkeypatch.setenv("CHATFORENSICS_ES_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    with caplog.at_level(logging.DEBUG):
        assert main(["es", "setup"]) == 2
        assert main(["kibana", "install", "--kibana-url", "http://127.0.0.1:9"]) == 2
    captured = capsys.readouterr()
    shown = captured.out + captured.err + caplog.text
    assert "cannot reach" in shown
    for secret in (API_KEY, PASSWORD, "aW52ZXN0aWdhdG9yOnBhNTU"):  # the last: base64 of "investigator:pa55"
        assert secret not in shown


def test_credentials_in_the_url_become_settings_and_leave_the_url(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    config = EsConfig.from_env("https://investigator:p%40ss%3Aword@es.example:9243/")
    assert (config.url, config.username, config.password) == ("https://es.example:9243/", "investigator", "p@ss:word")
    assert "p@ss" not in repr(config) and config.safe_url == config.url


def test_run_moves_url_credentials_into_the_environment_before_beam_sees_them(monkeypatch):
    from pipelines.scan import move_url_credentials

    monkeypatch.setenv("CHATFORENSICS_ES_USERNAME", "")  # restored after the test, whatever the run sets
    monkeypatch.setenv("CHATFORENSICS_ES_PASSWORD", "")
    argv = move_url_credentials(["--input", "x", "--es-url", "https://u:s3cr%2Ft@h:9201", "--es-url=http://v:w@h2"])
    assert argv == ["--input", "x", "--es-url", "https://h:9201", "--es-url=http://h2"]
    import os

    assert (os.environ["CHATFORENSICS_ES_USERNAME"], os.environ["CHATFORENSICS_ES_PASSWORD"]) == ("v", "w")
    assert move_url_credentials(["--es-url", "http://127.0.0.1:9200"]) == ["--es-url", "http://127.0.0.1:9200"]


def _take(args) -> int:
    path, times = args
    config = EsConfig(budget_file=path, retry_budget=7)
    from pipelines.sinks.elasticsearch import take_retry

    return sum(take_retry(config) for _ in range(times))


def test_the_retry_budget_is_one_for_the_whole_run_across_processes(tmp_path):
    """Four processes asking for 5 retries each get 7 between them: the budget is the run's, not a worker's."""
    import multiprocessing

    from pipelines.sinks.elasticsearch import retries_taken

    ledger = str(tmp_path / "es-retries")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        granted = pool.map(_take, [(ledger, 5)] * 4)
    assert sum(granted) == 7 and retries_taken(EsConfig(budget_file=ledger, retry_budget=7)) == 7


def test_backoff_has_jitter_within_its_bounds():
    from pipelines.sinks.elasticsearch import backoff

    config = EsConfig(backoff=0.5, max_backoff=16)
    for attempt, ceiling in enumerate([0.5, 1, 2, 4, 8, 16, 16]):
        delays = {backoff(config, attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
