"""Score tests for paired confusion-matrix metrics against published values and independent
references: Tango's interval (Fagerland, Lydersen & Laake 2017), McNemar's statistic from
statsmodels, and the identities the restricted score must reduce to."""

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from mlgate.gates.stats import JointCells, compare_confusion
from mlgate.gates.stats.score import RestrictedScore, score_interval, tango_statistic


def _cells(pos_only: dict, neg_only: dict) -> JointCells:
    """Binary joint cells (y, candidate, production) from {(cand, prod): count} per class."""
    counts = np.zeros((2, 2, 2), dtype=np.int64)
    for (cand, prod), k in pos_only.items():
        counts[1, cand, prod] = k
    for (cand, prod), k in neg_only.items():
        counts[0, cand, prod] = k
    return JointCells((0, 1), counts)


def _tango_interval(b, c, n, level):
    q = float(sps.norm.isf((1 - level) / 2))
    est = (b - c) / n
    return score_interval(lambda d: tango_statistic(b, c, n, d), est, q, -1.0, 1.0, step=0.05)


def test_tango_interval_matches_the_published_example():
    # Cavo et al. (2012), thalidomide–dexamethasone, via Fagerland, Lydersen & Laake,
    # "Statistical Analysis of Contingency Tables" (2017), ch. 8: 59, 6, 16, 80 pairs; the
    # Tango asymptotic score interval for the difference is −0.1240 to −0.0054.
    ci = _tango_interval(6, 16, 161, 0.95)
    assert (round(ci.low, 4), round(ci.high, 4)) == (-0.1240, -0.0054)


@pytest.mark.parametrize("b,c,n", [(6, 16, 161), (7, 1, 21), (30, 12, 500), (3, 0, 50), (0, 4, 1000)])
def test_tango_at_zero_is_mcnemars_statistic(b, c, n):
    """At δ = 0 Tango's score statistic is McNemar's (b − c)/√(b + c) (Tango 1998, §2)."""
    z = tango_statistic(b, c, n, 0.0)
    chi2 = sm_mcnemar([[n - b - c, b], [c, 0]], exact=False, correction=False).statistic
    assert z**2 == pytest.approx(chi2, rel=1e-12)
    assert math.copysign(1, z) == math.copysign(1, b - c)


def test_tango_holds_at_the_bound_exactly_when_the_margin_is_a_multiple_of_one_over_n():
    """Δ̂ equal to the bound is 'at the bound' whatever the concordant count (it was not, in
    floating point, with the percentile bootstrap)."""
    for n in (100, 300, 1000, 10_000):
        b, c = 3, 3 + n // 100  # Δ̂ = −0.01 exactly
        assert tango_statistic(b, c, n, -0.01) == 0.0


def test_three_candidate_wins_and_no_losses_do_not_prove_superiority():
    """The percentile bootstrap's artefact: it never draws a discordant cell it has not seen,
    so three candidate-only wins declared superiority at any n (exact McNemar p = 0.125)."""
    for n in (50, 100_000):
        cells = _cells({(1, 0): 3, (1, 1): n // 2 - 3}, {(0, 0): n - n // 2})
        cmp = compare_confusion(cells, "accuracy", null=0.0, alternative="greater", confidence_level=0.9)
        assert cmp.method == "tango-score"
        assert cmp.insufficient and "the test needs 10" in cmp.detail  # the gate says inconclusive
    # ten wins and no losses are evidence (exact McNemar p = 0.001)
    cells = _cells({(1, 0): 10, (1, 1): 200}, {(0, 0): 300})
    cmp = compare_confusion(cells, "accuracy", null=0.0, alternative="greater", confidence_level=0.9)
    assert not cmp.insufficient and cmp.p_value < 0.05


def test_an_identical_model_on_many_rows_has_enough_information_for_non_inferiority():
    cells = _cells({(1, 1): 9000, (0, 0): 1000}, {(0, 0): 9500, (1, 1): 500})
    for metric in ("accuracy", "recall", "f1", "balanced_accuracy"):
        cmp = compare_confusion(cells, metric, null=-0.01, alternative="greater", confidence_level=0.9, pos_label=1)
        assert not cmp.insufficient, (metric, cmp.detail)
        assert cmp.confidence_interval.low > -0.01


@pytest.mark.parametrize("delta", [-0.1, -0.03, 0.0, 0.02, 0.08])
def test_restricted_score_reduces_to_tango_for_accuracy_and_for_recall_on_the_positives(delta):
    """The general construction (constrained MLE over all 8 joint cells) must give Tango's
    closed form for accuracy, and for recall Tango's on the positive rows alone: recall is
    accuracy restricted to them."""
    cells = _cells({(1, 1): 30, (1, 0): 5, (0, 1): 2, (0, 0): 3}, {(0, 0): 150, (1, 0): 4, (0, 1): 6, (1, 1): 1})
    acc = RestrictedScore(cells, "accuracy", pos_index=1)
    assert acc.z(delta) == pytest.approx(tango_statistic(11, 6, 201, delta), abs=1e-7)
    rec = RestrictedScore(cells, "recall", pos_index=1)
    assert rec.z(delta) == pytest.approx(tango_statistic(5, 2, 40, delta), abs=1e-7)


@pytest.mark.parametrize("metric,average,k", [("f1", "binary", 2), ("precision", "binary", 2), ("mcc", "binary", 2),
                                              ("balanced_accuracy", "macro", 2), ("f1", "macro", 3),
                                              ("balanced_accuracy", "macro", 4), ("recall", "weighted", 3)])
def test_linearised_fit_is_the_constrained_maximum_likelihood(metric, average, k):
    """The fast fit (sequential linearisation, one-variable dual) against a general-purpose
    constrained optimiser (SLSQP over all K³ cells) on random tables, some with empty cells."""
    rng = np.random.default_rng(k * 7 + len(metric))
    for _ in range(4):
        counts = rng.poisson(rng.choice([0.0, 2.0, 20.0], size=(k, k, k), p=[0.3, 0.4, 0.3]))
        np.einsum("iii->i", counts)[:] += 15  # both models mostly right, every class present
        cells = JointCells(tuple(range(k)), counts)
        pos = 1 if average == "binary" else None
        fast = RestrictedScore(cells, metric, pos_index=pos, average=average)
        slow = RestrictedScore(cells, metric, pos_index=pos, average=average)
        slow._fit = slow._fit_slsqp
        for delta in (fast.estimate - 0.08, fast.estimate - 0.02, fast.estimate + 0.03):
            a, b = fast.z(delta), slow.z(delta)
            assert a == pytest.approx(b, abs=2e-4), (metric, delta)


def test_the_null_puts_mass_on_errors_the_holdout_did_not_show():
    """With no candidate-only errors seen, the fit at Δ = −m must give some (Tango: p21 > 0);
    otherwise its variance is that of a table without them, the bootstrap's mistake."""
    cells = _cells({(1, 1): 40, (1, 0): 2}, {(0, 0): 150, (1, 0): 1})
    score = RestrictedScore(cells, "recall", pos_index=1)
    p = score._fit(-0.05).reshape(2, 2, 2)
    assert p[1, 0, 1] > 0  # positive rows the candidate misses and production catches
    assert score.z(-0.05) == pytest.approx(tango_statistic(2, 0, 42, -0.05), abs=1e-7)


def test_score_comparison_names_its_method_and_agrees_with_its_p_value():
    cells = _cells({(1, 1): 25, (1, 0): 6, (0, 1): 3, (0, 0): 4}, {(0, 0): 300, (1, 0): 9, (0, 1): 5, (1, 1): 2})
    for metric in ("f1", "precision", "balanced_accuracy", "mcc"):
        cmp = compare_confusion(cells, metric, null=-0.05, alternative="greater", confidence_level=0.9, pos_label=1)
        assert cmp.method == "restricted-score"
        assert (cmp.confidence_interval.low > -0.05) == (cmp.p_value < 0.05)
        assert cmp.confidence_interval.low < cmp.estimate < cmp.confidence_interval.high


def test_ten_classes_take_the_score_test_and_agree_with_the_bootstrap_on_a_large_holdout():
    """Where the bootstrap is fine (5,000 rows, every class common) the two constructions must
    give nearly the same interval; above MAX_SCORE_CLASSES the bootstrap decides and says so."""
    rng = np.random.default_rng(3)
    k, n = 10, 5000
    y = rng.integers(0, k, n)
    cand = np.where(rng.random(n) < 0.85, y, rng.integers(0, k, n))
    prod = np.where(rng.random(n) < 0.86, y, rng.integers(0, k, n))
    counts = np.zeros((k, k, k), dtype=np.int64)
    np.add.at(counts, (y, cand, prod), 1)
    cells = JointCells(tuple(range(k)), counts)
    score = compare_confusion(cells, "f1", null=-0.02, average="macro", confidence_level=0.9)
    boot = compare_confusion(cells, "f1", null=-0.02, average="macro", confidence_level=0.9, method="bootstrap",
                             n_resamples=4000)
    assert score.method == "restricted-score" and boot.method.startswith("paired-bootstrap")
    np.testing.assert_allclose(score.confidence_interval, boot.confidence_interval, atol=0.002)
    k = 25
    y = rng.integers(0, k, n)
    counts = np.zeros((k, k, k), dtype=np.int64)
    np.add.at(counts, (y, y, np.where(rng.random(n) < 0.9, y, rng.integers(0, k, n))), 1)
    wide = compare_confusion(JointCells(tuple(range(k)), counts), "f1", null=-0.02, average="macro", n_resamples=500)
    assert wide.method.startswith("paired-bootstrap")
