"""Invariances every gate statistic must keep, checked once for all metrics."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.gates.stats import JointCells, PairedMoments, compare_auc, compare_confusion, compare_loss

N_RESAMPLES = 1000
CONFUSION = [
    ("accuracy", "binary", 2),
    ("balanced_accuracy", "binary", 2),
    ("precision", "binary", 2),
    ("recall", "binary", 2),
    ("f1", "binary", 2),
    ("mcc", "binary", 2),
    ("f1", "macro", 3),
    ("precision", "weighted", 3),
    ("recall", "micro", 3),
    ("mcc", "binary", 3),
]
SPECS = [f"{m}/{a}/{k}" for m, a, k in CONFUSION] + ["roc_auc", "log_loss", "brier", "mae", "mse", "rmse", "r2"]


def simulate(spec, n, rng, quality_c, quality_p):
    """Rows for one metric family; higher quality = better model."""
    if "/" in spec:
        k = int(spec.split("/")[2])
        y = rng.integers(0, k, n)

        def predict(q):
            wrong = rng.random(n) >= q
            return np.where(wrong, (y + rng.integers(1, k, n)) % k, y)

        return {"y": y, "c": predict(quality_c), "p": predict(quality_p)}
    if spec in ("roc_auc", "log_loss", "brier"):
        y = rng.random(n) < 0.4
        score = lambda q: 1 / (1 + np.exp(-(4 * q * (2 * y - 1) + rng.normal(0, 1.5, n))))  # noqa: E731
        return {"y": y, "c": score(quality_c), "p": score(quality_p)}
    y = rng.normal(5, 2, n)
    return {"y": y, "c": y + rng.normal(0, 2 * (1 - quality_c) + 0.1, n), "p": y + rng.normal(0, 2 * (1 - quality_p) + 0.1, n)}


def row_losses(spec, rows):
    y, c, p = rows["y"], rows["c"], rows["p"]
    if spec == "log_loss":
        loss = lambda s: -np.log(np.where(y, s, 1 - s))  # noqa: E731
    elif spec == "brier":
        loss = lambda s: (s - y) ** 2  # noqa: E731
    elif spec == "mae":
        loss = lambda s: np.abs(s - y)  # noqa: E731
    else:
        loss = lambda s: (s - y) ** 2  # noqa: E731
    return np.c_[loss(c), loss(p), y, y.astype(float) ** 2]


def compare(spec, rows, *, null=0.0, chunks=1):
    if "/" in spec:
        metric, average, _ = spec.split("/")
        parts = np.array_split(np.arange(len(rows["y"])), chunks)
        cells = sum(JointCells.from_arrays(rows["y"][i], rows["c"][i], rows["p"][i]) for i in parts)
        return compare_confusion(cells, metric, average=average, null=null, n_resamples=N_RESAMPLES)
    if spec == "roc_auc":
        return compare_auc(rows["y"], rows["c"], rows["p"], null=null)
    moments = sum(PairedMoments.from_rows(part) for part in np.array_split(row_losses(spec, rows), chunks))
    return compare_loss(moments, spec, null=null)


def passes(cmp, null):
    assert not cmp.undefined, cmp.detail
    low_ok = cmp.confidence_interval.low > null
    assert low_ok == (cmp.p_value < (1 - cmp.confidence_level) / 2)
    return low_ok


@pytest.mark.parametrize("spec", SPECS)
def test_row_order_does_not_matter(spec, rng):
    rows = simulate(spec, 600, rng, 0.75, 0.7)
    perm = rng.permutation(600)
    a = compare(spec, rows)
    b = compare(spec, {k: v[perm] for k, v in rows.items()})
    assert a.estimate == pytest.approx(b.estimate, rel=1e-9, abs=1e-12)
    assert a.confidence_interval == pytest.approx(b.confidence_interval, rel=1e-9, abs=1e-12)
    assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("spec", SPECS)
def test_identical_models_never_pass_superiority_and_never_fail_non_inferiority(spec, rng):
    """Identical predictions are no evidence of harm, so never a failure; whether they pass a
    margin depends on how many rows could have shown a difference (zero disagreements among 240
    positives still allow a 1 % drop in recall), so at 500 rows some are inconclusive, and at
    20,000 rows every family passes a 0.01 margin."""
    rows = simulate(spec, 500, rng, 0.7, 0.7)
    rows["p"] = rows["c"].copy()
    assert not passes(compare(spec, rows, null=0.0), 0.0)
    assert compare(spec, rows, null=-0.01).confidence_interval.high >= -0.01
    big = simulate(spec, 20_000, rng, 0.7, 0.7)
    big["p"] = big["c"].copy()
    assert passes(compare(spec, big, null=-0.01), -0.01)


@pytest.mark.parametrize("spec", SPECS)
def test_a_clearly_better_model_is_significant(spec, rng):
    rows = simulate(spec, 3000, rng, 0.9, 0.6)
    cmp = compare(spec, rows)
    assert cmp.estimate > 0
    assert passes(cmp, 0.0)


@pytest.mark.parametrize("spec", SPECS)
def test_swapping_the_models_flips_the_sign(spec, rng):
    rows = simulate(spec, 800, rng, 0.8, 0.7)
    a = compare(spec, rows)
    b = compare(spec, {"y": rows["y"], "c": rows["p"], "p": rows["c"]})
    assert b.estimate == pytest.approx(-a.estimate, rel=1e-9, abs=1e-12)
    assert (b.candidate, b.production) == pytest.approx((a.production, a.candidate), rel=1e-12)
    width = a.confidence_interval.high - a.confidence_interval.low
    # Wald intervals mirror exactly; bootstrap intervals mirror up to Monte-Carlo error (the
    # multinomial draw visits the cells in a different order once the models are swapped)
    tolerance = 0.1 * width if "/" in spec else 1e-9 * width
    assert abs(b.confidence_interval.low + a.confidence_interval.high) <= tolerance
    assert abs(b.confidence_interval.high + a.confidence_interval.low) <= tolerance


@pytest.mark.parametrize("spec", [s for s in SPECS if s != "roc_auc"])
@given(seed=st.integers(0, 2**32 - 1), chunks=st.integers(2, 7))
def test_merging_chunks_equals_the_whole(spec, seed, chunks):
    rows = simulate(spec, 120, np.random.default_rng(seed), 0.7, 0.65)
    whole, merged = compare(spec, rows), compare(spec, rows, chunks=chunks)
    assert whole.undefined == merged.undefined
    for field in ("estimate", "p_value", "candidate", "production"):
        a, b = getattr(whole, field), getattr(merged, field)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)
