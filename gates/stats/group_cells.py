"""Per-group sufficient statistics, mergeable by group key.

When rows come in groups (several rows per user, patient or session) the group is the
independent unit, so the statistics keep one record per group: :class:`GroupCells` the joint
cell counts of (y, ŷ_candidate, ŷ_production) of each group, :class:`GroupSums` the row count
and column sums of each group. A streaming or Dask engine builds one per chunk and adds them:
a group's rows may be split across chunks and need not be contiguous, because ``a + b`` merges
by group key (the union of the keys, the records of a key summed). Counts merge exactly; float
sums merge up to the rounding of addition (order matters in the last bit, nowhere else).

Memory is one record per group: ``G × K³`` int64 for the cells (64 MB at a million groups of a
binary target) and ``G × (p + 1)`` numbers for the sums.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import as_1d, check_same_length
from .cells import JointCells, PairedMoments, label_codes

_BLOCK = 1 << 20  # rows per block when building the combined (group, cell) index
_DENSE_KEYS = 4  # integer keys spanning ≤ 4 × rows (or 1M) are factorised by a table, no sort


def group_codes(groups) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, codes)``: the sorted distinct group labels and each row's index into them.

    Integer labels over a compact range (the usual encoded ids) are factorised with a presence
    table in O(n); anything else through ``np.unique``. NaN is refused (it is not equal to
    itself, so it cannot name a group)."""
    g = as_1d("groups", groups)
    if g.size == 0:
        return g[:0].copy(), np.zeros(0, np.intp)
    if g.dtype.kind == "f" and np.isnan(g).any():
        raise ValueError(f"groups must not hold NaN; got {int(np.isnan(g).sum())} NaN label(s)")
    if g.dtype.kind in "biu":
        lo, hi = int(g.min()), int(g.max())
        span = hi - lo + 1
        if span <= max(_DENSE_KEYS * g.size, 1 << 20) and hi <= np.iinfo(np.intp).max:
            present = np.zeros(span, bool)
            shifted = g.astype(np.intp, copy=False) - lo if lo else g.astype(np.intp, copy=False)
            present[shifted] = True
            rank = np.cumsum(present, dtype=np.intp) - 1
            keys = (np.flatnonzero(present) + lo).astype(g.dtype)
            return keys, rank[shifted]
    try:
        keys, codes = np.unique(g, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"groups must be mutually orderable labels; {exc}") from None
    return keys, codes.reshape(-1).astype(np.intp, copy=False)


def _merge_keys(a: np.ndarray, b: np.ndarray):
    """Union of two sorted key arrays and the position of each input key in it."""
    try:
        union, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"group keys must be mutually orderable to merge; {exc}") from None
    inverse = inverse.reshape(-1)
    return union, inverse[: a.size], inverse[a.size :]


def _check_keys(keys, count: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Keys as a 1-D array of ``count`` distinct labels, and the order sorting them (None if
    already sorted)."""
    keys = np.asarray(keys)
    if keys.ndim != 1 or keys.size != count:
        raise ValueError(f"keys must be one-dimensional with one key per group ({count}); got shape {keys.shape}")
    if keys.size < 2:
        return keys, None
    try:
        order = np.argsort(keys, kind="stable")
    except TypeError as exc:
        raise ValueError(f"keys must be mutually orderable; {exc}") from None
    ordered = keys[order]
    if np.any(ordered[1:] == ordered[:-1]):
        raise ValueError("keys must be distinct (one record per group)")
    return (keys, None) if np.array_equal(order, np.arange(keys.size)) else (ordered, order)


@dataclass(frozen=True, eq=False)
class GroupCells:
    """Per-group joint cell counts: ``counts[g, i, j, k]`` rows of group ``keys[g]`` whose true
    label is ``labels[i]``, candidate predicted ``labels[j]`` and production ``labels[k]``.

    Summed over groups it is :class:`JointCells` (``.total``); kept per group it is what a
    cluster bootstrap resamples and what a clustered McNemar reads its per-group b and c from.
    Keys are kept sorted; every group holds at least one row.
    """

    labels: tuple
    keys: np.ndarray
    counts: np.ndarray

    def __post_init__(self):
        labels = tuple(self.labels)
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be unique; got {labels!r}")
        k = len(labels)
        counts = np.asarray(self.counts)
        if counts.ndim != 4 or counts.shape[1:] != (k, k, k):
            raise ValueError(f"counts must have shape (G, K, K, K) with K = len(labels) = {k}; got {counts.shape}")
        if counts.size and (counts.dtype.kind not in "iub" or counts.min() < 0):
            raise ValueError("counts must be non-negative integers")
        counts = counts.astype(np.int64, copy=False)
        if counts.shape[0] and k and not counts.reshape(counts.shape[0], -1).any(axis=1).all():
            raise ValueError("every group must hold at least one row")
        keys, order = _check_keys(self.keys, counts.shape[0])
        if order is not None:
            counts = counts[order]
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "counts", counts)

    @classmethod
    def from_arrays(cls, y_true, pred_candidate, pred_production, groups, labels=None) -> "GroupCells":
        """Count each group's rows; ``labels=None`` uses the sorted union of the three arrays'
        values (as :meth:`JointCells.from_arrays`)."""
        y = as_1d("y_true", y_true)
        c = as_1d("pred_candidate", pred_candidate)
        p = as_1d("pred_production", pred_production)
        g = as_1d("groups", groups)
        check_same_length(y_true=y, pred_candidate=c, pred_production=p, groups=g)
        if labels is None:
            labels = JointCells.from_arrays(y, c, p).labels
        labels = tuple(labels)
        k = len(labels)
        if k > 256:
            raise ValueError(f"labels must number at most 256 (the joint table has K³ cells); got {k}")
        keys, codes = group_codes(g)
        n_groups, cells = keys.size, k**3
        index = np.empty(y.size, np.intp)
        for start in range(0, y.size, _BLOCK):
            sl = slice(start, start + _BLOCK)
            block = index[sl]
            np.multiply(codes[sl], cells, out=block)
            block += label_codes("y_true", y[sl], labels) * (k * k)
            block += label_codes("pred_candidate", c[sl], labels) * k
            block += label_codes("pred_production", p[sl], labels)
        counts = np.bincount(index, minlength=n_groups * cells).reshape(n_groups, k, k, k)
        return cls(labels, keys, counts)

    # -- views ----------------------------------------------------------------------------------
    @property
    def groups(self) -> int:
        """The number of groups."""
        return int(self.counts.shape[0])

    @property
    def n(self) -> int:
        """The number of rows."""
        return int(self.counts.sum())

    @property
    def sizes(self) -> np.ndarray:
        """Rows per group, (G,) int64, in key order."""
        return self.counts.reshape(self.groups, -1).sum(axis=1)

    @property
    def total(self) -> JointCells:
        """The joint cells of all rows (the ungrouped sufficient statistic)."""
        return JointCells(self.labels, self.counts.sum(axis=0))

    def aligned(self, labels) -> "GroupCells":
        """Re-index to ``labels``, a superset of ``self.labels`` in any order (new cells are 0)."""
        labels = tuple(labels)
        missing = [lab for lab in self.labels if lab not in labels]
        if missing:
            raise ValueError(f"labels must include every label of these cells; missing {missing!r}")
        if labels == self.labels:
            return self
        pos = {lab: i for i, lab in enumerate(labels)}
        idx = np.array([pos[lab] for lab in self.labels], dtype=np.intp)
        out = np.zeros((self.groups,) + (len(labels),) * 3, np.int64)
        out[np.ix_(np.arange(self.groups), idx, idx, idx)] = self.counts
        return GroupCells(labels, self.keys, out)

    # -- merging --------------------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, numbers.Number) and other == 0:
            return self
        if not isinstance(other, GroupCells):
            return NotImplemented
        labels = self.labels
        if other.labels != labels:
            labels = (self.total + other.total).labels  # JointCells' own label union rule
        a, b = self.aligned(labels), other.aligned(labels)
        keys, ia, ib = _merge_keys(a.keys, b.keys)
        k = len(labels)
        out = np.zeros((keys.size, k, k, k), np.int64)
        out[ia] += a.counts  # positions are distinct within each operand, so += is exact
        out[ib] += b.counts
        return GroupCells(labels, keys, out)

    __radd__ = __add__

    def __eq__(self, other):
        if not isinstance(other, GroupCells):
            return NotImplemented
        return (self.labels == other.labels and np.array_equal(self.keys, other.keys)
                and np.array_equal(self.counts, other.counts))

    __hash__ = None

    def __repr__(self):
        return f"GroupCells(labels={self.labels!r}, groups={self.groups}, n={self.n})"


@dataclass(frozen=True, eq=False)
class GroupSums:
    """Per-group row counts and column sums, with the row-level moments of the same columns.

    For the loss gates the columns are (loss_candidate, loss_production, y, y²), as for
    :class:`PairedMoments`: the cluster-robust paired t needs each group's n_g and the sums of
    the columns (its residual n_g·(group mean − overall mean)), and the design effect compares
    that variance with the row-level one, which ``moments`` (Chan et al.'s stable merge) gives.
    """

    keys: np.ndarray
    n: np.ndarray  # (G,) rows per group
    sums: np.ndarray  # (G, p) column sums per group
    moments: PairedMoments  # the same columns, row by row (the ungrouped statistic)

    def __post_init__(self):
        n = np.asarray(self.n)
        sums = np.asarray(self.sums, dtype=np.float64)
        if n.ndim != 1 or (n.size and (n.dtype.kind not in "iu" or n.min() < 1)):
            raise ValueError("n must be a one-dimensional array of positive row counts, one per group")
        if sums.ndim != 2 or sums.shape[0] != n.size:
            raise ValueError(f"sums must have shape (G, p) with G = len(n) = {n.size}; got {sums.shape}")
        if not isinstance(self.moments, PairedMoments) or self.moments.p != sums.shape[1]:
            raise ValueError(f"moments must be a PairedMoments of the same {sums.shape[1]} columns")
        if int(n.sum()) != self.moments.n:
            raise ValueError(f"the groups hold {int(n.sum())} rows but the moments {self.moments.n}")
        keys, order = _check_keys(self.keys, n.size)
        n = n.astype(np.int64, copy=False)
        if order is not None:
            n, sums = n[order], sums[order]
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "sums", sums)

    @classmethod
    def from_columns(cls, groups, *columns) -> "GroupSums":
        """Sums of equal-length 1-D ``columns`` per group label in ``groups`` (one per row)."""
        g = as_1d("groups", groups)
        cols = [np.asarray(c, dtype=np.float64).reshape(-1) for c in columns]
        if not cols:
            raise ValueError("from_columns needs at least one column")
        if any(c.size != g.size for c in cols):
            raise ValueError(f"columns must have one value per group label ({g.size}); got {[c.size for c in cols]}")
        moments = PairedMoments.from_columns(*cols)  # also refuses NaN and infinities
        keys, codes = group_codes(g)
        count = np.bincount(codes, minlength=keys.size).astype(np.int64)
        sums = np.column_stack([np.bincount(codes, weights=c, minlength=keys.size) for c in cols])
        return cls(keys, count, sums.reshape(keys.size, len(cols)), moments)

    @property
    def groups(self) -> int:
        return int(self.n.size)

    @property
    def rows(self) -> int:
        return self.moments.n

    @property
    def p(self) -> int:
        return int(self.sums.shape[1])

    def __add__(self, other):
        if isinstance(other, numbers.Number) and other == 0:
            return self
        if not isinstance(other, GroupSums):
            return NotImplemented
        if other.p != self.p:
            raise ValueError(f"cannot merge sums of {self.p} and {other.p} columns")
        keys, ia, ib = _merge_keys(self.keys, other.keys)
        n = np.zeros(keys.size, np.int64)
        sums = np.zeros((keys.size, self.p))
        n[ia] += self.n
        n[ib] += other.n
        sums[ia] += self.sums
        sums[ib] += other.sums
        return GroupSums(keys, n, sums, self.moments + other.moments)

    __radd__ = __add__

    def __repr__(self):
        return f"GroupSums(groups={self.groups}, rows={self.rows}, p={self.p})"
