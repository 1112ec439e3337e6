"""Timings from inside the contained child that processes a file (for ``skdh_processing.py``).

The asset runs SKDH in a child forked from a forkserver (``lib/skdh/isolation.py``), so wrapping
functions in the benchmark's own process times nothing there. ``skdh_processing.py`` adds this
module to the forkserver's preload (``isolation.PRELOAD``) and names a file in
``BENCH_CONTAINED_TIMINGS``: imported in the forkserver, it wraps the project functions below, so
every child forked from it appends one JSON line per call ({"label": ..., "seconds": ...}) and, at
the end of ``process_local_file``, its CPU seconds and its own peak RSS (VmHWM: a forked child's high-water mark starts
at its size when forked, so this is the child's peak).

Functions missing from this version of the project (e.g. the day-piece runner before it lands) are
skipped. Only the standard library at module level.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import time
from typing import Any

ENV = "BENCH_CONTAINED_TIMINGS"
TIMED = (
    ("biomarker_assets.lib.biomarkers.processing", "process_local_file", "process_local_file"),
    ("biomarker_assets.lib.skdh.execution", "run_pipeline", "SKDH run"),
    ("biomarker_assets.lib.skdh.piecewise", "run_pipeline_in_pieces", "SKDH run"),  # day pieces
    ("biomarker_assets.lib.skdh.tables", "results_to_tables", "tables + Parquet"),
    ("biomarker_assets.lib.skdh.tables", "write_results", "tables + Parquet"),
    ("biomarker_assets.lib.biomarkers.overview_plot", "overview_png", "overview plot"),
    ("biomarker_assets.lib.biomarkers.overview_plot", "overview_pngs", "overview plot"),
)


def peak_rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _record(path: str, entry: dict[str, Any]) -> None:
    with open(path, "a") as out:
        out.write(json.dumps(entry) + "\n")


def instrument(path: str) -> list[str]:
    """Wrap every function of ``TIMED`` that exists; returns the labels of those wrapped."""
    wrapped = []
    for module_name, attr, label in TIMED:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = getattr(module, attr, None)
        if original is None:
            continue

        def timed(*args: Any, _original: Any = original, _label: str = label, _name: str = attr, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                entry: dict[str, Any] = {"label": _label, "seconds": time.perf_counter() - started, "function": _name}
                if _label == "process_local_file":
                    entry.update(child_peak_rss=peak_rss_bytes(), child_cpu=time.process_time() - cpu)
                _record(path, entry)

        setattr(module, attr, functools.wraps(original)(timed))
        wrapped.append(label)
    return wrapped


def read(path: str) -> tuple[dict[str, float], int, list[str]]:
    """(seconds per label, the contained child's peak RSS in bytes, the functions that ran SKDH); the
    child's CPU seconds are under the label ``child CPU``."""
    seconds: dict[str, float] = {}
    peak = 0
    runners: list[str] = []
    try:
        with open(path) as lines:
            for line in lines:
                entry = json.loads(line)
                seconds[entry["label"]] = seconds.get(entry["label"], 0.0) + entry["seconds"]
                peak = max(peak, entry.get("child_peak_rss", 0))
                seconds["child CPU"] = seconds.get("child CPU", 0.0) + entry.get("child_cpu", 0.0)
                if entry["label"] == "SKDH run" and entry["function"] not in runners:
                    runners.append(entry["function"])
    except FileNotFoundError:
        pass
    return seconds, peak, runners


if os.environ.get(ENV):  # imported by the forkserver of a benchmarked run
    instrument(os.environ[ENV])
