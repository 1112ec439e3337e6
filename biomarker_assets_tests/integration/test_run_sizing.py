"""Run sizing: valid Fargate sizes that cover the measured peaks, and the tags each kind of run gets."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import pytest
from botocore.exceptions import ClientError
from dagster._core.storage.tags import PARTITION_NAME_TAG, RETRY_NUMBER_TAG
from dagster_aws.ecs.container_context import EcsContainerContext

from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.lib.skdh.isolation import MAX_RUNTIME_TAG, oversized, run_max_runtime_seconds
from biomarker_assets.platform.fargate import is_valid
from biomarker_assets.platform.run_sizing import (
    MEASURED,
    MEASURED_PROCESS_FLOOR,
    RUN_FLOOR_MIB,
    SMALLEST,
    SizedEcsRunLauncher,
    fargate_size,
    mib_per_file_mib,
    retry_size,
    size_for_file,
    tags_for_run,
)
from biomarker_assets.resources.aws import aws_client
from biomarker_assets_tests.integration.test_catalog_and_requirements import small_study, upload_config

MIB = 2**20


def valid(tags: dict[str, str]) -> bool:
    return is_valid(int(tags["ecs/cpu"]), int(tags["ecs/memory"]))


def test_fargate_size_is_the_cheapest_valid_combination():
    assert fargate_size(100) == {"ecs/cpu": "256", "ecs/memory": "512"}
    assert fargate_size(2048) == {"ecs/cpu": "256", "ecs/memory": "2048"}
    assert fargate_size(2049) == {"ecs/cpu": "512", "ecs/memory": "3072"}
    assert fargate_size(2049, min_cpu=1024) == {"ecs/cpu": "1024", "ecs/memory": "3072"}
    assert fargate_size(30721) == {"ecs/cpu": "8192", "ecs/memory": "32768"}  # 8 vCPU steps by 4 GiB
    with pytest.raises(ValueError, match="largest task"):
        fargate_size(122881)


@pytest.mark.parametrize("name, size, samples, peak", MEASURED, ids=[m[0] for m in MEASURED])
def test_every_measured_file_fits_its_size_with_room(name, size, samples, peak):
    """The measured peak, plus what a Dagster run task adds on top of one bare process, fits 1.3 times."""
    tags = size_for_file(size, name)
    run_peak_mib = (peak - MEASURED_PROCESS_FLOOR) / MIB + RUN_FLOOR_MIB
    assert valid(tags)
    assert int(tags["ecs/memory"]) >= 1.3 * run_peak_mib, (tags, run_peak_mib)
    assert int(tags["ecs/cpu"]) >= 1024


def test_sizes_grow_with_the_file_and_stay_valid():
    for suffix in (".cwa", ".bin", ".npz", ".gt3x"):
        previous = 0
        for mib in (0, 1, 10, 50, 100, 250, 500, 1000, 2000):
            tags = size_for_file(mib * MIB, f"raw/x{suffix}")
            assert valid(tags)
            assert int(tags["ecs/memory"]) >= previous
            previous = int(tags["ecs/memory"])
    # a week at 100 Hz on an Axivity (about 260 MB) gets a 2-vCPU task with 12 GiB
    assert size_for_file(258_000_000, "DM001_V1_wrist.cwa") == {"ecs/cpu": "2048", "ecs/memory": "12288"}
    # an unknown format is sized as the most memory-hungry per byte
    assert int(size_for_file(50 * MIB, "a.gt3x")["ecs/memory"]) >= int(size_for_file(50 * MIB, "a.cwa")["ecs/memory"])


def test_formats_are_sized_by_bytes_per_sample():
    """Peak per file MiB is the run's bytes per sample over the format's; today's figures exactly."""
    assert (mib_per_file_mib(".bin"), mib_per_file_mib(".cwa"), mib_per_file_mib(".gt3x")) == (10.5, 29.5, 40.0)
    assert size_for_file(50 * MIB, "raw/A.CWA") == size_for_file(50 * MIB, "raw/a.cwa")


def test_retries_double_the_memory():
    assert retry_size({"ecs/cpu": "256", "ecs/memory": "512"}) == {"ecs/cpu": "256", "ecs/memory": "1024"}
    assert retry_size({"ecs/cpu": "1024", "ecs/memory": "3072"}) == {"ecs/cpu": "1024", "ecs/memory": "6144"}
    assert retry_size({"ecs/cpu": "4096", "ecs/memory": "30720"}) == {"ecs/cpu": "8192", "ecs/memory": "61440"}
    assert size_for_file(10 * MIB, "a.cwa", attempt=1)["ecs/memory"] > size_for_file(10 * MIB, "a.cwa")["ecs/memory"]


def run(job_name: str, tags: dict[str, str], asset_selection=None) -> dg.DagsterRun:
    return dg.DagsterRun(job_name=job_name, tags=tags, asset_selection=asset_selection)


def test_tags_for_each_kind_of_run(aws, samples):
    """Biomarker runs from the object's size in S3 (by job or by asset backfill); others the smallest."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="sized-study")
    upload_config(small_study("sized", "sized-study"))
    key = "raw/wrist/DM001_V1_wrist.cwa"
    s3.upload_file(str(samples / "ax3_sample.cwa"), "sized-study", key)
    partition = file_partition_key("sized", key)
    size = (samples / "ax3_sample.cwa").stat().st_size
    expected = {**size_for_file(size, key), MAX_RUNTIME_TAG: str(run_max_runtime_seconds(size, key))}
    assert expected[MAX_RUNTIME_TAG] == "1200"  # 300 s + 2 s per MiB of processing, plus 900 s for the run

    by_job, why = tags_for_run(run("file_biomarkers_job", {PARTITION_NAME_TAG: partition}))
    assert by_job == expected and key in why
    by_backfill, _ = tags_for_run(
        run("__ASSET_JOB", {PARTITION_NAME_TAG: partition}, asset_selection={dg.AssetKey("file_biomarkers")})
    )
    assert by_backfill == expected
    retried, _ = tags_for_run(run("file_biomarkers_job", {PARTITION_NAME_TAG: partition, RETRY_NUMBER_TAG: "1"}))
    assert retried is not None and int(retried["ecs/memory"]) > int(expected["ecs/memory"])

    assert tags_for_run(run("study_catalog_job", {PARTITION_NAME_TAG: "sized"}))[0] == SMALLEST
    assert tags_for_run(run("study_configs_job", {}))[0] == SMALLEST
    # a person's (or a sensor's) explicit size is kept; its retry gets twice the memory
    assert tags_for_run(run("file_biomarkers_job", {PARTITION_NAME_TAG: partition, "ecs/memory": "8192"}))[0] is None
    assert tags_for_run(run("study_catalog_job", {"ecs/cpu": "256", "ecs/memory": "512", RETRY_NUMBER_TAG: "1"}))[
        0
    ] == {
        "ecs/cpu": "256",
        "ecs/memory": "1024",
    }


def test_a_missing_object_raises_so_the_launcher_keeps_the_task_definitions_size(aws):
    upload_config(small_study("sized", "sized-study"))
    aws_client("s3").create_bucket(Bucket="sized-study")
    with pytest.raises(ClientError):
        tags_for_run(run("file_biomarkers_job", {PARTITION_NAME_TAG: file_partition_key("sized", "raw/gone.cwa")}))


def test_the_launcher_sizes_through_dagster_aws_hook_and_records_the_size_on_the_run(aws, instance):
    """get_cpu_and_memory_overrides: the size goes to the task and onto the run's tags (a retry copies them)."""
    launcher = SizedEcsRunLauncher(use_current_ecs_task_config=False)
    launcher.register_instance(instance)
    context = EcsContainerContext()

    def launched(
        job_name: str, tags: dict[str, str], status: dg.DagsterRunStatus = dg.DagsterRunStatus.STARTING
    ) -> tuple[Mapping[str, str], Mapping[str, str], list[str]]:
        added = instance.add_run(dg.DagsterRun(job_name=job_name, tags=tags, status=status))
        overrides = launcher.get_cpu_and_memory_overrides(context, added)
        prefix = "[SizedEcsRunLauncher] Fargate size"
        events = [e.message for e in instance.all_logs(added.run_id) if e.message.startswith(prefix)]
        stored = instance.get_run_by_id(added.run_id)
        assert stored is not None
        return overrides, stored.tags, events

    overrides, tags, events = launched("study_catalog_job", {PARTITION_NAME_TAG: "sized"})
    assert overrides == {"cpu": "256", "memory": "1024"} and {k: tags[k] for k in SMALLEST} == SMALLEST
    assert events == ["[SizedEcsRunLauncher] Fargate size 256 CPU / 1024 MiB: not a biomarker run"]

    retry = {"ecs/cpu": "256", "ecs/memory": "1024", RETRY_NUMBER_TAG: "1"}
    overrides, tags, _ = launched("study_catalog_job", retry)
    assert overrides == {"cpu": "256", "memory": "2048"} and tags["ecs/memory"] == "2048"
    # resume_run (a STARTED run whose worker died) keeps the size its launch gave: no second doubling
    overrides, tags, events = launched("study_catalog_job", retry, status=dg.DagsterRunStatus.STARTED)
    assert overrides == {"cpu": "256", "memory": "1024"} and tags["ecs/memory"] == "1024" and events == []

    # sizing that fails (no such study) leaves the task definition's size, and says why
    gone = {PARTITION_NAME_TAG: file_partition_key("nosuchstudy", "raw/gone.cwa")}
    overrides, tags, [event] = launched("file_biomarkers_job", gone)
    assert overrides == {} and "ecs/memory" not in tags
    assert event.startswith("[SizedEcsRunLauncher] Fargate size default CPU / default MiB: sizing failed")


def test_a_huge_file_is_refused_unread_not_given_the_largest_task():
    """A 2 GB junk .csv (unknown-format figure, 40 MiB per MiB: ~120 GiB) is past the default cap of 30 GiB."""
    reason = oversized(2 * 2**30, "raw/junk.csv", 30720)
    assert reason == (
        "the file is 2,048 MiB: processing a .csv file that large needs about 123,780 MiB, more than the study's "
        "max_run_memory_mib of 30,720 MiB; refused without reading it (raise max_run_memory_mib in the study config "
        "if the file is genuine)"
    )
    # a week at 100 Hz on an Axivity (258 MB) is well inside the default cap
    assert oversized(258_000_000, "raw/a.cwa", 30720) is None


def test_a_file_past_its_studys_cap_gets_the_smallest_task_and_fails_with_the_reason(aws, instance):
    """A study that caps runs at 1 GiB: a 5 MiB junk .csv would need ~1.2 GiB. Smallest task, short limit, refused."""
    from biomarker_assets.defs.biomarkers.assets import file_biomarkers
    from biomarker_assets.defs.partitions import studies
    from biomarker_assets.local.aws_standin import drain_messages
    from biomarker_assets.resources.metadata_table import MetadataTable
    from biomarker_assets_tests.integration.test_catalog_and_requirements import run as materialize

    config = small_study("capped", "capped-study")
    config["max_run_memory_mib"] = 1024
    config["data_files"].append({"match": {"glob": "raw/**/*.csv"}, "pipeline": "gait"})
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="capped-study")
    upload_config(config)
    key = "raw/lumbar/DM001_V1_lumbar.csv"
    s3.put_object(Bucket="capped-study", Key=key, Body=bytes(5 * MIB))
    partition = file_partition_key("capped", key)

    tags, why = tags_for_run(run("process_data_file", {PARTITION_NAME_TAG: partition}))
    assert tags == {**SMALLEST, MAX_RUNTIME_TAG: "900"}
    assert why.startswith(f"{key}: the file is 5 MiB: processing a .csv file that large needs about 1,200 MiB")

    instance.add_dynamic_partitions(studies.name, ["capped"])
    instance.add_dynamic_partitions("data_files", [partition])
    MetadataTable().put_subjects("capped", [{"subject": "DM001", "height_m": 1.8}])  # gait's requirement is met
    materialize(file_biomarkers, instance, partition, ok=False)
    [message] = [m for m in drain_messages() if m["kind"] == "processing_failed"]
    assert "more than the study's max_run_memory_mib of 1,024 MiB; refused without reading it" in message["reason"]
    assert not s3.list_objects_v2(Bucket="capped-study", Prefix="results/").get("KeyCount")


def test_sensor_run_requests_carry_a_time_limit_from_the_file_size():
    """Run monitoring cancels a run past ``dagster/max_runtime``: data files get one from their size."""
    from biomarker_assets.lib.catalog.scanning import CatalogEntry
    from biomarker_assets.platform.file_requests import runs_or_backfill

    def entry(kind: str, key: str, size: int) -> CatalogEntry:
        return CatalogEntry(file_partition_key("s", key), kind, 0, None, "b", key, size, "e", None, None, None)

    week, meta = entry("data", "raw/a.cwa", 258_000_000), entry("metadata", "raw/m.csv", 1000)
    _, requests = runs_or_backfill(None, "s", [week, meta], backfill_threshold=10)  # type: ignore[arg-type]  # no backfill, no context
    limits = {r.partition_key: r.tags.get(MAX_RUNTIME_TAG) for r in requests}
    # 300 s + 2 s/MiB (246 MiB) of processing + 900 s for the run: 28 min for a week at 100 Hz (measured: 82 s)
    assert limits == {week.partition_key: "1692", meta.partition_key: None}
    assert run_max_runtime_seconds(50 * 2**30, "x.cwa") == 4 * 3600 + 900  # capped


def test_a_file_that_runs_in_day_pieces_is_sized_for_one_day_at_its_headers_rate(aws, tmp_path):
    """Memory follows rate x day window, read from the file's header in S3, not the recording's length."""
    from biomarker_assets.lib.skdh.isolation import PIECE_BYTES_PER_SAMPLE, estimate_peak_mib
    from biomarker_assets.local.axivity_cwa import write_wrist_cwa
    from biomarker_assets.platform.run_sizing import file_window_samples
    from biomarker_assets.resources.study_store import StudyStore

    s3 = aws_client("s3")
    s3.create_bucket(Bucket="sized-study")
    config = small_study("sized", "sized-study")
    upload_config(config)
    cwa = write_wrist_cwa(tmp_path / "h.cwa", days=1 / 24, fs=100.0, seed=1)
    s3.upload_file(str(cwa), "sized-study", "raw/wrist/DM001_V1_wrist.cwa")  # wrist-activity: day pieces
    s3.upload_file(str(cwa), "sized-study", "raw/lumbar/DM001_V1_lumbar.npz")  # gait: whole file
    store = StudyStore()
    loaded = store.load_config("sized").config
    window = file_window_samples(store, loaded, "raw/wrist/DM001_V1_wrist.cwa")
    assert window == int(100 * 24 * 3600 * 1.01)
    assert file_window_samples(store, loaded, "raw/lumbar/DM001_V1_lumbar.npz") is None
    assert file_window_samples(store, loaded, "raw/wrist/missing.cwa") is None  # unreadable: whole-file model

    week, month = 258_049_024, 1_032_193_024  # 7 and 28 days at 100 Hz as .cwa
    assert estimate_peak_mib(week, "a.cwa", window) == estimate_peak_mib(month, "a.cwa", window)
    assert estimate_peak_mib(week, "a.cwa", window) == RUN_FLOOR_MIB + PIECE_BYTES_PER_SAMPLE * window / MIB
    assert estimate_peak_mib(month, "a.cwa") > 4 * estimate_peak_mib(week, "a.cwa", window)
    # a recording shorter than a day is sized by its own samples (whichever model is smaller)
    hour = cwa.stat().st_size
    assert estimate_peak_mib(hour, "a.cwa", window) <= estimate_peak_mib(hour, "a.cwa")
    assert estimate_peak_mib(hour, "a.cwa", window) < estimate_peak_mib(week, "a.cwa", window) / 2
    assert size_for_file(month, "a.cwa", window_samples=window) == size_for_file(week, "a.cwa", window_samples=window)

    partition = file_partition_key("sized", "raw/wrist/DM001_V1_wrist.cwa")
    tags, why = tags_for_run(run("file_biomarkers_job", {PARTITION_NAME_TAG: partition}))
    assert "day pieces of at most 8,726,400 samples" in why
    assert tags is not None and tags["ecs/memory"] == size_for_file(cwa.stat().st_size, "a.cwa")["ecs/memory"]
