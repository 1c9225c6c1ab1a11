"""Per-column sketches that stream over chunks and merge: a window of any length in one pass.

A drift distance needs only a column's histogram, so the watch never holds a column: each chunk
is binned and added, and sketches of shards merge by adding counts (counts are sufficient
statistics; distances are derived late, in ``distances``).

- :func:`numeric_edges` fixes a numeric column's bins once, from a sample of the *reference*:
  the midpoints between its distinct values when it has at most ``bins`` of them (discrete data
  is binned exactly, one value a bin), else its quantiles. Reference and current window must be
  sketched on the same edges.
- :class:`NumericSketch` keeps, per bin, the count and the sum of the values (so a bin's mass
  can sit at its own mean), and over the column n, missing, sum, sum of squares, min and max.
  Bin ``i`` holds ``edges[i-1] <= x < edges[i]``; bin 0 is the underflow (below ``edges[0]``)
  and the last bin the overflow, so there are ``len(edges) + 1`` bins.
- :class:`CategoricalSketch` counts values by their ``str()``.

NaN, None, pd.NA and NaT are counted as missing and never binned. Memory is bounded by the
number of bins (numbers) or of distinct values (categories) — a column of ids would grow a
categorical sketch without bound, so such columns do not belong in a drift watch.

Notes
-----
A chunk is sorted once and cut at the edges (``searchsorted`` of the edges into the sorted
chunk); with NumPy's vectorised sort this is several times faster than a binary search per
row, and it yields the per-bin sums (``np.add.reduceat``), min and max on the way. The spread
is merged with Chan et al.'s pairwise update of the sum of squared deviations (``m2``), so the
reference's standard deviation does not cancel catastrophically when the mean is large
against it (timestamps, prices); ``total_sq`` is kept too, as plain data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def numeric_edges(sample, bins: int = 1000) -> np.ndarray:
    """Interior bin edges from a sample of the REFERENCE column.

    Its distinct values' midpoints when it has at most ``bins`` of them (so discrete data is
    binned exactly: every distinct reference value has a bin of its own), else its quantiles at
    ``1/bins, 2/bins, …`` (duplicates dropped, so heavy ties give fewer bins). Missing values are
    ignored. The sketches then have ``len(edges) + 1 <= bins`` bins.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer; got {bins!r}")
    x = _floats(sample, "sample")
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise ValueError("sample has no values (empty, or every value missing): the reference column "
                         "needs at least one value to place bin edges")
    if not np.isfinite(x).all():
        raise ValueError(f"sample must be finite or missing; got {float(x[~np.isfinite(x)][0])!r}")
    distinct = np.unique(x)
    if distinct.size <= bins:
        # halves first: the midpoint of two huge values must not overflow
        mid = distinct[:-1] / 2 + distinct[1:] / 2
        # two neighbouring doubles have no double between them; the midpoint then rounds to one of
        # them, and it must be the upper one so the lower value stays in the bin below
        return np.where(mid <= distinct[:-1], distinct[1:], mid)
    return np.unique(np.quantile(x, np.arange(1, bins) / bins))


class NumericSketch:
    """A numeric column's histogram on fixed edges, with per-bin sums; adds chunks, merges shards.

    Readable attributes: ``edges``; ``counts`` (int64, ``len(edges) + 1`` bins including under-
    and overflow) and ``sums`` (per-bin sum of the values, for within-bin means); ``n`` (values
    binned), ``missing``, ``total`` (sum), ``total_sq`` (sum of squares), ``m2`` (sum of squared
    deviations from the mean), ``min`` and ``max`` (NaN while empty); properties ``mean`` and
    ``std`` (population, ddof = 0).
    """

    def __init__(self, edges):
        e = np.array(edges, dtype=np.float64, copy=True)
        if e.ndim != 1:
            raise ValueError(f"edges must be one-dimensional; got shape {e.shape}")
        if not np.isfinite(e).all():
            raise ValueError(f"edges must be finite; got {float(e[~np.isfinite(e)][0])!r}")
        if e.size > 1 and not (np.diff(e) > 0).all():
            raise ValueError("edges must be strictly increasing (use numeric_edges)")
        e.flags.writeable = False
        self.edges = e
        self.counts = np.zeros(e.size + 1, dtype=np.int64)
        self.sums = np.zeros(e.size + 1, dtype=np.float64)
        self.n = 0
        self.missing = 0
        self.total = 0.0
        self.total_sq = 0.0
        self.m2 = 0.0
        self.min = math.nan
        self.max = math.nan

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def std(self) -> float:
        """Population standard deviation (ddof = 0, as ``np.std``), NaN while empty."""
        return math.sqrt(max(self.m2, 0.0) / self.n) if self.n else math.nan

    def add(self, values) -> None:
        """Bin an array-like of numbers; NaN and None count as missing, infinities are refused."""
        x = _floats(values, "values")
        if x.size == 0:
            return
        x = np.sort(x)  # NaN sorts last; NumPy's default (SIMD) sort, several times faster than "stable"
        n = int(np.searchsorted(x, np.nan)) if np.isnan(x[-1]) else x.size
        missing = x.size - n
        x = x[:n]
        if n and (math.isinf(x[0]) or math.isinf(x[-1])):
            raise ValueError(f"values must be finite or missing; got {float(x[0] if math.isinf(x[0]) else x[-1])!r}")
        self.missing += missing
        if n == 0:
            return
        cuts = np.searchsorted(x, self.edges, side="left")
        bounds = np.concatenate(([0], cuts, [n]))
        counts = np.diff(bounds)
        sums = np.zeros(counts.size)
        full = counts > 0
        sums[full] = np.add.reduceat(x, bounds[:-1][full])
        mean = float(x.mean())
        dev = x - mean
        # einsum, not np.dot: waking BLAS threads costs more than the sum itself on a chunk
        sq, m2 = float(np.einsum("i,i->", x, x)), float(np.einsum("i,i->", dev, dev))
        self._combine(counts, sums, n, float(x.sum()), sq, m2, float(x[0]), float(x[-1]))

    def merge(self, other: "NumericSketch") -> "NumericSketch":
        """A new sketch of both shards' rows (same edges required); neither input changes."""
        if not isinstance(other, NumericSketch):
            raise ValueError(f"can only merge a NumericSketch with a NumericSketch; got {type(other).__name__}")
        require_same_edges(self, other)
        out = self.copy()
        out.missing += other.missing
        if other.n:
            out._combine(other.counts, other.sums, other.n, other.total, other.total_sq, other.m2, other.min,
                         other.max)
        return out

    __add__ = merge

    def copy(self) -> "NumericSketch":
        out = NumericSketch.__new__(NumericSketch)
        out.__dict__.update(self.__dict__)
        out.counts, out.sums = self.counts.copy(), self.sums.copy()
        return out

    def _combine(self, counts, sums, n, total, total_sq, m2, lo, hi) -> None:
        if self.n:
            delta = total / n - self.total / self.n
            self.m2 += m2 + delta * delta * self.n * n / (self.n + n)
        else:
            self.m2 = m2
        self.counts = self.counts + counts
        self.sums = self.sums + sums
        self.n += n
        self.total += total
        self.total_sq += total_sq
        self.min = float(np.fmin(self.min, lo))
        self.max = float(np.fmax(self.max, hi))

    def __repr__(self) -> str:
        return (f"NumericSketch(bins={self.counts.size}, n={self.n}, missing={self.missing}, "
                f"mean={self.mean:.6g}, std={self.std:.6g})")


class CategoricalSketch:
    """A categorical column's counts by ``str(value)``; adds chunks, merges shards.

    Readable attributes: ``counts`` (``dict[str, int]``), ``n`` (values counted) and ``missing``.
    Values are compared as their ``str()``, so ``1`` and ``"1"`` are one category but ``1`` and
    ``1.0`` are two: a reader that turns an integer column with gaps into floats must turn it back
    before sketching.
    """

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.n = 0
        self.missing = 0

    def add(self, values) -> None:
        """Count an array-like of any values; None, NaN, pd.NA and NaT count as missing."""
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise ValueError(f"values must be an array-like of values; got {type(values).__name__}")
        try:
            s = values if isinstance(values, pd.Series) else pd.Series(values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"values must be one-dimensional; {exc}") from None
        seen = s.value_counts(dropna=True, sort=False)
        counted = 0
        for value, count in zip(seen.index, seen.to_numpy()):
            if count:
                key = str(value)
                self.counts[key] = self.counts.get(key, 0) + int(count)
                counted += int(count)
        self.n += counted
        self.missing += len(s) - counted

    def merge(self, other: "CategoricalSketch") -> "CategoricalSketch":
        """A new sketch of both shards' rows; neither input changes."""
        if not isinstance(other, CategoricalSketch):
            raise ValueError(f"can only merge a CategoricalSketch with a CategoricalSketch; got {type(other).__name__}")
        out = CategoricalSketch()
        out.counts = dict(self.counts)
        for key, count in other.counts.items():
            out.counts[key] = out.counts.get(key, 0) + count
        out.n, out.missing = self.n + other.n, self.missing + other.missing
        return out

    __add__ = merge

    def __repr__(self) -> str:
        return f"CategoricalSketch(categories={len(self.counts)}, n={self.n}, missing={self.missing})"


def _floats(values, name: str) -> np.ndarray:
    """A one-dimensional float64 array; missing (None, pd.NA, NaT) as NaN."""
    try:
        if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
            x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            x = np.asarray(values)
            if x.dtype == object:
                x = pd.Series(x.ravel(), dtype=object).to_numpy(dtype=np.float64, na_value=np.nan).reshape(x.shape)
            elif not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
                raise TypeError(f"got dtype {x.dtype}")
            x = x.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers (NaN or None for missing); {exc}") from None
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {x.shape}")
    return x


def require_same_edges(a: NumericSketch, b: NumericSketch) -> None:
    """Raise ValueError unless both sketches bin on the same edges."""
    if a.edges.shape != b.edges.shape or not np.array_equal(a.edges, b.edges):
        raise ValueError(f"the sketches have different bin edges ({a.edges.size} and {b.edges.size} edges): "
                         "sketch the reference and the current window on the same numeric_edges")
