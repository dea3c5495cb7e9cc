"""`chatforensics kibana install` sends the import request Kibana expects (to a recording fake Kibana): the
objects generated for the prefix, opening on the time range of the indexed data (asked from the live node)."""

import datetime as dt
import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from pipelines.cli import main
from pipelines.kibana_build import build, object_id
from pipelines.sinks.files import read_jsonl
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.integration
GIVEN = ["--time-from", "2025-01-01T00:00:00.000Z", "--time-to", "now"]


class FakeKibana(BaseHTTPRequestHandler):
    requests: list[dict] = []
    answer = {"success": True, "successCount": 14}

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FakeKibana.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body})
        payload = json.dumps(FakeKibana.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def kibana():
    FakeKibana.requests = []
    FakeKibana.answer = {"success": True, "successCount": 14}
    server = HTTPServer(("127.0.0.1", 0), FakeKibana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def sent_objects(request: dict) -> list[dict]:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    boundary = headers["content-type"].split("boundary=")[1]
    part = request["body"].split(f"--{boundary}".encode())[1]
    head, content = part.split(b"\r\n\r\n", 1)
    assert b'name="file"; filename="saved_objects.ndjson"' in head
    return [json.loads(line) for line in content.strip().splitlines()]


def by_type(objects: list[dict], type_: str) -> dict:
    [found] = [o for o in objects if o["type"] == type_]
    return found


def test_install_posts_the_generated_objects_as_a_multipart_upload(kibana, monkeypatch, capsys):
    monkeypatch.setenv("CHATFORENSICS_ES_API_KEY", "c2VjcmV0LWtleQ==")
    assert main(["kibana", "install", "--kibana-url", kibana, "--es-prefix", "case42", *GIVEN]) == 0
    [request] = FakeKibana.requests
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["kbn-xsrf"] == "true"
    assert headers["authorization"] == "ApiKey c2VjcmV0LWtleQ=="
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    objects = sent_objects(request)
    assert objects == build("case42", ("2025-01-01T00:00:00.000Z", "now"))
    views = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert views == {"case42-hits", "case42-cases"}
    assert by_type(objects, "dashboard")["id"] == object_id("case42", "overview")
    out = capsys.readouterr().out
    assert "c2VjcmV0LWtleQ==" not in out
    assert "opens on 2025-01-01T00:00:00.000Z to now (as given)" in out


def test_install_uses_basic_auth_from_the_environment(kibana, monkeypatch):
    monkeypatch.delenv("CHATFORENSICS_ES_API_KEY", raising=False)
    monkeypatch.setenv("CHATFORENSICS_KIBANA_USERNAME", "investigator")
    monkeypatch.setenv("CHATFORENSICS_KIBANA_PASSWORD", "hunter2")
    assert main(["kibana", "install", "--kibana-url", kibana, *GIVEN]) == 0
    headers = {k.lower(): v for k, v in FakeKibana.requests[0]["headers"].items()}
    assert headers["authorization"] == "Basic aW52ZXN0aWdhdG9yOmh1bnRlcjI="


def test_install_into_a_named_space(kibana):
    assert main(["kibana", "install", "--kibana-url", kibana, "--space", "investigation-7", *GIVEN]) == 0
    assert FakeKibana.requests[0]["path"] == "/s/investigation-7/api/saved_objects/_import?overwrite=true"


def test_a_refused_import_fails_with_the_reason(kibana, capsys):
    FakeKibana.answer = {"success": False, "successCount": 13,
                         "errors": [{"type": "dashboard", "id": "x", "error": {"type": "missing_references"}}]}
    assert main(["kibana", "install", "--kibana-url", kibana, *GIVEN]) == 2
    assert "missing_references" in capsys.readouterr().err


def test_without_elasticsearch_and_without_a_range_the_install_says_what_to_do(kibana, capsys):
    assert main(["kibana", "install", "--kibana-url", kibana, "--es-url", "http://127.0.0.1:9"]) == 2
    assert "pass --time-from and --time-to" in capsys.readouterr().err
    assert FakeKibana.requests == []


def test_install_opens_on_the_time_range_of_a_sample_run(kibana, es_config, tmp_path, capsys):
    config = replace(es_config, prefix=f"{es_config.prefix}-install")
    out = tmp_path / "demo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHATFORENSICS_ES_PREFIX", config.prefix)
        assert main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--es-url", config.url,
                     "--quiet"]) == 0
    capsys.readouterr()
    config.client().indices.refresh(index=f"{config.prefix}-*")
    assert main(["kibana", "install", "--kibana-url", kibana, "--es-url", config.url,
                 "--es-prefix", config.prefix]) == 0
    times = sorted(h["@timestamp"] for h in read_jsonl(out / "hits.jsonl"))
    first, last = (dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (times[0], times[-1]))
    day = dt.timedelta(days=1)
    start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    end = last.replace(hour=0, minute=0, second=0, microsecond=0) + day
    expected = tuple(t.strftime("%Y-%m-%dT%H:%M:%S.000Z") for t in (start, end))
    objects = sent_objects(FakeKibana.requests[0])
    assert objects == build(config.prefix, expected)
    board, discover = by_type(objects, "dashboard")["attributes"], by_type(objects, "search")["attributes"]
    assert (board["timeRestore"], board["timeFrom"], board["timeTo"]) == (True, *expected)
    assert discover["timeRestore"] and discover["timeRange"] == {"from": expected[0], "to": expected[1]}
    assert f"opens on {expected[0]} to {expected[1]} (the indexed hits in {config.prefix}-hits)" in \
        capsys.readouterr().out


def test_install_before_the_first_run_opens_on_the_last_year_and_says_so(kibana, es_config, capsys):
    prefix = f"{es_config.prefix}-empty"
    assert main(["kibana", "install", "--kibana-url", kibana, "--es-url", es_config.url,
                 "--es-prefix", prefix]) == 0
    board = by_type(sent_objects(FakeKibana.requests[0]), "dashboard")["attributes"]
    assert (board["timeFrom"], board["timeTo"]) == ("now-1y", "now")
    assert f"{prefix}-hits holds no hits yet" in capsys.readouterr().out
