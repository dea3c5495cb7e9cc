"""`chatforensics kibana install`: import the saved objects through Kibana's saved objects API.

The objects are generated for the index prefix (pipelines/kibana_build.py; kibana/saved_objects.ndjson is
the same for the default prefix), with ids derived from it, so several investigations share one Kibana
space; `--space` imports into another. The dashboard and the Discover session open on the time range of
the indexed hits, asked from Elasticsearch at install time, unless --time-from / --time-to say otherwise.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

from pipelines.kibana_build import DEFAULT_PREFIX, DEFAULT_TIME, build, to_ndjson

FALSE_WORDS = ("0", "false", "no", "off")


class KibanaError(RuntimeError):
    pass


@dataclass(frozen=True)
class KibanaConfig:
    """Kibana's address and credentials; secrets stay out of repr() and messages."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    verify: bool = True

    @classmethod
    def from_env(cls, url: str | None = None) -> KibanaConfig:
        """CHATFORENSICS_KIBANA_* first, then the Elasticsearch credentials (one stack, one login)."""
        env = os.environ

        def setting(name: str) -> str | None:
            return env.get(f"CHATFORENSICS_KIBANA_{name}") or env.get(f"CHATFORENSICS_ES_{name}") or None

        chosen_url = url or env.get("CHATFORENSICS_KIBANA_URL")
        if not chosen_url:
            raise KibanaError("pass --kibana-url URL or set CHATFORENSICS_KIBANA_URL")
        return cls(
            url=chosen_url.rstrip("/"),
            api_key=setting("API_KEY"),
            username=setting("USERNAME"),
            password=setting("PASSWORD"),
            ca_file=setting("CA_FILE"),
            verify=(setting("VERIFY") or "true").strip().lower() not in FALSE_WORDS,
        )

    def auth_header(self) -> dict[str, str]:
        if self.api_key:
            return {"Authorization": f"ApiKey {self.api_key}"}
        if self.username:
            token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        return {}

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("https"):
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def saved_objects(prefix: str = DEFAULT_PREFIX, time: tuple[str, str] = DEFAULT_TIME,
                  reports_url: str | None = None) -> list[dict]:
    """The objects for `<prefix>-hits` / `<prefix>-cases`, opening on `time` (Kibana time strings)."""
    return build(prefix, time, reports_url)


def data_time_range(es_config) -> tuple[str, str] | None:
    """The indexed hits' span, widened to whole UTC days (a one-minute case still shows as a bar); None when
    the index does not exist yet or holds nothing."""
    from elasticsearch import NotFoundError

    try:
        answer = es_config.client().search(
            index=es_config.alias("hits"), size=0,
            aggs={"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}})
    except NotFoundError:
        return None
    first, last = (answer["aggregations"][k].get("value") for k in ("first", "last"))
    if first is None or last is None:
        return None
    day = dt.timedelta(days=1)
    start = dt.datetime.fromtimestamp(first / 1000, dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = dt.datetime.fromtimestamp(last / 1000, dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) + day
    return tuple(t.strftime("%Y-%m-%dT%H:%M:%S.000Z") for t in (start, end))


def choose_time_range(es_config, time_from: str | None = None, time_to: str | None = None
                      ) -> tuple[tuple[str, str], str]:
    """The range the objects open on, and a sentence saying where it came from."""
    if time_from and time_to:
        return (time_from, time_to), "as given"
    from elasticsearch import ConnectionError as EsConnectionError

    try:
        found = data_time_range(es_config)
    except EsConnectionError as exc:
        raise KibanaError(f"cannot reach Elasticsearch at {es_config.safe_url} to read the indexed data's time "
                          "range; start it, or pass --time-from and --time-to") from exc
    if found is None:
        chosen = (time_from or DEFAULT_TIME[0], time_to or DEFAULT_TIME[1])
        return chosen, (f"{es_config.alias('hits')} holds no hits yet, so the last year; install again after a "
                        "run, or pass --time-from/--time-to")
    return (time_from or found[0], time_to or found[1]), f"the indexed hits in {es_config.alias('hits')}"


def multipart(field_name: str, filename: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = f"chatforensics-{uuid.uuid4().hex}"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def import_url(config: KibanaConfig, space: str | None = None) -> str:
    """Kibana's import endpoint, in the default space or in /s/<space>."""
    where = f"/s/{urllib.parse.quote(space, safe='')}" if space and space != "default" else ""
    return f"{config.url}{where}/api/saved_objects/_import?overwrite=true"


def install(config: KibanaConfig, objects: list[dict] | None = None, space: str | None = None,
            timeout: float = 60) -> dict:
    """POST the objects to _import?overwrite=true; returns Kibana's answer, raises when anything failed."""
    objects = saved_objects() if objects is None else objects
    body, content_type = multipart("file", "saved_objects.ndjson", to_ndjson(objects).encode(),
                                   "application/ndjson")
    request = urllib.request.Request(
        import_url(config, space), data=body, method="POST",
        headers={"kbn-xsrf": "true", "Content-Type": content_type, **config.auth_header()},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=config.ssl_context()) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and space:
            raise KibanaError(f"Kibana has no space {space!r} (create it first, or leave out --space)") from exc
        raise KibanaError(f"Kibana answered {exc.code}: {exc.read()[:500].decode(errors='replace')}") from exc
    except urllib.error.URLError as exc:
        raise KibanaError(f"cannot reach Kibana at {config.url} ({exc.reason})") from exc
    if not answer.get("success"):
        problems = "; ".join(f"{e.get('type')} {e.get('id')}: {json.dumps(e.get('error'))}"
                             for e in answer.get("errors", []))
        raise KibanaError(f"Kibana imported {answer.get('successCount', 0)} object(s) and refused others: {problems}")
    return answer
