"""Dynamic partitions: one per study, and one per cataloged file (keys from `partition_keys`).

Data and metadata files have separate definitions so each asset's partition list
holds only the files it can process.
"""

from dagster import DynamicPartitionsDefinition

from biomarker_assets.lib.file_kinds import FILE_KINDS

studies = DynamicPartitionsDefinition(name="studies")
data_files = DynamicPartitionsDefinition(name=FILE_KINDS["data"].partitions_def)
metadata_files = DynamicPartitionsDefinition(name=FILE_KINDS["metadata"].partitions_def)
FILES_PARTITIONS = {"data": data_files, "metadata": metadata_files}
