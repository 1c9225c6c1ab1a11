"""Mergeable sufficient statistics: joint cell counts and paired moments.

Everything that decides a gate is a function of these, so the local, streaming and Dask engines
compute them per chunk or partition, add them up, and call the very same statistics on the sum.
Counts add exactly; moments merge with the pairwise formula of Chan, Golub and LeVeque (1979),
which stays accurate where the naive Σx, Σx² formula cancels catastrophically.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import as_1d, check_same_length

_WHICH = ("candidate", "production")
_DENSE_LABEL_RANGE = 1 << 20  # integer labels spanning less than this are mapped by a lookup table
_MOMENT_CHUNK = 1 << 20  # rows per block in PairedMoments.from_rows (bounds the temporary)
_COUNT_CHUNK = 1 << 20  # rows per block when counting joint cells
_MAX_LABELS = 256  # K³ int64 counts: 256 labels is already 134 MB


@dataclass(frozen=True, eq=False)
class JointCells:
    """Joint counts over (y, ŷ_candidate, ŷ_production): ``counts[i, j, k]`` rows whose true
    label is ``labels[i]``, candidate predicted ``labels[j]`` and production ``labels[k]``.

    The K³ table is a sufficient statistic for every paired confusion-matrix comparison: both
    confusion matrices are its margins, McNemar's b and c are sums of its cells, and resampling
    rows is the same as a multinomial draw over its cells.
    """

    labels: tuple
    counts: np.ndarray

    def __post_init__(self):
        labels = tuple(self.labels)
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be unique; got {labels!r}")
        counts = np.asarray(self.counts)
        k = len(labels)
        if counts.shape != (k, k, k):
            raise ValueError(
                f"counts must have shape (K, K, K) with K = len(labels) = {k}; got {counts.shape}"
            )
        if counts.size and (counts.dtype.kind not in "iub" or counts.min() < 0):
            raise ValueError("counts must be non-negative integers")
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "counts", counts.astype(np.int64, copy=False))

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, y_true, pred_candidate, pred_production, labels=None) -> "JointCells":
        """Count the rows; ``labels=None`` uses the sorted union of the values in all three."""
        arrays = [
            as_1d("y_true", y_true),
            as_1d("pred_candidate", pred_candidate),
            as_1d("pred_production", pred_production),
        ]
        check_same_length(
            y_true=arrays[0], pred_candidate=arrays[1], pred_production=arrays[2]
        )
        if labels is None:
            labels, encode = _union_encoder(arrays)
        else:
            labels = tuple(labels)
            encode = _given_encoder(labels)
        k = len(labels)
        if k > _MAX_LABELS:
            raise ValueError(
                f"labels must number at most {_MAX_LABELS} (the joint table has K³ cells); got {k}"
            )
        counts = np.zeros(k**3, np.int64)
        # blocks keep the int64 temporaries small and reused (fresh large arrays cost page faults)
        for start in range(0, len(arrays[0]), _COUNT_CHUNK):
            block = [a[start : start + _COUNT_CHUNK] for a in arrays]
            cy, cc, cp = (encode(name, b) for name, b in zip(_NAMES, block))
            cy *= k
            cy += cc
            cy *= k
            cy += cp
            counts += np.bincount(cy, minlength=k**3)
        return cls(labels, counts.reshape(k, k, k))

    # -- views ----------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def confusion(self, which: str) -> np.ndarray:
        """(K, K) confusion matrix of one model, rows true, columns predicted."""
        if which not in _WHICH:
            raise ValueError(f"which must be 'candidate' or 'production'; got {which!r}")
        return self.counts.sum(axis=2 if which == "candidate" else 1)

    def swapped(self) -> "JointCells":
        """The same rows with the two models exchanged."""
        return JointCells(self.labels, self.counts.transpose(0, 2, 1).copy())

    def aligned(self, labels) -> "JointCells":
        """Re-index to ``labels``, a superset of ``self.labels`` in any order (new cells are 0)."""
        labels = tuple(labels)
        missing = [lab for lab in self.labels if lab not in labels]
        if missing:
            raise ValueError(
                f"labels must include every label of these cells; missing {missing!r}"
            )
        if labels == self.labels:
            return self
        pos = {lab: i for i, lab in enumerate(labels)}
        idx = np.array([pos[lab] for lab in self.labels], dtype=np.intp)
        out = np.zeros((len(labels),) * 3, np.int64)
        out[np.ix_(idx, idx, idx)] = self.counts
        return JointCells(labels, out)

    # -- merging --------------------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, numbers.Number) and other == 0:
            return self
        if not isinstance(other, JointCells):
            return NotImplemented
        if self.labels == other.labels:
            return JointCells(self.labels, self.counts + other.counts)
        union = _label_union(self.labels, other.labels)
        return JointCells(union, self.aligned(union).counts + other.aligned(union).counts)

    __radd__ = __add__

    def __eq__(self, other):
        if not isinstance(other, JointCells):
            return NotImplemented
        return self.labels == other.labels and np.array_equal(self.counts, other.counts)

    __hash__ = None

    def __repr__(self):
        return f"JointCells(labels={self.labels!r}, n={self.n})"


_NAMES = ("y_true", "pred_candidate", "pred_production")


def _label_union(a: tuple, b: tuple) -> tuple:
    extra = [lab for lab in b if lab not in a]
    try:
        return tuple(sorted((*a, *extra)))
    except TypeError:  # unorderable mix (e.g. str and int): keep first-seen order
        return (*a, *extra)


def _union_encoder(arrays):
    """The sorted union of labels and a function mapping a block of values to label indices.

    Small integer and bool labels (the usual case) use a lookup table, O(n) without sorting;
    anything else goes through ``np.unique``.
    """
    if all(a.dtype.kind in "biu" for a in arrays) and len(arrays[0]):
        lo = min(int(a.min()) for a in arrays)
        hi = max(int(a.max()) for a in arrays)
        if hi - lo < _DENSE_LABEL_RANGE and hi <= np.iinfo(np.intp).max:
            present = np.zeros(hi - lo + 1, bool)
            for a in arrays:
                for start in range(0, len(a), _COUNT_CHUNK):
                    block = a[start : start + _COUNT_CHUNK].astype(np.intp) - lo
                    present |= np.bincount(block, minlength=hi - lo + 1) > 0
            values = np.flatnonzero(present)
            if all(a.dtype == bool for a in arrays):
                labels = tuple(bool(v) for v in values)
            else:
                labels = tuple(int(v) + lo for v in values)
            return labels, _given_encoder(labels)  # given integer labels: the lookup table
    try:
        uniq = np.unique(np.concatenate(arrays))
    except TypeError as exc:
        raise ValueError(f"labels must be mutually orderable; {exc}") from None
    labels = tuple(uniq.tolist())
    return labels, _given_encoder(labels)


def _given_encoder(labels: tuple):
    def encode(name, values):
        return _encode_given(name, values, labels)

    return encode


def label_codes(name: str, values, labels: tuple) -> np.ndarray:
    """Each value's index in ``labels`` (``ValueError`` naming ``name`` for a value not in them)."""
    return _encode_given(name, as_1d(name, values), tuple(labels))


def _encode_given(name: str, values: np.ndarray, labels: tuple) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(0, np.intp)
    lut = _lookup_table(values, labels)
    if lut is not None:  # integer labels: a table lookup, no sorting (the common case)
        lo, table = lut
        if _is_identity(table):  # labels lo, lo+1, …: the code is the value minus lo
            low, high = values.min(), values.max()
            if low >= lo and high < lo + table.size:
                return values.astype(np.intp) - lo if lo else values.astype(np.intp)
        shifted = values.astype(np.intp) - lo
        inside = (shifted >= 0) & (shifted < table.size)
        codes = table[np.where(inside, shifted, 0)]
        ok = inside & (codes >= 0)
        if not ok.all():
            unknown = np.unique(values[~ok])[:5].tolist()
            raise ValueError(f"{name} holds values not in labels {labels!r}: {unknown!r}")
        return codes
    lab = np.array(labels, dtype=object if values.dtype == object else None)
    order = np.argsort(lab, kind="stable")
    sorted_lab = lab[order]
    pos = np.searchsorted(sorted_lab, values)
    pos_clipped = np.minimum(pos, len(labels) - 1)
    ok = (pos < len(labels)) & (sorted_lab[pos_clipped] == values)
    if not np.all(ok):
        unknown = np.unique(values[~ok])[:5].tolist()
        raise ValueError(f"{name} holds values not in labels {labels!r}: {unknown!r}")
    return order[pos_clipped].astype(np.intp)


def _lookup_table(values: np.ndarray, labels: tuple):
    """``(lo, table)`` with ``table[v - lo]`` the index of label ``v`` (−1 if none), when the
    values are integers or bools and so are all the labels over a small range; else None."""
    if values.dtype.kind not in "biu" or not labels:
        return None
    if not all(isinstance(lab, (numbers.Integral, np.bool_)) for lab in labels):
        return None
    ints = [int(lab) for lab in labels]
    lo, hi = min(ints), max(ints)
    bounds = np.iinfo(np.intp)
    if hi - lo >= _DENSE_LABEL_RANGE or lo < bounds.min or hi > bounds.max:
        return None
    if values.dtype.kind == "u" and values.dtype.itemsize >= np.dtype(np.intp).itemsize \
            and values.size and int(values.max()) > bounds.max:
        return None  # the cast to intp would wrap around: leave these to the sorted search
    table = np.full(hi - lo + 1, -1, np.intp)
    table[np.array(ints) - lo] = np.arange(len(ints))
    return lo, table


def _is_identity(table: np.ndarray) -> bool:
    return bool((table == np.arange(table.size)).all())


@dataclass(frozen=True, eq=False)
class PairedMoments:
    """Count, mean vector and centred cross-product matrix (M2) of per-row columns.

    For the loss gates the columns are (loss_candidate, loss_production, y, y²): the paired t
    needs the variance of the difference of the first two, and the delta method for rmse and r2
    needs their covariances with y and y². Merging uses Chan et al.'s update, which is exact in
    exact arithmetic and stable in floating point.

    ``m3`` is the centred third-moment sum of the per-row difference d = column 1 − column 0
    (loss_production − loss_candidate): the skewness that a heavy-tailed loss gives the paired
    t, merged with Pébay's (2008) update. None when unknown (fewer than two columns, or moments
    built by hand), and then no skewness correction is made. ``nonzero`` counts the rows where
    d ≠ 0: when the models' losses differ on a handful of rows only, those rows are all the
    evidence there is (a claim of superiority needs enough of them, and their skewness is not
    the smooth kind Hall's correction is for). It is an effective count, (Σ|d|)² / Σd², built
    from two plain sums: a row that differs by 1e-9 adds nothing to it (an exact count could be
    inflated by shifting every prediction by a hair).
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray
    m3: float | None = None
    abs_sum: float | None = None  # Σ|d|
    sq_sum: float | None = None  # Σd² (about 0, not centred)

    def __post_init__(self):
        n = self.n
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be a non-negative integer; got {n!r}")
        mean = np.atleast_1d(np.asarray(self.mean, dtype=np.float64))
        m2 = np.asarray(self.m2, dtype=np.float64)
        if mean.ndim != 1 or m2.shape != (mean.size, mean.size):
            raise ValueError(
                f"mean must have shape (p,) and m2 shape (p, p); got {mean.shape} and {m2.shape}"
            )
        object.__setattr__(self, "n", int(n))
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "m2", m2)
        if self.m3 is not None:
            object.__setattr__(self, "m3", float(self.m3))
        for name in ("abs_sum", "sq_sum"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def nonzero(self) -> float | None:
        """The effective number of rows on which the two losses differ, (Σ|d|)² / Σd²."""
        if self.abs_sum is None or self.sq_sum is None:
            return None
        return self.abs_sum**2 / self.sq_sum if self.sq_sum > 0 else 0.0

    @classmethod
    def from_rows(cls, X) -> "PairedMoments":
        """Moments of the rows of ``X`` (n, p); computed in blocks so the temporary stays small."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n, p); got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X must be finite; got NaN or infinite values")
        p = X.shape[1]
        total = cls(0, np.zeros(p), np.zeros((p, p)), *((0.0, 0.0, 0.0) if p >= 2 else (None, None, None)))
        # one reused buffer for the centred block: fresh large arrays cost page faults
        buffer = np.empty((min(X.shape[0], _MOMENT_CHUNK), p))
        for start in range(0, X.shape[0], _MOMENT_CHUNK):
            block = X[start : start + _MOMENT_CHUNK]
            sums = _abs_sq(block[:, 1] - block[:, 0]) if p >= 2 else (None, None)
            mean = block.mean(axis=0)
            centred = np.subtract(block, mean, out=buffer[: block.shape[0]])
            total = total + cls(block.shape[0], mean, centred.T @ centred,
                                _third(centred[:, 1] - centred[:, 0]) if p >= 2 else None, *sums)
        return total

    @classmethod
    def from_columns(cls, *columns) -> "PairedMoments":
        """Moments of equal-length 1-D columns, as ``from_rows(np.column_stack(columns))`` but
        without building the (n, p) matrix: each block is gathered into one reused (p, block)
        buffer, so the per-chunk cost of a streamed evaluation stays a few passes over memory."""
        cols = [np.asarray(c, dtype=np.float64).reshape(-1) for c in columns]
        if not cols:
            raise ValueError("from_columns needs at least one column")
        n = cols[0].size
        if any(c.size != n for c in cols):
            raise ValueError(f"columns must have the same length; got {[c.size for c in cols]}")
        p = len(cols)
        total = cls(0, np.zeros(p), np.zeros((p, p)), *((0.0, 0.0, 0.0) if p >= 2 else (None, None, None)))
        buffer = np.empty((p, min(n, _MOMENT_CHUNK)))
        for start in range(0, n, _MOMENT_CHUNK):
            size = min(_MOMENT_CHUNK, n - start)
            block = buffer[:, :size]
            for row, c in zip(block, cols):
                row[...] = c[start : start + size]
            if not np.isfinite(block).all():
                raise ValueError("X must be finite; got NaN or infinite values")
            sums = _abs_sq(block[1] - block[0]) if p >= 2 else (None, None)
            mean = block.mean(axis=1)
            block -= mean[:, None]
            total = total + cls(size, mean, block @ block.T, _third(block[1] - block[0]) if p >= 2 else None, *sums)
        return total

    @property
    def p(self) -> int:
        return self.mean.size

    @property
    def cov(self) -> np.ndarray:
        """Sample covariance (ddof = 1); NaN with fewer than two rows."""
        if self.n < 2:
            return np.full_like(self.m2, np.nan)
        return self.m2 / (self.n - 1)

    def __add__(self, other):
        if isinstance(other, numbers.Number) and other == 0:
            return self
        if not isinstance(other, PairedMoments):
            return NotImplemented
        if other.p != self.p:
            raise ValueError(f"cannot merge moments of {self.p} and {other.p} columns")
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + np.outer(delta, delta) * (self.n * other.n / n)
        m3 = None
        if self.m3 is not None and other.m3 is not None:
            na, nb = self.n, other.n
            d = float(delta[1] - delta[0])
            m2a, m2b = self.difference_m2, other.difference_m2
            m3 = self.m3 + other.m3 + d**3 * na * nb * (na - nb) / n**2 + 3.0 * d * (na * m2b - nb * m2a) / n
        both = self.abs_sum is not None and other.abs_sum is not None
        return PairedMoments(n, mean, m2, m3, self.abs_sum + other.abs_sum if both else None,
                             self.sq_sum + other.sq_sum if both else None)

    @property
    def difference_m2(self) -> float:
        """Centred second-moment sum of d = column 1 − column 0."""
        return float(self.m2[1, 1] + self.m2[0, 0] - 2.0 * self.m2[0, 1])

    __radd__ = __add__

    def __repr__(self):
        return f"PairedMoments(n={self.n}, mean={self.mean!r})"


def _abs_sq(d: np.ndarray) -> tuple[float, float]:
    return float(np.abs(d).sum()), float(np.dot(d, d))


def _third(centred_difference: np.ndarray) -> float:
    """Σ (d − d̄)³ of a block whose columns were centred (so d is centred too)."""
    d = centred_difference - centred_difference.mean()  # exact zero mean despite rounding
    return float(np.dot(d * d, d))
