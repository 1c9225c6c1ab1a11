"""Evidence: the sufficient statistics of one comparison, overall and per slice.

Gates decide from these and nothing else — joint confusion cells, moments of per-row losses,
and the score arrays DeLong needs — so an engine that streams chunks or runs on a cluster
only has to build and merge ``Evidence`` to reuse every gate unchanged.

One merge, :class:`EvidenceSum` (``a + b``, ``sum()``, :func:`merge_evidence` and every engine
use it): it adds the joint cells (exact integer counts), merges the loss moments with Chan et
al.'s update (exact in exact arithmetic, equal to the whole-data moments to rounding), and
concatenates the score arrays and positive flags (and, for a multiclass roc_auc, each row's
class and both probability matrices) in chunk order, so DeLong sees exactly the rows it would
have seen on the whole holdout. One rule for what a part lacks: per-row arrays
(scores, positive flags) come from every part or from none — a mix would misalign rows, so it
is an error — while summaries a part may legitimately lack (curve bins of scores outside
[0, 1], per-row loss differences beyond ``ROW_EXTRAS_MAX_ROWS``) survive only when every part
has them. The reported-only row tests (Wilcoxon, row bootstrap) then say nothing rather than
something about a subset.

Memory: a streamed ``Evidence`` holds O(K³) counts and O(metrics) moments, plus — only when
a roc_auc gate or the report's curves need them — the two scores as float32 and one bool per
row: 9 bytes per row overall, and 9 more per row for each slice column of a roc_auc
``slice_max_drop`` gate. A multiclass roc_auc (average macro or weighted, one-vs-rest) keeps
each row's class index (one byte up to 256 classes) and both models' K probabilities as
float32 instead: 8·K + 1 bytes per row (81 at K = 10), again per slice column of its slice gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from . import stats
from .curves import ScoreBins, score_bins
from .residuals import ResidualSample, residual_sample
from .mean_score import MEAN_SCORE, score_columns
from .metrics import LOSS, METRICS, row_losses


@dataclass
class Evidence:
    n: int
    cells: stats.JointCells | None = None  # classification
    positive: np.ndarray | None = None  # bool per row, binary tasks with a positive label
    score_candidate: np.ndarray | None = None  # probability of the positive label
    score_production: np.ndarray | None = None
    # Multiclass roc_auc (one-vs-rest, macro or weighted): each row's class index and both
    # models' probability matrices (rows × classes), kept only when such a gate needs them.
    classes: np.ndarray | None = None
    proba_candidate: np.ndarray | None = None
    proba_production: np.ndarray | None = None
    moments: dict[str, stats.PairedMoments] = field(default_factory=dict)
    # Streaming only: each role's scores counted into the report's fixed curve bins, so the
    # curves need no pass over ten million scores at the end.
    score_bins: dict[str, ScoreBins] = field(default_factory=dict)
    # Per-row loss differences (production − candidate), kept only while rows are in memory,
    # for the reported-not-deciding Wilcoxon and row bootstrap.
    loss_differences: dict[str, np.ndarray] = field(default_factory=dict)
    # Regression, overall only: a bounded sample of rows for the report's residual plot.
    residuals: ResidualSample | None = None
    # With data.group_column: per-group joint cells and loss sums (merged by group key, so a
    # group's rows may fall in any chunks), and each kept score's group label for DeLong.
    group_cells: stats.GroupCells | None = None
    group_sums: dict[str, stats.GroupSums] = field(default_factory=dict)
    groups: np.ndarray | None = None

    @property
    def grouped(self) -> bool:
        return self.group_cells is not None or bool(self.group_sums)

    def __add__(self, other):
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # so that sum() works
        if not isinstance(other, Evidence):
            return NotImplemented
        return merge_evidence([self, other])

    __radd__ = __add__


class EvidenceSum:
    """The running merge of evidence in row order: counts and moments are added as parts
    arrive; per-row arrays are kept as a list and concatenated once (no quadratic copying)."""

    _ARRAYS = {"positive": np.bool_, "score_candidate": None, "score_production": None, "groups": None,
               "classes": None, "proba_candidate": None, "proba_production": None}

    def __init__(self):
        self.n = 0
        self.parts = 0
        self.cells = None
        self.moments: dict = {}
        self.bins: dict = {}
        self.differences: dict = {}
        self.residuals = None
        self.group_cells = None
        self.group_sums: dict = {}
        self._arrays: dict[str, list] = {name: [] for name in self._ARRAYS}

    def add(self, ev: Evidence) -> None:
        first = self.parts == 0
        self.parts += 1
        self.n += ev.n
        if (ev.cells is None) != (self.cells is None) and not first:
            raise ValueError("cannot merge classification evidence with evidence that has no joint cells")
        if ev.cells is not None:
            self.cells = ev.cells if self.cells is None else self.cells + ev.cells
        if not first and set(ev.moments) != set(self.moments):
            raise ValueError(f"cannot merge evidence with moments of {sorted(ev.moments)} and {sorted(self.moments)}")
        for metric, m in ev.moments.items():
            self.moments[metric] = m if first else self.moments[metric] + m
        if not first and ((ev.group_cells is None) != (self.group_cells is None) or set(ev.group_sums) != set(self.group_sums)):
            raise ValueError("cannot merge grouped evidence with ungrouped evidence")
        if ev.group_cells is not None:
            self.group_cells = ev.group_cells if first else self.group_cells + ev.group_cells
        for metric, sums in ev.group_sums.items():
            self.group_sums[metric] = sums if first else self.group_sums[metric] + sums
        for name, parts in self._arrays.items():
            value = getattr(ev, name)
            if (value is None) != (not parts) and not first:
                raise ValueError(f"cannot merge evidence with and without {name.replace('_', ' ')}")
            if value is not None:
                parts.append(value)
        self.bins = _kept_by_all(self.bins, ev.score_bins, first, lambda a, b: None if a is None or b is None else a + b)
        self.residuals = ev.residuals if first else (
            None if self.residuals is None or ev.residuals is None else self.residuals + ev.residuals)
        self.differences = _kept_by_all(self.differences, {k: [v] for k, v in ev.loss_differences.items()}, first,
                                        lambda a, b: a + b)

    def result(self) -> Evidence:
        ev = Evidence(n=self.n, cells=self.cells, moments=dict(self.moments), group_cells=self.group_cells,
                      group_sums=dict(self.group_sums),
                      score_bins={k: v for k, v in self.bins.items() if v is not None},
                      loss_differences={k: np.concatenate(v) if len(v) > 1 else v[0]
                                        for k, v in self.differences.items()}, residuals=self.residuals)
        for name, parts in self._arrays.items():
            if parts:
                joined = np.concatenate(parts) if len(parts) > 1 else parts[0]
                dtype = self._ARRAYS[name] or (np.float32 if any(p.dtype == np.float32 for p in parts) else None)
                setattr(ev, name, joined.astype(dtype, copy=False) if dtype is not None else joined)
        return ev


def _kept_by_all(total: dict, more: dict, first: bool, add) -> dict:
    """Entries every part has, merged with ``add``; any other entry is dropped."""
    if first:
        return dict(more)
    return {key: add(total[key], more[key]) for key in total.keys() & more.keys()}

@dataclass
class Comparands:
    """What both models said about the same rows, in the holdout's row order."""

    task: str
    labels: tuple | None
    pos_index: int | None
    y: np.ndarray | None  # labels or values; None for a holdout without a target (per-example scores only)
    pred_candidate: np.ndarray | None  # None when no gate needs predictions (mean_score only)
    pred_production: np.ndarray | None
    proba_candidate: np.ndarray | None
    proba_production: np.ndarray | None
    groups: np.ndarray | None = None  # each row's group label (data.group_column), or None
    # Regression: a constant taken from the target before the loss moments are summed. rmse
    # and r2 are unchanged by a shift of the target, but the delta method's moments of y and y²
    # cancel catastrophically when y sits far from 0 (y ≈ 1e8 lost every digit); the engines
    # all use the holdout's first target value, so their moments agree.
    y_center: float = 0.0
    # Each row's example_score from the predictions files (a mean_score gate), or None.
    example_candidate: np.ndarray | None = None
    example_production: np.ndarray | None = None


def build_evidence(c: Comparands, loss_metrics: set[str], mask: np.ndarray | None = None, *,
                   keep_rows: bool = True, keep_scores: bool = True, score_dtype=None,
                   bin_scores: bool = False, keep_proba: bool = False, sample_residuals: bool = False) -> Evidence:
    """Sufficient statistics for the rows in ``mask`` (all rows when None).

    Streaming engines pass ``keep_rows=False`` (no per-row loss differences), ``score_dtype=
    np.float32`` (compact DeLong scores), ``keep_scores=False`` where no gate needs them, and
    ``bin_scores=True`` for the overall evidence (the report's curves). ``keep_proba`` keeps each
    row's class and both probability matrices (a multiclass roc_auc gate), when scores are kept.
    """
    sel = slice(None) if mask is None else mask
    y = None if c.y is None else c.y[sel]
    groups = None if c.groups is None else c.groups[sel]
    if MEAN_SCORE in loss_metrics:
        ev = _example_scores(c, sel, groups, keep_rows)
        loss_metrics = set(loss_metrics) - {MEAN_SCORE}
    else:
        ev = Evidence(n=len(y))
    if c.pred_candidate is None:  # per-example scores only: no gate asked for predictions
        return ev
    if c.task == "classification":
        ev.cells = stats.JointCells.from_arrays(y, c.pred_candidate[sel], c.pred_production[sel], labels=c.labels)
        if groups is not None:
            ev.group_cells = stats.GroupCells.from_arrays(y, c.pred_candidate[sel], c.pred_production[sel], groups,
                                                          labels=c.labels)
        y_index = _label_index(y, c.labels)
        y_float = None
        if c.pos_index is not None and keep_scores:
            ev.positive = y_index == c.pos_index
            ev.groups = groups
            if c.proba_candidate is not None:
                ev.score_candidate = c.proba_candidate[sel][:, c.pos_index]
                ev.score_production = c.proba_production[sel][:, c.pos_index]
                if score_dtype is not None:
                    ev.score_candidate = ev.score_candidate.astype(score_dtype)
                    ev.score_production = ev.score_production.astype(score_dtype)
                if bin_scores:
                    ev.score_bins["candidate"] = score_bins(ev.positive, ev.score_candidate)
                    ev.score_bins["production"] = (  # no production model: the candidate stands in
                        ev.score_bins["candidate"] if c.proba_production is c.proba_candidate
                        else score_bins(ev.positive, ev.score_production))
        if keep_proba and keep_scores and c.proba_candidate is not None:
            _keep_class_scores(ev, c, sel, y_index, groups, score_dtype)
        for metric in loss_metrics:
            if c.proba_candidate is None:
                continue
            lc = row_losses(metric, y_index, c.proba_candidate[sel])
            lp = row_losses(metric, y_index, c.proba_production[sel])
            if y_float is None:
                y_float = y_index.astype(float)
            ev.moments[metric] = _moments(lc, lp, y_float)
            if groups is not None:
                ev.group_sums[metric] = stats.GroupSums.from_columns(groups, lc, lp, y_float, y_float * y_float)
            if keep_rows:
                ev.loss_differences[metric] = lp - lc
    else:
        yv = np.asarray(y, dtype=float)
        if sample_residuals:
            ev.residuals = residual_sample(yv, c.pred_candidate[sel], c.pred_production[sel])
        shifted = yv - c.y_center if loss_metrics else None
        for metric in loss_metrics:
            lc = row_losses(metric, None, c.pred_candidate[sel], yv)
            lp = row_losses(metric, None, c.pred_production[sel], yv)
            ev.moments[metric] = _moments(lc, lp, shifted)
            if groups is not None:
                ev.group_sums[metric] = stats.GroupSums.from_columns(groups, lc, lp, shifted, shifted * shifted)
            if keep_rows:
                ev.loss_differences[metric] = lp - lc
    return ev


def _keep_class_scores(ev: Evidence, c: Comparands, sel, y_index: np.ndarray, groups, score_dtype) -> None:
    """The multiclass roc_auc's per-row evidence: class index, both probability matrices."""
    ev.classes = y_index.astype(np.min_scalar_type(max(len(c.labels) - 1, 0)))
    dtype = score_dtype or np.float64
    ev.proba_candidate = np.asarray(c.proba_candidate[sel], dtype=dtype)
    ev.proba_production = (ev.proba_candidate if c.proba_production is c.proba_candidate  # no production model
                           else np.asarray(c.proba_production[sel], dtype=dtype))
    ev.groups = groups


def _example_scores(c: Comparands, sel, groups, keep_rows: bool) -> Evidence:
    """A mean_score gate's evidence: the moments (and group sums) of gates.mean_score's columns."""
    sc, sp = c.example_candidate[sel], c.example_production[sel]
    columns = score_columns(sc, sp)
    ev = Evidence(n=len(sc), moments={MEAN_SCORE: stats.PairedMoments.from_columns(*columns)})
    if groups is not None:
        ev.group_sums[MEAN_SCORE] = stats.GroupSums.from_columns(groups, *columns)
    if keep_rows:
        ev.loss_differences[MEAN_SCORE] = sp - sc
    return ev


def first_target(task: str, y) -> float:
    """The centre the loss moments are taken about (see ``Comparands.y_center``)."""
    if task != "regression" or len(y) == 0:
        return 0.0
    return float(np.asarray(y[:1], dtype=float)[0])


def merge_evidence(parts: Iterable[Evidence]) -> Evidence:
    """The evidence of the rows of all ``parts``, in order."""
    total = EvidenceSum()
    for part in parts:
        total.add(part)
    return total.result()


def merge_slices(parts: Iterable[dict[str, Evidence]]) -> dict[str, Evidence]:
    """Per-slice evidence merged key by key (a slice absent from a chunk contributes nothing)."""
    grouped: dict[str, list[Evidence]] = {}
    for part in parts:
        for key, ev in part.items():
            grouped.setdefault(key, []).append(ev)
    return {key: merge_evidence(evs) for key, evs in grouped.items()}


def _moments(lc: np.ndarray, lp: np.ndarray, y: np.ndarray) -> stats.PairedMoments:
    return stats.PairedMoments.from_columns(lc, lp, y, y * y)


def _label_index(y: np.ndarray, labels: tuple) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind in "biu":  # integer labels: a table lookup (what JointCells counts with)
        try:
            return stats.label_codes("y", y, labels).astype(np.int64, copy=False)
        except ValueError:
            pass
    try:  # vectorized (a per-row dict lookup costs ~0.4 s per million rows)
        codes = pd.Categorical(y, categories=list(labels)).codes.astype(np.int64)
        if len(codes) == len(y) and (codes >= 0).all():
            return codes
    except (TypeError, ValueError):
        pass
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter((index[v] for v in y), dtype=np.int64, count=len(y))


def loss_metrics_of(metrics: set[str]) -> set[str]:
    return {m for m in metrics if METRICS[m].family == LOSS}
