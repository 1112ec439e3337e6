"""Dagster's cost per file: one batch run of K files vs K one-file runs, in one process, on moto.

What is timed is orchestration only: the files are K copies of a lumbar file whose subject has no
height, so every file takes the whole per-file path (config, HEAD, requirements, status observation,
requirements check, run tags) and stops before SKDH. Both ways run in this one process against the same
moto server and a temporary SQLite instance (``execute_in_process``), so neither includes what batching
saves on top: a Fargate task start and a run-worker start per run (process, imports, code-location
load; ``benchmarks/import_cost.py`` measures the imports). Prints seconds per file each way.

Usage (repository root, the project's venv; ~1 min)::

    python benchmarks/batch_overhead.py [--files 20]
"""

from __future__ import annotations

import argparse
import copy
import time

import dagster as dg
import yaml

from biomarker_assets.local.aws_standin import create_project_resources, moto_server

STUDY, BUCKET = "bench", "bench-batch"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    args = parser.parse_args()
    with moto_server(), dg.instance_for_test() as instance:
        create_project_resources()
        from biomarker_assets.definitions import defs
        from biomarker_assets.defs.biomarkers.assets import file_biomarkers
        from biomarker_assets.defs.partitions import data_files
        from biomarker_assets.lib.partition_keys import file_partition_key
        from biomarker_assets.local.demo import STUDY_FILES
        from biomarker_assets.platform.batch_runs import BATCH_JOB, batch_run_config
        from biomarker_assets.resources.aws import aws_client
        from biomarker_assets.resources.study_store import StudyStore

        s3 = aws_client("s3")
        s3.create_bucket(Bucket=BUCKET)
        config = copy.deepcopy(yaml.safe_load((STUDY_FILES / "demo.yaml").read_text()))
        config.update(study=STUDY, bucket=BUCKET, files_per_run=args.files)
        store = StudyStore()
        s3.put_object(Bucket=store.config_bucket, Key=store.config_key(STUDY), Body=yaml.safe_dump(config).encode())
        # no such subjects: each file waits; one set per way, so each file's first outcome is timed (with its message)
        keys = [f"raw/lumbar/DM{i:03d}_V1_lumbar.npz" for i in range(100, 102 + 2 * args.files)]
        for key in keys:
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        every = [file_partition_key(STUDY, k) for k in keys]
        instance.add_dynamic_partitions(str(data_files.name), every)
        warm, singles, batched = every[:2], every[2 : 2 + args.files], every[2 + args.files :]
        resources = {
            k: (defs.resources or {})[k] for k in ("study_store", "notifier", "metadata_table", "processing_options")
        }

        # warm-up: the first run of each kind pays one-off imports and caches
        dg.materialize([file_biomarkers], instance=instance, resources=resources, partition_key=warm[0])
        job = defs.resolve_job_def(BATCH_JOB)
        job.execute_in_process(run_config=batch_run_config(warm[1:]), instance=instance)

        start = time.perf_counter()
        for partition in singles:
            dg.materialize([file_biomarkers], instance=instance, resources=resources, partition_key=partition)
        single = (time.perf_counter() - start) / args.files
        start = time.perf_counter()
        assert job.execute_in_process(run_config=batch_run_config(batched), instance=instance).success
        batch = (time.perf_counter() - start) / args.files
    print(f"{args.files} waiting files, in one process (no task or run-worker start either way):")
    print(f"  one run per file:   {single:.3f} s per file")
    print(f"  one batch run:      {batch:.3f} s per file")
    print(f"  ratio:              {single / batch:.1f}x")


if __name__ == "__main__":
    main()
