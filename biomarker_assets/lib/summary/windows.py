"""The day window each SKDH day-level result belongs to, and whether the recording covered all of it.

SKDH numbers days per step (``Day N``): with different windows (Sleep noon-to-noon, activity
midnight-to-midnight, both valid) Day 1 of one step is not Day 1 of the other. A window is
named by its actual start and end (local wall clock), derived from the step's
``day_window`` (base hour, period hours) and the covered start SKDH reports; it is partial
when the recording starts after the window's start or ends before its end.

SKDH 0.17.18 reports the covered part of each window: Sleep and ActivityLevelClassification as
``Day Start Timestamp``/``Day End Timestamp`` (their ``day_window`` is a constructor
parameter, taken from the resolved pipeline), GaitLumbar as ``Day Start Datetime``/
``Day End Datetime`` with ``Processing Start Hour``/``Processing End Hour``.

With a study time zone SKDH lays windows on the local wall clock (``DateOffset(days=1)`` on
zone-aware times), so a 24 h window on the day clocks go back lasts 25 real hours. SKDH's text
has no offset: the offset of each edge comes from the zone here, and covered hours are real
elapsed hours (UTC difference), never a wall-clock difference. An ambiguous wall time (the
repeated hour) is read as its first occurrence (``fold=0``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

#: a covered edge this close to the window's edge is the edge (SKDH's last sample is one interval short)
EDGE_TOLERANCE = timedelta(minutes=1)
#: (covered start, covered end) columns, per SKDH step family
COVERED_COLUMNS = (("Day Start Timestamp", "Day End Timestamp"), ("Day Start Datetime", "Day End Datetime"))
#: day-level values that describe the recording rather than a per-day endpoint: kept for partial windows
WHOLE_RECORDING_KEYS = frozenset({"N wear hours", "Wear Minutes", "N hours", "Total Minutes", "Day N"})
NAIVE_ZONE = "device clock (no time zone)"


@dataclass(frozen=True)
class Window:
    start: datetime  # the window's nominal start, local wall clock
    end: datetime
    covered_hours: float  # real elapsed hours of the window the recording covers
    partial: bool
    start_offset: str | None = None  # UTC offset of start/end in the study's zone ("+01:00"); None: no zone
    end_offset: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.start.isoformat(), self.end.isoformat())


def parse_local(value: Any) -> datetime | None:
    """SKDH's timestamp text (``2024-03-04 12:00:00.000000``, up to ns digits) as a naive local datetime."""
    if value is None or value == "":
        return None
    text = str(value)
    if "." in text:  # Python keeps microseconds only
        head, frac = text.split(".", 1)
        digits = "".join(itertools.takewhile(str.isdigit, frac))  # then maybe a UTC offset
        text = f"{head}.{digits[:6].ljust(6, '0')}{frac[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


def _offset_text(wall: datetime, zone: ZoneInfo) -> str:
    offset = wall.replace(tzinfo=zone).utcoffset() or timedelta(0)
    sign, minutes = ("-" if offset < timedelta(0) else "+"), abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def window_of(
    covered_start: datetime, covered_end: datetime, base: int, period: int, time_zone: str | None = None
) -> Window:
    """The (base hour, period hours) window holding ``covered_start``, and how much of it is covered.

    Edges are local wall clock, as SKDH lays them; with ``time_zone`` durations are real elapsed time.
    """
    start = covered_start.replace(hour=base % 24, minute=0, second=0, microsecond=0)
    if start > covered_start:
        start -= timedelta(days=1)
    end = start + timedelta(hours=period)  # wall clock: SKDH's end hour is (base + period) % 24 on the clock
    zone = ZoneInfo(time_zone) if time_zone else None

    def elapsed(a: datetime, b: datetime) -> timedelta:
        if zone is None:
            return b - a
        # aware datetimes sharing a tzinfo subtract as wall clock: compare in UTC
        return b.replace(tzinfo=zone).astimezone(UTC) - a.replace(tzinfo=zone).astimezone(UTC)

    partial = elapsed(start, covered_start) > EDGE_TOLERANCE or elapsed(covered_end, end) > EDGE_TOLERANCE
    covered = elapsed(max(covered_start, start), min(covered_end, end)).total_seconds() / 3600.0
    offsets = (_offset_text(start, zone), _offset_text(end, zone)) if zone else (None, None)
    return Window(start, end, round(covered, 4), partial, *offsets)


def table_windows(
    columns: Mapping[str, Sequence[Any]], window: tuple[int, int] | None, time_zone: str | None = None
) -> list[Window | None] | None:
    """One window per row of a day-level result (None where the row has no timestamps); None if it has none.

    ``window`` is the step's (base, period); a result carrying ``Processing Start/End Hour`` says its own.
    ``time_zone``: the IANA zone SKDH windowed in (``tz_name``), None for the device's naive clock.
    """
    names = next(((s, e) for s, e in COVERED_COLUMNS if s in columns and e in columns), None)
    if names is None:
        return None
    starts, ends = columns[names[0]], columns[names[1]]
    bases = columns.get("Processing Start Hour")
    stops = columns.get("Processing End Hour")
    out: list[Window | None] = []
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        start, end = parse_local(s), parse_local(e)
        row_window = (
            (int(bases[i]), int(stops[i]) - int(bases[i])) if bases is not None and stops is not None else window
        )
        if start is None or end is None or row_window is None or row_window[1] <= 0:
            out.append(None)
        else:
            out.append(window_of(start, end, *row_window, time_zone))
    return out


def without_partial_windows(
    results: Mapping[str, Any], windows: Mapping[str, tuple[int, int]], time_zone: str | None = None
) -> dict[str, Any]:
    """``results`` with each per-day endpoint of a partial window set to NaN (headline means skip NaN).

    Values that describe the recording (worn hours, minutes recorded) are kept: wear time is a total.
    """
    import numpy as np  # imported on use: the code location loads without it

    out: dict[str, Any] = dict(results)
    for step, res in results.items():
        if not isinstance(res, Mapping) or COVERED_COLUMNS[0][0] not in res:
            continue  # day-level steps only: a gait bout is a bout, whatever part of its day was recorded
        found = table_windows(res, windows.get(step), time_zone)
        if not found or not any(w is not None and w.partial for w in found):
            continue
        partial = np.array([w is not None and w.partial for w in found])
        masked = dict(res)
        for key, value in res.items():
            arr = np.asarray(value) if not isinstance(value, (str, bytes)) else None
            if key in WHOLE_RECORDING_KEYS or arr is None or arr.shape[:1] != partial.shape:
                continue
            if np.issubdtype(arr.dtype, np.number):
                arr = arr.astype(float, copy=True)
                arr[partial] = np.nan
                masked[key] = arr
        out[step] = masked
    return out
