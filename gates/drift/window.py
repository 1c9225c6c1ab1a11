"""The two samples the drift watch compares, read in chunks: the reference (the holdout, or a
named file) and the current window of production inputs (files or a SQL source, cut to the
last ``window`` by its time column).

Files stream chunk by chunk (CSV chunks, Parquet batches, JSON lines in chunks), so a window
larger than memory costs one pass; a SQL source arrives in chunks of its own reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import pandas as pd

from ..canary.files import file_format, find_files
from ..config.spec import DriftSpec, Policy
from ..errors import InputError
from ..holdout.read_chunks import iter_chunks, read_columns
from ..holdout.source import locate_holdout
from ..paths import inside

CHUNK_ROWS = 1_000_000


@dataclass
class Source:
    """A table read in chunks; ``columns`` is every column it has (for the missing-column message)."""

    name: str
    columns: list
    chunks: Iterator[pd.DataFrame]
    described: str = ""
    skipped: int = 0  # rows whose time is not a time (counted, left out: one bad row must not stop the watch)


def reference_table(policy: Policy, workspace: Path, env: Mapping[str, str] | None):
    """The reference file's path, its label, and what to discard afterwards (a sealed holdout's
    plaintext lives no longer than the watch)."""
    spec = policy.drift
    if spec.reference is not None:
        return inside(workspace, spec.reference, "drift.reference"), spec.reference, None
    location = locate_holdout(policy, workspace, data_override=None, env=env or {})
    return location.path, policy.data.holdout, location


def reference_source(path: Path, label: str, columns: list | None, chunk_rows: int | None = None) -> Source:
    chunk_rows = chunk_rows or CHUNK_ROWS
    have = [str(c) for c in read_columns(path, label)]
    wanted = None if columns is None else [c for c in columns if c in have]
    return Source(label, have, iter_chunks(path, label, chunk_rows=chunk_rows, columns=wanted))


def current_source(spec: DriftSpec, workspace: Path, wanted: list[str], *, env: Mapping[str, str] | None,
                   now: datetime, chunk_rows: int | None = None) -> Source:
    """The current window's rows (only ``wanted`` columns it has, and the time column)."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    source = spec.current
    need = list(dict.fromkeys(wanted + ([spec.time_column] if spec.time_column else [])))
    if source.path is not None:
        files = find_files(source.path, workspace, source.where)
        have: list = []
        for path, name in files:
            cols = _file_columns(path, name, source.where)
            have += [c for c in cols if c not in have]
        chunks = (chunk for path, name in files for chunk in _file_chunks(path, name, source.where, need, chunk_rows))
        described = f"{source.path}: {len(files)} file" + ("s" if len(files) != 1 else "")
    else:
        from ..canary.sql import read_sql

        parts, described = read_sql(source, workspace, need, env)
        have = list(parts[0].columns) if parts else list(need)
        chunks = (p.frame for p in parts)
    if spec.time_column is not None and spec.time_column not in have:
        raise InputError(f"{source.where}: no time column {spec.time_column!r} (drift.current.time_column); "
                         f"its columns are {have[:30]}")
    result = Source(source.where, have, chunks, described)
    if spec.window_s is not None:
        result.chunks = _in_window(chunks, spec, now, result)
    return result


def _file_columns(path: Path, name: str, key: str) -> list:
    fmt = file_format(path, key)
    if fmt == "jsonl":  # the keys of the first lines (one line may lack some)
        first = next(pd.read_json(path, lines=True, chunksize=10_000), None)
        return [] if first is None else [str(c) for c in first.columns]
    return [str(c) for c in read_columns(path, f"{key}: {name}")]


def _file_chunks(path: Path, name: str, key: str, need: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    fmt = file_format(path, key)
    if fmt == "jsonl":
        for chunk in pd.read_json(path, lines=True, chunksize=chunk_rows):
            yield chunk.reindex(columns=need)  # a key absent from a line is a missing value
        return
    have = [str(c) for c in read_columns(path, f"{key}: {name}")]
    yield from iter_chunks(path, f"{key}: {name}", chunk_rows=chunk_rows, columns=[c for c in need if c in have])


def _in_window(chunks: Iterator[pd.DataFrame], spec: DriftSpec, now: datetime, source: Source) -> Iterator[pd.DataFrame]:
    start = pd.Timestamp(now).tz_convert("UTC") - pd.Timedelta(seconds=spec.window_s)
    end = pd.Timestamp(now).tz_convert("UTC")
    for chunk in chunks:
        times = parse_times(chunk[spec.time_column], strict=False)
        source.skipped += int((times.isna() & chunk[spec.time_column].notna()).sum())
        keep = ((times >= start) & (times <= end)).to_numpy()
        if keep.any():
            yield chunk.loc[keep]


def parse_times(values: pd.Series, key: str = "", column: str = "", *, strict: bool = True) -> pd.Series:
    """ISO 8601 text (naive = UTC) or Unix time — seconds, or milliseconds when the numbers are
    too large for seconds (after the year 5000). ``strict``: a value that is neither is named;
    else it becomes NaT for the caller to count."""
    if pd.api.types.is_datetime64_any_dtype(values):
        times = pd.to_datetime(values, utc=True)
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        seconds = values.astype(float)
        seconds = seconds.where(seconds.abs() < 1e11, seconds / 1000.0)
        times = pd.to_datetime(seconds, unit="s", utc=True, errors="coerce")
    else:
        times = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    bad = times.isna() & values.notna()
    if strict and bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{key}: column {column}: {values.iloc[i]!r} is not a time (ISO 8601 or Unix seconds)")
    return times
