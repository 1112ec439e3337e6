"""The production path on one machine: PostgreSQL, dagster-daemon, EcsRunLauncher, Fargate.

Everything is the real piece except AWS itself: a PostgreSQL server started here holds
Dagster's storage; moto holds the stack's cluster, run and daemon task definitions (the names,
environment and database secret that deploy/stack.yaml gives them); the daemon itself runs as
an ECS task of the stand-in (so the launcher reads its own task's network from the metadata
endpoint, as on AWS); every run is a Fargate task that ``support.fake_ecs`` runs as
``dagster api execute_run``. The instance is container/dagster.yaml with only its polling
intervals shortened.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, RETRY_NUMBER_TAG

from biomarker_assets.defs.partitions import data_files, studies
from biomarker_assets.lib.partition_keys import file_partition_key
from biomarker_assets.lib.skdh.isolation import run_max_runtime_seconds
from biomarker_assets.local.aws_standin import create_project_resources
from biomarker_assets.local.demo import STUDY_FILES
from biomarker_assets.local.geneactiv_bin import make_demo_wrist_file
from biomarker_assets.platform import run_sizing
from biomarker_assets.resources.aws import aws_client
from biomarker_assets.resources.metadata_table import MetadataTable
from biomarker_assets.resources.notifier import Notifier
from biomarker_assets.resources.study_store import StudyStore
from biomarker_assets_tests.support.fake_ecs import (
    OOM_EXIT_CODE,
    FakeFargate,
    create_fargate_network,
    default_platform_env,
    run_fargate_task,
)
from biomarker_assets_tests.support.postgres import postgres_server

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENT = "test"
CLUSTER = f"biomarker-assets-{ENVIRONMENT}"
RUN_FAMILY = f"biomarker-assets-run-{ENVIRONMENT}"
DAEMON_FAMILY = f"biomarker-assets-daemon-{ENVIRONMENT}"
LOG_BUCKET = "biomarker-dagster-logs"
STUDY, BUCKET = "prod-path", "prod-path-data"
DATA_KEY = "raw/wrist/DM002_V1_wrist.cwa"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/biomarker-assets:test"
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dataclass
class Stack:
    instance: dg.DagsterInstance
    fargate: FakeFargate
    home: Path
    env: dict[str, str]
    daemon_task: str
    network: dict[str, str]


def partitions_name(partitions: dg.DynamicPartitionsDefinition) -> str:
    assert partitions.name, partitions  # the project's dynamic partitions are all named
    return partitions.name


def production_instance_yaml(home: Path) -> None:
    """container/dagster.yaml with its polling intervals shortened; nothing else changes."""
    config = yaml.safe_load((REPO / "container" / "dagster.yaml").read_text())
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
    config["run_monitoring"]["poll_interval_seconds"] = 2
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


def stack_environment(pg_env: dict[str, str]) -> dict[str, str]:
    """What stack.yaml puts in every task definition (the password comes as a secret)."""
    return {
        "AWS_REGION": "us-east-1",
        "BIOMARKER_IMAGE": IMAGE,
        "BIOMARKER_CONFIG_BUCKET": StudyStore().config_bucket,
        "BIOMARKER_CONFIG_PREFIX": StudyStore().config_prefix,
        "BIOMARKER_NOTIFICATION_QUEUE": Notifier().queue_name,
        "BIOMARKER_METADATA_TABLE": MetadataTable().table_name,
        "BIOMARKER_ECS_CLUSTER": CLUSTER,
        "BIOMARKER_RUN_TASK_DEFINITION": RUN_FAMILY,
        "BIOMARKER_RUN_CONTAINER": "run",
        "BIOMARKER_COMPUTE_LOG_BUCKET": LOG_BUCKET,
        **{k: v for k, v in pg_env.items() if k != "DAGSTER_POSTGRES_PASSWORD"},
    }


def register(family: str, container: str, env: dict[str, str], secret_arn: str, cpu: int, memory: int, **extra) -> None:
    aws_client("ecs").register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu=str(cpu),
        memory=str(memory),
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        containerDefinitions=[
            {
                "name": container,
                "image": IMAGE,
                "essential": True,
                "cpu": cpu,
                "memory": memory,
                "environment": [{"name": k, "value": v} for k, v in env.items()],
                "secrets": [{"name": "DAGSTER_POSTGRES_PASSWORD", "valueFrom": f"{secret_arn}:password::"}],
                **extra,
            }
        ],
    )


def wait_for(what: str, condition, stack: Stack | None = None, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    details = ""
    if stack is not None:
        for task in [*stack.fargate.finished][-4:]:
            details += (
                f"\n--- task {task.arn} exit {task.exit_code} ({task.reason}):\n{task.log_path.read_text()[-3000:]}"
            )
        daemon_log = stack.fargate.log_dir / f"{stack.daemon_task.rsplit('/', 1)[1]}.log"
        details += f"\n--- daemon:\n{daemon_log.read_text()[-4000:]}\n--- stand-in errors: {stack.fargate.errors}"
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}{details}")


# ---------------------------------------------------------------- the stand-in alone (seconds)
# These come before the module's stack: their `aws` fixture resets moto.

CHILD = """
import json, os, sys, time, urllib.request
task = json.load(urllib.request.urlopen(os.environ["ECS_CONTAINER_METADATA_URI_V4"] + "/task"))
print(json.dumps({"env": dict(os.environ), "task": task}))
sys.stdout.flush()
if os.environ.get("HOG_MIB"):
    hog = b"x" * (int(os.environ["HOG_MIB"]) * 2**20)
time.sleep(float(os.environ.get("SLEEP", "0")))
sys.exit(int(os.environ.get("EXIT", "0")))
"""


def run_child(fargate: FakeFargate, network: dict, memory: int = 512, **env) -> str:
    return aws_client("ecs").run_task(
        cluster="standin",
        taskDefinition="child",
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [network["subnet"]], "securityGroups": [network["security_group"]]}
        },
        overrides={
            "memory": str(memory),
            "containerOverrides": [
                {
                    "name": "main",
                    "command": [sys.executable, "-c", CHILD],
                    "environment": [{"name": k, "value": v} for k, v in env.items()],
                }
            ],
        },
    )["tasks"][0]["taskArn"]


def finished(fargate: FakeFargate, arn: str, timeout_s: float = 60):
    return wait_for(
        f"task {arn}", lambda: next((t for t in fargate.finished if t.arn == arn), None), timeout_s=timeout_s
    )


@pytest.fixture
def standin(aws, tmp_path, monkeypatch):
    monkeypatch.setenv("ONLY_IN_THE_TEST_PROCESS", "1")
    network = create_fargate_network()
    aws_client("ecs").create_cluster(clusterName="standin")
    secret = aws_client("secretsmanager").create_secret(Name="db", SecretString=json.dumps({"password": "s3cret"}))[
        "ARN"
    ]
    aws_client("ecs").register_task_definition(
        family="child",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "main",
                "image": "x",
                "cpu": 256,
                "memory": 4096,
                "environment": [{"name": "FROM_DEFINITION", "value": "yes"}],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": f"{secret}:password::"}],
            }
        ],
    )
    # ECS's default stop timeout: on a loaded machine a SIGTERM'd task was once still listed after 10 s
    with FakeFargate("standin", log_dir=tmp_path, poll_s=0.2, stop_timeout_s=30) as fargate:
        yield fargate, network


@pytest.mark.integration
def test_stand_in_runs_the_command_with_the_task_environment_and_reports_its_exit_code(
    standin: tuple[FakeFargate, dict[str, str]],
) -> None:
    fargate, network = standin
    arn = run_child(fargate, network, EXIT="3", FROM_OVERRIDE="yes")
    done = finished(fargate, arn)
    assert done.exit_code == 3
    child = json.loads(done.log_path.read_text().splitlines()[-1])
    assert child["env"]["FROM_DEFINITION"] == child["env"]["FROM_OVERRIDE"] == "yes"
    assert child["env"]["DB_PASSWORD"] == "s3cret"  # the JSON key of the secret, as ECS injects it
    assert "ONLY_IN_THE_TEST_PROCESS" not in child["env"]
    assert child["task"]["TaskARN"] == arn and child["task"]["Cluster"].endswith(":cluster/standin")
    task = ecs_task_in("standin", arn)
    assert task["lastStatus"] == "STOPPED" and task["containers"][0]["exitCode"] == 3
    assert task["stoppedReason"] == "Essential container in task exited"


@pytest.mark.integration
def test_stand_in_kills_a_task_over_its_memory_and_stops_on_stop_task(
    standin: tuple[FakeFargate, dict[str, str]],
) -> None:
    fargate, network = standin
    hog = run_child(fargate, network, memory=512, HOG_MIB="700", SLEEP="30")
    killed = finished(fargate, hog)
    assert killed.exit_code == OOM_EXIT_CODE and killed.peak_mib > 512
    assert ecs_task_in("standin", hog)["stoppedReason"].startswith("OutOfMemoryError")

    sleeper = run_child(fargate, network, memory=1024, SLEEP="60")
    wait_for("the task to start", lambda: sleeper in fargate.running_tasks())
    aws_client("ecs").stop_task(cluster="standin", task=sleeper, reason="operator")
    assert finished(fargate, sleeper, timeout_s=45).exit_code == 128 + 15  # SIGTERM, not the SIGKILL after 30 s


def ecs_task_in(cluster: str, arn: str) -> dict:
    return aws_client("ecs").describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]


# ---------------------------------------------------------------- the whole path (about two minutes)


@pytest.fixture(scope="module")
def stack(moto_url, tmp_path_factory):
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    create_project_resources()
    aws_client("s3").create_bucket(Bucket=LOG_BUCKET)
    network = create_fargate_network()
    aws_client("ecs").create_cluster(clusterName=CLUSTER)
    home = tmp_path_factory.mktemp("dagster-home")
    production_instance_yaml(home)
    with postgres_server() as pg, pytest.MonkeyPatch.context() as mp:
        secret_arn = aws_client("secretsmanager").create_secret(
            Name=f"biomarker-assets-{ENVIRONMENT}-db",
            SecretString=json.dumps({"username": pg.user, "password": pg.password}),
        )["ARN"]
        env = stack_environment(pg.env())
        register(RUN_FAMILY, "run", env, secret_arn, 1024, 4096, command=["biomarker-assets", "--help"])
        register(
            DAEMON_FAMILY,
            "daemon",
            {**env, "BIOMARKER_SENSOR_INTERVAL": "2"},
            secret_arn,
            1024,
            4096,
            command=["dagster-daemon", "run"],
            workingDirectory=str(REPO),
        )
        for key, value in {**env, **pg.env()}.items():  # this process reads the same instance
            mp.setenv(key, value)
        # A known study (its config was discovered before): its first file goes straight to a run,
        # while the config sensor's study_configs_job run happens alongside.
        aws_client("s3").create_bucket(Bucket=BUCKET)
        upload_study_config()
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            instance.add_dynamic_partitions(partitions_name(studies), [STUDY])
        # The image's ENV: DAGSTER_HOME holds container/dagster.yaml (see Dockerfile).
        platform = {**default_platform_env(), "DAGSTER_HOME": str(home)}
        with FakeFargate(CLUSTER, platform_env=platform, log_dir=home / "task-logs", stop_timeout_s=5) as fargate:
            daemon_task = run_fargate_task(CLUSTER, DAEMON_FAMILY, network)
            with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
                yield Stack(instance, fargate, home, env, daemon_task, network)
            for t in fargate.finished:  # what each task used: the basis of run_sizing's floor
                job = t.tags.get("dagster/job_name")
                print(f"{job} exit {t.exit_code} peak {t.peak_mib:.0f} MiB in {t.seconds:.1f} s")
            # leaving the block stops the daemon and any run still going (SIGTERM, then SIGKILL)


def upload_study_config() -> None:
    config = copy.deepcopy(yaml.safe_load((STUDY_FILES / "demo.yaml").read_text()))
    config.update(study=STUDY, bucket=BUCKET)
    aws_client("s3").put_object(
        Bucket=StudyStore().config_bucket, Key=StudyStore().config_key(STUDY), Body=yaml.safe_dump(config).encode()
    )


def finished_run(stack: Stack, run_filter: dg.RunsFilter, timeout_s: float = 120.0) -> dg.DagsterRun:
    def done():
        runs = stack.instance.get_runs(run_filter, limit=1)
        return runs[0] if runs and runs[0].status in TERMINAL else None

    return wait_for(f"a finished run of {run_filter}", done, stack, timeout_s)


def ran(stack: Stack, arn: str):
    """The stand-in's record of a task, once its process has exited (the run may finish just before)."""
    return wait_for(
        f"task {arn} to exit", lambda: next((t for t in stack.fargate.finished if t.arn == arn), None), stack, 30
    )


def ecs_task(arn: str) -> dict:
    return aws_client("ecs").describe_tasks(cluster=CLUSTER, tasks=[arn], include=["TAGS"])["tasks"][0]


@pytest.mark.slow
@pytest.mark.e2e
def test_new_file_becomes_a_fargate_run_with_results_in_s3(stack: Stack, samples: Path) -> None:
    s3 = aws_client("s3")
    s3.upload_file(str(samples / "ax3_sample.cwa"), BUCKET, DATA_KEY)
    partition = file_partition_key(STUDY, DATA_KEY)
    wait_for(
        "the new file's partition",
        lambda: partition in stack.instance.get_dynamic_partitions(partitions_name(data_files)),
        stack,
    )
    run = finished_run(stack, dg.RunsFilter(job_name="file_biomarkers_job", tags={"dagster/partition": partition}))
    assert run.status == dg.DagsterRunStatus.SUCCESS, [
        e.message for e in stack.instance.all_logs(run.run_id) if e.message
    ][-5:]

    # the run was one Fargate task of the stack's run family, launched into the daemon's network
    ran(stack, run.tags["ecs/task_arn"])
    task = ecs_task(run.tags["ecs/task_arn"])
    assert task["taskDefinitionArn"].split("/")[-1].startswith(f"{RUN_FAMILY}:")
    assert task["lastStatus"] == "STOPPED" and task["containers"][0]["exitCode"] == 0
    [override] = task["overrides"]["containerOverrides"]
    assert override["name"] == "run" and override["command"][:3] == ["dagster", "api", "execute_run"]
    subnets = [d["value"] for a in task["attachments"] for d in a["details"] if d["name"] == "subnetId"]
    assert subnets == [stack.network["subnet"]]
    assert {"key": "biomarker_assets/study", "value": STUDY} in task["tags"]
    # sized from the file by the launcher, and the task got that size
    size = s3.head_object(Bucket=BUCKET, Key=DATA_KEY)["ContentLength"]
    expected = run_sizing.size_for_file(size, DATA_KEY)
    assert {k: run.tags[k] for k in expected} == expected
    # and given a time limit from its size, which run monitoring (container/dagster.yaml) enforces
    assert run.tags["dagster/max_runtime"] == str(run_max_runtime_seconds(size, DATA_KEY))
    assert (task["overrides"]["cpu"], task["overrides"]["memory"]) == (expected["ecs/cpu"], expected["ecs/memory"])
    assert 0 < ran(stack, task["taskArn"]).peak_mib < int(expected["ecs/memory"])

    # results and provenance in the study bucket, written by that run in that image
    [record_key] = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="results/")["Contents"]
        if f"/{DATA_KEY}/" in o["Key"] and o["Key"].endswith("/provenance.json")  # in its version's folder
    ]
    provenance = json.loads(s3.get_object(Bucket=BUCKET, Key=record_key)["Body"].read())
    assert provenance["code"]["dagster_run_id"] == run.run_id and provenance["code"]["image"] == IMAGE
    assert any(
        k.endswith(".parquet")
        for k in (o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=record_key.rsplit("/", 1)[0])["Contents"])
    )
    # step logs went to S3
    logs = [o["Key"] for o in s3.list_objects_v2(Bucket=LOG_BUCKET).get("Contents", [])]
    assert any(run.run_id in key for key in logs), logs
    # the config sensor's run, like every catalog and metadata run, got the smallest size
    configs_run = finished_run(stack, dg.RunsFilter(job_name="study_configs_job"))
    assert configs_run.status == dg.DagsterRunStatus.SUCCESS
    assert {k: configs_run.tags[k] for k in run_sizing.SMALLEST} == run_sizing.SMALLEST


@pytest.mark.slow
@pytest.mark.e2e
def test_task_exiting_non_zero_fails_the_run_and_a_larger_retry_succeeds(stack: Stack, tmp_path: Path) -> None:
    """512 MiB is too small for this file's run: the stand-in kills it as Fargate would (exit 137).

    A one-asset run executes its step in the run worker (platform/executor.py), so the task is one
    process: a 12-hour 50 Hz wrist recording (2.2 million samples, about 130 bytes each on top of the
    process) peaks at about 600-700 MiB: over 512, under the 1024 the retry gets. (A 6-hour one did
    while the step had a process of its own.) A catalog run no longer serves: since the code location
    loads without SKDH, it peaks under Fargate's smallest size (512 MiB).
    """
    key = "raw/wrist/DM009_V1_wrist.bin"
    make_demo_wrist_file(tmp_path / "wrist.bin", hours=12.0, fs=50.0, seed=9)
    aws_client("s3").upload_file(str(tmp_path / "wrist.bin"), BUCKET, key)
    partition = file_partition_key(STUDY, key)
    wait_for(
        "the file's partition",
        lambda: partition in stack.instance.get_dynamic_partitions(partitions_name(data_files)),
        stack,
    )
    tags = {"dagster/partition": partition, "ecs/cpu": "256", "ecs/memory": "512", "test": "oom"}
    env = {k: v for k, v in os.environ.items()}
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "job",
            "launch",
            "-w",
            str(REPO / "workspace.yaml"),
            "-j",
            "file_biomarkers_job",
            "--tags",
            json.dumps(tags),
        ],
        check=True,
        env={**env, "DAGSTER_HOME": str(stack.home)},
        capture_output=True,
        timeout=120,
    )
    first = finished_run(stack, dg.RunsFilter(tags={"test": "oom"}, job_name="file_biomarkers_job"))
    first = stack.instance.get_runs(dg.RunsFilter(tags={"test": "oom"}), ascending=True, limit=1)[0]
    assert first.status == dg.DagsterRunStatus.FAILURE
    killed = ran(stack, first.tags["ecs/task_arn"])
    assert killed.exit_code == OOM_EXIT_CODE
    failure = next(
        e for e in stack.instance.all_logs(first.run_id) if e.dagster_event and e.dagster_event.is_run_failure
    )
    assert f"exit code {OOM_EXIT_CODE}" in failure.message

    retry = finished_run(stack, dg.RunsFilter(tags={PARENT_RUN_ID_TAG: first.run_id}))
    assert retry.tags[RETRY_NUMBER_TAG] == "1"
    assert (retry.tags["ecs/cpu"], retry.tags["ecs/memory"]) == ("256", "1024")
    assert retry.tags["ecs/task_arn"] != first.tags["ecs/task_arn"]
    assert retry.status == dg.DagsterRunStatus.SUCCESS
    assert ecs_task(retry.tags["ecs/task_arn"])["overrides"]["memory"] == "1024"
