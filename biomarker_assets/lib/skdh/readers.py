"""The SKDH readers the project supports: one entry each, the single place to add a device format.

Plain data keyed by class *name* (``skdh.io.axivity.ReadCwa``), so run sizing and spec
checks can ask about a format without importing SKDH (seconds of SciPy/LightGBM). A
process is looked up by its class or any base class, so a project subclass of a reader
counts as that reader.

Adding a reader: one ``ReaderEntry`` in ``READERS`` (plus a test in test_readers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

#: how a reader's output gets temperature: always, never, from its ``column_names`` parameter
#: (ReadCSV), or depending on the file (None: checked when the pipeline runs).
TemperatureSource = Literal["always", "never", "column_names"] | None


@dataclass(frozen=True)
class ReaderEntry:
    """What the project needs to know about one SKDH reader class."""

    process: str  # class name, as a spec's ``process``
    module: str  # module path under ``package`` where the class is defined (what ``Pipeline.save`` writes)
    extensions: tuple[str, ...]  # lower-case, with the dot; () when the reader takes other input (MultiReader)
    temperature: TemperatureSource
    units: Mapping[str, str]  # signal -> unit of what the reader returns (SKDH's docstrings and source)
    # On-disk bytes per sample of the format (file size / samples of the recordings measured in
    # platform/run_sizing.MEASURED); None where not measured.
    bytes_per_sample: float | None = None
    # Run sizing's memory model: peak MiB of a run per MiB of input file, measured (run_sizing.MEASURED);
    # about 125 bytes in memory per sample divided by bytes_per_sample, rounded up.
    peak_mib_per_file_mib: float | None = None
    package: str = "skdh"
    # what a person calls the format, for messages ("the GENEActiv reader crashed ...")
    device: str = ""
    # Readers return the raw recording as their "results": input to later steps, not a biomarker.
    signal_step: bool = True

    @property
    def qualified_name(self) -> str:
        return f"{self.package}.{self.module}.{self.process}"

    def reads_temperature(self, params: Mapping) -> bool | None:
        """Whether the step's output has temperature: known from the class or its parameters, else None."""
        if self.temperature == "column_names":
            columns = params.get("column_names")
            return isinstance(columns, Mapping) and "temperature" in columns
        if self.temperature is None:
            return None
        return self.temperature == "always"


_IMU = {"accel": "g", "gyro": "deg/s", "temperature": "degC"}

READERS: tuple[ReaderEntry, ...] = (
    # read_axivity always returns temperature; gyro only on AX6 devices, magnet [uT] on some.
    ReaderEntry(
        "ReadCwa", "io.axivity", (".cwa",), "always", {**_IMU, "magnet": "uT"}, 4.27, 29.5, device="Axivity"
    ),  # 120 packed samples per 512-byte block
    ReaderEntry(
        "ReadBin",
        "io.geneactiv",
        (".bin",),
        "always",
        {"accel": "g", "temperature": "degC"},
        12.7,
        10.5,
        device="GENEActiv",
    ),
    # APDM stores the gyroscope in rad/s and SKDH passes it on unchanged.
    ReaderEntry("ReadApdmH5", "io.apdm", (".h5",), "always", {**_IMU, "gyro": "rad/s"}, device="APDM"),
    # whatever the file holds under the keys it has (time, accel in g, maybe temperature, ...)
    ReaderEntry("ReadNumpyFile", "io.numpy_compressed", (".npz",), None, {"accel": "g"}, device="NumPy .npz"),
    ReaderEntry("ReadCSV", "io.csv", (".csv",), "column_names", {**_IMU, "gyro": "as in the file"}, device="CSV"),
    # streams are optional in an Empatica record: temperature depends on the device/file.
    ReaderEntry("ReadEmpaticaAvro", "io.empatica", (".avro",), None, _IMU, device="Empatica"),
    # reads several files with another reader (its ``reader`` parameter): the files decide.
    ReaderEntry("MultiReader", "io.multireader", (), None, _IMU, device="multi-file"),
)

_BY_NAME: dict[str, ReaderEntry] = {r.qualified_name: r for r in READERS}
_BY_EXTENSION: dict[str, ReaderEntry] = {ext: r for r in READERS for ext in r.extensions}

# Project processes that hand the signal on as their "results" (not readers, no file format).
_OTHER_SIGNAL_STEPS = frozenset({"biomarker_assets.skdh_processes.resample.Resample"})


def _names(cls: type) -> list[str]:
    """``module.Class`` of ``cls`` and its bases, so subclasses are found by their SKDH ancestor."""
    return [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__]


def reader_for_class(cls: type) -> ReaderEntry | None:
    """The registry entry of a reader class (or of a subclass of one); None when it is not a reader."""
    return next((_BY_NAME[n] for n in _names(cls) if n in _BY_NAME), None)


def reader_named(package: object, process: object) -> ReaderEntry | None:
    """The entry for a spec step's ``package`` and ``process`` (class name), without importing anything."""
    return next((r for r in READERS if r.package == package and r.process == process), None)


def reader_for_extension(extension: str) -> ReaderEntry | None:
    """The reader of a file extension (``.cwa`` or ``cwa``, any case); None when no supported reader reads it."""
    ext = extension.lower()
    return _BY_EXTENSION.get(ext if ext.startswith(".") else f".{ext}")


def bytes_per_sample(extension: str) -> float | None:
    """On-disk bytes per sample of a file format (``.bin`` 12.7, ``.cwa`` 4.27); None when not measured."""
    entry = reader_for_extension(extension)
    return None if entry is None else entry.bytes_per_sample


def peak_mib_per_file_mib(extension: str) -> float | None:
    """Run sizing's measured peak MiB per MiB of input file (``.bin`` 10.5, ``.cwa`` 29.5); None when unknown."""
    entry = reader_for_extension(extension)
    return None if entry is None else entry.peak_mib_per_file_mib


#: peak MiB per file MiB assumed for a format without a measured figure: more than any known one
UNKNOWN_FORMAT_MIB_PER_FILE_MIB = 40.0


def mib_per_file_mib(extension: str) -> float:
    """Peak MiB per MiB of file for sizing and memory limits: measured per format, else the unknown-format figure."""
    per_mib = peak_mib_per_file_mib(extension)
    return UNKNOWN_FORMAT_MIB_PER_FILE_MIB if per_mib is None else per_mib


def is_signal_step(proc: object) -> bool:
    """Readers and Resample return the raw signal as 'results'; it is input, not a biomarker."""
    names = _names(type(proc))
    if any(n in _OTHER_SIGNAL_STEPS for n in names):
        return True
    entry = reader_for_class(type(proc))
    return entry is not None and entry.signal_step
