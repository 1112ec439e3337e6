"""Fargate's valid Linux task sizes: the one table run sizing picks from and the deploy stack checks against.

Plain Python (no Dagster, no AWS client) so ``biomarker-assets deploy`` can use it without importing
the run launcher. test_deploy_stack checks the template's CPU/memory parameters against this table.
"""

from __future__ import annotations

from collections.abc import Iterable

# CPU units -> the memory (MiB) choices Fargate accepts with them, cheapest first.
FARGATE_SIZES: dict[int, list[int]] = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}


def is_valid(cpu: int, memory_mib: int) -> bool:
    """Whether Fargate runs a task of ``cpu`` units with ``memory_mib``."""
    return memory_mib in FARGATE_SIZES.get(cpu, ())


def cheapest(memory_mib: float, min_cpu: int = 256) -> tuple[int, int]:
    """(CPU units, MiB) of the smallest valid size with at least ``memory_mib`` and ``min_cpu``."""
    for cpu, memories in FARGATE_SIZES.items():
        if cpu < min_cpu:
            continue
        for memory in memories:
            if memory >= memory_mib:
                return cpu, memory
    raise ValueError(f"{memory_mib:.0f} MiB is more than Fargate's largest task (16 vCPU, 120 GiB)")


def memory_bounds(cpus: Iterable[int]) -> tuple[int, int]:
    """The least and most MiB any of ``cpus`` allows: a template's MinValue/MaxValue for the memory."""
    memories = [m for cpu in cpus for m in FARGATE_SIZES[cpu]]
    return min(memories), max(memories)
