"""Scoring on this machine: reading, predicting and reducing overlap on three threads.

Reading (pyarrow, the CSV parser), the models' array code and the reductions all release
the GIL, so on a second core the statistics cost little wall time beyond the reading and
predicting every gate pays anyway (measured in benchmarks/bench_engine.py).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
import queue
import threading
from typing import Iterator

import pandas as pd

from ..holdout.read_chunks import iter_chunks
from ..holdout.survey import Survey
from ..models.load import Model
from .chunks import LATENCY_ROWS, Plan, Streamed, StreamTotals, check_rows, predict_chunk, reduce_chunk, slice_scores

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
