"""Residuals for a regression report: a bounded, deterministic sample of (target, both models'
predictions), and what the report draws from it.

A holdout of ten million rows cannot be drawn point by point, and a plot that changes from run
to run (or with the chunk size) would make two reports of the same evaluation disagree. So each
row gets a key, a hash of its own values, and the sample is the ``SAMPLE_ROWS`` rows with the
smallest keys: the same rows whatever the chunking, the engine or the row order, and mergeable
(two samples' union, cut to the smallest keys, is the sample of both parts). Rows with equal
values share a key, which only matters for a plot of values anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLE_ROWS = 2_000  # rows kept for the plot (and the binned medians)
PLOT_POINTS = 300  # points per model drawn (the first of the sample: itself a random subset)
BINS = 10  # bins of predicted values for the median and the 10-90% band of residuals


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def row_keys(*columns: np.ndarray) -> np.ndarray:
    key = np.full(len(columns[0]), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for column in columns:
        bits = np.ascontiguousarray(np.asarray(column, dtype=np.float64) + 0.0).view(np.uint64)  # -0.0 is 0.0
        key = _mix(key ^ bits)
    return key


@dataclass
class ResidualSample:
    """The rows with the smallest keys among ``n`` rows seen; ``a + b`` merges two parts."""

    n: int
    keys: np.ndarray
    y: np.ndarray
    candidate: np.ndarray
    production: np.ndarray
    size: int = SAMPLE_ROWS

    def __add__(self, other: "ResidualSample") -> "ResidualSample":
        return _smallest(self.n + other.n, np.concatenate([self.keys, other.keys]),
                         *(np.concatenate([a, b]) for a, b in ((self.y, other.y), (self.candidate, other.candidate),
                                                                (self.production, other.production))),
                         size=max(self.size, other.size))


def residual_sample(y, candidate, production, size: int = SAMPLE_ROWS) -> ResidualSample:
    y, candidate, production = (np.asarray(v, dtype=float) for v in (y, candidate, production))
    return _smallest(len(y), row_keys(y, candidate, production), y, candidate, production, size=size)


def _smallest(n: int, keys, y, candidate, production, *, size: int) -> ResidualSample:
    if len(keys) > size:  # a linear-time cut first; rows sharing the boundary key share their values
        cut = np.argpartition(keys, size - 1)[:size]
        keys, y, candidate, production = keys[cut], y[cut], candidate[cut], production[cut]
    order = np.lexsort((production, candidate, y, keys))  # ties broken by value: deterministic
    return ResidualSample(n, keys[order], y[order], candidate[order], production[order], size)


@dataclass(frozen=True)
class ResidualBin:
    predicted: float  # the bin's median prediction
    count: int
    median: float
    low: float  # 10th percentile of the residuals
    high: float  # 90th percentile


@dataclass(frozen=True)
class Residuals:
    """Residual (target - prediction) against prediction, for each model, from the sample."""

    rows: int  # rows of the holdout
    sampled: int  # rows in the sample
    bins: dict[str, tuple[ResidualBin, ...]]  # role -> bins of its own predictions
    points: dict[str, tuple[tuple[float, float], ...]] = field(repr=False)  # role -> (predicted, residual)

    def to_dict(self) -> dict:
        return {"rows": self.rows, "sampled": self.sampled,
                "bins": {role: [{"predicted": _r(b.predicted), "count": b.count, "median": _r(b.median),
                                 "low": _r(b.low), "high": _r(b.high)} for b in bins]
                         for role, bins in self.bins.items()}}


def summarize_residuals(sample: ResidualSample | None, *, has_production: bool, rows_shown: bool = True) -> Residuals | None:
    """What the report draws. ``rows_shown=False`` keeps only the binned quantiles: a sealed
    holdout's rows must not reach a report that pull-request authors can download."""
    if sample is None or len(sample.y) == 0:
        return None
    roles = {"candidate": sample.candidate, **({"production": sample.production} if has_production else {})}
    bins, points = {}, {}
    for role, predicted in roles.items():
        residual = sample.y - predicted
        bins[role] = _bins(predicted, residual)
        kept = PLOT_POINTS if rows_shown else 0
        points[role] = tuple(zip(predicted[:kept].tolist(), residual[:kept].tolist()))
    return Residuals(rows=sample.n, sampled=len(sample.y), bins=bins, points=points)


def _bins(predicted: np.ndarray, residual: np.ndarray) -> tuple[ResidualBin, ...]:
    """Equal-count bins of the predictions (sorted), each with its residuals' median and band."""
    order = np.argsort(predicted, kind="stable")
    out = []
    for part in np.array_split(order, min(BINS, len(order))):
        if len(part) == 0:
            continue
        r = residual[part]
        out.append(ResidualBin(float(np.median(predicted[part])), int(len(part)), float(np.median(r)),
                               float(np.quantile(r, 0.1)), float(np.quantile(r, 0.9))))
    return tuple(out)


def _r(value: float) -> float:
    return round(float(value), 6)
