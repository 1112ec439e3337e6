"""`biomarker-assets reproduce`: a result re-made from its provenance record alone, against the moto stand-in.

The result is made by the real ``file_biomarkers`` asset; then the input and the config are
replaced by new versions (so only the recorded VersionIds lead to the right bytes), and
``reproduce`` runs as a command in another working directory. A tampered published output
and a record naming another numpy must both fail, each naming what differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.lib.provenance import ProvenanceRecord
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.platform.reproduce import run_reproduce
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.conftest import REPO
from biomarker_assets_tests.integration.test_sensors import RESOURCES, tick, upload_config

BUCKET = "reproduced-study"
KEY = "raw/lumbar/DM001_V1_lumbar.npz"


@pytest.fixture
def made(aws, instance, samples, tmp_path):
    """A processed gait file whose input and config have since been replaced; returns (record URI, record)."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    upload_config("again", BUCKET)
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, KEY)
    instance.add_dynamic_partitions("studies", ["again"])
    tick(study_files_listing_sensor, instance)
    for asset, key in ((subject_metadata, "raw/metadata/subjects.csv"), (file_biomarkers, KEY)):
        result = dg.materialize(
            [asset], instance=instance, resources=RESOURCES, partition_key=file_partition_key("again", key)
        )
        assert result.success
    [event] = result.get_asset_materialization_events()
    uri = str(event.materialization.metadata["provenance"].value)
    record = ProvenanceRecord.model_validate_json(StudyStore().object_bytes(*uri[5:].split("/", 1)) or b"")

    # new versions of both: a reproduction that read "the current" object would differ
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"not the recording any more")
    upload_config("again", BUCKET, description="edited after the result was made")
    return uri, record


def test_record_names_exact_versions_resolved_pipeline_and_environment(made):
    _, record = made
    assert record.input.version_id and record.input.bucket == BUCKET
    config_head = aws_client("s3").list_object_versions(Bucket=StudyStore().config_bucket, Prefix="studies/again.yaml")
    versions = {v["VersionId"]: v["IsLatest"] for v in config_head["Versions"]}
    assert record.config is not None and versions[record.config.version_id] is False  # an older version, recorded
    assert record.config.etag and record.config.key == "studies/again.yaml" and "pipelines:" in record.config.text
    gait = next(s for s in record.code.resolved_pipeline if s["name"] == "GaitLumbar")
    assert gait["parameters"]["ic_prom_factor"] == 0.1  # set in the config
    assert gait["parameters"]["height_factor"] == 0.53 and gait["parameters"]["day_window"] == [0, 24]  # defaults
    assert {"numpy", "scipy", "pandas", "lightgbm", "scikit-digital-health", "pyarrow"} <= set(record.code.packages)
    assert record.subject == {"height": 1.88} and record.file_fields["subject"] == "DM001"
    assert all(o.uri.startswith(f"s3://{BUCKET}/") for o in record.outputs)


def test_reproduce_from_another_directory_matches_every_output(made, tmp_path):
    uri, record = made
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "biomarker_assets.cli", "reproduce", uri],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"REPRODUCED: {len(record.outputs)} of {len(record.outputs)}" in done.stdout
    assert all(f"match     {o.uri}" in done.stdout for o in record.outputs)


def test_tampered_output_and_other_numpy_fail_naming_what_differs(made, tmp_path, monkeypatch, capsys):
    uri, record = made
    monkeypatch.chdir(tmp_path)
    headline = next(o.uri for o in record.outputs if o.uri.endswith("/headline.json"))
    bucket, key = headline[5:].split("/", 1)
    body = json.loads(StudyStore().object_bytes(bucket, key) or b"{}")
    body["gait_speed_m_s"] = 9.99
    aws_client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())
    assert run_reproduce(uri) == 1
    out = capsys.readouterr().out
    assert f"MISMATCH  {headline}: the published object differs from the record" in out
    assert out.count("MISMATCH") == 1  # the re-made headline.json still matches the record

    # a record naming another numpy: the outputs may match, the environment is not the recorded one
    other = record.model_copy(deep=True)
    other.code.packages["numpy"] = "1.26.4"
    for output in other.outputs:  # a local record: the published copies are not compared
        output.uri = output.name
    local = tmp_path / "provenance.json"
    local.write_text(other.to_json())
    assert run_reproduce(str(local)) == 1
    out = capsys.readouterr().out
    assert "first environment difference: numpy: recorded 1.26.4, here " in out and "MISMATCH" not in out
    assert run_reproduce(str(local), allow_environment_differences=True) == 0


def test_image_digest_from_the_ecs_task_metadata_endpoint(monkeypatch):
    """On Fargate the container's ImageID (metadata endpoint v4) is the digest when the image URI has none."""
    import http.server
    import threading

    from biomarker_assets.lib.provenance import image_digest

    class Container(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's method name)
            body = json.dumps({"Name": "run", "ImageID": "sha256:" + "ab" * 32}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Container)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("BIOMARKER_IMAGE_DIGEST", raising=False)
        monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", f"http://127.0.0.1:{server.server_port}/v4/task-1")
        assert image_digest("biomarker-assets:1.0") == "sha256:" + "ab" * 32
        monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", "http://127.0.0.1:9/unreachable")
        assert image_digest("biomarker-assets:1.0") is None
    finally:
        server.shutdown()
