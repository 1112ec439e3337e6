"""Broken device files fail alone and say so: through Dagster, against moto, beside a good file.

Each broken file ends as status ``failed`` with a ``processing_failed`` SQS message naming what
is wrong; the good file of the same study is processed; no results are written for a failed file.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.platform.status import file_statuses
from biomarker_assets.resources.aws import aws_client
from biomarker_assets_tests.integration.test_catalog_and_requirements import run, small_study, upload_config

BUCKET = "broken-files"


def junk(seed: int, size: int = 200_000) -> bytes:
    """Random bytes: seed 0 makes SKDH's GENEActiv reader segfault (checked in this test)."""
    return random.Random(seed).randbytes(size)


def reversed_npz(samples, tmp_path) -> bytes:
    gait = np.load(samples / "gait_input.npz")
    path = tmp_path / "reversed.npz"
    np.savez(path, time=gait["time"][::-1].copy(), accel=gait["accel"])
    return path.read_bytes()


@pytest.fixture
def broken_study(aws, instance, samples, tmp_path):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="raw/metadata/subjects.csv", Body=(STUDY_FILES / "subjects.csv").read_bytes())
    cwa = (samples / "ax3_sample.cwa").read_bytes()
    files = {
        "raw/wrist/DM001_V1_wrist.bin": junk(0),
        "raw/wrist/DM002_V1_wrist.cwa": cwa[:1024],
        "raw/wrist/DM004_V1_wrist.cwa": cwa[: 1024 + 100 * 512 + 200],
        "raw/wrist/DM005_V1_wrist.cwa": cwa,
        "raw/lumbar/DM001_V1_lumbar.npz": reversed_npz(samples, tmp_path),
    }
    for key, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    upload_config(small_study("broken", BUCKET))
    instance.add_dynamic_partitions(studies.name, ["broken"])
    from biomarker_assets.defs.catalog.assets import study_catalog
    from biomarker_assets.defs.metadata.assets import subject_metadata

    run(study_catalog, instance, "broken")
    run(subject_metadata, instance, file_partition_key("broken", "raw/metadata/subjects.csv"))
    drain_messages()
    return files


def outcome(instance, key: str) -> tuple[str, str]:
    [row] = [s for s in file_statuses(instance) if s.key == key]
    return row.status, row.reason


def results_of(key: str) -> list[str]:
    listed = aws_client("s3").list_objects_v2(Bucket=BUCKET, Prefix="results/").get("Contents", [])
    return [o["Key"] for o in listed if f"/{key}/" in o["Key"]]


def test_broken_files_fail_alone_with_what_is_wrong(broken_study, instance):
    expected = {
        "raw/wrist/DM001_V1_wrist.bin": "the GENEActiv reader (ReadBin) crashed (SIGSEGV: Segmentation fault)",
        "raw/wrist/DM002_V1_wrist.cwa": "the Axivity reader (ReadCwa) ended the process with exit code 2 on this file; "
        "its last output: 'Fortran runtime error: End of file'",
        "raw/lumbar/DM001_V1_lumbar.npz": "step 0 ('ReadNumpyFile') read this file, but the timestamps run backwards",
    }
    for key in [*expected, "raw/wrist/DM005_V1_wrist.cwa"]:
        run(file_biomarkers, instance, file_partition_key("broken", key), ok=key not in expected)

    messages = {m["file"].removeprefix(f"s3://{BUCKET}/"): m for m in drain_messages()}
    # the good 5-minute file may only say which endpoints it is too short for (qc_failed), never that it failed
    good = messages.pop("raw/wrist/DM005_V1_wrist.cwa", None)
    assert good is None or good["kind"] == "qc_failed", good
    assert set(messages) == set(expected)
    for key, words in expected.items():
        status, reason = outcome(instance, key)
        assert status == "failed" and words in reason, (key, reason)
        assert messages[key]["kind"] == "processing_failed" and words in messages[key]["reason"]
        assert results_of(key) == []  # nothing kept for a failed file
    # the header-only .cwa also says why the reader could not cope
    assert "the file holds the header only, no data blocks" in messages["raw/wrist/DM002_V1_wrist.cwa"]["reason"]
    # the good file of the same study, run after the crashes, is processed
    assert outcome(instance, "raw/wrist/DM005_V1_wrist.cwa")[0] == "processed"
    assert any(k.endswith("provenance.json") for k in results_of("raw/wrist/DM005_V1_wrist.cwa"))


def test_a_truncated_cwa_is_processed_and_says_it_was_cut_short(broken_study, instance):
    key = "raw/wrist/DM004_V1_wrist.cwa"
    result = run(file_biomarkers, instance, file_partition_key("broken", key))
    [materialization] = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert metadata["status"].value == "processed"
    integrity = metadata["file_integrity"].value
    assert integrity.startswith("truncated_file: the file ends 200 bytes into a 512-byte data block")
    assert "(12,000 samples, 0.02 h, in 100 complete blocks)" in integrity
    assert any(k.endswith("provenance.json") for k in results_of(key))
    # QC: the file_complete check warns with the same words, and a qc_failed message says so
    [check] = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == "file_complete"
    ]
    assert not check.passed and check.severity.value == "WARN" and check.description == integrity
    [message] = drain_messages()
    assert message["kind"] == "qc_failed" and message["details"]["checks"] == ["file_complete", "endpoints_computed"]
    # the whole sample passes the same check
    whole = run(file_biomarkers, instance, file_partition_key("broken", "raw/wrist/DM005_V1_wrist.cwa"))
    [good] = [
        e.asset_check_evaluation_data
        for e in whole.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == "file_complete"
    ]
    assert good.passed and good.description == "the file holds all the data its header and layout promise"
