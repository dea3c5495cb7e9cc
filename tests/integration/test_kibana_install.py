"""`chatforensics kibana install` sends the import request Kibana expects (to a recording fake Kibana)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from pipelines.cli import main

pytestmark = pytest.mark.integration


class FakeKibana(BaseHTTPRequestHandler):
    requests: list[dict] = []
    answer = {"success": True, "successCount": 21}

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
    FakeKibana.answer = {"success": True, "successCount": 21}
    server = HTTPServer(("127.0.0.1", 0), FakeKibana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_install_posts_the_saved_objects_as_a_multipart_upload(kibana, monkeypatch, capsys):
    monkeypatch.setenv("CHATFORENSICS_ES_API_KEY", "c2VjcmV0LWtleQ==")
    assert main(["kibana", "install", "--kibana-url", kibana, "--es-prefix", "case42"]) == 0
    [request] = FakeKibana.requests
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["kbn-xsrf"] == "true"
    assert headers["authorization"] == "ApiKey c2VjcmV0LWtleQ=="
    boundary = headers["content-type"].split("boundary=")[1]
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    part = request["body"].split(f"--{boundary}".encode())[1]
    head, content = part.split(b"\r\n\r\n", 1)
    assert b'name="file"; filename="saved_objects.ndjson"' in head
    objects = [json.loads(line) for line in content.strip().splitlines()]
    assert len(objects) == 21
    views = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert views == {"case42-hits", "case42-cases"}
    assert "c2VjcmV0LWtleQ==" not in capsys.readouterr().out


def test_install_uses_basic_auth_from_the_environment(kibana, monkeypatch):
    monkeypatch.delenv("CHATFORENSICS_ES_API_KEY", raising=False)
    monkeypatch.setenv("CHATFORENSICS_KIBANA_USERNAME", "investigator")
    monkeypatch.setenv("CHATFORENSICS_KIBANA_PASSWORD", "hunter2")
    assert main(["kibana", "install", "--kibana-url", kibana]) == 0
    headers = {k.lower(): v for k, v in FakeKibana.requests[0]["headers"].items()}
    assert headers["authorization"] == "Basic aW52ZXN0aWdhdG9yOmh1bnRlcjI="


def test_a_refused_import_fails_with_the_reason(kibana, capsys):
    FakeKibana.answer = {"success": False, "successCount": 20,
                         "errors": [{"type": "dashboard", "id": "chatforensics-overview",
                                     "error": {"type": "missing_references"}}]}
    assert main(["kibana", "install", "--kibana-url", kibana]) == 2
    assert "missing_references" in capsys.readouterr().err
