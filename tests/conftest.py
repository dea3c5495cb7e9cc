"""Shared test fixtures: paths to data, and the live Elasticsearch node for integration tests."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"
# Real third-party exports live beside the repo (../shared/realdata), never inside it.
REALDATA = Path(os.environ.get("CHATFORENSICS_REALDATA", ROOT.parent / "shared" / "realdata"))


def pytest_collection_modifyitems(config, items):
    if REALDATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"third-party exports not present at {REALDATA} (they ship beside the repo, "
                                   "not in a user's clone)")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def realdata() -> Path:
    return REALDATA


@pytest.fixture(scope="session")
def es_url() -> str:
    return os.environ.get("CHATFORENSICS_ES_URL", "http://127.0.0.1:9200")


@pytest.fixture(scope="session")
def es_config(es_url):
    """A live node, checked once; a fresh index prefix per session so tests never see the demo's data."""
    from elasticsearch import Elasticsearch

    from pipelines.sinks.elasticsearch import EsConfig

    client = Elasticsearch(es_url, request_timeout=10)
    try:
        client.cluster.health(wait_for_status="yellow", timeout="30s")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Elasticsearch is not reachable at {es_url} ({exc}); start it with `make es-start`")
    prefix = f"cftest-{uuid.uuid4().hex[:8]}"
    yield EsConfig(url=es_url, prefix=prefix, retries=3, backoff=0.2)
    client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    client.indices.delete_index_template(name=f"{prefix}-*", ignore=[404])
    client.close()


@pytest.fixture(scope="session")
def secure_es():
    """The secured node of `scripts/elasticsearch.sh start-secure`: https with its own CA, file-realm users.

    Its URL, CA file and test users come from the env file the script writes (CHATFORENSICS_SECURE_ES_ENV, else
    the script's default place). Checked once as `elastic`; a fresh prefix inside the roles' index pattern.
    """
    from types import SimpleNamespace

    from elasticsearch import Elasticsearch

    cache = Path(os.environ.get("CHATFORENSICS_CACHE", Path.home() / ".cache" / "chatforensics"))
    env_file = Path(os.environ.get("CHATFORENSICS_SECURE_ES_ENV", cache / "elasticsearch" / "node-9201" / "secure.env"))
    start = "start it with `make es-start-secure` (scripts/elasticsearch.sh start-secure)"
    if not env_file.is_file():
        pytest.fail(f"no secured Elasticsearch: {env_file} is missing; {start}")
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#")
    key = "CHATFORENSICS_SECURE_ES_"
    node = SimpleNamespace(
        url=env[f"{key}URL"], ca_file=env[f"{key}CA_FILE"], env_file=env_file,
        users={role: (env[f"{key}{role.upper()}_USER"], env[f"{key}{role.upper()}_PASSWORD"])
               for role in ("elastic", "writer", "reader")},
        prefix=env[f"{key}INDEX_PATTERN"].removesuffix("*") + f"sectest-{uuid.uuid4().hex[:8]}",
    )
    node.admin = Elasticsearch(node.url, ca_certs=node.ca_file, basic_auth=node.users["elastic"], request_timeout=10)
    try:
        node.admin.cluster.health(wait_for_status="yellow", timeout="30s")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the secured Elasticsearch is not reachable at {node.url} with the CA and `elastic` password of "
                    f"{env_file} ({exc}); {start}")
    yield node
    node.admin.indices.delete(index=f"{node.prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    node.admin.options(ignore_status=404).indices.delete_index_template(name=f"{node.prefix}-*")
    node.admin.close()


@pytest.fixture(scope="session")
def s3():
    """The S3-compatible server of `scripts/s3proxy.sh start` (s3proxy on 127.0.0.1), checked once; a fresh bucket
    per session, emptied and removed at the end. Endpoint and credentials come from the env file the script writes
    (CHATFORENSICS_S3_ENV, else the script's default place). A missing server fails the tests, never skips them."""
    from types import SimpleNamespace

    import boto3

    cache = Path(os.environ.get("CHATFORENSICS_CACHE", Path.home() / ".cache" / "chatforensics"))
    env_file = Path(os.environ.get("CHATFORENSICS_S3_ENV", cache / "s3proxy" / "node-9400" / "s3.env"))
    start = "start it with `make s3-start` (scripts/s3proxy.sh start)"
    if not env_file.is_file():
        pytest.fail(f"no S3 server: {env_file} is missing; {start}")
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#")
    aws = {k: v for k, v in env.items() if k.startswith("AWS_")}
    with pytest.MonkeyPatch.context() as patch:  # boto3 reads the checksum settings when a client is made
        for name, value in aws.items():
            patch.setenv(name, value)
        client = boto3.client("s3", endpoint_url=env["CHATFORENSICS_S3_ENDPOINT"])
        bucket = f"cftest-{uuid.uuid4().hex[:10]}"
        try:
            client.create_bucket(Bucket=bucket)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"the S3 server at {env['CHATFORENSICS_S3_ENDPOINT']} does not answer with the credentials of "
                        f"{env_file} ({exc}); {start}")
    yield SimpleNamespace(endpoint=env["CHATFORENSICS_S3_ENDPOINT"], env=aws, client=client, bucket=bucket,
                          options=[f"--s3_endpoint_url={env['CHATFORENSICS_S3_ENDPOINT']}"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)
