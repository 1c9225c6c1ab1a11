"""Confidence sequences for the canary judge (gates/stats/sequential.py).

The construction is checked against the paper's formula written out as a plain loop (with
``statistics.variance``, exact on floats), its time-uniform coverage by simulation against the
naive fixed-sample interval checked at every row, and its edges (undefined bounds, constant data,
bad inputs) by table.
"""

import math
import statistics

import numpy as np
import pytest
from scipy import stats

from mlgate.gates.stats import ConfidenceSequence, confidence_sequence, two_sample_confidence_sequence


def paper_rho2(alpha, tuning_rows):
    return (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning_rows


def paper_margin(sd, t, alpha, rho2):
    return sd * math.sqrt(2 * (t * rho2 + 1) / (t * t * rho2) * math.log(math.sqrt(t * rho2 + 1) / alpha))


def reference_one_sample(x, alpha, tuning_rows):
    """(estimate, margin) after every row; margin None while undefined."""
    rho2 = paper_rho2(alpha, tuning_rows)
    out = []
    for t in range(1, len(x) + 1):
        head = [float(v) for v in x[:t]]
        margin = paper_margin(math.sqrt(statistics.variance(head)), t, alpha, rho2) if t >= 2 else None
        out.append((statistics.fmean(head), margin))
    return out


def reference_two_sample(x, treated, alpha, tuning_rows):
    rho2 = paper_rho2(alpha, tuning_rows)
    out = []
    for t in range(1, len(x) + 1):
        cand = [float(v) for v, arm in zip(x[:t], treated[:t]) if arm]
        prod = [float(v) for v, arm in zip(x[:t], treated[:t]) if not arm]
        estimate = statistics.fmean(cand) - statistics.fmean(prod) if cand and prod else math.nan
        margin = None
        if len(cand) >= 2 and len(prod) >= 2:
            per_unit = t * (statistics.variance(cand) / len(cand) + statistics.variance(prod) / len(prod))
            margin = paper_margin(math.sqrt(per_unit), t, alpha, rho2)
        out.append((estimate, margin))
    return out


def assert_matches(cs, reference, scale, rel=1e-12):
    """Equal to ``rel`` relative; where a value crosses zero, relative to the data's ``scale``."""
    estimate = np.array([e for e, _ in reference])
    defined = np.array([m is not None for _, m in reference])
    margin = np.array([m for _, m in reference if m is not None])
    np.testing.assert_allclose(cs.estimate, estimate, rtol=rel, atol=rel * scale, equal_nan=True)
    np.testing.assert_array_equal(cs.defined, defined)
    assert np.all(cs.lower[~defined] == -np.inf) and np.all(cs.upper[~defined] == np.inf)
    np.testing.assert_allclose(cs.lower[defined], estimate[defined] - margin, rtol=rel, atol=rel * scale)
    np.testing.assert_allclose(cs.upper[defined], estimate[defined] + margin, rtol=rel, atol=rel * scale)
    # The half-width read back from the bounds, to the bounds' own resolution (a few ulp of the data).
    resolution = 4 * np.finfo(float).eps * scale
    np.testing.assert_allclose((cs.upper - cs.estimate)[defined], margin, rtol=rel, atol=resolution)
    np.testing.assert_allclose((cs.estimate - cs.lower)[defined], margin, rtol=rel, atol=resolution)
    np.testing.assert_array_equal(cs.rows, np.arange(1, len(reference) + 1))
    assert cs.rows.dtype == np.int64


CASES = {
    "skewed (exponential)": (lambda r: r.exponential(0.7, 300) - 0.2, 0.05, 5000),
    "near 1e6 ± 1": (lambda r: 1e6 + r.uniform(-1, 1, 300), 0.10, 100),
    "accuracy-like {-1, 0, 1}": (lambda r: r.choice([-1.0, 0.0, 1.0], p=[0.1, 0.8, 0.1], size=300), 0.01, 50),
}


@pytest.mark.parametrize("case", CASES)
def test_matches_the_paper_formula_row_by_row(case):
    make, alpha, tuning_rows = CASES[case]
    x = make(np.random.default_rng(11))
    cs = confidence_sequence(x, alpha=alpha, tuning_rows=tuning_rows)
    assert isinstance(cs, ConfidenceSequence)
    assert cs.alpha == alpha
    assert cs.method == f"asymptotic confidence sequence (Waudby-Smith et al. 2021), tuned for {tuning_rows:,} rows"
    assert_matches(cs, reference_one_sample(x, alpha, tuning_rows), np.abs(x).max())


@pytest.mark.parametrize("case", CASES)
def test_two_sample_matches_the_per_unit_variance_row_by_row(case):
    make, alpha, tuning_rows = CASES[case]
    rng = np.random.default_rng(12)
    x = make(rng)
    treated = rng.random(len(x)) < 0.3  # unbalanced, and the arms start at different rows
    treated[:3] = [False, False, True]
    x = x + 0.25 * treated
    cs = two_sample_confidence_sequence(x, treated, alpha=alpha, tuning_rows=tuning_rows)
    assert cs.method.endswith(f"for a difference of two means, tuned for {tuning_rows:,} rows")
    assert_matches(cs, reference_two_sample(x, treated, alpha, tuning_rows), np.abs(x).max())


def test_the_shift_keeps_digits_far_from_zero():
    # The same spread a million away from zero gives the same interval, moved by a million: the
    # half-widths (about 0.03) agree to the resolution of bounds near 1e6 (ulp 1.2e-10).
    rng = np.random.default_rng(3)
    far = 1e6 + rng.uniform(-1, 1, 5000)
    near = far - 1e6  # exact: the same numbers, moved
    wide, narrow = confidence_sequence(far), confidence_sequence(near)
    np.testing.assert_allclose(wide.estimate, narrow.estimate + 1e6, rtol=1e-15)
    np.testing.assert_allclose((wide.upper - wide.estimate)[1:], (narrow.upper - narrow.estimate)[1:], rtol=1e-7)
    # The textbook running formula, (Σx² − (Σx)²/t)/(t − 1), keeps about three digits here: the test has teeth.
    t = np.arange(2, 5001)
    textbook = (np.cumsum(far * far)[1:] - np.cumsum(far)[1:] ** 2 / t) / (t - 1)
    exact = np.array([statistics.variance(near[:k]) for k in (100, 1000, 5000)])
    assert np.max(np.abs(textbook[[98, 998, 4998]] / exact - 1)) > 1e-3
    # Split mode: the difference of two means near 1e6 keeps every digit of the small difference.
    treated = rng.random(5000) < 0.5
    wide, narrow = two_sample_confidence_sequence(far, treated), two_sample_confidence_sequence(near, treated)
    np.testing.assert_allclose(wide.estimate[2:], narrow.estimate[2:], rtol=1e-14)
    np.testing.assert_allclose((wide.upper - wide.estimate)[wide.defined],
                               (narrow.upper - narrow.estimate)[narrow.defined], rtol=1e-7)


# ---- time-uniform coverage by simulation

SIMS, ROWS, FIRST_LOOK, ALPHA = 1000, 4000, 100, 0.05


def _naive_misses(x, truth):
    """Whether the fixed-sample 95% t-interval, re-checked at every row from FIRST_LOOK on, ever misses."""
    t = np.arange(1, x.shape[1] + 1)
    shifted = x - x[:, :1]
    s1, s2 = np.cumsum(shifted, axis=1), np.cumsum(shifted * shifted, axis=1)
    mean = x[:, :1] + s1 / t
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.maximum(s2 - s1 * s1 / t, 0) / (t - 1))
    half = stats.t.ppf(1 - ALPHA / 2, np.maximum(t - 1, 1)) * sd / np.sqrt(t)
    return (np.abs(mean - truth) > half)[:, FIRST_LOOK - 1:].any(axis=1)


SKEWED = {
    "exponential": (lambda r: r.exponential(1.0, (SIMS, ROWS)), 1.0),
    "accuracy-like {-1, 0, 1}": (lambda r: r.choice([-1.0, 0.0, 1.0], p=[0.08, 0.87, 0.05], size=(SIMS, ROWS)), -0.03),
}


@pytest.mark.parametrize("case", SKEWED)
def test_covers_at_every_row_at_once_where_peeking_does_not(case):
    make, truth = SKEWED[case]
    x = make(np.random.default_rng(2024))
    se = math.sqrt(ALPHA * (1 - ALPHA) / SIMS)
    looks = slice(FIRST_LOOK - 1, None)
    missed = np.array([
        np.any((cs.lower[looks] > truth) | (cs.upper[looks] < truth))
        for cs in (confidence_sequence(row, alpha=ALPHA) for row in x)
    ])
    assert missed.mean() <= ALPHA + 3 * se
    # The check the test can fail on: the naive interval, peeked at every row, misses far more often.
    assert _naive_misses(x, truth).mean() > 2 * ALPHA
    # The judge's use: one side of the sequence at level 1 − 2·ALPHA errs at most ALPHA of the time.
    sides = np.array([
        (np.any(cs.lower[looks] > truth), np.any(cs.upper[looks] < truth))
        for cs in (confidence_sequence(row, alpha=2 * ALPHA) for row in x)
    ])
    assert np.all(sides.mean(axis=0) <= ALPHA + 3 * se)


def test_two_sample_covers_at_every_row_at_once():
    rng = np.random.default_rng(2025)
    x = rng.exponential(1.0, (SIMS, ROWS))
    treated = rng.random((SIMS, ROWS)) < 0.5
    x = x + 0.2 * treated
    missed = np.array([
        np.any((cs.lower[FIRST_LOOK - 1:] > 0.2) | (cs.upper[FIRST_LOOK - 1:] < 0.2))
        for cs in (two_sample_confidence_sequence(row, arm, alpha=ALPHA) for row, arm in zip(x, treated))
    ])
    assert missed.mean() <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / SIMS)


# ---- shape of the sequence


def test_the_width_shrinks_towards_zero_and_stays_wider_than_a_fixed_interval():
    x = np.random.default_rng(5).normal(0.3, 1.0, 100_000)
    cs = confidence_sequence(x, alpha=0.10)
    width = cs.upper - cs.lower
    assert width[999] < width[99] / 2 and width[99_999] < width[999] / 5 and width[99_999] < 0.05
    # The price of looking at every row: wider than the fixed-n z-interval at the same level, at every row.
    t = cs.rows[1:]
    sd = np.sqrt(np.maximum(np.cumsum(x * x)[1:] - np.cumsum(x)[1:] ** 2 / t, 0) / (t - 1))
    fixed = stats.norm.ppf(1 - 0.10 / 2) * sd / np.sqrt(t)
    assert np.all((cs.upper - cs.estimate)[1:] > fixed)


def test_bounds_are_infinite_until_defined():
    cs = confidence_sequence([0.4])
    assert cs.lower.tolist() == [-np.inf] and cs.upper.tolist() == [np.inf] and cs.estimate.tolist() == [0.4]
    assert not cs.defined.any()
    cs = two_sample_confidence_sequence([1.0, 2.0, 3.0, 4.0, 5.0, 9.0], [True, True, True, False, False, True])
    assert np.isnan(cs.estimate[:3]).all() and cs.estimate[3] == 2.0 - 4.0
    assert cs.defined.tolist() == [False, False, False, False, True, True]
    assert np.all(cs.lower[:4] == -np.inf) and np.all(cs.upper[:4] == np.inf)


def test_an_arm_with_no_rows_leaves_everything_undefined():
    cs = two_sample_confidence_sequence(np.arange(10.0), np.ones(10, dtype=bool))
    assert np.isnan(cs.estimate).all() and not cs.defined.any()


def test_no_rows_give_an_empty_sequence():
    cs = confidence_sequence([])
    assert cs.rows.shape == cs.estimate.shape == cs.lower.shape == cs.upper.shape == (0,)
    assert two_sample_confidence_sequence([], []).rows.shape == (0,)


def test_identical_models_give_a_point_at_zero():
    cs = confidence_sequence(np.zeros(1000))
    assert np.all(cs.lower[1:] == 0.0) and np.all(cs.upper[1:] == 0.0) and np.all(cs.estimate == 0.0)
    # Split mode: both arms score every row the same (0.1 is not exact in binary; still exactly 0).
    treated = np.random.default_rng(1).random(1000) < 0.5
    cs = two_sample_confidence_sequence(np.full(1000, 0.1), treated)
    defined = cs.defined
    assert defined[-1] and np.all(cs.lower[defined] == 0.0) and np.all(cs.upper[defined] == 0.0)


def test_the_result_is_frozen():
    cs = confidence_sequence([1.0, 2.0])
    with pytest.raises(AttributeError):
        cs.alpha = 0.1


# ---- bad inputs, one row per message

BAD = [
    (dict(x=[1.0, np.nan]), "x must be finite; got 1 non-finite value\\(s\\), the first at index 1"),
    (dict(x=[np.inf, 1.0, -np.inf]), "x must be finite; got 2 non-finite value\\(s\\), the first at index 0"),
    (dict(x=[[1.0, 2.0]]), "x must be one-dimensional; got shape \\(1, 2\\)"),
    (dict(x=["a", "b"]), "x must be numeric"),
    (dict(alpha=0.0), "alpha must be a number in \\(0, 1\\); got 0.0"),
    (dict(alpha=1), "alpha must be a number in \\(0, 1\\); got 1"),
    (dict(alpha=-0.05), "alpha must be a number in \\(0, 1\\); got -0.05"),
    (dict(alpha=True), "alpha must be a number in \\(0, 1\\); got True"),
    (dict(alpha="0.05"), "alpha must be a number in \\(0, 1\\); got '0.05'"),
    (dict(alpha=np.nan), "alpha must be a number in \\(0, 1\\); got nan"),
    (dict(tuning_rows=0), "tuning_rows must be a positive integer; got 0"),
    (dict(tuning_rows=2.5), "tuning_rows must be a positive integer; got 2.5"),
    (dict(tuning_rows=True), "tuning_rows must be a positive integer; got True"),
]


@pytest.mark.parametrize("kwargs,message", BAD)
def test_bad_inputs_name_the_problem(kwargs, message):
    kwargs = {"x": [0.1, 0.2, 0.3], **kwargs}
    x = kwargs.pop("x")
    with pytest.raises(ValueError, match=message):
        confidence_sequence(x, **kwargs)
    with pytest.raises(ValueError, match=message):  # x is checked before its length is compared
        two_sample_confidence_sequence(x, [True, False, True], **kwargs)


@pytest.mark.parametrize("treated,message", [
    ([True, False], "arrays must have the same length; got x=3, treated=2"),
    ([0, 1, 2], "treated must be bool or 0/1; got values \\[0, 1, 2\\]"),
    (["a", "b", "c"], "treated must be bool or 0/1; got dtype <U1"),
])
def test_bad_arms_name_the_problem(treated, message):
    with pytest.raises(ValueError, match=message):
        two_sample_confidence_sequence([0.1, 0.2, 0.3], treated)
