"""The fleet benchmark's projection: a whole study on many Fargate tasks, from measured per-run costs.

Plain arithmetic, no Dagster or AWS, so the README table can be recomputed from a saved
measurement (``fleet.py --project FILE.json``) when the per-file compute or memory changes.

A run of ``b`` files is one Fargate task that takes ``T = F + S + b * (C + K)`` seconds: ``F`` Fargate's
own start (ENI, image pull; assumed, not measurable here), ``S`` the run worker's fixed cost (process
start, imports, code location, executor set-up, and its exit after the run succeeded: measured
with real ``dagster api execute_run`` tasks), ``C`` one file's compute (SKDH), ``K`` the step's fixed
cost per file around it (pipeline child process, SKDH imports, download, results, provenance, plot:
the real step on a half-hour file, where ``C`` is nearly 0). Dagster adds ``O`` seconds of
slot time per run (queue, sizing, launch, success seen, slot freed: measured by the fleet) and
launches at most ``R`` runs per second (measured). With ``P`` tasks at once the study takes
``max(ceil(runs / P) * (T + O), runs / R)`` plus the catalog (measured per file, scaled).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from biomarker_assets.platform.fargate import cheapest

# AWS Fargate, Linux/x86, us-east-1, on demand: as known on 2026-12-03 (not fetched, no web access here;
# unchanged since AWS's January 2019 price cut as far as known): check https://aws.amazon.com/fargate/pricing/
PRICE_DATE = "2026-12-03"
PRICE_PER_VCPU_HOUR = 0.04048
PRICE_PER_GB_HOUR = 0.004445
MIN_BILLED_S = 60.0  # Fargate bills per second from the image pull's start, at least one minute


@dataclass(frozen=True)
class Measured:
    """Per-run costs the benchmark measured (seconds, runs/s)."""

    worker_start_s: float  # S
    run_overhead_s: float  # O
    launch_rate_per_s: float  # R
    catalog_fixed_s: float
    catalog_s_per_file: float
    file_fixed_s: float  # K


@dataclass(frozen=True)
class Scenario:
    files: int = 103_712
    tasks: int = 500
    compute_s: float = 30.3  # C: README "Faster SKDH steps", 7 d @ 100 Hz with the fast processes
    memory_gb: float = 1.5
    vcpu: float = 1.0
    fargate_start_s: float = 40.0  # F (assumed)
    price_per_vcpu_hour: float = PRICE_PER_VCPU_HOUR
    price_per_gb_hour: float = PRICE_PER_GB_HOUR


@dataclass(frozen=True)
class Projection:
    files_per_run: int
    runs: int
    task_cpu: int  # Fargate CPU units
    task_memory_mib: int
    task_s: float
    wall_h: float
    throughput_bound: bool
    task_hours: float
    cost_usd: float
    cost_per_file_usd: float
    orchestration_overhead: float  # (S + O + launch-rate waits) per file / C
    all_fixed_costs: float  # the same plus F and K
    files_per_hour: float

    def as_dict(self) -> dict:
        return asdict(self)


def task_size(scenario: Scenario) -> tuple[int, int]:
    """The cheapest Fargate size with the scenario's vCPU and memory (1 vCPU takes at least 2 GB)."""
    return cheapest(scenario.memory_gb * 1024, int(scenario.vcpu * 1024))


def project(scenario: Scenario, measured: Measured, files_per_run: int) -> Projection:
    runs = math.ceil(scenario.files / files_per_run)
    per_file = scenario.compute_s + measured.file_fixed_s
    task_s = scenario.fargate_start_s + measured.worker_start_s + files_per_run * per_file
    slot_s = task_s + measured.run_overhead_s
    compute_bound = math.ceil(runs / scenario.tasks) * slot_s
    launch_bound = runs / measured.launch_rate_per_s
    wall_s = max(compute_bound, launch_bound) + measured.catalog_fixed_s + measured.catalog_s_per_file * scenario.files
    # slot time the fleet spends beyond compute; idle slots count when launches cannot keep up
    busy = max(runs * slot_s, launch_bound * min(scenario.tasks, runs))
    compute = scenario.files * scenario.compute_s
    fixed = scenario.files * measured.file_fixed_s
    cpu, memory = task_size(scenario)
    task_hours = runs * max(task_s, MIN_BILLED_S) / 3600
    hourly = cpu / 1024 * scenario.price_per_vcpu_hour + memory / 1024 * scenario.price_per_gb_hour
    return Projection(
        files_per_run=files_per_run,
        runs=runs,
        task_cpu=cpu,
        task_memory_mib=memory,
        task_s=task_s,
        wall_h=wall_s / 3600,
        throughput_bound=launch_bound > compute_bound,
        task_hours=task_hours,
        cost_usd=task_hours * hourly,
        cost_per_file_usd=task_hours * hourly / scenario.files,
        orchestration_overhead=(busy - compute - runs * scenario.fargate_start_s - fixed) / compute,
        all_fixed_costs=(busy - compute) / compute,
        files_per_hour=scenario.files / wall_s * 3600,
    )


def projection_table(scenario: Scenario, measured: Measured, batch_sizes: list[int]) -> str:
    """The README's Markdown table, one row per files-per-run."""
    cpu, memory = task_size(scenario)
    lines = [
        f"{scenario.files:,} files, {scenario.compute_s:.1f} s compute each, {scenario.tasks} Fargate tasks of "
        f"{cpu / 1024:g} vCPU / {memory / 1024:g} GB (need {scenario.memory_gb:g} GB); Fargate start "
        f"{scenario.fargate_start_s:.0f} s (assumed), worker start {measured.worker_start_s:.1f} s, Dagster "
        f"{measured.run_overhead_s:.1f} s slot time per run, launches <= {measured.launch_rate_per_s:.2f} runs/s "
        f"(measured), step fixed cost {measured.file_fixed_s:.1f} s per file (measured). Prices us-east-1 "
        f"Linux/x86 as known on {PRICE_DATE}: ${scenario.price_per_vcpu_hour}/vCPU-h, "
        f"${scenario.price_per_gb_hour}/GB-h (check before use).",
        "",
        "| files per run | runs | task time | wall | task-hours | cost | cost per file | orchestration "
        "overhead (target <= 10 %) | all fixed costs (+ Fargate start, step) | wall target <= 6 h |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in batch_sizes:
        p = project(scenario, measured, b)
        bound = " (launch-bound)" if p.throughput_bound else ""
        lines.append(
            f"| {b} | {p.runs:,} | {p.task_s:,.0f} s | {p.wall_h:.1f} h{bound} | {p.task_hours:,.0f} | "
            f"${p.cost_usd:,.0f} | ${p.cost_per_file_usd:.5f} | {p.orchestration_overhead:.1%} "
            f"{'met' if p.orchestration_overhead <= 0.10 else 'NOT met'} | {p.all_fixed_costs:.1%} | "
            f"{'met' if p.wall_h <= 6 else 'NOT met'} |"
        )
    return "\n".join(lines)
