"""The three comparisons a gate consumes, each returning a :class:`Comparison`.

They take the mergeable sufficient statistics (joint cells, paired moments) or, for the AUC,
the score arrays, so every engine calls the same code. Each one turns every undefined case into
``Comparison(undefined=True, detail=<one line>)`` — never an exception, never a NaN the engine
could compare silently — while malformed *calls* (a bad parameter) still raise ``ValueError``.
"""

from __future__ import annotations

import math

import numpy as np

from gates.stats._inference import wald_test
from gates.stats._validation import (
    as_binary_target,
    as_finite_scores,
    check_alternative,
    check_choice,
    check_confidence_level,
    check_null,
    check_same_length,
)
from gates.stats.bootstrap import bootstrap_cells
from gates.stats.cells import JointCells, PairedMoments
from gates.stats.delong import delong_test, structural_components
from gates.stats.losses import LOSS_METRICS, loss_difference
from gates.stats.results import NAN_INTERVAL, Comparison


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
) -> Comparison:
    """Paired multinomial bootstrap over the joint cells of a confusion-matrix metric."""
    null = check_null(null)
    check_alternative(alternative)
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
        detail=result.detail,
        candidate=float(result.candidate),
        production=float(result.production),
    )


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
    return Comparison(
        estimate=res.estimate,
        confidence_interval=res.confidence_interval,
        confidence_level=confidence_level,
        p_value=res.pvalue,
        method="delong",
        n=n,
        candidate=res.auc_candidate,
        production=res.auc_production,
    )


def compare_loss(
    moments: PairedMoments,
    metric: str,
    *,
    null: float = 0.0,
    alternative: str = "greater",
    confidence_level: float = 0.90,
) -> Comparison:
    """Paired t (mean losses) or delta method (rmse, r2) from the moments of
    (loss_candidate, loss_production, y, y²); Δ is oriented so positive = candidate better."""
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
    _, p, ci = wald_test(diff.estimate, diff.se, null, alternative, confidence_level, df=diff.df)
    return Comparison(
        estimate=diff.estimate,
        confidence_interval=ci,
        confidence_level=confidence_level,
        p_value=p,
        method=diff.method,
        n=moments.n,
        candidate=diff.candidate,
        production=diff.production,
    )
