"""The one scoring path: the holdout read and scored chunk by chunk, whatever its size.

Two passes over the file, both in chunks of ``engine.chunk_rows`` rows (CSV through
``pandas.read_csv(chunksize=)``, Parquet through ``ParquetFile.iter_batches``); a small
holdout is one chunk:

1. **Survey** — only the target, slice and id columns (cheap for Parquet, which is columnar;
   for CSV the parser still tokenizes every line, and the file's SHA-256 is computed from the
   same bytes as they stream past, so CSV is hashed without a pass of its own). The survey is
   the holdout's one set of checks — missing target values, non-numeric regression targets,
   duplicated ids, missing columns — with global data-row numbers; it infers the task and
   collects the label set *before* any model runs. Knowing the labels up front settles the positive label, the probability columns and
   the gates' fit exactly as the in-memory engine does (discovering labels as chunks arrive
   would change them mid-stream). CSV chunks infer dtypes one by one, so a column that reads as
   int in one chunk and float in another would give different labels or slice keys than one
   whole read; the survey records each chunk's kind and, when they disagree, resolves them the
   way a whole-file read does and re-reads those columns with that dtype forced.
2. **Scoring** — each chunk is scored by both models and reduced to :class:`Evidence` (joint
   cells, loss moments, float32 scores, the curves' score bins) which is merged into the
   running total; nothing else about the chunk is kept, except its first ``LATENCY_ROWS`` rows
   for the latency gate. Reading the next chunk, running the models on this one and reducing
   the previous one overlap on three threads (see :func:`stream_local`), and a Parquet file is
   hashed on a fourth, so a second core absorbs most of what the gate adds to the floor every
   evaluation pays (reading the rows and running both models).

Memory: the survey holds the label set (at most ``MAX_DISTINCT_LABELS``) and, only when
``data.id_column`` is set, the ids (to find duplicates across chunks). Scoring holds up to
four chunks, the merged counts, moments and curve bins (O(K³ + slices · metrics), 2 MB of
bins), and the DeLong scores: 9 bytes per row (two float32 scores and one bool), 9 more per
row per slice column when a roc_auc ``slice_max_drop`` gate needs slice scores, and twice that
for a moment while the chunks' arrays are concatenated at the end. 50 million rows is 450 MB
of scores. Gates without a rank statistic then need nothing per row (measured with
benchmarks/bench_engine.py: 3.3–3.7 GB peak for 50 million rows, against 2.5 GB for merely reading
and predicting). A roc_auc gate's DeLong needs O(n) temporaries on top — each model's sorted
keys, permutation and components in 8-byte words, both models at once — which dominates the
peak: 8.0 GB for 50 million rows, about 160 bytes per row. Budget ~170 bytes per row of RAM
for a streamed holdout with a roc_auc gate.

Predictions files are loaded whole (they hold two or three columns) and scored once against
the survey's ids or row order with the in-memory code and its messages; each chunk then takes
its slice of those predictions by global row offset.

The functions here are pure (no environment, no globals) so ``gates.engine_dask`` runs the same
``score_chunk`` on workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from . import stats
from .config import DataSpec
from .data import MAX_COLUMNS, Holdout, _preview, infer_task, plain, table_format
from .errors import DataError, ModelError
from .evidence import Comparands, Evidence, EvidenceSum, build_evidence
from .models import Model, Scores, score_model
from .paths import sha256_file

DEFAULT_CHUNK_ROWS = 250_000
# Up to this many rows the engine keeps what only rows in memory allow: per-row loss
# differences for the reported Wilcoxon and row bootstrap, float64 scores and exact curves
# (8 bytes per row per loss metric and 8 per score). Beyond it, per-row state is the compact
# float32 scores DeLong needs and nothing else.
ROW_EXTRAS_MAX_ROWS = 1_000_000
LATENCY_ROWS = 10_000  # rows kept from the first chunk to time predict (as measure_latency does)
MAX_DISTINCT_LABELS = 10_000  # a classification target with more distinct values is refused
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz"}
_KIND_DTYPE = {"i": "int64", "f": "float64", "b": "bool", "O": object}


# ----------------------------------------------------------------------------- reading


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


def _compression(path: Path):
    return _COMPRESSION.get(path.suffix.lower())


def read_columns(path: Path, label: str) -> list:
    """The holdout's column names, from the CSV header or the Parquet schema."""
    fmt = table_format(path, "data.holdout")
    with _reading(label, fmt):
        if fmt == "csv":
            columns = list(pd.read_csv(path, nrows=0, compression=_compression(path)).columns)
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
                                     compression=_compression(path))
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


# ----------------------------------------------------------------------------- survey


@dataclass
class Survey:
    """What the first pass learned: enough to plan the scoring pass, nothing per row."""

    path: Path
    source: str
    fmt: str
    digest: "str | Future"  # a Parquet file is hashed on a thread while it is scored
    target: str
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
    columns = read_columns(path, label)
    if len(columns) > MAX_COLUMNS:
        raise DataError(f"{label}: more than {MAX_COLUMNS} columns in the header; mlgate reads at most {MAX_COLUMNS}")
    dupes = pd.Index(columns)[pd.Index(columns).duplicated()].tolist()
    if dupes:
        raise DataError(f"{label}: duplicated column names {dupes}")
    if spec.target not in columns:
        raise DataError(
            f"{label}: target column {spec.target!r} (data.target) not found; columns are {_preview(columns)}"
        )
    for key, name in [("data.id_column", spec.id_column)] + [(f"data.slices[{i}]", s) for i, s in enumerate(spec.slices)]:
        if name is not None and name not in columns:
            raise DataError(f"{label}: column {name!r} ({key}) not found; columns are {_preview(columns)}")
    wanted = list(dict.fromkeys([spec.target, *spec.slices] + ([spec.id_column] if spec.id_column else [])))
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
    if seen["missing"]:
        raise DataError(
            f"{label}: target column {spec.target!r} has {seen['missing']} missing value(s) "
            f"(first at data row {seen['first_missing'] + 1})"
        )
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
    return Survey(path=path, source=label, fmt=fmt, digest=digest, target=spec.target, task=task, rows=rows,
                  observed=observed, dtypes=dtypes, columns=columns, ids=ids,
                  first_target=first, held=seen["frames"] if hold else None)


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
            "first_value": None, "frames": []}
    for frame in iter_chunks(path, label, chunk_rows=chunk_rows, columns=read, dtypes=dtypes, hasher=hasher):
        if read is None:
            seen["frames"].append(frame)
        offset = seen["rows"]
        seen["rows"] += len(frame)
        if not len(frame):
            continue
        for c in wanted:
            seen["kinds"][c].add(_kind(frame[c]))
        target = frame[spec.target]
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
        if spec.id_column is not None:
            seen["ids"].append(frame[spec.id_column].reset_index(drop=True))
    # A whole-file read of mixed chunks gives the resolved kind; infer_task must see that one.
    if seen["target_sample"] is not None and len(seen["kinds"][spec.target]) > 1:
        kind = _resolve(seen["kinds"][spec.target])
        seen["target_sample"] = pd.Series([], dtype=_KIND_DTYPE[kind])
    return seen


# ----------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Plan:
    """Everything a chunk needs to be scored, decided before the scoring pass (picklable)."""

    source: str
    target: str
    task: str
    labels: tuple | None
    positive_label: object
    pos_index: int | None
    id_column: str | None
    slices: tuple
    exclude: frozenset
    want_proba: bool
    loss_metrics: frozenset
    slice_scores: bool  # keep per-slice score arrays (a roc_auc slice gate needs them)
    y_center: float = 0.0  # regression: the first target value (see Comparands.y_center)
    bin_scores: bool = True  # count the curves' score bins per chunk (2 MB of counts each)
    keep_rows: bool = False  # keep per-row loss differences (holdouts up to ROW_EXTRAS_MAX_ROWS)
    score_dtype: str | None = "float32"  # DeLong's scores; None keeps the models' float64


def fixed_scores(model: Model, survey: Survey, plan: Plan) -> Scores:
    """A predictions file scored once against the whole holdout's ids or row count."""
    if survey.ids is not None:
        frame = pd.DataFrame({plan.id_column: survey.ids})
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(survey.rows))
    skeleton = Holdout(frame=frame, source=survey.source, sha256=survey.sha256, target=survey.target, task=survey.task)
    return score_model(model, skeleton, labels=plan.labels, positive_label=plan.positive_label,
                       id_column=plan.id_column, exclude=set(plan.exclude), want_proba=plan.want_proba)


def slice_scores(scores: Scores | None, offset: int, n: int) -> Scores | None:
    if scores is None:
        return None
    proba = None if scores.proba is None else scores.proba[offset:offset + n]
    return Scores(predicted=scores.predicted[offset:offset + n], proba=proba)


def score_chunk(frame: pd.DataFrame, plan: Plan, candidate: Model, production: Model | None,
                fixed: dict | None = None) -> tuple[Evidence, dict]:
    """Score one chunk with both models and reduce it to evidence, overall and per slice.

    ``fixed`` maps a role to that model's predictions for exactly these rows (predictions files).
    Slice evidence is keyed by ``(column, value as text)``, or ``(column, None)`` for missing.
    """
    return reduce_chunk(*predict_chunk(frame, plan, candidate, production, fixed), plan)


def predict_chunk(frame: pd.DataFrame, plan: Plan, candidate: Model, production: Model | None,
                  fixed: dict | None = None) -> tuple[pd.DataFrame, Comparands]:
    """Both models' outputs on one chunk (the half of :func:`score_chunk` that runs the models)."""
    fixed = fixed or {}
    frame = frame.reset_index(drop=True)
    if plan.task == "regression":
        frame[plan.target] = pd.to_numeric(frame[plan.target]).astype(float)
    chunk = Holdout(frame=frame, source=plan.source, sha256="", target=plan.target, task=plan.task)
    kwargs = dict(labels=plan.labels, positive_label=plan.positive_label, id_column=plan.id_column,
                  exclude=set(plan.exclude), want_proba=plan.want_proba)
    cand = fixed.get("candidate") or score_model(candidate, chunk, **kwargs)
    prod = cand
    if production is not None:
        prod = fixed.get("production") or score_model(production, chunk, **kwargs)
    if plan.labels is not None:
        unknown = set(pd.unique(cand.predicted)) - set(plan.labels)
        if unknown:
            raise ModelError(f"{candidate.source}: predicted label(s) {sorted(map(str, unknown))[:5]} not among the labels {list(plan.labels)}")
    c = Comparands(
        task=plan.task, labels=plan.labels, pos_index=plan.pos_index, y=chunk.y,
        pred_candidate=cand.predicted, pred_production=prod.predicted,
        proba_candidate=cand.proba, proba_production=prod.proba, y_center=plan.y_center,
    )
    return frame, c


def reduce_chunk(frame: pd.DataFrame, c: Comparands, plan: Plan) -> tuple[Evidence, dict]:
    """One chunk's model outputs reduced to evidence, overall and per slice (no model runs)."""
    metrics = set(plan.loss_metrics)
    dtype = None if plan.score_dtype is None else np.dtype(plan.score_dtype)
    overall = build_evidence(c, metrics, keep_rows=plan.keep_rows, score_dtype=dtype, bin_scores=plan.bin_scores)
    slices: dict = {}
    for column in plan.slices:
        values = frame[column]
        missing = values.isna().to_numpy()
        keys = values.astype(str).to_numpy()
        for key in pd.unique(keys[~missing]):
            slices[(column, key)] = build_evidence(c, metrics, (keys == key) & ~missing, keep_rows=plan.keep_rows,
                                                   keep_scores=plan.slice_scores, score_dtype=dtype)
        if missing.any():
            slices[(column, None)] = build_evidence(c, metrics, missing, keep_rows=plan.keep_rows,
                                                    keep_scores=plan.slice_scores, score_dtype=dtype)
    return overall, slices


class StreamTotals:
    """Overall and per-slice running merges, in chunk order."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.rows = 0
        self.overall = EvidenceSum()
        self.slices: dict = {}

    def add(self, overall: Evidence, slices: dict) -> None:
        self.rows += overall.n
        self.overall.add(overall)
        for key, ev in slices.items():
            self.slices.setdefault(key, EvidenceSum()).add(ev)

    def result(self, labels: tuple | None) -> tuple[Evidence, dict[str, Evidence]]:
        overall = self.overall.result()
        if overall.cells is None and labels is not None:  # no rows at all: empty cells
            overall.cells = stats.JointCells(labels, np.zeros((len(labels),) * 3, np.int64))
        named: dict[str, Evidence] = {}
        for column in self.plan.slices:  # the in-memory order: sorted values, then missing
            keys = sorted(k for (col, k) in self.slices if col == column and k is not None)
            for key in keys:
                named[f"{column}={key}"] = self.slices[(column, key)].result()
            if (column, None) in self.slices:
                named[f"{column}=<missing>"] = self.slices[(column, None)].result()
        return overall, named


@dataclass
class Streamed:
    overall: Evidence
    slices: dict[str, Evidence]
    rows: int
    sha256: str
    sample: pd.DataFrame | None  # the first rows, to time predict


_IN_FLIGHT = 2  # chunks predicted but not yet merged
_DONE = object()  # the reader's end-of-file mark


def stream_local(survey: Survey, plan: Plan, candidate: Model, production: Model | None, *,
                 chunk_rows: int, fixed: dict | None = None) -> Streamed:
    """Score the holdout chunk by chunk on this machine and merge the chunks' evidence.

    Three stages overlap, each on its own thread: reading the next chunk, running the models
    on this one, and reducing the previous one to evidence. Reading (pyarrow, the CSV parser),
    the models' array code and the reductions all release the GIL, so on a machine with a
    second core the statistics cost little wall time beyond the reading and predicting every
    gate pays anyway. Chunks are still merged in file order. Up to four chunks are alive at
    once: one being read, one queued, one being predicted and one being reduced
    (``_IN_FLIGHT`` bounds those predicted but not yet merged).
    """
    totals = StreamTotals(plan)
    sample = None
    offset = 0
    pending: deque = deque()
    if survey.held is not None:
        chunks = _read_ahead(iter(survey.held))
    else:
        chunks = _read_ahead(iter_chunks(survey.path, survey.source, chunk_rows=chunk_rows, dtypes=survey.dtypes))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlgate-reduce") as reducer:
        try:
            for frame in chunks:
                if not len(frame):
                    continue
                if sample is None:
                    sample = frame.iloc[:LATENCY_ROWS].reset_index(drop=True)
                chunk_fixed = {role: slice_scores(s, offset, len(frame)) for role, s in (fixed or {}).items()}
                offset += len(frame)
                frame, comparands = predict_chunk(frame, plan, candidate, production, chunk_fixed)
                pending.append(reducer.submit(reduce_chunk, frame, comparands, plan))
                while len(pending) >= _IN_FLIGHT:
                    totals.add(*pending.popleft().result())
            while pending:
                totals.add(*pending.popleft().result())
        finally:
            chunks.close()
            for future in pending:
                future.cancel()
    check_rows(survey, totals.rows)
    overall, slices = totals.result(plan.labels)
    return Streamed(overall=overall, slices=slices, rows=totals.rows, sha256=survey.sha256, sample=sample)


def _read_ahead(chunks: Iterator[pd.DataFrame], depth: int = 1) -> Iterator[pd.DataFrame]:
    """``chunks``, produced one ahead on a thread; the reader's exceptions are re-raised here,
    and closing this generator stops the reader."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for chunk in chunks:
                if not put((chunk, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put((_DONE, exc))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=produce, name="mlgate-read", daemon=True)
    reader.start()
    try:
        while True:
            chunk, error = ready.get()
            if error is not None:
                raise error
            if chunk is _DONE:
                return
            yield chunk
    finally:
        stop.set()
        reader.join()


def check_rows(survey: Survey, rows: int) -> None:
    if rows != survey.rows:
        raise DataError(f"{survey.source}: read {rows} rows while scoring but {survey.rows} while checking; "
                        "did the file change during the evaluation?")


def sample_holdout(survey: Survey, sample: pd.DataFrame | None) -> Holdout:
    """The first rows as a Holdout, for ``measure_latency``."""
    if sample is None:
        sample = next(iter_chunks(survey.path, survey.source, chunk_rows=LATENCY_ROWS, dtypes=survey.dtypes))
    return Holdout(frame=sample, source=survey.source, sha256=survey.sha256, target=survey.target, task=survey.task)


__all__ = ["DEFAULT_CHUNK_ROWS", "ROW_EXTRAS_MAX_ROWS", "Plan", "Survey", "Streamed", "StreamTotals", "survey", "iter_chunks",
           "score_chunk", "predict_chunk", "reduce_chunk", "stream_local", "fixed_scores", "sample_holdout"]
