"""Jobs of the biomarkers step: one file's biomarkers, and every file of one study as one backfill.

Backfilling a study from the UI: Jobs > backfill_study > Launchpad > study > Launch. Dagster's UI
selects dynamic partitions one by one or by range, with no pattern filter (dagster#7101, #15405),
and a study's files are not one range once files arrive over time. ``backfill_study`` puts one
backfill on the instance for exactly the study's files, tagged with the study so per-study run
limits apply to its runs. A study with ``files_per_run`` N > 1 gets no backfill: when the
``backfill_study`` run succeeds, ``study_batches_sensor`` requests its files N per run of
``file_biomarkers_batch_job`` (an op cannot launch runs through a public API; a sensor can).
"""

import dagster as dg

from biomarker_assets.defs.biomarkers.assets import file_biomarkers
from biomarker_assets.defs.partitions import data_files
from biomarker_assets.lib.study_config.loading import ConfigError, ConfigNotFound
from biomarker_assets.platform.backfills import ASSET_FOR_KIND, run_repository, submit_files_backfill
from biomarker_assets.resources.study_store import StudyStore

biomarkers_job = dg.define_asset_job("file_biomarkers_job", selection=[file_biomarkers], partitions_def=data_files)


class StudyBackfillConfig(dg.Config):
    study: str
    only_not_processed: bool = False  # skip files whose biomarkers are already materialized


FILES_PER_RUN_TAG = "biomarker_assets/files_per_run"  # on a backfill_study run of a study in batched mode


def study_partitions(instance: dg.DagsterInstance, study: str, only_not_processed: bool) -> list[str]:
    """The study's data-file partitions, in their registration order; optionally those never materialized."""
    all_files = data_files.get_partition_keys(dynamic_partitions_store=instance)
    partitions = [p for p in all_files if p.startswith(f"{study}/")]
    if only_not_processed:
        done = instance.get_materialized_partitions(ASSET_FOR_KIND["data"])
        partitions = [p for p in partitions if p not in done]
    return partitions


@dg.op
def launch_study_backfill(context: dg.OpExecutionContext, config: StudyBackfillConfig, study_store: StudyStore) -> str:
    instance = context.instance
    partitions = study_partitions(instance, config.study, config.only_not_processed)
    if not partitions:
        raise dg.Failure(
            f"study {config.study!r} has no {'unprocessed ' if config.only_not_processed else ''}"
            "data files: catalog it first (materialize study_catalog, job study_catalog_job)"
        )
    try:
        per_run = study_store.load_config(config.study).config.files_per_run
    except (ConfigNotFound, ConfigError) as exc:  # the listing sensor reports it; each file's run says so too
        context.log.warning(f"study {config.study}: config not readable ({exc}); one run per file")
        per_run = 1
    if per_run > 1:  # batched: study_batches_sensor requests the runs when this run succeeds
        runs = -(-len(partitions) // per_run)
        instance.add_run_tags(context.run_id, {FILES_PER_RUN_TAG: str(per_run)})
        context.log.info(f"{len(partitions)} file(s) of study {config.study} in {runs} batch run(s) of {per_run}")
        context.add_output_metadata({"files": len(partitions), "files_per_run": per_run, "batch_runs": runs})
        return f"batches of {per_run}"
    backfill_id = submit_files_backfill(
        instance,
        config.study,
        [("data", p) for p in partitions],
        title=f"biomarkers for every file of study {config.study}",
        description=f"{len(partitions)} file(s), launched by run {context.run_id}",
        repository=run_repository(context),  # a job backfill: waiting files do not fail it
    )
    context.log.info(f"backfill {backfill_id}: {len(partitions)} file(s) of study {config.study}")
    context.add_output_metadata({"backfill_id": backfill_id, "files": len(partitions)})
    return backfill_id


@dg.job(description="Backfill file_biomarkers for every file of one study (config: study).")
def backfill_study() -> None:
    launch_study_backfill()
