"""The demo: the embedded AWS stand-in, the demo study, and the whole flow through Dagster.

It is also the fixture the end-to-end tests use, so what a person sees in the
demo is what the tests assert. Dagster is imported only by the commands that run it
(``demo``), not by ``local-aws`` or by tests that only want the demo study's files.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biomarker_assets.local.aws_standin import (
    create_project_resources,
    drain_messages,
    moto_server,
    print_exports_and_wait,
    project_names,
)
from biomarker_assets.resources.aws import aws_client

if TYPE_CHECKING:
    import dagster as dg

DEMO_STUDY = "demo"
DEMO_BUCKET = "demo-study-data"
GHOST_STUDY = "ghost-study"  # registered by an operator, but its config was never uploaded
STUDY_FILES = Path(__file__).with_name("demo_study")


def find_samples(explicit: Path | None = None) -> Path:
    """SKDH's sample files: --samples, $SKDH_SAMPLES_DIR, or ../shared/data/skdh-samples."""
    candidates = [
        explicit,
        os.environ.get("SKDH_SAMPLES_DIR"),
        Path.cwd().parent / "shared/data/skdh-samples",
        Path(__file__).resolve().parents[3] / "shared/data/skdh-samples",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "ax3_sample.cwa").is_file():
            return Path(candidate)
    raise FileNotFoundError(
        "SKDH sample files not found: pass --samples DIR or set SKDH_SAMPLES_DIR "
        "(expected ../shared/data/skdh-samples beside the project)"
    )


def make_supervised_walk(samples: Path, path: Path) -> Path:
    """A 30-second clinic walk test: the stretch (18-48 s) of SKDH's lumbar recording that SKDH's gait
    classifier finds as one bout, at the recording's native ~197 Hz."""
    import numpy as np

    with np.load(samples / "gait_input.npz") as data:
        time, accel = data["time"], data["accel"]
    keep = (time >= time[0] + 18.0) & (time < time[0] + 48.0)
    np.savez(path, time=time[keep], accel=accel[keep])
    return path


#: the multi-day file: Saturday noon to Monday noon on the device clock, across the clocks going back in
#: London (Sun 25 Oct 2026 02:00 BST -> 01:00 GMT); the device keeps the clock it was set to (BST)
DST_RECORDING: dict[str, Any] = {"days": 2.0, "fs": 25.0, "seed": 6, "start": "2026-10-24 12:00:00"}


def make_dst_recording(path: Path) -> Path:
    """Two days of the generated wrist recording as an AX3 ``.cwa``, at 25 Hz to keep the demo quick."""
    from biomarker_assets.local.axivity_cwa import write_wrist_cwa

    return write_wrist_cwa(path, **DST_RECORDING)


def demo_objects(samples: Path, workdir: Path) -> dict[str, Path]:
    """S3 key -> local file for the demo study; every branch of the flow has a file."""
    from biomarker_assets.local.geneactiv_bin import make_demo_wrist_file

    corrupt = workdir / "corrupt.cwa"
    corrupt.write_bytes((samples / "ax3_sample.cwa").read_bytes()[:1024] + b"\x00\xff" * 4096)
    readme = workdir / "readme.txt"
    readme.write_text("Site notes: matches no rule, so the catalog leaves it alone.\n")
    return {
        "raw/metadata/subjects.csv": STUDY_FILES / "subjects.csv",
        # a day-long wrist recording with a night in it: wear, activity and sleep
        "raw/wrist/DM001_V1_wrist.bin": make_demo_wrist_file(
            workdir / "DM001_V1_wrist.bin", hours=24.0, fs=50.0, seed=1
        ),
        # two days crossing a DST change (study time zone Europe/London): a 25-hour Sunday
        "raw/wrist/DM006_V1_wrist.cwa": make_dst_recording(workdir / "DM006_V1_wrist.cwa"),
        # SKDH's real Axivity sample (5 minutes): activity only
        "raw/wrist/DM002_V1_wrist.cwa": samples / "ax3_sample.cwa",
        # SKDH's real GENEActiv sample (18 seconds, an in-clinic check): activity only
        "raw/clinic/DM005_V1_wrist.bin": samples / "gnactv_sample.bin",
        # SKDH's lumbar walking recording: gait for a subject with a height...
        "raw/lumbar/DM001_V1_lumbar.npz": samples / "gait_input.npz",
        # ...and for a subject whose height is missing: waits
        "raw/lumbar/DM003_V1_lumbar.npz": samples / "gait_input.npz",
        # a supervised walk test (the whole file is walking): gait without a bout classifier
        "raw/walk-test/DM001_V1_lumbar.npz": make_supervised_walk(samples, workdir / "walk_test.npz"),
        # a file that is not a CWA file at all past its first block: fails
        "raw/wrist/DM004_V1_wrist.cwa": corrupt,
        # a name the study's pattern cannot read: waits for a rename
        "raw/wrist/recording final (2).cwa": samples / "ax3_sample.cwa",
        "raw/notes/readme.txt": readme,
    }


def seed_demo(samples: Path, workdir: Path) -> None:
    """Create the project's AWS resources and upload the demo study and its configs."""
    create_project_resources()
    names = project_names()
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=DEMO_BUCKET)
    # versioned as in the stack: provenance records each input's VersionId and `reproduce` fetches it
    s3.put_bucket_versioning(Bucket=DEMO_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for key, path in demo_objects(samples, workdir).items():
        s3.upload_file(str(path), DEMO_BUCKET, key)
    for name in ("demo.yaml", "broken-study.yaml", "lost-study.yaml"):
        s3.upload_file(str(STUDY_FILES / name), names.config_bucket, f"{names.config_prefix}{name}")


@dataclass
class FlowOutcome:
    studies: dict[str, str] = field(default_factory=dict)  # study -> "cataloged" or the failure
    runs: int = 0
    failed_runs: int = 0


def _failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            message = (event.step_failure_data.error.message or "failed").strip().splitlines()[0]
            return message.removeprefix("dagster._core.definitions.events.Failure: ")
    return "failed"


def _name(partitions_def: dg.DynamicPartitionsDefinition) -> str:
    assert partitions_def.name, "the project's dynamic partitions are all named"
    return partitions_def.name


# The demo prints its own summary; Dagster's per-event console log is in the UI and at -v.
_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_flow(instance: dg.DagsterInstance, log: Callable[[str], Any] = print) -> FlowOutcome:
    """Configs -> catalog -> metadata -> biomarkers, one run per partition, as a backfill would."""
    from biomarker_assets.definitions import defs
    from biomarker_assets.defs.partitions import data_files, metadata_files, studies
    from biomarker_assets.platform.status import OUTCOME_TAG

    outcome = FlowOutcome()

    def execute(job_name: str, partition_key: str | None = None) -> dg.ExecuteInProcessResult:
        started = time.monotonic()
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, partition_key=partition_key, raise_on_error=False, run_config=_QUIET
        )
        outcome.runs += 1
        outcome.failed_runs += not result.success
        mark = "ok    " if result.success else "FAILED"
        run = instance.get_run_by_id(result.run_id)
        tag = run.tags.get(OUTCOME_TAG) if run else None  # the file's outcome, as the runs list shows it
        log(
            f"  {mark} {job_name} {partition_key or ''} ({time.monotonic() - started:.1f} s){f': {tag}' if tag else ''}"
        )
        return result

    log("1/5 study configs")
    execute("study_configs_job")
    log("2/5 catalog, one run per study")
    for study in instance.get_dynamic_partitions(_name(studies)):
        result = execute("study_catalog_job", study)
        outcome.studies[study] = "cataloged" if result.success else _failure(result)
    log("3/5 subject metadata, one run per metadata file")
    for partition in instance.get_dynamic_partitions(_name(metadata_files)):
        execute("subject_metadata_job", partition)
    log("4/5 biomarkers, one run per data file")
    for partition in instance.get_dynamic_partitions(_name(data_files)):
        execute("file_biomarkers_job", partition)
    log("5/5 study summary, one run per cataloged study")
    for study, status in outcome.studies.items():
        if status == "cataloged":
            execute("study_summary_job", study)
    return outcome


def _summary_preview() -> str:
    import io

    import pyarrow.parquet as pq

    from biomarker_assets.platform.status import format_table

    body = aws_client("s3").get_object(Bucket=DEMO_BUCKET, Key="results/_summary/study_summary.parquet")["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    columns = [
        "row_type",
        "subject",
        "date",
        "day_n",
        "gait_bout_n",
        "wear_hours",
        "total_sleep_time_min",
        "mvpa_min",
        "gait_speed_m_s",
        "height_m",
        "pipeline",
        "pipeline_version",
    ]
    rows = [
        ["" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()]
        for row in table.select(columns).to_pylist()
    ]
    return format_table(rows, columns)


def _print_messages(messages: list[dict]) -> None:
    from biomarker_assets.platform.status import format_table

    print(f"\nSQS notifications ({len(messages)}) on {project_names().queue}:")
    rows = [[m["kind"], m["study"] or "-", (m["file"] or "-").split("/", 3)[-1], m["reason"]] for m in messages]
    print(
        format_table(
            [[c if len(c) <= 90 else c[:89] + "…" for c in r] for r in rows], ["kind", "study", "file", "reason"]
        )
    )


def run_demo(home: Path | None = None, samples: Path | None = None) -> int:
    import dagster as dg

    from biomarker_assets.defs.partitions import studies
    from biomarker_assets.platform.status import file_statuses, format_table, status_table

    samples = find_samples(samples)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    home_dir = Path(home) if home else Path(tempfile.mkdtemp(prefix="dagster-home-"))
    home_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="biomarker-demo-"))
    started = time.monotonic()
    try:
        with moto_server() as url:
            print(f"local AWS stand-in (moto) at {url}; DAGSTER_HOME={home_dir}")
            print(f"seeding demo study into s3://{DEMO_BUCKET} (SKDH samples from {samples})")
            seed_demo(samples, workdir)
            with dg.DagsterInstance.local_temp(tempdir=str(home_dir)) as instance:
                instance.add_dynamic_partitions(_name(studies), [GHOST_STUDY])
                outcome = run_flow(instance)
                statuses = file_statuses(instance)
            print("\nStudies:")
            print(format_table([[s, r] for s, r in outcome.studies.items()], ["study", "catalog"]))
            print("\nFiles:")
            print(status_table(statuses))
            results = sorted({s.results for s in statuses if s.status == "processed" and s.kind == "data"})
            print("\nResults (Parquet per SKDH step, summary_rows.parquet, headline.json, provenance.json):")
            for uri in results:
                print(f"  {uri}")
            print(
                f"\nStudy summary (one row per subject-day and gait bout): s3://{DEMO_BUCKET}/results/_summary/study_summary.parquet"
            )
            print(_summary_preview())
            _print_messages(drain_messages())
            print(
                f"\n{outcome.runs} runs ({outcome.failed_runs} failed as expected for the broken inputs) "
                f"in {time.monotonic() - started:.0f} s"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if home is None:
            shutil.rmtree(home_dir, ignore_errors=True)
    return 0


def seeded_standin(port: int | None, samples: Path | None) -> tuple[Any, str]:
    """moto with the demo study in it, for processes started after this one (`local-aws`, `dev`)."""
    samples = find_samples(samples)
    workdir = Path(tempfile.mkdtemp(prefix="biomarker-demo-"))
    context = moto_server(port)
    url = context.__enter__()
    seed_demo(samples, workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    return context, url


def serve_local_aws(port: int = 5000, samples: Path | None = None) -> int:
    context, url = seeded_standin(port, samples)
    print(f"local AWS stand-in with the demo study at {url}. In another shell:")
    try:
        print_exports_and_wait("Ctrl-C stops it.")
    finally:
        context.__exit__(None, None, None)
    return 0
