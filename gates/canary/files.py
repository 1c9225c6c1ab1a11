"""The canary's file sources: a path or glob of CSV, Parquet or JSONL files in the workspace.

Each file becomes a :class:`Part` holding only the wanted columns it has, and, per row, the
number a person would look for: the line in a CSV (the header is line 1) or JSONL file, the
1-based row in a Parquet file. A SQL source yields parts too (``sql``), so the log's checks in
``log`` treat every source alike.

Every match of a glob must stay inside the workspace, as every policy path does (``paths``):
a symlink that escapes it is refused, never followed.
"""

from __future__ import annotations

import bz2
from dataclasses import dataclass
import csv
import gzip
import io
import lzma
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from ..errors import InputError
from ..holdout.read import check_width, header_width
from ..paths import inside

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}  # compressed CSV and JSONL


@dataclass(frozen=True)
class Part:
    """Rows of one file, or one chunk of a SQL result, as read: the wanted columns it has."""

    frame: pd.DataFrame
    name: str  # "logs/p1.csv", "table predictions": names the source in messages
    prefix: str  # a row's place is prefix + number: "logs/p1.csv line ", "table predictions, row "
    numbers: np.ndarray  # per row: its line (CSV, JSONL) or 1-based row (Parquet, SQL)
    columns: tuple  # every column the source has, for the missing-column message


def find_files(pattern: str, workspace: Path, key: str) -> list[tuple[Path, str]]:
    """The files matching ``pattern`` under the workspace, sorted, as (path, relative name)."""
    root = Path(workspace).resolve()
    inside(root, pattern, key, must_exist=False, what="log")  # absolute or ../ patterns: refused
    try:
        matches = sorted(root.glob(pattern))
    except ValueError as exc:  # pathlib refuses some patterns ("", "logs/**x")
        raise InputError(f"{key}: {pattern!r} is not a usable glob pattern: {exc}") from None
    found = []
    for match in matches:
        if match.is_file():
            relative = match.relative_to(root).as_posix()
            found.append((inside(root, relative, key), relative))  # a symlink out: refused
    if not found:
        raise InputError(f"{key}: no file matches {pattern!r} in the workspace {root}")
    return found


def file_format(path: Path, key: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in OPENERS and FORMATS.get(suffixes[-2]) in ("csv", "jsonl"):
        return FORMATS[suffixes[-2]]
    fmt = FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise InputError(f"{key}: {path.name!r} is not a log file mlgate reads (CSV: .csv, .csv.gz; Parquet: "
                         ".parquet, .pq; JSON lines: .jsonl, .ndjson)")
    return fmt


def read_files(pattern: str, workspace: Path, key: str, wanted: list[str]) -> tuple[list[Part], str]:
    """Every file ``pattern`` matches, as parts; and a line saying what was read."""
    parts = []
    for path, name in find_files(pattern, workspace, key):
        fmt = file_format(path, key)
        if fmt == "csv":
            check_width(f"{key}: {name}", header_width(path, "csv"))
        try:
            parts.append(READERS[fmt](path, name, wanted))
        except pd.errors.EmptyDataError:
            raise InputError(f"{key}: {name} is empty (no header, no rows)") from None
        except Exception as exc:  # pandas and pyarrow raise many kinds on a broken file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{key}: cannot read {name} as {fmt.upper()}: {first}") from None
    rows = sum(len(p.frame) for p in parts)
    files = f"{len(parts)} file" + ("s" if len(parts) != 1 else "")
    return parts, f"{pattern}: {files}, {rows:,} rows"


def _csv(path: Path, name: str, wanted: list[str]) -> Part:
    header = list(pd.read_csv(path, nrows=0).columns)
    present = [c for c in wanted if c in header]
    frame = pd.read_csv(path, usecols=present, low_memory=False)[present]
    return Part(frame, name, f"{name} line ", _record_lines(path, len(frame), header=True), tuple(header))


def _parquet(path: Path, name: str, wanted: list[str]) -> Part:
    import pyarrow.parquet as pq

    header = list(pq.ParquetFile(path).schema_arrow.names)
    present = [c for c in wanted if c in header]
    frame = pd.read_parquet(path, columns=present)
    return Part(frame, name, f"{name} row ", np.arange(1, len(frame) + 1, dtype=np.int64), tuple(header))


def _jsonl(path: Path, name: str, wanted: list[str]) -> Part:
    # No type guessing: times stay as written (the log's checks parse them), and pandas 2's
    # date guessing by column name is off.
    options = {"convert_dates": False} if int(pd.__version__.split(".")[0]) < 3 else {}
    frame = pd.read_json(path, lines=True, dtype=False, **options)
    header = list(frame.columns)
    present = [c for c in wanted if c in header]
    frame = frame[present]
    return Part(frame, name, f"{name} line ", _record_lines(path, len(frame), header=False), tuple(header))


READERS = {"csv": _csv, "parquet": _parquet, "jsonl": _jsonl}


def _open(path: Path) -> IO[bytes]:
    return OPENERS.get(path.suffix.lower(), open)(path, "rb")


def _record_lines(path: Path, rows: int, *, header: bool) -> np.ndarray:
    """The line each record starts on, as pandas counts records (blank lines skipped).

    Nearly every file has one record per line and no blank line: the newline count proves it,
    and the lines are a range. Only files with blank lines or quoted line breaks are scanned.
    """
    first = 2 if header else 1
    newlines, last = 0, b"\n"
    with _open(path) as fh:
        while block := fh.read(1 << 22):
            newlines += block.count(b"\n")
            last = block[-1:]
    lines = newlines + (last != b"\n")
    if lines == rows + (first - 1):
        return np.arange(first, rows + first, dtype=np.int64)
    with _open(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        starts = _csv_starts(text) if header else [i for i, line in enumerate(text, 1) if line.strip()]
    starts = starts[1:] if header else starts
    if len(starts) != rows:  # a file pandas counts differently: fall back to the plain count
        return np.arange(first, rows + first, dtype=np.int64)
    return np.asarray(starts, dtype=np.int64)


def _csv_starts(text: IO[str]) -> list[int]:
    reader, starts, done = csv.reader(text), [], 0
    for record in reader:
        if record:  # pandas skips blank lines, which csv reads as []
            starts.append(done + 1)
        done = reader.line_num
    return starts
