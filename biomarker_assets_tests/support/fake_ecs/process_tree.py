"""A task's process tree as a container sees it: its memory, and signals to all of it.

A Dagster run forks (``dagster api execute_run`` starts a step process), so a task's
memory and its stop signals have to cover every descendant, as a container's cgroup does.
Linux only: reads ``/proc``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess

__all__ = ["signal_group", "tree_memory_mib", "tree_pids"]


def tree_pids(root: int) -> list[int]:
    """``root`` and every descendant, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def tree_memory_mib(root: int) -> float:
    """Proportional set size of a process tree: shared pages counted once, as a cgroup would."""
    total_kib = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total_kib += int(line.split()[1])
                        break
        except OSError:
            continue
    return total_kib / 1024


def signal_group(process: subprocess.Popen, sig: int) -> None:
    """Signal the process group a task was started in (``start_new_session``): the whole tree."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, sig)
