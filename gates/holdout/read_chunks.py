"""The holdout in chunks, in file order: CSV through ``read_csv(chunksize=)``, Parquet through
``iter_batches``. A CSV is hashed from the same bytes the parser reads, so it needs no pass
of its own for its SHA-256.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Iterator

import pandas as pd

from ..errors import DataError, ModelError
from .read import check_width, header_width, table_format

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz"}


class _HashingRaw(io.RawIOBase):
    """A raw file that feeds every byte it reads into a hash (so CSV is hashed while parsed)."""

    def __init__(self, raw, hasher):
        self._raw, self._hasher = raw, hasher

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._hasher.update(memoryview(buffer)[:n])
        return n

    def drain(self) -> None:
        while True:
            block = self._raw.read(1 << 20)
            if not block:
                return
            self._hasher.update(block)


@contextlib.contextmanager
def _reading(label: str, fmt: str):
    """Parser failures become a DataError naming the file, as ``read_table`` does."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(f"{label}: the file is empty (no header, no rows)") from None
    except (DataError, ModelError):
        raise
    except Exception as exc:  # pandas, pyarrow and the codecs raise their own hierarchies
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{label}: cannot read as {fmt.upper()}: {first}") from None


def compression_of(path: Path):
    return _COMPRESSION.get(path.suffix.lower())


def read_columns(path: Path, label: str) -> list:
    """The holdout's column names, from the CSV header or the Parquet schema."""
    fmt = table_format(path, "data.holdout")
    check_width(label, header_width(path, fmt))  # before pandas builds a Series per column
    with _reading(label, fmt):
        if fmt == "csv":
            columns = list(pd.read_csv(path, nrows=0, compression=compression_of(path)).columns)
        else:
            import pyarrow.parquet as pq

            schema = pq.ParquetFile(path).schema_arrow
            # pandas records a stored index by column name, a RangeIndex as a dict (no column)
            index = (schema.pandas_metadata or {}).get("index_columns", []) if schema.metadata else []
            columns = [n for n in schema.names if n not in {i for i in index if isinstance(i, str)}]
    return columns


def iter_chunks(path: Path, label: str, *, chunk_rows: int, columns: list | None = None,
                dtypes: dict | None = None, hasher=None) -> Iterator[pd.DataFrame]:
    """The holdout in chunks of at most ``chunk_rows`` rows, in file order.

    ``hasher`` (CSV only) receives every byte of the file, including any the parser left.
    """
    fmt = table_format(path, "data.holdout")
    if fmt == "csv":
        with open(path, "rb") as raw:
            stream = _HashingRaw(raw, hasher) if hasher is not None else raw
            buffered = io.BufferedReader(stream, 1 << 20) if hasher is not None else raw
            with _reading(label, fmt):
                reader = pd.read_csv(buffered, chunksize=chunk_rows, usecols=columns, dtype=dtypes,
                                     compression=compression_of(path))
            while True:
                with _reading(label, fmt):
                    frame = next(reader, None)
                if frame is None:
                    break
                yield frame
            if hasher is not None:
                stream.drain()
        return
    import pyarrow.parquet as pq

    with _reading(label, fmt):
        batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=columns)
    while True:
        with _reading(label, fmt):
            batch = next(batches, None)
            if batch is None:
                break
            frame = batch.to_pandas()
        yield frame
