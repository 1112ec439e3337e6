"""Every private Dagster name (``dagster._core...``) the package uses, in one place.

A Dagster upgrade that moves one of them breaks here, at import, and nowhere else; each
line says why no public API does the job. Import these names from this module only.
"""

# What a batch run (platform/file_batch.py) records for each file as a one-file run's step would: the
# data-version tags of a materialization (below), the pointer from a check result to it, and the planned
# events that make a failed run's partition "Failed"; the public API builds these only inside an asset's step.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned,
    AssetCheckEvaluationTargetMaterializationData,
)

# The asset partitions of a backfill put on the instance directly (the file sensors target jobs, and
# Dagster takes backfill run requests only from sensors with an asset selection; an op has no backfill API).
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset

# The tag that carries a data version on an AssetObservation; dagster exports DataVersion, not its tag.
# The others: a batch run's materialization tags, as Dagster gives an asset's (platform/file_batch.py).
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
    NULL_EVENT_POINTER,
    get_input_data_version_tag,
    get_input_event_pointer_tag,
)

# Dagster's two executors built from their config, for the executor that picks one per run
# (platform/executor.py); the public executor definitions build them only from a whole run's context.
from dagster._core.definitions.executor_definition import (
    _core_in_process_executor_creation as in_process_executor_from_config,
)
from dagster._core.definitions.executor_definition import (
    _core_multiprocess_executor_creation as multiprocess_executor_from_config,
)

# Engine events on a run (why a run got its size); the public API logs events only from inside a run.
# Planned events of a batch run's failed file (platform/file_batch.py), as Dagster logs them at a run's start.
from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent, DagsterEventType, EngineEventData

# The backfill record that instance.add_backfill stores; only the UI/GraphQL create one publicly.
# A job backfill names the partition set (of the file's one-file job) in its code location.
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import RemotePartitionSetOrigin, RemoteRepositoryOrigin
from dagster._core.remote_representation.external_data import partition_set_snap_name_for_job_name

# Tags Dagster itself sets on partitioned runs and retries; read back by run sizing, no public constant.
from dagster._core.storage.tags import PARTITION_NAME_TAG, RETRY_NUMBER_TAG

# The id format Dagster gives backfills it creates (the UI's); no public generator.
from dagster._core.utils import make_new_backfill_id

__all__ = [
    "CODE_VERSION_TAG",
    "DATA_VERSION_IS_USER_PROVIDED_TAG",
    "NULL_EVENT_POINTER",
    "AssetCheckEvaluationPlanned",
    "AssetCheckEvaluationTargetMaterializationData",
    "AssetMaterializationPlannedData",
    "DagsterEvent",
    "DagsterEventType",
    "get_input_data_version_tag",
    "get_input_event_pointer_tag",
    "DATA_VERSION_TAG",
    "PARTITION_NAME_TAG",
    "RETRY_NUMBER_TAG",
    "AssetGraphSubset",
    "BulkActionStatus",
    "EngineEventData",
    "PartitionBackfill",
    "RemotePartitionSetOrigin",
    "RemoteRepositoryOrigin",
    "in_process_executor_from_config",
    "make_new_backfill_id",
    "multiprocess_executor_from_config",
    "partition_set_snap_name_for_job_name",
]
