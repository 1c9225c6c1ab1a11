"""Latency: both models timed the same way on the same rows.
"""

from __future__ import annotations

import time

import pandas as pd

from ..holdout.read import Holdout
from .load import Model
from .columns import feature_frame


def measure_latency(models: list[Model], holdout: Holdout, exclude, *, batch_rows: int = 10_000,
                    repeats: int = 7) -> list[float | None]:
    """Predict time per 1,000 rows for each model, measured the same way for both.

    Both models predict the same batch of ``batch_rows`` rows (the holdout's first rows, tiled
    when the holdout is smaller, so a tiny holdout does not turn the ratio into timer noise).
    Runs are interleaved, alternating which model goes first, and the minimum of each is kept:
    load from a noisy neighbour only ever adds time, so the minimum is the stable estimate.
    """
    rows = min(holdout.rows, batch_rows)
    frames = []
    for m in models:
        if m.estimator is None:
            frames.append(None)
            continue
        frame = feature_frame(m, holdout, exclude).iloc[:rows]
        if rows < batch_rows:
            frame = pd.concat([frame] * -(-batch_rows // rows), ignore_index=True).iloc[:batch_rows]
        frames.append(frame)
    best = [float("inf")] * len(models)
    order = list(range(len(models)))
    for _ in range(repeats):
        for i in order:
            if frames[i] is None:
                continue
            start = time.perf_counter()
            models[i].estimator.predict(frames[i])
            best[i] = min(best[i], time.perf_counter() - start)
        order.reverse()
    return [None if f is None else best[i] * 1000.0 * 1000.0 / len(f) for i, f in enumerate(frames)]
