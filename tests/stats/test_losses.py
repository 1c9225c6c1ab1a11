import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import mean_squared_error, r2_score

from mlgate.gates.stats import PairedMoments, compare_loss, loss_row_tests


def loss_rows(rng, n, better=0.0):
    y = rng.normal(3.0, 2.0, n)
    pred_c = y + rng.normal(0, 1.0 - better, n)
    pred_p = y + rng.normal(0, 1.0, n)
    return y, pred_c, pred_p


def moments_of(loss_c, loss_p, y):
    return PairedMoments.from_rows(np.c_[loss_c, loss_p, y, y**2])


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
@pytest.mark.parametrize("null", [0.0, -0.05, 0.02])
def test_paired_t_matches_scipy(rng, alternative, null):
    """Without the third moment (or with a symmetric difference) the test is the paired t."""
    y, c, p = loss_rows(rng, 500, better=0.05)
    loss_c, loss_p = np.abs(y - c), np.abs(y - p)
    full = moments_of(loss_c, loss_p, y)
    res = compare_loss(PairedMoments(full.n, full.mean, full.m2), "mae", null=null, alternative=alternative,
                       confidence_level=0.9)
    d = loss_p - loss_c
    ref = stats.ttest_1samp(d, popmean=null, alternative=alternative)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert res.estimate == pytest.approx(d.mean(), rel=1e-12)
    ci = stats.ttest_rel(loss_p, loss_c).confidence_interval(confidence_level=0.9)
    assert res.confidence_interval == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert (res.candidate, res.production) == pytest.approx((loss_c.mean(), loss_p.mean()))
    assert res.method == "paired-t" and res.n == 500


def test_rmse_and_r2_point_values_match_sklearn(rng):
    y, c, p = loss_rows(rng, 300)
    m = moments_of((y - c) ** 2, (y - p) ** 2, y)
    rmse = compare_loss(m, "rmse")
    assert rmse.candidate == pytest.approx(np.sqrt(mean_squared_error(y, c)), rel=1e-12)
    assert rmse.production == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-12)
    assert rmse.estimate == pytest.approx(rmse.production - rmse.candidate)
    r2 = compare_loss(m, "r2")
    assert r2.candidate == pytest.approx(r2_score(y, c), rel=1e-12)
    assert r2.production == pytest.approx(r2_score(y, p), rel=1e-12)
    assert r2.estimate == pytest.approx(r2.candidate - r2.production)
    assert r2.method == rmse.method == "delta-method"


@pytest.mark.parametrize("metric", ["rmse", "r2"])
def test_delta_method_se_matches_the_row_bootstrap(metric):
    # a skewed target and a much better candidate, so var(y)'s own noise matters for r2
    rng = np.random.default_rng(5)
    n = 2000
    y = rng.exponential(2.0, n)
    c, p = y + rng.normal(0, 0.2, n), y + rng.normal(0, 1.0, n)
    res = compare_loss(moments_of((y - c) ** 2, (y - p) ** 2, y), metric)
    se = (res.confidence_interval.high - res.confidence_interval.low) / (2 * stats.norm.isf(0.05))

    def delta(y, c, p, axis=-1):
        if metric == "rmse":
            return np.sqrt(np.mean((y - p) ** 2, axis)) - np.sqrt(np.mean((y - c) ** 2, axis))
        return (np.mean((y - p) ** 2, axis) - np.mean((y - c) ** 2, axis)) / np.var(y, axis=axis)

    boot = stats.bootstrap((y, c, p), delta, paired=True, vectorized=True, n_resamples=4000,
                           method="percentile", random_state=np.random.default_rng(0))
    assert se == pytest.approx(boot.standard_error, rel=0.08)


def test_merged_chunks_give_the_same_comparison(rng):
    y, c, p = loss_rows(rng, 1000, better=0.05)
    cols = np.c_[(y - c) ** 2, (y - p) ** 2, y, y**2]
    whole = PairedMoments.from_rows(cols)
    merged = sum(PairedMoments.from_rows(part) for part in np.array_split(cols, 9))
    for metric in ("mse", "rmse", "r2"):
        a, b = compare_loss(whole, metric), compare_loss(merged, metric)
        assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-15)
        assert a.confidence_interval == pytest.approx(b.confidence_interval, rel=1e-9)


def test_undefined_cases():
    one = PairedMoments.from_rows(np.array([[1.0, 2.0, 3.0, 9.0]]))
    res = compare_loss(one, "log_loss")
    assert res.undefined and "at least 2 rows; got n=1" in res.detail and np.isnan(res.p_value)
    const = PairedMoments.from_rows(np.array([[1.0, 2.0, 3.0, 9.0], [2.0, 1.0, 3.0, 9.0]]))
    res = compare_loss(const, "r2")
    assert res.undefined and "target is constant" in res.detail


def test_a_perfect_model_has_a_defined_rmse_difference(rng):
    y, _, p = loss_rows(rng, 200)
    res = compare_loss(moments_of(np.zeros(200), (y - p) ** 2, y), "rmse")
    assert not res.undefined and res.candidate == 0.0 and res.p_value < 1e-6


def test_validation_messages():
    m = PairedMoments.from_rows(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"metric must be one of .*; got 'accuracy'"):
        compare_loss(m, "accuracy")
    with pytest.raises(ValueError, match=r"moments must have at least 4 columns for r2; got 2"):
        compare_loss(m, "r2")
    with pytest.raises(ValueError, match=r"moments must be a PairedMoments; got ndarray"):
        compare_loss(np.ones((3, 4)), "mse")
    with pytest.raises(ValueError, match=r"d must hold at least 2 rows; got 1"):
        loss_row_tests([1.0], confidence_level=0.9)
    with pytest.raises(ValueError, match=r"budget must be a positive integer; got 0"):
        loss_row_tests([1.0, 2.0], confidence_level=0.9, budget=0)


def test_row_tests_match_scipy(rng):
    d = rng.normal(0.05, 1.0, 400)
    res = loss_row_tests(d, confidence_level=0.9, n_resamples=4000)
    assert res.wilcoxon_pvalue == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-12)
    assert res.method == "row-bootstrap-percentile" and res.n_resamples == 4000
    ref = stats.bootstrap((d,), np.mean, n_resamples=4000, confidence_level=0.9, method="percentile",
                          random_state=np.random.default_rng(1))
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert abs(res.confidence_interval.low - ref.confidence_interval.low) < 0.1 * width
    assert abs(res.confidence_interval.high - ref.confidence_interval.high) < 0.1 * width


def test_row_tests_fall_back_to_normal_beyond_the_budget(rng):
    d = rng.normal(0.05, 1.0, 400)
    res = loss_row_tests(d, confidence_level=0.9, budget=1000)
    assert res.method == "normal" and res.n_resamples == 0
    ci = stats.ttest_1samp(d, 0).confidence_interval(confidence_level=0.9)
    assert res.confidence_interval == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert loss_row_tests(np.zeros(5), confidence_level=0.9).wilcoxon_pvalue == 1.0


@given(st.integers(0, 2**32 - 1), st.floats(-0.3, 0.3), st.sampled_from([0.8, 0.9, 0.95]),
       st.sampled_from(["greater", "less"]), st.sampled_from(["mse", "rmse", "r2", "brier"]))
def test_interval_and_p_value_agree(seed, null, level, alternative, metric):
    rng = np.random.default_rng(seed)
    y, c, p = loss_rows(rng, 50, better=rng.uniform(-0.3, 0.3))
    res = compare_loss(moments_of((y - c) ** 2, (y - p) ** 2, y), metric, null=null,
                       alternative=alternative, confidence_level=level)
    alpha = (1 - level) / 2
    outside = res.confidence_interval.low > null if alternative == "greater" else res.confidence_interval.high < null
    assert outside == (res.p_value < alpha)


def test_hall_transform_against_its_formula_and_scipy_when_symmetric(rng):
    """Hall (1992): g(T) = T + a(1 + 2T²) + (4/3)a²T³ with a = γ/(6√n), against t(n − 1)."""
    d = rng.gamma(1.5, 1.0, 400) - 1.4  # right-skewed differences
    moments = PairedMoments.from_rows(np.c_[np.zeros_like(d), d])
    res = compare_loss(moments, "mae", null=-0.05, alternative="greater", confidence_level=0.9)
    n, mean, sd = d.size, d.mean(), d.std(ddof=1)
    gamma = np.mean((d - mean) ** 3) / np.mean((d - mean) ** 2) ** 1.5
    a = gamma / (6 * np.sqrt(n))
    t = (mean + 0.05) / (sd / np.sqrt(n))
    g = t + a * (1 + 2 * t * t) + 4 / 3 * a * a * t**3
    assert res.method == "paired-t-hall"
    assert res.p_value == pytest.approx(stats.t(n - 1).sf(g), rel=1e-9)
    low = res.confidence_interval.low
    t_low = (mean - low) / (sd / np.sqrt(n))  # g(t_low) is the quantile
    assert t_low + a * (1 + 2 * t_low**2) + 4 / 3 * a * a * t_low**3 == pytest.approx(stats.t(n - 1).isf(0.05), rel=1e-9)
    sym = np.r_[d - d.mean(), -(d - d.mean())] + 0.01  # exactly symmetric: γ = 0
    m_sym = PairedMoments.from_rows(np.c_[np.zeros_like(sym), sym])
    assert abs(m_sym.m3) < 1e-9
    res = compare_loss(m_sym, "mae", null=0.0, alternative="greater")
    assert res.p_value == pytest.approx(stats.ttest_1samp(sym, 0.0, alternative="greater").pvalue, rel=1e-6)


@pytest.mark.parametrize("n", [3, 9])
def test_too_few_rows_are_insufficient_not_deterministic(n):
    """Two or three rows with equal differences have se = 0; that is no evidence at all."""
    d = np.full(n, 0.1)
    res = compare_loss(PairedMoments.from_rows(np.c_[np.zeros(n), d]), "mae", null=0.0)
    assert res.insufficient and "at least 50" in res.detail
