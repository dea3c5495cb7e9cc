"""Where exports come from and outputs go: a local path as it always was, anything else through Beam's FileSystems.

`--input s3://bucket/export.zip`, `--input s3://bucket/exports/acme/` (a prefix read as a folder) and
`--out s3://bucket/runs/x/` go through `apache_beam.io.filesystems`, so every scheme Beam has a filesystem for
(s3, gs, hdfs, azfs) is opened the same way, by the driver and by every worker, with the settings of the
pipeline options (`--s3_endpoint_url`, `--s3_region_name`, ...). A local path never goes through here but by
`open`, as before.

Random access (a ZIP's central directory, then its members) is done with seekable reads: Beam's stream for
an object fetches byte ranges (S3: one `GET Range: bytes=N-` per jump, read on while reads are
contiguous), and it is read here through a buffer of RANGE_BUFFER (64 KiB) instead of Beam's 16 MiB, so a
jump to a small member costs a request and at most 64 KiB more, not 16 MiB: reading a 62 MiB Slack ZIP's
members in the order workers meet them fetched 2.2 times the ZIP instead of 44 times
(`benchmarks/objectstore.py`). Nothing is staged on local disk.

`s3://` goes through Beam's own S3 I/O (`apache_beam.io.aws.s3io`, what its S3 filesystem is built on) with one
boto3 client per process: Beam's S3 filesystem makes a new boto3 client for every call (0.1-0.3 s of CPU
each here), so detecting the format of a 41-file folder took 47 s and opening every day file of a big Slack
export would cost a worker minutes. Each open stream still gets a client wrapper of its own (Beam's keeps the
position of the open download in it).

Credentials come from where the cloud SDKs look for them (environment, instance roles, profile files). Given
as Beam options (`--s3_access_key_id`, `--s3_secret_access_key`, `--s3_session_token`) they are moved into this
process's environment before the pipeline is built (`move_credentials`), as `--es-url` credentials are, so
they are not among the pipeline options a runner shows or hands to its workers.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
from typing import BinaryIO

URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.S)
GLOB = re.compile(r"[*?\[\]{}]")
RANGE_BUFFER = 64 << 10  # what a jump costs at most beyond the bytes wanted (see the module's docstring)
STREAM_BUFFER = 8 << 20  # sequential reads (hashing a whole object)
CREDENTIAL_OPTIONS = {  # Beam's S3 options -> the variables boto3 reads
    "--s3_access_key_id": "AWS_ACCESS_KEY_ID",
    "--s3_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "--s3_session_token": "AWS_SESSION_TOKEN",
}


class StorageError(Exception):
    """An object store answered no: no bucket, no object, no access. One line, no credentials."""


def is_url(path) -> bool:
    return isinstance(path, str) and bool(URL.match(path))


def scheme(path: str) -> str:
    return URL.match(path)["scheme"].lower()


def move_credentials(argv: list[str]) -> list[str]:
    """`--s3_secret_access_key=...` (and the key id, session token) out of argv into this process's
    environment, where boto3 finds them; the options a runner copies everywhere keep no secret."""
    kept: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        name, has_value, value = arg.partition("=")
        if name in CREDENTIAL_OPTIONS:
            if not has_value:
                if i + 1 >= len(argv):
                    raise StorageError(f"{name} needs a value")
                value, skip = argv[i + 1], True
            os.environ[CREDENTIAL_OPTIONS[name]] = value
            continue
        kept.append(arg)
    return kept


def configure(pipeline_options) -> None:
    """Beam's filesystems take their settings (endpoint, region, ...) from the pipeline options; the driver
    needs them before the pipeline exists (the export is opened and planned first)."""
    from apache_beam.io.filesystems import FileSystems

    FileSystems.set_options(pipeline_options)


def join(base: str, *parts: str) -> str:
    if not is_url(base):
        return os.path.join(base, *parts)
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/")) if is_url(path) else os.path.basename(os.path.normpath(path))


def _filesystems():
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def open_read(path: str, buffer_size: int | None = None) -> BinaryIO:
    """A seekable binary stream of the object; see the module's docstring for what a seek costs."""
    buffer_size = buffer_size or RANGE_BUFFER
    if not is_url(path):
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    try:
        if scheme(path) == "s3":
            return _s3().open(path, "rb", read_buffer_size=buffer_size)
        from apache_beam.io.filesystem import CompressionTypes

        stream = _filesystems().open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    except Exception as exc:  # noqa: BLE001 - every store raises its own kinds; one line says which
        raise StorageError(explain(path, exc)) from None
    if isinstance(stream, io.BufferedReader) and stream.raw.seekable() and stream.tell() == 0:
        # Beam's own buffer is 16 MiB: every jump would fetch that much. detach(): the old buffer must not
        # close the raw stream when it is collected.
        return io.BufferedReader(stream.detach(), buffer_size)
    return stream


_S3_CLIENTS: dict[tuple, object] = {}
AWS_SETTINGS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION",
                "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE")


def _client_key(options) -> tuple:
    """What a boto3 client is made from: the S3 options, and the environment it reads credentials from (a run
    with other credentials in the same process must not reuse a client made with the old ones)."""
    from apache_beam.options.pipeline_options import PipelineOptions, S3Options

    view = options.view_as(S3Options).get_all_options() if isinstance(options, PipelineOptions) else dict(options)
    s3 = tuple(sorted((k, str(v)) for k, v in view.items() if k.startswith("s3_")))
    return s3, tuple(os.environ.get(name) for name in AWS_SETTINGS)


def _s3():
    """Beam's S3 I/O on this process's boto3 client (made once per set of pipeline options)."""
    from apache_beam.io.aws import s3io
    from apache_beam.io.aws.clients.s3 import boto3_client

    options = _filesystems()._pipeline_options or {}
    key = _client_key(options)
    shared = _S3_CLIENTS.get(key)
    if shared is None:
        shared = _S3_CLIENTS[key] = boto3_client.Client(options).client

    class _Client(boto3_client.Client):
        def __init__(self):  # Beam's wrapper without a new boto3 client; its download state is its own
            self.client = shared
            self._download_request = self._download_stream = None
            self._download_pos = 0

    return s3io.S3IO(client=_Client())


def read_bytes(path: str) -> bytes:
    with open_read(path, STREAM_BUFFER) as fh:
        return fh.read()


def create(path: str) -> BinaryIO:
    """A new object (replaced whole when it exists); it appears when the stream is closed."""
    from apache_beam.io.filesystem import CompressionTypes

    try:
        if scheme(path) == "s3":
            return _s3().open(path, "wb")
        return _filesystems().create(path, mime_type="application/octet-stream",
                                     compression_type=CompressionTypes.UNCOMPRESSED)
    except Exception as exc:  # noqa: BLE001
        raise StorageError(explain(path, exc)) from None


def write_bytes(path: str, data: bytes) -> None:
    if not data and is_url(path) and scheme(path) == "s3":
        _put_empty_s3(path)
        return
    try:
        with create(path) as fh:
            fh.write(data)
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - a multipart upload fails on close
        raise StorageError(explain(path, exc)) from None


def _put_empty_s3(path: str) -> None:
    """An empty object on S3. Beam's S3 filesystem writes by multipart upload and sends no part for zero bytes,
    which S3 refuses to complete (MalformedXML); an empty `errors.jsonl` is a normal output, so it is put in one
    request through the client Beam's filesystem is built on, with the same pipeline options."""
    bucket, _, key = URL.match(path)["rest"].partition("/")
    try:
        _s3().client.client.put_object(Bucket=bucket, Key=key, Body=b"")
    except Exception as exc:  # noqa: BLE001
        raise StorageError(explain(path, exc)) from None


def exists(path: str) -> bool:
    try:
        return _s3().exists(path) if scheme(path) == "s3" else _filesystems().exists(path)
    except Exception as exc:  # noqa: BLE001
        raise StorageError(explain(path, exc)) from None


def size(path: str) -> int:
    try:
        if scheme(path) == "s3":
            return _s3().size(path)
        return _filesystems().match([path])[0].metadata_list[0].size_in_bytes
    except Exception as exc:  # noqa: BLE001
        raise StorageError(explain(path, exc)) from None


def listing(prefix: str) -> list[tuple[str, int]]:
    """(path relative to the prefix, size) of every object under `prefix/`, in name order. Keys that end in
    `/` are folder markers some consoles write, not files."""
    if GLOB.search(prefix):
        raise StorageError(f"{prefix}: glob characters (* ? [ ] {{ }}) are not supported in a location")
    root = prefix.rstrip("/") + "/"
    try:
        if scheme(prefix) == "s3":
            found = list(_s3().list_files(root))
        else:
            found = [(m.path, m.size_in_bytes) for m in _filesystems().match([root + "**"])[0].metadata_list]
    except Exception as exc:  # noqa: BLE001
        raise StorageError(explain(prefix, exc)) from None
    return sorted((path[len(root):], size) for path, size in found if path.startswith(root) and not path.endswith("/"))


def delete(paths: list[str]) -> None:
    if paths:
        try:
            if scheme(paths[0]) == "s3":
                failed = [(p, e) for p, e in _s3().delete_files(paths) if e is not None]
                if failed and "NotImplemented" in str(failed[0][1]):
                    # Batch delete (DeleteObjects) must carry a checksum header, which s3proxy does not
                    # implement; one DeleteObject a key works everywhere.
                    for path in paths:
                        _s3().delete(path)
                elif failed:
                    raise failed[0][1]
                return
            _filesystems().delete(paths)
        except Exception as exc:  # noqa: BLE001
            raise StorageError(explain(paths[0], exc)) from None


def delete_tree(prefix: str) -> None:
    """Every object under `prefix/` (a run's scratch), best effort: a run that is ending must not fail here."""
    with contextlib.suppress(StorageError):
        delete([join(prefix, name) for name, _ in listing(prefix)])


def explain(path: str, exc: BaseException) -> str:
    """One line for what the store said: the cause (no such bucket, access denied, ...), never a traceback."""
    code, message = _cause(exc)
    where = _bucket(path)
    if code == 403 or re.search(r"SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied|Forbidden", message):
        return (f"{path}: access denied ({message}); check the credentials (AWS_ACCESS_KEY_ID / "
                f"AWS_SECRET_ACCESS_KEY or --s3_access_key_id / --s3_secret_access_key) and --s3_endpoint_url")
    if re.search(r"NoSuchBucket", message) or (code == 404 and where and bucket_missing(path)):
        return f"{path}: the bucket {where} does not exist"
    if code == 404 or isinstance(exc, FileNotFoundError):
        return f"{path}: no such object"
    if re.search(r"Could not connect|Connection refused|EndpointConnectionError|Max retries", message):
        return f"{path}: cannot reach the object store ({message}); check --s3_endpoint_url"
    return f"{path}: {message}"


def _cause(exc: BaseException) -> tuple[int | None, str]:
    """(HTTP status, message) of the innermost error a filesystem wrapped (Beam wraps them in BeamIOError)."""
    details = getattr(exc, "exception_details", None)
    if isinstance(details, dict) and details:
        inner = next(iter(details.values()))
        if isinstance(inner, BaseException):
            return _cause(inner)
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(message, tuple):
        message = " ".join(str(m) for m in message)
    message = " ".join(str(message).split())
    message = re.sub(r"^An error occurred \((\w+)\) when calling the (\w+) operation: ", r"\1 (\2): ", message)
    return (code if isinstance(code, int) else None), message[:300]


def _bucket(path: str) -> str:
    if not is_url(path):
        return ""
    return URL.match(path)["rest"].split("/", 1)[0]


def bucket_missing(path: str) -> bool:
    """Whether an s3:// path's bucket is absent (S3 answers a missing object and a missing bucket alike when
    listing; a HEAD on the bucket tells them apart). False for other schemes or when it cannot be told."""
    if not is_url(path) or scheme(path) != "s3":
        return False
    try:
        _s3().client.client.head_bucket(Bucket=_bucket(path))
    except Exception as exc:  # noqa: BLE001
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return str(code) in ("404", "NoSuchBucket")
    return False
