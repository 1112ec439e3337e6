"""The jobs' former names, kept so launches by those names keep working (scripts, GraphQL, queued runs).

Each step's job is named after its asset (``file_biomarkers`` -> ``file_biomarkers_job``). Until the
names below are removed, each is a second job over the same asset, so a script or a run queued before
the rename still launches; the sensors and the docs use only the new names.
"""

import dagster as dg

from biomarker_assets.defs.biomarkers.jobs import biomarkers_job
from biomarker_assets.defs.catalog.jobs import catalog_job
from biomarker_assets.defs.configs.jobs import configs_job
from biomarker_assets.defs.metadata.jobs import metadata_job
from biomarker_assets.defs.summary.jobs import summary_job
from biomarker_assets.lib.file_kinds import FILE_KINDS

FORMER_NAMES = {
    "discover_studies": configs_job,
    "catalog_study": catalog_job,
    FILE_KINDS["metadata"].former_job: metadata_job,
    FILE_KINDS["data"].former_job: biomarkers_job,
    "summarize_study": summary_job,
}


@dg.definitions
def former_job_names() -> dg.Definitions:
    return dg.Definitions(
        jobs=[
            dg.define_asset_job(
                former,
                selection=job.selection,
                partitions_def=job.partitions_def,
                description=f"Former name of {job.name}, kept for scripts and queued runs; use {job.name}.",
            )
            for former, job in FORMER_NAMES.items()
        ]
    )
