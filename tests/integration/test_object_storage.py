"""Exports and outputs on object storage, against the real S3-compatible server of scripts/s3proxy.sh.

The demo export is uploaded to a bucket as a ZIP and as a folder (a prefix). A run from `s3://` gives the
local run's hits, cases and errors byte for byte, the same custody hashes and counts, on the DirectRunner
and on Flink (portable, LOOPBACK workers); outputs written to `s3://` are read back and equal the local
ones; a missing bucket or wrong credentials end the run with one clear line and exit 2, and no
credential appears in any output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pipelines.scan import run
from tests.conftest import EXAMPLES, ROOT
from tests.helpers.readers import zip_folder

pytestmark = pytest.mark.integration
OUTPUTS = ("hits.jsonl", "cases.jsonl", "errors.jsonl")


@pytest.fixture(autouse=True)
def credentials(s3, monkeypatch):
    """The server's credentials where boto3 looks for them (each test starts from them; some spoil them)."""
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def demo(s3, tmp_path_factory):
    """The demo export on local disk (folder and ZIP) and uploaded to the bucket (prefix and object)."""
    folder = EXAMPLES / "slack-demo"
    archive = zip_folder(folder, tmp_path_factory.mktemp("zip") / "slack-demo.zip", prefix="slack-demo/")
    prefix = f"exports-{uuid.uuid4().hex[:6]}"
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.client.put_object(Bucket=s3.bucket, Key=f"{prefix}/slack-demo/{path.relative_to(folder).as_posix()}",
                                 Body=path.read_bytes())
    s3.client.put_object(Bucket=s3.bucket, Key=f"{prefix}/slack-demo.zip", Body=archive.read_bytes())
    url = f"s3://{s3.bucket}/{prefix}"
    return {"folder": (folder, f"{url}/slack-demo/"), "zip": (archive, f"{url}/slack-demo.zip")}


def scan(source: str, out: Path | str, *options: str) -> int:
    return run(["--input", source, "--out", str(out), "--no-index", "--quiet", *options])


def outputs_of(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def read_back(s3, url: str) -> dict[str, bytes]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return {name: s3.client.get_object(Bucket=bucket, Key=f"{key.rstrip('/')}/{name}")["Body"].read()
            for name in (*OUTPUTS, "manifest.json")}


def keys(s3, url: str) -> list[str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key.rstrip("/") + "/")
    return sorted(item["Key"][len(key.rstrip("/")) + 1:] for page in pages for item in page.get("Contents", []))


@pytest.fixture(scope="module")
def local(demo, tmp_path_factory) -> dict[str, Path]:
    """The DirectRunner's outputs of the local ZIP and folder."""
    done = {}
    for kind, (path, _) in demo.items():
        out = tmp_path_factory.mktemp(f"local-{kind}")
        assert scan(str(path), out, "--direct_running_mode=in_memory") == 0
        done[kind] = out
    return done


def same_custody(remote: dict, local: dict) -> None:
    """Hashes, members and counts as the local run's; only the input's path differs."""
    assert remote["input"]["sha256"] == local["input"]["sha256"]
    assert remote["input"]["kind"] == local["input"]["kind"]
    assert remote["members"] == local["members"]
    assert remote["counts"] == local["counts"]
    assert remote["run"] == local["run"]


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_an_export_on_s3_gives_the_local_runs_outputs(kind, s3, demo, local, tmp_path):
    out = tmp_path / "out"
    assert scan(demo[kind][1], out, *s3.options) == 0
    assert outputs_of(out) == outputs_of(local[kind])
    assert outputs_of(out)["hits.jsonl"].count(b"\n") > 0
    manifest = json.loads((out / "manifest.json").read_text())
    same_custody(manifest, json.loads((local[kind] / "manifest.json").read_text()))
    assert manifest["input"]["path"] == demo[kind][1].rstrip("/")


def test_outputs_written_to_s3_are_read_back_equal_to_the_local_ones(s3, demo, local):
    target = f"s3://{s3.bucket}/runs/{uuid.uuid4().hex[:8]}/"
    assert scan(demo["zip"][1], target, *s3.options) == 0
    back = read_back(s3, target)
    assert {name: back[name] for name in OUTPUTS} == outputs_of(local["zip"])
    manifest = json.loads(back["manifest.json"])
    same_custody(manifest, json.loads((local["zip"] / "manifest.json").read_text()))
    written = keys(s3, target)
    assert sorted(manifest["outputs"]) == written  # every output, and no scratch left behind
    assert "reports/index.html" in written and any(k.startswith("reports/cases/") for k in written)


def test_a_rerun_into_the_same_prefix_removes_only_pages_the_last_run_listed(s3, demo):
    target = f"s3://{s3.bucket}/runs/{uuid.uuid4().hex[:8]}"
    assert scan(demo["folder"][1], target, *s3.options) == 0
    bucket, _, key = target.removeprefix("s3://").partition("/")
    manifest = json.loads(s3.client.get_object(Bucket=bucket, Key=f"{key}/manifest.json")["Body"].read())
    stale, foreign = "reports/cases/case-000000000000.html", "reports/cases/notes-of-the-investigator.html"
    manifest["outputs"].append(stale)  # as if the previous run had written a page this one does not
    s3.client.put_object(Bucket=bucket, Key=f"{key}/manifest.json", Body=json.dumps(manifest).encode())
    for page in (stale, foreign):
        s3.client.put_object(Bucket=bucket, Key=f"{key}/{page}", Body=b"<p>old</p>")
    assert scan(demo["folder"][1], target, *s3.options) == 0
    left = keys(s3, target)
    assert stale not in left
    assert foreign in left  # never listed by a run: not the tool's to remove


@pytest.mark.slow
def test_flink_reads_from_and_writes_to_s3_like_the_local_direct_run(s3, demo, local, flink_endpoint):
    target = f"s3://{s3.bucket}/runs/flink-{uuid.uuid4().hex[:8]}/"
    assert scan(demo["zip"][1], target, *s3.options, "--runner=PortableRunner", f"--job_endpoint={flink_endpoint}",
                "--environment_type=LOOPBACK", "--parallelism=2") == 0
    back = read_back(s3, target)
    assert {name: back[name] for name in OUTPUTS} == outputs_of(local["zip"])
    same_custody(json.loads(back["manifest.json"]), json.loads((local["zip"] / "manifest.json").read_text()))


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`chatforensics` in a process of its own, as a user runs it: its exit code and its two streams."""
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    return lines[0]


def test_a_missing_bucket_is_one_clear_line_and_exit_2(s3, tmp_path):
    missing = f"cf-missing-{uuid.uuid4().hex[:8]}"
    line = one_error_line(cli("run", "--input", f"s3://{missing}/export.zip", "--out", str(tmp_path), "--no-index",
                              *s3.options))
    assert f"the bucket {missing} does not exist" in line
    line = one_error_line(cli("run", "--input", str(EXAMPLES / "slack-demo"), "--out", f"s3://{missing}/runs/x/",
                              "--no-index", *s3.options))
    assert "--out" in line and f"the bucket {missing} does not exist" in line


def test_wrong_credentials_are_one_clear_line_and_exit_2_without_the_secret(s3, demo, tmp_path):
    wrong = "wrong" + uuid.uuid4().hex
    for where in (["--input", demo["zip"][1], "--out", str(tmp_path)],
                  ["--input", str(EXAMPLES / "slack-demo"), "--out", f"s3://{s3.bucket}/runs/denied/"]):
        done = cli("run", *where, "--no-index", *s3.options, env={"AWS_SECRET_ACCESS_KEY": wrong})
        assert "access denied" in one_error_line(done)
        assert wrong not in done.stdout + done.stderr


def test_credentials_given_as_options_appear_in_no_output(s3, demo, tmp_path):
    """--s3_access_key_id / --s3_secret_access_key work, and leave no trace in files, reports or the terminal."""
    secret, key_id = s3.env["AWS_SECRET_ACCESS_KEY"], s3.env["AWS_ACCESS_KEY_ID"]
    env = {name: "" for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    target = f"s3://{s3.bucket}/runs/opts-{uuid.uuid4().hex[:8]}"
    done = cli("run", "--input", demo["zip"][1], "--out", target, "--no-index", *s3.options,
               f"--s3_access_key_id={key_id}", "--s3_secret_access_key", secret, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert secret not in done.stdout + done.stderr
    for name in keys(s3, target):
        body = s3.client.get_object(Bucket=s3.bucket, Key=f"{target.split('/', 3)[3]}/{name}")["Body"].read()
        assert secret.encode() not in body and key_id.encode() not in body, name


def test_a_huge_mailbox_on_s3_read_in_ranges_gives_the_local_whole_reads_outputs(s3, tmp_path):
    """Ranges read by two worker processes from the bucket, spools in the --out bucket's scratch prefix."""
    from tests.unit.test_split_read import write_mbox

    mailbox = write_mbox(tmp_path / "mail.mbox", 800)
    key = f"exports-{uuid.uuid4().hex[:6]}/mail.mbox"
    s3.client.put_object(Bucket=s3.bucket, Key=key, Body=mailbox.read_bytes())
    local = tmp_path / "local"
    assert scan(str(mailbox), local, "--split-bytes=0", "--direct_running_mode=in_memory") == 0
    target = f"s3://{s3.bucket}/runs/split-{uuid.uuid4().hex[:8]}"
    assert scan(f"s3://{s3.bucket}/{key}", target, *s3.options, "--split-bytes=30000",
                "--direct_running_mode=multi_processing", "--direct_num_workers=2") == 0
    back = read_back(s3, target)
    assert {name: back[name] for name in OUTPUTS} == outputs_of(local)
    manifest = json.loads(back["manifest.json"])
    assert manifest["members"][0].pop("ranges") >= 5  # read in ranges, not whole
    same_custody(manifest, json.loads((local / "manifest.json").read_text()))
    assert not [k for k in keys(s3, target) if k.startswith(".work-")]
