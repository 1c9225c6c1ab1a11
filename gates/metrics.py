"""The metric registry: what each metric needs, which way is better, and which test decides it.

Gates never guess a direction or a test: they look the metric up here. The per-row losses are
defined here too, because the statistics only ever see their moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Families decide which statistic a gate uses (DESIGN.md, "Which test decides, per metric").
CONFUSION = "confusion"  # paired multinomial bootstrap over joint cells
RANKING = "ranking"  # DeLong on the score arrays
LOSS = "loss"  # paired t on per-row loss differences (moments)
COST = "cost"  # latency and size: point values only


@dataclass(frozen=True)
class Metric:
    name: str
    task: str  # "classification" | "regression" | "any"
    family: str
    greater_is_better: bool
    needs_scores: bool = False  # needs probabilities, not only labels
    binary_only: bool = False  # needs a positive label whatever the averaging

    @property
    def statistical(self) -> bool:
        return self.family != COST


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", "classification", CONFUSION, True),
        Metric("balanced_accuracy", "classification", CONFUSION, True),
        Metric("precision", "classification", CONFUSION, True),
        Metric("recall", "classification", CONFUSION, True),
        Metric("f1", "classification", CONFUSION, True),
        Metric("mcc", "classification", CONFUSION, True),
        Metric("roc_auc", "classification", RANKING, True, needs_scores=True),
        Metric("log_loss", "classification", LOSS, False, needs_scores=True),
        Metric("brier", "classification", LOSS, False, needs_scores=True),
        Metric("mae", "regression", LOSS, False),
        Metric("mse", "regression", LOSS, False),
        Metric("rmse", "regression", LOSS, False),
        Metric("r2", "regression", LOSS, True),
        # Per-example scores from predictions files (gates.mean_score); a gate may set
        # greater_is_better: false when the scores are costs.
        Metric("mean_score", "any", LOSS, True),
        Metric("latency_ms_per_1k", "any", COST, False),
        Metric("model_size_mb", "any", COST, False),
    ]
}

# Metrics whose ``average`` can be binary/macro/micro/weighted.
AVERAGED = {"precision", "recall", "f1"}
AVERAGES = ("binary", "macro", "micro", "weighted")
# roc_auc averages its one-vs-rest AUCs as scikit-learn's multi_class="ovr" does (binary: the
# positive label's AUC); a micro-averaged AUC pools every class's pairs and has no paired test here.
AUC_AVERAGES = ("binary", "macro", "weighted")


def averages_of(metric: str) -> tuple[str, ...]:
    """The ``average`` values a gate on ``metric`` accepts (empty: none)."""
    if metric == "roc_auc":
        return AUC_AVERAGES
    return AVERAGES if metric in AVERAGED else ()

# log loss clips probabilities like scikit-learn does, so a confident miss costs a finite amount.
_EPS = np.finfo(np.float64).eps


def row_losses(metric: str, y_index: np.ndarray, output: np.ndarray, y_value=None) -> np.ndarray:
    """Per-row loss of one model: the quantity whose mean is the metric.

    ``y_index`` holds class indices (classification) and ``output`` the probability matrix
    (n, K) — for regression ``y_value`` holds the targets and ``output`` the predictions.
    rmse and r2 are built from squared errors (their components); the statistics combine them.
    """
    if metric in ("mae",):
        return np.abs(np.asarray(y_value, float) - output)
    if metric in ("mse", "rmse", "r2"):
        return (np.asarray(y_value, float) - output) ** 2
    proba = np.asarray(output, float)
    rows = np.arange(len(y_index))
    if metric == "log_loss":
        p = np.clip(proba[rows, y_index], _EPS, 1.0)
        return -np.log(p)
    if metric == "brier":
        onehot = np.zeros_like(proba)
        onehot[rows, y_index] = 1.0
        sq = ((proba - onehot) ** 2).sum(axis=1)
        # scikit-learn's binary Brier score uses the positive column only: half the two-column sum.
        return sq / 2.0 if proba.shape[1] == 2 else sq
    raise ValueError(f"no per-row loss for metric {metric!r}")


# Metrics with a value per row whatever the model gives (labels, and P(positive) where needed):
# what the canary judge and the drift watch compare request by request.
ROW_METRICS = ("accuracy", "log_loss", "brier", "mae", "mse")


def row_values(metric: str, y, predicted, p_positive=None, positive=None) -> np.ndarray:
    """Per-row value of a metric in ``ROW_METRICS`` for one model — its mean is the metric — from
    labels (or values) and, for log_loss and brier, the probability of ``positive``: the gate's
    own :func:`row_losses` for the losses, so live traffic is scored as the holdout is."""
    if metric == "accuracy":
        return (np.asarray(predicted) == np.asarray(y)).astype(float)
    if metric in ("mae", "mse"):
        return row_losses(metric, None, np.asarray(predicted, dtype=float), y_value=y)
    p = np.asarray(p_positive, dtype=float)
    return row_losses(metric, (np.asarray(y) == positive).astype(np.int64), np.column_stack([1.0 - p, p]))


def oriented_difference(metric: Metric, candidate: float, production: float) -> float:
    """Δ with positive meaning the candidate is better, whatever the metric's direction."""
    d = candidate - production
    return d if metric.greater_is_better else -d
