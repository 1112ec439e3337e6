"""What the Dagster UI reads (GraphQL on a real code server) tells one story per file.

The demo study, without its two long wrist recordings, backfilled the way a person does it:
Launchpad > ``backfill_study`` (a GraphQL launch), then the backfill daemon. Its files end
processed (``DM001`` lumbar), processed with a failed QC check (``DM005`` clinic), waiting on
metadata (``DM003`` lumbar: no height), waiting on a rename (``recording final (2).cwa``) and
failed (``DM004``: corrupt). Each must read the same in the backfill outcome, the runs list,
the partition statuses, the checks tab, the partition's events and the status table.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Sequence

import dagster as dg
import pytest
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster_graphql.test.utils import execute_dagster_graphql, infer_job_selector

from biomarker_assets.definitions import defs
from biomarker_assets.defs.partitions import metadata_files
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.local.demo import DEMO_BUCKET, DEMO_STUDY, seed_demo
from biomarker_assets.platform.backfills import STUDY_TAG
from biomarker_assets.platform.dagster_private import BulkActionStatus
from biomarker_assets.platform.status import OUTCOME_TAG, file_statuses, status_table
from biomarker_assets.resources.aws import aws_client
from biomarker_assets_tests.conftest import REPO

# processed like DM001 lumbar (the story needs one processed file): their SKDH seconds are not needed here
LONG_RECORDINGS = (
    "raw/wrist/DM001_V1_wrist.bin",
    "raw/wrist/DM002_V1_wrist.cwa",
    "raw/wrist/DM006_V1_wrist.cwa",
    "raw/walk-test/DM001_V1_lumbar.npz",
)
PROCESSED, QC_FAILED = "raw/lumbar/DM001_V1_lumbar.npz", "raw/clinic/DM005_V1_wrist.bin"
WAITING_HEIGHT, WAITING_NAME = "raw/lumbar/DM003_V1_lumbar.npz", "raw/wrist/recording final (2).cwa"
FAILED = "raw/wrist/DM004_V1_wrist.cwa"
OUTCOMES = {PROCESSED: "processed", QC_FAILED: "qc_failed", WAITING_HEIGHT: "waiting", WAITING_NAME: "waiting"}
OUTCOMES[FAILED] = "failed"
LAUNCH = """
mutation($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
ASSET = """
query($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      dependencyKeys { path }
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses { materializedPartitions failedPartitions materializingPartitions }
      }
      assetChecksOrError {
        ... on AssetChecks {
          checks {
            name
            partitionStatuses {
              ... on AssetCheckDefaultPartitionStatuses {
                succeededPartitions failedPartitions skippedPartitions executionFailedPartitions inProgressPartitions
              }
            }
          }
        }
      }
    }
  }
}"""
BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status numPartitions partitionStatusCounts { runStatus count } }
  }
}"""
RUNS = """
query($tags: [ExecutionTag!]) {
  runsOrError(filter: {tags: $tags}) { ... on Runs { results { status tags { key value } } } }
}"""
CHECK_HISTORY = """
query($assetKey: AssetKeyInput!, $checkName: String!, $partition: String) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 10, partition: $partition) {
    status partition evaluation { severity description }
  }
}"""


def key(path: str) -> str:
    return file_partition_key(DEMO_STUDY, path)


def _in_process(instance: dg.DagsterInstance, job: str, partitions: Sequence[str | None]) -> None:
    for partition in partitions:
        assert defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition).success


@pytest.fixture(scope="module")
def ui(moto_url, samples, tmp_path_factory):
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    seed_demo(samples, tmp_path_factory.mktemp("demo"))
    for path in LONG_RECORDINGS:
        aws_client("s3").delete_object(Bucket=DEMO_BUCKET, Key=path)
    # runs launched (by GraphQL, by the backfill daemon) execute at once, in this process
    with dg.instance_for_test(synchronous_run_coordinator=True, synchronous_run_launcher=True) as instance:
        _in_process(instance, "study_configs_job", [None])
        _in_process(instance, "study_catalog_job", [DEMO_STUDY])
        _in_process(instance, "subject_metadata_job", instance.get_dynamic_partitions(str(metadata_files.name)))
        target = ModuleTarget(
            module_name="biomarker_assets.definitions",
            attribute=None,
            working_directory=str(REPO),
            location_name="biomarker_assets",
        )
        with create_test_daemon_workspace_context(target, instance) as process_context:
            context = process_context.create_request_context()
            launched = execute_dagster_graphql(
                context,
                LAUNCH,
                {
                    "executionParams": {
                        "selector": infer_job_selector(context, "backfill_study"),
                        "runConfigData": {"ops": {"launch_study_backfill": {"config": {"study": DEMO_STUDY}}}},
                    }
                },
            ).data["launchPipelineExecution"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            [backfill] = instance.get_backfills()
            for _ in range(10):  # an iteration submits (and so runs) the runs, a later one settles the status
                list(execute_backfill_iteration(process_context, logging.getLogger("backfill")))
                backfill = instance.get_backfills()[0]
                if backfill.status != BulkActionStatus.REQUESTED:
                    break
            yield {"instance": instance, "process": process_context, "backfill": backfill}


def gql(ui, query: str, **variables):
    """One query in its own request context, as the webserver serves each request."""
    with ui["process"].create_request_context() as context:
        result = execute_dagster_graphql(context, query, variables)
    assert not result.errors, result.errors
    return result.data


def test_backfill_fails_only_for_the_broken_file(ui):
    """Two waiting files and a QC failure are not failures: the runs of all but the corrupt file succeed."""
    backfill = gql(ui, BACKFILL, id=ui["backfill"].backfill_id)["partitionBackfillOrError"]
    assert backfill["numPartitions"] == len(OUTCOMES)
    counts = {c["runStatus"]: c["count"] for c in backfill["partitionStatusCounts"]}
    assert counts == {"SUCCESS": 4, "FAILURE": 1}
    assert backfill["status"] == "COMPLETED_FAILED"  # one file really is broken
    assert ui["backfill"].tags == {STUDY_TAG: DEMO_STUDY}


def test_runs_list_tags_each_files_outcome(ui):
    runs = gql(ui, RUNS, tags=[{"key": STUDY_TAG, "value": DEMO_STUDY}])["runsOrError"]["results"]
    by_partition = {}
    for run in runs:
        tags = {t["key"]: t["value"] for t in run["tags"]}
        if "dagster/partition" in tags and tags["dagster/partition"].startswith(f"{DEMO_STUDY}/raw/"):
            by_partition[tags["dagster/partition"]] = (tags.get(OUTCOME_TAG), run["status"])
    expected_status = {"failed": "FAILURE"}
    assert by_partition == {key(p): (o, expected_status.get(o, "SUCCESS")) for p, o in OUTCOMES.items()}
    waiting = gql(ui, RUNS, tags=[{"key": OUTCOME_TAG, "value": "waiting"}])["runsOrError"]["results"]
    assert len(waiting) == 2  # the runs list's tag filter finds the waiting files


def _asset(ui, name: str) -> dict:
    return gql(ui, ASSET, assetKey={"path": [name]})["assetNodeOrError"]


def test_partitions_read_processed_failed_or_missing(ui):
    statuses = _asset(ui, "file_biomarkers")["assetPartitionStatuses"]
    assert set(statuses["materializedPartitions"]) == {key(PROCESSED), key(QC_FAILED)}
    assert statuses["failedPartitions"] == [key(FAILED)]
    assert statuses["materializingPartitions"] == []  # waiting files are missing: nothing was made


def test_checks_tab_shows_each_files_check_status(ui):
    """file_biomarkers > Checks: per check, the files that failed, passed, were skipped or never ran."""
    checks = {c["name"]: c["partitionStatuses"] for c in _asset(ui, "file_biomarkers")["assetChecksOrError"]["checks"]}
    assert checks["min_wear_time"]["failedPartitions"] == [key(QC_FAILED)]
    # gait has no qc.min_wear_hours: not applicable, so skipped rather than "passed"
    assert key(PROCESSED) in checks["min_wear_time"]["skippedPartitions"]
    assert key(PROCESSED) not in checks["min_wear_time"]["succeededPartitions"]
    assert set(checks["requirements_met"]["failedPartitions"]) == {key(WAITING_HEIGHT), key(WAITING_NAME)}
    assert set(checks["requirements_met"]["succeededPartitions"]) == {key(PROCESSED), key(QC_FAILED)}
    for status in checks.values():
        assert status["executionFailedPartitions"] == [key(FAILED)]
    history = gql(
        ui,
        CHECK_HISTORY,
        assetKey={"path": ["file_biomarkers"]},
        checkName="requirements_met",
        partition=key(WAITING_HEIGHT),
    )["assetCheckExecutions"]
    assert [(h["status"], h["partition"], h["evaluation"]["severity"]) for h in history] == [
        ("FAILED", key(WAITING_HEIGHT), "WARN")
    ]
    assert "has no height" in history[0]["evaluation"]["description"]


def test_waiting_and_failed_partitions_carry_their_reason(ui):
    instance: dg.DagsterInstance = ui["instance"]
    for path, status in ((WAITING_HEIGHT, "waiting"), (FAILED, "failed")):
        [record] = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("file_biomarkers"), asset_partitions=[key(path)]), limit=1
        ).records
        observation = record.asset_observation
        assert observation is not None and (observation.description or "").startswith(f"{status}: ")
        assert observation.metadata["status"].value == status and observation.tags[OUTCOME_TAG] == status
    [materialized] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("file_biomarkers"), asset_partitions=[key(QC_FAILED)]), limit=1
    ).records
    assert materialized.asset_materialization is not None
    assert (materialized.asset_materialization.tags or {}).get(OUTCOME_TAG) == "qc_failed"  # the partition page's Tags
    rows = {s.key: s for s in file_statuses(instance)}
    assert rows[QC_FAILED].status == "processed" and rows[QC_FAILED].qc_failed == [
        "min_wear_time",
        "endpoints_computed",
    ]
    table = status_table(list(rows.values()), max_reason=200)
    assert "processed, QC failed: min_wear_time" in table
    assert "waiting: subject 'DM003' has no height" in table


def test_lineage_reads_config_catalog_raw_metadata_biomarkers_summary(ui):
    parents = {
        name: {"/".join(k["path"]) for k in _asset(ui, name)["dependencyKeys"]}
        for name in ("study_catalog", "raw_metadata_file", "raw_data_file", "subject_metadata", "file_biomarkers")
    }
    parents["study_summary"] = {"/".join(k["path"]) for k in _asset(ui, "study_summary")["dependencyKeys"]}
    assert parents["study_catalog"] == {"study_configs"}
    assert parents["raw_metadata_file"] == {"study_catalog"} and parents["raw_data_file"] == {"study_catalog"}
    assert parents["subject_metadata"] == {"raw_metadata_file"}
    assert parents["file_biomarkers"] == {"raw_data_file", "subject_metadata"}
    assert "file_biomarkers" in parents["study_summary"]
