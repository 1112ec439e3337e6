"""The one table of file kinds: what a cataloged file is called in each part of Dagster.

A data file and a metadata file each have their own partitions definition, raw (observable)
asset, processing asset and one-file job. Everything that maps a kind to one of those reads this
table; the definitions in ``defs/`` carry the same names, and the definitions snapshot test shows
any drift in review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["data", "metadata"]


@dataclass(frozen=True)
class FileKind:
    kind: Kind
    partitions_def: str  # name of the DynamicPartitionsDefinition holding one key per file
    raw_asset: str  # observable asset of the S3 object (data version = ETag)
    asset: str  # the asset that processes the file
    job: str  # the job that materializes ``asset`` for one file: the asset's name + ``_job``
    former_job: str  # the job's name before 0.2, still defined (defs/former_job_names.py)


FILE_KINDS: dict[str, FileKind] = {
    "data": FileKind(
        "data", "data_files", "raw_data_file", "file_biomarkers", "file_biomarkers_job", "process_data_file"
    ),
    "metadata": FileKind(
        "metadata",
        "metadata_files",
        "raw_metadata_file",
        "subject_metadata",
        "subject_metadata_job",
        "clean_metadata_file",
    ),
}
