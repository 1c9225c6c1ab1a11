"""What the production model says about each window: its scores (for prediction drift) and,
when the window has labels, its per-row metric (for performance drift).

The model is the registry's production model, loaded as the gate loads it (skops, the policy's
allowlist; never a pickle); a predictions file or no production model means no model side, and
the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..config.spec import Policy
from ..errors import MlgateError
from ..metrics import METRICS, ROW_METRICS, row_values



@dataclass
class Moments:
    """A per-row metric's count, sum and sum of squares: enough for a two-sample interval."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def add(self, values: np.ndarray) -> None:
        self.n += int(values.size)
        self.total += float(values.sum())
        self.total_sq += float(np.square(values).sum())

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def var(self) -> float:
        if self.n < 2:
            return math.nan
        return max(self.total_sq - self.total * self.total / self.n, 0.0) / (self.n - 1)


@dataclass
class ModelSide:
    """The production model's scorer for the windows; ``kind`` says what drift is measured on."""

    estimator: object
    columns: list[str]
    kind: str  # "numeric" (a probability or a regression value) | "categorical" (a predicted label)
    source: str
    positive: object = None
    metrics: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def outputs(self, chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(what drift is measured on, the predicted labels or values, P(positive) or None)."""
        X = chunk[self.columns]
        predicted = np.asarray(self.estimator.predict(X))
        proba = None
        if self.positive is not None:
            classes = list(self.estimator.classes_)
            proba = np.asarray(self.estimator.predict_proba(X))[:, classes.index(self.positive)]
        watched = proba if proba is not None else predicted
        return watched, predicted, proba

    def metric_rows(self, metric: str, y: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None) -> np.ndarray:
        return row_values(metric, y, predicted, proba, self.positive)


def model_side(policy: Policy, workspace, registry, features: list[str]) -> tuple[ModelSide | None, str | None]:
    """The production model's scorer, or None and why not."""
    from ..engine.overrides import Overrides
    from ..engine.resolve import resolve_production

    try:
        model, why = resolve_production(policy, workspace, Overrides(trust_pickle=False), registry)
    except MlgateError as exc:
        return None, f"no prediction drift: the production model could not be loaded ({exc})"
    if model is None:
        return None, f"no prediction drift: {why or 'no production model'}"
    if model.estimator is None:
        return None, "no prediction drift: production is a predictions file, not a model"
    est = model.estimator
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        columns = [str(n) for n in names]
    else:  # as the gate gives them (gates.models.columns): data.features, else the watched features
        columns = list(policy.data.features or features)
    metrics = [g.metric for g in policy.gates if g.metric in ROW_METRICS]
    side = ModelSide(est, columns, "numeric", model.source, metrics=list(dict.fromkeys(metrics)))
    classes = list(getattr(est, "classes_", []))
    if classes:
        if len(classes) == 2 and hasattr(est, "predict_proba"):
            side.positive = _positive(policy, classes)
        else:
            side.kind = "categorical"
            side.metrics = [m for m in side.metrics if m == "accuracy"]
    else:
        side.metrics = [m for m in side.metrics if METRICS[m].task == "regression"]
    return side, None


def _positive(policy: Policy, classes: list):
    if policy.data.positive_label is not None:
        return policy.data.positive_label
    if set(classes) <= {0, 1}:
        return 1
    if set(classes) <= {False, True}:
        return True
    return classes[1]


@dataclass(frozen=True)
class PerformanceDrift:
    metric: str
    reference: float
    current: float
    drop: float  # + means worse now (for losses: current − reference)
    interval: tuple[float, float]  # 1 − 2·alpha Welch interval of the drop
    max_drop: float | None
    drifted: bool
    n_reference: int
    n_current: int


def performance_drift(metric: str, ref: Moments, cur: Moments, *, alpha: float, max_drop: float | None) -> PerformanceDrift:
    """Two independent samples (the holdout, the window): Welch's interval on the drop; it
    drifts when the whole interval lies beyond ``max_drop`` (a drop shown, not just seen)."""
    sign = -1.0 if METRICS[metric].greater_is_better else 1.0
    drop = sign * (cur.mean - ref.mean)
    se2 = ref.var / ref.n + cur.var / cur.n
    if not math.isfinite(se2) or se2 == 0:
        lo = hi = drop
    else:
        df = se2 ** 2 / ((ref.var / ref.n) ** 2 / (ref.n - 1) + (cur.var / cur.n) ** 2 / (cur.n - 1)) \
            if ref.var > 0 or cur.var > 0 else math.inf
        half = float(sps.t.ppf(1 - alpha, df)) * math.sqrt(se2)
        lo, hi = drop - half, drop + half
    drifted = max_drop is not None and lo > max_drop
    return PerformanceDrift(metric, ref.mean, cur.mean, drop, (lo, hi), max_drop, drifted, ref.n, cur.n)
