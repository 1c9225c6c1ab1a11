"""The survey: the holdout's one set of checks, run before any model does.

Only the target, slice and id columns are read (cheap for Parquet, which is columnar). It
finds missing target values, non-numeric regression targets, duplicated ids and missing
columns with global data-row numbers, infers the task, and collects the label set before any
model runs, so the positive label and the gates' fit are settled before scoring. CSV chunks
infer dtypes one by one; when they disagree the survey resolves them the way a whole-file
read does and re-reads those columns with that dtype forced.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
import hashlib
from pathlib import Path
import threading

import numpy as np
import pandas as pd

from ..config.spec import DataSpec
from ..errors import DataError
from ..paths import sha256_file
from .read import (SCORES_TASK, check_width, header_width, infer_task, inference_note, missing_column, plain,
                   table_format)
from .read_chunks import iter_chunks, read_columns

MAX_DISTINCT_LABELS = 10_000  # a classification target with more distinct values is refused


_KIND_DTYPE = {"i": "int64", "f": "float64", "b": "bool", "O": object}


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "b"
    if pd.api.types.is_integer_dtype(series):
        return "i"
    if pd.api.types.is_float_dtype(series):
        return "f"
    return "O"


def _resolve(kinds: set[str]) -> str:
    """The kind one whole-file read gives a column whose chunks read as ``kinds``."""
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= {"i", "f"}:
        return "f"
    return "O"


@dataclass
class Survey:
    """What the first pass learned: enough to plan the scoring pass, nothing per row."""

    path: Path
    source: str
    fmt: str
    digest: "str | Future"  # a Parquet file is hashed on a thread while it is scored
    target: str | None  # None: the holdout lists examples whose scores are compared (SCORES_TASK)
    task: str
    rows: int
    observed: list  # target values in order of first appearance (classification)
    dtypes: dict | None  # CSV: dtypes forced on target, slices and id so every chunk agrees
    columns: list
    ids: pd.Series | None = field(default=None, repr=False)  # only with data.id_column
    first_target: float = 0.0  # regression: the first row's target (the loss moments' centre)
    # The whole holdout's chunks, held in memory when the file may not outlive the survey (a
    # sealed holdout's decrypted copy is removed before any train command runs).
    held: list | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()  # for the report: how the task was inferred, when that may surprise

    @property
    def sha256(self) -> str:
        if isinstance(self.digest, Future):
            self.digest = self.digest.result()
        return self.digest


def survey(path: Path, spec: DataSpec, *, task: str | None, label: str, chunk_rows: int,
           hold: bool = False) -> Survey:
    """Check the holdout (the one set of holdout checks) and plan the scoring pass.

    ``hold`` reads every column and keeps the chunks, so the file can be removed at once.
    """
    fmt = table_format(path, "data.holdout")
    check_width(label, header_width(path, fmt))  # before pandas parses a hostile header
    columns = read_columns(path, label)
    check_width(label, len(columns))  # a compressed CSV is counted only once parsed
    dupes = pd.Index(columns)[pd.Index(columns).duplicated()].tolist()
    if dupes:
        raise DataError(f"{label}: duplicated column names {dupes}")
    if spec.target is not None and spec.target not in columns:
        raise missing_column(label, f"target column {spec.target!r} (data.target)", spec.target, columns)
    named = [("data.id_column", spec.id_column), ("data.group_column", spec.group_column)]
    for key, name in named + [(f"data.slices[{i}]", s) for i, s in enumerate(spec.slices)]:
        if name is not None and name not in columns:
            raise missing_column(label, f"column {name!r} ({key})", name, columns)
    wanted = list(dict.fromkeys([name for name in (spec.target, *spec.slices) if name is not None]
                                + [name for _, name in named if name]))
    hasher = hashlib.sha256() if fmt == "csv" else None
    dtypes = None
    read = None if hold else wanted
    seen = _survey_pass(path, label, spec, wanted, chunk_rows, None, hasher, read)
    if fmt == "csv":
        resolved = {c: _resolve(k) for c, k in seen["kinds"].items() if k}
        dtypes = {c: _KIND_DTYPE[k] for c, k in resolved.items()}
        if any(len(k) > 1 for k in seen["kinds"].values()):
            seen = _survey_pass(path, label, spec, wanted, chunk_rows, dtypes, None, read)
    digest = hasher.hexdigest() if hasher is not None else _hash_in_background(path)
    rows = seen["rows"]
    if rows == 0:
        raise DataError(f"{label}: the holdout has no rows")
    if seen["group_missing"]:
        raise DataError(
            f"{label}: group column {spec.group_column!r} (data.group_column) has {seen['group_missing']} missing "
            f"value(s) (first at data row {seen['first_group_missing'] + 1}); every row needs its group"
        )
    if seen["missing"]:
        raise DataError(
            f"{label}: target column {spec.target!r} has {seen['missing']} missing value(s) "
            f"(first at data row {seen['first_missing'] + 1})"
        )
    inferred = task is None
    if spec.target is None:  # the holdout lists examples; per-example scores are compared (mean_score)
        task = SCORES_TASK
    task = task or infer_task(seen["target_sample"])
    if task == "regression" and seen["first_bad"] is not None:
        row, value = seen["first_bad"]
        raise DataError(
            f"{label}: target column {spec.target!r} must be numeric and finite for regression; "
            f"data row {row + 1} holds {plain(value)!r}"
        )
    ids = None
    if spec.id_column is not None:
        ids = pd.concat(seen["ids"], ignore_index=True)
        dup = ids.duplicated()
        if dup.any():
            raise DataError(
                f"{label}: id column {spec.id_column!r} (data.id_column) has duplicated ids, e.g. {plain(ids[dup].iloc[0])!r}"
            )
    observed = []
    first = 0.0
    if task == "regression" and seen["first_value"] is not None:
        first = float(pd.to_numeric(pd.Series([seen["first_value"]])).iloc[0])
    if task == "classification":
        if seen["overflow"]:
            raise DataError(
                f"{label}: target column {spec.target!r} has more than {MAX_DISTINCT_LABELS} distinct values; "
                "that is not a classification target (set task: regression?)"
            )
        observed = list(seen["uniques"])
    note = inference_note(seen["target_sample"], len(observed)) if inferred and task == "classification" else None
    return Survey(path=path, source=label, fmt=fmt, digest=digest, target=spec.target, task=task, rows=rows,
                  observed=observed, dtypes=dtypes, columns=columns, ids=ids,
                  first_target=first, held=seen["frames"] if hold else None,
                  notes=(note,) if note else ())


def _hash_in_background(path: Path) -> Future:
    """The file's SHA-256, computed on a daemon thread (hashlib releases the GIL on large
    blocks, so on a second core the hash costs the evaluation nothing)."""
    future: Future = Future()

    def run():
        try:
            future.set_result(sha256_file(path))
        except BaseException as exc:  # delivered to whoever asks for the hash
            future.set_exception(exc)

    threading.Thread(target=run, name="mlgate-sha256", daemon=True).start()
    return future


def _survey_pass(path, label, spec, wanted, chunk_rows, dtypes, hasher, read) -> dict:
    seen = {"rows": 0, "kinds": {c: set() for c in wanted}, "missing": 0, "first_missing": None,
            "first_bad": None, "uniques": {}, "overflow": False, "ids": [], "target_sample": None,
            "first_value": None, "frames": [], "group_missing": 0, "first_group_missing": None}
    for frame in iter_chunks(path, label, chunk_rows=chunk_rows, columns=read, dtypes=dtypes, hasher=hasher):
        if read is None:
            seen["frames"].append(frame)
        offset = seen["rows"]
        seen["rows"] += len(frame)
        if not len(frame):
            continue
        for c in wanted:
            seen["kinds"][c].add(_kind(frame[c]))
        if spec.target is not None:
            _see_target(seen, frame[spec.target], offset)
        if spec.id_column is not None:
            seen["ids"].append(frame[spec.id_column].reset_index(drop=True))
        if spec.group_column is not None:
            absent = frame[spec.group_column].isna().to_numpy()
            if absent.any():
                if seen["first_group_missing"] is None:
                    seen["first_group_missing"] = offset + int(np.argmax(absent))
                seen["group_missing"] += int(absent.sum())
    # A whole-file read of mixed chunks gives the resolved kind; infer_task must see that one.
    if seen["target_sample"] is not None and len(seen["kinds"][spec.target]) > 1:
        kind = _resolve(seen["kinds"][spec.target])
        seen["target_sample"] = pd.Series([], dtype=_KIND_DTYPE[kind])
    return seen


def _see_target(seen: dict, target: pd.Series, offset: int) -> None:
    """One chunk's target: its first value, missing values, non-numbers, the distinct labels."""
    if seen["target_sample"] is None:
        seen["target_sample"] = target.iloc[:0]
        seen["first_value"] = target.iloc[0]
    missing = target.isna().to_numpy()
    if missing.any():
        if seen["first_missing"] is None:
            seen["first_missing"] = offset + int(np.argmax(missing))
        seen["missing"] += int(missing.sum())
    if seen["first_bad"] is None:
        values = pd.to_numeric(target, errors="coerce")
        bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            first = int(np.argmax(bad))
            seen["first_bad"] = (offset + first, target.iloc[first])
    if not seen["overflow"]:
        for v in pd.unique(target[~missing]):
            seen["uniques"][v] = None
        if len(seen["uniques"]) > MAX_DISTINCT_LABELS:
            seen["overflow"], seen["uniques"] = True, {}
