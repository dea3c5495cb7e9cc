"""An HTTP proxy in front of the real plain node that injects one kind of failure: for the requests a rule picks
it answers with a status and Elasticsearch's own error body, or drops the connection (a node that went away);
every other request reaches the node unchanged. It counts what it saw, so tests can hold the sink to a budget.

The node itself is never stopped or changed: it is shared by the whole session.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

# What the node itself answers when these happen (bodies as Elasticsearch 9 writes them).
TOO_MANY = (429, {"error": {"type": "es_rejected_execution_exception",
                            "reason": "rejected execution of coordinating operation"}, "status": 429})
FORBIDDEN_BULK = (403, {"error": {"root_cause": [{"type": "security_exception", "reason": "x"}],
                                  "type": "security_exception",
                                  "reason": "action [indices:data/write/bulk[s]] is unauthorized for user "
                                            "[chatforensics_writer] with effective roles [chatforensics_writer] on "
                                            "indices [cftest-hits-v1], this action is granted by the index "
                                            "privileges [create_doc,create,delete,index,write,all]"},
                          "status": 403})
DROP = "drop"  # close the connection without an answer


class FaultProxy:
    """`with FaultProxy(node_url, rule) as proxy:` ... `proxy.url`; `rule(method, path, seen, body)` returns None
    (forward), DROP, or (status, JSON document). `seen` counts the earlier requests by `path_kind`."""

    def __init__(self, node_url: str, rule: Callable[[str, str, dict, bytes], object]):
        self.node = urlsplit(node_url)
        self.rule = rule
        self.requests: list[tuple[float, str, str, object]] = []  # (time, method, path, what was done)
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy.lock:
                    seen = proxy.seen()
                    action = proxy.rule(self.command, self.path, seen, body)
                    if callable(action):  # an answer made from the request (see items_answered)
                        action = action(body)
                    proxy.requests.append((time.monotonic(), self.command, self.path,
                                           action if action in (None, DROP) else action[0]))
                if action == DROP:
                    self.close_connection = True
                    self.connection.close()
                    return
                if action is not None:
                    status, doc = action
                    self._send(status, {"Content-Type": "application/json", "X-Elastic-Product": "Elasticsearch"},
                               json.dumps(doc).encode())
                    return
                upstream = http.client.HTTPConnection(proxy.node.hostname, proxy.node.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self._send(answer.status, {k: v for k, v in answer.getheaders() if k.lower() not in HOP_HEADERS},
                           data)
                upstream.close()

            def _send(self, status, headers, data):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def seen(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, _method, path, _ in self.requests:
            out[path_kind(path)] = out.get(path_kind(path), 0) + 1
        return out

    def times(self, kind: str) -> list[float]:
        return [at for at, _, path, _ in self.requests if path_kind(path) == kind]

    def count(self, kind: str, action: object = "any") -> int:
        return sum(1 for _, _, path, done in self.requests
                   if path_kind(path) == kind and (action == "any" or done == action))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def path_kind(path: str) -> str:
    """_bulk, _count, runs (the run record), or other."""
    path = path.split("?", 1)[0]
    if path.endswith("/_bulk"):
        return "_bulk"
    if path.endswith("/_count"):
        return "_count"
    if "-runs/_doc/" in path:
        return "runs"
    return "other"


def on(kind: str, answer, after: int = 0, until: int | None = None):
    """A rule: `answer` the requests of `kind` from number `after` (0: the first) to before `until` (None: all
    that follow); forward everything else."""

    def rule(method, path, seen, body):
        done = seen.get(kind, 0)
        return answer if path_kind(path) == kind and done >= after and (until is None or done < until) else None

    return rule


def from_then_on(kind: str, answer, after: int):
    """A rule: forward until `after` requests of `kind` have passed, then `answer` every request of any kind
    (a node that went away mid-run)."""
    return lambda method, path, seen, body: answer if seen.get(kind, 0) >= after else None


def items_answered(status: int, reason: str):
    """A _bulk answer (200) in which every document of the request got `status`, as the node writes it."""

    def answer(body: bytes) -> tuple[int, dict]:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        ids = [line["index"]["_id"] for line in lines[::2]]
        return 200, {"took": 1, "errors": True, "items": [
            {"index": {"_index": "x", "_id": i, "status": status,
                       "error": {"type": "es_rejected_execution_exception", "reason": reason}}} for i in ids]}

    return answer
