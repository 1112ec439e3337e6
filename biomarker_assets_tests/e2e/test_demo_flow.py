"""The demo study end to end, through Dagster, against the real moto server.

Every file ends in its expected status; S3, DynamoDB and SQS hold exactly what
the design says.
"""

from __future__ import annotations

import io
import json
from collections import Counter

import dagster as dg
import numpy as np
import pyarrow.parquet as pq
import pytest

from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.provenance import sha256_file
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import DEMO_BUCKET, GHOST_STUDY, run_flow, seed_demo
from biomarker_assets.platform.status import file_statuses
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.metadata_table import MetadataTable


@pytest.fixture(scope="module")
def demo(moto_url, samples, tmp_path_factory):
    import urllib.request

    from biomarker_assets.local.aws_standin import create_project_resources  # noqa: F401

    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    seed_demo(samples, tmp_path_factory.mktemp("demo"))
    with dg.instance_for_test() as instance:
        assert studies.name, "a named partitions definition: its keys live on the instance"
        instance.add_dynamic_partitions(studies.name, [GHOST_STUDY])
        outcome = run_flow(instance, log=lambda *_: None)
        statuses = {s.key: s for s in file_statuses(instance)}
        yield {"instance": instance, "outcome": outcome, "statuses": statuses, "messages": drain_messages()}


def _s3_json(bucket, key):
    return json.loads(aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def _s3_parquet(uri):
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return pq.read_table(io.BytesIO(aws_client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()))


EXPECTED_STATUS = {
    "raw/metadata/subjects.csv": "processed",
    "raw/wrist/DM001_V1_wrist.bin": "processed",
    "raw/wrist/DM002_V1_wrist.cwa": "processed",
    "raw/wrist/DM006_V1_wrist.cwa": "processed",
    "raw/clinic/DM005_V1_wrist.bin": "processed",
    "raw/lumbar/DM001_V1_lumbar.npz": "processed",
    "raw/lumbar/DM003_V1_lumbar.npz": "waiting",
    "raw/walk-test/DM001_V1_lumbar.npz": "processed",
    "raw/wrist/DM004_V1_wrist.cwa": "failed",
    "raw/wrist/recording final (2).cwa": "waiting",
}


def test_every_file_ends_in_its_expected_status(demo):
    assert {k: s.status for k, s in demo["statuses"].items()} == EXPECTED_STATUS
    statuses = demo["statuses"]
    assert "height" in statuses["raw/lumbar/DM003_V1_lumbar.npz"].reason
    assert "file name does not match" in statuses["raw/wrist/recording final (2).cwa"].reason
    assert "DM004_V1_wrist.cwa" in statuses["raw/wrist/DM004_V1_wrist.cwa"].reason


def test_studies_with_broken_configs_fail_alone(demo):
    studies_outcome = demo["outcome"].studies
    assert studies_outcome["demo"] == "cataloged"
    assert "does not exist" in studies_outcome["lost-study"]
    assert "no study config" in studies_outcome[GHOST_STUDY]
    assert "broken-study" not in studies_outcome  # invalid config: never registered


def test_sqs_holds_exactly_the_expected_messages(demo):
    messages = demo["messages"]
    got = Counter((m["kind"], m["study"], (m["file"] or "").rsplit("/", 1)[-1]) for m in messages)
    assert got == Counter(
        {
            ("invalid_config", "broken-study", "broken-study.yaml"): 1,
            ("missing_bucket", "lost-study", "lost-study-data-bucket-that-does-not-exist"): 1,
            ("missing_config", GHOST_STUDY, f"{GHOST_STUDY}.yaml"): 1,
            ("metadata_rows_rejected", "demo", "subjects.csv"): 1,
            ("requirement_unmet", "demo", "DM003_V1_lumbar.npz"): 1,
            ("requirement_unmet", "demo", "recording final (2).cwa"): 1,
            ("processing_failed", "demo", "DM004_V1_wrist.cwa"): 1,
            ("qc_failed", "demo", "DM005_V1_wrist.bin"): 1,
            ("qc_failed", "demo", "DM002_V1_wrist.cwa"): 1,  # 5 minutes: MVPA not computed (endpoints_computed)
        }
    )
    for message in messages:
        assert set(message) == {"kind", "study", "file", "reason", "time", "details"}
        assert message["reason"]
    for qc in (m for m in messages if m["kind"] == "qc_failed"):  # names only the checks that failed
        assert all(f"{check}: " in qc["reason"] for check in qc["details"]["checks"]), qc
        assert "not configured" not in qc["reason"], qc  # a check that does not apply is not a failure
    invalid = next(m for m in messages if m["kind"] == "invalid_config")
    assert any(e.startswith("bucket:") for e in invalid["details"]["errors"])


def test_dynamodb_holds_cleaned_subjects(demo):
    subjects = {s["subject"]: s for s in MetadataTable().subjects("demo")}
    assert sorted(subjects) == ["DM001", "DM002", "DM003", "DM004", "DM005", "DM006"]
    assert subjects["DM001"]["height_m"] == pytest.approx(1.88)
    assert subjects["DM002"]["height_m"] == pytest.approx(65 * 0.0254, abs=1e-4)  # inches converted
    assert subjects["DM004"]["height_m"] == pytest.approx(70 * 0.0254, abs=1e-4)
    assert "height_m" not in subjects["DM003"]
    assert subjects["DM005"]["sex"] == "F" and subjects["DM001"]["age_years"] == 41
    assert subjects["DM001"]["source_file"] == f"s3://{DEMO_BUCKET}/raw/metadata/subjects.csv"


def test_catalog_table_lists_every_matched_file(demo):
    table = _s3_parquet(f"s3://{DEMO_BUCKET}/results/_catalog/catalog.parquet").to_pylist()
    by_key = {row["key"]: row for row in table}
    assert set(by_key) == set(EXPECTED_STATUS)  # readme.txt matches no rule
    dm001 = by_key["raw/wrist/DM001_V1_wrist.bin"]
    assert dm001["kind"] == "data" and dm001["pipeline"] == "wrist-day" and dm001["subject"] == "DM001"
    assert json.loads(dm001["filename_fields"]) == {
        "subject": "DM001",
        "visit": "V1",
        "location": "wrist",
        "ext": "bin",
    }
    head = aws_client("s3").head_object(Bucket=DEMO_BUCKET, Key="raw/wrist/DM001_V1_wrist.bin")
    assert dm001["etag"] == head["ETag"].strip('"') and dm001["size"] == head["ContentLength"]
    assert by_key["raw/wrist/recording final (2).cwa"]["filename_fields"] is None
    assert by_key["raw/metadata/subjects.csv"]["kind"] == "metadata"


@pytest.mark.parametrize("key", [k for k, v in EXPECTED_STATUS.items() if v == "processed" and "metadata" not in k])
def test_results_and_provenance_are_in_s3(demo, key, tmp_path):
    status = demo["statuses"][key]
    bucket, prefix = status.results.removeprefix("s3://").split("/", 1)
    assert prefix.startswith("results/") and f"/{key}/" in prefix  # <pipeline>/<version>/<key>/<data version>/
    listed = {
        o["Key"][len(prefix) :]: o for o in aws_client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    }
    assert "provenance.json" in listed and "headline.json" in listed
    assert any(name.endswith(".parquet") for name in listed)
    record = _s3_json(bucket, prefix + "provenance.json")
    head = aws_client("s3").head_object(Bucket=DEMO_BUCKET, Key=key)
    assert record["input"]["uri"] == f"s3://{DEMO_BUCKET}/{key}"
    assert record["input"]["etag"] == head["ETag"].strip('"') and record["input"]["size"] == head["ContentLength"]
    assert record["code"]["skdh_version"] == "0.17.18"
    assert record["sampling"]["units"]["accel"] == "g"  # the units the analysis steps received
    assert record["code"]["pipeline_digest"][:12] in prefix
    assert len(record["config_digest"]) == 64 and record["code"]["dagster_run_id"]
    outputs = {o["uri"]: o for o in record["outputs"]}
    assert set(outputs) == {f"s3://{bucket}/{prefix}{name}" for name in listed if name != "provenance.json"}
    for uri, output in outputs.items():  # checksums are of the bytes in S3
        local = tmp_path / "obj"
        aws_client("s3").download_file(bucket, uri.split("/", 3)[-1], str(local))
        assert sha256_file(local) == output["sha256"]
    materialization = (
        demo["instance"]
        .fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("file_biomarkers"), asset_partitions=[f"demo/{key}"]), limit=1
        )
        .records[0]
        .asset_materialization
    )
    assert materialization.metadata["input_sha256"].value == record["input"]["sha256"]
    assert materialization.metadata["pipeline_digest"].value == record["code"]["pipeline_digest"]


def test_gait_results_in_s3_equal_skdh_truth(demo, samples):
    """Same comparison as SKDH's test_gait.py::test_apcwt, on the Parquet the asset uploaded."""
    status = demo["statuses"]["raw/lumbar/DM001_V1_lumbar.npz"]
    table = _s3_parquet(status.results + "GaitLumbar.parquet")
    truth = np.load(samples / "gait_results_apcwt.npz")
    assert table.num_rows == len(truth["gait speed"]) == 81
    for key in truth.files:
        assert np.allclose(table[key].to_numpy(zero_copy_only=False).astype(float), truth[key], equal_nan=True), key
    assert status.biomarkers["gait_speed_m_s"] == pytest.approx(np.nanmean(truth["gait speed"]))


def test_supervised_walk_test_is_one_declared_bout(demo, samples):
    """The walk-test file is one bout by declaration: SKDH's GaitLumbar with gait_pred=True on the same
    samples, each stride with its own timestamp, and the declaration named in provenance."""
    from skdh.gait import GaitLumbar

    from biomarker_assets.skdh_processes.gait import SUPERVISED_BOUT_NOTE

    status = demo["statuses"]["raw/walk-test/DM001_V1_lumbar.npz"]
    table = _s3_parquet(status.results + "GaitLumbar.parquet")
    data = np.load(samples / "gait_input.npz")
    keep = (data["time"] >= data["time"][0] + 18.0) & (data["time"] < data["time"][0] + 48.0)
    factors = {"ic_prom_factor": 0.1, "ic_dist_factor": 0.0, "fc_prom_factor": 0.1, "fc_dist_factor": 0.0}
    skdh_gait = GaitLumbar(**factors).predict(
        time=data["time"][keep], accel=data["accel"][keep], height=1.88, gait_pred=True
    )
    assert table.num_rows == len(skdh_gait["gait speed"]) > 20 and set(table["Bout N"].to_pylist()) == {1}
    assert np.allclose(table["gait speed"].to_numpy(), skdh_gait["gait speed"], equal_nan=True)
    assert str(table.schema.field("IC Datetime").type).startswith("timestamp")
    assert len(set(table["IC Datetime"].to_pylist())) == table.num_rows
    bucket, prefix = status.results.removeprefix("s3://").split("/", 1)
    record = _s3_json(bucket, prefix + "provenance.json")
    assert f"skdh_processes.gait.SupervisedGaitBout: {SUPERVISED_BOUT_NOTE}" in record["code"]["project_processes"]


def test_cwa_read_from_s3_through_the_project_equals_skdh_truth(demo, samples, tmp_path):
    """The project's download + the study config's reader step give SKDH's ax3 truth (atol 5e-5)."""
    from biomarker_assets.lib.skdh.execution import read_file
    from biomarker_assets.resources.study_store import StudyStore

    store = StudyStore()
    local = tmp_path / "DM002_V1_wrist.cwa"
    store.download(DEMO_BUCKET, "raw/wrist/DM002_V1_wrist.cwa", local)
    reader_step = store.load_config("demo").config.pipelines["wrist-activity"].skdh["Steps"][0]
    data = read_file(reader_step, local, captured_warnings=[])
    truth = np.load(samples / "ax3_data.npz")
    assert np.allclose(data["time"] - truth["time"][0], truth["time"] - truth["time"][0], atol=5e-5)
    for key in ("accel", "temperature", "fs"):
        assert np.allclose(data[key], truth[key], atol=5e-5), key


def test_day_long_wrist_recording_gives_plausible_endpoints(demo):
    """The generated 24 h recording has a ~1.5 h off-wrist period and one night of sleep."""
    biomarkers = demo["statuses"]["raw/wrist/DM001_V1_wrist.bin"].biomarkers
    assert 20 <= biomarkers["wear_hours"] <= 23.5
    assert 300 <= biomarkers["total_sleep_time_min"] <= 480
    assert 10 <= biomarkers["mvpa_min"] <= 120


def test_study_summary_has_a_row_per_subject_day_and_gait_bout(demo, samples):
    table = _s3_parquet(f"s3://{DEMO_BUCKET}/results/_summary/study_summary.parquet").to_pylist()
    processed = {k for k, v in EXPECTED_STATUS.items() if v == "processed" and "metadata" not in k}
    assert {row["file_key"] for row in table} == processed
    assert all(row["pipeline_version"] and row["pipeline_digest"] and row["skdh_version"] == "0.17.18" for row in table)
    wrist = [r for r in table if r["file_key"] == "raw/wrist/DM001_V1_wrist.bin"]
    [day] = wrist
    statuses = demo["statuses"]["raw/wrist/DM001_V1_wrist.bin"].biomarkers
    assert day["row_type"] == "day" and day["wear_hours"] == pytest.approx(statuses["wear_hours"])
    assert day["total_sleep_time_min"] == pytest.approx(statuses["total_sleep_time_min"])
    assert day["height_m"] == pytest.approx(1.88) and day["sex"] == "M" and day["age_years"] == 41
    bouts = [r for r in table if r["row_type"] == "gait_bout" and r["file_key"] == "raw/lumbar/DM001_V1_lumbar.npz"]
    truth = np.load(samples / "gait_results_apcwt.npz")
    assert [r["gait_bout_n"] for r in bouts] == sorted(set(truth["Bout N"].astype(int)))
    assert sum(r["gait_strides"] for r in bouts) == len(truth["gait speed"])
    for bout in bouts:
        mask = truth["Bout N"] == bout["gait_bout_n"]
        assert bout["gait_speed_m_s"] == pytest.approx(np.nanmean(truth["gait speed"][mask]))


def test_multi_day_recording_across_the_clocks_going_back_has_a_25_hour_sunday(demo):
    """Sat noon to Mon noon (device clock) in Europe/London around Sun 25 Oct 2026 02:00 BST -> 01:00 GMT:
    windows start at local midnight with the offset of the day, the Sunday is 25 real hours, worn throughout."""
    from datetime import datetime

    table = _s3_parquet(f"s3://{DEMO_BUCKET}/results/_summary/study_summary.parquet").to_pylist()
    rows = sorted(
        (r for r in table if r["file_key"] == "raw/wrist/DM006_V1_wrist.cwa"), key=lambda r: r["window_start"]
    )
    got = [
        (r["window_start"], r["window_start_utc_offset"], r["window_end_utc_offset"], r["window_hours_covered"],
         r["window_partial"])
        for r in rows
    ]  # fmt: skip
    assert got == [
        (datetime(2026, 10, 24), "+01:00", "+01:00", 12.0, True),
        (datetime(2026, 10, 25), "+01:00", "+00:00", 25.0, False),
        (datetime(2026, 10, 26), "+00:00", "+00:00", 11.0, True),  # the device's noon BST is 11:00 GMT
    ]
    assert {r["window_time_zone"] for r in rows} == {"Europe/London"}
    assert [r["wear_hours"] for r in rows] == pytest.approx([12.0, 25.0, 11.0], abs=1e-3)  # SKDH counts 25 h worn too
    status = demo["statuses"]["raw/wrist/DM006_V1_wrist.cwa"]
    bucket, prefix = status.results.removeprefix("s3://").split("/", 1)
    assert _s3_json(bucket, prefix + "provenance.json")["time_zone"] == "Europe/London"


def test_qc_checks_overview_plot_and_no_duplicate_qc_message(demo):
    from biomarker_assets.defs.biomarkers.assets import file_biomarkers

    instance = demo["instance"]
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("file_biomarkers")), limit=100
    ).records
    evaluations = {record.partition_key: record.asset_materialization.metadata for record in records}
    wrist = evaluations["demo/raw/wrist/DM001_V1_wrist.bin"]
    assert wrist["qc_failed"].value == [] and wrist["fs"].value == pytest.approx(50.0)
    assert wrist["overview_thumbnail"].value.startswith("![overview](data:image/png;base64,")
    clinic = evaluations["demo/raw/clinic/DM005_V1_wrist.bin"]
    assert clinic["qc_failed"].value == ["min_wear_time", "endpoints_computed"]
    assert "too little wear" in clinic["not_computed/mvpa_min"].value  # 18 s: MVPA is not computed, with why
    assert 0 < clinic["biomarker/wear_hours"].value < 0.01  # SKDH's worn minutes, not its 0.1 h rounding
    bucket, prefix = wrist["results"].value.removeprefix("s3://").split("/", 1)
    png = aws_client("s3").get_object(Bucket=bucket, Key=prefix + "overview.png")["Body"].read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

    # the same file version again: the check fails again, visibly, but no second message
    from biomarker_assets.definitions import defs as definitions

    assert definitions.resources is not None  # bound in defs/resources.py
    resources = {
        k: definitions.resources[k] for k in ("study_store", "notifier", "metadata_table", "processing_options")
    }
    result = dg.materialize(
        [file_biomarkers], instance=instance, resources=resources, partition_key="demo/raw/clinic/DM005_V1_wrist.bin"
    )
    [evaluation] = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == "min_wear_time"
    ]
    assert evaluation.passed is False
    assert [m for m in drain_messages() if m["kind"] == "qc_failed"] == []


def test_demo_result_reproduces_from_its_provenance_alone(demo, tmp_path, monkeypatch, capsys):
    """`biomarker-assets reproduce` on the demo's gait result, from a directory it was not made in."""
    from biomarker_assets.platform.reproduce import run_reproduce

    status = demo["statuses"]["raw/lumbar/DM001_V1_lumbar.npz"]
    monkeypatch.chdir(tmp_path)
    assert run_reproduce(status.results + "provenance.json") == 0, capsys.readouterr().out
    record = _s3_json(*(status.results + "provenance.json").removeprefix("s3://").split("/", 1))
    assert record["input"]["version_id"] and record["config"]["version_id"]  # versioned buckets, as in the stack
