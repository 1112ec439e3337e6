"""A local Fargate: runs the ECS tasks that moto accepts but never starts.

moto's ECS takes ``run_task`` for FARGATE and then reports the task RUNNING forever. This
stand-in plays the part of Fargate for one cluster: it watches moto for new tasks, runs each
task's container command (``dagster api execute_run ...`` for a Dagster run) as a local
process, and stops the task with the command's exit code, so Dagster's ``EcsRunLauncher``
and run monitoring see what they would see on AWS. Like Fargate, it:

- gives the process only the task's environment: the task definition's ``environment`` and
  ``secrets`` (read from Secrets Manager), then the container override's ``environment``,
  on top of what the platform provides (AWS region and credentials, here moto's endpoint).
  The launcher sends no environment with a pre-registered task definition, so whatever a run
  needs must be in the task definition, and a test through this stand-in proves it is;
- serves the task metadata endpoint (``ECS_CONTAINER_METADATA_URI_V4``), which the launcher
  reads to copy the cluster and network configuration of the task it runs in;
- kills a task whose processes use more memory than the task has (exit code 137,
  ``OutOfMemoryError: Container killed due to memory usage``), so sizes are tested too;
- on ``stop_task`` sends SIGTERM, then SIGKILL after the stop timeout.

ECS has no API to set a container's exit code, so it is written into moto's model: moto must
run in this process (``aws_standin.moto_server``). "Images" are not pulled: every task runs
with this Python environment's scripts first on ``PATH``.

The parts: :mod:`.fargate` watches moto and runs the tasks (:class:`FakeFargate`);
:mod:`.fargate_platform` holds ECS's rules for what a task gets (container, environment,
secrets, memory, network) and records its exit in moto; :mod:`.metadata` serves the
metadata endpoint; :mod:`.process_tree` measures and signals a task's process tree.

By hand: ``python -m biomarker_assets_tests.support.fake_ecs --cluster NAME`` starts moto with the
project's resources and an empty cluster, prints the environment to export, and runs every
task launched into the cluster until Ctrl-C.
"""

from biomarker_assets_tests.support.fake_ecs.fargate import (
    EXIT_REASON,
    OOM_EXIT_CODE,
    OOM_REASON,
    STOP_TIMEOUT_S,
    FakeFargate,
    FinishedTask,
    TaskProcess,
)
from biomarker_assets_tests.support.fake_ecs.fargate_platform import (
    create_fargate_network,
    default_platform_env,
    run_fargate_task,
)
from biomarker_assets_tests.support.fake_ecs.process_tree import tree_memory_mib

__all__ = [
    "EXIT_REASON",
    "OOM_EXIT_CODE",
    "OOM_REASON",
    "STOP_TIMEOUT_S",
    "FakeFargate",
    "FinishedTask",
    "TaskProcess",
    "create_fargate_network",
    "default_platform_env",
    "run_fargate_task",
    "tree_memory_mib",
]
