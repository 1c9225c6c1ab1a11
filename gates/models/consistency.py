"""Does a model answer a row the same whatever batch the row comes in?

The gate scores the holdout in big batches; a service scores one request at a time. A model
file is a program (an ONNX graph can read its own batch size, a booster its row count), so
after scoring, a few rows drawn by a seeded generator are scored again one at a time and as
one shuffled batch of another size, and any answer that moves beyond float rounding is a
refusal naming the file and a row. This catches a model that looks at its batch; a model
that looks at a row's feature values (a trigger, a backdoor) answers every batch alike, and
is beyond this check and any gate that sees only the holdout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..holdout.read import plain

SAMPLE_ROWS = 16


SEED = 20240607  # fixed: the same rows on every run of the same holdout


# float32 graphs and trees summed in another order per batch size move by a few ulps
RTOL = 1e-5


def sample_rows(n: int, k: int = SAMPLE_ROWS) -> np.ndarray:
    """Positions of up to ``k`` distinct rows of ``n``, the same for the same ``n``."""
    return np.random.default_rng(SEED).choice(n, size=min(k, n), replace=False)


def check_batch_consistency(estimator, X: pd.DataFrame, predicted: np.ndarray, proba: np.ndarray | None,
                            label: str) -> None:
    """``predicted`` (labels or values) and ``proba`` (raw, in the estimator's class order, or
    None) are what the estimator said about all of ``X`` in one batch."""
    if len(X) == 0:
        return
    rows = sample_rows(len(X))
    shuffled = np.random.default_rng(SEED + 1).permutation(rows)
    single = [_outputs(estimator, X.iloc[[i]], proba is not None) for i in rows]
    labels = np.concatenate([s[0] for s in single])
    probas = np.concatenate([s[1] for s in single]) if proba is not None else None
    batch = _outputs(estimator, X.iloc[shuffled], proba is not None)
    where = {int(r): k for k, r in enumerate(shuffled)}
    order = np.array([where[int(r)] for r in rows])  # the batch's answers in the order of ``rows``
    for how, got_labels, got_proba in (("alone", labels, probas),
                                       (f"in a shuffled batch of {len(rows)}", batch[0][order],
                                        None if batch[1] is None else batch[1][order])):
        _compare(rows, predicted, proba, got_labels, got_proba, how, len(X), label)


def _outputs(estimator, X: pd.DataFrame, with_proba: bool) -> tuple[np.ndarray, np.ndarray | None]:
    labels = np.asarray(estimator.predict(X)).reshape(-1)
    proba = np.asarray(estimator.predict_proba(X), dtype=float) if with_proba else None
    return labels, proba


def _compare(rows, predicted, proba, got_labels, got_proba, how: str, n: int, label: str) -> None:
    if len(got_labels) != len(rows) or (got_proba is not None and got_proba.shape != (len(rows), proba.shape[1])):
        raise ModelError(f"{label} returned {len(got_labels)} answers for {len(rows)} rows when scored "
                         f"{how}; mlgate refuses a model whose answers depend on its batch")
    want = predicted[rows]
    numeric = np.issubdtype(np.asarray(want).dtype, np.number) and np.issubdtype(got_labels.dtype, np.number)
    if proba is None and numeric and np.issubdtype(np.asarray(want).dtype, np.floating):
        moved = ~_close(np.asarray(want, float), got_labels.astype(float))
        what = "value"
    else:
        moved = np.asarray(want) != got_labels
        if proba is not None:
            # a near-tie may flip with the summation order: a label is moved only if the batch's
            # probabilities told the two apart beyond rounding
            moved &= ~_tied(proba[rows])
        what = "label"
    if proba is not None and not moved.any():
        moved = ~_close(proba[rows], got_proba).all(axis=1)
        what = "probabilities"
    if moved.any():
        j = int(np.argmax(moved))
        if what == "probabilities":
            before, after = np.round(proba[rows[j]], 6).tolist(), np.round(got_proba[j], 6).tolist()
        else:
            before, after = plain(want[j]), plain(got_labels[j])
        shown = f"{before!r} in the holdout's batch of {n}, {after!r} {how}"
        raise ModelError(f"{label}'s {what} for data row {int(rows[j]) + 1} depends on the batch it is "
                         f"scored in ({shown}); a service scoring one request at a time would get other answers, "
                         "so mlgate refuses it")


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    return np.isclose(a, b, rtol=RTOL, atol=1e-6 + RTOL * scale)


def _tied(proba: np.ndarray) -> np.ndarray:
    """Rows whose top probability is shared (within tolerance) by two classes."""
    top = np.sort(proba, axis=1)
    if top.shape[1] < 2:
        return np.zeros(len(proba), bool)
    return _close(top[:, -1], top[:, -2])
