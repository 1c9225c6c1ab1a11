"""Population models with a candidate exactly at a gate's margin, for calibration by simulation.

Each regime is a population (joint cell probabilities over (y, ŷ_candidate, ŷ_production), or
a generator of per-row losses or scores) in which the true difference Δ (candidate − production,
positive = candidate better) is exactly ``-margin``. A non-inferiority gate at alpha must
approve at most alpha of the holdouts drawn from it; ``equivalent`` gives the same population
with Δ = 0, whose approve rate is the gate's power against an equivalent model.

Shared by the tests (small scale) and ``benchmarks/bench_calibration.py`` (full grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import optimize, stats

from mlgate.gates.stats.confusion import confusion_metric


# ----------------------------------------------------------------------------- confusion metrics


def _pair(a_c: float, a_p: float, rho: float) -> tuple[float, float, float, float]:
    """P(both right), P(cand only), P(prod only), P(both wrong) for two 0/1 'right' indicators
    with marginals a_c, a_p and correlation rho (clipped to the feasible range)."""
    both = a_c * a_p + rho * math.sqrt(max(a_c * (1 - a_c) * a_p * (1 - a_p), 0.0))
    both = min(max(both, max(0.0, a_c + a_p - 1)), min(a_c, a_p))
    return both, a_c - both, a_p - both, 1 - a_c - a_p + both


def joint_probabilities(prior, acc_c, acc_p, rho: float = 0.5) -> np.ndarray:
    """K³ cell probabilities: class k has prior ``prior[k]``; each model is right on it with
    probability ``acc_*[k]`` (correlated by ``rho``), and when wrong says one of the other
    classes uniformly and independently of the other model."""
    prior = np.asarray(prior, float)
    k = len(prior)
    p = np.zeros((k, k, k))
    others = (k - 1) if k > 1 else 1
    for y in range(k):
        both, c_only, p_only, neither = _pair(float(acc_c[y]), float(acc_p[y]), rho)
        p[y, y, y] += prior[y] * both
        for j in range(k):
            if j == y:
                continue
            p[y, y, j] += prior[y] * c_only / others  # candidate right, production wrong (says j)
            p[y, j, y] += prior[y] * p_only / others  # production right, candidate wrong (says j)
            for l in range(k):
                if l != y:
                    p[y, j, l] += prior[y] * neither / others**2
    return p / p.sum()


def population_metric(p: np.ndarray, metric: str, which: str, *, average: str = "binary", pos_index: int = 1) -> float:
    cm = p.sum(axis=2) if which == "candidate" else p.sum(axis=1)
    return float(confusion_metric(cm, metric, pos_index=pos_index, average=average))


def population_delta(p: np.ndarray, metric: str, **kw) -> float:
    return population_metric(p, metric, "candidate", **kw) - population_metric(p, metric, "production", **kw)


@dataclass(frozen=True)
class CellsRegime:
    name: str
    metric: str
    n: int
    margin: float
    probabilities: np.ndarray  # at the margin
    equivalent: np.ndarray  # Δ = 0
    average: str = "binary"

    @property
    def labels(self) -> tuple:
        return tuple(range(self.probabilities.shape[0]))


def cells_regime(name: str, metric: str, *, n: int, margin: float, prior, acc_p, rho: float = 0.5,
                 average: str = "binary", shift: Callable | None = None) -> CellsRegime:
    """Production's per-class accuracies ``acc_p``; the candidate's are ``shift(acc_p, t)``
    (default: every class lowered by t), with t solved so that the population Δ is −margin."""
    acc_p = np.asarray(acc_p, float)
    shift = shift or (lambda a, t: np.clip(a - t, 0.0, 1.0))
    kw = dict(average=average, pos_index=1)

    def delta(t):
        return population_delta(joint_probabilities(prior, shift(acc_p, t), acc_p, rho), metric, **kw)

    t = optimize.brentq(lambda t: delta(t) + margin, 0.0, float(acc_p.max()), xtol=1e-14)
    at_margin = joint_probabilities(prior, shift(acc_p, t), acc_p, rho)
    assert abs(population_delta(at_margin, metric, **kw) + margin) < 1e-9
    return CellsRegime(name, metric, n, margin, at_margin, joint_probabilities(prior, acc_p, acc_p, rho), average)


def recall_only(a: np.ndarray, t: float) -> np.ndarray:
    """Lower the positive class's accuracy only (recall moves, specificity stays)."""
    out = a.copy()
    out[1] = max(out[1] - t, 0.0)
    return out


def draw_cells(regime: CellsRegime, rng, *, equivalent: bool = False) -> np.ndarray:
    p = regime.equivalent if equivalent else regime.probabilities
    return rng.multinomial(regime.n, p.ravel()).reshape(p.shape)


# ----------------------------------------------------------------------------- per-row losses


@dataclass(frozen=True)
class LossRegime:
    """Per-row differences d = loss_production − loss_candidate with mean −margin (at the margin)."""

    name: str
    metric: str
    n: int
    margin: float
    draw: Callable  # (rng, n, shift) -> (loss_candidate, loss_production) rows


def confidently_wrong(name: str, *, n: int, margin: float, rate: float = 0.01, size: float = 4.0,
                      metric: str = "log_loss") -> LossRegime:
    """The candidate is usually a little better and now and then confidently wrong (a loss
    jump of ``size`` with probability ``rate``); the small gain is set so that the mean
    difference is exactly −margin (or 0 for the equivalent model): a heavy left tail."""

    def draw(rng, n, equivalent=False):
        prod = rng.gamma(2.0, 0.15, n)
        target = 0.0 if equivalent else -margin
        small = (target + rate * size) / (1 - rate)
        d = np.where(rng.random(n) < rate, -size, small) + rng.normal(0, 0.02, n)
        return prod - d, prod

    return LossRegime(name, metric, n, margin, draw)


def gaussian_losses(name: str, *, n: int, margin: float, sd: float = 0.1, metric: str = "mse") -> LossRegime:
    def draw(rng, n, equivalent=False):
        prod = rng.gamma(2.0, 0.15, n)
        d = (0.0 if equivalent else -margin) + rng.normal(0, sd, n)
        return prod - d, prod

    return LossRegime(name, metric, n, margin, draw)


def regression_errors(name: str, *, n: int, margin: float, metric: str, sd: float = 0.5, rho: float = 0.7) -> LossRegime:
    """Normal errors for a unit-variance target, the candidate's scaled so that its rmse is
    production's + margin (rmse) or its r2 production's − margin (r2); rows are the delta
    method's columns (squared error candidate, production, y, y²)."""

    def draw(rng, n, equivalent=False):
        y = rng.normal(size=n)
        z = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
        if metric == "rmse":
            sd_c = sd if equivalent else sd + margin
        else:
            sd_c = math.sqrt(sd**2 + (0.0 if equivalent else margin))
        return np.column_stack([(sd_c * z[:, 1]) ** 2, (sd * z[:, 0]) ** 2, y, y**2])

    return LossRegime(name, metric, n, margin, draw)


# ----------------------------------------------------------------------------- roc auc


@dataclass(frozen=True)
class AucRegime:
    """Binormal scores; production AUC ``auc_p``, candidate AUC ``auc_p − margin``, scores of
    the two models correlated by ``rho`` within each class."""

    name: str
    n_pos: int
    n_neg: int
    margin: float
    auc_p: float
    rho: float = 0.6

    def draw(self, rng, equivalent=False):
        auc_c = self.auc_p if equivalent else self.auc_p - self.margin
        mu_c = math.sqrt(2) * stats.norm.ppf(auc_c)
        mu_p = math.sqrt(2) * stats.norm.ppf(self.auc_p)
        cov = [[1.0, self.rho], [self.rho, 1.0]]
        neg = rng.multivariate_normal([0.0, 0.0], cov, self.n_neg)
        pos = rng.multivariate_normal([mu_c, mu_p], cov, self.n_pos)
        y = np.r_[np.zeros(self.n_neg, bool), np.ones(self.n_pos, bool)]
        return y, np.r_[neg[:, 0], pos[:, 0]], np.r_[neg[:, 1], pos[:, 1]]


def binomial_error(rate: float, sims: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 1e-12) / sims)
