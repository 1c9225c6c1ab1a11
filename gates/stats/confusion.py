"""Confusion-matrix metrics, vectorised over any leading axes.

The bootstrap evaluates a metric on thousands of resampled confusion matrices at once, so every
metric here takes a ``(..., K, K)`` stack (rows true, columns predicted) and never loops in
Python. Definitions follow scikit-learn with ``zero_division=np.nan``; where scikit-learn would
substitute a number for an undefined value, these return NaN so the caller can fail closed:

* precision / recall / f1 with ``average="binary"``: NaN when the denominator is zero.
* ``macro`` and ``weighted`` average over the classes whose per-class value is defined
  (scikit-learn's ``zero_division=np.nan`` behaviour); a class that appears in none of the
  model's labels or predictions has 0/0 everywhere and so drops out, exactly as scikit-learn
  never sees it. NaN only when no class is defined.
* balanced accuracy: mean recall over the classes present in ``y_true`` (scikit-learn drops the
  others with a warning); NaN with no rows.
* mcc: the multiclass generalisation (Gorodkin 2004) used by scikit-learn; NaN where
  scikit-learn returns 0.0 because the denominator is zero (one true class or one predicted
  class) — a constant predictor is undefined, not "no better than chance".
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice

CONFUSION_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc")
AVERAGES = ("binary", "macro", "micro", "weighted")
AVERAGED_METRICS = ("precision", "recall", "f1")


def confusion_metric(cm, metric: str, *, pos_index=None, average: str = "binary"):
    """Metric of confusion matrices ``cm`` of shape ``(..., K, K)``; NaN where undefined.

    ``pos_index`` is the index of the positive label (needed only by precision, recall and f1
    with ``average="binary"``). Returns a float for a single matrix, else an array of the
    leading shape.
    """
    check_choice("metric", metric, CONFUSION_METRICS)
    check_choice("average", average, AVERAGES)
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim < 2 or cm.shape[-1] != cm.shape[-2]:
        raise ValueError(f"cm must have shape (..., K, K); got {cm.shape}")
    k = cm.shape[-1]
    binary = metric in AVERAGED_METRICS and average == "binary"
    if binary:
        if k > 2:
            raise ValueError(
                f"average='binary' needs at most 2 labels; got K={k} (use macro, micro or weighted)"
            )
        if pos_index is None or not (-k <= int(pos_index) < k):
            raise ValueError(f"pos_index must index one of the {k} labels; got {pos_index!r}")
    out = _compute(cm, metric, pos_index, average)
    return float(out) if np.ndim(out) == 0 else out


def _div(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def _nanmean(values, axis=-1):
    ok = ~np.isnan(values)
    count = ok.sum(axis=axis)
    return _div(np.where(ok, values, 0.0).sum(axis=axis), count)


def _weighted_nanmean(values, weights):
    """scikit-learn's ``_nanaverage``: drop NaN classes; all-zero weights fall back to the mean."""
    ok = ~np.isnan(values)
    w = np.where(ok, weights, 0.0)
    wsum = w.sum(axis=-1)
    weighted = _div((np.where(ok, values, 0.0) * w).sum(axis=-1), wsum)
    return np.where(wsum > 0, weighted, _nanmean(values))


def _compute(cm, metric, pos_index, average):
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    true_sum = cm.sum(axis=-1)
    pred_sum = cm.sum(axis=-2)
    total = true_sum.sum(axis=-1)
    if metric == "accuracy":
        return _div(tp.sum(axis=-1), total)
    if metric == "balanced_accuracy":
        return _nanmean(_div(tp, true_sum))
    if metric == "mcc":
        t, p = true_sum, pred_sum
        cov_tp = tp.sum(axis=-1) * total - (t * p).sum(axis=-1)
        cov_pp = total**2 - (p * p).sum(axis=-1)
        cov_tt = total**2 - (t * t).sum(axis=-1)
        den = cov_pp * cov_tt
        with np.errstate(invalid="ignore"):
            return _div(cov_tp, np.sqrt(np.maximum(den, 0.0)))
    if average == "micro":
        tp, true_sum, pred_sum = tp.sum(axis=-1), true_sum.sum(axis=-1), pred_sum.sum(axis=-1)
    if metric == "precision":
        per_class = _div(tp, pred_sum)
    elif metric == "recall":
        per_class = _div(tp, true_sum)
    else:  # f1 = 2tp / (2tp + fp + fn), defined whenever the class occurs at all
        per_class = _div(2.0 * tp, true_sum + pred_sum)
    if average == "micro":
        return per_class
    if average == "binary":
        return per_class[..., int(pos_index)]
    if average == "macro":
        return _nanmean(per_class)
    return _weighted_nanmean(per_class, true_sum)
