"""The production path the fleet benchmark drives: moto, PostgreSQL, the daemon as a Fargate task.

The same pieces as ``biomarker_assets_tests/e2e/test_production_path.py``: container/dagster.yaml
(PostgreSQL storage, SizedEcsRunLauncher, queued run coordinator, run monitoring, run retries)
with only the run limits changeable; moto holding the stack's cluster, run and daemon task
definitions and the database secret; ``dagster-daemon run`` as an ECS task of the stand-in (the
launcher copies its network from the task metadata endpoint, as on AWS). Run tasks are played by
:class:`~biomarker_assets_tests.support.fake_ecs.simulated.SimulatedFargate`. moto runs in this
process: the stand-in writes the tasks' exit codes into moto's model.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef

from biomarker_assets.defs.partitions import studies
from biomarker_assets.lib.study_config.loading import parse_config
from biomarker_assets.local.aws_standin import create_project_resources, moto_server
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.support.fake_ecs import create_fargate_network, default_platform_env, run_fargate_task
from biomarker_assets_tests.support.fake_ecs.simulated import SimulatedFargate, Timing
from biomarker_assets_tests.support.postgres import postgres_server

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENT = "fleet"
CLUSTER = f"biomarker-assets-{ENVIRONMENT}"
RUN_FAMILY, DAEMON_FAMILY = f"biomarker-assets-run-{ENVIRONMENT}", f"biomarker-assets-daemon-{ENVIRONMENT}"
LOG_BUCKET = "biomarker-dagster-logs"
STUDY, BUCKET = "fleet", "fleet-study-data"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/biomarker-assets:fleet"


def data_key(n: int, ext: str = "cwa") -> str:
    return f"raw/wrist/DM{n:06d}_V1_wrist.{ext}"


@dataclass(frozen=True)
class StackSettings:
    sensor_interval_s: int = 30  # production's default (platform/sensor_interval.py)
    backfill_threshold: int | None = None  # None: the project's default (200)
    max_concurrent_runs: int | None = None  # None: container/dagster.yaml's (100)
    per_study_limit: int | None = None  # None: container/dagster.yaml's (25)
    submit_workers: int | None = None  # backfills.num_submit_workers: runs of a backfill created in parallel
    dequeue_workers: int | None = None  # run_coordinator dequeue_use_threads/dequeue_num_workers: parallel launches
    files_per_run: int | None = None  # the study config's batch size (None: one file per run)
    timing: Timing = Timing()


@dataclass
class Stack:
    instance: dg.DagsterInstance
    fargate: SimulatedFargate
    home: Path
    slots: int  # runs of the study at once: min(max_concurrent_runs, per-study limit)
    dequeue_interval_s: float
    daemon_log: Path


def instance_yaml(home: Path, settings: StackSettings) -> tuple[int, float]:
    """container/dagster.yaml, run limits optionally changed; returns the study's run slots and dequeue interval."""
    config = yaml.safe_load((REPO / "container" / "dagster.yaml").read_text())
    coordinator = config["run_coordinator"]["config"]
    if settings.max_concurrent_runs:
        coordinator["max_concurrent_runs"] = settings.max_concurrent_runs
    if settings.per_study_limit:
        coordinator["tag_concurrency_limits"][0]["limit"] = settings.per_study_limit
    if settings.dequeue_workers:
        coordinator.update(dequeue_use_threads=True, dequeue_num_workers=settings.dequeue_workers)
    if settings.submit_workers:
        config["backfills"]["num_submit_workers"] = settings.submit_workers
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    slots = min(coordinator["max_concurrent_runs"], coordinator["tag_concurrency_limits"][0]["limit"])
    return slots, float(coordinator["dequeue_interval_seconds"])


def study_config_text(files_per_run: int | None) -> str:
    """The demo config as study ``fleet``: six-digit subject ids, every wrist file a data file."""
    config = copy.deepcopy(yaml.safe_load((STUDY_FILES / "demo.yaml").read_text()))
    config.update(study=STUDY, bucket=BUCKET, description="fleet benchmark")
    config["filename"]["pattern"] = r"(?P<subject>DM\d{6})_(?P<visit>V\d+)_(?P<location>wrist|lumbar)\.(?P<ext>\w+)"
    if files_per_run:
        config["files_per_run"] = files_per_run
    text = yaml.safe_dump(config, sort_keys=False)
    parse_config(text, STUDY)  # valid here, or the benchmark stops before the daemon starts
    return text


def _register(family: str, container: str, env: dict[str, str], secret_arn: str, **extra) -> None:
    aws_client("ecs").register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="4096",
        containerDefinitions=[
            {
                "name": container,
                "image": IMAGE,
                "essential": True,
                "cpu": 1024,
                "memory": 4096,
                "environment": [{"name": k, "value": v} for k, v in env.items()],
                "secrets": [{"name": "DAGSTER_POSTGRES_PASSWORD", "valueFrom": f"{secret_arn}:password::"}],
                **extra,
            }
        ],
    )


@contextmanager
def fleet_stack(
    workdir: Path, settings: StackSettings, simulate: Callable[[dg.DagsterRun], bool] = lambda run: True
) -> Iterator[Stack]:
    """Everything up and the daemon started; on exit the daemon, the stand-in, PostgreSQL and moto stop."""
    home = workdir / "dagster-home"
    home.mkdir(parents=True)
    slots, dequeue_interval_s = instance_yaml(home, settings)
    with moto_server() as moto_url, postgres_server() as pg:
        # moto's backends live in this process: a second fleet starts from an empty account too
        urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
        create_project_resources()
        s3 = aws_client("s3")
        s3.create_bucket(Bucket=LOG_BUCKET)
        s3.create_bucket(Bucket=BUCKET)
        store = StudyStore()
        s3.put_object(
            Bucket=store.config_bucket,
            Key=store.config_key(STUDY),
            Body=study_config_text(settings.files_per_run).encode(),
        )
        network = create_fargate_network()
        aws_client("ecs").create_cluster(clusterName=CLUSTER)
        secret_arn = aws_client("secretsmanager").create_secret(
            Name=f"biomarker-assets-{ENVIRONMENT}-db", SecretString=json.dumps({"password": pg.password})
        )["ARN"]
        env = {
            "AWS_REGION": "us-east-1",
            "BIOMARKER_IMAGE": IMAGE,
            "BIOMARKER_CONFIG_BUCKET": store.config_bucket,
            "BIOMARKER_CONFIG_PREFIX": store.config_prefix,
            "BIOMARKER_NOTIFICATION_QUEUE": Notifier().queue_name,
            "BIOMARKER_METADATA_TABLE": MetadataTable().table_name,
            "BIOMARKER_ECS_CLUSTER": CLUSTER,
            "BIOMARKER_RUN_TASK_DEFINITION": RUN_FAMILY,
            "BIOMARKER_RUN_CONTAINER": "run",
            "BIOMARKER_COMPUTE_LOG_BUCKET": LOG_BUCKET,
            **{k: v for k, v in pg.env().items() if k != "DAGSTER_POSTGRES_PASSWORD"},
        }
        daemon_env = {**env, "BIOMARKER_SENSOR_INTERVAL": str(settings.sensor_interval_s)}
        if settings.backfill_threshold is not None:
            daemon_env["BIOMARKER_BACKFILL_THRESHOLD"] = str(settings.backfill_threshold)
        _register(RUN_FAMILY, "run", env, secret_arn, command=["biomarker-assets", "--help"])
        _register(
            DAEMON_FAMILY,
            "daemon",
            daemon_env,
            secret_arn,
            command=["dagster-daemon", "run"],
            workingDirectory=str(REPO),
        )
        os.environ.update({**env, **pg.env()})  # this process opens the same instance
        # The image's ENV (DAGSTER_HOME), and this checkout first on the path (it may not be the one installed).
        platform = {**default_platform_env(), "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            assert studies.name
            instance.add_dynamic_partitions(studies.name, [STUDY])  # a known study: its files go straight to runs
            with SimulatedFargate(
                CLUSTER,
                instance,
                settings.timing,
                simulate,
                platform_env=platform,
                log_dir=workdir / "task-logs",
                stop_timeout_s=10,
            ) as fargate:
                daemon = run_fargate_task(CLUSTER, DAEMON_FAMILY, network)
                daemon_log = fargate.log_dir / f"{daemon.rsplit('/', 1)[1]}.log"
                yield Stack(instance, fargate, home, slots, dequeue_interval_s, daemon_log)


def seed_files(numbers: range, body: bytes = b"", ext: str = "cwa") -> None:
    """Objects straight into moto's S3 backend (in this process): the keys, ETags and LastModified of a PUT."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for n in numbers:
        backend.put_object(BUCKET, data_key(n, ext), body)


def has_batch_job() -> bool:
    """Whether this checkout defines ``file_biomarkers_batch_job`` (issue 12 part 3, another branch)."""
    from biomarker_assets.definitions import defs

    try:
        defs.resolve_job_def("file_biomarkers_batch_job")
    except Exception:  # noqa: BLE001 - any failure to resolve means: not here
        return False
    return True


if __name__ == "__main__":  # pragma: no cover - a quick look at the generated config
    sys.stdout.write(study_config_text(None))
