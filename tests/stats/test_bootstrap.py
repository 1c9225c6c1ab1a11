import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score

from mlgate.gates.stats import JointCells, compare_confusion, paired_bootstrap


def scipy_paired(y, c, p, metric_fn, n_resamples, method, seed=0):
    def statistic(y, c, p, axis=-1):
        return metric_fn(y, c, axis) - metric_fn(y, p, axis)

    return stats.bootstrap(
        (y, c, p), statistic, paired=True, vectorized=True, n_resamples=n_resamples,
        confidence_level=0.95, method=method, random_state=np.random.default_rng(seed),
    )


def accuracy_axis(y, pred, axis):
    return np.mean(y == pred, axis=axis)


def f1_axis(y, pred, axis):
    tp = np.sum((y == 1) & (pred == 1), axis=axis)
    return 2 * tp / (np.sum(y == 1, axis=axis) + np.sum(pred == 1, axis=axis))


@pytest.mark.parametrize("metric,fn", [("accuracy", accuracy_axis), ("f1", f1_axis)])
@pytest.mark.parametrize("interval", ["percentile", "bca"])
def test_interval_agrees_with_scipy_bootstrap(rng, noisy, metric, fn, interval):
    n = 400
    y = (rng.random(n) < 0.4).astype(int)
    c = noisy(rng, y, 0.85, [0, 1])
    p = noisy(rng, y, 0.78, [0, 1])
    ours = paired_bootstrap(y, c, p, metric=metric, n_resamples=4000, interval=interval, seed=1)
    theirs = scipy_paired(y, c, p, fn, 4000, "BCa" if interval == "bca" else "percentile")
    width = theirs.confidence_interval.high - theirs.confidence_interval.low
    # Monte-Carlo error of a 2.5 % quantile with 4000 resamples is ~ 3 % of the width
    assert abs(ours.confidence_interval.low - theirs.confidence_interval.low) < 0.1 * width
    assert abs(ours.confidence_interval.high - theirs.confidence_interval.high) < 0.1 * width
    reference = accuracy_score(y, c) - accuracy_score(y, p) if metric == "accuracy" else f1_score(y, c) - f1_score(y, p)
    assert ours.estimate == pytest.approx(reference, rel=1e-12)
    assert ours.method == f"paired-bootstrap-{interval}"


def test_multinomial_draw_has_the_row_bootstrap_variance(rng, noisy):
    # accuracy difference = (b - c)/n; under row resampling its variance is (pb + pc - (pb - pc)^2)/n
    n = 1000
    y = rng.integers(0, 3, n)
    c = noisy(rng, y, 0.7, [0, 1, 2])
    p = noisy(rng, y, 0.65, [0, 1, 2])
    res = paired_bootstrap(y, c, p, metric="accuracy", n_resamples=20_000)
    pb = np.mean((c == y) & (p != y))
    pc = np.mean((c != y) & (p == y))
    expected_sd = np.sqrt((pb + pc - (pb - pc) ** 2) / n)
    assert res.distribution.std() == pytest.approx(expected_sd, rel=0.03)
    assert res.distribution.mean() == pytest.approx(pb - pc, abs=4 * expected_sd / np.sqrt(20_000))


def test_seeded_and_reproducible(rng, noisy):
    y = rng.integers(0, 2, 300)
    c, p = noisy(rng, y, 0.8, [0, 1]), noisy(rng, y, 0.7, [0, 1])
    a = paired_bootstrap(y, c, p, metric="mcc", n_resamples=500, seed=3)
    b = paired_bootstrap(y, c, p, metric="mcc", n_resamples=500, seed=3)
    other = paired_bootstrap(y, c, p, metric="mcc", n_resamples=500, seed=4)
    np.testing.assert_array_equal(a.distribution, b.distribution)
    assert not np.array_equal(a.distribution, other.distribution)
    assert a.distribution.shape == (500,) and a.n_resamples == 500


def test_undefined_resamples_are_counted():
    # the candidate predicts the positive class in 5 of 1000 rows: about e^-5 ≈ 0.7 % of the
    # resamples contain none of them, so precision is undefined there but the result stands
    y = np.r_[np.ones(500, int), np.zeros(500, int)]
    c = np.zeros(1000, int)
    c[:5] = 1
    p = y.copy()
    res = paired_bootstrap(y, c, p, metric="precision", n_resamples=10_000)
    assert 30 < res.undefined_resamples < 100
    assert not res.undefined
    assert np.isnan(res.distribution).sum() == res.undefined_resamples
    assert np.isfinite(res.confidence_interval.low)


def test_too_many_undefined_resamples_make_the_result_undefined():
    y = np.r_[np.ones(500, int), np.zeros(500, int)]
    c = np.zeros(1000, int)
    c[:2] = 1  # ~13.5 % of resamples have no predicted positive
    res = paired_bootstrap(y, c, y, metric="precision", n_resamples=2000)
    assert res.undefined and res.undefined_resamples > 20
    assert "undefined in" in res.detail and "more than 1%" in res.detail
    assert np.isnan(res.confidence_interval.low)
    cmp = compare_confusion(JointCells.from_arrays(y, c, y), "precision", n_resamples=2000, method="bootstrap")
    assert cmp.undefined and np.isnan(cmp.p_value) and cmp.detail == res.detail


def test_undefined_point_estimate():
    y = np.array([0, 1, 0, 1])
    c = np.zeros(4, int)
    res = paired_bootstrap(y, c, y, metric="precision", n_resamples=100)
    assert res.undefined and "undefined for the candidate" in res.detail


def test_positive_label_rules():
    y = np.array(["a", "b", "a", "b"])
    with pytest.raises(ValueError, match=r"pos_label is required for f1 with average='binary' and labels \('a', 'b'\); got None"):
        paired_bootstrap(y, y, y, metric="f1")
    res = paired_bootstrap(y, y, y[::-1], metric="f1", pos_label="b", n_resamples=200)
    assert res.candidate == 1.0 and res.production == 0.0
    # a slice where the positive label occurs nowhere: recall is 0/0, the comparison is undefined
    only_a = np.array(["a", "a", "a"])
    assert paired_bootstrap(only_a, only_a, only_a, metric="recall", pos_label="b", n_resamples=50).undefined
    assert paired_bootstrap([0, 0], [0, 0], [0, 0], metric="recall", n_resamples=50).undefined
    with pytest.raises(ValueError, match=r"average='binary' needs at most 2 labels; got labels \(0, 1, 2\)"):
        paired_bootstrap([0, 1, 2], [0, 1, 2], [0, 1, 2], metric="recall", pos_label=1)


def test_validation_messages():
    y = [0, 1, 1, 0]
    with pytest.raises(ValueError, match=r"n_resamples must be a positive integer; got 0"):
        paired_bootstrap(y, y, y, metric="accuracy", n_resamples=0)
    with pytest.raises(ValueError, match=r"interval must be one of 'percentile', 'bca'; got 'basic'"):
        paired_bootstrap(y, y, y, metric="accuracy", interval="basic")
    with pytest.raises(ValueError, match=r"metric must be one of .*; got 'roc_auc'"):
        paired_bootstrap(y, y, y, metric="roc_auc")
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer, None or a numpy Generator; got -1"):
        paired_bootstrap(y, y, y, metric="accuracy", seed=-1)
    with pytest.raises(ValueError, match=r"y_true must hold at least one row; got 0"):
        paired_bootstrap([], [], [], metric="accuracy")


def paired_distribution(cells, metric, n_resamples, interval):
    from mlgate.gates.stats import bootstrap_cells

    res = bootstrap_cells(cells, metric, n_resamples=n_resamples, interval=interval)
    return res.distribution[np.isfinite(res.distribution)]


def test_percentile_interval_is_the_documented_order_statistic(rng, noisy):
    # k = smallest integer with k / B >= alpha; interval = (k-th smallest, k-th largest)
    y = rng.integers(0, 2, 500)
    c, p = noisy(rng, y, 0.8, [0, 1]), noisy(rng, y, 0.75, [0, 1])
    for b, level in ((1000, 0.9), (999, 0.95), (400, 0.8)):
        res = paired_bootstrap(y, c, p, metric="accuracy", n_resamples=b, confidence_level=level)
        d = np.sort(res.distribution)
        k = int(np.ceil((1 - level) / 2 * b - 1e-9))
        assert res.confidence_interval == (d[k - 1], d[b - k])


cell_tables = st.lists(st.integers(0, 40), min_size=8, max_size=8).filter(lambda v: sum(v) > 0)


@given(
    cell_tables,
    st.floats(-0.3, 0.3),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    st.sampled_from(["greater", "less", "two-sided"]),
    st.sampled_from(["percentile", "bca"]),
    st.sampled_from(["accuracy", "balanced_accuracy", "mcc", "f1"]),
    st.integers(50, 400),
    st.one_of(st.none(), st.integers(-3, 3)),
)
def test_interval_and_p_value_never_disagree(counts, null, level, alternative, interval, metric, n_resamples, near_tail):
    cells = JointCells((0, 1), np.array(counts).reshape(2, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no silent NaN arithmetic either
        res = compare_confusion(cells, metric, null=null, alternative=alternative, confidence_level=level,
                                n_resamples=n_resamples, interval=interval, method="bootstrap")
    if res.undefined:
        assert np.isnan(res.p_value) and res.detail
        return
    if near_tail is not None:
        # put null exactly on a resampled value next to the interval's order statistic, where
        # an off-by-one between the interval and the p-value would show
        dist = np.sort(paired_distribution(cells, metric, n_resamples, interval))
        low, high = res.confidence_interval
        if alternative == "less":
            idx = np.searchsorted(dist, high, "right") - 1 - near_tail
        else:
            idx = np.searchsorted(dist, low, "left") + near_tail
        null = float(dist[min(max(idx, 0), dist.size - 1)])
        res = compare_confusion(cells, metric, null=null, alternative=alternative, confidence_level=level,
                                n_resamples=n_resamples, interval=interval, method="bootstrap")
    alpha = (1 - level) / 2
    low, high = res.confidence_interval
    if alternative == "greater":
        assert (low > null) == (res.p_value < alpha)
    elif alternative == "less":
        assert (high < null) == (res.p_value < alpha)
    else:
        assert (low > null or high < null) == (res.p_value < 1 - level)


def test_bca_acceleration_equals_the_row_jackknife(rng):
    # Efron's acceleration from the leave-one-row-out jackknife, computed row by row
    n = 80
    y = (rng.random(n) < 0.3).astype(int)
    c = np.where(rng.random(n) < 0.8, y, 1 - y)
    p = np.where(rng.random(n) < 0.7, y, 1 - y)
    theta = np.array([
        f1_score(np.delete(y, i), np.delete(c, i)) - f1_score(np.delete(y, i), np.delete(p, i)) for i in range(n)
    ])
    u = theta.mean() - theta
    expected = np.sum(u**3) / (6 * np.sum(u**2) ** 1.5)
    res = paired_bootstrap(y, c, p, metric="f1", n_resamples=200, interval="bca")
    assert abs(expected) > 1e-4
    assert res.acceleration == pytest.approx(expected, rel=1e-9)
