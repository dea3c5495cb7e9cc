"""pipelines/storage.py without a server: which paths are URLs, credentials kept out of Beam's options, one-line
causes. The object-store round trips are in tests/integration/test_object_storage.py."""

from __future__ import annotations

import os

import pytest

from pipelines import storage


def test_only_a_scheme_makes_a_url():
    assert storage.is_url("s3://bucket/export.zip") and storage.is_url("gs://b/x/")
    assert not storage.is_url("/data/export.zip") and not storage.is_url("export.zip")
    assert not storage.is_url("C:/exports/a.zip")


def test_credential_options_move_into_the_environment_and_out_of_argv(monkeypatch):
    for name in storage.CREDENTIAL_OPTIONS.values():
        monkeypatch.delenv(name, raising=False)
    argv = ["--input", "s3://b/x.zip", "--s3_access_key_id=AKIDEXAMPLE", "--s3_secret_access_key", "s3cr3t/+x",
            "--s3_session_token=tok", "--s3_endpoint_url=http://127.0.0.1:9400"]
    kept = storage.move_credentials(argv)
    assert kept == ["--input", "s3://b/x.zip", "--s3_endpoint_url=http://127.0.0.1:9400"]
    assert (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"]) == (
        "AKIDEXAMPLE", "s3cr3t/+x", "tok")


def test_a_credential_option_without_a_value_is_refused():
    with pytest.raises(storage.StorageError, match="needs a value"):
        storage.move_credentials(["--s3_secret_access_key"])


@pytest.mark.parametrize(("error", "says"), [
    (Exception("An error occurred (SignatureDoesNotMatch) when calling the ListObjectsV2 operation: Forbidden"),
     "access denied"),
    (Exception("An error occurred (NoSuchBucket) when calling the CreateMultipartUpload operation: nope"),
     "the bucket b does not exist"),
    (FileNotFoundError("Not found: s3://b/x.zip"), "no such object"),
    (Exception("Could not connect to the endpoint URL: http://127.0.0.1:1/b"), "cannot reach the object store"),
])
def test_a_store_error_is_one_line_naming_its_cause(error, says):
    line = storage.explain("s3://b/x.zip", error)
    assert says in line and "\n" not in line and line.startswith("s3://b/x.zip: ")


def test_glob_characters_in_a_location_are_refused_not_matched():
    with pytest.raises(storage.StorageError, match="glob"):
        storage.listing("s3://b/exports/[2024]")
