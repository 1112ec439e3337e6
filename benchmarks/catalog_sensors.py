"""Scale of the catalog: listing and events sensors, partition registration and backfills at N files.

Issue 3. Against the local AWS stand-in (moto's server in its own process, so the
objects it holds in RAM and its CPU are not counted against the sensor) it puts N
empty objects ``raw/wrist/DM<n:06d>_V1_wrist.cwa`` into EACH of two studies made from
the demo config (``demo.yaml`` with other ids and buckets, subject pattern ``DM\\d{6}``):

``bench-listing`` (bucket ``bench-listing-data``)
    ``discovery: listing``: the listing sensor lists ``raw/`` every tick.
``bench-events`` (bucket ``bench-events-data``)
    ``discovery: {mode: events, events_queue: bench-events-s3}``; the bucket's
    notification configuration sends ObjectCreated/ObjectRemoved events to that queue.
``bench-events-ref`` (bucket ``bench-events-ref-data``, queue ``bench-events-ref-s3``)
    the same with a fixed ``--events-ref`` files (10,000) on an instance of its own: its
    ticks alternate with the events study's, so "independent of N" is judged within one
    run under the same load rather than across runs minutes apart on a shared machine.

Seeding. By default the 2N objects go straight into moto's S3 backend inside the moto
process (its ``put_object``: the same keys, ETags and LastModified as an HTTP PUT,
~10,000/s); ``--seed http`` PUTs them from a thread pool instead (~100-150/s here:
100,000 per study would take 25-30 min). The events bucket's notifications are turned
on after seeding and the queue purged: moto's SQS ``send_message`` recounts every
queued message, so 100,000 queued creation events would cost O(N^2) to create, and a
purged queue is what a drained one looks like. The events study's N partitions are
then registered directly (what its ticks' requests would have added), so the timed
tick starts from "a study with N files and an empty queue". The 10 new files of each
tick phase are real HTTP PUTs, so their events come from moto's notification path.

Every measurement runs in its own freshly spawned child process against a persistent
Dagster instance: SQLite in a folder with the repository's ``dagster.yaml`` (queued run
coordinator: runs stay queued), or with ``--storage postgres`` one database per instance
on a throwaway local PostgreSQL (``biomarker_assets_tests.support.postgres``; the production
instance's storage). Times are wall times measured inside the child around the work
only, after imports, instance creation, boto3 client creation, job resolution, the
imports a config's validation loads on first use (SKDH) and the bench studies' configs
parsed into the process's config cache (a long-lived code server has all of those
already; the first two one-time costs are reported in their own row); the sensor context is built from the
instance's ref, as the code server builds one per evaluation, so opening the instance
and initializing resources count. Beside wall time, the CPU of the child plus the CPU
moto spent meanwhile (it serves nobody else) is recorded: other people's jobs on a
shared machine stretch wall time far more than they change the work done. Peak memory
is the child's VmHWM, so it includes the interpreter and imports (the RSS after imports
is shown too); ``getrusage().ru_maxrss`` is not used because Linux carries the forked
parent's high-water mark across ``execve`` into a spawned child. Phases:

``floor``
    a bare paginated ``list_objects_v2`` of the listing study's prefixes (``raw/``)
    with the project's boto3 client, counting keys: the least a listing catalog costs.
``catalog``
    the full catalog of the listing study on a new instance with no previous catalog:
    the ``study_files_listing_sensor`` evaluation function, tick after tick until its
    listing pass is complete (each tick lists for at most ``BIOMARKER_LISTING_TICK_SECONDS``,
    reads the catalog Parquet, diffs the key range it listed, writes the catalog, returns
    that range's partition requests and, above ``BACKFILL_THRESHOLD`` files, submits one
    backfill); the total over the ticks and the longest tick are reported, and the time
    its ticks spent fetching list pages (``StudyStore.list_pages``), for the in-process
    ratio: the pass over its own listing, both under the same load at the same moments
    plus the partition registration applied as the tests apply it (one
    ``add_dynamic_partitions`` per 10,000-key request). Floor and catalog alternate
    every repeat; the ratio is reported as a ratio of medians, per adjacent pair, and
    by CPU. Also measured: Dagster's own step after the function (``evaluate_tick``
    resolves and validates the returned run requests: the row says whether Dagster
    accepts the result), and the registration applied the way Dagster's sensor daemon
    applies it (``dagster._daemon.sensor._handle_dynamic_partitions_requests``: one
    ``has_dynamic_partition`` query per key, then the insert) on an empty scratch
    instance, for ``--daemon-sample`` keys and scaled to all N when N is larger.
``events tick``
    10 new files arrive in the events study; one ``study_files_events_sensor.evaluate_tick``
    (what the code server runs under the 60 s sensor timeout), its result applied as the
    daemon does (observations, then partitions), then the next tick (which deletes the
    10 messages) timed separately. ``--tick-repeat`` times (7), alternating ABBA with the
    same tick of the reference study.
``listing tick``
    10 new files arrive in the listing study (N cataloged); ``study_files_listing_sensor.evaluate_tick``
    until its listing pass ends (one tick lists for at most ``BIOMARKER_LISTING_TICK_SECONDS``,
    20 s by default, then resumes next tick), each result applied as the daemon does; the
    pass total and its longest tick are reported.
``backfill``
    on a copy of the instance: the ``backfill_study`` job's op (``launch_study_backfill``,
    invoked directly: the study's partitions, ``PartitionBackfill.from_asset_graph_subset``,
    ``instance.add_backfill``) for every data file of the listing study; then Dagster's
    backfill daemon logic (``dagster._daemon.backfill.execute_backfill_iteration`` with a
    daemon workspace for ``biomarker_assets.definitions``, served by a real gRPC code
    server started before timing) runs until its first run is created and then for
    ``--daemon-seconds``: runs created per second over that window (they stay QUEUED).
    The backfill is then marked CANCELING, which stops the iteration at its next chunk.

Usage (from the repository root, with the project's venv)::

    python benchmarks/catalog_sensors.py                    # N = 10,000 per study, 3 repeats: ~7 min
    python benchmarks/catalog_sensors.py --large            # N = 100,000 per study: ~18 min
    python benchmarks/catalog_sensors.py --matrix           # both, then the N comparison: ~25 min
    python benchmarks/catalog_sensors.py --storage postgres # the production instance's storage

Flags:

``--files N``          files per study (default 10,000)
``--large``            N = 100,000
``--matrix``           N = 10,000 then N = 100,000 (fresh moto and instances for each), compared
``--repeat K``         repeats of every timed phase (default 3); medians reported, the
                       per-repeat figures printed as they come
``--tick-repeat K``    events ticks per study (default 7: they are cheap)
``--events-ref K``     files in the reference events study (default 10,000; 0 = none)
``--storage S``        ``sqlite`` (default, the local ``dagster.yaml``) or ``postgres``
``--seed S``           ``direct`` (default) or ``http`` (PUTs from ``--threads`` threads, default 8)
``--daemon-sample K``  keys applied the sensor daemon's way per catalog (default 1,000; 0 = all)
``--daemon-seconds S`` backfill daemon window after its first run (default 20)
``--backfill-chunks``  ``DAGSTER_ASSET_BACKFILL_RUN_CHUNK_SIZE`` values to run the daemon with,
                       e.g. ``25,1000`` (default 25, Dagster's own default)
``--workdir DIR``      instances, logs (default ``$TMPDIR/biomarker-assets-catalog-bench``)
``--json FILE``        also write every measurement as JSON
``--compare A B``      only print the N comparison of two earlier ``--json`` files
``--profile DIR``      after the measured repeats, one extra catalog, events tick and
                       listing tick under cProfile (``<phase>_n<N>.prof`` in DIR, top
                       functions printed); not counted in the medians

Targets (issue 3): catalog <= 1.3x the bare listing; the events tick with 10 new files
independent of N (within noise: the alternating reference study in every run with
N != 10,000, and across sizes with ``--matrix`` or ``--compare``);
sensor evaluations well under Dagster's default 60 s sensor timeout at N = 100,000
(here: at most half of it, 30 s). The tables say whether each is met. After each size's
table come the README's rows for that size, with the load average: paste them from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AbstractContextManager
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from biomarker_assets_tests.support.postgres import Postgres

# Only the standard library at module level: spawned children re-import this module.

REPO = Path(__file__).resolve().parents[1]
LISTING_STUDY, LISTING_BUCKET = "bench-listing", "bench-listing-data"
EVENTS_STUDY, EVENTS_BUCKET, EVENTS_QUEUE = "bench-events", "bench-events-data", "bench-events-s3"
# An events study with a fixed number of files whose ticks alternate with the events study's:
# "independent of N" compared within one run, under the same load, not across runs minutes apart.
REF_STUDY, REF_BUCKET, REF_QUEUE = "bench-events-ref", "bench-events-ref-data", "bench-events-ref-s3"
PREFIX = "raw/"
NEW_FILES = 10
SENSOR_TIMEOUT_S = 60.0  # Dagster's default (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS)
WELL_UNDER = 0.5  # "well under" = at most half the timeout
CATALOG_TARGET = 1.3
EVENTS_NOISE_FLOOR = 0.25  # relative difference always treated as noise on a shared 2-core machine


def data_key(n: int) -> str:
    return f"{PREFIX}wrist/DM{n:06d}_V1_wrist.cwa"


# --------------------------------------------------------------------------- helpers (both sides)
def _peak_rss_bytes() -> int:
    """This process's peak RSS since it started its own program: VmHWM.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used: Linux carries the high-water mark of the
    forked copy of the parent across ``execve``, so a spawned child would report at least its
    parent's RSS (measured: a child that only imports boto3 showed the parent's 385 MiB).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _rss_bytes(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _quiet_stderr(log_path: str) -> None:
    """Send this child's stderr (Dagster's console log, warnings) to a file."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def _in_child(fn, *args):
    """Run ``fn(*args)`` in a new spawned process (fresh interpreter, its own peak RSS)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(moto, fn, *args) -> dict:
    """``_in_child`` plus the CPU moto spent meanwhile (it serves nobody else): with the child's own CPU
    this is the work done, which other people's jobs on the machine slow down far less than wall time."""
    before = _cpu_seconds(moto.proc.pid)
    result = _in_child(fn, *args)
    result["moto_cpu"] = _cpu_seconds(moto.proc.pid) - before
    if "cpu" in result:
        result["work_cpu"] = result["cpu"] + result["moto_cpu"]
    return result


# --------------------------------------------------------------------------- children
def _dagster_setup(log_path: str):
    """Imports, quiet logs, the resources the sensors use and warm AWS clients; returns (dg, defs, resources)."""
    _quiet_stderr(log_path)
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("dagster").setLevel(logging.WARNING)
    import dagster as dg

    from biomarker_assets.definitions import defs
    from biomarker_assets.resources.aws import aws_client
    from biomarker_assets_tests.support.sensor_ticks import sensor_resources

    resources = sensor_resources()
    for service in ("s3", "sqs"):
        aws_client(service)  # a code server keeps its cached clients between ticks
    repo = defs.get_repository_def()
    for job in ("file_biomarkers_job", "subject_metadata_job"):
        repo.get_job(job)  # likewise its resolved jobs
    WARM_UP.update(_warm_code_server())
    return dg, defs, resources


#: what ``_warm_code_server`` did in this child (seconds), reported beside the timed figures
WARM_UP: dict[str, float] = {}


def _warm_code_server() -> dict[str, float]:
    """What a long-lived code server has done before the tick being timed: the imports a config's
    validation loads on first use (SKDH, for the pipeline allowlist: ``definitions`` does not import
    it) and every bench study's config parsed into the process's cache by an earlier tick.

    Both are one-time costs of a process (or of a changed config), returned so the tables can show
    them apart: ``first_parse`` (imports + one parse), ``parse`` (one cold parse of the same config),
    ``cache_fill`` (the bench configs through ``StudyStore.load_config``).
    """
    from biomarker_assets.defs.resources import study_store
    from biomarker_assets.lib.study_config.loading import load_config_file
    from biomarker_assets.local.demo import STUDY_FILES

    demo = STUDY_FILES / "demo.yaml"
    started = time.perf_counter()
    load_config_file(demo)
    first = time.perf_counter() - started
    started = time.perf_counter()
    load_config_file(demo)
    parse = time.perf_counter() - started
    store = study_store().process_config_and_initialize()
    started = time.perf_counter()
    for study in (LISTING_STUDY, EVENTS_STUDY, REF_STUDY):
        store.load_config(study)
    return {"first_parse": first, "parse": parse, "cache_fill": time.perf_counter() - started}


class _DaemonTickStub:
    """What ``_handle_dynamic_partitions_requests`` needs of the sensor daemon's tick context."""

    def __init__(self):
        import logging

        self.logger = logging.getLogger("bench.sensor_daemon")
        self.results = []

    def add_dynamic_partitions_request_result(self, result) -> None:
        self.results.append(result)


def _apply_like_daemon(instance, execution_data_or_result) -> dict:
    """Observations, then partition requests, the way the sensor daemon applies a tick's result."""
    from dagster._daemon.sensor import _handle_dynamic_partitions_requests

    asset_events = list(execution_data_or_result.asset_events or [])
    requests = list(execution_data_or_result.dynamic_partitions_requests or [])
    started = time.perf_counter()
    for event in asset_events:
        instance.report_runless_asset_event(event)
    stub = _DaemonTickStub()
    if requests:
        _handle_dynamic_partitions_requests(requests, instance, stub)  # type: ignore[arg-type]  # has the 2 members used
    seconds = time.perf_counter() - started
    added = sum(len(r.added_partitions or []) for r in stub.results)
    return {"seconds": seconds, "added": added, "observations": len(asset_events)}


def _apply_like_tests(instance, result) -> float:
    """The tests' way of applying a tick (``support.sensor_ticks.apply_result``), timed."""
    from biomarker_assets_tests.support.sensor_ticks import apply_result

    started = time.perf_counter()
    apply_result(instance, result)
    return time.perf_counter() - started


def _new_instance(dg, home: str, register_studies: bool = True, events_study: str = EVENTS_STUDY):
    """The instance of a home the parent prepared (``Storage.new_home``), with the two studies registered."""
    instance = dg.DagsterInstance.from_config(home)
    if register_studies:
        from biomarker_assets.defs.partitions import studies

        instance.add_dynamic_partitions(studies.name, [LISTING_STUDY, events_study])
    return instance


def _profiled(profile_path: str | None):
    import contextlib

    if not profile_path:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def run():
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()
            profiler.dump_stats(profile_path)

    return run()


def _backfill_targets_unregistered(instance) -> int:
    """Target partitions of the instance's backfills that are not registered (yet): the backfill daemon
    fails a backfill whose targets do not all exist when it evaluates it."""
    import dagster as dg

    from biomarker_assets.defs.partitions import data_files, metadata_files

    definition = {dg.AssetKey("file_biomarkers"): data_files, dg.AssetKey("subject_metadata"): metadata_files}
    missing = 0
    for backfill in instance.get_backfills():
        target = backfill.asset_backfill_data.target_subset
        for key, subset in target.partitions_subsets_by_asset_key.items():
            existing = set(instance.get_dynamic_partitions(definition[key].name))
            missing += len(set(subset.get_partition_keys()) - existing)
    return missing


def floor_child(bucket: str, prefixes: list[str], log_path: str) -> dict:
    _quiet_stderr(log_path)
    from biomarker_assets.resources.aws import aws_client

    s3 = aws_client("s3")  # same client factory and settings as the sensor's
    baseline = _rss_bytes()
    cpu = time.process_time()
    started = time.perf_counter()
    listed = pages = 0
    for prefix in prefixes:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            pages += 1
            listed += len(page.get("Contents", []))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu": time.process_time() - cpu,
        "listed": listed,
        "pages": pages,
        "peak_rss": _peak_rss_bytes(),
        "baseline_rss": baseline,
    }


def _time_listing() -> list[float]:
    """Times every page the sensor's listing fetches (``StudyStore.list_pages``), in the sensor's own process.

    The pass minus this is what the catalog adds to its own listing, measured under the same load at the
    same moments: the in-process ratio (pass / its listing) shrugs off the load changes between the floor
    child and the catalog child that a shared machine brings.
    """
    from biomarker_assets.resources.study_store import StudyStore

    times: list[float] = []
    original = StudyStore.list_pages

    def timed_pages(self, *args, **kwargs):
        pages = original(self, *args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                page = next(pages)
            except StopIteration:
                times.append(time.perf_counter() - started)
                return
            times.append(time.perf_counter() - started)
            yield page

    StudyStore.list_pages = timed_pages  # type: ignore[method-assign]  # this child only
    return times


def catalog_child(home: str, scratch_home: str, log_path: str, daemon_sample: int, profile_path: str | None) -> dict:
    dg, defs, resources = _dagster_setup(log_path)
    from dagster._core.definitions.sensor_definition import split_run_requests
    from dagster._core.scheduler.instigation import DynamicPartitionsRequestResult
    from dagster._serdes import serialize_value

    from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor
    from biomarker_assets.platform import file_requests

    instance = _new_instance(dg, home)
    sensor = study_files_listing_sensor
    # Above BACKFILL_THRESHOLD files the sensor puts one backfill on the instance itself: timed apart.
    submit_times: list[float] = []
    submit = getattr(file_requests, "submit_files_backfill", None)
    if submit is not None:

        def timed_submit(*args, **kwargs):
            started = time.perf_counter()
            try:
                return submit(*args, **kwargs)
            finally:
                submit_times.append(time.perf_counter() - started)

        file_requests.submit_files_backfill = timed_submit
    listing_times = _time_listing()
    # A context from the instance's ref, as the code server builds one for every evaluation.
    # The listing pass spans ticks (BIOMARKER_LISTING_TICK_SECONDS each): evaluate until it completes.
    baseline = _rss_bytes()
    cursor, results, tick_seconds = None, [], []
    cpu, register_cpu, register_seconds, unregistered = 0.0, 0.0, 0.0, 0
    with _profiled(profile_path):
        while True:
            context = dg.build_sensor_context(
                instance_ref=instance.get_ref(), cursor=cursor, definitions=defs, resources=resources
            )
            cpu_started = time.process_time()
            started = time.perf_counter()
            one = sensor(context)  # the evaluation function, as the tests call it
            tick_seconds.append(time.perf_counter() - started)
            cpu += time.process_time() - cpu_started
            unregistered += _backfill_targets_unregistered(instance)
            cpu_started = time.process_time()
            register_seconds += _apply_like_tests(instance, one)
            register_cpu += time.process_time() - cpu_started
            assert isinstance(one, dg.SensorResult) and one.cursor, "the listing sensor never skips"
            results.append(one)
            cursor = one.cursor
            if LISTING_STUDY not in json.loads(cursor).get("listing", {}):
                break
    evaluated = sum(tick_seconds)
    result = dg.SensorResult(
        run_requests=[r for one in results for r in one.run_requests or []],
        dynamic_partitions_requests=[r for one in results for r in one.dynamic_partitions_requests or []],
        cursor=cursor,
    )
    peak = _peak_rss_bytes()

    # Dagster's own step after the function (SensorDefinition.evaluate_tick): resolve/validate run requests.
    for_backfill, single = split_run_requests(list(result.run_requests or []))
    started = time.perf_counter()
    try:
        sensor.resolve_run_requests(single, context, sensor.asset_selection, result.dynamic_partitions_requests or [])
        sensor.validate_backfill_requests(for_backfill, context)
        dagster_check = "accepted"
    except Exception as exc:  # noqa: BLE001 -- reported, not hidden
        dagster_check = f"REJECTED: {type(exc).__name__}: {str(exc).splitlines()[0][:110]}"
    resolve_seconds = time.perf_counter() - started
    registered = {name: len(instance.get_dynamic_partitions(name)) for name in ("data_files", "metadata_files")}

    # The sensor daemon's way of applying the same requests (one existence query per key, then the
    # insert), on an empty scratch instance: all keys, or the first `daemon_sample` of them.
    backfills = [
        (b.backfill_id, b.asset_backfill_data.target_subset.num_partitions_and_non_partitioned_assets)
        for b in instance.get_backfills()
    ]
    instance.dispose()
    requests = list(result.dynamic_partitions_requests or [])
    all_keys = sum(len(r.partition_keys) for r in requests)
    if daemon_sample and all_keys > daemon_sample:
        first = requests[0]
        requests = [
            first.__class__(
                partitions_def_name=first.partitions_def_name, partition_keys=list(first.partition_keys[:daemon_sample])
            )
        ]
    sampled = sum(len(r.partition_keys) for r in requests)
    scratch = _new_instance(dg, scratch_home, register_studies=False)
    scratch.get_dynamic_partitions("data_files")  # storage created/migrated before timing
    daemon = _apply_like_daemon(scratch, dg.SensorResult(dynamic_partitions_requests=requests))
    scratch.dispose()
    # What the daemon would store on the tick for all keys (DynamicPartitionsRequestResult per request).
    tick_bytes = len(
        serialize_value(
            [
                DynamicPartitionsRequestResult(
                    r.partitions_def_name,
                    added_partitions=list(r.partition_keys),
                    deleted_partitions=None,
                    skipped_partitions=[],
                )
                for r in (result.dynamic_partitions_requests or [])
            ]
        )
    )

    return {
        "seconds": evaluated,  # all the ticks of the pass
        "ticks": len(tick_seconds),
        "max_tick_seconds": max(tick_seconds),
        "tick_seconds": tick_seconds,
        "cpu": cpu + register_cpu,  # evaluation + registration, this process
        "register_seconds": register_seconds,
        "register_daemon_keys": sampled,
        "register_daemon_seconds_sample": daemon["seconds"],
        "register_daemon_seconds": daemon["seconds"] * all_keys / sampled if sampled else 0.0,
        "register_daemon_extrapolated": sampled < all_keys,
        "tick_result_bytes": tick_bytes,
        "resolve_seconds": resolve_seconds,
        "dagster_check": dagster_check,
        "registered": registered,
        "backfills": backfills,
        "backfill_submit_seconds": sum(submit_times),
        "listing_seconds": sum(listing_times),  # the pass's own S3 listing, inside its ticks
        "backfill_unregistered": unregistered,
        "run_requests": [
            {
                "backfill": r.requires_backfill_daemon(),
                "partitions": (
                    sum(1 for _ in r.asset_graph_subset.iterate_asset_partitions())
                    if r.requires_backfill_daemon()
                    else 1
                ),
            }
            for r in (result.run_requests or [])
        ][:3],
        "n_run_requests": len(result.run_requests or []),
        "cursor": result.cursor,
        "peak_rss": peak,
        "warm_up": dict(WARM_UP),
        "baseline_rss": baseline,
    }


def register_events_child(home: str, study: str, count: int, log_path: str, new_instance: bool = False) -> dict:
    """The files of an events study as registered partitions (what its ticks would have added)."""
    dg, _defs, _resources = _dagster_setup(log_path)
    from biomarker_assets.defs.partitions import data_files
    from biomarker_assets.lib.catalog.scanning import chunks
    from biomarker_assets.lib.partition_keys import file_partition_key

    instance = _new_instance(dg, home, events_study=study) if new_instance else dg.DagsterInstance.from_config(home)
    keys = [file_partition_key(study, data_key(n)) for n in range(count)]
    started = time.perf_counter()
    for chunk in chunks(keys):
        instance.add_dynamic_partitions(data_files.name, chunk)
    seconds = time.perf_counter() - started
    total = len(instance.get_dynamic_partitions(data_files.name))
    instance.dispose()
    return {"seconds": seconds, "data_files": total}


def tick_child(home: str, which: str, cursor: str | None, log_path: str, profile_path: str | None) -> dict:
    """One evaluate_tick of the events or listing sensor, applied like the daemon; events: also the next tick."""
    dg, defs, resources = _dagster_setup(log_path)
    from biomarker_assets.defs.catalog.events_sensor import study_files_events_sensor
    from biomarker_assets.defs.catalog.listing_sensor import study_files_listing_sensor

    sensor = study_files_events_sensor if which == "events" else study_files_listing_sensor
    instance = dg.DagsterInstance.from_config(home)
    instance.get_dynamic_partitions("studies")  # open the storage before timing
    baseline = _rss_bytes()

    def one_tick(cursor):
        context = dg.build_sensor_context(
            instance_ref=instance.get_ref(), cursor=cursor, definitions=defs, resources=resources
        )  # as the code server builds it
        cpu = time.process_time()
        started = time.perf_counter()
        data = sensor.evaluate_tick(context)  # what the code server runs, under the sensor timeout
        evaluated = time.perf_counter() - started
        cpu = time.process_time() - cpu
        applied = _apply_like_daemon(instance, data)
        return data, evaluated, applied, cpu

    with _profiled(profile_path):
        data, evaluated, applied, cpu = one_tick(cursor)
        ticks = [(data, evaluated, applied, cpu)]
        # listing: a pass may span ticks (BIOMARKER_LISTING_TICK_SECONDS each); the 10 files are seen by its end
        while which == "listing" and LISTING_STUDY in json.loads(ticks[-1][0].cursor).get("listing", {}):
            ticks.append(one_tick(ticks[-1][0].cursor))
    out = {
        "seconds": sum(t[1] for t in ticks),
        "ticks": len(ticks),
        "max_tick_seconds": max(t[1] for t in ticks),
        "cpu": sum(t[3] for t in ticks),
        "apply_seconds": sum(t[2]["seconds"] for t in ticks),
        "added": sum(t[2]["added"] for t in ticks),
        "n_run_requests": sum(len(t[0].run_requests or []) for t in ticks),
        "skip": data.skip_message,
        "cursor": ticks[-1][0].cursor,
    }
    if which == "events":
        follow, follow_seconds, _, _ = one_tick(data.cursor)  # deletes the messages the first tick registered
        out.update(next_seconds=follow_seconds, next_run_requests=len(follow.run_requests or []), cursor=follow.cursor)
    instance.dispose()
    out.update(peak_rss=_peak_rss_bytes(), baseline_rss=baseline, warm_up=dict(WARM_UP))
    return out


def backfill_child(home: str, log_path: str, daemon_seconds: float, first_run_timeout: float, chunk: int) -> dict:
    # Runs the backfill daemon submits between two writes of the backfill (which carry every request
    # still to submit); Dagster's default is 25.
    os.environ["DAGSTER_ASSET_BACKFILL_RUN_CHUNK_SIZE"] = str(chunk)
    dg, _defs, _resources = _dagster_setup(log_path)
    import logging
    import threading

    from dagster import OpExecutionContext
    from dagster._core.execution.backfill import BulkActionStatus
    from dagster._core.remote_origin import RemoteRepositoryOrigin
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.backfill import execute_backfill_iteration

    from biomarker_assets.defs.biomarkers import jobs
    from biomarker_assets.defs.biomarkers.jobs import StudyBackfillConfig, launch_study_backfill

    instance = dg.DagsterInstance.from_config(home)
    for earlier in instance.get_backfills():  # e.g. the one the catalog tick submitted: not this measurement's
        if earlier.status == BulkActionStatus.REQUESTED:
            instance.update_backfill(earlier.with_status(BulkActionStatus.CANCELED))

    target = ModuleTarget(
        module_name="biomarker_assets.definitions",
        attribute="defs",
        working_directory=str(REPO),
        location_name="biomarker_assets",
    )
    logger = logging.getLogger("bench.backfill_daemon")
    started = time.perf_counter()
    with create_test_daemon_workspace_context(target, instance) as workspace:
        request_context = workspace.create_request_context()
        entries = request_context.get_code_location_entries()
        errors = [e.load_error for e in entries.values() if e.load_error]
        if errors:
            raise RuntimeError(f"code location failed to load: {errors[0]}")
        workspace_load_seconds = time.perf_counter() - started  # starts a gRPC code server
        location = request_context.get_code_location("biomarker_assets")
        (repository,) = location.get_repositories().values()

        # The op names the code location its run was launched in (a job backfill's runs launch there);
        # invoked directly it has no run, so it is handed the one the daemon's workspace serves.
        def served_origin(context: OpExecutionContext) -> RemoteRepositoryOrigin | None:
            del context
            return repository.get_remote_origin()

        jobs.run_repository = served_origin
        context = dg.build_op_context(instance=instance)
        started = time.perf_counter()
        backfill_id = launch_study_backfill(context, StudyBackfillConfig(study=LISTING_STUDY))
        submit_seconds = time.perf_counter() - started
        backfill = instance.get_backfill(backfill_id)
        n_partitions = len(backfill.partition_names or []) or (
            backfill.asset_backfill_data.target_subset.num_partitions_and_non_partitioned_assets
        )
        out = {"submit_seconds": submit_seconds, "partitions": n_partitions, "chunk": chunk}
        out["workspace_load_seconds"] = workspace_load_seconds

        errors_seen: list = []
        runs_before = instance.get_runs_count()

        def iterate():
            for item in execute_backfill_iteration(workspace, logger):
                if item is not None:
                    errors_seen.append(str(item.message)[:300])

        thread = threading.Thread(target=iterate, daemon=True)
        started = time.perf_counter()
        thread.start()
        first_at = None
        samples = []
        while True:
            time.sleep(0.25)
            now = time.perf_counter() - started
            runs = instance.get_runs_count() - runs_before
            samples.append((round(now, 2), runs))
            if first_at is None and runs > 0:
                first_at, first_runs = now, runs
            if first_at is not None and now - first_at >= daemon_seconds:
                break
            if first_at is None and (now >= first_run_timeout or not thread.is_alive()):
                break
        window_end, window_runs = now, runs
        current = instance.get_backfill(backfill_id)
        if current.status == BulkActionStatus.REQUESTED:
            instance.update_backfill(current.with_status(BulkActionStatus.CANCELING))
        thread.join(timeout=15)  # a cancel takes effect at the end of a chunk; a copy is thrown away anyway
        out.update(
            first_run_seconds=first_at,
            window_seconds=(window_end - first_at) if first_at is not None else None,
            window_runs=(window_runs - first_runs) if first_at is not None else 0,
            runs_created=instance.get_runs_count() - runs_before,
            runs_per_second=((window_runs - first_runs) / (window_end - first_at))
            if first_at is not None and window_end > first_at
            else 0.0,
            iteration_finished=not thread.is_alive(),
            errors=errors_seen[:3],
            samples=samples[:: max(1, len(samples) // 40)],
        )
    instance.dispose()
    out.update(peak_rss=_peak_rss_bytes())
    return out


# --------------------------------------------------------------------------- parent: setup
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_direct(bucket: str, numbers) -> float:
    """Empty objects straight into moto's S3 backend (run inside the moto process): the model's
    put_object, so keys, ETags and LastModified are what an HTTP PUT produces."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    started = time.perf_counter()
    for n in numbers:
        backend.put_object(bucket, data_key(n), b"")
    return time.perf_counter() - started


def serve_moto(port: int) -> int:
    """``catalog_sensors.py --serve-moto PORT``: moto's server, plus seeding commands on stdin."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "seed":
            seconds = seed_direct(command["bucket"], range(command["first"], command["first"] + command["count"]))
            print(json.dumps({"seconds": seconds}), flush=True)
    server.stop()
    return 0


class MotoProcess:
    """moto's server in its own process: the objects it holds in RAM and its CPU stay out of the
    measured children, and this parent stays small (its RSS is not the children's business either)."""

    def __init__(self, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-moto", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both PIPE
        self.requests, self.replies = self.proc.stdin, self.proc.stdout
        if json.loads(self.replies.readline() or "{}").get("ready") is not True:
            raise RuntimeError(f"moto server did not start (see {log_path})")
        from biomarker_assets.local.aws_standin import FAKE_CREDENTIALS

        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = self.url  # spawned children inherit the environment

    def seed(self, bucket: str, first: int, count: int) -> float:
        self.requests.write(json.dumps({"op": "seed", "bucket": bucket, "first": first, "count": count}) + "\n")
        self.requests.flush()
        return json.loads(self.replies.readline())["seconds"]

    def rss(self) -> int:
        return _rss_bytes(self.proc.pid)

    def stop(self) -> None:
        self.requests.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Storage:
    """Dagster instance homes: SQLite in the home folder (the repository's local ``dagster.yaml``), or
    one PostgreSQL database per home on a throwaway local server (``--storage postgres``: the
    production instance's storage, ``biomarker_assets_tests.support.postgres``). Either way the run
    coordinator and its limits are the repository's ``dagster.yaml``."""

    def __init__(self, kind: str, root: Path):
        self.kind, self.root = kind, root
        self.pg: Postgres | None = None
        self._server: AbstractContextManager[Postgres] | None = None
        self._db: dict[str, str] = {}

    def __enter__(self) -> Storage:  # noqa: PYI034
        if self.kind == "postgres":
            from biomarker_assets_tests.support.postgres import postgres_server

            self._server = postgres_server()
            self.pg = self._server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.__exit__(*exc)

    def _postgres(self) -> Postgres:
        assert self.pg is not None, "called for --storage postgres only"
        return self.pg

    def _sql(self, statement: str) -> None:
        import psycopg2

        pg = self._postgres()
        connection = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, dbname="postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def _write_yaml(self, home: Path, db: str | None) -> None:
        import yaml

        config = yaml.safe_load((REPO / "dagster.yaml").read_text())
        if db:
            pg = self._postgres()
            config["storage"] = {
                "postgres": {
                    "postgres_db": {
                        "username": pg.user,
                        "password": pg.password,
                        "hostname": pg.host,
                        "port": pg.port,
                        "db_name": db,
                        "scheme": "postgresql+psycopg2",
                    }
                }
            }
        (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def new_home(self, name: str, template: str | None = None) -> str:
        home = self.root / name
        self.drop(str(home))
        home.mkdir(parents=True)
        db = None
        if self.kind == "postgres":
            db = name.replace("-", "_")
            self._sql(f'CREATE DATABASE "{db}"' + (f' TEMPLATE "{self._db[template]}"' if template else ""))
            self._db[str(home)] = db
        elif template:
            shutil.rmtree(home)
            shutil.copytree(template, home)
        self._write_yaml(home, db)
        return str(home)

    def copy_home(self, source: str, name: str) -> str:
        return self.new_home(name, template=source)

    def drop(self, home: str) -> None:
        shutil.rmtree(home, ignore_errors=True)
        db = self._db.pop(home, None)
        if db:
            self._sql(f'DROP DATABASE IF EXISTS "{db}"')


def study_config(study: str, bucket: str, discovery: dict) -> dict:
    import yaml

    from biomarker_assets.local.demo import STUDY_FILES

    config = yaml.safe_load((STUDY_FILES / "demo.yaml").read_text())
    config.update(
        study=study,
        bucket=bucket,
        prefixes=[PREFIX],
        discovery=discovery,
        description=f"catalog benchmark ({discovery['mode']} mode)",
    )
    config["filename"]["pattern"] = r"(?P<subject>DM\d{6})_(?P<visit>V\d+)_(?P<location>wrist|lumbar)\.(?P<ext>\w+)"
    return config


def setup_aws() -> dict[str, str]:
    """Config bucket, queue and table of the project; the two study buckets, configs and the events queue."""
    import yaml

    from biomarker_assets.lib.study_config.loading import parse_config
    from biomarker_assets.local.aws_standin import create_project_resources
    from biomarker_assets.resources.aws import aws_client
    from biomarker_assets.resources.study_store import StudyStore

    create_project_resources()
    s3, sqs = aws_client("s3"), aws_client("sqs")
    queue_urls = {queue: sqs.create_queue(QueueName=queue)["QueueUrl"] for queue in (EVENTS_QUEUE, REF_QUEUE)}
    for study, bucket, discovery in [
        (LISTING_STUDY, LISTING_BUCKET, {"mode": "listing"}),
        (EVENTS_STUDY, EVENTS_BUCKET, {"mode": "events", "events_queue": EVENTS_QUEUE}),
        (REF_STUDY, REF_BUCKET, {"mode": "events", "events_queue": REF_QUEUE}),
    ]:
        s3.create_bucket(Bucket=bucket)
        text = yaml.safe_dump(study_config(study, bucket, discovery), sort_keys=False)
        parse_config(text, study)  # valid, or fail here rather than inside a sensor
        s3.put_object(Bucket=StudyStore().config_bucket, Key=StudyStore().config_key(study), Body=text.encode())
    return queue_urls


def enable_events(bucket: str, queue_url: str) -> None:
    """An events bucket's notification configuration: every creation/removal to its queue."""
    from biomarker_assets.resources.aws import aws_client

    arn = aws_client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws_client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]
        },
    )


def upload(bucket: str, numbers, threads: int) -> float:
    """HTTP PUTs of empty objects through boto3 from a thread pool."""
    from biomarker_assets.resources.aws import aws_client

    s3 = aws_client("s3")  # thread-safe; its pool holds 10 connections
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(lambda n: s3.put_object(Bucket=bucket, Key=data_key(n), Body=b""), numbers, chunksize=64):
            pass
    return time.perf_counter() - started


def queue_size(queue_url: str) -> int:
    from biomarker_assets.resources.aws import aws_client

    attributes = aws_client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return sum(int(v) for v in attributes["Attributes"].values())


def purge(queue_url: str) -> None:
    from biomarker_assets.resources.aws import aws_client

    aws_client("sqs").purge_queue(QueueUrl=queue_url)
    deadline = time.monotonic() + 60
    while queue_size(queue_url) and time.monotonic() < deadline:
        time.sleep(0.2)


def delete_catalog() -> None:
    from biomarker_assets.resources.aws import aws_client

    aws_client("s3").delete_object(Bucket=LISTING_BUCKET, Key="results/_catalog/catalog.parquet")


# --------------------------------------------------------------------------- parent: phases
def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def _print_profile(path: str, top: int = 30) -> None:
    import io
    import pstats

    out = io.StringIO()
    pstats.Stats(path, stream=out).sort_stats("cumulative").print_stats(top)
    print(out.getvalue(), flush=True)


def run_size(n: int, args, workdir: Path) -> dict:
    started_all = time.monotonic()
    root = workdir / f"n{n}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log = str(root / "children.log")
    record: dict = {
        "files_per_study": n,
        "repeat": args.repeat,
        "seeding": args.seed,
        "storage": args.storage,
        "load_start": os.getloadavg(),
    }
    moto = MotoProcess(root / "moto.log")  # a fresh moto for every size
    storage = Storage(args.storage, root).__enter__()
    try:
        where = f"PostgreSQL at {storage.pg.host}:{storage.pg.port}" if storage.pg else "SQLite"
        print(
            f"\n== N = {n:,} files per study; moto (pid {moto.proc.pid}) at {moto.url}; Dagster storage: "
            f"{where}; children's logs: {log}",
            flush=True,
        )
        queue_urls = setup_aws()
        queue_url, ref_queue_url = queue_urls[EVENTS_QUEUE], queue_urls[REF_QUEUE]
        ref_files = args.events_ref if args.events_ref != n else 0  # same size: nothing to compare
        seed = [(LISTING_BUCKET, n), (EVENTS_BUCKET, n), (REF_BUCKET, ref_files)]
        if args.seed == "http":
            seconds = sum(upload(bucket, range(count), args.threads) for bucket, count in seed)
        else:
            seconds = sum(moto.seed(bucket, 0, count) for bucket, count in seed)
        # Notifications on once the files are in: moto's SQS send_message recounts every queued message,
        # so N queued creation events would cost O(N^2) to seed. The queue then holds what a drained one does.
        queued = 0
        for bucket, url in [(EVENTS_BUCKET, queue_url), (REF_BUCKET, ref_queue_url)]:
            enable_events(bucket, url)
            queued += queue_size(url)
            purge(url)
        objects = sum(count for _, count in seed)
        record["upload"] = {"seconds": seconds, "objects": objects, "events_queued": queued, "moto_rss": moto.rss()}
        how = f"HTTP PUT, {args.threads} threads" if args.seed == "http" else "moto's S3 backend, in its process"
        print(
            f"   seeded {objects:,} objects ({n:,} + {n:,} + {ref_files:,} in the reference events study) "
            f"in {seconds:.1f} s ({objects / seconds:,.0f}/s, {how}); {queued} message(s) purged (the "
            f"s3:TestEvents); moto RSS {_mib(moto.rss())} MiB",
            flush=True,
        )

        # ---- floor vs catalog, alternating
        floors, catalogs = [], []
        home = None
        for i in range(args.repeat):
            delete_catalog()
            home = storage.new_home(f"instance-{i}")
            scratch = storage.new_home("scratch")
            order = ("floor", "catalog") if i % 2 == 0 else ("catalog", "floor")
            for phase in order:
                if phase == "floor":
                    r = _measured(moto, floor_child, LISTING_BUCKET, [PREFIX], log)
                    floors.append(r)
                    print(
                        f"   repeat {i + 1}: floor   {r['seconds']:7.2f} s (CPU {r['cpu']:.2f} s + moto "
                        f"{r['moto_cpu']:.2f} s); {r['listed']:,} keys, {r['pages']} pages; "
                        f"peak {_mib(r['peak_rss'])} MiB",
                        flush=True,
                    )
                else:
                    r = _measured(moto, catalog_child, home, scratch, log, args.daemon_sample, None)
                    catalogs.append(r)
                    daemon = f"{r['register_daemon_seconds']:.1f} s" + (
                        f" (extrapolated from {r['register_daemon_keys']:,} keys: "
                        f"{r['register_daemon_seconds_sample']:.1f} s)"
                        if r["register_daemon_extrapolated"]
                        else ""
                    )
                    print(
                        f"   repeat {i + 1}: catalog {r['seconds']:7.2f} s evaluation in {r['ticks']} tick(s) "
                        f"(longest {r['max_tick_seconds']:.2f} s) + "
                        f"{r['register_seconds']:.2f} s registration (CPU {r['cpu']:.2f} s + moto "
                        f"{r['moto_cpu']:.2f} s); registered {r['registered']}; "
                        f"requests {r['run_requests']}; backfills on the instance {r['backfills']} (submitted "
                        f"in {r['backfill_submit_seconds']:.2f} s, {r['backfill_unregistered']:,} target partitions "
                        f"not registered at that point); peak {_mib(r['peak_rss'])} MiB; "
                        f"daemon-way registration {daemon}; Dagster: {r['dagster_check']}",
                        flush=True,
                    )
            storage.drop(scratch)
            if i < args.repeat - 1:
                storage.drop(home)  # keep the last one for the next phases
        listing_cursor = catalogs[-1]["cursor"]
        assert home is not None, "the last repeat's instance"

        reg = _in_child(register_events_child, home, EVENTS_STUDY, n, log)
        ref_home = storage.new_home("instance-ref")
        if ref_files:
            _in_child(register_events_child, ref_home, REF_STUDY, ref_files, log, True)
        print(
            f"   events study: {n:,} partitions registered directly in {reg['seconds']:.1f} s "
            f"(data_files now {reg['data_files']:,}); reference events study: {ref_files:,} on its own "
            f"instance",
            flush=True,
        )

        # ---- events ticks, 10 new files (HTTP PUTs) each: the study with N files and the reference
        # study alternate (ABBA...), so both see the same machine
        events: list[dict] = []
        ref_events: list[dict] = []
        cursors = {EVENTS_STUDY: None, REF_STUDY: None}
        numbers = {EVENTS_STUDY: n, REF_STUDY: ref_files}
        targets = {
            EVENTS_STUDY: (EVENTS_BUCKET, queue_url, home, events),
            REF_STUDY: (REF_BUCKET, ref_queue_url, ref_home, ref_events),
        }
        for i in range(args.tick_repeat):
            for study in (EVENTS_STUDY, REF_STUDY) if i % 2 == 0 else (REF_STUDY, EVENTS_STUDY):
                if study == REF_STUDY and not ref_files:
                    continue
                bucket, url, study_home, results = targets[study]
                upload(bucket, range(numbers[study], numbers[study] + NEW_FILES), NEW_FILES)
                numbers[study] += NEW_FILES
                waiting = queue_size(url)
                r = _measured(moto, tick_child, study_home, "events", cursors[study], log, None)
                cursors[study] = r["cursor"]
                r["queued_before"], r["queued_after"] = waiting, queue_size(url)
                results.append(r)
                files = n if study == EVENTS_STUDY else ref_files
                print(
                    f"   repeat {i + 1}: events tick ({files:,} files) {r['seconds']:6.3f} s, CPU {r['cpu']:.3f} s "
                    f"(+{r['apply_seconds']:.3f} s apply), next tick {r['next_seconds']:.3f} s; {r['added']} "
                    f"partitions, {r['n_run_requests']} runs; queue {waiting} -> {r['queued_after']}; "
                    f"peak {_mib(r['peak_rss'])} MiB",
                    flush=True,
                )
        storage.drop(ref_home)
        events_cursor = cursors[EVENTS_STUDY]

        # ---- listing ticks, 10 new files (HTTP PUTs) each
        next_number = n
        listings = []
        for i in range(args.repeat):
            upload(LISTING_BUCKET, range(next_number, next_number + NEW_FILES), NEW_FILES)
            r = _measured(moto, tick_child, home, "listing", listing_cursor, log, None)
            listing_cursor = r["cursor"]
            listings.append(r)
            print(
                f"   repeat {i + 1}: listing pass {r['seconds']:6.2f} s in {r['ticks']} tick(s), longest "
                f"{r['max_tick_seconds']:.2f} s (+{r['apply_seconds']:.3f} s apply); "
                f"{r['added']} partitions, {r['n_run_requests']} runs; peak {_mib(r['peak_rss'])} MiB",
                flush=True,
            )
            next_number += NEW_FILES

        # ---- backfill submission and daemon, each repeat on a copy of the instance
        backfills = []
        for i in range(args.repeat):
            for chunk in args.backfill_chunks:
                copy = storage.copy_home(home, f"backfill-{i}")
                r = _in_child(backfill_child, copy, log, args.daemon_seconds, args.first_run_timeout, chunk)
                backfills.append(r)
                first = "never" if r["first_run_seconds"] is None else f"{r['first_run_seconds']:.1f} s"
                print(
                    f"   repeat {i + 1}: backfill of {r['partitions']:,} partitions submitted in "
                    f"{r['submit_seconds']:.2f} s; daemon (chunk {chunk}): code location "
                    f"{r['workspace_load_seconds']:.1f} s, first run after {first}, "
                    f"{r['runs_per_second']:.1f} runs/s over {r['window_seconds'] or 0:.0f} s "
                    f"({r['runs_created']} runs); peak {_mib(r['peak_rss'])} MiB"
                    + (f"; errors: {r['errors']}" if r["errors"] else ""),
                    flush=True,
                )
                storage.drop(copy)

        if args.profile:
            prof = Path(args.profile)
            prof.mkdir(parents=True, exist_ok=True)
            delete_catalog()
            phases = [
                (
                    "catalog",
                    lambda p: _in_child(
                        catalog_child, storage.new_home("instance-profile"), storage.new_home("scratch"), log, 100, p
                    ),
                ),
                (
                    "events_tick",
                    lambda p: (
                        upload(EVENTS_BUCKET, range(numbers[EVENTS_STUDY], numbers[EVENTS_STUDY] + NEW_FILES), 4),
                        _in_child(tick_child, home, "events", events_cursor, log, p),
                    ),
                ),
                (
                    "listing_tick",
                    lambda p: (
                        upload(LISTING_BUCKET, range(next_number, next_number + NEW_FILES), 4),
                        _in_child(tick_child, home, "listing", listing_cursor, log, p),
                    ),
                ),
            ]
            for phase, call in phases:
                path = str(prof / f"{phase}_n{n}.prof")
                call(path)
                print(f"\n   profile of {phase} (N = {n:,}, under cProfile): {path}", flush=True)
                _print_profile(path)

        record.update(
            floor=floors,
            catalog=catalogs,
            register_events=reg,
            events_tick=events,
            events_ref_tick=ref_events,
            events_ref_files=ref_files,
            listing_tick=listings,
            backfill=backfills,
            moto_rss_end=moto.rss(),
        )
    finally:
        moto.stop()
        storage.__exit__(None, None, None)
    record["seconds_total"] = time.monotonic() - started_all
    record["load_end"] = os.getloadavg()
    return record


# --------------------------------------------------------------------------- reporting
def _med(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def _spread(rows, key, fmt):
    values = [r[key] for r in rows if r.get(key) is not None]
    if not values:
        return "-"
    return f"{fmt.format(min(values))} - {fmt.format(max(values))}"


def summary(record: dict) -> dict:
    floor = _med(record["floor"], "seconds")
    cat = record["catalog"]
    for r in cat:
        r["total_seconds"] = r["seconds"] + r["register_seconds"]
        r["total_daemon_seconds"] = r["seconds"] + r["register_daemon_seconds"]
    paired = [c["total_seconds"] / f["seconds"] for c, f in zip(cat, record["floor"], strict=False)]
    # one evaluation: the longest tick of a listing pass, the events tick
    max_tick = max(
        [
            _med(cat, "max_tick_seconds"),
            _med(record["events_tick"], "seconds"),
            _med(record["listing_tick"], "max_tick_seconds"),
        ]
    )
    return {
        "floor": floor,
        "catalog_eval": _med(cat, "seconds"),
        "catalog_total": _med(cat, "total_seconds"),
        "catalog_total_daemon": _med(cat, "total_daemon_seconds"),
        "ratio": _med(cat, "total_seconds") / floor,
        "ratio_paired": statistics.median(paired),
        "ratio_paired_range": (min(paired), max(paired)),
        "ratio_cpu": _med(cat, "work_cpu") / _med(record["floor"], "work_cpu"),
        "ratio_inprocess": statistics.median(r["total_seconds"] / r["listing_seconds"] for r in cat)
        if all(r.get("listing_seconds") for r in cat)
        else None,
        "ratio_daemon": _med(cat, "total_daemon_seconds") / floor,
        "events_tick": _med(record["events_tick"], "seconds"),
        "listing_tick": _med(record["listing_tick"], "seconds"),
        "max_tick": max_tick,
        "runs_per_second": _med(
            [r for r in record["backfill"] if r.get("chunk", 25) == 25] or record["backfill"], "runs_per_second"
        ),
    }


def _verdict(small: list[float], large: list[float]) -> str:
    """Independent of N when the medians differ by no more than the noise: the larger min-max spread of
    the two sets, and at least EVENTS_NOISE_FLOOR of the smaller median (the machine is shared)."""
    a, b = statistics.median(small), statistics.median(large)
    noise = max(max(small) - min(small), max(large) - min(large), EVENTS_NOISE_FLOOR * min(a, b))
    word = "independent of N (within noise)" if abs(b - a) <= noise else "DEPENDS on N"
    return f"{b / a:.2f}x: {word} (|diff| {abs(b - a) * 1000:.0f} ms vs noise {noise * 1000:.0f} ms)"


def results_table(record: dict) -> str:
    n = record["files_per_study"]
    s = summary(record)
    cat, ev, li, bf, fl = (record[k] for k in ("catalog", "events_tick", "listing_tick", "backfill", "floor"))
    rows = []

    def row(name, rs, key, fmt="{:.2f}", unit="s", note=""):
        value = _med(rs, key)
        rows.append(
            [
                name,
                "-" if value is None else fmt.format(value) + (f" {unit}" if unit else ""),
                _spread(rs, key, fmt),
                note,
            ]
        )

    up = record["upload"]
    how = "HTTP PUTs" if record.get("seeding") == "http" else "moto's S3 backend"
    rows.append(
        [
            "seeding (setup): objects in both studies",
            f"{up['objects']:,} in {up['seconds']:.0f} s",
            "-",
            (
                f"{up['objects'] / up['seconds']:,.0f}/s via {how}; moto process RSS "
                f"{_mib(record['moto_rss_end'])} MiB at end"
            ),
        ]
    )
    row(
        "floor: bare paginated list_objects_v2 of raw/",
        fl,
        "seconds",
        note=f"{fl[0]['listed']:,} keys in {fl[0]['pages']} pages",
    )
    row("floor: CPU, client + moto", fl, "work_cpu", note="boto3 in the child + moto's server process")
    row(
        "catalog: listing sensor evaluations (whole pass)",
        cat,
        "seconds",
        note=(
            f"{cat[0]['ticks']} tick(s) of <= BIOMARKER_LISTING_TICK_SECONDS of listing each: read catalog, list, "
            "match, diff the listed key range, write catalog Parquet, build requests"
        ),
    )
    row(
        "catalog: longest single tick of the pass",
        cat,
        "max_tick_seconds",
        note="what Dagster's sensor timeout applies to",
    )
    row(
        "catalog: partition registration",
        cat,
        "register_seconds",
        note=f"{sum(cat[0]['registered'].values()):,} keys, add_dynamic_partitions per 10,000-key request "
        "(as the tests apply it)",
    )
    row("catalog: total (evaluation + registration)", cat, "total_seconds")
    row("catalog: CPU, sensor process + moto", cat, "work_cpu", note="evaluation + registration in the child, + moto")
    ratio_ok = s["ratio"] <= CATALOG_TARGET
    lo, hi = s["ratio_paired_range"]
    rows.append(
        [
            "catalog / floor",
            f"{s['ratio']:.2f}x",
            f"{lo:.2f} - {hi:.2f}",
            (
                f"target <= {CATALOG_TARGET}x: {'met' if ratio_ok else 'NOT met'} (ratio of medians); per repeat "
                f"(adjacent runs) median {s['ratio_paired']:.2f}x; by CPU {s['ratio_cpu']:.2f}x "
                f"({'met' if s['ratio_cpu'] <= CATALOG_TARGET else 'NOT met'})"
            ),
        ]
    )
    if s["ratio_inprocess"] is not None:
        rows.append(
            [
                "catalog / its own listing, in process",
                f"{s['ratio_inprocess']:.2f}x",
                "-",
                f"the pass over the time its ticks spent fetching list pages (median "
                f"{_med(cat, 'listing_seconds'):.2f} s): both under the same load at the same moments",
            ]
        )
    extrapolated = cat[0]["register_daemon_extrapolated"]
    row(
        "registration the sensor daemon's way" + (" (extrapolated)" if extrapolated else ""),
        cat,
        "register_daemon_seconds",
        fmt="{:.1f}",
        note=(
            f"only keys the tick requests (a backfill's keys are registered inside the evaluation, so 0 here "
            f"when every file went to a backfill); "
            f"dagster._daemon.sensor._handle_dynamic_partitions_requests: one has_dynamic_partition query per key "
            f"then the insert; {cat[0]['register_daemon_keys']:,} keys timed"
            + (f", x{sum(cat[0]['registered'].values()) / cat[0]['register_daemon_keys']:.0f}" if extrapolated else "")
            + f"; tick record holds +{cat[0]['tick_result_bytes'] / 1e6:.1f} MB of keys; with it the catalog is "
            f"{s['ratio_daemon']:.1f}x the floor"
        ),
    )
    overhead = (s["catalog_total"] - s["floor"]) / n * 1e6
    rows.append(
        [
            "catalog overhead over the floor, per file",
            f"{overhead:.0f} us",
            "-",
            f"evaluation alone: {(s['catalog_eval'] - s['floor']) / n * 1e6:.0f} us/file",
        ]
    )
    rows.append(
        [
            "catalog result through Dagster's evaluate_tick",
            cat[0]["dagster_check"],
            "-",
            f"{cat[0]['n_run_requests']} run request(s): {cat[0]['run_requests'][:1]}",
        ]
    )
    if cat[0].get("backfills"):
        row(
            "catalog: of which the sensor's backfill submission",
            cat,
            "backfill_submit_seconds",
            note=f"{len(cat[0]['backfills'])} backfill of {cat[0]['backfills'][0][1]:,} partitions put on the "
            "instance inside the evaluation (submit_files_backfill)",
        )
        rows.append(
            [
                "sensor's backfill: targets not yet registered at submission",
                f"{statistics.median(r['backfill_unregistered'] for r in cat):,.0f}",
                "-",
                (
                    "must be 0: the sensor registers them before submitting; a backfill daemon iteration that "
                    "found one unregistered would fail the backfill (DagsterAssetBackfillDataLoadError)"
                ),
            ]
        )
    row(
        f"events tick: {NEW_FILES} new files, study has N",
        ev,
        "seconds",
        fmt="{:.3f}",
        note=f"evaluate_tick; {ev[0]['added']} partitions, {ev[0]['n_run_requests']} run requests",
    )
    row("events tick: CPU of the sensor process", ev, "cpu", fmt="{:.3f}")
    ref = record.get("events_ref_tick") or []
    if ref and record["events_ref_files"] != n:
        label = f"{record['events_ref_files']:,}"
        row(
            f"events tick: reference study with {label} files, alternating",
            ref,
            "seconds",
            fmt="{:.3f}",
            note="same tick on its own instance, runs interleaved with the row above (ABBA)",
        )
        row("events tick: reference study CPU", ref, "cpu", fmt="{:.3f}")
        rows.append(
            [
                f"events tick at N / at {label}: wall",
                _verdict([r["seconds"] for r in ref], [r["seconds"] for r in ev]),
                "-",
                "target: independent of N",
            ]
        )
        rows.append(
            [
                f"events tick at N / at {label}: CPU",
                _verdict([r["cpu"] for r in ref], [r["cpu"] for r in ev]),
                "-",
                "CPU of the sensor process; the least sensitive to other jobs",
            ]
        )
    row(
        "events tick: applying its result",
        ev,
        "apply_seconds",
        fmt="{:.3f}",
        note="10 observations (report_runless_asset_event) + 10 partitions, the daemon's way",
    )
    row(
        "events: next tick (deletes the 10 messages)",
        ev,
        "next_seconds",
        fmt="{:.3f}",
        note=f"queue after: {[r['queued_after'] for r in ev]}",
    )
    row(
        f"listing pass: {NEW_FILES} new files, study has N",
        li,
        "seconds",
        note=(
            f"evaluate_tick until the pass ends ({li[0]['ticks']} tick(s)); {li[0]['added']} partitions, "
            f"{li[0]['n_run_requests']} run requests"
        ),
    )
    row("listing pass: longest single tick", li, "max_tick_seconds")
    row("listing tick: CPU, sensor process + moto", li, "work_cpu")
    row("listing tick: applying its result", li, "apply_seconds", fmt="{:.3f}")
    well = SENSOR_TIMEOUT_S * WELL_UNDER
    rows.append(
        [
            "slowest sensor evaluation (median)",
            f"{s['max_tick']:.2f} s",
            "-",
            f"default timeout {SENSOR_TIMEOUT_S:.0f} s; 'well under' = <= {well:.0f} s: "
            f"{'met' if s['max_tick'] <= well else 'NOT met'}"
            + ("" if n >= 100_000 else " (target is at N = 100,000)")
            + f"; the bare listing alone takes {s['floor']:.1f} s",
        ]
    )
    row(
        f"backfill submission: {bf[0]['partitions']:,} partitions",
        bf,
        "submit_seconds",
        note="backfill_study's op: partitions, PartitionBackfill.from_asset_graph_subset, add_backfill",
    )
    row(
        "backfill daemon: code location load (gRPC)",
        bf,
        "workspace_load_seconds",
        fmt="{:.1f}",
        note="not in the rates",
    )
    for chunk in sorted({r.get("chunk", 25) for r in bf}):
        rs = [r for r in bf if r.get("chunk", 25) == chunk]
        label = f"chunk {chunk}" + (" (Dagster's default)" if chunk == 25 else "")
        row(
            f"backfill daemon, {label}: first run after",
            rs,
            "first_run_seconds",
            fmt="{:.1f}",
            note="execute_backfill_iteration plans all N partitions, then submits",
        )
        row(
            f"backfill daemon, {label}: runs requested per second",
            rs,
            "runs_per_second",
            fmt="{:.1f}",
            unit="runs/s",
            note=f"over {_med(rs, 'window_seconds') or 0:.0f} s after the first run "
            f"({_med(rs, 'window_runs'):.0f} runs); they stay QUEUED",
        )
    warm = [r["warm_up"] for r in cat + li if r.get("warm_up")]
    if warm:
        rows.append(
            [
                "one-time, not in the figures above: first config parse of a process",
                f"{_med(warm, 'first_parse'):.2f} s",
                _spread(warm, "first_parse", "{:.2f}"),
                f"imports SKDH for the pipeline allowlist; then a parse of the 7 KB demo config takes "
                f"{_med(warm, 'parse'):.3f} s, once per config version (kept by ETag; a tick after that "
                "costs one HEAD per config)",
            ]
        )
    row("peak RSS: catalog child", cat, "peak_rss", fmt="{:.0f}", unit="", note="")
    rows[-1][1] = _mib(_med(cat, "peak_rss")) + " MiB"
    rows[-1][2] = _spread([{"v": r["peak_rss"] / 2**20} for r in cat], "v", "{:.0f}")
    rows[-1][3] = f"after imports {_mib(_med(cat, 'baseline_rss'))} MiB"
    for name, rs in [
        ("events tick child", ev),
        ("listing tick child", li),
        ("floor child", fl),
        ("backfill child (op + daemon)", bf),
    ]:
        rows.append(
            [
                f"peak RSS: {name}",
                _mib(_med(rs, "peak_rss")) + " MiB",
                _spread([{"v": r["peak_rss"] / 2**20} for r in rs], "v", "{:.0f}"),
                f"after imports {_mib(_med(rs, 'baseline_rss'))} MiB" if rs[0].get("baseline_rss") else "",
            ]
        )

    headers = [f"N = {n:,} files per study", "median", "min - max", "notes"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    lines.append(
        f"\nmedians of {record['repeat']} repeat(s); {os.cpu_count()} cores; load average "
        f"{record['load_start'][0]:.1f} at start, {record['load_end'][0]:.1f} at end; "
        f"{record['seconds_total'] / 60:.1f} min for this size"
    )
    return "\n".join(lines)


def readme_table(record: dict) -> str:
    """The README's "Catalog and sensors" table for this size, from this run only (paste it whole)."""
    n = record["files_per_study"]
    s = summary(record)
    cat, ev, li, bf = (record[k] for k in ("catalog", "events_tick", "listing_tick", "backfill"))
    target = "<= 1.3x" if n >= 100_000 else ""
    ref = record.get("events_ref_tick") or []
    events = f"{_med(ev, 'seconds'):.3f} s (CPU {_med(ev, 'cpu'):.3f} s)"
    if ref and record["events_ref_files"] != n:
        events = (
            f"{_med(ev, 'seconds'):.3f} s / {_med(ref, 'seconds'):.3f} s (CPU {_med(ev, 'cpu'):.3f} / "
            f"{_med(ref, 'cpu'):.3f} s)"
        )
        events_label = f"events tick, 10 new files, study of {n:,} / of {record['events_ref_files']:,} (alternating)"
    else:
        events_label = f"events tick, 10 new files, study of {n:,}"
    default = [r for r in bf if r.get("chunk", 25) == 25] or bf
    lines = [
        f"| figure (N = {n:,} files, medians of {record['repeat']}) | measured | target |",
        "|---|---|---|",
        f"| bare paginated `list_objects_v2` (the floor) | {s['floor']:.2f} s | |",
        f"| full first catalog: every tick of the listing pass, registration and backfill included | "
        f"{s['catalog_total']:.2f} s in {cat[0]['ticks']} tick(s): **{s['ratio']:.2f}x** the floor (per repeat "
        f"{s['ratio_paired_range'][0]:.2f}-{s['ratio_paired_range'][1]:.2f}x; by CPU {s['ratio_cpu']:.2f}x"
        + (
            f"; in process, over its own listing: {s['ratio_inprocess']:.2f}x"
            if s["ratio_inprocess"] is not None
            else ""
        )
        + ") | "
        f"{target} |",
        f"| catalog overhead over the floor, per file | {(s['catalog_total'] - s['floor']) / n * 1e6:.0f} us | |",
        f"| longest sensor evaluation | {s['max_tick']:.2f} s | well under 60 s |",
        f"| listing pass after 10 new files | {_med(li, 'seconds'):.2f} s in {li[0]['ticks']} tick(s), "
        f"longest {_med(li, 'max_tick_seconds'):.2f} s | |",
        f"| {events_label} | {events} | independent of N |",
        f"| backfill of {bf[0]['partitions']:,} partitions submitted (`backfill_study`) | "
        f"{_med(bf, 'submit_seconds'):.2f} s | |",
        "| backfill daemon, Dagster's default chunk of 25 | "
        f"first run after {_med(default, 'first_run_seconds'):.1f} s, "
        f"then {_med(default, 'runs_per_second'):.1f} runs/s | |",
        f"| peak RSS: listing sensor process / events sensor process | {_mib(_med(cat, 'peak_rss'))} MiB / "
        f"{_mib(_med(ev, 'peak_rss'))} MiB | |",
    ]
    warm = [r["warm_up"] for r in cat + li if r.get("warm_up")]
    if warm:
        lines.append(
            f"| one-time per process: first config parse (imports SKDH) / a 7 KB config parsed | "
            f"{_med(warm, 'first_parse'):.2f} s / {_med(warm, 'parse'):.3f} s | |"
        )
    load = f"load average {record['load_start'][0]:.1f} at start, {record['load_end'][0]:.1f} at end"
    lines.append(f"\n(one run of `catalog_sensors.py`{' --large' if n >= 100_000 else ''}; {load})")
    return "\n".join(lines)


def compare_table(records: list[dict]) -> str:
    ordered = sorted(records, key=lambda r: r["files_per_study"])
    small, large = ordered[0], ordered[-1]
    lines = [
        "| figure | " + " | ".join(f"N = {r['files_per_study']:,}" for r in (small, large)) + " | large / small |",
        "|---|---|---|---|",
    ]
    for label, key in [
        ("events tick, 10 new files (s)", "seconds"),
        ("events tick: CPU of the sensor process (s)", "cpu"),
        ("events tick: apply (s)", "apply_seconds"),
        ("events: next tick (s)", "next_seconds"),
    ]:
        ra = [r[key] for r in small["events_tick"]]
        rb = [r[key] for r in large["events_tick"]]
        lines.append(
            f"| {label} | {statistics.median(ra):.3f} ({min(ra):.3f}-{max(ra):.3f}) | "
            f"{statistics.median(rb):.3f} ({min(rb):.3f}-{max(rb):.3f}) | {_verdict(ra, rb)} |"
        )
    for label, key in [
        ("listing pass, 10 new files (s)", "listing_tick"),
        ("catalog total (s)", "catalog_total"),
        ("floor (s)", "floor"),
        ("backfill runs/s", "runs_per_second"),
    ]:
        a, b = summary(small)[key], summary(large)[key]
        lines.append(f"| {label} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")
    lines.append(
        f"\nnoise = the larger min-max spread of the two sizes, at least {EVENTS_NOISE_FLOOR:.0%} of the "
        "smaller median (the machine is shared); the two sizes ran minutes apart, so the alternating "
        "reference-study rows of each table compare more fairly"
    )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="files per study (default 10,000)")
    parser.add_argument("--large", action="store_true", help="100,000 files per study")
    parser.add_argument("--matrix", action="store_true", help="10,000 and 100,000, then the comparison")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of every timed phase (medians reported)")
    parser.add_argument("--threads", type=int, default=8, help="upload threads (HTTP PUTs)")
    parser.add_argument(
        "--tick-repeat", type=int, default=7, help="events ticks per study (cheap, so more than --repeat; default 7)"
    )
    parser.add_argument(
        "--events-ref",
        type=int,
        default=10_000,
        help="files in the reference events study whose ticks alternate with the N-file one (default 10,000; 0 = none)",
    )
    parser.add_argument(
        "--seed",
        choices=["direct", "http"],
        default="direct",
        help="how the N files per study get into moto: its S3 backend in process (default, "
        "~10,000/s) or HTTP PUTs from --threads threads (~100-150/s on 2 busy cores)",
    )
    parser.add_argument(
        "--storage",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="Dagster storage: SQLite (the local dagster.yaml, default) or a throwaway local "
        "PostgreSQL (the production instance's storage)",
    )
    parser.add_argument(
        "--daemon-sample",
        type=int,
        default=1000,
        help="keys applied the sensor daemon's way per catalog (per-key query; 0 = all keys)",
    )
    parser.add_argument("--daemon-seconds", type=float, default=20.0, help="backfill daemon window after its first run")
    parser.add_argument(
        "--backfill-chunks",
        default="25",
        help="comma-separated DAGSTER_ASSET_BACKFILL_RUN_CHUNK_SIZE values to run the backfill "
        "daemon with (default 25, Dagster's default), e.g. 25,1000",
    )
    parser.add_argument(
        "--first-run-timeout",
        type=float,
        default=600.0,
        help="give up on the backfill daemon if no run is created within this many seconds",
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "biomarker-assets-catalog-bench")
    parser.add_argument("--json", type=Path, help="write all measurements to this JSON file")
    parser.add_argument(
        "--compare", type=Path, nargs=2, metavar="JSON", help="only print the comparison of two earlier --json files"
    )
    parser.add_argument("--profile", type=Path, help="extra cProfiled catalog/ticks into this folder")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.files < 1 or args.threads < 1:
        parser.error("--repeat, --files and --threads must be positive")
    try:
        args.backfill_chunks = [int(c) for c in args.backfill_chunks.split(",")]
    except ValueError:
        parser.error("--backfill-chunks: comma-separated integers")
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-moto"]:
        return serve_moto(int(argv[1]))
    args = parse_args(argv)
    if args.compare:
        records = [r for path in args.compare for r in json.loads(path.read_text())["sizes"]]
        print(compare_table(records))
        return 0
    sizes = [10_000, 100_000] if args.matrix else [100_000 if args.large else args.files]
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    records = []
    for n in sizes:
        records.append(run_size(n, args, args.workdir))
        print(f"\nResults for N = {n:,} ({records[-1]['seconds_total'] / 60:.1f} min):\n", flush=True)
        print(results_table(records[-1]), flush=True)
        print(f"\nREADME rows for N = {n:,}:\n", flush=True)
        print(readme_table(records[-1]), flush=True)
    if len(records) > 1:
        print("\nEvents tick against N:\n")
        print(compare_table(records))
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"sizes": records}, indent=1, default=str) + "\n")
        print(f"measurements written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
