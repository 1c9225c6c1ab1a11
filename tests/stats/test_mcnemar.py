import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

from mlgate.gates.stats import JointCells, mcnemar, mcnemar_from_cells


def rows_for(a, b, c, d):
    """y and two prediction vectors with a both-right, b candidate-only, c production-only, d both-wrong."""
    y = np.ones(a + b + c + d, int)
    cand = np.r_[np.ones(a + b, int), np.zeros(c + d, int)]
    prod = np.r_[np.ones(a, int), np.zeros(b, int), np.ones(c, int), np.zeros(d, int)]
    return y, cand, prod


TABLES = [(10, 3, 9, 5), (40, 1, 7, 2), (0, 12, 13, 0), (100, 25, 10, 30), (5, 0, 4, 1), (3, 30, 31, 3)]


@pytest.mark.parametrize("a,b,c,d", TABLES)
def test_matches_statsmodels(a, b, c, d):
    table = [[a, b], [c, d]]
    y, cand, prod = rows_for(a, b, c, d)
    exact = mcnemar(y, cand, prod, method="exact")
    ref = sm_mcnemar(table, exact=True)
    assert exact.statistic == ref.statistic
    assert exact.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    chi = mcnemar(y, cand, prod, method="asymptotic")
    ref = sm_mcnemar(table, exact=False, correction=False)
    assert chi.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert chi.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    if abs(b - c) >= 1:  # statsmodels' (|b-c|-1)^2 differs from the clipped form only at b == c
        cc = mcnemar(y, cand, prod, method="asymptotic_cc")
        ref = sm_mcnemar(table, exact=False, correction=True)
        assert cc.statistic == pytest.approx(ref.statistic, rel=1e-12)
        assert cc.pvalue == pytest.approx(ref.pvalue, rel=1e-12)


@pytest.mark.parametrize("a,b,c,d", TABLES)
def test_midp_is_the_exact_p_minus_the_observed_point_probability(a, b, c, d):
    y, cand, prod = rows_for(a, b, c, d)
    k, m = min(b, c), b + c
    exact_two_sided = stats.binomtest(k, m, 0.5).pvalue if m else 1.0
    expected = exact_two_sided - stats.binom.pmf(k, m, 0.5) if b != c else 1.0
    assert mcnemar(y, cand, prod, method="midp").pvalue == pytest.approx(expected, rel=1e-12)


def test_fagerland_2013_worked_example():
    # Bentur et al. (2009) airway hyper-responsiveness, b = 1, c = 7 (Fagerland, Lydersen & Laake 2013)
    y, cand, prod = rows_for(1, 1, 7, 12)
    rounded = {m: round(mcnemar(y, cand, prod, method=m).pvalue, 3) for m in ("exact", "midp", "asymptotic", "asymptotic_cc")}
    assert rounded == {"exact": 0.070, "midp": 0.039, "asymptotic": 0.034, "asymptotic_cc": 0.077}


@pytest.mark.parametrize("method", ["midp", "exact", "asymptotic", "asymptotic_cc"])
def test_no_discordant_rows_gives_p_one(method):
    y, cand, prod = rows_for(5, 0, 0, 3)
    res = mcnemar(y, cand, prod, method=method)
    assert (res.b, res.c, res.pvalue, res.estimate) == (0, 0, 1.0, 0.0)


def test_b_counts_rows_only_the_candidate_gets_right(rng):
    y = rng.integers(0, 3, 300)
    cand = np.where(rng.random(300) < 0.8, y, (y + 1) % 3)
    prod = np.where(rng.random(300) < 0.6, y, (y + 2) % 3)
    res = mcnemar(y, cand, prod)
    assert res.b == np.sum((cand == y) & (prod != y))
    assert res.c == np.sum((cand != y) & (prod == y))
    assert res.estimate == pytest.approx(np.mean(cand == y) - np.mean(prod == y))
    assert mcnemar_from_cells(JointCells.from_arrays(y, cand, prod)) == res


def newcombe_reference(a, b, c, d, level):
    """Independent transcription of Newcombe (1998) method 10 with statsmodels' Wilson intervals."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = proportion_confint(a + b, n, alpha=1 - level, method="wilson")
    l2, u2 = proportion_confint(a + c, n, alpha=1 - level, method="wilson")
    denominator = math.sqrt((a + b) * (c + d) * (a + c) * (b + d)) if min(a + b, c + d, a + c, b + d) else 0
    cross = a * d - b * c
    phi = 0.0
    if denominator:
        phi = (cross - n / 2) / denominator if cross > n / 2 else (cross / denominator if cross < 0 else 0.0)
    delta = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    epsilon = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return p1 - p2 - delta, p1 - p2 + epsilon


@pytest.mark.parametrize("a,b,c,d", TABLES + [(36, 12, 2, 0), (263, 15, 3, 35), (1, 1, 7, 12)])
@pytest.mark.parametrize("level", [0.90, 0.95])
def test_newcombe_interval_matches_an_independent_transcription(a, b, c, d, level):
    res = mcnemar(*rows_for(a, b, c, d), confidence_level=level)
    np.testing.assert_allclose(res.confidence_interval, newcombe_reference(a, b, c, d, level), rtol=1e-9)


def test_newcombe_published_example():
    # Cavo et al. (2012) via Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency
    # Tables" (2017), ch. 8: estimate -0.0621, Newcombe square-and-add 95% CI -0.1186 to -0.0046
    res = mcnemar(*rows_for(59, 6, 16, 80))
    assert round(res.estimate, 4) == -0.0621
    assert tuple(round(x, 4) for x in res.confidence_interval) == (-0.1186, -0.0046)


def test_validation_messages():
    y, cand, prod = rows_for(1, 2, 3, 4)
    with pytest.raises(ValueError, match=r"method must be one of 'midp', 'exact', 'asymptotic', 'asymptotic_cc'; got 'chi2'"):
        mcnemar(y, cand, prod, method="chi2")
    with pytest.raises(ValueError, match=r"confidence_level must be a number in \(0, 1\); got 95"):
        mcnemar(y, cand, prod, confidence_level=95)
    with pytest.raises(ValueError, match=r"pred_candidate=9"):
        mcnemar(y, cand[:-1], prod)
    with pytest.raises(ValueError, match=r"at least one row; got 0"):
        mcnemar([], [], [])
    with pytest.raises(ValueError, match=r"cells must be a JointCells; got list"):
        mcnemar_from_cells([1, 2])
