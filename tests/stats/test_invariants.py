"""Invariances every gate statistic must keep, checked once for every metric of the registry.

The cases come from ``gates.metrics.METRICS`` (scikit-learn's ``test_common.py`` habit): a metric
added there is covered here the day it is added, and one whose family has no simulation below
fails loudly instead of being skipped. Cost metrics (latency, size) are point values that no
comparison decides, so ``Metric.statistical`` leaves them out.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.gates.mean_score import compare_mean_score, score_columns
from mlgate.gates.metrics import AVERAGED, AVERAGES, CONFUSION, LOSS, METRICS, RANKING, Metric, averages_of, row_losses
from mlgate.gates.stats import JointCells, PairedMoments, compare_auc, compare_auc_ovr, compare_confusion, compare_loss
from mlgate.gates.stats.confusion import AVERAGED_METRICS, CONFUSION_METRICS
from mlgate.gates.stats.confusion import AVERAGES as STATS_AVERAGES
from mlgate.gates.stats.losses import LOSS_METRICS

N_RESAMPLES = 1000


@dataclass(frozen=True)
class Case:
    """One registry metric in one setting: ``classes`` and ``average`` matter for confusion metrics."""

    metric: Metric
    classes: int = 2
    average: str = "binary"

    @property
    def id(self) -> str:
        if self.metric.family == RANKING and self.classes > 2:
            return f"{self.metric.name}/{self.average}/{self.classes}"
        if self.metric.family != CONFUSION:
            return self.metric.name
        average = f"/{self.average}" if self.metric.name in AVERAGED else ""
        return f"{self.metric.name}{average}/{self.classes}"


def registry_cases() -> list[Case]:
    """Every metric of the registry that a comparison decides (cost metrics are point values):
    confusion metrics as binary and, unless binary-only, with three classes under every
    non-binary average; the others as they come."""
    cases = []
    for metric in METRICS.values():
        if not metric.statistical:
            continue
        cases.append(Case(metric))
        if metric.family == CONFUSION and not metric.binary_only:
            averages = [a for a in AVERAGES if a != "binary"] if metric.name in AVERAGED else ["binary"]
            cases += [Case(metric, classes=3, average=a) for a in averages]
        if metric.family == RANKING:  # one-vs-rest AUCs, under every multiclass average
            cases += [Case(metric, classes=3, average=a) for a in averages_of(metric.name) if a != "binary"]
    return cases


CASES = registry_cases()
ALL = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
# Merging chunks: the ranking family's evidence is the score arrays themselves (a merge only
# concatenates them); the families merged from sufficient statistics are the ones to check, and
# the evidence does not depend on the average, so one average per metric and number of classes.
def one_per_evidence(cases: list[Case]) -> list[Case]:
    seen, out = set(), []
    for case in cases:
        if case.metric.family != RANKING and (case.metric.name, case.classes) not in seen:
            seen.add((case.metric.name, case.classes))
            out.append(case)
    return out


MERGED = one_per_evidence(CASES)


def test_the_registry_and_the_statistics_name_the_same_metrics():
    """The registry decides which metrics are covered here; the statistics must know each one."""
    assert {m.name for m in METRICS.values() if m.family == CONFUSION} == set(CONFUSION_METRICS)
    assert {m.name for m in METRICS.values() if m.family == LOSS} == set(LOSS_METRICS)
    assert AVERAGED == set(AVERAGED_METRICS) and tuple(AVERAGES) == tuple(STATS_AVERAGES)


def simulate(case, n, rng, quality_c, quality_p):
    """Rows for one metric family; higher quality = better model."""
    metric = case.metric
    if metric.family == CONFUSION:
        k = case.classes
        y = rng.integers(0, k, n)

        def predict(q):
            wrong = rng.random(n) >= q
            return np.where(wrong, (y + rng.integers(1, k, n)) % k, y)

        return {"y": y, "c": predict(quality_c), "p": predict(quality_p)}
    if metric.family == RANKING and case.classes > 2:  # a probability matrix per model
        k = case.classes
        y = rng.integers(0, k, n)

        def proba(q):
            logits = rng.normal(0, 1.5, (n, k))
            logits[np.arange(n), y] += 4 * q
            e = np.exp(logits)
            return e / e.sum(axis=1, keepdims=True)

        return {"y": y, "c": proba(quality_c), "p": proba(quality_p)}
    if metric.family == RANKING or (metric.family == LOSS and metric.task == "classification"):
        y = rng.random(n) < 0.4
        score = lambda q: 1 / (1 + np.exp(-(4 * q * (2 * y - 1) + rng.normal(0, 1.5, n))))  # noqa: E731
        return {"y": y, "c": score(quality_c), "p": score(quality_p)}
    if metric.name == "mean_score":  # per-example scores: a judge's grade in quarters, higher = better
        hard = rng.normal(0, 1, n)  # how hard each example is, for both systems alike

        def grade(q):
            quality = 1 / (1 + np.exp(-(3 * q - 2 - hard + rng.normal(0, 1, n))))
            return np.clip(np.round(quality * 4) / 4, 0, 1)

        return {"y": np.zeros(n), "c": grade(quality_c), "p": grade(quality_p)}
    if metric.family == LOSS and metric.task == "regression":
        y = rng.normal(5, 2, n)
        return {"y": y, "c": y + rng.normal(0, 2 * (1 - quality_c) + 0.1, n), "p": y + rng.normal(0, 2 * (1 - quality_p) + 0.1, n)}
    raise AssertionError(f"no simulation for {metric}: teach simulate() its family")


def loss_columns(case, rows):
    """(loss_candidate, loss_production, y, y²) per row, with the registry's own per-row losses."""
    metric, y = case.metric, rows["y"]
    if metric.task == "classification":  # binary scores: the probability matrix is (1 − s, s)
        y_index = y.astype(np.int64)
        lc, lp = (row_losses(metric.name, y_index, np.c_[1 - rows[m], rows[m]]) for m in "cp")
    else:
        lc, lp = (row_losses(metric.name, None, rows[m], y_value=y) for m in "cp")
    return np.c_[lc, lp, y, y.astype(float) ** 2]


def compare(case, rows, *, null=0.0, chunks=1):
    name = case.metric.name
    if case.metric.family == CONFUSION:
        parts = np.array_split(np.arange(len(rows["y"])), chunks)
        cells = sum(JointCells.from_arrays(rows["y"][i], rows["c"][i], rows["p"][i]) for i in parts)
        return compare_confusion(cells, name, average=case.average, null=null, n_resamples=N_RESAMPLES)
    if case.metric.family == RANKING and case.classes > 2:
        return compare_auc_ovr(rows["y"], rows["c"], rows["p"], average=case.average, null=null)
    if case.metric.family == RANKING:
        return compare_auc(rows["y"], rows["c"], rows["p"], null=null)
    if name == "mean_score":  # the gate's own evidence columns and orientation (higher is better)
        parts = np.array_split(np.arange(len(rows["y"])), chunks)
        moments = sum(PairedMoments.from_columns(*score_columns(rows["c"][i], rows["p"][i])) for i in parts)
        return compare_mean_score(moments, null=null, alternative="greater", confidence_level=0.90)
    moments = sum(PairedMoments.from_rows(part) for part in np.array_split(loss_columns(case, rows), chunks))
    return compare_loss(moments, name, null=null)


def passes(cmp, null):
    assert not cmp.undefined, cmp.detail
    low_ok = cmp.confidence_interval.low > null
    assert low_ok == (cmp.p_value < (1 - cmp.confidence_level) / 2)
    return low_ok


@ALL
def test_row_order_does_not_matter(case, rng):
    rows = simulate(case, 600, rng, 0.75, 0.7)
    perm = rng.permutation(600)
    a = compare(case, rows)
    b = compare(case, {k: v[perm] for k, v in rows.items()})
    assert a.estimate == pytest.approx(b.estimate, rel=1e-9, abs=1e-12)
    assert a.confidence_interval == pytest.approx(b.confidence_interval, rel=1e-9, abs=1e-12)
    assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-12)


@ALL
def test_identical_models_never_pass_superiority_and_never_fail_non_inferiority(case, rng):
    """Identical predictions are no evidence of harm, so never a failure; whether they pass a
    margin depends on how many rows could have shown a difference (zero disagreements among 240
    positives still allow a 1 % drop in recall), so at 500 rows some are inconclusive, and at
    20,000 rows every family passes a 0.01 margin."""
    rows = simulate(case, 500, rng, 0.7, 0.7)
    rows["p"] = rows["c"].copy()
    assert not passes(compare(case, rows, null=0.0), 0.0)
    assert compare(case, rows, null=-0.01).confidence_interval.high >= -0.01
    big = simulate(case, 20_000, rng, 0.7, 0.7)
    big["p"] = big["c"].copy()
    assert passes(compare(case, big, null=-0.01), -0.01)


@ALL
def test_a_clearly_better_model_is_significant(case, rng):
    rows = simulate(case, 3000, rng, 0.9, 0.6)
    cmp = compare(case, rows)
    assert cmp.estimate > 0
    assert passes(cmp, 0.0)


@ALL
def test_swapping_the_models_flips_the_sign(case, rng):
    rows = simulate(case, 800, rng, 0.8, 0.7)
    a = compare(case, rows)
    b = compare(case, {"y": rows["y"], "c": rows["p"], "p": rows["c"]})
    assert b.estimate == pytest.approx(-a.estimate, rel=1e-9, abs=1e-12)
    assert (b.candidate, b.production) == pytest.approx((a.production, a.candidate), rel=1e-12)
    width = a.confidence_interval.high - a.confidence_interval.low
    # Wald intervals mirror exactly; bootstrap intervals mirror up to Monte-Carlo error (the
    # multinomial draw visits the cells in a different order once the models are swapped)
    tolerance = 0.1 * width if case.metric.family == CONFUSION else 1e-9 * width
    assert abs(b.confidence_interval.low + a.confidence_interval.high) <= tolerance
    assert abs(b.confidence_interval.high + a.confidence_interval.low) <= tolerance


@pytest.mark.parametrize("case", MERGED, ids=[c.id for c in MERGED])
@given(seed=st.integers(0, 2**32 - 1), chunks=st.integers(2, 7))
def test_merging_chunks_equals_the_whole(case, seed, chunks):
    rows = simulate(case, 120, np.random.default_rng(seed), 0.7, 0.65)
    whole, merged = compare(case, rows), compare(case, rows, chunks=chunks)
    assert whole.undefined == merged.undefined
    for field in ("estimate", "p_value", "candidate", "production"):
        a, b = getattr(whole, field), getattr(merged, field)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)
