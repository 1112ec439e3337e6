"""SKDH results as Arrow tables and byte-identical Parquet files (no SKDH import: plain dicts and arrays)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# step names become result keys and Parquet file names
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def _key_str(key: Any) -> str:
    """Column-name part for a dict key; tuples such as day windows (12, 24) become ``12_24``."""
    if isinstance(key, tuple):
        return "_".join(_key_str(k) for k in key)
    if isinstance(key, np.generic):
        key = key.item()
    return str(key)


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}/{_key_str(k)}" if prefix else _key_str(k), v, out)
    else:
        out.append((prefix, value))


def _pandas_column(value: Any) -> pa.Array | None:
    """A pandas Index/Series/array as one typed Arrow value per row (timestamps keep their zone); else None.

    SKDH hands some per-stride results over as pandas objects (``GaitLumbar``'s ``IC Datetime``
    is a ``DatetimeIndex``); turned into text they became one repr of the whole index per row.
    Detected by module name so this module needs no pandas import.
    """
    if not type(value).__module__.startswith("pandas") or not hasattr(value, "__len__"):
        return None
    try:
        return pa.array(value)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in value], type=pa.string())


def _to_array(value: Any) -> Any:
    """A leaf as an ndarray or Arrow array (or a scalar: Python/NumPy scalars, str, None, datetimes, 0-d arrays)."""
    if value is None or isinstance(value, (str, bytes, bool, int, float, np.generic, dt.datetime, dt.date)):
        return value.item() if isinstance(value, np.generic) else value
    column = _pandas_column(value)
    if column is not None:
        return column
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except ValueError:  # ragged
            value = np.asarray([str(v) for v in value])
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value.item()
        return value
    return str(value)


def _arrow(values: Any) -> pa.Array:
    """NumPy column -> Arrow; object columns that Arrow cannot type become strings."""
    if isinstance(values, pa.Array):
        return values
    if isinstance(values, np.ndarray) and values.dtype.kind == "O":
        try:
            return pa.array(values.tolist())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([None if v is None else str(v) for v in values.tolist()], type=pa.string())
    return pa.array(values)


def _broadcast(value: Any, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, type=pa.string())
    return pa.array([value] * n)


def results_to_tables(results: dict[str, dict]) -> dict[str, pa.Table]:
    """One Arrow table per step that returned results (steps in pipeline order).

    Rules, all deterministic:

    - nested dicts are flattened with ``parent/child`` column names; tuple keys
      (day windows) are joined with ``_`` (``day_ends/12_24``);
    - lists become arrays; 1-D arrays are columns; pandas objects (``IC Datetime``, a
      ``DatetimeIndex``) are columns typed by Arrow, timestamps with their zone; 2-D (and higher, reshaped to
      2-D) arrays are split into ``name_0``, ``name_1``, ...;
    - the step's table has the columns of the most common length (ties: the
      longer length); scalars (including None -> null string) are repeated down it;
    - columns of any other length go to a table ``<step>__<length>`` (e.g. a
      per-bout array next to per-stride arrays);
    - a step with only scalars gives a one-row table; a step that returned
      nothing gives no table;
    - column names keep SKDH's order; a clash after flattening gets ``#2``, ``#3``.
    """
    tables: dict[str, pa.Table] = {}
    for step, res in results.items():
        if not res:
            continue
        leaves: list[tuple[str, Any]] = []
        _flatten("", res, leaves)
        scalars: list[tuple[str, Any]] = []
        columns: list[tuple[str, np.ndarray | pa.Array]] = []
        for name, value in leaves:
            value = _to_array(value)
            if isinstance(value, pa.Array):
                columns.append((name, value))
            elif not isinstance(value, np.ndarray):
                scalars.append((name, value))
            elif value.ndim == 1:
                columns.append((name, value))
            else:
                flat = value.reshape(value.shape[0], int(np.prod(value.shape[1:])))
                columns.extend((f"{name}_{j}", flat[:, j]) for j in range(flat.shape[1]))
        lengths = Counter(len(v) for _, v in columns)
        main_len = max(lengths, key=lambda n: (lengths[n], n)) if lengths else 1
        groups: dict[int, list[tuple[str, pa.Array]]] = {main_len: []}
        for name, value in columns:
            groups.setdefault(len(value), []).append((name, _arrow(value)))
        groups[main_len].extend((name, _broadcast(value, main_len)) for name, value in scalars)
        for n, cols in groups.items():
            if not cols:
                continue
            table_name = step if n == main_len else f"{step}__{n}"
            tables[table_name] = pa.table(dict(_unique(cols)))
    return tables


def _unique(cols: list[tuple[str, pa.Array]]) -> list[tuple[str, pa.Array]]:
    seen: Counter[str] = Counter()
    out = []
    for name, arr in cols:
        name = name or "value"
        seen[name] += 1
        out.append((name if seen[name] == 1 else f"{name}#{seen[name]}", arr))
    return out


def write_results(tables: dict[str, pa.Table], out_dir: Path) -> list[Path]:
    """Write ``<table>.parquet`` per table into ``out_dir``; same tables -> byte-identical files.

    Schema metadata is dropped (it is where pandas/other writers put run-specific
    data) and options are fixed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        if not NAME_RE.match(name):
            raise ValueError(f"table name {name!r} is not a safe file name")
        path = out_dir / f"{name}.parquet"
        pq.write_table(
            table.replace_schema_metadata(None),
            path,
            compression="zstd",
            version="2.6",
            use_dictionary=True,
            write_statistics=True,
            store_schema=True,
        )
        paths.append(path)
    return paths
