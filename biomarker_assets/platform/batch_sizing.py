"""Fargate size and time limit of a batch run (``file_biomarkers_batch_job``), from its files.

The files of a batch run one after the other in one task, each in its own contained child process
(lib/skdh/isolation.py), so the task needs the memory of its largest file and the time of all of
them: its size is that of its file with the largest need as a one-file run would get it (``size_for_file``;
a file that runs in day pieces needs one day window's memory, read from its header), and
its ``dagster/max_runtime`` the sum of the files' one-file limits, capped at ``BATCH_MAX_RUNTIME_CAP_S``.
Each file keeps its own processing limit inside the run, so a hung file is stopped by its own limit;
the cap only bounds a run whose worker itself hangs. A file the study's ``max_run_memory_mib`` refuses
is refused unread by the run: it adds no memory and ``RUN_MARGIN_SECONDS`` of time.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import DagsterRun

from biomarker_assets.lib.skdh.isolation import (
    MAX_RUNTIME_TAG,
    RUN_MARGIN_SECONDS,
    estimate_peak_mib,
    oversized,
    run_max_runtime_seconds,
)

# 24 h: 96 files at the longest one-file limit (4 h 15 min each); a 7-day file takes minutes, so a batch
# of 500 such files stays far below it. Set files_per_run so that a batch's compute stays under it.
BATCH_MAX_RUNTIME_CAP_S = 24 * 3600

File = tuple[int, str] | tuple[int, str, int | None]  # (bytes, key[, day-piece window samples or None])


def _window(file: File) -> int | None:
    return file[2] if len(file) > 2 else None  # the 3-tuple form


def _peak(file: File) -> float:
    return estimate_peak_mib(file[0], file[1], _window(file))


def batch_max_runtime_seconds(files: Sequence[File], max_run_memory_mib: float) -> int:
    """The sum of the files' one-file time limits (a refused file: the margin alone), capped."""
    total = sum(
        RUN_MARGIN_SECONDS
        if oversized(f[0], f[1], max_run_memory_mib, _window(f))
        else run_max_runtime_seconds(f[0], f[1])
        for f in files
    )
    return min(total, BATCH_MAX_RUNTIME_CAP_S)


def size_for_batch(files: Sequence[File], max_run_memory_mib: float, attempt: int = 0) -> tuple[dict[str, str], str]:
    """(run tags, why): the largest processed file's size, the summed time limit; ``attempt`` doubles memory."""
    from biomarker_assets.platform.run_sizing import SMALLEST, _retried, size_for_file

    kept = [f for f in files if not oversized(f[0], f[1], max_run_memory_mib, _window(f))]
    limit = {MAX_RUNTIME_TAG: str(batch_max_runtime_seconds(files, max_run_memory_mib))}
    if not kept:
        return {**_retried(dict(SMALLEST), attempt), **limit}, f"{len(files)} file(s), every one refused unread"
    largest = max(kept, key=_peak)
    size, key, window = largest[0], largest[1], _window(largest)
    why = (
        f"{len(files)} file(s); largest need {key}: {size / 2**20:.1f} MiB"
        f"{f', day pieces of at most {window:,} samples' if window else ''}, estimated peak "
        f"{_peak(largest):.0f} MiB; time limit the sum of the files' ({limit[MAX_RUNTIME_TAG]} s)"
    )
    return {**size_for_file(size, key, attempt, window), **limit}, why


def tags_for_batch_run(run: DagsterRun, attempt: int) -> tuple[dict[str, str], str]:
    """A batch run's sizing tags at launch, from a HEAD of each of its files (one config read)."""
    from biomarker_assets.defs.resources import study_store
    from biomarker_assets.lib.partition_keys import parse_file_partition_key
    from biomarker_assets.platform.batch_runs import batch_partition_keys

    keys = [parse_file_partition_key(p) for p in batch_partition_keys(run.run_config)]
    if not keys:
        raise ValueError("a batch run without partition_keys in its run config")
    from biomarker_assets.platform.run_sizing import file_window_samples

    store = study_store().process_config_and_initialize()
    config = store.load_config(keys[0].study).config
    files: list[File] = [
        (store.head(config.bucket, key)["ContentLength"], key, file_window_samples(store, config, key))
        for _, key in keys
    ]
    return size_for_batch(files, config.max_run_memory_mib, attempt)
