"""What Fargate and ECS give a task, read from the AWS APIs (moto here), for the stand-in to apply.

The container ECS runs and its command, the platform environment, secrets injected from
Secrets Manager, the memory limit, the network a FARGATE task needs, and the stopped
container's exit code (which ECS has no API to set, so it goes into moto's model).
Kept apart from :mod:`.fargate` (which runs the processes)
because these are ECS's rules, each checkable against AWS's documentation alone.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from biomarker_assets.local.aws_standin import FAKE_CREDENTIALS
from biomarker_assets.resources.aws import aws_client

__all__ = [
    "run_fargate_task",
    "create_fargate_network",
    "default_platform_env",
    "record_stop",
    "task_container",
    "task_memory_mib",
    "task_secrets",
]


def default_platform_env() -> dict[str, str]:
    """What a Fargate container has before the task's own variables: a PATH to the "image"
    (this environment's scripts), a locale, the region, and credentials (here moto's)."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        **FAKE_CREDENTIALS,
    }
    for key in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "TMPDIR",
    ):
        if os.environ.get(key):
            env[key] = os.environ[key]
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    return env


def task_container(definition: dict, overrides: dict) -> tuple[dict, dict, list[str]]:
    """The container ECS runs (the overridden one, else the first essential), its override and its command."""
    container_overrides = {o["name"]: o for o in overrides.get("containerOverrides", [])}
    containers = definition["containerDefinitions"]
    container = next((c for c in containers if c["name"] in container_overrides), None)
    container = container or next((c for c in containers if c.get("essential", True)), containers[0])
    override = container_overrides.get(container["name"], {})
    command = list(container.get("entryPoint") or []) + list(override.get("command") or container.get("command") or [])
    return container, override, command


def task_secrets(secrets: list[dict]) -> dict[str, str]:
    """Task-definition secrets from Secrets Manager, as ECS injects them: ``valueFrom`` is a secret
    ARN, optionally followed by ``:json-key:version-stage:version-id`` (RDS's managed secret is JSON)."""
    values = {}
    for secret in secrets:
        parts = secret["valueFrom"].split(":")
        if len(parts) < 7 or parts[2] != "secretsmanager":
            raise ValueError(f"only Secrets Manager secrets are supported here, not {secret['valueFrom']!r}")
        json_key, stage, version = (parts[7:] + ["", "", ""])[:3]
        request = {"SecretId": ":".join(parts[:7])}
        if stage:
            request["VersionStage"] = stage
        if version:
            request["VersionId"] = version
        text = aws_client("secretsmanager").get_secret_value(**request)["SecretString"]
        values[secret["name"]] = str(json.loads(text)[json_key]) if json_key else text
    return values


def task_memory_mib(definition: dict, overrides: dict, container: dict, override: dict) -> int | None:
    """The smallest of the task's memory and the container's hard limit, overrides first."""
    limits = [overrides.get("memory") or definition.get("memory"), override.get("memory") or container.get("memory")]
    values = [int(v) for v in limits if v]
    return min(values) if values else None


def create_fargate_network(name: str = "biomarker-assets-local") -> dict[str, str]:
    """A VPC with DNS hostnames (moto's FARGATE needs it), a subnet and a security group."""
    ec2 = aws_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=name, Description="Dagster runs", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnet": subnet, "security_group": group}


def run_fargate_task(cluster: str, task_definition: str, network: Mapping[str, str]) -> str:
    """ECS ``run_task`` of one FARGATE task in ``network``'s subnet, no public IP, as the stack starts the daemon."""
    return aws_client("ecs").run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [network["subnet"]],
                "securityGroups": [network["security_group"]],
                "assignPublicIp": "DISABLED",
            }
        },
    )["tasks"][0]["taskArn"]


def _moto_task(task_arn: str) -> Any:
    """moto's model of a task, when moto runs in this process (None otherwise)."""
    from moto.backends import get_backend

    _, _, _, region, account, resource = task_arn.split(":", 5)
    cluster = resource.split("/")[1] if resource.count("/") == 2 else None
    backend = get_backend("ecs")[account][region]
    for name, tasks in backend.tasks.items():
        if (cluster is None or name == cluster) and task_arn in tasks:
            return tasks[task_arn]
    return None


def record_stop(cluster: str, arn: str, container: str, exit_code: int, reason: str | None) -> None:
    """Set the container's exit code in moto's model, then stop the task with ``reason`` (None: already stopped)."""
    model = _moto_task(arn)
    if model is None:
        raise RuntimeError(f"task {arn} is not in this process's moto: start moto with aws_standin.moto_server")
    for c in model.containers:
        if c.name == container:
            c.exitCode = exit_code
            c.last_status = "STOPPED"
    if reason is not None:
        aws_client("ecs").stop_task(cluster=cluster, task=arn, reason=reason)
