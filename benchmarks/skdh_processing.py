"""Speed and memory of biomarker processing: bare SKDH vs the project's Dagster materialization.

One invocation generates (or reuses) a synthetic wrist recording as an Axivity
``.cwa`` (:func:`biomarker_assets_tests.support.cwa_writer.write_wrist_cwa`: day/night
plan, seeded), then for each repeat runs two phases, each in its own freshly
spawned child process:

``bare``
    the floor: ``skdh.Pipeline().load(yaml_str=<spec>)`` then ``.run(file=<local .cwa>)``;
    the spec is the wrist pipeline (ReadCwa, AccelThresholdWearDetectionFast,
    GetDayWindowIndices, SleepCorrected, ActivityLevelClassificationFast:
    ``WRIST_PIPELINE_SPEC`` with ``ReadCwa`` as reader). Both phases run the same
    spec, so this measures the project's overhead; the fast processes against
    SKDH's own classes are measured by ``benchmarks/fast_processes.py``.
``dagster``
    the product: ``dg.materialize([file_biomarkers], partition_key=..., resources=..., instance=...)``
    on the same file uploaded to a study bucket in the local AWS stand-in (moto),
    with the study config (same spec) in the config bucket: resolve the config,
    check requirements, download (streamed to disk), sha256, run SKDH, write
    Parquet, upload results and ``provenance.json``, record the materialization.

Wall time is measured inside each child around the work only (``pipeline.run`` /
``dg.materialize``), after imports and after creating the Dagster instance and
registering the partition (a deployment has those already). Peak memory is the
child's ``getrusage(RUSAGE_SELF).ru_maxrss`` read at its end, so it includes the
interpreter and imports (Dagster's are part of what a run costs). The materialization
runs SKDH in a contained child forked from a forkserver (``lib/skdh/isolation.py``):
``contained_timing.py`` (beside this script) is added to that forkserver's preload and
times SKDH, tables and plot inside the child and reports the child's own peak RSS and
CPU; the dagster phase's peak is the run's plus the child's (both are alive while SKDH
runs: what the task must hold), its CPU the run's plus the child's. A pipeline that the
run processes in day pieces (``run_pipeline_in_pieces``) is timed the same way, and the
README table says which way the run went; nothing else changes. The moto server
runs as a thread of this (parent) process, so the objects it holds are not
counted against the materialization. The phases alternate (bare, dagster, bare,
...) so machine noise hits both; the table shows medians.

Shared machines are noisy, so the table also has: CPU seconds (user + sys) of
each phase; the dagster phase's *overhead*, its wall time minus the wall time
of the SKDH run inside it (timed in the same process, so contention that slows
SKDH cancels out), and ``1 + overhead / bare``, the ratio the overhead alone
gives; and a breakdown of the dagster phase (download, input sha256, SKDH run,
tables + Parquet, overview plot, provenance etc., containment (the fork, the file
checks, the result's trip back, and the forkserver's start with SKDH imported, once per
run), upload, and the rest: Dagster run/event storage, config load and validation,
requirement checks). The last lines printed are the README's table rows with the
load average: paste them from one run.

Note on the download: moto answers every ranged GET by reading the whole object
(``FakeKey.value``), so the stand-in's transfer time grows with the number of parts
times the size. ``StudyStore`` downloads in 64 MiB parts (5 for 258 MB: 0.9 s here;
boto3's default 8 MiB parts took 6.1 s); S3 serves a range at the cost of the range.

Usage (from the repository root, with the project's venv)::

    python benchmarks/skdh_processing.py                       # 24 h at 50 Hz, 3 repeats: ~3 min
    python benchmarks/skdh_processing.py --days 7 --fs 100     # a week at 100 Hz: ~10 min
    python benchmarks/skdh_processing.py --matrix --repeat 3   # 24 h / 7 d x 50 / 100 Hz: ~25 min

Flags:

``--days {1,7}``       recording length in days (default 1); any positive number works
``--fs {50,100}``      sample rate in Hz (default 50); any Axivity rate (3200/2^k) works
``--repeat N``         repeats per phase (default 3); the table shows medians, the
                       per-repeat figures are printed above it
``--seed S``           generator seed (default 0); same seed, same file
``--matrix``           run all of 24 h / 7 d x 50 / 100 Hz (ignores --days/--fs)
``--workdir DIR``      where generated recordings are kept and reused (default
                       ``$TMPDIR/biomarker-assets-bench``); ``--regenerate`` rewrites them
``--json FILE``        also write every measurement as JSON
``--profile DIR``      run the first dagster phase under cProfile, write ``<config>.prof`` to
                       DIR and print its top functions (adds profiler overhead to that phase)
``--table-from FILE``  print the tables again from a ``--json`` file (no runs)

Targets (issue 4): 7 d at 100 Hz: time <= 1.10x and peak memory <= 1.20x bare SKDH;
24 h: time <= 1.25x. The table says whether each is met.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dagster as dg

# Only the standard library at module level: spawned children re-import this module,
# and the bare phase must not pay for Dagster's imports.

STUDY = "bench"
STUDY_BUCKET = "bench-study-data"
PIPELINE = "wrist-cwa"
TARGETS = {  # (days, fs) -> (time ratio, memory ratio); None = no target
    (7.0, 100.0): (1.10, 1.20),
}
DEFAULT_TIME_TARGET = 1.25  # 24 h recordings (and, as a yardstick, every other size)


# --------------------------------------------------------------------------- helpers
def _peak_rss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_now_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _quiet_stderr(log_path: str) -> None:
    """Send this child's stderr (Dagster's console log, SKDH warnings) to a file."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def cwa_pipeline_spec() -> dict:
    """The wrist pipeline with SKDH's Axivity reader, as plain JSON (lists, not tuples)."""
    from biomarker_assets.local.pipeline_specs import WRIST_PIPELINE_SPEC

    spec = json.loads(json.dumps(WRIST_PIPELINE_SPEC))
    reader = spec["Steps"][0]
    reader.update(name="ReadCwa", process="ReadCwa", module="io.axivity")
    return spec


def study_config(spec: dict) -> dict:
    return {
        "study": STUDY,
        "description": "Benchmark study: one synthetic wrist recording.",
        "bucket": STUDY_BUCKET,
        "prefixes": ["raw/"],
        "results_prefix": "results/",
        "filename": {
            "pattern": r"(?P<subject>DM\d{3})_(?P<visit>V\d+)_(?P<location>wrist|lumbar)\.(?P<ext>\w+)",
            "required_fields": ["subject", "visit", "location"],
        },
        "data_files": [{"match": {"glob": "raw/wrist/**/*.cwa"}, "pipeline": PIPELINE}],
        "pipelines": {PIPELINE: {"version": "1", "skdh": spec}},
    }


def _headline(results: dict) -> dict:
    """Two numbers to check both phases computed the same thing."""
    import numpy as np

    sleep = results.get("SleepCorrected", {}).get("total sleep time")
    # as the run's headline computes it (lib/biomarkers/kinds.py): activity's Wear Minutes / 60, not its
    # N wear hours, which SKDH rounds to 0.1 h
    wear = results.get("ActivityLevelClassification", {}).get("Wear Minutes")
    return {
        "total_sleep_time_min": None if sleep is None else float(np.nanmean(np.asarray(sleep, dtype=float))),
        "wear_hours": None if wear is None else float(np.nansum(np.asarray(wear, dtype=float))) / 60.0,
    }


# --------------------------------------------------------------------------- children
def _generate_child(path: str, days: float, fs: float, seed: int) -> dict:
    from biomarker_assets_tests.support.cwa_writer import write_wrist_cwa

    started = time.perf_counter()
    write_wrist_cwa(path, days=days, fs=fs, seed=seed)
    return {"seconds": time.perf_counter() - started, "peak_rss": _peak_rss_bytes()}


def _bare_child(path: str, spec: dict, log_path: str) -> dict:
    _quiet_stderr(log_path)
    import skdh
    import yaml

    import biomarker_assets.skdh_processes  # noqa: F401  (Pipeline.load finds the project processes by attribute)

    baseline = _rss_now_bytes()
    cpu = _cpu_seconds()
    started = time.perf_counter()
    pipeline = skdh.Pipeline()
    pipeline.load(yaml_str=yaml.safe_dump(spec))
    results = pipeline.run(file=path)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": _cpu_seconds() - cpu,
        "peak_rss": _peak_rss_bytes(),
        "baseline_rss": baseline,
        "headline": _headline(results),
    }


# (module, attribute, label): project functions the dagster phase times, to show where its time goes
_TIMED = (
    ("biomarker_assets.resources.study_store", "StudyStore.download", "download"),
    ("biomarker_assets.defs.biomarkers.assets", "sha256_file", "input sha256"),
    ("biomarker_assets.defs.biomarkers.assets", "process_local_file", "process_local_file"),
    ("biomarker_assets.lib.skdh.execution", "run_pipeline", "SKDH run"),
    ("biomarker_assets.lib.skdh.tables", "results_to_tables", "tables + Parquet"),
    ("biomarker_assets.lib.skdh.tables", "write_results", "tables + Parquet"),
    ("biomarker_assets.lib.biomarkers.processing", "overview_png", "overview plot"),
    ("biomarker_assets.lib.biomarkers.processing", "overview_pngs", "overview plot"),
    ("biomarker_assets.resources.study_store", "StudyStore.upload", "upload"),
    ("biomarker_assets.defs.biomarkers.assets", "process_file_contained", "contained child"),
)
BREAKDOWN = (
    "download",
    "input sha256",
    "SKDH run",
    "tables + Parquet",
    "overview plot",
    "provenance etc.",
    "containment",
    "upload",
    "Dagster + config",
)


def _instrument(timings: dict[str, float]) -> None:
    """Wrap the functions in ``_TIMED`` (in this child only) to add their wall time to ``timings``."""
    import functools
    import importlib

    for module, attr, label in _TIMED:
        owner: Any = importlib.import_module(module)  # then a class or function inside it
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        original = getattr(owner, name, None)
        if original is None:  # not in this version of the project: not timed
            continue

        def timed(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                timings[_label] = timings.get(_label, 0.0) + time.perf_counter() - started

        setattr(owner, name, functools.wraps(original)(timed))


def _breakdown(timings: dict[str, float], total: float) -> dict[str, float]:
    out = {
        k: timings.get(k, 0.0)
        for k in ("download", "input sha256", "SKDH run", "tables + Parquet", "overview plot", "upload")
    }
    out["provenance etc."] = (
        timings.get("process_local_file", 0.0) - out["SKDH run"] - out["tables + Parquet"] - out["overview plot"]
    )
    # the contained child's start (a fork from the forkserver), the result's trip back, the file checks
    out["containment"] = max(0.0, timings.get("contained child", 0.0) - timings.get("process_local_file", 0.0))
    out["Dagster + config"] = total - sum(out.values())
    return out


def _metadata_headline(metadata: Mapping[str, dg.MetadataValue], name: str) -> float | None:
    """A headline biomarker from the materialization's metadata; None when the file's pipeline has none."""
    entry = metadata.get(f"biomarker/{name}")
    if entry is None:
        return None
    value = entry.value
    assert isinstance(value, int | float), f"biomarker/{name}: not a number ({value!r})"
    return float(value)


def _dagster_child(partition_key: str, home: str, log_path: str, profile_path: str | None) -> dict:
    _quiet_stderr(log_path)
    import dagster as dg

    from biomarker_assets.definitions import defs
    from biomarker_assets.defs.biomarkers.assets import file_biomarkers
    from biomarker_assets.defs.partitions import data_files

    assert defs.resources is not None  # bound in defs/resources.py
    resources = {
        key: defs.resources[key] for key in ("study_store", "notifier", "metadata_table", "processing_options")
    }
    timings: dict[str, float] = {}
    _instrument(timings)
    # SKDH runs in a child forked from the containment forkserver: time it from inside (contained_timing.py)
    import contained_timing  # beside this script: on sys.path here and, through PYTHONPATH, in the forkserver

    from biomarker_assets.lib.skdh import isolation

    contained_log = str(Path(home) / "contained-timings.jsonl")
    os.environ[contained_timing.ENV] = contained_log
    isolation.PRELOAD = (*isolation.PRELOAD, "contained_timing")  # type: ignore[assignment]  # one module more, this child only
    with dg.DagsterInstance.local_temp(tempdir=home) as instance:
        assert data_files.name, "a named partitions definition: its keys live on the instance"
        instance.add_dynamic_partitions(data_files.name, [partition_key])
        baseline = _rss_now_bytes()
        cpu = _cpu_seconds()
        profiler = None
        if profile_path:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        result = dg.materialize(
            [file_biomarkers],
            partition_key=partition_key,
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu
        if profiler is not None:
            profiler.disable()
            assert profile_path, "the profiler runs only when given a path"
            profiler.dump_stats(profile_path)
        if not result.success:
            errors = [e.message for e in result.all_events if e.is_failure]
            raise RuntimeError(f"materialization failed: {errors}")
        [event] = result.get_asset_materialization_events()
        metadata = event.materialization.metadata
        headline = {k: _metadata_headline(metadata, k) for k in ("total_sleep_time_min", "wear_hours")}
        results_uri = metadata["results"].value
    inside, child_peak, runners = contained_timing.read(contained_log)
    if not runners:  # the breakdown then has no SKDH run: say so rather than lose the run's figures
        print(f"   WARNING: no SKDH timings from the contained child ({contained_log})", file=sys.stdout, flush=True)
        runners = ["unknown"]
    timings.update(inside)
    parent_peak = _peak_rss_bytes()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu + inside.get("child CPU", 0.0),  # this process and the contained child
        "peak_rss": parent_peak + child_peak,  # both are alive while SKDH runs: what the task must hold
        "parent_peak_rss": parent_peak,
        "child_peak_rss": child_peak,
        "skdh_runner": "+".join(runners),
        "baseline_rss": baseline,
        "headline": headline,
        "results": results_uri,
        "breakdown": _breakdown(timings, seconds),
    }


def _in_child(fn, *args):
    """Run ``fn(*args)`` in a new spawned process (fresh interpreter, its own peak RSS)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# --------------------------------------------------------------------------- parent
def _label(days: float, fs: float) -> str:
    length = f"{days * 24:g} h" if days < 2 else f"{days:g} d"
    return f"{length} @ {fs:g} Hz"


def _ensure_recording(workdir: Path, days: float, fs: float, seed: int, regenerate: bool) -> tuple[Path, dict | None]:
    path = workdir / f"wrist_{days:g}d_{fs:g}hz_seed{seed}.cwa"
    if path.exists() and not regenerate:
        return path, None
    tmp = path.with_suffix(".partial.cwa")
    gen = _in_child(_generate_child, str(tmp), days, fs, seed)
    tmp.replace(path)
    return path, gen


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def _targets(days: float, fs: float) -> tuple[float, float | None]:
    return TARGETS.get((float(days), float(fs)), (DEFAULT_TIME_TARGET, None))


def run_config(days: float, fs: float, args, workdir: Path, spec: dict, log_path: Path) -> dict:
    from biomarker_assets.lib.partition_keys import file_partition_key
    from biomarker_assets.resources.aws import aws_client

    path, gen = _ensure_recording(workdir, days, fs, args.seed, args.regenerate)
    label = _label(days, fs)
    size = path.stat().st_size
    n_samples = (size // 512 - 2) * 120
    print(f"\n== {label}: {path} ({size / 1e6:,.1f} MB, {n_samples:,} samples)", flush=True)
    if gen:
        print(f"   generated in {gen['seconds']:.1f} s, generator peak RSS {_mib(gen['peak_rss'])} MiB", flush=True)

    key = f"raw/wrist/{days:g}d_{fs:g}hz/DM001_V1_wrist.cwa"
    s3 = aws_client("s3")
    s3.upload_file(str(path), STUDY_BUCKET, key)
    partition = file_partition_key(STUDY, key)

    runs: dict[str, list[dict]] = {"bare": [], "dagster": []}
    try:
        for i in range(args.repeat):
            bare = _in_child(_bare_child, str(path), spec, str(log_path))
            runs["bare"].append(bare)
            print(
                f"   repeat {i + 1}: bare    {bare['seconds']:7.1f} s (CPU {bare['cpu_seconds']:6.1f} s)  "
                f"peak {_mib(bare['peak_rss']):>6} MiB "
                f"(after imports {_mib(bare['baseline_rss'])} MiB)  {bare['headline']}",
                flush=True,
            )
            profile = None
            if args.profile and i == 0:
                Path(args.profile).mkdir(parents=True, exist_ok=True)
                profile = str(Path(args.profile) / f"{days:g}d_{fs:g}hz.prof")
            with tempfile.TemporaryDirectory(prefix="bench-dagster-home-") as home:
                dag = _in_child(_dagster_child, partition, home, str(log_path), profile)
            runs["dagster"].append(dag)
            print(
                f"   repeat {i + 1}: dagster {dag['seconds']:7.1f} s (CPU {dag['cpu_seconds']:6.1f} s)  "
                f"peak {_mib(dag['peak_rss']):>6} MiB "
                f"(after imports {_mib(dag['baseline_rss'])} MiB)  {dag['headline']}",
                flush=True,
            )
            print(
                "      dagster breakdown: " + ", ".join(f"{k} {v:.2f} s" for k, v in dag["breakdown"].items()),
                flush=True,
            )
            if profile:
                _print_profile(profile)
    finally:
        # keep moto's memory (this process) small between configurations
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=STUDY_BUCKET):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=STUDY_BUCKET, Key=obj["Key"])

    med = {
        phase: {m: statistics.median(r[m] for r in rs) for m in ("seconds", "cpu_seconds", "peak_rss")}
        for phase, rs in runs.items()
    }
    _add_medians(med, runs)
    same = all(r["headline"] == runs["bare"][0]["headline"] for r in [*runs["bare"], *runs["dagster"]])
    return {
        "label": label,
        "days": days,
        "fs": fs,
        "seed": args.seed,
        "file": str(path),
        "file_bytes": size,
        "samples": n_samples,
        "generation": gen,
        "runs": runs,
        "median": med,
        "same_results": same,
    }


def _add_medians(med: dict, runs: dict) -> None:
    dag = runs["dagster"]
    med["dagster"]["breakdown"] = {k: statistics.median(r["breakdown"].get(k, 0.0) for r in dag) for k in BREAKDOWN}
    med["dagster"]["overhead"] = statistics.median(r["seconds"] - r["breakdown"]["SKDH run"] for r in dag)


def _print_profile(path: str, top: int = 25) -> None:
    import io
    import pstats

    out = io.StringIO()
    pstats.Stats(path, stream=out).sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


def _verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return f"{ratio:.3f} (-)"
    return f"{ratio:.3f} (<= {target:.2f} {'met' if ratio <= target else 'NOT met'})"


def results_table(rows: list[dict]) -> str:
    headers = [
        "recording",
        "file MB",
        "bare s",
        "dagster s",
        "time ratio (target)",
        "overhead s",
        "1 + overhead/bare",
        "bare CPU s",
        "dagster CPU s",
        "CPU ratio",
        "bare peak MiB",
        "dagster peak MiB",
        "memory ratio (target)",
        "same results",
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        med = row["median"]
        bare, dag = med["bare"], med["dagster"]
        t_target, m_target = _targets(row["days"], row["fs"])
        lines.append(
            "| "
            + " | ".join(
                [
                    row["label"],
                    f"{row['file_bytes'] / 1e6:,.1f}",
                    f"{bare['seconds']:.1f}",
                    f"{dag['seconds']:.1f}",
                    _verdict(dag["seconds"] / bare["seconds"], t_target),
                    f"{dag['overhead']:.1f}",
                    _verdict(1 + dag["overhead"] / bare["seconds"], t_target),
                    f"{bare['cpu_seconds']:.1f}",
                    f"{dag['cpu_seconds']:.1f}",
                    f"{dag['cpu_seconds'] / bare['cpu_seconds']:.3f}",
                    _mib(bare["peak_rss"]),
                    _mib(dag["peak_rss"]),
                    _verdict(dag["peak_rss"] / bare["peak_rss"], m_target),
                    "yes" if row["same_results"] else "NO",
                ]
            )
            + " |"
        )
    repeats = {len(r["runs"]["bare"]) for r in rows}
    lines.append(
        f"\nmedians of {'/'.join(map(str, sorted(repeats)))} repeat(s); s = wall seconds of the work; "
        "overhead = dagster phase minus the SKDH run inside it (same process, so machine noise on SKDH "
        "cancels); CPU = user+sys of the phase's process; peak = its ru_maxrss"
    )

    headers = ["recording", "dagster s", *BREAKDOWN]
    lines += [
        "",
        "Where the dagster phase's wall time goes (medians, s):",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        dag = row["median"]["dagster"]
        lines.append(
            "| "
            + " | ".join([row["label"], f"{dag['seconds']:.1f}", *(f"{dag['breakdown'][k]:.2f}" for k in BREAKDOWN)])
            + " |"
        )
    return "\n".join(lines)


def readme_table(rows: list[dict], load: tuple[float, float]) -> str:
    """The README's processing table from this run only (paste it whole, with its note)."""
    lines = [
        "| recording (.cwa, wrist pipeline) | bare SKDH | through Dagster + moto | time | time, overhead only "
        "| bare peak RSS | Dagster peak RSS (run + SKDH child) | memory | SKDH in the run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        bare, dag = row["median"]["bare"], row["median"]["dagster"]
        runs = row["runs"]["dagster"]
        parent = statistics.median(r.get("parent_peak_rss", r["peak_rss"]) for r in runs)
        child = statistics.median(r.get("child_peak_rss", 0) for r in runs)
        runner = runs[0].get("skdh_runner", "run_pipeline")
        lines.append(
            f"| {row['label']} ({row['file_bytes'] / 1e6:,.0f} MB) | {bare['seconds']:.1f} s | {dag['seconds']:.1f} s "
            f"| {dag['seconds'] / bare['seconds']:.2f}x | {1 + dag['overhead'] / bare['seconds']:.2f}x "
            f"| {_mib(bare['peak_rss'])} MiB | {_mib(dag['peak_rss'])} MiB ({_mib(parent)} + {_mib(child)}) "
            f"| {dag['peak_rss'] / bare['peak_rss']:.2f}x "
            f"| {'day pieces' if 'in_pieces' in runner else 'whole file'} |"
        )
    repeats = "/".join(map(str, sorted({len(r["runs"]["bare"]) for r in rows})))
    lines.append(
        f"\n(one run of `skdh_processing.py`, medians of {repeats} alternating repeats; load average "
        f"{load[0]:.1f} at start, {load[1]:.1f} at end; results equal in both phases: "
        f"{'yes' if all(r['same_results'] for r in rows) else 'NO'})"
    )
    return "\n".join(lines)


def code_state() -> str:
    """The commit measured and whether the tree had local changes (read-only git calls)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" + local changes in {len(changed)} file(s): {', '.join(changed)}" if changed else "")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=1.0, help="recording length in days (1 or 7)")
    parser.add_argument("--fs", type=float, default=50.0, help="sample rate in Hz (50 or 100)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per phase; medians are reported")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--matrix", action="store_true", help="run 24 h / 7 d x 50 / 100 Hz")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "biomarker-assets-bench")
    parser.add_argument("--regenerate", action="store_true", help="rewrite cached recordings")
    parser.add_argument("--json", type=Path, help="write all measurements to this JSON file")
    parser.add_argument("--profile", type=Path, help="cProfile the first dagster phase into this folder")
    parser.add_argument("--table-from", type=Path, help="only print the tables of a --json file written earlier")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.days <= 0 or args.fs <= 0:
        parser.error("--repeat, --days and --fs must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.table_from:
        rows = json.loads(args.table_from.read_text())
        for row in rows:
            _add_medians(row["median"], row["runs"])
        print(results_table(rows))
        return 0
    import logging

    import yaml

    from biomarker_assets.local.aws_standin import create_project_resources, moto_server
    from biomarker_assets.resources.aws import aws_client
    from biomarker_assets.resources.study_store import StudyStore

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    configs = [(1.0, 50.0), (1.0, 100.0), (7.0, 50.0), (7.0, 100.0)] if args.matrix else [(args.days, args.fs)]
    args.workdir.mkdir(parents=True, exist_ok=True)
    log_path = args.workdir / "children.log"
    spec = cwa_pipeline_spec()
    rows = []
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    with moto_server() as url:
        print(
            f"local AWS stand-in (moto) at {url}, in this process (pid {os.getpid()}); children's logs: {log_path}",
            flush=True,
        )
        create_project_resources()
        s3 = aws_client("s3")
        s3.create_bucket(Bucket=STUDY_BUCKET)
        s3.put_object(
            Bucket=StudyStore().config_bucket,
            Key=StudyStore().config_key(STUDY),
            Body=yaml.safe_dump(study_config(spec), sort_keys=False).encode(),
        )
        for days, fs in configs:
            rows.append(run_config(days, fs, args, args.workdir, spec, log_path))
    print(
        f"\nResults ({time.monotonic() - started:.0f} s in all; machine: {os.cpu_count()} cores; "
        f"code: {code_state()}):\n"
    )
    print(results_table(rows))
    print("\nREADME rows:\n")
    print(readme_table(rows, (load_start, os.getloadavg()[0])))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str) + "\n")
        print(f"\nmeasurements written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
