"""The code location's executor: a run with one step runs it in the run's own process.

Dagster's default executor starts a fresh process per step (import Dagster, load the code
location: 8-10 s on 2 cores) even when the run has one step, which is every run the sensors,
the per-step jobs and file backfills make: one partition of one asset. This executor looks at
the run's plan: one step runs in-process, more than one run as Dagster's multiprocess executor
would, in parallel. It takes the default executor's config unchanged
(``execution: {config: {multiprocess: ...}}`` or ``{in_process: ...}``), so launchpad configs keep working.

What one process costs: a native reader that crashes the process takes the run worker with it
instead of a step process. In production the run's ECS task then stops and run monitoring fails
the run (container/dagster.yaml); locally the run stays STARTED until cancelled in the UI.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import dagster as dg

from biomarker_assets.platform.dagster_private import in_process_executor_from_config, multiprocess_executor_from_config

if TYPE_CHECKING:
    from dagster._core.execution.context.system import PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan
    from dagster._core.execution.retries import RetryMode
    from dagster._core.execution.step_dependency_config import StepDependencyConfig


def single_step_config(executor_config: Mapping[str, Any]) -> dict[str, Any]:
    """The in-process config that keeps what applies of either mode's config (retries, step dependencies)."""
    mode = next(iter(executor_config.values()), None) or {}
    kept = {k: mode[k] for k in ("step_dependency_config",) if k in mode}
    return {"retries": mode.get("retries", {"enabled": {}}), **kept}


class OneStepInProcessExecutor(dg.Executor):
    """In-process for a plan of one step, the configured mode otherwise."""

    def __init__(self, single: dg.Executor, several: dg.Executor):
        self.single = single
        self.several = several

    def chosen(self, execution_plan: ExecutionPlan) -> dg.Executor:
        return self.single if len(execution_plan.step_keys_to_execute) <= 1 else self.several

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[dg.DagsterEvent]:
        yield from self.chosen(execution_plan).execute(plan_context, execution_plan)

    @property
    def retries(self) -> RetryMode:
        return self.several.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self.several.step_dependency_config


@dg.executor(
    name="one_step_in_process",
    config_schema=dg.multi_or_in_process_executor.config_schema.as_field(),
    requirements=dg.multi_or_in_process_executor.get_requirements,
)
def one_step_in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's default executor, except that a run of one step runs it in the run's process."""
    config = init_context.executor_config
    single = in_process_executor_from_config(single_step_config(config))
    if "multiprocess" in config:
        return OneStepInProcessExecutor(single, multiprocess_executor_from_config(config["multiprocess"]))  # type: ignore[arg-type]  # a dict by the schema
    return OneStepInProcessExecutor(single, in_process_executor_from_config(config["in_process"]))  # type: ignore[arg-type]  # a dict by the schema
