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
