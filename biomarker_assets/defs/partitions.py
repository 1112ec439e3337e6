"""Dynamic partitions: one per study, and one per cataloged file (keys from `partition_keys`).

Data and metadata files have separate definitions so each asset's partition list
holds only the files it can process.
"""

from dagster import DynamicPartitionsDefinition

studies = DynamicPartitionsDefinition(name="studies")
data_files = DynamicPartitionsDefinition(name="data_files")
metadata_files = DynamicPartitionsDefinition(name="metadata_files")
