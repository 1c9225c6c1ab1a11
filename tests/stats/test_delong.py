import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score

from mlgate.gates.stats import compare_auc, delong


def delong_by_pairs(y, s1, s2):
    """DeLong et al. (1988) written from the definition: the O(m·n) placement kernel."""
    pos, neg = y == 1, y == 0

    def components(s):
        kernel = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        return kernel.mean(axis=1), kernel.mean(axis=0)

    (v10a, v01a), (v10b, v01b) = components(s1), components(s2)
    s10 = np.cov(np.vstack([v10a, v10b]))
    s01 = np.cov(np.vstack([v01a, v01b]))
    L = np.array([1.0, -1.0])
    var = L @ s10 @ L / pos.sum() + L @ s01 @ L / neg.sum()
    return v10a.mean(), v10b.mean(), np.sqrt(var)


# pROC's own expectations on its aSAH data (tests/testthat/test-roc.test.R and test-auc.R of
# pROC 1.19): roc.test(r1, r2) with r = roc(aSAH$outcome, aSAH$marker), paired DeLong,
# two-sided, 95 % interval of AUC(r1) − AUC(r2); AUCs from test-auc.R and helper-roc-expected.R.
PROC_AUC = {"wfns": 0.823678861788618, "ndka": 0.611957994579946, "s100b": 0.73136856368563685}
PROC_ROC_TEST = [
    ("wfns", "s100b", 2.20898359144091, 0.0271757822291882, (0.0104061769564846, 0.174214419249478)),
    ("wfns", "ndka", 2.79777591868904, 0.00514557970691098, (0.0634011709339876, 0.3600405634833566)),
    ("ndka", "s100b", -1.39077002573558, 0.164295175223054, (-0.2876917446341914, 0.0488706064228094)),
]


@pytest.mark.parametrize("first, second, z, p, interval", PROC_ROC_TEST, ids=[f"{a}-vs-{b}" for a, b, *_ in PROC_ROC_TEST])
def test_reproduces_proc_on_asah(asah, first, second, z, p, interval):
    y = (asah["outcome"] == "Poor").to_numpy()
    res = delong(y, asah[first].to_numpy(float), asah[second].to_numpy(float))
    assert (res.n_positive, res.n_negative) == (41, 72)
    assert (res.auc_candidate, res.auc_production) == pytest.approx((PROC_AUC[first], PROC_AUC[second]), rel=1e-12)
    assert res.statistic == pytest.approx(z, rel=1e-9)
    assert res.pvalue == pytest.approx(p, rel=1e-9)
    assert res.confidence_interval == pytest.approx(interval, rel=1e-9)


@pytest.mark.parametrize("decimals", [None, 1])  # rounding the scores creates many ties
def test_matches_the_pairwise_definition_and_sklearn(rng, decimals):
    for _ in range(5):
        n = int(rng.integers(20, 200))
        y = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(int)
        y[:2], y[2:4] = 1, 0
        s1 = y + rng.normal(size=n)
        s2 = 0.5 * s1 + rng.normal(size=n)
        if decimals is not None:
            s1, s2 = np.round(s1, decimals), np.round(s2, decimals)
        res = delong(y, s1, s2)
        auc1, auc2, se = delong_by_pairs(y, s1, s2)
        assert res.auc_candidate == pytest.approx(roc_auc_score(y, s1), rel=1e-12)
        assert res.auc_production == pytest.approx(roc_auc_score(y, s2), rel=1e-12)
        assert (res.auc_candidate, res.auc_production) == pytest.approx((auc1, auc2), rel=1e-12)
        assert res.se == pytest.approx(se, rel=1e-9)
        z = (auc1 - auc2) / se
        assert res.statistic == pytest.approx(z, rel=1e-9)
        assert res.pvalue == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
        q = stats.norm.isf(0.025)
        assert res.confidence_interval == pytest.approx((auc1 - auc2 - q * se, auc1 - auc2 + q * se), rel=1e-9)
        greater = delong(y, s1, s2, alternative="greater")
        less = delong(y, s1, s2, alternative="less")
        assert greater.pvalue == pytest.approx(stats.norm.sf(z), rel=1e-9)
        assert less.pvalue == pytest.approx(stats.norm.cdf(z), rel=1e-9)


def test_bool_and_integer_targets_agree(rng):
    y = rng.random(100) < 0.4
    s1, s2 = rng.normal(size=100) + y, rng.normal(size=100)
    assert delong(y, s1, s2) == delong(y.astype(int), s1, s2) == delong(y.astype(float), s1, s2)


def test_identical_models_are_deterministic(rng):
    y = rng.random(80) < 0.5
    s = rng.normal(size=80) + y
    res = delong(y, s, s)
    assert res.se == 0.0 and res.estimate == 0.0 and res.pvalue == 1.0
    assert compare_auc(y, s, s, null=0.0).p_value == 1.0
    passed = compare_auc(y, s, s, null=-0.005)
    assert passed.p_value == 0.0 and passed.confidence_interval.low > -0.005


def test_needs_two_of_each_class():
    y = np.array([1, 0, 0, 0, 0])
    s = np.arange(5.0)
    with pytest.raises(ValueError, match=r"at least 2 positive and 2 negative rows for DeLong; got 1 positive and 4 negative"):
        delong(y, s, s[::-1])
    res = compare_auc(y, s, s[::-1])
    assert res.undefined and "1 positive and 4 negative" in res.detail
    assert res.candidate == 0.0 and res.production == 1.0  # the AUCs themselves are defined
    single = compare_auc(np.zeros(5, bool), s, s)
    assert single.undefined and np.isnan(single.candidate) and np.isnan(single.p_value)


def test_validation_messages():
    y, s = np.array([0, 1, 0, 1]), np.arange(4.0)
    with pytest.raises(ValueError, match=r"y_true must be bool or 0/1; got values \[1, 2\]"):
        delong([1, 2, 1, 2], s, s)
    with pytest.raises(ValueError, match=r"score_production must be finite; got 1 non-finite value\(s\), the first at index 2"):
        delong(y, s, np.array([0, 1, np.nan, 3]))
    with pytest.raises(ValueError, match=r"alternative must be one of 'two-sided', 'greater', 'less'; got 'larger'"):
        delong(y, s, s, alternative="larger")
    with pytest.raises(ValueError, match=r"score_candidate=3"):
        delong(y, s[:3], s)
    with pytest.raises(ValueError, match=r"null must be a finite number; got nan"):
        compare_auc(y, s, s, null=float("nan"))


@given(st.integers(0, 2**32 - 1), st.floats(-0.2, 0.2), st.sampled_from([0.8, 0.9, 0.95]), st.sampled_from(["greater", "less"]))
def test_interval_and_p_value_agree(seed, null, level, alternative):
    rng = np.random.default_rng(seed)
    y = rng.random(60) < 0.5
    y[:2], y[2:4] = True, False
    s1, s2 = np.round(rng.normal(size=60) + y, 1), rng.normal(size=60) + 0.5 * y
    res = compare_auc(y, s1, s2, null=null, alternative=alternative, confidence_level=level)
    alpha = (1 - level) / 2
    outside = res.confidence_interval.low > null if alternative == "greater" else res.confidence_interval.high < null
    assert outside == (res.p_value < alpha)


def test_threaded_path_gives_the_same_answer(rng, monkeypatch):
    import importlib

    module = importlib.import_module("mlgate.gates.stats.delong")  # the package re-exports the function

    y = rng.random(3000) < 0.3
    s1, s2 = rng.normal(size=3000) + y, np.round(rng.normal(size=3000) + 0.5 * y, 1)
    serial = delong(y, s1, s2)
    monkeypatch.setattr(module, "_THREADED_ROWS", 1000)
    assert delong(y, s1, s2) == serial


# -- the packed-key sort behind structural_components ------------------------------------------
# structural_components sorts a uint64 key (truncated order-preserving float64 bits + row index)
# instead of calling np.argsort, and repairs rows whose truncated keys collide. These tests hold
# it to a plain argsort-based computation, bit for bit, on inputs built to stress that repair.

def _module():
    import importlib

    return importlib.import_module("mlgate.gates.stats.delong")  # the package re-exports the function


def components_by_argsort(pos, score):
    """The components straight from np.argsort and midranks of tied groups, each one division
    of exact counts (correctly rounded, as the implementation computes them)."""
    n_pos = int(pos.sum())
    n_neg = pos.size - n_pos
    order = np.argsort(score, kind="stable")
    s, p = score[order], pos[order]
    if not np.any(s[1:] == s[:-1]):
        v10 = np.cumsum(~p, dtype=np.float64) / n_neg
        v01 = (n_pos - np.cumsum(p, dtype=np.float64)) / n_pos
    else:
        new_group = np.r_[True, s[1:] != s[:-1]]
        starts = np.flatnonzero(new_group)
        ends = np.append(starts[1:], s.size)
        cum_pos = np.concatenate(([0], np.cumsum(p, dtype=np.int64)))
        pos_before, pos_in = cum_pos[starts], cum_pos[ends] - cum_pos[starts]
        neg_before, neg_in = starts - pos_before, (ends - starts) - pos_in
        group = np.cumsum(new_group) - 1
        v10 = ((neg_before + 0.5 * neg_in) / n_neg)[group]
        v01 = ((n_pos - pos_before - 0.5 * pos_in) / n_pos)[group]
    values = np.where(p, v10, v01)
    out = np.empty(score.size)
    out[order] = values
    return out[pos], out[~pos]


def assert_same_components(pos, score):
    n_pos = int(pos.sum())
    got = _module().structural_components(pos, score, n_pos, pos.size - n_pos)
    want = components_by_argsort(pos, score)
    for g, w in zip(got, want):
        assert g.dtype == np.float64 and np.array_equal(g.view(np.uint64), w.view(np.uint64))


_ONE_ULP = 2.0**-52
_AWKWARD = [
    0.0, -0.0, 5e-324, -5e-324, 1e-320, 2.2250738585072014e-308, -2.2250738585072014e-308,
    1.0, 1.0 + _ONE_ULP, 1.0 + 2 * _ONE_ULP, 1.0 - _ONE_ULP / 2, -1.0, -1.0 - _ONE_ULP,
    0.5, 0.5 + _ONE_ULP / 2, 1e300, -1e300, float(np.float32(0.1)), 0.1,
]


@st.composite
def labelled_scores(draw):
    n = draw(st.integers(4, 300))
    y = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    y[:2], y[2:4] = True, False
    kind = draw(st.sampled_from(["awkward", "near_one", "floats", "float32", "mixed"]))
    if kind == "awkward":
        s = draw(st.lists(st.sampled_from(_AWKWARD), min_size=n, max_size=n))
    elif kind == "near_one":  # distinct values agreeing in all but their last bits
        s = [1.0 + k * _ONE_ULP for k in draw(st.lists(st.integers(0, 600), min_size=n, max_size=n))]
    elif kind == "floats":
        s = draw(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=n, max_size=n))
    elif kind == "float32":
        s = draw(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=n, max_size=n))
    else:
        s = draw(st.lists(
            st.sampled_from(_AWKWARD) | st.floats(-2, 2, allow_nan=False)
            | st.integers(0, 50).map(lambda k: 0.25 + k * _ONE_ULP / 4),
            min_size=n, max_size=n,
        ))
    return y, np.array(s, dtype=np.float64)


@given(labelled_scores())
def test_fast_sort_gives_the_argsort_components(data):
    y, s = data
    assert_same_components(y, s)
    assert_same_components(y, -s)
    assert_same_components(~y, s)


@given(labelled_scores(), st.integers(0, 2**32 - 1))
def test_delong_is_unchanged_by_the_fast_sort(data, seed):
    y, s1 = data
    s2 = np.random.default_rng(seed).permutation(s1)
    res = delong(y, s1, s2)
    ref = [components_by_argsort(y, s) for s in (s1, s2)]
    assert res.auc_candidate == float(ref[0][0].mean())
    assert res.auc_production == float(ref[1][0].mean())
    var = (np.var(ref[0][0] - ref[1][0], ddof=1) / y.sum()
           + np.var(ref[0][1] - ref[1][1], ddof=1) / (~y).sum())
    assert res.se == pytest.approx(np.sqrt(var), rel=1e-12, abs=1e-300)


def test_float32_scores_give_the_float64_answer(rng):
    y = rng.random(2000) < 0.4
    s1 = (rng.normal(size=2000) + y).astype(np.float32)
    s2 = np.round(rng.normal(size=2000), 2).astype(np.float32)
    assert delong(y, s1, s2) == delong(y, s1.astype(np.float64), s2.astype(np.float64))


@pytest.mark.parametrize("case", ["distinct", "sparse_repair", "dense_repair", "heavy_ties", "fallback"])
def test_every_path_of_the_fast_sort(rng, monkeypatch, case):
    """Large enough inputs (20,000 rows keep 49 key bits) to steer each branch of _sort_scores;
    the spies check the branch was really taken."""
    module = _module()
    n = 20_000
    y = rng.random(n) < 0.3
    near = lambda k: 0.75 + rng.integers(0, k, n) * _ONE_ULP  # share their top key bits
    s = {
        "distinct": rng.normal(size=n),
        "sparse_repair": np.where(rng.random(n) < 0.01, near(40), rng.normal(size=n)),
        "dense_repair": np.where(rng.random(n) < 0.05, near(40), np.round(rng.normal(size=n), 1)),
        "heavy_ties": np.round(rng.normal(size=n), 1),
        "fallback": near(5000),
    }[case]
    calls = []
    for name in ("_sort_runs_of_equal_keys", "_argsort_scores"):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name: calls.append(_name) or _real(*a))
    assert_same_components(y, s)
    expected = {
        "distinct": [],
        "sparse_repair": ["_sort_runs_of_equal_keys"],
        "dense_repair": ["_sort_runs_of_equal_keys"],
        "heavy_ties": [],
        "fallback": ["_sort_runs_of_equal_keys", "_argsort_scores"],
    }[case]
    assert calls == expected
