"""Every Dagster object of the code location as sorted plain data, compared with a committed snapshot.

As in Dagster's own open platform (``test_defs.py``): loaded from the real
``biomarker_assets.definitions.defs``, so a renamed asset, a dropped check, a job that selects
other assets or a sensor that targets another job shows up in review as a diff of
``__snapshots__/test_definitions_snapshot/*.json``. After a deliberate change:
``pytest biomarker_assets_tests/unit/test_definitions_snapshot.py --snapshot-update``, and commit the file.
Sensor intervals are the defaults (``BIOMARKER_SENSOR_INTERVAL`` unset). Dagster's own ``dg check defs``
(dagster-dg-cli, in the ``test`` extra) validates the same project from its ``[tool.dg]`` configuration.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from biomarker_assets.definitions import defs

REPO = Path(__file__).resolve().parents[2]


def _partitions_name(partitions_def: dg.PartitionsDefinition | None) -> str | None:
    if partitions_def is None:
        return None
    return getattr(partitions_def, "name", None) or type(partitions_def).__name__


def assets() -> list[dict[str, Any]]:
    return sorted(
        (
            {
                "key": spec.key.to_user_string(),
                "group": spec.group_name,
                "partitions": _partitions_name(spec.partitions_def),
                "kinds": sorted(spec.kinds),
                "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
            }
            for spec in defs.resolve_all_asset_specs()
        ),
        key=lambda row: row["key"],
    )


def asset_checks() -> list[dict[str, str]]:
    keys = defs.resolve_asset_graph().asset_check_keys
    return sorted(
        ({"name": key.name, "asset": key.asset_key.to_user_string()} for key in keys),
        key=lambda row: (row["asset"], row["name"]),
    )


def jobs() -> list[dict[str, Any]]:
    rows = []
    for job in defs.resolve_all_job_defs():
        if job.name.startswith("__"):  # Dagster's implicit asset job
            continue
        rows.append(
            {
                "name": job.name,
                "assets": sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys),
                "partitions": _partitions_name(job.partitions_def),
            }
        )
    return sorted(rows, key=lambda row: row["name"])


def sensors() -> list[dict[str, Any]]:
    repository = defs.get_repository_def()
    return sorted(
        (
            {
                "name": sensor.name,
                "targets": sorted(target.job_name for target in sensor.targets),
                "minimum_interval_seconds": sensor.minimum_interval_seconds,
                "default_status": sensor.default_status.value,
            }
            for sensor in repository.sensor_defs
        ),
        key=lambda row: row["name"],
    )


def definitions_snapshot() -> dict[str, Any]:
    repository = defs.get_repository_def()
    return {
        "assets": assets(),
        "asset_checks": asset_checks(),
        "jobs": jobs(),
        "sensors": sensors(),
        "schedules": sorted(schedule.name for schedule in repository.schedule_defs),
        "resources": sorted(repository.get_top_level_resources()),
    }


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.unit
def test_definitions_match_the_snapshot(snapshot_json: SnapshotAssertion) -> None:
    assert definitions_snapshot() == snapshot_json


@pytest.mark.unit
def test_the_snapshot_covers_every_kind_of_object() -> None:
    """Guards the snapshot itself: an empty section would make every later diff meaningless."""
    taken = definitions_snapshot()
    assert all(taken[section] for section in ("assets", "asset_checks", "jobs", "sensors", "resources"))
    assert {row["key"] for row in taken["assets"]} == {key.to_user_string() for key in defs.resolve_all_asset_keys()}


@pytest.mark.integration
def test_dg_check_defs_loads_the_project() -> None:
    dg_cli = Path(sys.executable).parent / "dg"
    if not dg_cli.is_file():
        pytest.skip("dagster-dg-cli is not installed in this environment (it is in the 'test' extra)")
    checked = subprocess.run(
        [str(dg_cli), "check", "defs"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
