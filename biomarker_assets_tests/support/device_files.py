"""Writers of small device files for reader and trap tests, each in the layout SKDH's reader expects.

Only the formats without a real sample in ``../shared/data/skdh-samples/`` are
written here; the tests compare what SKDH reads with the values passed in.

- ``.npz``: what ``numpy.savez`` writes (``ReadNumpyFile`` takes every array,
  needs ``time`` and ``accel``, and uses ``fs`` if present).
- APDM ``.h5``: the layout of APDM Opal files (file format version 5) as
  ``skdh.io.ReadApdmH5`` and SKDH's ``test_apdm.py`` read it: root groups
  ``Annotations``, ``Processed``, ``Sensors``; per monitor ``Sensors/<id>/``
  with ``Accelerometer`` (N, 3) m/s^2, ``Gyroscope`` (N, 3) rad/s,
  ``Magnetometer`` (N, 3) uT, ``Barometer`` (N,) kPa, ``Temperature`` (N,) C and
  ``Time`` (N,) uint64 microseconds since the epoch (UTC), and a
  ``Configuration`` group whose attributes hold ``Label 0`` (the location,
  bytes: the reader calls ``.decode``), ``Sample Rate`` and ``Timezone Offset``
  (hours, applied by the reader when it localizes timestamps).
- Empatica ``.avro``: an Avro object container file with one ``Session`` record
  whose fields are those Empatica documents for EmbracePlus raw data
  (schema v6) and ``skdh.io.ReadEmpaticaAvro`` reads: ``timezone`` (s from
  UTC), and in ``rawData`` the IMU streams ``accelerometer``/``gyroscope``
  (``timestampStart`` us, ``samplingFrequency`` Hz, ``imuParams``
  physical/digital min/max, integer ``x``/``y``/``z``), value streams ``eda``,
  ``temperature``, ``bvp`` (float ``values``), ``steps`` (int ``values``),
  ``systolicPeaks`` (``peaksTimeNanos``) and ``tags`` (``tagsTimeMicros``). Written
  with the ``avro`` package SKDH reads it with. EmbracePlus ships the gyroscope
  empty, as here.
- Synthetic recordings for the traps: still postures for calibration, and a
  short wrist recording from the project's generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from avro.datafile import DataFileWriter
from avro.io import DatumWriter
from avro.schema import parse as parse_avro_schema

__all__ = [
    "APDM_SENSORS",
    "EMPATICA_ACCEL_PARAMS",
    "EMPATICA_SCHEMA",
    "still_postures",
    "write_apdm_h5",
    "write_empatica_avro",
    "write_npz",
]


def write_npz(path: Path, **arrays) -> Path:
    """``numpy.savez`` of the given arrays (the format ``ReadNumpyFile`` documents)."""
    path = Path(path)
    np.savez(path, **arrays)
    return path


# ------------------------------------------------------------------------- APDM

#: monitor id -> body location (``Label 0``), as APDM Mobility Lab names them
APDM_SENSORS = {"XI-010284": "Lumbar", "XI-010301": "Right Foot"}


def write_apdm_h5(path: Path, sensors: dict[str, dict], *, fs: float = 128.0, timezone_offset_h: float = -5.0) -> Path:
    """An APDM Opal ``.h5`` with one ``Sensors/<monitor id>`` group per entry of ``sensors``.

    ``sensors`` maps a monitor id to ``{"label", "time_us", "accel_ms2", "gyro",
    "magnet", "temperature"}`` (``time_us`` uint64 UTC microseconds; accel in
    m/s^2 as APDM stores it). ``Processed/<id>/Orientation`` holds an identity
    quaternion per sample, as the Mobility Lab export does.
    """
    path = Path(path)
    with h5py.File(path, "w") as f:
        f.attrs["FileFormatVersion"] = np.int32(5)
        f.attrs["CaseIdList"] = np.array([b"case-1"] * len(sensors))
        f.attrs["MonitorLabelList"] = np.array([s["label"].encode() for s in sensors.values()])
        f.create_group("Annotations")
        processed = f.create_group("Processed")
        group = f.create_group("Sensors")
        for monitor, data in sensors.items():
            n = data["time_us"].size
            g = group.create_group(monitor)
            g.create_dataset("Time", data=np.asarray(data["time_us"], dtype=np.uint64))
            g.create_dataset("Accelerometer", data=np.asarray(data["accel_ms2"], dtype=np.float32))
            g.create_dataset("Gyroscope", data=np.asarray(data["gyro"], dtype=np.float32))
            g.create_dataset("Magnetometer", data=np.asarray(data["magnet"], dtype=np.float32))
            g.create_dataset("Barometer", data=np.full(n, 101.3, dtype=np.float32))
            g.create_dataset("Temperature", data=np.asarray(data["temperature"], dtype=np.float32))
            config = g.create_group("Configuration")
            config.attrs["Label 0"] = np.bytes_(data["label"])
            config.attrs["Sample Rate"] = np.uint16(fs)
            config.attrs["Timezone Offset"] = np.float64(timezone_offset_h)
            config.attrs["Accelerometer Range"] = np.uint8(16)
            orientation = np.zeros((n, 4), dtype=np.float32)
            orientation[:, 0] = 1.0
            processed.create_group(monitor).create_dataset("Orientation", data=orientation)
    return path


# ---------------------------------------------------------------------- Empatica

#: EmbracePlus accelerometer scaling: +-16 g over a signed 16-bit range
EMPATICA_ACCEL_PARAMS = {"physicalMin": -16, "physicalMax": 16, "digitalMin": -32768, "digitalMax": 32767}


def _version(name: str) -> dict:
    return {"name": name, "type": "Version"}


EMPATICA_SCHEMA: dict = {
    "type": "record",
    "name": "Session",
    "namespace": "empatica.format.avro",
    "doc": "EmbracePlus raw data session (field layout of Empatica's schema v6).",
    "fields": [
        {
            "name": "schemaVersion",
            "type": {
                "type": "record",
                "name": "Version",
                "fields": [{"name": k, "type": "int"} for k in ("major", "minor", "patch")],
            },
        },
        _version("fwVersion"),
        _version("hwVersion"),
        _version("algoVersion"),
        {"name": "timezone", "type": "int", "doc": "offset from UTC at the participant, in seconds"},
        {
            "name": "enrollment",
            "type": {
                "type": "record",
                "name": "Enrollment",
                "fields": [
                    {"name": k, "type": "string"} for k in ("participantID", "siteID", "studyID", "organizationID")
                ],
            },
        },
        {"name": "deviceSn", "type": "string"},
        {"name": "deviceModel", "type": "string"},
        {
            "name": "rawData",
            "type": {
                "type": "record",
                "name": "RawData",
                "fields": [
                    {
                        "name": "accelerometer",
                        "type": {
                            "type": "record",
                            "name": "ImuData",
                            "fields": [
                                {"name": "timestampStart", "type": "long", "doc": "UTC, microseconds"},
                                {"name": "samplingFrequency", "type": "float"},
                                {
                                    "name": "imuParams",
                                    "type": {
                                        "type": "record",
                                        "name": "ImuParams",
                                        "fields": [
                                            {"name": k, "type": "int"}
                                            for k in ("physicalMin", "physicalMax", "digitalMin", "digitalMax")
                                        ],
                                    },
                                },
                                *({"name": axis, "type": {"type": "array", "items": "int"}} for axis in "xyz"),
                            ],
                        },
                    },
                    {"name": "gyroscope", "type": "ImuData"},
                    {
                        "name": "eda",
                        "type": {
                            "type": "record",
                            "name": "Values",
                            "fields": [
                                {"name": "timestampStart", "type": "long"},
                                {"name": "samplingFrequency", "type": "float"},
                                {"name": "values", "type": {"type": "array", "items": "float"}},
                            ],
                        },
                    },
                    {"name": "temperature", "type": "Values"},
                    {
                        "name": "tags",
                        "type": {
                            "type": "record",
                            "name": "Tags",
                            "fields": [{"name": "tagsTimeMicros", "type": {"type": "array", "items": "long"}}],
                        },
                    },
                    {"name": "bvp", "type": "Values"},
                    {
                        "name": "systolicPeaks",
                        "type": {
                            "type": "record",
                            "name": "SystolicPeaks",
                            "fields": [{"name": "peaksTimeNanos", "type": {"type": "array", "items": "long"}}],
                        },
                    },
                    {
                        "name": "steps",
                        "type": {
                            "type": "record",
                            "name": "StepCounts",
                            "fields": [
                                {"name": "timestampStart", "type": "long"},
                                {"name": "samplingFrequency", "type": "float"},
                                {"name": "values", "type": {"type": "array", "items": "int"}},
                            ],
                        },
                    },
                ],
            },
        },
    ],
}


def _values(start_us: int, fs: float, values) -> dict:
    return {"timestampStart": int(start_us), "samplingFrequency": float(fs), "values": [float(v) for v in values]}


def write_empatica_avro(
    path: Path,
    *,
    start_us: int,
    timezone_s: int,
    accel_digital: np.ndarray,
    accel_fs: float,
    eda: np.ndarray,
    eda_fs: float,
    temperature: np.ndarray,
    temperature_fs: float,
    bvp: np.ndarray,
    bvp_fs: float,
    steps: np.ndarray,
    steps_fs: float,
    peaks_ns: np.ndarray,
) -> Path:
    """One EmbracePlus ``Session`` record; every stream starts at ``start_us`` (as the device synchronizes them)."""
    accel_digital = np.asarray(accel_digital, dtype=np.int64)
    record = {
        "schemaVersion": {"major": 6, "minor": 4, "patch": 0},
        "fwVersion": {"major": 3, "minor": 3, "patch": 3},
        "hwVersion": {"major": 6, "minor": 0, "patch": 2},
        "algoVersion": {"major": 6, "minor": 4, "patch": 1},
        "timezone": int(timezone_s),
        "enrollment": {"participantID": "DM001", "siteID": "1", "studyID": "demo", "organizationID": "1"},
        "deviceSn": "3YK3J152B2",
        "deviceModel": "EmbracePlus",
        "rawData": {
            "accelerometer": {
                "timestampStart": int(start_us),
                "samplingFrequency": float(accel_fs),
                "imuParams": dict(EMPATICA_ACCEL_PARAMS),
                **{axis: accel_digital[:, j].tolist() for j, axis in enumerate("xyz")},
            },
            "gyroscope": {
                "timestampStart": 0,
                "samplingFrequency": 0.0,
                "imuParams": {"physicalMin": 0, "physicalMax": 0, "digitalMin": 0, "digitalMax": 0},
                "x": [],
                "y": [],
                "z": [],
            },
            "eda": _values(start_us, eda_fs, eda),
            "temperature": _values(start_us, temperature_fs, temperature),
            "tags": {"tagsTimeMicros": []},
            "bvp": _values(start_us, bvp_fs, bvp),
            "systolicPeaks": {"peaksTimeNanos": [int(p) for p in peaks_ns]},
            "steps": {
                "timestampStart": int(start_us),
                "samplingFrequency": float(steps_fs),
                "values": [int(v) for v in steps],
            },
        },
    }
    path = Path(path)
    schema = parse_avro_schema(json.dumps(EMPATICA_SCHEMA))
    with open(path, "wb") as handle:
        writer = DataFileWriter(handle, DatumWriter(), schema)
        writer.append(record)
        writer.close()
    return path


# ----------------------------------------------------------------- synthetic signals


def still_postures(
    hours: float, fs: float = 10.0, minutes: float = 5.0, seed: int = 0, orientations: int | None = None
):
    """``(time, accel)``: the sensor lying still in a new random orientation every ``minutes``.

    What an accelerometer calibration needs (still periods spread over the
    sphere); with ``orientations=1`` it never turns, so there is nothing to fit.
    Noise 3 mg, below SKDH's 13 mg stillness threshold. Time starts 2024-03-04 00:00 (naive local).
    """
    rng = np.random.default_rng(seed)
    n = int(round(hours * 3600 * fs))
    per = int(round(minutes * 60 * fs))
    count = orientations or (n // per + 1)
    dirs = rng.normal(size=(count, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    which = (np.arange(n) // per) % count
    accel = dirs[which] + rng.normal(0.0, 0.003, (n, 3))
    time = 1709510400.0 + np.arange(n) / fs
    return time, accel
