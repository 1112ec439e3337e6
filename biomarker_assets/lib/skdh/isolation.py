"""SKDH on one file in a child process with a wall-time and a memory limit: a broken file fails alone.

SKDH's native readers do not fail politely on hostile bytes: random bytes named ``.bin`` make
the GENEActiv reader segfault or hang, and a ``.cwa`` cut after its header makes the Axivity
reader's Fortran runtime exit the process. In the run's own process either ends the run with
no message and no status. Here the whole per-file pipeline (read, steps, tables, plot,
provenance: ``processing.process_local_file``) runs in a child started by a ``forkserver`` that
has SKDH imported once, so each file costs a fork, not an import. The child sends back
a :class:`ProcessingResult` (paths, numbers, strings: never anything read from the input file)
over a pipe; a crash, an exit, a timeout or the memory limit becomes a :class:`ProcessingError`
that names what happened in plain words, and the caller reports ``processing_failed`` as for
any other broken file.

Limits come from the file: memory is the readers registry's peak MiB per MiB of file
(``readers.mib_per_file_mib``) times ``MEMORY_FACTOR`` plus ``CHILD_FLOOR_MIB`` of address
space on top of what the child starts with (``RLIMIT_AS``), time is ``BASE_SECONDS`` plus
``SECONDS_PER_MIB`` per MiB, capped at ``MAX_SECONDS``. A file that runs in day pieces holds at
most ``window_samples`` samples at once (``piece_memory.window_samples``: rate x day window), so
its memory is ``PIECE_BYTES_PER_SAMPLE`` per such sample whatever the recording's length.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import resource
import signal
import sys
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path, PurePosixPath
from typing import Any

from biomarker_assets.lib.biomarkers.processing import ProcessingError, ProcessingResult
from biomarker_assets.lib.skdh.piece_memory import HEAD_BYTES, window_samples
from biomarker_assets.lib.skdh.readers import bytes_per_sample, mib_per_file_mib, reader_named

MIB = 2**20
# Run sizing's model (platform/run_sizing.py says where the numbers come from): a run's peak is
# RUN_FLOOR_MIB plus the registry's MiB per file MiB; tasks get HEADROOM times that.
RUN_FLOOR_MIB = 600
# What a day-piece run holds per sample of its largest piece (one day window), SKDH's import not counted:
# benchmarks/day_pieces.py, 7 d @ 100 Hz, peak 1.06 GB less the 0.26 GB of a process with SKDH imported,
# over the 8.64 M samples of a day: 92 bytes; 28 d peaks the same (the window, not the file, sets it).
PIECE_BYTES_PER_SAMPLE = 100
HEADROOM = 1.5
CHILD_FLOOR_MIB = 1536  # address space a run needs without data (allocator arenas, LightGBM, Matplotlib)
MEMORY_FACTOR = 3.0  # virtual address space over the measured resident peak, with room for busy recordings
BASE_SECONDS = 300.0
SECONDS_PER_MIB = 2.0  # measured 0.3 s per MiB (7 days at 100 Hz, 246 MiB: 78 s); ~7x for a busy machine
MAX_SECONDS = 4 * 3600.0
# Imported once by the forkserver; each child forks with them loaded.
PRELOAD = (
    "biomarker_assets.lib.skdh.child_preload",
    "biomarker_assets.lib.biomarkers.processing",
    "biomarker_assets.lib.skdh.execution",
    "biomarker_assets.lib.skdh.tables",
    "biomarker_assets.lib.biomarkers.overview_plot",
    "biomarker_assets.lib.summary.rows",
    "biomarker_assets.skdh_processes",
)


@dataclass(frozen=True)
class Limits:
    """What one file's child may use: wall seconds, and MiB of address space on top of its start."""

    seconds: float
    memory_mib: float


def data_mib(size_bytes: int, file_name: str, window_samples: int | None = None) -> float:
    """Peak MiB a file's data adds to a run: the whole-file model, or at most one day piece's samples."""
    suffix = PurePosixPath(file_name).suffix.lower()
    whole = mib_per_file_mib(suffix) * size_bytes / MIB
    if window_samples is None:
        return whole
    on_disk = bytes_per_sample(suffix)
    samples = window_samples if on_disk is None else min(window_samples, size_bytes / on_disk)
    return min(whole, PIECE_BYTES_PER_SAMPLE * samples / MIB)


def limits_for_file(size_bytes: int, file_name: str, window_samples: int | None = None) -> Limits:
    """The limits of a file of this size and format (its data's peak MiB sizes the memory)."""
    mib = size_bytes / MIB
    return Limits(
        min(MAX_SECONDS, BASE_SECONDS + SECONDS_PER_MIB * mib),
        CHILD_FLOOR_MIB + MEMORY_FACTOR * data_mib(size_bytes, file_name, window_samples),
    )


#: Dagster's run tag for a run's time limit, enforced by the daemon's run monitoring (dagster.yaml: run_monitoring)
MAX_RUNTIME_TAG = "dagster/max_runtime"
RUN_MARGIN_SECONDS = 900  # download, upload and Dagster's own work around the contained processing


def run_max_runtime_seconds(size_bytes: int, file_name: str) -> int:
    """A biomarker run's ``dagster/max_runtime``: the processing limit plus the run's margin (at most 4 h 15 min)."""
    return int(limits_for_file(size_bytes, file_name).seconds + RUN_MARGIN_SECONDS)


def estimate_peak_mib(size_bytes: int, file_name: str, window_samples: int | None = None) -> float:
    """Expected peak memory of a biomarker run on a file of this size and format, without headroom.

    ``window_samples``: the most samples a day-piece run holds (``piece_memory.window_samples``);
    None for a file that runs whole-file.
    """
    return RUN_FLOOR_MIB + data_mib(size_bytes, file_name, window_samples)


def oversized(
    size_bytes: int, file_name: str, max_run_memory_mib: float, window_samples: int | None = None
) -> str | None:
    """Why a file is refused unread: its run would need more than the study's ``max_run_memory_mib``; else None."""
    need = estimate_peak_mib(size_bytes, file_name, window_samples) * HEADROOM
    if need <= max_run_memory_mib:
        return None
    return (
        f"the file is {size_bytes / MIB:,.0f} MiB: processing a {PurePosixPath(file_name).suffix or 'extension-less'} "
        f"file that large needs about {need:,.0f} MiB, more than the study's max_run_memory_mib of "
        f"{max_run_memory_mib:,.0f} MiB; refused without reading it (raise max_run_memory_mib in the study config "
        "if the file is genuine)"
    )


_context: Any = None


def _forkserver() -> Any:
    """The forkserver context, its preload set once per process (SKDH is imported there, not here)."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(list(PRELOAD))
        # Python 3.11's forkserver imports the preload with its own start-up sys.path, not this process's
        # (forkserver.main ignores sys_path), and Dagster imports a code location from its working_directory
        # without leaving it on sys.path: a checkout beside an installed copy would be imported from the
        # installed copy. Its environment puts the folder this very package came from first.
        home = str(Path(__file__).resolve().parents[3])  # the folder holding biomarker_assets/
        before = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join([home, *(os.path.abspath(p) for p in sys.path)])
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            if before is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = before
    return _context


def _address_space() -> int:
    """This process's mapped bytes now (VmSize), so the limit adds to what the fork already holds."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _child(conn: Connection, memory_bytes: int, stage_file: str, stderr_file: str, kwargs: dict[str, Any]) -> None:
    """Run ``process_local_file`` under the memory limit; send ("ok", result) or ("error", kind, type, message)."""
    from biomarker_assets.lib.biomarkers.processing import process_local_file
    from biomarker_assets.lib.skdh import execution

    err = os.open(stderr_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(err, 2)  # a native reader's last words (Fortran runtime error, glibc abort) are kept for the message
    limit = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def record(step: int, process: str) -> None:
        Path(stage_file).write_text(f"{step} {process}")

    execution.step_listener = record
    try:
        result = process_local_file(**kwargs)
    except BaseException as exc:  # everything goes back as text; nothing from the file is pickled
        cause = exc.__cause__ if isinstance(exc, ProcessingError) and exc.__cause__ is not None else exc
        kind = "memory" if isinstance(cause, MemoryError) else "error"
        conn.send(("error", kind, type(exc).__name__, str(exc)))
    else:
        conn.send(("ok", result))
    finally:
        conn.close()


def _stage(stage_file: Path, spec: dict) -> str:
    """Where the child was: 'the GENEActiv reader (ReadBin)', 'step 2 (Sleep)' or 'after the pipeline's steps'."""
    try:
        index, _, process = stage_file.read_text().partition(" ")
    except FileNotFoundError:
        return "before the pipeline's first step"
    if int(index) < 0:
        return "after the pipeline's steps (writing results)"
    steps = spec.get("Steps", [])
    step = steps[int(index)] if int(index) < len(steps) else {}
    reader = reader_named(step.get("package"), step.get("process"))
    if reader is not None:
        return f"the {reader.device or reader.process} reader ({reader.process})"
    return f"step {index} ({process})"


def _last_words(stderr_file: Path) -> str:
    text = stderr_file.read_text(errors="replace") if stderr_file.exists() else ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"; its last output: {lines[-1][:300]!r}" if lines else ""


def _died(exitcode: int | None, where: str, limits: Limits, stderr_file: Path) -> str:
    words = _last_words(stderr_file)
    if exitcode is not None and exitcode < 0:
        sig = signal.Signals(-exitcode)
        why = signal.strsignal(sig) or sig.name
        extra = f" (or ran out of its {limits.memory_mib:,.0f} MiB)" if sig == signal.SIGKILL else ""
        return f"{where} crashed ({sig.name}: {why}){extra} on this file{words}"
    return f"{where} ended the process with exit code {exitcode} on this file{words}"


def process_file_contained(path: Path, *, limits: Limits | None = None, **kwargs: Any) -> ProcessingResult:
    """``processing.process_local_file`` (same arguments) in a contained child; its errors as ProcessingError.

    Checks the file before anything reads it (``file_checks.check_before_reading``) and adds
    ``truncated_file`` and similar warnings (``file_checks.integrity_warnings``) to the result.
    """
    from biomarker_assets.lib.skdh.file_checks import check_before_reading, integrity_warnings  # NumPy: not at load

    path = Path(path)
    size = path.stat().st_size
    loaded = kwargs["loaded"]
    spec = loaded.config.pipelines[kwargs["pipeline_name"]].skdh
    with path.open("rb") as head:
        window = window_samples(spec, path.name, head.read(HEAD_BYTES))
    refused = oversized(size, path.name, loaded.config.max_run_memory_mib, window)
    if refused:
        raise ProcessingError(refused)
    limits = limits or limits_for_file(size, path.name, window)
    check_before_reading(path, limits.memory_mib * MIB)
    ctx = _forkserver()
    with tempfile.TemporaryDirectory(prefix="contained-") as tmp:
        stage_file, stderr_file = Path(tmp) / "stage", Path(tmp) / "stderr"
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(
            target=_child,
            args=(send, int(limits.memory_mib * MIB), str(stage_file), str(stderr_file), {"path": path, **kwargs}),
            name=f"skdh:{path.name}",
        )
        child.start()
        send.close()
        try:
            message = receive.recv() if receive.poll(limits.seconds) else None
        except EOFError:  # the child died without a word
            message = ("died",)
        finally:
            receive.close()
        if message is None:
            child.kill()
            child.join()
            where = _stage(stage_file, spec)
            raise ProcessingError(
                f"processing did not finish within {limits.seconds:,.0f} s (the limit for a {size / MIB:,.1f} MiB "
                f"file); it was stopped in {where}"
            )
        child.join()
        if message[0] == "died":
            findings = "; ".join(integrity_warnings(path, None))
            died = _died(child.exitcode, _stage(stage_file, spec), limits, stderr_file)
            raise ProcessingError(died + (f" ({findings})" if findings else ""))
    if message[0] == "error":
        _, kind, type_name, text = message
        if kind == "memory":
            raise ProcessingError(
                f"{text} -- processing needed more than the {limits.memory_mib:,.0f} MiB allowed for a "
                f"{size / MIB:,.1f} MiB {path.suffix or 'extension-less'} file"
            )
        raise ProcessingError(text if type_name == "ProcessingError" else f"{type_name}: {text}")
    result: ProcessingResult = message[1]
    result.warnings.extend(integrity_warnings(path, result.fs))
    return result
