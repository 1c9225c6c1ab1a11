"""Curves for the report: ROC and calibration of both models, small enough to keep in a result.

A report shows how the two models differ, not only whether they pass: the ROC curves and a
reliability table of each model, computed once from the scores already in memory and kept
bounded (at most ``MAX_POINTS`` ROC points per model, ``BINS`` calibration bins), so a result
for ten million rows is as small as one for a thousand. Pure functions of arrays; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_POINTS = 50
BINS = 10


@dataclass(frozen=True)
class RocCurve:
    """Vertices of the empirical ROC curve, from (0, 0) to (1, 1), at most ``MAX_POINTS``."""

    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    auc: float

    def tpr_at(self, grid) -> list[float]:
        """The best true-positive rate reachable at each false-positive rate of ``grid``."""
        fpr, tpr = np.asarray(self.fpr), np.asarray(self.tpr)
        return [float(tpr[fpr <= x + 1e-12].max(initial=0.0)) for x in grid]


@dataclass(frozen=True)
class Calibration:
    """A reliability table over ``BINS`` equal-width score bins; empty bins have ``None``."""

    edges: tuple[float, ...]
    count: tuple[int, ...]
    mean_predicted: tuple[float | None, ...]
    observed: tuple[float | None, ...]


@dataclass(frozen=True)
class Curves:
    n: int
    positives: int
    roc: dict[str, RocCurve]  # "candidate", and "production" when there is one
    calibration: dict[str, Calibration]

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "positives": self.positives,
            "roc": {k: {"auc": _r(c.auc), "fpr": [_r(v) for v in c.fpr], "tpr": [_r(v) for v in c.tpr]}
                    for k, c in self.roc.items()},
            "calibration": {k: {"edges": [_r(v) for v in c.edges], "count": list(c.count),
                                "mean_predicted": [_r(v) for v in c.mean_predicted],
                                "observed": [_r(v) for v in c.observed]}
                            for k, c in self.calibration.items()},
        }


EXACT_ROWS = 200_000  # above this, the drawn curve comes from score bins instead of a full sort
GRID = 1 << 16
_BLOCK = 1 << 20  # rows per block when binning (temporaries stay small and in cache)


@dataclass
class ScoreBins:
    """One model's scores counted into fixed bins over [0, 1]: ``GRID`` bins of negatives and
    positives for the ROC curve and ``BINS`` bins for the calibration table.

    Probabilities always lie in [0, 1], so the bins are the same for every chunk and the counts
    add up (``a + b``): a streamed evaluation counts each chunk as it is reduced, on the spare
    core, instead of binning every score again at the end. Counts are exact; the calibration
    sums are float sums, equal to a whole-array sum to rounding.
    """

    roc: np.ndarray  # (GRID, 2) int64: negatives, positives per bin
    count: np.ndarray  # (BINS,) int64
    hits: np.ndarray  # (BINS,) int64
    sums: np.ndarray  # (BINS,) float64

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        if not isinstance(other, ScoreBins):
            return NotImplemented
        return ScoreBins(self.roc + other.roc, self.count + other.count, self.hits + other.hits,
                         self.sums + other.sums)

    __radd__ = __add__


def score_bins(positive: np.ndarray, score: np.ndarray, bins: int = BINS) -> ScoreBins | None:
    """``score``'s bins, or None when a score is outside [0, 1] (or not finite)."""
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score)
    if score.dtype.kind not in "biuf":
        return None
    roc = np.zeros(2 * GRID, np.int64)
    cal = np.zeros(2 * bins, np.int64)
    sums = np.zeros(bins)
    for start in range(0, len(score), _BLOCK):
        # binned as float32, the streaming engines' score type, so every engine counts alike
        block = score[start:start + _BLOCK].astype(np.float32, copy=False)
        pos = positive[start:start + _BLOCK]
        if block.size and not (block.min() >= 0.0 and block.max() <= 1.0):  # NaN fails too
            return None
        which = np.minimum((block * float(GRID)).astype(np.int64), GRID - 1)
        which <<= 1
        which += pos
        roc += np.bincount(which, minlength=2 * GRID)
        calib = np.minimum((block * float(bins)).astype(np.int64), bins - 1)  # 1.0 falls in the last bin
        sums += np.bincount(calib, weights=block, minlength=bins)
        calib <<= 1
        calib += pos
        cal += np.bincount(calib, minlength=2 * bins)
    cal = cal.reshape(bins, 2)
    return ScoreBins(roc.reshape(GRID, 2), cal.sum(axis=1), cal[:, 1].copy(), sums)


def roc_curve(positive: np.ndarray, score: np.ndarray, max_points: int = MAX_POINTS) -> RocCurve:
    """The ROC curve's vertices (ties give one vertex), thinned evenly to ``max_points``.

    The curve is only drawn (the gate's AUC comes from DeLong), so beyond ``EXACT_ROWS`` rows
    it is built from ``GRID`` equal-width score bins — two bincounts instead of a sort of every
    row, which was the largest cost of a streamed evaluation; rows in one bin count as tied.
    """
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score)
    binned = score_bins(positive, score) if len(score) > EXACT_ROWS else None
    if binned is not None:
        return roc_from_bins(binned, max_points)
    if len(score) > EXACT_ROWS:
        tp, fp = _binned_counts(positive, score)
    else:
        score = score.astype(float, copy=False)
        order = np.argsort(-score, kind="mergesort")
        s, p = score[order], positive[order]
        last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # thresholds between distinct scores
        tp = np.cumsum(p)[last_of_tie]
        fp = (last_of_tie + 1) - tp
    return _roc_from_counts(tp, fp, int(positive.sum()), len(positive) - int(positive.sum()), max_points)


def roc_from_bins(bins: ScoreBins, max_points: int = MAX_POINTS) -> RocCurve:
    """The ROC curve of binned scores (rows in one bin count as tied)."""
    hist = bins.roc[::-1]  # highest scores first
    nonempty = hist.sum(axis=1) > 0
    tp = np.cumsum(hist[:, 1])[nonempty]
    fp = np.cumsum(hist[:, 0])[nonempty]
    return _roc_from_counts(tp, fp, int(hist[:, 1].sum()), int(hist[:, 0].sum()), max_points)


def _roc_from_counts(tp, fp, pos: int, neg: int, max_points: int) -> RocCurve:
    tpr = np.r_[0.0, tp / pos]
    fpr = np.r_[0.0, fp / neg]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    # Drop vertices on a straight run (collinear with both neighbours): they add no shape.
    keep = np.ones(len(fpr), dtype=bool)
    if len(fpr) > 2:
        d1 = (fpr[1:-1] - fpr[:-2]) * (tpr[2:] - tpr[1:-1])
        d2 = (tpr[1:-1] - tpr[:-2]) * (fpr[2:] - fpr[1:-1])
        keep[1:-1] = ~np.isclose(d1, d2, rtol=0.0, atol=1e-15)
    fpr, tpr = fpr[keep], tpr[keep]
    if len(fpr) > max_points:
        idx = np.unique(np.round(np.linspace(0, len(fpr) - 1, max_points)).astype(int))
        fpr, tpr = fpr[idx], tpr[idx]
    return RocCurve(tuple(float(v) for v in fpr), tuple(float(v) for v in tpr), auc)


def _binned_counts(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each non-empty bin's threshold, highest first."""
    lo, hi = float(score.min()), float(score.max())
    if hi == lo:
        return np.array([int(positive.sum())]), np.array([int((~positive).sum())])
    scale = (GRID - 1) / (hi - lo)
    hist = np.zeros(2 * GRID, np.int64)  # (bin, positive?) counted together: one bincount per block
    for start in range(0, len(score), _BLOCK):
        which = ((score[start:start + _BLOCK] - lo) * scale).astype(np.int64)
        which <<= 1
        which += positive[start:start + _BLOCK]
        hist += np.bincount(which, minlength=2 * GRID)
    hist = hist.reshape(GRID, 2)[::-1]
    all_hist = hist.sum(axis=1)
    nonempty = all_hist > 0
    tp = np.cumsum(hist[:, 1])[nonempty]
    fp = np.cumsum(hist[:, 0])[nonempty]
    return tp, fp


def calibration_from_bins(b: ScoreBins) -> Calibration:
    bins = len(b.count)
    edges = np.linspace(0.0, 1.0, bins + 1)
    mean = tuple(float(b.sums[i] / b.count[i]) if b.count[i] else None for i in range(bins))
    observed = tuple(float(b.hits[i] / b.count[i]) if b.count[i] else None for i in range(bins))
    return Calibration(tuple(float(e) for e in edges), tuple(int(c) for c in b.count), mean, observed)


def calibration(positive: np.ndarray, score: np.ndarray, bins: int = BINS) -> Calibration:
    positive = np.asarray(positive, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    count = np.zeros(bins, np.int64)
    hits = np.zeros(bins, np.int64)
    sums = np.zeros(bins)
    for start in range(0, len(score), _BLOCK):
        block = np.clip(np.asarray(score[start:start + _BLOCK], dtype=float), 0.0, 1.0)
        which = np.minimum((block * bins).astype(np.int64), bins - 1)  # 1.0 falls in the last bin
        both = np.bincount(2 * which + positive[start:start + _BLOCK], minlength=2 * bins).reshape(bins, 2)
        count += both.sum(axis=1)
        hits += both[:, 1]
        sums += np.bincount(which, weights=block, minlength=bins)
    mean = tuple(float(sums[i] / count[i]) if count[i] else None for i in range(bins))
    observed = tuple(float(hits[i] / count[i]) if count[i] else None for i in range(bins))
    return Calibration(tuple(float(e) for e in edges), tuple(int(c) for c in count), mean, observed)


def summarize(positive: np.ndarray | None, score_candidate: np.ndarray | None,
              score_production: np.ndarray | None, bins: dict | None = None) -> Curves | None:
    """Curves for a binary task with scores; None when there is nothing to draw.

    ``score_production`` is None when there is no production model. A holdout with one class
    has no ROC curve, so it gets no curves at all (the gates say why the metric is undefined).
    ``bins`` maps a role to its :class:`ScoreBins` counted while streaming; beyond
    ``EXACT_ROWS`` rows they draw the curves without another pass over the scores (the same
    bins a whole-array :func:`roc_curve` would count).
    """
    if positive is None or score_candidate is None:
        return None
    positive = np.asarray(positive, dtype=bool)
    n, pos = len(positive), int(positive.sum())
    if n == 0 or pos in (0, n):
        return None
    roles = ["candidate"] + (["production"] if score_production is not None else [])
    if n > EXACT_ROWS:
        bins = {r: (bins or {}).get(r) for r in roles}
        scores = {"candidate": score_candidate, "production": score_production}
        for r in roles:
            if bins[r] is None:  # not counted while streaming: count now, in one pass
                bins[r] = score_bins(positive, scores[r]) if len(scores[r]) == n else None
        if all(b is not None and int(b.count.sum()) == n for b in bins.values()):
            return Curves(n=n, positives=pos, roc={r: roc_from_bins(bins[r]) for r in roles},
                          calibration={r: calibration_from_bins(bins[r]) for r in roles})
    models = {"candidate": score_candidate}
    if score_production is not None:
        models["production"] = score_production
    models = {k: np.asarray(s) for k, s in models.items()}
    if any(len(s) != n or s.dtype.kind not in "biuf" or not np.isfinite(s).all() for s in models.values()):
        return None
    return Curves(
        n=n, positives=pos,
        roc={k: roc_curve(positive, s) for k, s in models.items()},
        calibration={k: calibration(positive, s) for k, s in models.items()},
    )


def _r(value):
    return None if value is None else round(float(value), 6)
