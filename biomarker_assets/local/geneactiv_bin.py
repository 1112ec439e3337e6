"""GENEActiv ``.bin`` writer, so the synthetic wrist day goes through SKDH's own reader.

GENEActiv ``.bin`` layout, checked against the real ``gnactv_sample.bin`` and
SKDH's C reader (``read_geneactiv.c``): a 59-line text header (the reader takes
the frequency from line 20 with ``strtol``, then, after ``Calibration Data``,
x/y/z gain and offset, ``Volts``, ``Lux``, and ``Number of Pages`` from line
58), then pages of 300 samples. A page is 9 text lines (``Recorded Data``,
serial, ``Sequence Number``, ``Page Time:YYYY-MM-DD hh:mm:ss:mmm``,
``Unassigned``, ``Temperature``, ``Battery voltage``, ``Device Status``,
``Measurement Frequency``) and one line of 3600 hex digits: per sample 12-bit
two's-complement x, y, z (``g = (raw * 100 - offset) / gain``) and 12 bits of
10-bit light (``lux = floor(raw * Lux / Volts)``), button and a reserved bit.
The reader stamps sample j of a page with page time + j / fs and the page
temperature, so time round-trips exactly (page times are whole milliseconds at
the usual rates) and temperature as the 0.1 C page mean.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from biomarker_assets.local.wrist_recording import generate_wrist_day

__all__ = ["GN_PAGE_SAMPLES", "make_demo_wrist_file", "write_geneactiv_bin"]

GN_PAGE_SAMPLES = 300

_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def _fmt_page_time(t: float) -> str:
    """Unix seconds as GENEActiv's ``YYYY-MM-DD hh:mm:ss:mmm`` (whole milliseconds)."""
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=round(t * 1000))
    return dt.strftime("%Y-%m-%d %H:%M:%S:") + f"{dt.microsecond // 1000:03d}"


def write_geneactiv_bin(
    path: str | os.PathLike[str],
    time: ArrayLike,
    accel: ArrayLike,
    temperature: ArrayLike,
    fs: float,
    *,
    light: ArrayLike | None = None,
    gains: tuple[float, float, float] = (25640, 25385, 25110),
    offsets: tuple[float, float, float] = (212, -930, 154),
    volts: float = 42,
    lux: float = 886,
    serial: str = "990017",
    subject_code: str = "DEMO-001",
    location: str = "left wrist",
    time_zone: str = "GMT +00:00",
) -> Path:
    """Write a GENEActiv ``.bin`` that ``skdh.io.ReadBin`` reads back.

    ``time`` are naive local unix seconds (SKDH's convention) and must be
    regular at ``fs``; only each page's first time stamp is stored, as on the
    device. Accel is stored as 12-bit counts through ``gains``/``offsets``
    (resolution 100/gain, about 3.9 mg; range about +-8 g, clipped), the page
    temperature as the page mean to 0.1 C, and light to the sensor's
    ``Lux / Volts`` step. A last partial page is padded by repeating the final
    sample, as a device always writes whole pages; the reader returns the
    padded length.
    """
    path = Path(path)
    time = np.asarray(time, dtype=float)
    accel = np.asarray(accel, dtype=float)
    temperature = np.asarray(temperature, dtype=float)
    n = time.size
    if accel.shape != (n, 3) or temperature.shape != (n,):
        raise ValueError("accel must be (n, 3) and temperature (n,) for n time stamps")
    if light is not None and np.shape(light) != (n,):
        raise ValueError("light must be (n,) for n time stamps")
    if n == 0:
        raise ValueError("no samples to write")
    if not float(fs).is_integer():
        # the reader takes the header frequency with strtol and would warn on every file
        raise ValueError("GENEActiv headers hold an integer frequency; fs must be whole Hz")
    fs = float(fs)
    if n > 1 and not np.allclose(np.diff(time), 1 / fs, atol=1e-6):
        raise ValueError("time must be regular at fs; pages store one time stamp each")

    n_pages = -(-n // GN_PAGE_SAMPLES)
    pad = n_pages * GN_PAGE_SAMPLES - n
    if pad:
        accel = np.concatenate((accel, np.repeat(accel[-1:], pad, axis=0)))
        temperature = np.concatenate((temperature, np.repeat(temperature[-1:], pad)))
    light_arr = np.zeros(accel.shape[0]) if light is None else np.asarray(light, dtype=float)
    if pad and light is not None:
        light_arr = np.concatenate((light_arr, np.repeat(light_arr[-1:], pad)))

    gains_a = np.asarray(gains, dtype=float)
    offsets_a = np.asarray(offsets, dtype=float)
    raw = np.rint((accel * gains_a + offsets_a) / 100.0).astype(np.int64)
    np.clip(raw, -2048, 2047, out=raw)
    light_raw = np.clip(np.floor(light_arr * volts / lux), 0, 1023).astype(np.int64)
    words = np.empty((raw.shape[0], 4), dtype=np.int64)
    words[:, :3] = raw & 0xFFF
    words[:, 3] = light_raw << 2  # button and reserved bits 0
    nibbles = np.stack(((words >> 8) & 0xF, (words >> 4) & 0xF, words & 0xF), axis=-1)
    data = _HEX[nibbles.reshape(n_pages, GN_PAGE_SAMPLES * 12)]

    page_temp = temperature.reshape(n_pages, GN_PAGE_SAMPLES).mean(axis=1)
    battery = np.linspace(4.17, 3.98, n_pages)
    t_first = time[0]
    start_str = _fmt_page_time(t_first)
    extract_str = _fmt_page_time(t_first + n_pages * GN_PAGE_SAMPLES / fs + 3600)
    config_str = _fmt_page_time(t_first - 1800)
    cal_date = _fmt_page_time(t_first - 200 * 86400)
    period_h = math.ceil(n / fs / 3600)
    blank20 = "\x00" * 20
    blank100 = "\x00" * 100

    header = "\n".join(
        [
            "Device Identity",
            f"Device Unique Serial Code:{serial}",
            "Device Type:GENEActiv",
            "Device Model:1.1",
            "Device Firmware Version:Ver4.08a date14Jul14",
            f"Calibration Date:{cal_date}",
            "",
            "Device Capabilities",
            "Accelerometer Range:-8 to 8",
            "Accelerometer Resolution:0.0039",
            "Accelerometer Units:g",
            "Light Meter Range:0 to 5000",
            "Light Meter Resolution:5",
            "Light Meter Units:lux",
            "Temperature Sensor Range:0 to 70",
            "Temperature Sensor Resolution:0.1",
            "Temperature Sensor Units:deg. C",
            "",
            "Configuration Info",
            f"Measurement Frequency:{int(fs)} Hz",  # line 20, read by SKDH
            f"Measurement Period:{period_h} Hours",
            f"Start Time:{start_str}",
            f"Time Zone:{time_zone}",
            "",
            "Trial Info",
            "Study Centre:DEMO",
            "Study Code:DEMO",
            f"Investigator ID:{blank20}",
            f"Exercise Type:{blank20}",
            f"Config Operator ID:{blank20}",
            f"Config Time:{config_str}",
            f"Config Notes:{blank100}",
            "Extract Operator ID:",
            f"Extract Time:{extract_str}",
            # the module named is where the data comes from; kept so the written bytes stay the same
            "Extract Notes:(synthetic recording, biomarker_assets.local.wrist_recording)",
            "",
            "Subject Info",
            f"Device Location Code:{location}",
            f"Subject Code:{subject_code}",
            "Date of Birth:1900-1-1",
            "Sex:",
            "Height:",
            "Weight:",
            "Handedness Code:",
            f"Subject Notes:{blank100}",
            "",
            "Calibration Data",  # line 47
            f"x gain:{int(gains[0])}",
            f"x offset:{int(offsets[0])}",
            f"y gain:{int(gains[1])}",
            f"y offset:{int(offsets[1])}",
            f"z gain:{int(gains[2])}",
            f"z offset:{int(offsets[2])}",
            f"Volts:{int(volts)}",
            f"Lux:{int(lux)}",
            "",
            "Memory Status",
            f"Number of Pages:{n_pages}",  # line 58
            "",
        ]
    )
    parts = [header.encode("ascii"), b"\n"]
    page_dt = GN_PAGE_SAMPLES / fs
    for p in range(n_pages):
        page_head = (
            "Recorded Data\n"
            f"Device Unique Serial Code:{serial}\n"
            f"Sequence Number:{p}\n"
            f"Page Time:{_fmt_page_time(t_first + p * page_dt)}\n"
            "Unassigned:\n"
            f"Temperature:{page_temp[p]:.1f}\n"
            f"Battery voltage:{battery[p]:.4f}\n"
            "Device Status:Recording\n"
            f"Measurement Frequency:{fs:.1f}\n"
        )
        parts.append(page_head.encode("ascii"))
        parts.append(data[p].tobytes())
        parts.append(b"\n")
    path.write_bytes(b"".join(parts))
    return path


def make_demo_wrist_file(path: str | os.PathLike[str], hours: float = 24.0, fs: float = 50.0, seed: int = 0) -> Path:
    """Generate the demo recording and write it as a GENEActiv ``.bin`` at ``path``."""
    rec = generate_wrist_day(hours=hours, fs=fs, seed=seed)
    return write_geneactiv_bin(path, rec["time"], rec["accel"], rec["temperature"], rec["fs"], light=rec["light"])
