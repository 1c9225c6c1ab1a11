"""Evidence: the sufficient statistics of one comparison, overall and per slice.

Gates decide from these and nothing else — joint confusion cells, moments of per-row losses,
and the score arrays DeLong needs — so an engine that streams chunks or runs on a cluster
only has to build and merge ``Evidence`` to reuse every gate unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import stats
from .metrics import LOSS, METRICS, row_losses


@dataclass
class Evidence:
    n: int
    cells: stats.JointCells | None = None  # classification
    positive: np.ndarray | None = None  # bool per row, binary tasks with a positive label
    score_candidate: np.ndarray | None = None  # probability of the positive label
    score_production: np.ndarray | None = None
    moments: dict[str, stats.PairedMoments] = field(default_factory=dict)
    # Per-row loss differences (production − candidate), kept only while rows are in memory,
    # for the reported-not-deciding Wilcoxon and row bootstrap.
    loss_differences: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Comparands:
    """What both models said about the same rows, in the holdout's row order."""

    task: str
    labels: tuple | None
    pos_index: int | None
    y: np.ndarray  # labels or values
    pred_candidate: np.ndarray
    pred_production: np.ndarray
    proba_candidate: np.ndarray | None
    proba_production: np.ndarray | None


def build_evidence(c: Comparands, loss_metrics: set[str], mask: np.ndarray | None = None) -> Evidence:
    """Sufficient statistics for the rows in ``mask`` (all rows when None)."""
    sel = slice(None) if mask is None else mask
    y = c.y[sel]
    ev = Evidence(n=len(y))
    if c.task == "classification":
        ev.cells = stats.JointCells.from_arrays(y, c.pred_candidate[sel], c.pred_production[sel], labels=c.labels)
        y_index = _label_index(y, c.labels)
        if c.pos_index is not None:
            ev.positive = y_index == c.pos_index
            if c.proba_candidate is not None:
                ev.score_candidate = c.proba_candidate[sel][:, c.pos_index]
                ev.score_production = c.proba_production[sel][:, c.pos_index]
        for metric in loss_metrics:
            if c.proba_candidate is None:
                continue
            lc = row_losses(metric, y_index, c.proba_candidate[sel])
            lp = row_losses(metric, y_index, c.proba_production[sel])
            ev.moments[metric] = _moments(lc, lp, y_index.astype(float))
            ev.loss_differences[metric] = lp - lc
    else:
        yv = np.asarray(y, dtype=float)
        for metric in loss_metrics:
            lc = row_losses(metric, None, c.pred_candidate[sel], yv)
            lp = row_losses(metric, None, c.pred_production[sel], yv)
            ev.moments[metric] = _moments(lc, lp, yv)
            ev.loss_differences[metric] = lp - lc
    return ev


def _moments(lc: np.ndarray, lp: np.ndarray, y: np.ndarray) -> stats.PairedMoments:
    return stats.PairedMoments.from_rows(np.column_stack([lc, lp, y, y * y]))


def _label_index(y: np.ndarray, labels: tuple) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter((index[v] for v in y), dtype=np.int64, count=len(y))


def loss_metrics_of(metrics: set[str]) -> set[str]:
    return {m for m in metrics if METRICS[m].family == LOSS}
