"""A Fargate stand-in whose run tasks report their outcome through the instance instead of running.

The fleet benchmark (``benchmarks/fleet.py``) needs thousands of concurrent Fargate tasks on a
2-core machine: a real ``dagster api execute_run`` per task costs seconds of CPU (process start,
imports, code location), hours for 10,000 files. :class:`SimulatedFargate` is :class:`FakeFargate`
(tasks found in moto, the stand-in's environment and exit codes) except that a Dagster run's task
is played, not executed: after ``start_s`` it writes the run's start and step start to the
instance, after ``compute_s`` per file one ``ASSET_MATERIALIZATION`` of ``file_biomarkers`` per
partition, the step's and the run's success, and then stops the ECS task with exit code 0, as the
real worker's events and exit would. Every other task (the daemon) runs as a real process, and so
does a run while :attr:`SimulatedFargate.simulate` says no (the benchmark's calibration of the real
worker start cost).

A one-file run names its partition in the ``dagster/partition`` tag; a batch run (job
``file_biomarkers_batch_job``) lists its partitions in run config at
``ops.<op>.config.partition_keys``, each materialized by the one step.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.dependency import NodeHandle
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.execution.plan.handle import StepHandle
from dagster._core.execution.plan.objects import StepSuccessData
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import deserialize_value

from biomarker_assets_tests.support.fake_ecs.fargate import EXIT_REASON, FakeFargate
from biomarker_assets_tests.support.fake_ecs.fargate_platform import record_stop

log = logging.getLogger(__name__)

FILE_ASSET = dg.AssetKey("file_biomarkers")
BATCH_JOB = "file_biomarkers_batch_job"
EXECUTE_RUN = ["dagster", "api", "execute_run"]


def run_partitions(run: dg.DagsterRun) -> tuple[str | None, list[str]]:
    """(op, partition keys) a run materializes: a batch run's ``partition_keys`` config, else its partition tag."""
    ops = (run.run_config or {}).get("ops")
    for op, op_config in (ops if isinstance(ops, Mapping) else {}).items():
        keys = ((op_config or {}).get("config") or {}).get("partition_keys")
        if keys is not None:
            return op, [str(k) for k in keys]
    partition = run.tags.get("dagster/partition")
    if run.job_name in ("file_biomarkers_job", "process_data_file", "__ASSET_JOB") and partition:
        return "file_biomarkers", [partition]
    return None, []


@dataclass(frozen=True)
class Timing:
    """How long a simulated task takes: ``start_s`` to its run's start, then ``compute_s`` per file."""

    start_s: float = 1.0
    compute_s: float = 1.0


@dataclass
class SimulatedTask:
    arn: str
    container: str
    run_id: str
    seen_at: float  # wall clock (time.time()) when the stand-in found the task
    started_at: float | None = None
    finished_at: float | None = None
    files: int = 0
    outcome: str = "running"


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class SimulatedFargate(FakeFargate):
    """:class:`FakeFargate` that plays Dagster run tasks through ``instance``; see the module docstring."""

    def __init__(
        self,
        cluster: str,
        instance: dg.DagsterInstance,
        timing: Timing = Timing(),
        simulate: Callable[[dg.DagsterRun], bool] = lambda run: True,
        **kwargs,
    ):
        super().__init__(cluster, **kwargs)
        self.instance = instance
        self.timing = timing
        self.simulate = simulate
        self.simulated: dict[str, SimulatedTask] = {}  # by run id
        self.real_started: dict[str, float] = {}  # task ARN -> wall clock its process started
        self._due: list[_Due] = []
        self._seq = 0
        self._due_lock = threading.Condition()
        self._player: threading.Thread | None = None

    def start(self) -> SimulatedFargate:
        self._player = threading.Thread(target=self._play, name="simulated-fargate", daemon=True)
        self._player.start()
        super().start()
        return self

    def __enter__(self) -> SimulatedFargate:
        return self.start()

    def stop(self) -> None:
        super().stop()
        with self._due_lock:
            self._due_lock.notify_all()
        if self._player:
            self._player.join(30)

    # ------------------------------------------------------------------ which tasks are played

    def _launch(self, task: dict) -> None:
        run = self._run_of(task)
        if run is None or not self.simulate(run):
            self.real_started[task["taskArn"]] = time.time()
            super()._launch(task)
            return
        [override] = [o for o in task["overrides"]["containerOverrides"] if o.get("command")]
        sim = SimulatedTask(task["taskArn"], override["name"], run.run_id, time.time())
        self.simulated[run.run_id] = sim
        self._schedule(self.timing.start_s, lambda: self._start_run(sim))

    def _run_of(self, task: dict) -> dg.DagsterRun | None:
        """The Dagster run a task executes (its ``execute_run`` arguments), None for other tasks."""
        for override in (task.get("overrides") or {}).get("containerOverrides", []):
            command = override.get("command") or []
            if command[:3] == EXECUTE_RUN and len(command) > 3:
                args = deserialize_value(command[3], ExecuteRunArgs)
                return self.instance.get_run_by_id(args.run_id)
        return None

    # ------------------------------------------------------------------ the player

    def _schedule(self, delay_s: float, action: Callable[[], None]) -> None:
        with self._due_lock:
            self._seq += 1
            heapq.heappush(self._due, _Due(time.monotonic() + delay_s, self._seq, action))
            self._due_lock.notify()

    def _play(self) -> None:
        while not self._stop.is_set():
            with self._due_lock:
                while not self._stop.is_set() and (not self._due or self._due[0].at > time.monotonic()):
                    self._due_lock.wait(min(0.5, self._due[0].at - time.monotonic()) if self._due else 0.5)
                if self._stop.is_set():
                    return
                due = heapq.heappop(self._due)
            try:
                due.action()
            except Exception as exc:  # keep playing the other tasks; reported to whoever asks
                log.exception("simulated task failed")
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def _emit(self, run: dg.DagsterRun, event_type: DagsterEventType, op: str | None = None, data=None) -> None:
        handle = StepHandle(NodeHandle(op, None)) if op else None
        event = DagsterEvent(
            event_type_value=event_type.value,
            job_name=run.job_name,
            step_handle=handle,
            event_specific_data=data,
            message=f"{event_type.value} (simulated Fargate task)",
        )
        self.instance.report_dagster_event(event, run_id=run.run_id)

    def _start_run(self, sim: SimulatedTask) -> None:
        run = self.instance.get_run_by_id(sim.run_id)
        if run is None or run.is_finished:  # canceled meanwhile (run monitoring, a person)
            self._stop_task(sim, "canceled")
            return
        op, partitions = run_partitions(run)
        self._emit(run, DagsterEventType.RUN_START)
        if op:
            self._emit(run, DagsterEventType.STEP_START, op)
        sim.started_at, sim.files = time.time(), len(partitions)
        self._schedule(self.timing.compute_s * max(1, len(partitions)), lambda: self._finish_run(sim, op, partitions))

    def _finish_run(self, sim: SimulatedTask, op: str | None, partitions: list[str]) -> None:
        run = self.instance.get_run_by_id(sim.run_id)
        if run is None or run.is_finished:
            self._stop_task(sim, "canceled")
            return
        for partition in partitions:
            materialization = dg.AssetMaterialization(FILE_ASSET, partition=partition, metadata={"simulated": True})
            self._emit(run, DagsterEventType.ASSET_MATERIALIZATION, op, StepMaterializationData(materialization))
        if op:
            duration_ms = 1000.0 * (time.time() - (sim.started_at or time.time()))
            self._emit(run, DagsterEventType.STEP_SUCCESS, op, StepSuccessData(duration_ms))
        self._emit(run, DagsterEventType.RUN_SUCCESS)
        self._stop_task(sim, "success")

    def _stop_task(self, sim: SimulatedTask, outcome: str) -> None:
        sim.finished_at, sim.outcome = time.time(), outcome
        record_stop(self.cluster, sim.arn, sim.container, 0, EXIT_REASON)

    def summary(self) -> Mapping[str, int]:
        """Simulated tasks by outcome (``running``, ``success``, ``canceled``)."""
        counts: dict[str, int] = {}
        for sim in list(self.simulated.values()):
            counts[sim.outcome] = counts.get(sim.outcome, 0) + 1
        return counts
