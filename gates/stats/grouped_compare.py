"""The three comparisons with groups as the independent unit, each a :class:`GroupedComparison`.

``compare_confusion_grouped`` (cluster bootstrap over per-group joint cells),
``compare_auc_grouped`` (Obuchowski's clustered DeLong) and ``compare_loss_grouped`` (the
cluster-robust paired t on per-group sums, G − 1 degrees of freedom) mirror
:mod:`gates.stats.compare`: the same arguments, the same orientation (positive = candidate
better), the same matched interval and p-value, every undefined case a flag with a reason.

What they add is a :class:`GroupSummary` — groups, rows per group, the design effect
deff = var_clustered / var_iid (Kish 1965) and the effective n = rows / deff — and two rules:

* With one row per group the rows are not clustered: the ungrouped comparison decides, so
  every field of the :class:`Comparison` is *equal* to the ungrouped one (deff = 1).
* The minimum-information rules of :mod:`gates.stats.compare` (too few rows, informative
  rows, disagreements) count rows / max(1, deff) — and groups, where a count of rows could
  hide that they all sit in a handful of groups — so they are never looser than ungrouped.
  Under ``MIN_GROUPS`` (30) groups the comparison carries a warning in ``groups.warning``
  and ``detail``: every cluster-robust variance rests on the number of groups (Cameron &
  Miller 2015, J. Human Resources 50:317), and the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ._inference import wald_test
from ._validation import (
    as_binary_target,
    as_finite_scores,
    check_alternative,
    check_choice,
    check_confidence_level,
    check_null,
    check_positive_int,
    check_same_length,
)
from .bootstrap import INTERVALS, resolve_positive
from .cluster_bootstrap import (
    MAX_RESAMPLING_WORK,
    bootstrap_group_cells,
    group_patterns,
    linearised_variances,
    resampling_work,
)
from .cluster_delong import clustered_delong
from .cluster_losses import clustered_loss_difference
from .compare import (
    MIN_BOUND_ROWS,
    MIN_DELTA_ROWS,
    MIN_DISCORDANT,
    MIN_HALL_ROWS,
    MIN_INFORMATIVE_ROWS,
    MIN_LOSS_ROWS,
    MIN_MISORDERED,
    compare_auc,
    compare_confusion,
    compare_loss,
    hall_test,
)
from .confusion import AVERAGES, CONFUSION_METRICS, confusion_metric
from .group_cells import GroupCells, GroupSums, group_codes
from .losses import LOSS_METRICS, MEAN_LOSSES
from .results import NAN_INTERVAL, Comparison

MIN_GROUPS = 30  # DESIGN.md: under 30 groups the report warns


@dataclass(frozen=True)
class GroupSummary:
    """What the report shows about the groups: ``count`` groups of ``rows`` rows (mean
    ``rows_per_group``), the design effect var_clustered / var_iid of the deciding statistic
    and the effective number of rows, rows / design effect (NaN when the iid variance is 0 or
    undefined). ``warning`` is non-empty under ``MIN_GROUPS`` groups."""

    count: int
    rows: int
    rows_per_group: float
    design_effect: float
    effective_n: float
    warning: str = ""

    @property
    def few(self) -> bool:
        return self.count < MIN_GROUPS


@dataclass(frozen=True)
class GroupedComparison(Comparison):
    """A :class:`Comparison` (every field as the ungrouped one means it) plus ``groups``.

    A subclass, so code that reads a Comparison reads this one unchanged; equality compares
    the class too, so an ungrouped and a grouped comparison are never ``==`` — compare their
    Comparison fields (``dataclasses.fields(Comparison)``) to check that they agree."""

    groups: GroupSummary | None = None


def group_summary(groups: int, rows: int, var_clustered: float, var_iid: float, what: str) -> GroupSummary:
    """The summary of one comparison; ``what`` names the variance in the warning."""
    deff = var_clustered / var_iid if var_iid > 0 and math.isfinite(var_clustered) else math.nan
    if groups == rows:
        deff = 1.0
    warning = ""
    if groups < MIN_GROUPS and groups != rows:  # one row per group: nothing cluster-robust was used
        warning = (f"only {groups} group(s): with fewer than {MIN_GROUPS} the {what} rests on few independent "
                   "units and may not hold its level")
    return GroupSummary(count=groups, rows=rows, rows_per_group=rows / groups if groups else math.nan,
                        design_effect=deff, effective_n=rows / deff if deff > 0 else math.nan, warning=warning)


def _rule_rows(summary: GroupSummary) -> float:
    """Rows as the minimum-information rules count them: never more than the rows themselves."""
    deff = summary.design_effect
    return summary.rows / max(deff, 1.0) if math.isfinite(deff) else float(summary.rows)


def _grouped(cmp: Comparison, summary: GroupSummary, **changes) -> GroupedComparison:
    fields = {name: getattr(cmp, name) for name in Comparison.__dataclass_fields__}
    fields.update(changes)
    detail = "; ".join(part for part in (fields["detail"], summary.warning) if part)
    return GroupedComparison(**{**fields, "detail": detail}, groups=summary)


def _ungrouped(cmp: Comparison, rows: int) -> GroupedComparison:
    """One row per group: the ungrouped comparison, with a summary of deff 1."""
    return _grouped(cmp, group_summary(rows, rows, math.nan, math.nan, ""))


def _undefined(estimate, level, method, n, detail, summary, cand=math.nan, prod=math.nan) -> GroupedComparison:
    cmp = Comparison(estimate=estimate, confidence_interval=NAN_INTERVAL, confidence_level=level, p_value=math.nan,
                     method=method, n=n, undefined=True, detail=detail, candidate=cand, production=prod)
    return _grouped(cmp, summary)


def compare_confusion_grouped(
    group_cells: GroupCells,
    metric: str,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    n_resamples: int = 10_000,
    seed=0,
    pos_label=None,
    average: str = "binary",
    interval: str = "percentile",
    method: str = "score",
) -> GroupedComparison:
    """A paired confusion-matrix metric with groups as the unit: the cluster bootstrap
    (:mod:`gates.stats.cluster_bootstrap`) decides whenever a group holds several rows;
    with one row per group it is :func:`gates.stats.compare.compare_confusion` with ``method``.

    ``se`` is the linearised cluster-robust standard error (the bootstrap has none of its own;
    power is planned from it). When the resampling would exceed ``MAX_RESAMPLING_WORK`` (distinct
    group patterns in the millions) the linearised test decides instead, ``method`` says
    ``"cluster-linearised"``. Insufficient (inconclusive, never pass) when one kind of
    disagreement is missing, or when the bound is within 2 effective rows of 0 and fewer than
    ``MIN_DISCORDANT`` groups hold a disagreement."""
    if not isinstance(group_cells, GroupCells):
        raise ValueError(f"group_cells must be a GroupCells; got {type(group_cells).__name__}")
    null = check_null(null)
    check_alternative(alternative)
    check_choice("method", method, ("score", "bootstrap"))
    check_choice("metric", metric, CONFUSION_METRICS)
    check_choice("average", average, AVERAGES)
    check_choice("interval", interval, INTERVALS)
    n_resamples = check_positive_int("n_resamples", n_resamples)
    confidence_level = check_confidence_level(confidence_level)
    g, n = group_cells.groups, group_cells.n
    if g == n:
        return _ungrouped(compare_confusion(
            group_cells.total, metric, null=null, alternative=alternative, confidence_level=confidence_level,
            n_resamples=n_resamples, seed=seed, pos_label=pos_label, average=average, interval=interval,
            method=method), n)
    total, pos_index = resolve_positive(group_cells.total, metric, average, pos_label)
    aligned = group_cells.aligned(total.labels)

    def metric_of(cm):
        return confusion_metric(cm, metric, pos_index=pos_index, average=average)

    plan = group_patterns(aligned)
    var_c, var_i = linearised_variances(plan, len(total.labels), metric_of)
    summary = group_summary(g, n, var_c, var_i, "cluster bootstrap")
    se = math.sqrt(var_c) if math.isfinite(var_c) else math.nan
    cand = float(metric_of(total.confusion("candidate")))
    prod = float(metric_of(total.confusion("production")))
    if resampling_work(plan, n_resamples) > MAX_RESAMPLING_WORK and math.isfinite(se) and math.isfinite(cand - prod):
        _, p, ci = wald_test(cand - prod, se, null, alternative, confidence_level)
        cmp = Comparison(estimate=cand - prod, confidence_interval=ci, confidence_level=confidence_level,
                         p_value=p, method="cluster-linearised", n=n, candidate=cand, production=prod)
    else:
        res = bootstrap_group_cells(aligned, metric, n_resamples=n_resamples, confidence_level=confidence_level,
                                    seed=seed, pos_label=pos_label, average=average, interval=interval)
        cmp = Comparison(estimate=float(res.estimate), confidence_interval=res.confidence_interval,
                         confidence_level=res.confidence_level, p_value=res.pvalue(null, alternative),
                         method=res.method, n=n, undefined=res.undefined, detail=res.detail,
                         candidate=float(res.candidate), production=float(res.production))
    if cmp.undefined:
        return _grouped(cmp, summary)
    b_g, c_g = _disagreements_by_group(aligned)
    b, c = int(b_g.sum()), int(c_g.sum())
    discordant_groups = int(np.count_nonzero(b_g + c_g))
    short = ""
    if min(b, c) == 0:
        short = (f"{metric}: one model is never right where the other is wrong on these rows ({b} and {c}), and the "
                 "bootstrap cannot hold its level without both kinds of disagreement")
    elif _rule_rows(summary) * abs(null) < MIN_BOUND_ROWS and discordant_groups < MIN_DISCORDANT:
        short = (f"{metric}: {discordant_groups} group(s) hold a row where the models disagree; at a bound this close "
                 f"to 0 the test needs {MIN_DISCORDANT}")
    return _grouped(cmp, summary, se=se, se_equal=se, insufficient=bool(short), detail=short)


def _disagreements_by_group(group_cells: GroupCells):
    """Per group: rows the candidate gets right and production wrong, and the reverse."""
    k = len(group_cells.labels)
    eye = np.eye(k, dtype=bool)
    right_c = np.broadcast_to(eye[:, :, None], (k, k, k))
    right_p = np.broadcast_to(eye[:, None, :], (k, k, k))
    flat = group_cells.counts.reshape(group_cells.groups, -1)
    return (flat @ (right_c & ~right_p).reshape(-1).astype(np.int64),
            flat @ (~right_c & right_p).reshape(-1).astype(np.int64))


def compare_auc_grouped(
    y_true,
    score_candidate,
    score_production,
    groups,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> GroupedComparison:
    """ROC AUCs compared by Obuchowski's clustered DeLong (:mod:`gates.stats.cluster_delong`);
    with one row per group, :func:`gates.stats.compare.compare_auc`. Undefined with fewer
    than 2 positive or negative rows, or with the positives (negatives) all in one group."""
    null = check_null(null)
    check_alternative(alternative)
    confidence_level = check_confidence_level(confidence_level)
    pos = as_binary_target("y_true", y_true)
    sc = as_finite_scores("score_candidate", score_candidate)
    sp = as_finite_scores("score_production", score_production)
    _, codes = group_codes(groups)
    n = check_same_length(y_true=pos, score_candidate=sc, score_production=sp, groups=codes)
    g = int(codes.max()) + 1 if n else 0
    n_pos = int(np.count_nonzero(pos))
    if g == n or min(n_pos, n - n_pos) < 2:  # not clustered, or undefined either way
        cmp = compare_auc(pos, sc, sp, null=null, alternative=alternative, confidence_level=confidence_level)
        return _ungrouped(cmp, n) if g == n else _grouped(cmp, group_summary(g, n, math.nan, math.nan, "clustered DeLong"))
    i10 = int(np.count_nonzero(np.bincount(codes[pos], minlength=g)))
    i01 = int(np.count_nonzero(np.bincount(codes[~pos], minlength=g)))
    if i10 < 2 or i01 < 2:
        detail = (f"roc_auc comparison is undefined: the positive rows fall in {i10} group(s) and the negative rows "
                  f"in {i01} (a clustered DeLong needs at least 2 of each)")
        return _undefined(math.nan, confidence_level, "clustered-delong", n, detail,
                          group_summary(g, n, math.nan, math.nan, "clustered DeLong"))
    ca = clustered_delong(pos, sc, sp, codes, null=null, alternative=alternative, confidence_level=confidence_level)
    res = ca.result
    summary = group_summary(g, n, res.se**2, ca.variance_iid, "clustered DeLong")
    scale = max(summary.design_effect, 1.0) if math.isfinite(summary.design_effect) else 1.0
    eff_pos = min(res.informative_positive / scale, ca.informative_positive_groups)
    eff_neg = min(res.informative_negative / scale, ca.informative_negative_groups)
    misordered = min(res.n_positive, res.n_negative) / scale * (1.0 - res.auc_production)
    short = ""
    if min(eff_pos, eff_neg) < MIN_INFORMATIVE_ROWS:
        short = (f"roc_auc: production ranks wrongly about {eff_pos:.3g} positive and {eff_neg:.3g} negative rows in "
                 f"effective terms (rows / design effect, at most the groups holding them); clustered DeLong needs "
                 f"{MIN_INFORMATIVE_ROWS} of each to hold its level")
    elif misordered < MIN_MISORDERED:
        short = (f"roc_auc: effective min(positives, negatives) × (1 - production's AUC) = {misordered:.2g}; near AUC 1 "
                 f"DeLong needs {MIN_MISORDERED} (more groups of the rarer class) to hold its level")
    cmp = Comparison(estimate=res.estimate, confidence_interval=res.confidence_interval,
                     confidence_level=confidence_level, p_value=res.pvalue, method="clustered-delong", n=n,
                     candidate=res.auc_candidate, production=res.auc_production, se=res.se, se_equal=res.se,
                     insufficient=bool(short), detail=short)
    return _grouped(cmp, summary)


def compare_loss_grouped(
    sums: GroupSums,
    metric: str,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    min_variance: float = 0.0,
) -> GroupedComparison:
    """The cluster-robust paired t (mean losses; t with G − 1 degrees of freedom, Hall's
    skewness correction over the group residuals as in :func:`gates.stats.compare.compare_loss`)
    or delta method (rmse, r2) from per-group sums of (loss_candidate, loss_production, y, y²);
    with one row per group, :func:`gates.stats.compare.compare_loss`. ``min_variance`` floors
    the standard error at √(min_variance / rows), as there."""
    if not isinstance(sums, GroupSums):
        raise ValueError(f"sums must be a GroupSums; got {type(sums).__name__}")
    check_choice("metric", metric, LOSS_METRICS)
    null = check_null(null)
    check_alternative(alternative)
    confidence_level = check_confidence_level(confidence_level)
    g, n = sums.groups, sums.rows
    if g == n:
        return _ungrouped(compare_loss(sums.moments, metric, null=null, alternative=alternative,
                                       confidence_level=confidence_level, min_variance=min_variance), n)
    cl = clustered_loss_difference(sums, metric)
    diff = cl.difference
    what = "cluster-robust paired t" if metric in MEAN_LOSSES else "cluster-robust delta method"
    if diff.reason:
        return _undefined(math.nan, confidence_level, diff.method, n, diff.reason,
                          group_summary(g, n, math.nan, math.nan, what))
    summary = group_summary(g, n, diff.se**2, cl.variance_iid, what)
    if min_variance > 0 and diff.se**2 * n < min_variance:
        diff = replace(diff, se=math.sqrt(min_variance / n))
    rows = _rule_rows(summary)
    short = ""
    if rows < MIN_LOSS_ROWS:
        short = (f"{metric}: {rows:.3g} effective rows (rows / design effect); a paired comparison of losses needs at "
                 f"least {MIN_LOSS_ROWS} to hold its level")
    elif metric not in MEAN_LOSSES and rows < MIN_DELTA_ROWS:
        short = (f"{metric}: {rows:.3g} effective rows (rows / design effect); the delta method for {metric} needs "
                 f"{MIN_DELTA_ROWS} to hold its level")
    elif null == 0.0 and cl.nonzero < MIN_DISCORDANT:
        short = (f"{metric}: the two models' losses differ in about {cl.nonzero:.3g} group(s) (an effective count, "
                 f"(Σ|D_g|)²/ΣD_g²); a claim of superiority needs {MIN_DISCORDANT}")
    if cl.skewness is not None and cl.nonzero >= MIN_HALL_ROWS and diff.se > 0:
        p, ci, _ = hall_test(diff.estimate, diff.se, cl.skewness, g, null, alternative, confidence_level)
        method = "cluster-paired-t-hall"
    else:
        _, p, ci = wald_test(diff.estimate, diff.se, null, alternative, confidence_level, df=diff.df)
        method = diff.method
    cmp = Comparison(estimate=diff.estimate, confidence_interval=ci, confidence_level=confidence_level, p_value=p,
                     method=method, n=n, candidate=diff.candidate, production=diff.production, se=diff.se,
                     se_equal=diff.se, insufficient=bool(short), detail=short)
    return _grouped(cmp, summary)
