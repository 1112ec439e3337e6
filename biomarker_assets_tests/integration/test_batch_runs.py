"""Batched mode (``files_per_run``): many files of a study in one run, each with its own outcome.

Against moto and a real instance: a batch of a good wrist file, a good lumbar file, a corrupt file
and one waiting on a height. The good files are published and materialized with their own metadata
and checks, the corrupt one fails alone (its partition Failed, a processing_failed message), the
waiting one is re-requested in a batch by the waiting-files sensor and then processed; the batch run
fails at the end naming the corrupt file. Then: sensor and ``backfill_study`` requests, and sizing.
"""

from __future__ import annotations

import copy

import dagster as dg
import pytest
import yaml

from biomarker_assets.definitions import defs
from biomarker_assets.defs.biomarkers.batch_job import OUTCOMES_TAG
from biomarker_assets.defs.biomarkers.checks import REQUIREMENTS_CHECK
from biomarker_assets.defs.biomarkers.study_batches_sensor import study_batches_sensor
from biomarker_assets.defs.biomarkers.waiting_files_sensor import waiting_files_sensor
from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
from biomarker_assets.defs.metadata.assets import subject_metadata
from biomarker_assets.defs.partitions import data_files, studies
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.lib.skdh.isolation import MAX_RUNTIME_TAG, run_max_runtime_seconds
from biomarker_assets.local.aws_standin import drain_messages
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.platform.backfills import STUDY_TAG
from biomarker_assets.platform.batch_runs import BATCH_JOB, BATCH_SIZE_TAG, batch_partition_keys, batch_run_config
from biomarker_assets.platform.batch_sizing import BATCH_MAX_RUNTIME_CAP_S, size_for_batch
from biomarker_assets.platform.dagster_private import DATA_VERSION_TAG
from biomarker_assets.platform.run_sizing import MEMORY_TAG, size_for_file, tags_for_run
from biomarker_assets.platform.status import OUTCOME_TAG, file_statuses
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.discovery_tuning import DiscoveryTuning
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.support.sensor_ticks import sensor_resources, tick

BUCKET = "batched-study"
STUDY = "batched"
ASSET = dg.AssetKey("file_biomarkers")
DEMO = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())
GOOD = ["raw/wrist/DM005_V1_wrist.cwa", "raw/lumbar/DM001_V1_lumbar.npz"]
CORRUPT = "raw/wrist/DM002_V1_wrist.cwa"  # the header alone: the Axivity reader ends its process
WAITING = "raw/lumbar/DM003_V1_lumbar.npz"  # DM003 has no height in subjects.csv; gait requires it
META = "raw/metadata/subjects.csv"


def upload_config(files_per_run: int) -> None:
    config = copy.deepcopy(DEMO)
    config.update(study=STUDY, bucket=BUCKET, files_per_run=files_per_run)
    store = StudyStore()
    aws_client("s3").put_object(
        Bucket=store.config_bucket, Key=store.config_key(STUDY), Body=yaml.safe_dump(config).encode()
    )


def key(s3_key: str) -> str:
    return file_partition_key(STUDY, s3_key)


@pytest.fixture
def study(aws, instance, samples):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    upload_config(files_per_run=4)
    instance.add_dynamic_partitions(studies.name, [STUDY])
    cwa = (samples / "ax3_sample.cwa").read_bytes()
    s3.put_object(Bucket=BUCKET, Key=GOOD[0], Body=cwa)
    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, GOOD[1])
    s3.put_object(Bucket=BUCKET, Key=CORRUPT, Body=cwa[:1024])
    s3.upload_file(str(samples / "gait_input.npz"), BUCKET, WAITING)
    s3.put_object(Bucket=BUCKET, Key=META, Body=(STUDY_FILES / "subjects.csv").read_bytes())
    return s3


def materialize_metadata(instance) -> None:
    resources = {
        k: (defs.resources or {})[k] for k in ("study_store", "notifier", "metadata_table", "processing_options")
    }
    assert dg.materialize([subject_metadata], instance=instance, resources=resources, partition_key=key(META)).success


def execute(instance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(BATCH_JOB)
    return job.execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags, raise_on_error=False
    )


def latest(instance, fetch, partition: str):
    records = fetch(dg.AssetRecordsFilter(asset_key=ASSET, asset_partitions=[partition]), limit=1).records
    return records[0] if records else None


def evaluations(instance, run_id: str) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """(partition, check) -> the run's check evaluation, read back from the instance's event log."""
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    data = [e.dagster_event.asset_check_evaluation_data for e in events]
    return {(d.partition, d.check_name): d for d in data}


def test_a_batch_keeps_per_file_results_status_and_failure_isolation(study, instance):
    _, requests, _ = tick(study_files_listing_sensor, instance)
    [metadata_run] = [r for r in requests if r.job_name != BATCH_JOB]
    [batch] = [r for r in requests if r.job_name == BATCH_JOB]
    files = sorted(key(k) for k in [*GOOD, CORRUPT, WAITING])
    assert metadata_run.partition_key == key(META)
    assert sorted(batch_partition_keys(batch.run_config)) == files  # the fleet benchmark reads the files here
    assert batch.tags[STUDY_TAG] == STUDY and batch.tags[BATCH_SIZE_TAG] == "4"
    assert set(instance.get_dynamic_partitions(data_files.name)) >= set(files)
    materialize_metadata(instance)
    drain_messages()

    result = execute(instance, batch)

    # the run fails after every file, naming the failed one only
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    user_failure = failure.step_failure_data.user_failure_data
    assert user_failure is not None and user_failure.description is not None
    message = user_failure.description
    assert message.startswith("1 of 4 file(s) failed, the others are recorded: ") and key(CORRUPT) in message
    assert all(key(k) not in message for k in [*GOOD, WAITING])
    run = instance.get_run_by_id(result.run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    # the 5-minute wrist sample is too short for its day endpoints: processed, QC failed
    assert run.tags[OUTCOME_TAG] == "failed" and run.tags[OUTCOMES_TAG] == "failed=1 processed=1 qc_failed=1 waiting=1"

    # good files: their own materialization, published results and provenance in S3, data version, checks
    checks = evaluations(instance, result.run_id)
    for s3_key in GOOD:
        record = latest(instance, instance.fetch_materializations, key(s3_key))
        assert record is not None and record.run_id == result.run_id
        meta = record.asset_materialization.metadata
        assert meta["status"].value == "processed" and meta["fields/subject"].value == s3_key.split("/")[-1][:5]
        provenance = meta["provenance"].value.removeprefix(f"s3://{BUCKET}/")
        assert f"/{s3_key}/" in provenance
        assert aws_client("s3").head_object(Bucket=BUCKET, Key=provenance)["ContentLength"] > 0
        tags = record.asset_materialization.tags
        assert tags[OUTCOME_TAG] in ("processed", "qc_failed") and len(tags[DATA_VERSION_TAG]) > 8
        requirement = checks[(key(s3_key), REQUIREMENTS_CHECK)]
        target = requirement.target_materialization_data
        assert requirement.passed and target is not None and target.storage_id == record.storage_id
    assert instance.get_materialized_partitions(ASSET) == {key(k) for k in GOOD}

    # the waiting file: its status observation and a failed requirements check (WARN), no results
    waiting = latest(instance, instance.fetch_observations, key(WAITING))
    assert waiting.asset_observation.metadata["status"].value == "waiting"
    assert "height" in waiting.asset_observation.metadata["reason"].value
    requirement = checks[(key(WAITING), REQUIREMENTS_CHECK)]
    assert not requirement.passed and requirement.severity == dg.AssetCheckSeverity.WARN
    assert not any(p == key(CORRUPT) for p, _ in checks)  # a failed file reports no check: "Execution failed"

    # the corrupt file: failed with its reason, and Failed in the partitions view (planned, not materialized)
    failed = latest(instance, instance.fetch_observations, key(CORRUPT))
    assert failed.asset_observation.metadata["status"].value == "failed"
    attempts = instance.event_log_storage.get_latest_asset_partition_materialization_attempts_without_materializations(
        ASSET
    )
    assert set(attempts) == {key(CORRUPT)} and attempts[key(CORRUPT)][0] == result.run_id

    # SQS: one processing_failed for the corrupt file, one requirement_unmet for the waiting one, nothing else
    messages = {(m["kind"], m["file"].removeprefix(f"s3://{BUCKET}/")) for m in drain_messages()}
    assert ("processing_failed", CORRUPT) in messages and ("requirement_unmet", WAITING) in messages
    assert {f for kind, f in messages if kind in ("processing_failed", "requirement_unmet")} == {CORRUPT, WAITING}

    # the height arrives: the waiting file comes back as a batch of the study, and is processed
    _, none_yet, cursor = tick(waiting_files_sensor, instance)
    assert none_yet == []
    fixed = (STUDY_FILES / "subjects.csv").read_text().replace("DM003,  ,", "DM003, 180 cm,")
    study.put_object(Bucket=BUCKET, Key=META, Body=fixed.encode())
    materialize_metadata(instance)
    _, [again], cursor = tick(waiting_files_sensor, instance, cursor)
    assert again.job_name == BATCH_JOB and batch_partition_keys(again.run_config) == [key(WAITING)]
    assert again.tags[STUDY_TAG] == STUDY and again.tags[BATCH_SIZE_TAG] == "1"
    second = execute(instance, again)
    assert second.success
    assert instance.get_run_by_id(second.run_id).tags[OUTCOME_TAG] in ("processed", "qc_failed")
    assert {s.key: s.status for s in file_statuses(instance) if s.kind == "data"} == {
        GOOD[0]: "processed",
        GOOD[1]: "processed",
        WAITING: "processed",
        CORRUPT: "failed",
    }


def test_the_batch_records_what_a_one_file_run_records(study, instance):
    """Same per-file code path: the same metadata keys, tags and data version as file_biomarkers_job."""
    from biomarker_assets.defs.biomarkers.assets import file_biomarkers

    tick(study_files_listing_sensor, instance)
    materialize_metadata(instance)
    partition = key(GOOD[1])
    request = dg.RunRequest(job_name=BATCH_JOB, run_config=batch_run_config([partition]))
    assert execute(instance, request).success
    batch = latest(instance, instance.fetch_materializations, partition).asset_materialization
    resources = {
        k: (defs.resources or {})[k] for k in ("study_store", "notifier", "metadata_table", "processing_options")
    }
    assert dg.materialize([file_biomarkers], instance=instance, resources=resources, partition_key=partition).success
    single = latest(instance, instance.fetch_materializations, partition).asset_materialization
    assert set(batch.metadata) == set(single.metadata)
    assert batch.metadata["results"] == single.metadata["results"]  # the same version folder
    assert batch.tags == {k: v for k, v in single.tags.items() if k in batch.tags}
    assert set(single.tags) - set(batch.tags) <= {"dagster/backfill"}


def test_listing_sensor_past_the_threshold_still_requests_batches(study, instance):
    for number in range(10, 20):
        study.upload_file(str(STUDY_FILES / "subjects.csv"), BUCKET, f"raw/lumbar/DM{number:03d}_V1_lumbar.npz")
    resources = sensor_resources(discovery_tuning=DiscoveryTuning(backfill_threshold=5))
    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=resources)
    result = study_files_listing_sensor(context)
    assert isinstance(result, dg.SensorResult)
    batches = [r for r in result.run_requests or [] if r.job_name == BATCH_JOB]
    assert [len(batch_partition_keys(r.run_config)) for r in batches] == [4, 4, 4, 2]  # 14 data files, 4 per run
    assert all(r.tags[STUDY_TAG] == STUDY for r in batches)
    assert len({r.run_key for r in batches}) == 4
    # registered in the evaluation, as for a backfill: the data partitions are not in the result
    assert not [r for r in result.dynamic_partitions_requests or [] if r.partitions_def_name == data_files.name]
    registered = set(instance.get_dynamic_partitions(data_files.name))
    assert {k for r in batches for k in batch_partition_keys(r.run_config)} <= registered
    assert instance.get_backfills() == []


def test_backfill_study_in_batched_mode_requests_batches_of_the_study(study, instance):
    upload_config(files_per_run=3)
    instance.add_dynamic_partitions(data_files.name, [key(f"raw/lumbar/DM{n:03d}_V1_lumbar.npz") for n in range(7)])
    instance.add_dynamic_partitions(data_files.name, [file_partition_key("other", "raw/x.npz")])
    run = defs.resolve_job_def("backfill_study").execute_in_process(
        run_config={"ops": {"launch_study_backfill": {"config": {"study": STUDY}}}}, instance=instance
    )
    assert run.success and instance.get_backfills() == []  # no one-file backfill
    _, requests, cursor = tick(study_batches_sensor, instance)
    assert [len(batch_partition_keys(r.run_config)) for r in requests] == [3, 3, 1]
    keys = [k for r in requests for k in batch_partition_keys(r.run_config)]
    assert sorted(keys) == sorted(
        p for p in instance.get_dynamic_partitions(data_files.name) if p.startswith("batched/")
    )
    assert all(r.tags[STUDY_TAG] == STUDY and r.job_name == BATCH_JOB for r in requests)
    assert [r.tags[BATCH_SIZE_TAG] for r in requests] == ["3", "3", "1"]
    assert tick(study_batches_sensor, instance, cursor)[1] == []  # each backfill_study run once


def test_a_batch_run_is_sized_for_its_largest_file_and_timed_for_all(study, instance):
    files = [(GOOD[0], 0), (WAITING, 0), (CORRUPT, 0)]
    sizes = {k: aws_client("s3").head_object(Bucket=BUCKET, Key=k)["ContentLength"] for k, _ in files}
    run = dg.DagsterRun(job_name=BATCH_JOB, run_config=batch_run_config([key(k) for k in sizes]))
    tags, why = tags_for_run(run)
    largest = max(sizes, key=lambda k: sizes[k] * (29.5 if k.endswith(".cwa") else 1))
    assert tags is not None and "3 file(s)" in why
    assert tags[MEMORY_TAG] == size_for_file(sizes[largest], largest)[MEMORY_TAG]
    assert tags[MAX_RUNTIME_TAG] == str(sum(run_max_runtime_seconds(s, k) for k, s in sizes.items()))


def test_batch_time_limit_is_capped_and_refused_files_add_no_memory():
    many = [(200 * 2**20, f"f{i}.cwa") for i in range(400)]
    tags, _ = size_for_batch(many, max_run_memory_mib=122880)
    assert int(tags[MAX_RUNTIME_TAG]) == BATCH_MAX_RUNTIME_CAP_S
    small, huge = (2**20, "small.cwa"), (50 * 2**30, "huge.cwa")
    with_refused, _ = size_for_batch([small, huge], max_run_memory_mib=30720)
    assert with_refused[MEMORY_TAG] == size_for_file(*small)[MEMORY_TAG]


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ([], "a batch run needs at least one file"),
        ([key(GOOD[0]), file_partition_key("other", GOOD[1])], "files of one study"),
        (["not-a-file-key"], "not a file partition key"),
    ],
)
def test_a_batch_that_is_not_files_of_one_study_fails_before_any_file(aws, instance, keys, words):
    result = execute(instance, dg.RunRequest(job_name=BATCH_JOB, run_config=batch_run_config(keys)))
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    assert error is not None and words in str(error.to_string())
    assert instance.fetch_observations(ASSET, limit=1).records == []  # no file was touched


def test_batches_split_in_order_and_refuse_a_size_below_one():
    from biomarker_assets.platform.batch_runs import batches

    assert batches(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert batches(["a"], 500) == [["a"]]
    with pytest.raises(ValueError, match="at least 1"):
        batches(["a"], 0)
