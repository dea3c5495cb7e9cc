"""Elasticsearch connection settings, one-line failure causes, and the run's retry policy and budget.

What both the admin commands (admin.py) and the sink (sink.py) talk to the node through.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from elastic_transport import TlsError, TransportError
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    ConnectionError,
    ConnectionTimeout,
    Elasticsearch,
)

log = logging.getLogger(__name__)
RETRY_STATUS = (429, 502, 503, 504)
FALSE_WORDS = ("0", "false", "no", "off")


class ElasticsearchProblem(RuntimeError):
    """Elasticsearch did not do what a step asked, in one line that names the cause (never a secret).

    `retryable` is False when retrying cannot help (credentials, privileges, certificates, settings, a
    redaction conflict); True when the node was away or busy and the retries or the run's budget ran out.
    """

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class SettingError(ValueError):
    """A connection setting that cannot work (a CA file that is not there): said before any request."""


class BusyItems(Exception):
    """Some documents of a bulk request were answered with a retryable status (429, 5xx) one by one."""

    def __init__(self, status: int, documents: int, reason: str):
        super().__init__(f"{documents} document(s) answered {status}: {reason}")
        self.status, self.documents, self.reason = status, documents, reason


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """`https://user:pass@host:9243` -> ("https://host:9243", "user", "pass"), percent-decoded."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return urlunsplit(parts._replace(netloc=netloc)), user, password


@dataclass(frozen=True)
class EsConfig:
    """Where and how to connect. Secrets never appear in repr(), logs or the run record.

    `retries` bounds one call's retries; `retry_budget` bounds every retry of a run together (all steps,
    all workers), counted in the file `budget_file` (the run's work folder) when there is one.
    """

    url: str = "http://127.0.0.1:9200"
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    verify: bool = True
    prefix: str = "chatforensics"
    retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 16.0
    retry_budget: int = 10
    budget_file: str | None = None

    def __post_init__(self):
        # Credentials in the URL (https://user:pass@host) become settings; the URL kept is the bare one,
        # so it can be shown, recorded and passed on without them.
        url, user, password = split_credentials(self.url)
        if user is not None or password is not None:
            object.__setattr__(self, "url", url)
            object.__setattr__(self, "username", user)
            object.__setattr__(self, "password", password)

    @classmethod
    def from_env(cls, url: str | None = None, prefix: str | None = None, **options) -> EsConfig:
        """Options given explicitly win over CHATFORENSICS_ES_* variables, which win over defaults."""
        env = os.environ
        verify = options.pop("verify", None)
        if verify is None:
            verify = env.get("CHATFORENSICS_ES_VERIFY", "true").strip().lower() not in FALSE_WORDS
        chosen = {
            "url": url or env.get("CHATFORENSICS_ES_URL") or cls.url,
            "prefix": prefix or env.get("CHATFORENSICS_ES_PREFIX") or cls.prefix,
            "api_key": env.get("CHATFORENSICS_ES_API_KEY") or None,
            "username": env.get("CHATFORENSICS_ES_USERNAME") or None,
            "password": env.get("CHATFORENSICS_ES_PASSWORD") or None,
            "ca_file": env.get("CHATFORENSICS_ES_CA_FILE") or None,
            "verify": verify,
        }
        if env.get("CHATFORENSICS_ES_RETRY_BUDGET", "").strip():
            try:
                chosen["retry_budget"] = max(0, int(env["CHATFORENSICS_ES_RETRY_BUDGET"]))
            except ValueError as exc:
                raise SettingError(f"CHATFORENSICS_ES_RETRY_BUDGET must be a whole number, not "
                                   f"{env['CHATFORENSICS_ES_RETRY_BUDGET']!r}") from exc
        chosen.update({k: v for k, v in options.items() if v is not None})
        config = cls(**chosen)
        if config.url.startswith("https") and not config.verify:
            # Here, once per command: client() runs in every worker and for every count.
            log.warning("TLS certificate verification is off for %s (CHATFORENSICS_ES_VERIFY=false): "
                        "anyone on the path can read and change what is sent, credentials included", config.safe_url)
        return config

    @property
    def safe_url(self) -> str:
        """The URL without any user:password@ part, for messages and the run record."""
        parts = urlsplit(self.url)
        if not parts.username and not parts.password:
            return self.url
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def tls_verify(self) -> bool | None:
        """For the run record: whether the node's certificate is checked (None: plain http, no TLS)."""
        return self.verify if self.url.startswith("https") else None

    def client(self) -> Elasticsearch:
        # Transport retries stay off: with_retries owns the retry policy (and the run's budget).
        kwargs: dict = {"request_timeout": 30, "max_retries": 0}
        if self.api_key:
            kwargs["api_key"] = self.api_key
        elif self.username:
            kwargs["basic_auth"] = (self.username, self.password or "")
        if self.url.startswith("https"):
            kwargs["verify_certs"] = self.verify
            if self.ca_file and self.verify:
                check_ca_file(self.ca_file)
                kwargs["ca_certs"] = self.ca_file
            if not self.verify:
                kwargs["ssl_show_warn"] = False
        return Elasticsearch(self.url, **kwargs)

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"


def check_ca_file(path: str) -> None:
    """The CA file must be a readable file; said with its path (ssl's own error is a bare "[Errno 2]")."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except IsADirectoryError as exc:
        raise SettingError(f"CHATFORENSICS_ES_CA_FILE {path} is a folder, not a CA file") from exc
    except FileNotFoundError as exc:
        raise SettingError(f"CHATFORENSICS_ES_CA_FILE {path} does not exist") from exc
    except OSError as exc:
        raise SettingError(f"CHATFORENSICS_ES_CA_FILE {path} cannot be read ({exc.strerror})") from exc


def untrusted_certificate(exc: Exception) -> bool:
    """A TLS failure that no retry fixes: the node's certificate does not verify against the CA given."""
    return isinstance(exc, TlsError) and "certificate verify failed" in str(exc.message).lower()


def _plain_http(exc: Exception) -> bool:
    """A TLS handshake answered in plain HTTP: the URL says https, the port does not speak it."""
    text = str(getattr(exc, "message", exc)).lower()
    return isinstance(exc, TlsError) and any(sign in text for sign in ("wrong version number", "record layer failure",
                                                                      "http request", "unknown protocol"))


def _error_of(exc: ApiError) -> dict:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _who(config: EsConfig) -> str:
    return "the API key" if config.api_key else f"user {config.username}" if config.username else "no credentials"


ES_ERRORS = (ApiError, TransportError, SettingError, BusyItems)


def explain(config: EsConfig, exc: Exception) -> tuple[str, bool]:
    """One line naming why a request failed, and whether retrying it could help. Each cause its own line."""
    url = config.safe_url
    if isinstance(exc, SettingError):
        return str(exc), False
    if isinstance(exc, AuthenticationException):
        error = _error_of(exc)
        extra = str(error.get("additional_unsuccessful_credentials") or "")
        if config.api_key and "expired" in extra.lower():
            return (f"Elasticsearch at {url} says the API key has expired (401: {extra}); create a new key and set "
                    "CHATFORENSICS_ES_API_KEY", False)
        if not config.api_key and not config.username:
            return (f"Elasticsearch at {url} asks for credentials and none were given (401: {error_reason(exc)}); set "
                    "CHATFORENSICS_ES_USERNAME/_PASSWORD or CHATFORENSICS_ES_API_KEY", False)
        detail = error_reason(exc) + (f"; {extra}" if extra else "")
        return (f"Elasticsearch at {url} did not accept the credentials ({_who(config)}; 401: {detail}); check "
                "CHATFORENSICS_ES_USERNAME/_PASSWORD or CHATFORENSICS_ES_API_KEY", False)
    if isinstance(exc, AuthorizationException):
        who = _who(config) if config.api_key or config.username else "anonymous access"
        return (f"Elasticsearch at {url} refused {who} a privilege a run needs on {config.prefix}-* "
                f"(403: {error_reason(exc)}); the README lists the role", False)
    if untrusted_certificate(exc):
        return (f"the TLS certificate of {url} is not trusted ({exc.message}); set CHATFORENSICS_ES_CA_FILE to the "
                "CA file that signed it", False)
    if _plain_http(exc):
        return (f"{url} does not speak TLS ({exc.message}): the node serves plain http on that port; use an "
                "http:// URL or turn TLS on", False)
    if isinstance(exc, ConnectionTimeout):
        return f"Elasticsearch at {url} did not answer in time ({exc.message})", True
    if isinstance(exc, ConnectionError):
        return (f"cannot reach Elasticsearch at {url} ({exc.message}); start it (make es-start) or pass --no-index",
                True)
    if isinstance(exc, BusyItems):
        return f"Elasticsearch at {url} answered {exc.status} to {exc.documents} document(s) ({exc.reason})", True
    if isinstance(exc, ApiError):
        status = exc.meta.status
        if status == 429:
            return f"Elasticsearch at {url} is too busy (429: {error_reason(exc)})", True
        if status in RETRY_STATUS:
            return f"Elasticsearch at {url} is unavailable ({status}: {error_reason(exc)})", True
        return f"Elasticsearch at {url} answered {status}: {error_reason(exc)}", False
    return f"Elasticsearch at {url}: {type(exc).__name__} ({getattr(exc, 'message', exc)})", False


def explained(config: EsConfig, call):
    """`call()` once; an Elasticsearch failure becomes an ElasticsearchProblem naming its cause."""
    try:
        return call()
    except ES_ERRORS as exc:
        raise ElasticsearchProblem(*explain(config, exc)) from exc


_local_retries: dict[str, int] = {}
_local_lock = threading.Lock()


def take_retry(config: EsConfig) -> bool:
    """Charge one retry to the run's budget; False once the budget is spent.

    The ledger is a file in the run's work folder, one byte a retry, appended with O_APPEND so that every
    process of the run (driver, local workers, workers on the shared --out storage) counts into the same
    budget. Without a ledger (a command that is not a run) each call is bounded by `retries` alone.
    """
    if config.budget_file is None:
        return True
    try:
        fd = os.open(config.budget_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:  # a worker that does not see the run's folder keeps a budget of its own
        with _local_lock:
            taken = _local_retries[config.budget_file] = _local_retries.get(config.budget_file, 0) + 1
        return taken <= config.retry_budget
    try:
        os.write(fd, b".")
        taken = os.lseek(fd, 0, os.SEEK_CUR)  # this retry's place in the ledger, whoever appended since
    finally:
        os.close(fd)
    return taken <= config.retry_budget


def retries_taken(config: EsConfig) -> int:
    """Retries charged to the run so far (the budget's ledger), at most the budget."""
    if config.budget_file is None:
        return 0
    try:
        return min(os.path.getsize(config.budget_file), config.retry_budget)
    except OSError:
        return 0


def backoff(config: EsConfig, attempt: int) -> float:
    """Exponential backoff with jitter: between half and all of base * 2^attempt, capped."""
    ceiling = min(config.max_backoff, config.backoff * 2 ** attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def with_retries(config: EsConfig, call, what: str):
    """Run `call()`, retrying with backoff and jitter while the node is away or busy, within `config.retries` for
    this call and the run's retry budget. Any Elasticsearch failure ends as one ElasticsearchProblem; a failure
    retrying cannot help (credentials, privileges, certificates, settings) is raised at once."""
    started = time.monotonic()
    for attempt in range(config.retries + 1):
        try:
            return call()
        except ES_ERRORS as exc:
            message, retryable = explain(config, exc)
            if not retryable:
                raise ElasticsearchProblem(message) from exc
            error = exc
        if attempt == config.retries:
            raise ElasticsearchProblem(f"{message}; gave up after {attempt} retries in "
                                       f"{time.monotonic() - started:.0f}s", retryable=True) from error
        if not take_retry(config):
            raise ElasticsearchProblem(f"{message}; retried {attempt} time(s), then the run's retry budget "
                                       f"({config.retry_budget} retries) was spent", retryable=True) from error
        delay = backoff(config, attempt)
        log.warning("%s failed (%s); retry %d of at most %d in %.1fs", what, message, attempt + 1, config.retries,
                    delay)
        time.sleep(delay)
    raise AssertionError("unreachable")


def error_reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        return error.get("reason") or error.get("type") or str(exc.message)
    if exc.body is None and str(exc.message) == "None":  # HEAD requests: a status, no body
        return f"HTTP {exc.meta.status} without a reason"
    return str(exc.message)
