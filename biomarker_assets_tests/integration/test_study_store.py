"""StudyStore: multipart transfers both ways, byte-exact, a chosen object version; configs fetched here
and parsed in lib; the resources' environment bindings."""

from __future__ import annotations

import hashlib
import os

import dagster as dg
import pytest

from biomarker_assets.defs import resources
from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore


def test_multipart_download_and_upload_are_byte_exact(aws, tmp_path):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="transfer-study")
    body = os.urandom(11 * 1024 * 1024 + 123)  # 3 parts of 5 MiB, the last one short
    src = tmp_path / "src.bin"
    src.write_bytes(body)
    store = StudyStore(transfer_part_mib=5, transfer_concurrency=2)

    store.upload(src, "transfer-study", "raw/a b+c.bin")
    head = s3.head_object(Bucket="transfer-study", Key="raw/a b+c.bin")
    assert head["ContentLength"] == len(body)
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]  # it really went in 3 parts

    out = tmp_path / "out.bin"
    store.download("transfer-study", "raw/a b+c.bin", out)
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(body).digest()


def test_download_reads_the_requested_version(aws, tmp_path):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="versioned-study")
    s3.put_bucket_versioning(Bucket="versioned-study", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="versioned-study", Key="raw/x.csv", Body=b"first")["VersionId"]
    s3.put_object(Bucket="versioned-study", Key="raw/x.csv", Body=b"second")

    store = StudyStore()
    store.download("versioned-study", "raw/x.csv", tmp_path / "old.csv", version_id=first)
    store.download("versioned-study", "raw/x.csv", tmp_path / "new.csv")
    assert (tmp_path / "old.csv").read_bytes() == b"first"
    assert (tmp_path / "new.csv").read_bytes() == b"second"


def test_load_config_fetches_through_the_store_and_checks_the_file_name(aws):
    store = StudyStore()
    with pytest.raises(ConfigNotFound, match=r"no study config at s3://biomarker-study-configs/studies/demo.yaml"):
        store.load_config("demo")
    text = (STUDY_FILES / "demo.yaml").read_bytes()
    aws_client("s3").put_object(Bucket=store.config_bucket, Key=store.config_key("demo"), Body=text)
    loaded = store.load_config("demo")
    assert loaded.source == store.config_uri("demo") == "s3://biomarker-study-configs/studies/demo.yaml"
    assert loaded.digest == hashlib.sha256(text).hexdigest() and loaded.config.study == "demo"

    aws_client("s3").put_object(Bucket=store.config_bucket, Key=store.config_key("other"), Body=text)
    with pytest.raises(ConfigError, match="'demo' does not match file name 'other'"):
        store.load_config("other")
    with pytest.raises(ConfigNotFound, match=r"\(NoSuchBucket\)"):
        StudyStore(config_bucket="no-such-bucket").load_config("demo")


def test_object_bytes_is_none_for_a_missing_key(aws):
    store = StudyStore()
    assert store.object_bytes(store.config_bucket, "state/none.json") is None
    aws_client("s3").put_object(Bucket=store.config_bucket, Key="state/some.json", Body=b"{}")
    assert store.object_bytes(store.config_bucket, "state/some.json") == b"{}"


@pytest.mark.parametrize(
    "binding,field,variable",
    [
        (resources.study_store, "config_bucket", "BIOMARKER_CONFIG_BUCKET"),
        (resources.study_store, "config_prefix", "BIOMARKER_CONFIG_PREFIX"),
        (resources.notifier, "queue_name", "BIOMARKER_NOTIFICATION_QUEUE"),
        (resources.metadata_table, "table_name", "BIOMARKER_METADATA_TABLE"),
    ],
)
def test_a_set_variable_is_an_env_var_binding_and_an_unset_one_the_class_default(monkeypatch, binding, field, variable):
    monkeypatch.delenv(variable, raising=False)
    unset = binding()
    assert getattr(unset, field) == type(unset).model_fields[field].default
    assert not isinstance(getattr(unset, field), dg.EnvVar)

    monkeypatch.setenv(variable, "")  # set, even empty (a config prefix may be ""), wins over the default
    bound = binding()
    assert isinstance(getattr(bound, field), dg.EnvVar) and getattr(bound, field).env_var_name == variable
    assert getattr(bound.process_config_and_initialize(), field) == ""
