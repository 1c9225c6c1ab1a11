"""Reading tables: the holdout's file formats, whole or in chunks, and the label rules.

Every parser failure becomes a DataError naming the file, so a user learns which file is
broken, never a pandas traceback. The holdout's checks live in ``survey``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.strict_yaml import closest
from ..errors import ConfigError, DataError

TABULAR_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


MAX_COLUMNS = 100_000  # far above real holdouts; a wider header is an attack on the parser


@dataclass
class Holdout:
    frame: pd.DataFrame
    source: str
    sha256: str
    target: str | None  # None: per-example scores only (SCORES_TASK)
    task: str  # classification | regression | scores

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def y(self) -> np.ndarray:
        return self.frame[self.target].to_numpy()


def table_format(path: Path, key: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-2:-1] == [".csv"] and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz"):
        return "csv"
    fmt = TABULAR_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{key}: {path.name!r} is neither CSV (.csv) nor Parquet (.parquet, .pq)")
    return fmt


def read_table(path: Path, label: str, key: str) -> pd.DataFrame:
    """Read a CSV or Parquet file; any parser failure becomes a DataError naming ``label``."""
    fmt = table_format(path, key)
    check_width(label, header_width(path, fmt))
    try:
        if fmt == "csv":
            frame = pd.read_csv(path, low_memory=False)
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{label}: the file is empty (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{label}: cannot read as {fmt.upper()}: {first}") from None
    except Exception as exc:  # pyarrow raises its own hierarchy on corrupt files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{label}: cannot read as {fmt.upper()}: {first}") from None
    dupes = frame.columns[frame.columns.duplicated()].tolist()
    if dupes:
        raise DataError(f"{label}: duplicated column names {dupes}")
    return frame


def check_width(label: str, width: int) -> None:
    """The one limit on a table's width, checked before its header is parsed where possible."""
    if width > MAX_COLUMNS:
        raise DataError(f"{label}: more than {MAX_COLUMNS} columns in the header; mlgate reads at most {MAX_COLUMNS}")


def header_width(path: Path, fmt: str) -> int:
    """Columns in the header, counted without parsing the file; stops counting past the limit."""
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_columns
        except Exception:
            return 0  # unreadable: read_table reports it
    if path.suffix.lower() != ".csv":
        return 0  # compressed CSV: pandas decompresses; the row count limits the damage
    with open(path, "rb") as fh:
        commas = 0
        while True:
            block = fh.read(1 << 20)
            if not block:
                return commas + 1
            cut = block.find(b"\n")
            commas += (block if cut < 0 else block[:cut]).count(b",")
            if cut >= 0 or commas > MAX_COLUMNS:
                return commas + 1


# The task of a holdout without a target (data.target unset, every gate mean_score): it only
# lists the examples — ids, groups, slices — whose per-example scores the predictions files carry.
SCORES_TASK = "scores"


def infer_task(target: pd.Series) -> str:
    """Float targets are regression; bool, string, category and integer targets are classification."""
    if pd.api.types.is_bool_dtype(target) or pd.api.types.is_integer_dtype(target):
        return "classification"
    if pd.api.types.is_float_dtype(target):
        return "regression"
    return "classification"


# An integer target with more distinct values than this may be a count or a score read as
# classes; the task is still inferred as classification, and the report says so and why.
MANY_CLASSES = 20


def inference_note(target: pd.Series, distinct: int) -> str | None:
    """What a surprising inference says: an integer target with more than MANY_CLASSES values."""
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_integer_dtype(target) or distinct <= MANY_CLASSES:
        return None
    return (f"task inferred as classification from an integer target with {distinct} distinct values; "
            "set task: regression if that is wrong")


def resolve_positive_label(labels: tuple, configured: Any) -> Any:
    """The positive class for binary metrics, or None when it cannot be inferred.

    1 for {0, 1}, True for booleans; otherwise the configured value, matched to the labels as
    they were read (YAML ``1`` matches a CSV label ``"1"``).
    """
    if configured is not None:
        for label in labels:
            if label == configured or str(label) == str(configured):
                return label
        raise ConfigError(
            f"data.positive_label: {configured!r} is not one of the labels found {list(labels)}"
        )
    as_set = set(labels)
    if as_set and all(isinstance(v, (bool, np.bool_)) for v in labels):
        return True
    if as_set <= {0, 1} and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in labels):
        return 1
    return None


def plain(value):
    """A numpy scalar as the Python value it holds, so messages read 1, not np.int64(1)."""
    return value.item() if isinstance(value, np.generic) else value


def missing_column(label: str, what: str, name: str, columns: list) -> DataError:
    """A column the policy or the format names is absent: say why when the header reads as one
    ``;``-separated column (a European spreadsheet's CSV), else offer the closest name.

    ``what`` names the column's role, e.g. ``"target column 'y' (data.target)"``."""
    if len(columns) == 1 and ";" in str(columns[0]):
        return DataError(f"{label}: looks ';'-separated (the header reads as one column); mlgate reads comma-separated "
                         "CSV: convert it (e.g. pandas.read_csv(path, sep=';').to_csv(path, index=False))")
    names = {str(c) for c in columns}
    hint = next((c for c in sorted(names) if c.casefold() == name.casefold()), None) or closest(name, names)
    extra = f" (did you mean {hint!r}?)" if hint else ""
    return DataError(f"{label}: {what} not found{extra}; columns are {preview(columns)}")


def preview(columns: list, limit: int = 20) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    more = f", … ({len(columns) - limit} more)" if len(columns) > limit else ""
    return f"[{shown}{more}]"
