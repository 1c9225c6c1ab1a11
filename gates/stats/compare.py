"""The three comparisons a gate consumes, each returning a :class:`Comparison`.

They take the mergeable sufficient statistics (joint cells, paired moments) or, for the AUC,
the score arrays, so every engine calls the same code. Each one turns every undefined case into
``Comparison(undefined=True, detail=<one line>)`` — never an exception, never a NaN the engine
could compare silently — while malformed *calls* (a bad parameter) still raise ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import stats

from ._inference import wald_test
from ._validation import (
    as_binary_target,
    as_finite_scores,
    check_alternative,
    check_choice,
    check_confidence_level,
    check_null,
    check_same_length,
)
from ._validation import alpha_of
from .bootstrap import bootstrap_cells, resolve_positive
from .cells import JointCells, PairedMoments
from .delong import delong_test, structural_components
from .losses import LOSS_METRICS, MEAN_LOSSES, loss_difference
from .confusion import AVERAGES, CONFUSION_METRICS, confusion_metric
from .results import NAN_INTERVAL, Comparison, ConfidenceInterval
from .score import (
    MAX_SCORE_CLASSES,
    RestrictedScore,
    ScoreFitError,
    metric_range,
    one_sided_p,
    score_interval,
    tango_se,
    tango_statistic,
)


def compare_confusion(
    cells: JointCells,
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
) -> Comparison:
    """A paired confusion-matrix metric: a score test by default (Tango's for accuracy, the
    restricted score for the rest, see :mod:`gates.stats.score`); ``method="bootstrap"`` is the
    multinomial bootstrap over the joint cells, which the score test replaces because it cannot
    hold its level when the candidate's extra errors are unseen (more than
    ``MAX_SCORE_CLASSES`` classes, or a fit that does not settle, still take it; it then never
    passes without both kinds of disagreement, and the method name says which decided)."""
    null = check_null(null)
    check_alternative(alternative)
    check_choice("method", method, ("score", "bootstrap"))
    if method == "score":
        check_choice("metric", metric, CONFUSION_METRICS)
        check_choice("average", average, AVERAGES)
        confidence_level = check_confidence_level(confidence_level)
        resolved, pos_index = resolve_positive(cells, metric, average, pos_label)
        fallback = ""
        if (metric == "accuracy" or (average == "micro" and metric in ("precision", "recall", "f1"))
                or len(resolved.labels) <= MAX_SCORE_CLASSES):
            try:
                return _score_comparison(resolved, metric, pos_index, average, null, alternative, confidence_level)
            except ScoreFitError:
                fallback = "the score test's constrained fit did not settle on this table"
        # The bootstrap decides here, and it cannot hold its level when a kind of disagreement
        # is missing from the holdout (it never draws a cell it has not seen): a pass from it
        # needs both kinds, and a fit that did not settle is never a pass.
        b, c = _disagreements(cells)
        if not fallback and min(b, c) == 0:
            fallback = (f"one model is never right where the other is wrong on these rows ({b} and {c}), and the "
                        "bootstrap cannot hold its level without both kinds of disagreement")
        elif not fallback and _discordant_short(cells, null, b + c):
            fallback = f"{b + c} row(s) where the models disagree; at a bound this close to 0 the test needs {MIN_DISCORDANT}"
        return _bootstrap_comparison(cells, metric, null, alternative, confidence_level, n_resamples, seed, pos_label,
                                     average, interval, insufficient=fallback)
    return _bootstrap_comparison(cells, metric, null, alternative, confidence_level, n_resamples, seed, pos_label,
                                 average, interval)


def _disagreements(cells: JointCells) -> tuple[int, int]:
    """(candidate right and production wrong, the reverse) over the joint cells."""
    counts = cells.counts
    both = int(np.einsum("iii->", counts))
    right_c = int(np.diagonal(counts, axis1=0, axis2=1).sum()) - both
    right_p = int(np.diagonal(counts, axis1=0, axis2=2).sum()) - both
    return right_c, right_p


def _discordant_short(cells: JointCells, null: float, discordant: int) -> bool:
    """Too few disagreements for a bound within 2/n of 0 (see MIN_DISCORDANT)."""
    return cells.n * abs(null) < MIN_BOUND_ROWS and discordant < MIN_DISCORDANT


def _bootstrap_comparison(cells, metric, null, alternative, confidence_level, n_resamples, seed, pos_label, average,
                          interval, *, insufficient: str = "") -> Comparison:
    result = bootstrap_cells(
        cells,
        metric,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=seed,
        pos_label=pos_label,
        average=average,
        interval=interval,
    )
    return Comparison(
        estimate=float(result.estimate),
        confidence_interval=result.confidence_interval,
        confidence_level=result.confidence_level,
        p_value=result.pvalue(null, alternative),
        method=result.method,
        n=result.n,
        undefined=result.undefined,
        detail=result.detail or (f"{metric}: {insufficient}" if insufficient else ""),
        candidate=float(result.candidate),
        production=float(result.production),
        insufficient=bool(insufficient) and not result.undefined,
    )


def _score_comparison(cells: JointCells, metric: str, pos_index, average: str, null: float, alternative: str,
                      confidence_level: float) -> Comparison:
    kw = dict(pos_index=pos_index, average=average)
    n = cells.n
    cand = float(confusion_metric(cells.confusion("candidate"), metric, **kw)) if n else math.nan
    prod = float(confusion_metric(cells.confusion("production"), metric, **kw)) if n else math.nan
    estimate = cand - prod
    if n == 0 or math.isnan(estimate):
        which = [w for w, v in (("candidate", cand), ("production", prod)) if math.isnan(v)]
        detail = "no rows" if n == 0 else (f"{metric} is undefined for the {' and the '.join(which)} on these rows "
                                           "(zero division)")
        return Comparison(estimate=estimate, confidence_interval=NAN_INTERVAL, confidence_level=confidence_level,
                          p_value=math.nan, method="score", n=n, undefined=True, detail=detail, candidate=cand,
                          production=prod)
    q = float(stats.norm.isf(alpha_of(confidence_level)))
    lo, hi = metric_range(metric)
    if metric == "accuracy" or (average == "micro" and metric in ("precision", "recall", "f1")):
        right_c = np.diagonal(cells.counts, axis1=0, axis2=1).sum(axis=0)  # y == candidate's, by production's
        b = int(right_c.sum() - np.einsum("iii->", cells.counts))  # candidate right, production wrong
        right_p = np.diagonal(cells.counts, axis1=0, axis2=2).sum(axis=0)
        c = int(right_p.sum() - np.einsum("iii->", cells.counts))  # production right, candidate wrong

        def z_of(delta):
            return tango_statistic(b, c, n, delta)

        method, se_at = "tango-score", (lambda delta: tango_se(b, c, n, delta))
        discordant = (lambda: b + c)
    else:
        score = RestrictedScore(cells, metric, **kw)
        z_of, method, se_at = score.z, "restricted-score", score.se_at
        discordant = (lambda: score.discordant(null))
    insufficient = ""
    if n * abs(null) < MIN_BOUND_ROWS and (d := discordant()) < MIN_DISCORDANT:
        insufficient = (f"{metric}: {d} row(s) where the two models disagree in a way {metric} counts; at a bound "
                        f"this close to 0 (n·margin = {n * abs(null):.2g}) the test needs {MIN_DISCORDANT}")
    z = z_of(null)
    p_value = one_sided_p(z, alternative)
    ci = score_interval(z_of, estimate, q, lo, hi, step=1.2 * q * se_at(estimate))
    ci = _agree(ci, null, p_value, alternative, confidence_level)
    return Comparison(estimate=estimate, confidence_interval=ci, confidence_level=confidence_level, p_value=p_value,
                      method=method, n=n, candidate=cand, production=prod, se=se_at(null), se_equal=se_at(0.0),
                      insufficient=bool(insufficient), detail=insufficient)


# At Δ = 0 a paired test runs on the D rows where the models disagree (the rows both got right or
# both got wrong say nothing about which is better): the normal approximation is then a statement
# about a Binomial(D, ½), and three wins of three "prove" superiority (conditional size 0.125 at a
# nominal 0.05; 0.09 at D = 9; at most 0.073 from D = 10 on). Under a non-inferiority bound the
# null itself demands discordance (about n·m rows) and the score's variance is taken there, which
# holds the level with few rows seen (benchmarks/bench_calibration.py): an identical model on a
# few hundred rows still passes a 0.02 margin, as an exact test would let it. Just above 0 the
# lattice of (b, c) matters as much (the exact size of Tango's test reaches 0.062 at n·m ≈ 0.1),
# so the rule holds while the bound is within 2/n of 0 (worst exact size then 0.054).
MIN_DISCORDANT = 10
MIN_BOUND_ROWS = 2


def _agree(ci: ConfidenceInterval, null: float, p_value: float, alternative: str, level: float) -> ConfidenceInterval:
    """The test at the bound decides; the interval's end, found by root-finding, is snapped to
    the same side of the bound so that the two never disagree (two-sided: left as found)."""
    alpha = alpha_of(level)
    low, high = ci
    significant = p_value < alpha
    if alternative == "greater" and significant != (low > null):
        low = math.nextafter(null, math.inf) if significant else null
    elif alternative == "less" and significant != (high < null):
        high = math.nextafter(null, -math.inf) if significant else null
    return ConfidenceInterval(float(low), float(high))


def compare_auc(
    y_true,
    score_candidate,
    score_production,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> Comparison:
    """DeLong comparison of ROC AUCs; too few rows of a class gives an undefined comparison."""
    null = check_null(null)
    check_alternative(alternative)
    confidence_level = check_confidence_level(confidence_level)
    pos = as_binary_target("y_true", y_true)
    sc = as_finite_scores("score_candidate", score_candidate)
    sp = as_finite_scores("score_production", score_production)
    n = check_same_length(y_true=pos, score_candidate=sc, score_production=sp)
    n_pos = int(np.count_nonzero(pos))
    n_neg = n - n_pos
    if n_pos < 2 or n_neg < 2:
        cand = prod = math.nan
        if n_pos and n_neg:
            cand = float(structural_components(pos, sc, n_pos, n_neg)[0].mean())
            prod = float(structural_components(pos, sp, n_pos, n_neg)[0].mean())
        return Comparison(
            estimate=cand - prod,
            confidence_interval=NAN_INTERVAL,
            confidence_level=confidence_level,
            p_value=math.nan,
            method="delong",
            n=n,
            undefined=True,
            detail=(
                f"roc_auc comparison is undefined: {n_pos} positive and {n_neg} negative rows "
                f"(DeLong needs at least 2 of each)"
            ),
            candidate=cand,
            production=prod,
        )
    res = delong_test(
        pos, sc, sp, null=null, alternative=alternative, confidence_level=confidence_level
    )
    fewest = min(res.informative_positive, res.informative_negative)
    # At the bound the candidate's AUC is production's − m: production's misorderings measure
    # the information there (a candidate far better than production is not near the bound).
    misordered = min(n_pos, n_neg) * (1.0 - res.auc_production)
    short = ""
    if fewest < MIN_INFORMATIVE_ROWS:
        short = (f"roc_auc: only {res.informative_positive} positive and {res.informative_negative} negative rows are "
                 f"ranked wrongly by production; DeLong needs {MIN_INFORMATIVE_ROWS} of each to hold its level "
                 "(near AUC 1 the rare misorderings carry all the information)")
    elif misordered < MIN_MISORDERED:
        short = (f"roc_auc: min(positives, negatives) × (1 - production's AUC) = {misordered:.2g}; near AUC 1 "
                 f"DeLong needs {MIN_MISORDERED} (more rows of the rarer class) to hold its level")
    return Comparison(
        estimate=res.estimate,
        confidence_interval=res.confidence_interval,
        confidence_level=confidence_level,
        p_value=res.pvalue,
        method="delong",
        n=n,
        candidate=res.auc_candidate,
        production=res.auc_production,
        se=res.se,
        se_equal=res.se,
        insufficient=bool(short),  # se = 0 (both models rank perfectly) is the least information of all
        detail=short,
    )


# Measured by simulation (benchmarks/bench_calibration.py): with fewer informative rows on a
# side, DeLong approves up to 3x alpha at the margin (binormal scores, AUC 0.98–0.995).
MIN_INFORMATIVE_ROWS = 30
# The informative rows saturate when negatives are many: at AUC 0.98–0.999 with 60–300 positives
# DeLong still approved 0.09–0.12 at the margin (a cold review's simulation, 1,500 holdouts
# each). Against the rarer class times production's misordered share (2,000 holdouts each):
# about 1 → 0.10, 1.9 → 0.068, 2.6 → 0.059, 6 → 0.056 (DeLong's mild liberality at moderate n,
# as at AUC 0.85 with 200 positives). Below 2 the holdout cannot tell near AUC 1.
MIN_MISORDERED = 2


def compare_loss(
    moments: PairedMoments,
    metric: str,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
    min_variance: float = 0.0,
) -> Comparison:
    """Paired t (mean losses) or delta method (rmse, r2) from the moments of
    (loss_candidate, loss_production, y, y²); Δ is oriented so positive = candidate better.

    ``min_variance`` is a floor under the per-row variance of the difference that the caller
    knows must hold at the null (per-example scores on a lattice, :mod:`gates.mean_score`): the
    standard error is at least √(min_variance / n)."""
    if not isinstance(moments, PairedMoments):
        raise ValueError(f"moments must be a PairedMoments; got {type(moments).__name__}")
    check_choice("metric", metric, LOSS_METRICS)
    null = check_null(null)
    check_alternative(alternative)
    confidence_level = check_confidence_level(confidence_level)
    diff = loss_difference(moments, metric)
    if diff.reason:
        return Comparison(
            estimate=math.nan,
            confidence_interval=NAN_INTERVAL,
            confidence_level=confidence_level,
            p_value=math.nan,
            method=diff.method,
            n=moments.n,
            undefined=True,
            detail=diff.reason,
        )
    if min_variance > 0 and diff.se**2 * moments.n < min_variance:
        diff = replace(diff, se=math.sqrt(min_variance / moments.n))
    insufficient = ""
    differ = moments.nonzero
    if moments.n < MIN_LOSS_ROWS:
        insufficient = (f"{metric}: {moments.n} rows; a paired comparison of losses needs at least {MIN_LOSS_ROWS} "
                        "to hold its level")
    elif metric not in MEAN_LOSSES and moments.n < MIN_DELTA_ROWS:
        insufficient = (f"{metric}: {moments.n} rows; the delta method for {metric} needs {MIN_DELTA_ROWS} to hold its "
                        f"level (a gate on mse, a mean loss, needs {MIN_LOSS_ROWS})")
    elif null == 0.0 and differ is not None and differ < MIN_DISCORDANT:
        insufficient = (f"{metric}: the two models' losses differ on about {differ:.3g} row(s) (an effective count, "
                        f"(Σ|d|)²/Σd²); a claim of superiority needs {MIN_DISCORDANT}")
    # Hall's correction is for skewness spread over the rows; when the losses differ on a few
    # rows only, the sample skewness is huge and has the mean's sign, and the "correction"
    # inflates T (two rows of 1,000 gave p = 0.02): the plain paired t decides there.
    smooth = differ is None or differ >= MIN_HALL_ROWS
    skew = _difference_skewness(moments) if metric in MEAN_LOSSES and smooth else None
    if skew is not None and diff.se > 0:
        p, ci, method = hall_test(diff.estimate, diff.se, skew, moments.n, null, alternative, confidence_level)
    else:
        _, p, ci = wald_test(diff.estimate, diff.se, null, alternative, confidence_level, df=diff.df)
        method = diff.method
    return Comparison(
        estimate=diff.estimate,
        confidence_interval=ci,
        confidence_level=confidence_level,
        p_value=p,
        method=method,
        n=moments.n,
        candidate=diff.candidate,
        production=diff.production,
        se=diff.se,
        se_equal=diff.se,
        insufficient=bool(insufficient),
        detail=insufficient,
    )


# With strongly skewed per-row differences (exponential tails) Hall's t approves 0.09 at 10 rows,
# 0.07 at 20 and 0.06 at 50 against a nominal 0.05 (the plain t: 0.14, 0.11, 0.09): below 50 the
# gate says the holdout cannot tell.
MIN_LOSS_ROWS = 50
MIN_HALL_ROWS = 10
# rmse and r2 are functions of means (a square root, a ratio to the target's variance), compared
# by the delta method: with normal errors it approved 0.065–0.08 at the margin at 30–50 rows and
# 0.072 (rmse) at 100 (3,000 holdouts each; neither t(n − 1) nor a skewness correction mended it),
# and held from 200. A mean loss (mse, mae) takes the paired t, which holds far sooner.
MIN_DELTA_ROWS = 200


def _difference_skewness(moments: PairedMoments) -> float | None:
    """Sample skewness of the per-row difference d, or None when the moments do not carry it."""
    if moments.m3 is None or moments.n < 3:
        return None
    m2 = moments.difference_m2 / moments.n
    if not m2 > 0:
        return None
    return (moments.m3 / moments.n) / m2**1.5


def hall_test(estimate: float, se: float, skewness: float, n: int, null: float, alternative: str,
              confidence_level: float):
    """The paired t with Hall's (1992) skewness-removing transformation of the studentized mean.

    A loss that is now and then far larger for one model (a confidently wrong prediction) makes
    the per-row differences skewed, and the plain t then rejects too often on the side the tail
    hides. Hall's g(T) = T + a(1 + 2T²) + (4/3)a²T³, a = γ̂/(6√n), is monotone with a closed
    inverse, so the p-value (g(T) against t with n − 1 degrees of freedom, which is the paired t
    itself when γ̂ = 0) and the interval (inverting it) come from one construction. (Hall, "On
    the removal of skewness by transformation", JRSS B 54, 1992.)
    """
    a = skewness / (6.0 * math.sqrt(n))
    dist = stats.t(n - 1)
    q = float(dist.isf(alpha_of(confidence_level)))

    def g(t):
        return t + a * (1.0 + 2.0 * t * t) + (4.0 / 3.0) * a * a * t**3

    def g_inverse(x):
        if abs(a) < 1e-12:
            return x - a
        inner = 1.0 + 6.0 * a * (x - a)
        return (math.copysign(abs(inner) ** (1.0 / 3.0), inner) - 1.0) / (2.0 * a)

    t = (estimate - null) / se
    if alternative == "greater":
        p = float(dist.sf(g(t)))
    elif alternative == "less":
        p = float(dist.cdf(g(t)))
    else:
        p = float(min(1.0, 2.0 * dist.sf(abs(g(t)))))
    ci = ConfidenceInterval(float(estimate - g_inverse(q) * se), float(estimate - g_inverse(-q) * se))
    return p, ci, "paired-t-hall"
