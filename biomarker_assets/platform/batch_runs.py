"""Batch runs: many data files of one study in one run of ``file_biomarkers_batch_job`` (one Fargate task).

A study with ``files_per_run: N > 1`` gets its data files requested N per run, by the file sensors,
the waiting-files sensor and ``backfill_study``. What a batch run processes is its run config, so the
fleet benchmark (and anyone reading a run) knows a batch's files without running it:
``ops.process_file_batch.config.partition_keys``. Runs carry the study tag (per-study run limits) and
``biomarker_assets/batch_size`` (the number of files in the run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

BATCH_JOB = "file_biomarkers_batch_job"
BATCH_OP = "process_file_batch"
BATCH_SIZE_TAG = "biomarker_assets/batch_size"


def batches(keys: Sequence[str], files_per_run: int) -> list[list[str]]:
    """The keys in runs of at most ``files_per_run``, in their order."""
    if files_per_run < 1:
        raise ValueError(f"files_per_run must be at least 1, not {files_per_run}")
    return [list(keys[i : i + files_per_run]) for i in range(0, len(keys), files_per_run)]


def batch_run_config(partition_keys: Sequence[str]) -> dict[str, Any]:
    """The run config of a batch run of these files (the contract with the fleet benchmark)."""
    return {"ops": {BATCH_OP: {"config": {"partition_keys": list(partition_keys)}}}}


def batch_partition_keys(run_config: Mapping[str, Any]) -> list[str]:
    """The files of a batch run, from its run config (empty for any other run)."""
    op = (run_config.get("ops") or {}).get(BATCH_OP) or {}
    return list((op.get("config") or {}).get("partition_keys") or [])


def batch_run_key(versions: Iterable[str]) -> str:
    """One run key per set of file versions (``<partition>@<ETag>`` or any other per-file key), in any process."""
    return "batch:" + hashlib.sha256("\n".join(versions).encode()).hexdigest()[:20]


def batch_run_request(
    partition_keys: Sequence[str], run_key: str, tags: Mapping[str, str] | None = None
) -> dg.RunRequest:
    """A run of ``file_biomarkers_batch_job`` on these files; ``tags`` must include the study tag."""
    return dg.RunRequest(
        run_key=run_key,
        job_name=BATCH_JOB,
        run_config=batch_run_config(partition_keys),
        tags={**(tags or {}), BATCH_SIZE_TAG: str(len(partition_keys))},
    )
