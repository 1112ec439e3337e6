"""One name per step: each step's job is its asset's name + ``_job``; the former names still launch the same asset."""

from __future__ import annotations

import dagster as dg

from biomarker_assets.definitions import defs
from biomarker_assets.defs.former_job_names import FORMER_NAMES
from biomarker_assets.lib.file_kinds import FILE_KINDS

STEP_ASSETS = ["study_configs", "study_catalog", "subject_metadata", "file_biomarkers", "study_summary"]


def selected(job_name: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    return {key.to_user_string() for key in job.asset_layer.selected_asset_keys}


def test_each_step_job_is_named_after_its_asset() -> None:
    for asset in STEP_ASSETS:
        assert selected(f"{asset}_job") == {asset}
    for kind in FILE_KINDS.values():
        assert kind.job == f"{kind.asset}_job"


def test_former_names_launch_the_same_asset_and_say_so() -> None:
    assert set(FORMER_NAMES) == {
        "discover_studies",
        "catalog_study",
        "clean_metadata_file",
        "process_data_file",
        "summarize_study",
    }
    for former, job in FORMER_NAMES.items():
        assert selected(former) == selected(job.name)
        description = defs.resolve_job_def(former).description or ""
        assert job.name in description


def test_sensors_request_the_new_names() -> None:
    targets = {
        sensor.name: {t.job_name for t in sensor.targets}
        for sensor in defs.get_repository_def().sensor_defs
        if isinstance(sensor, dg.SensorDefinition)
    }
    requested = set().union(*targets.values())
    # plus the biomarkers step's batch job (many files per run: platform/batch_runs.py), named after it too
    assert requested <= {f"{asset}_job" for asset in STEP_ASSETS} | {"file_biomarkers_batch_job"}
    assert requested >= {FILE_KINDS["data"].job, FILE_KINDS["metadata"].job}
