"""The CLI against a secured node: https with a CA file, a least-privilege user, and every refusal stated clearly.

The node is the second one scripts/elasticsearch.sh runs (`start-secure`, port 9201): security and HTTP TLS on,
the `elastic` bootstrap password in its keystore, a writer and a reader in the file realm (config/roles.yml).
API keys need the .security index, which this distribution cannot create, so the API-key path is proved by the
header the client sends to a recording server.
"""

import base64
import json
import logging
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from elasticsearch import ElasticsearchWarning

from pipelines.cli import main
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.integration
ES_SETTINGS = ("URL", "API_KEY", "USERNAME", "PASSWORD", "CA_FILE", "VERIFY", "PREFIX")
API_KEY = base64.b64encode(b"VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw").decode()


def use(monkeypatch, **settings):
    """Exactly these CHATFORENSICS_ES_* settings, nothing inherited from the caller's environment."""
    for name in ES_SETTINGS:
        monkeypatch.delenv(f"CHATFORENSICS_ES_{name}", raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(f"CHATFORENSICS_ES_{name.upper()}", value)


def scan(out, monkeypatch, **settings) -> int:
    use(monkeypatch, **settings)
    return main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--quiet"])


def as_user(node, role: str, **extra) -> dict:
    user, password = node.users[role]
    return {"url": node.url, "ca_file": node.ca_file, "username": user, "password": password, "prefix": node.prefix,
            **extra}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The demo scanned without indexing: what every run must leave on disk, indexed or refused."""
    out = tmp_path_factory.mktemp("reference")
    assert main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(out), "--quiet", "--no-index"]) == 0
    return out


@pytest.fixture
def debug_logs(caplog):
    """Every record of the client, the transport and the pipeline, down to DEBUG (requests included)."""
    for name in ("elastic_transport", "elasticsearch", "pipelines"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def outputs_complete(out, reference) -> dict:
    for name in ("hits.jsonl", "cases.jsonl"):
        assert (out / name).read_text() == (reference / name).read_text(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == json.loads((reference / "manifest.json").read_text())["counts"]
    assert manifest["counts"]["hits"] > 0 and manifest["counts"]["cases"] > 0
    return manifest


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def assert_never_shown(secret: str, user: str | None, out, *texts: str) -> None:
    """Neither the secret nor the Basic header made of it in any text or in any file the run wrote."""
    forms = [secret] + ([base64.b64encode(f"{user}:{secret}".encode()).decode()] if user else [])
    files = {path: path.read_bytes().decode(errors="replace") for path in out.rglob("*") if path.is_file()}
    assert {out / "manifest.json", out / "errors.jsonl", out / "hits.jsonl"} <= files.keys()
    for form in forms:
        assert [i for i, text in enumerate(texts) if form in text] == []
        assert [str(path) for path, text in files.items() if form in text] == []


def nothing_indexed(node, prefix: str) -> None:
    assert node.admin.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all") == {}


def test_writer_indexes_over_https_with_the_ca_file(secure_es, reference, tmp_path, monkeypatch, capsys, debug_logs,
                                                     recwarn):
    writer = as_user(secure_es, "writer")
    use(monkeypatch, **writer)
    assert main(["es", "setup"]) == 0  # creates the indices: the run below takes the update-in-place path
    code = scan(tmp_path, monkeypatch, **writer)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    manifest = outputs_complete(tmp_path, reference)
    es = manifest["elasticsearch"]
    assert es["verified"] is True and es["url"] == secure_es.url and es["tls_verify"] is True
    assert es["found"] == es["expected"] == {"hits": manifest["counts"]["hits"], "cases": manifest["counts"]["cases"]}

    admin, run_id = secure_es.admin, manifest["run"]["id"]
    for kind in ("hits", "cases"):
        alias = f"{secure_es.prefix}-{kind}"
        admin.indices.refresh(index=alias)
        assert admin.count(index=alias)["count"] == manifest["counts"][kind]
        assert admin.count(index=alias, query={"term": {"run.id": run_id}})["count"] == manifest["counts"][kind]
    record = admin.get(index=f"{secure_es.prefix}-runs", id=run_id)["_source"]
    assert record["counts"] == manifest["counts"]

    user, password = secure_es.users["writer"]
    assert_never_shown(password, user, tmp_path, captured.out, captured.err, debug_logs.text, json.dumps(record))
    # The role grants mapping updates explicitly: no "index privilege allowed the update mapping" deprecation.
    assert [str(w.message) for w in recwarn if issubclass(w.category, ElasticsearchWarning)] == []


def test_a_wrong_password_is_refused_in_one_line_and_the_files_are_complete(secure_es, reference, tmp_path,
                                                                            monkeypatch, capsys, debug_logs):
    wrong = f"wrong-{uuid.uuid4().hex}"
    prefix = f"{secure_es.prefix}-badpw"
    code = scan(tmp_path, monkeypatch, **as_user(secure_es, "writer", password=wrong, prefix=prefix))
    captured = capsys.readouterr()
    assert code == 3
    line = error_line(captured.err)
    assert "did not accept the credentials" in line and "401" in line and secure_es.users["writer"][0] in line
    manifest = outputs_complete(tmp_path, reference)
    recorded = manifest["elasticsearch"]
    assert recorded.keys() == {"indexed", "url", "error", "tls_verify"} and recorded["indexed"] is False
    assert recorded["url"] == secure_es.url and recorded["error"] in line
    nothing_indexed(secure_es, prefix)
    assert_never_shown(wrong, secure_es.users["writer"][0], tmp_path, captured.out, captured.err, debug_logs.text)


def test_a_read_only_user_is_refused_with_the_missing_privilege(secure_es, reference, tmp_path, monkeypatch, capsys,
                                                                debug_logs):
    prefix = f"{secure_es.prefix}-reader"
    code = scan(tmp_path, monkeypatch, **as_user(secure_es, "reader", prefix=prefix))
    captured = capsys.readouterr()
    assert code == 3
    line = error_line(captured.err)
    assert "403" in line and "chatforensics_reader" in line and "indices:admin/index_template/put" in line
    assert outputs_complete(tmp_path, reference)["elasticsearch"]["indexed"] is False
    nothing_indexed(secure_es, prefix)
    user, password = secure_es.users["reader"]
    assert_never_shown(password, user, tmp_path, captured.out, captured.err, debug_logs.text)


def test_the_writer_cannot_touch_indices_outside_its_prefix(secure_es, reference, tmp_path, monkeypatch, capsys):
    """The role names `chatforensics-*`; other indices are refused (not templates: that privilege is cluster-wide)."""
    prefix = f"cfother-{uuid.uuid4().hex[:8]}"
    try:
        code = scan(tmp_path, monkeypatch, **as_user(secure_es, "writer", prefix=prefix))
        line = error_line(capsys.readouterr().err)
        assert code == 3 and "403" in line and "chatforensics_writer" in line and f"{prefix}-*" in line
        outputs_complete(tmp_path, reference)
        nothing_indexed(secure_es, prefix)
    finally:
        secure_es.admin.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")


def test_an_untrusted_certificate_is_refused_at_once(secure_es, reference, tmp_path, monkeypatch, capsys, debug_logs):
    settings = as_user(secure_es, "writer", prefix=f"{secure_es.prefix}-noca")
    del settings["ca_file"]  # the system trust store does not know the node's CA
    code = scan(tmp_path, monkeypatch, **settings)
    captured = capsys.readouterr()
    assert code == 3
    line = error_line(captured.err)
    assert "not trusted" in line and "certificate verify failed" in line and "CHATFORENSICS_ES_CA_FILE" in line
    # A certificate does not fix itself: no retries with backoff before giving up.
    assert [r.getMessage() for r in debug_logs.records if "retry" in r.getMessage()] == []
    outputs_complete(tmp_path, reference)
    nothing_indexed(secure_es, settings["prefix"])
    user, password = secure_es.users["writer"]
    assert_never_shown(password, user, tmp_path, captured.out, captured.err, debug_logs.text)


def test_verify_false_indexes_without_a_ca_and_warns_once(secure_es, reference, tmp_path, monkeypatch, capsys,
                                                          debug_logs, recwarn):
    settings = as_user(secure_es, "writer", prefix=f"{secure_es.prefix}-noverify", verify="false")
    del settings["ca_file"]
    code = scan(tmp_path, monkeypatch, **settings)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    manifest = outputs_complete(tmp_path, reference)
    assert manifest["elasticsearch"]["verified"] is True
    # Recorded where an investigator looks later: the manifest and the run record in the index.
    assert manifest["elasticsearch"]["tls_verify"] is False
    record = secure_es.admin.get(index=f"{settings['prefix']}-runs", id=manifest["run"]["id"])["_source"]
    assert record["elasticsearch"]["tls_verify"] is False
    warned = [r for r in debug_logs.records if "verification is off" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING and secure_es.url in warned[0].getMessage()
    assert [w for w in recwarn if "Unverified HTTPS" in str(w.message) or "verify_certs" in str(w.message)] == []
    user, password = secure_es.users["writer"]
    assert_never_shown(password, user, tmp_path, captured.out, captured.err, debug_logs.text)


class Recorder(BaseHTTPRequestHandler):
    """Records each request's headers and answers like a node that does not know the key: 401, JSON."""

    seen: list = []
    error = {"type": "security_exception", "reason": "unable to authenticate with the key"}

    def _answer(self):
        self.seen.append({name.lower(): value for name, value in self.headers.items()})
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": self.error, "status": 401}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    def log_message(self, *args):
        pass


def test_an_api_key_is_sent_as_the_apikey_header_and_never_shown(reference, tmp_path, monkeypatch, capsys,
                                                                  debug_logs):
    """API keys cannot be made on this distribution, so the header the client sends is what is tested."""
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # A username and password as well: the key wins, and no Basic header goes out.
        code = scan(tmp_path, monkeypatch, url=f"http://127.0.0.1:{server.server_port}", api_key=API_KEY,
                    username="investigator", password="pa55-not-used", prefix="chatforensics-apikey")
    finally:
        server.shutdown()
        server.server_close()
    captured = capsys.readouterr()
    assert Recorder.seen and {h.get("authorization") for h in Recorder.seen} == {f"ApiKey {API_KEY}"}
    assert code == 3 and "the API key; 401" in error_line(captured.err)
    outputs_complete(tmp_path, reference)
    assert_never_shown(API_KEY, None, tmp_path, captured.out, captured.err, debug_logs.text)
    assert_never_shown("pa55-not-used", "investigator", tmp_path, captured.out, captured.err, debug_logs.text)


class ExpiredKey(Recorder):
    """Answers as Elasticsearch does for an API key past its expiration (its body, with the realm's reason)."""

    error = {"type": "security_exception",
             "reason": "unable to authenticate with provided credentials and anonymous access is not allowed for "
                       "this request",
             "additional_unsuccessful_credentials": "API key: api key is expired"}


def run_against(handler, tmp_path, monkeypatch, **settings) -> int:
    handler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return scan(tmp_path, monkeypatch, url=f"http://127.0.0.1:{server.server_port}", **settings)
    finally:
        server.shutdown()
        server.server_close()


def test_an_expired_api_key_is_named_as_expired(reference, tmp_path, monkeypatch, capsys, debug_logs):
    code = run_against(ExpiredKey, tmp_path, monkeypatch, api_key=API_KEY, prefix="chatforensics-expired")
    line = error_line(capsys.readouterr().err)
    assert code == 3 and "API key has expired" in line and "api key is expired" in line
    assert len(ExpiredKey.seen) == 1  # not retried
    outputs_complete(tmp_path, reference)


def test_a_missing_ca_file_is_named_at_once_and_the_files_are_complete(secure_es, reference, tmp_path, monkeypatch,
                                                                       capsys, debug_logs):
    missing = tmp_path / "no-such-dir" / "ca.pem"
    started = time.monotonic()
    code = scan(tmp_path / "out", monkeypatch, **as_user(secure_es, "writer", ca_file=str(missing),
                                                         prefix=f"{secure_es.prefix}-missingca"))
    line = error_line(capsys.readouterr().err)
    assert code == 3 and str(missing) in line and "does not exist" in line and "Errno" not in line
    assert [r.getMessage() for r in debug_logs.records if "retry" in r.getMessage()] == []
    assert time.monotonic() - started < 25  # the scan alone; before, 31 s of retries came first
    outputs_complete(tmp_path / "out", reference)


def test_https_to_a_plain_http_port_is_said_at_once(es_url, reference, tmp_path, monkeypatch, capsys, debug_logs):
    """The plain node on its port, asked with https: a handshake answered in plain HTTP, not a node that is away."""
    code = scan(tmp_path, monkeypatch, url=es_url.replace("http://", "https://"), prefix="chatforensics-plainport")
    line = error_line(capsys.readouterr().err)
    assert code == 3 and "does not speak TLS" in line and "make es-start" not in line
    assert [r.getMessage() for r in debug_logs.records if "retry" in r.getMessage()] == []
    outputs_complete(tmp_path, reference)


def test_es_setup_gives_each_cause_its_own_line(secure_es, es_url, tmp_path, monkeypatch, capsys):
    """Wrong password, missing privilege, no CA, a CA file that is not there, https to a plain port, no
    credentials at all: one line each, each naming its cause, none retried."""
    prefix = f"{secure_es.prefix}-causes"
    writer = as_user(secure_es, "writer", prefix=prefix)
    causes = {
        "did not accept the credentials": {**writer, "password": f"wrong-{uuid.uuid4().hex}"},
        "refused user chatforensics_reader a privilege": as_user(secure_es, "reader", prefix=prefix),
        "is not trusted": {k: v for k, v in writer.items() if k != "ca_file"},
        "does not exist": {**writer, "ca_file": str(tmp_path / "gone.pem")},
        "does not speak TLS": {"url": es_url.replace("http://", "https://"), "prefix": prefix},
        "asks for credentials and none were given": {"url": secure_es.url, "ca_file": secure_es.ca_file,
                                                     "prefix": prefix},
    }
    lines = {}
    for cause, settings in causes.items():
        use(monkeypatch, **settings)
        started = time.monotonic()
        assert main(["es", "setup"]) == 2
        lines[cause] = error_line(capsys.readouterr().err)
        assert cause in lines[cause] and time.monotonic() - started < 10, lines[cause]
    assert len(set(lines.values())) == len(causes)
    assert not any("security_exception" in line.split(":", 2)[-1][:40] for line in lines.values())
    nothing_indexed(secure_es, prefix)


def test_credentials_in_the_es_url_stay_out_of_beam_and_of_process_listings(secure_es, reference, tmp_path,
                                                                             monkeypatch, capsys):
    """`--es-url https://user:pass@host` works (the local worker processes index with it), but the user and
    password are taken out of the URL before Beam copies the options into the pipeline: no pipeline option,
    no worker's command line and no worker's PIPELINE_OPTIONS holds the password."""
    import apache_beam as beam

    user, password = secure_es.users["writer"]
    prefix = f"{secure_es.prefix}-urlcreds"
    use(monkeypatch, ca_file=secure_es.ca_file, prefix=prefix)
    # Where the run moves the URL's credentials: empty now, restored after the test.
    monkeypatch.setenv("CHATFORENSICS_ES_USERNAME", "")
    monkeypatch.setenv("CHATFORENSICS_ES_PASSWORD", "")
    host = secure_es.url.removeprefix("https://")
    url = f"https://{quote(user, safe='')}:{quote(password, safe='')}@{host}"

    options_seen = []
    real_pipeline = beam.Pipeline

    class Recording(real_pipeline):
        def __init__(self, *args, options=None, **kwargs):
            options_seen.append(json.dumps(options.get_all_options(retain_unknown_options=True), default=str))
            super().__init__(*args, options=options, **kwargs)

    monkeypatch.setattr(beam, "Pipeline", Recording)
    listings, stop = [], threading.Event()

    def watch():  # what `ps` (command lines) and `ps e` (environments) show of this process's children
        while not stop.wait(0.2):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
                    environ = (proc / "environ").read_bytes().decode(errors="replace").split("\0")
                except OSError:
                    continue
                shown = [cmdline, *[v for v in environ if v.startswith("PIPELINE_OPTIONS=")]]
                listings.extend(text for text in shown if "sdk_worker" in cmdline or "PIPELINE_OPTIONS" in text)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        code = main(["run", "--input", str(EXAMPLES / "slack-demo"), "--out", str(tmp_path), "--quiet",
                     "--es-url", url, "--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    finally:
        stop.set()
        watcher.join()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert outputs_complete(tmp_path, reference)["elasticsearch"]["verified"] is True
    assert options_seen and listings, "the pipeline and its worker processes were seen"
    assert [text for text in [*options_seen, *listings] if password in text or quote(password, safe="") in text] == []
    assert_never_shown(password, user, tmp_path, captured.out, captured.err)
