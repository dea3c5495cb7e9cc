"""`chatforensics kibana install`: import kibana/saved_objects.ndjson through Kibana's saved objects API.

The shipped objects name the default aliases (`chatforensics-hits`, `chatforensics-cases`);
with another index prefix the data views are retitled before upload, nothing else changes.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# kibana/ ships inside the package through the pipelines/kibana_objects link, so a wheel install has it too.
SAVED_OBJECTS = Path(__file__).parent / "kibana_objects" / "saved_objects.ndjson"
DEFAULT_PREFIX = "chatforensics"
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


def saved_objects(prefix: str = DEFAULT_PREFIX, path: Path = SAVED_OBJECTS) -> list[dict]:
    """The shipped objects, with data view titles pointing at `<prefix>-hits` / `<prefix>-cases`."""
    objects = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for obj in objects:
        if obj["type"] == "index-pattern":
            title = obj["attributes"]["title"]
            obj["attributes"]["title"] = prefix + title.removeprefix(DEFAULT_PREFIX)
    return objects


def to_ndjson(objects: list[dict]) -> bytes:
    return "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects).encode()


def multipart(field_name: str, filename: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = f"chatforensics-{uuid.uuid4().hex}"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def install(config: KibanaConfig, prefix: str = DEFAULT_PREFIX, timeout: float = 60) -> dict:
    """POST /api/saved_objects/_import?overwrite=true; returns Kibana's answer, raises when anything failed."""
    body, content_type = multipart("file", "saved_objects.ndjson", to_ndjson(saved_objects(prefix)),
                                   "application/ndjson")
    request = urllib.request.Request(
        f"{config.url}/api/saved_objects/_import?overwrite=true", data=body, method="POST",
        headers={"kbn-xsrf": "true", "Content-Type": content_type, **config.auth_header()},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=config.ssl_context()) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise KibanaError(f"Kibana answered {exc.code}: {exc.read()[:500].decode(errors='replace')}") from exc
    except urllib.error.URLError as exc:
        raise KibanaError(f"cannot reach Kibana at {config.url} ({exc.reason})") from exc
    if not answer.get("success"):
        problems = "; ".join(f"{e.get('type')} {e.get('id')}: {json.dumps(e.get('error'))}"
                             for e in answer.get("errors", []))
        raise KibanaError(f"Kibana imported {answer.get('successCount', 0)} object(s) and refused others: {problems}")
    return answer
