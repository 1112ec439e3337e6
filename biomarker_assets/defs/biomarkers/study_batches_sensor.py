"""``backfill_study`` in batched mode: its study's files, N per run of ``file_biomarkers_batch_job``."""

from __future__ import annotations

import warnings

import dagster as dg

from biomarker_assets.defs.biomarkers.batch_job import file_biomarkers_batch_job
from biomarker_assets.defs.biomarkers.jobs import FILES_PER_RUN_TAG, backfill_study, study_partitions
from biomarker_assets.platform.backfills import study_tags
from biomarker_assets.platform.batch_runs import batch_run_request, batches


def _batch_requests(context: dg.RunStatusSensorContext) -> list[dg.RunRequest] | dg.SkipReason:
    """The batch runs of a successful backfill_study run of a study in batched mode."""
    run = context.dagster_run
    per_run = int(run.tags.get(FILES_PER_RUN_TAG, "1"))
    if per_run <= 1:
        return dg.SkipReason(f"run {run.run_id}: a backfill, not batches")
    config = run.run_config["ops"]["launch_study_backfill"]["config"]
    study = config["study"]
    keys = study_partitions(context.instance, study, bool(config.get("only_not_processed", False)))
    requests = [
        # the run key names the backfill_study run: a re-evaluation requests nothing twice
        batch_run_request(chunk, f"{run.run_id}:batch-{i}", study_tags(study))
        for i, chunk in enumerate(batches(keys, per_run))
    ]
    context.log.info(f"study {study}: {len(keys)} file(s) in {len(requests)} batch run(s) of up to {per_run}")
    return requests


# run_status_sensor passes its beta `owners` parameter through on every load; the warning says nothing here.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    study_batches_sensor = dg.run_status_sensor(
        name="study_batches_sensor",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[backfill_study],
        request_job=file_biomarkers_batch_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="When backfill_study succeeds for a study with files_per_run > 1, requests the study's files "
        "in runs of files_per_run each (file_biomarkers_batch_job), tagged with the study.",
    )(_batch_requests)
