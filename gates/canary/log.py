"""The canary's prediction log and its late labels, read into one checked frame in time order.

The log is the source of truth and nothing else is kept: every run reads it whole, so reading
twice gives the same frame and a log appended between runs gives more rows, nothing else. Rows
of model versions other than the ones asked for are counted and dropped; every check names the
source's policy key, the column, the row (file and line, or row number) and the value.

Checks run on whole columns; the offending row is looked up only once one is known to exist,
so a ten-million-row log costs seconds, not a Python loop per row.

Notes: a request id, a prediction and a label can come as numbers from one source and as text
from another (``1`` from SQL, ``"1"`` from a CSV). Values that are all numbers become numbers,
so ``1 == 1.0 == "1"``; otherwise all become text (``1.0`` as ``"1"``), and they compare as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Collection, Mapping
import warnings

import numpy as np
import pandas as pd

from ..config.spec import CanaryColumns, CanarySpec, LogSource
from ..errors import InputError
from ..holdout.read import plain, preview
from .files import Part, read_files

ROLES = ("request_id", "model", "time", "prediction", "score", "label")


REQUIRED = ("request_id", "model", "time", "prediction")


# Times a datetime64[ns] can hold; a value outside is refused rather than wrapped around.
EARLIEST, LATEST = pd.Timestamp("1678-01-01", tz="UTC"), pd.Timestamp("2261-12-31", tz="UTC")


@dataclass(frozen=True)
class PredictionLog:
    """The log's rows for the versions asked for, checked, labelled and sorted by time.

    ``frame`` has the columns request_id, model (int64), time (datetime64[ns, UTC]), prediction,
    score (float64, NaN when absent), label (object; None or NaN when unlabelled) and where (text
    such as ``"logs/p1.csv line 7"`` or ``"table predictions, row 12"``), sorted by (time,
    request_id, model) with a fresh index.
    """

    frame: pd.DataFrame
    sources: tuple[str, ...]  # what was read, for the report: "logs/*.parquet: 3 files, 12,345 rows"
    has_score: bool  # the log has the score column
    ignored_rows: int  # rows of other model versions


def read_log(spec: CanarySpec, workspace: Path, *, versions: Collection[int],
             env: Mapping[str, str] | None = None) -> PredictionLog:
    """Read ``spec.log`` (and ``spec.labels``) from files or a database; see the module docstring."""
    cols = spec.columns
    names = {role: getattr(cols, role) for role in ROLES}
    parts, read = _read(spec.log, workspace, [names[r] for r in ROLES], env)
    _require(parts, spec.log, cols, REQUIRED)
    has_score = any(names["score"] in p.frame.columns for p in parts)
    frame, prefixes = _stack(parts, names)

    model = _versions(frame, spec.log.where, names["model"], prefixes)
    keep = np.isin(model, np.asarray(sorted({int(v) for v in versions}), dtype=np.int64))
    ignored = int(len(frame) - keep.sum())
    frame = frame.loc[keep].reset_index(drop=True)
    frame["model"] = model[keep]
    for role in ("request_id", "time", "prediction"):
        _present(frame, frame[role].isna().to_numpy(), spec.log.where, names[role], prefixes)
    frame["time"] = _times(frame, spec.log.where, names["time"], prefixes)
    frame["score"] = _scores(frame, spec.log.where, names["score"], prefixes)
    frame["request_id"] = _comparable([frame["request_id"]])[0]
    _unique(frame, spec, prefixes)

    sources = [read]
    if spec.labels is not None:
        frame, described = _join_labels(frame, spec, workspace, env, prefixes)
        sources.append(f"labels: {described}")
    prediction, label = _comparable([frame["prediction"], frame["label"]])
    frame["prediction"] = prediction
    frame["label"] = _label_column(label, prediction)
    frame["where"] = _where(frame, prefixes)
    frame = frame.take(_order(frame)).reset_index(drop=True)
    return PredictionLog(frame=frame[["request_id", "model", "time", "prediction", "score", "label", "where"]],
                         sources=tuple(sources), has_score=has_score, ignored_rows=ignored)


# ----------------------------------------------------------------------------- reading


def _read(source: LogSource, workspace: Path, wanted: list[str],
          env: Mapping[str, str] | None) -> tuple[list[Part], str]:
    if source.path is not None:
        return read_files(source.path, workspace, source.where, wanted)
    from .sql import read_sql  # SQLAlchemy is imported only for a database

    return read_sql(source, workspace, wanted, env)


def _require(parts: list[Part], source: LogSource, cols: CanaryColumns, roles: tuple[str, ...]) -> None:
    for part in parts:
        for role in roles:
            column = getattr(cols, role)
            if column not in part.frame.columns:
                raise InputError(f"{source.where}: {part.name} has no column {column!r} (canary.columns.{role}); "
                                 f"its columns are {preview(list(part.columns))}")


def _stack(parts: list[Part], names: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """One frame with the roles as column names, plus where each row came from (part, number)."""
    frames = []
    for i, part in enumerate(parts):
        own = part.frame.reset_index(drop=True)
        f = pd.DataFrame({role: own[names[role]] if names[role] in own.columns else None
                          for role in ROLES if role in names}, index=own.index)
        f["_part"] = np.full(len(part.frame), i, dtype=np.int32)
        f["_n"] = part.numbers
        frames.append(f)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame, [p.prefix for p in parts]


def _at(frame: pd.DataFrame, i: int, prefixes: list[str]) -> str:
    """Where row ``i`` (by position) came from: "logs/p1.csv line 7"."""
    return f"{prefixes[int(frame['_part'].iat[i])]}{int(frame['_n'].iat[i])}"


def _first(mask) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


# ----------------------------------------------------------------------------- checks


def _versions(frame: pd.DataFrame, key: str, column: str, prefixes: list[str]) -> np.ndarray:
    """The model column as int64 version numbers; anything else is named."""
    values = frame["model"]
    if pd.api.types.is_integer_dtype(values) and not values.isna().any():
        return values.to_numpy(dtype=np.int64)
    numbers = _numbers(values)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(numbers) & (np.floor(numbers) == numbers) & (np.abs(numbers) < 2 ** 53))
    if not bad.any():
        return numbers.astype(np.int64)
    i = _first(bad)
    raise InputError(f"{key}: column {column!r} at {_at(frame, i, prefixes)} holds {_shown(values.iat[i])}, "
                     "not an integer model version")


def _numbers(values: pd.Series) -> np.ndarray:
    """float64, NaN where a value is missing or not a number (a boolean is not a number)."""
    if pd.api.types.is_bool_dtype(values):
        return np.full(len(values), np.nan)
    numbers = values if pd.api.types.is_numeric_dtype(values) else pd.to_numeric(values, errors="coerce")
    numbers = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    if values.dtype == object:
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind == "boolean" or kind.startswith("mixed"):
            flags = values.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
            numbers[flags] = np.nan
    return numbers


def _present(frame: pd.DataFrame, missing: np.ndarray, key: str, column: str, prefixes: list[str]) -> None:
    if missing.any():
        raise InputError(f"{key}: column {column!r} is empty at {_at(frame, _first(missing), prefixes)}")


def _times(frame: pd.DataFrame, key: str, column: str, prefixes: list[str]) -> pd.Series:
    """ISO 8601 text, Unix seconds or timestamps, as datetime64[ns, UTC]; naive times are UTC."""
    values = frame["time"]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        times = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values):
        times = values.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        times = _from_seconds(values)
    elif pd.api.types.is_bool_dtype(values):
        times = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    else:
        with warnings.catch_warnings():  # numbers in a text column: handled below, not by format
            warnings.simplefilter("ignore")
            times = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
        failed = (times.isna() & values.notna()).to_numpy()
        if failed.any():  # numbers among the text (JSON lines, a CSV column of both): Unix seconds
            seconds = _from_seconds(pd.Series(_numbers(values[failed]), index=values.index[failed]))
            times = times.astype("datetime64[ns, UTC]")
            times[failed] = seconds
    bad = (times.isna() | (times < EARLIEST) | (times > LATEST)).to_numpy()
    if bad.any():
        i = _first(bad)
        raise InputError(f"{key}: column {column!r} at {_at(frame, i, prefixes)} holds {_shown(values.iat[i])}, "
                         "not a time (ISO 8601 text, or Unix seconds)")
    return times.astype("datetime64[ns, UTC]")


def _from_seconds(values: pd.Series) -> pd.Series:
    seconds = values.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        fine = np.isfinite(seconds) & (np.abs(seconds) < 9.2e9)
    nanos = np.where(fine, np.round(np.where(fine, seconds, 0) * 1e9), 0).astype(np.int64)
    times = pd.Series(pd.to_datetime(nanos, unit="ns", utc=True), index=values.index)
    return times.where(fine)


def _scores(frame: pd.DataFrame, key: str, column: str, prefixes: list[str]) -> pd.Series:
    values = frame["score"]
    numbers = _numbers(values)
    with np.errstate(invalid="ignore"):
        bad = values.notna().to_numpy() & ~((numbers >= 0) & (numbers <= 1))
    if bad.any():
        i = _first(bad)
        raise InputError(f"{key}: column {column!r} at {_at(frame, i, prefixes)} holds {_shown(values.iat[i])}, "
                         "not a number in [0, 1]")
    return pd.Series(numbers, index=values.index)


def _unique(frame: pd.DataFrame, spec: CanarySpec, prefixes: list[str]) -> None:
    """Shadow: one row per (request, model). Split: one row per request (one model served it)."""
    codes, _ = pd.factorize(frame["request_id"])
    key = codes.astype(np.int64)
    if spec.mode == "shadow":
        versions = np.unique(frame["model"].to_numpy())
        key = key * max(len(versions), 1) + np.searchsorted(versions, frame["model"].to_numpy())
    twice = np.bincount(key)[key] > 1 if len(key) else key.astype(bool)
    if not twice.any():
        return
    i = _first(twice)
    j = _first((key == key[i]) & (np.arange(len(key)) > i))
    column = spec.columns.request_id
    rid = _shown(frame["request_id"].iat[i])
    if spec.mode == "shadow":
        raise InputError(f"{spec.log.where}: request {rid} of model {int(frame['model'].iat[i])} appears twice, at "
                         f"{_at(frame, i, prefixes)} and {_at(frame, j, prefixes)} (column {column!r}; in shadow "
                         "mode each model scores a request once)")
    raise InputError(f"{spec.log.where}: request {rid} appears twice, at {_at(frame, i, prefixes)} (model "
                     f"{int(frame['model'].iat[i])}) and {_at(frame, j, prefixes)} (model {int(frame['model'].iat[j])}) "
                     f"(column {column!r}; in split mode one model serves each request)")


def _order(frame: pd.DataFrame) -> np.ndarray:
    """Positions in (time, request_id, model) order. Arrow compares request ids only where times
    tie, which a sort that ranks every request id first (pandas') cannot do."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.table({"time": frame["time"].to_numpy(dtype="datetime64[ns]").view(np.int64),
                      "request_id": pa.array(frame["request_id"]), "model": frame["model"].to_numpy()})
    keys = [("time", "ascending"), ("request_id", "ascending"), ("model", "ascending")]
    return pc.sort_indices(table, sort_keys=keys).to_numpy()


def _shown(value) -> str:
    """A value as a message shows it: text quoted, a whole float as the integer it is (CSV's 1.0)."""
    value = plain(value)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return "nothing"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return repr(int(value))
    return repr(value)


# ----------------------------------------------------------------------------- labels


def _join_labels(frame: pd.DataFrame, spec: CanarySpec, workspace: Path, env: Mapping[str, str] | None,
                 prefixes: list[str]) -> tuple[pd.DataFrame, str]:
    """The label source's labels on the log's rows, by request id; a disagreement is named."""
    source, cols = spec.labels, spec.columns
    parts, described = _read(source, workspace, [cols.request_id, cols.label], env)
    _require(parts, source, cols, ("request_id", "label"))
    labels, label_prefixes = _stack(parts, {"request_id": cols.request_id, "label": cols.label})
    _present(labels, labels["request_id"].isna().to_numpy(), source.where, cols.request_id, label_prefixes)
    log_ids, label_ids = _comparable([frame["request_id"], labels["request_id"]])
    twice = label_ids.duplicated(keep="first").to_numpy()
    if twice.any():
        j = _first(twice)
        i = _first((label_ids == label_ids.iat[j]).to_numpy())
        raise InputError(f"{source.where}: request {_shown(label_ids.iat[j])} appears twice, at "
                         f"{_at(labels, i, label_prefixes)} and {_at(labels, j, label_prefixes)} "
                         f"(column {cols.request_id!r}; one label per request)")
    position = pd.Index(label_ids).get_indexer(log_ids)
    found = position >= 0
    late = pd.Series(None, index=frame.index, dtype=object)
    late[found] = labels["label"].to_numpy(dtype=object)[position[found]]
    own, late = _comparable([frame["label"], late])
    both = (own.notna() & late.notna()).to_numpy()
    differ = both & (own.to_numpy(dtype=object) != late.to_numpy(dtype=object))
    if differ.any():
        i = _first(differ)
        there = _at(labels, int(position[i]), label_prefixes)
        raise InputError(f"{source.where}: request {_shown(frame['request_id'].iat[i])} is labelled "
                         f"{_shown(late.iat[i])} at {there}, but {_shown(own.iat[i])} in {spec.log.where} at "
                         f"{_at(frame, i, prefixes)} (column {cols.label!r})")
    frame["request_id"] = log_ids.to_numpy()
    frame["label"] = own.where(own.notna(), late)
    return frame, described


# ----------------------------------------------------------------------------- values


def _comparable(columns: list[pd.Series]) -> list[pd.Series]:
    """Numbers when every present value of every column is one (booleans are not), else text."""
    numbers = [_as_numbers(c) for c in columns]
    if all(n is not None for n in numbers):
        return numbers
    return [_as_text(c) for c in columns]


def _as_numbers(values: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values):
        return values
    if values.isna().all():
        return pd.Series(np.nan, index=values.index)
    if values.dtype == object and "bool" in pd.api.types.infer_dtype(values, skipna=True):
        return None
    try:
        pd.to_numeric(values.iloc[:1000])  # text ids fail here, before ten million tries
        return pd.to_numeric(values)
    except (ValueError, TypeError):
        return None


def _as_text(values: pd.Series) -> pd.Series:
    """Each present value as text (a whole number as an integer: 1.0 → "1"); missing stays missing."""
    present = values.notna().to_numpy()
    if pd.api.types.is_float_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        whole = present & (np.floor(numbers) == numbers) & (np.abs(numbers) < 2 ** 53)
        text = np.full(len(values), None, dtype=object)
        text[whole] = numbers[whole].astype(np.int64).astype(str).astype(object)
        text[present & ~whole] = numbers[present & ~whole].astype(str).astype(object)
        return pd.Series(text, index=values.index).astype("str").where(present)
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) != "string":
        values = values.map(_text, na_action="ignore")
    return values.astype("str").where(present)


def _text(value) -> str:
    if isinstance(value, (float, np.floating, Decimal)) and np.isfinite(float(value)) \
            and float(value) == int(value) and abs(float(value)) < 2 ** 53:
        return str(int(value))
    return str(plain(value))


def _label_column(label: pd.Series, prediction: pd.Series) -> pd.Series:
    """Labels as objects, None when unlabelled; whole numbers as ints beside integer predictions."""
    out = np.full(len(label), None, dtype=object)
    present = label.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(label) and not pd.api.types.is_bool_dtype(label):
        numbers = label.to_numpy(dtype=np.float64, na_value=np.nan)
        if pd.api.types.is_integer_dtype(prediction) and (np.floor(numbers[present]) == numbers[present]).all():
            out[present] = numbers[present].astype(np.int64)
        else:
            out[present] = numbers[present]
    else:
        out[present] = label.to_numpy(dtype=object)[present]
    return pd.Series(out, index=label.index, dtype=object)


def _where(frame: pd.DataFrame, prefixes: list[str]) -> pd.Series:
    names = pd.Series(np.asarray(prefixes, dtype=object)[frame["_part"].to_numpy()], index=frame.index)
    return names.astype(str) + frame["_n"].astype(str)
