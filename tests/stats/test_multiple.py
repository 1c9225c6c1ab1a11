import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from mlgate.gates.stats import holm


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.sampled_from([0.01, 0.05, 0.1]))
def test_matches_statsmodels(pvalues, alpha):
    ours = holm(pvalues, alpha=alpha)
    reject, adjusted, _, _ = multipletests(pvalues, alpha=alpha, method="holm")
    np.testing.assert_allclose(ours.pvalues, adjusted, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(ours.reject, reject)


def test_adjusted_values_are_monotone_and_capped(rng):
    p = rng.random(50) ** 3
    res = holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(res.pvalues[order]) >= 0)
    assert res.pvalues.max() <= 1.0 and np.all(res.pvalues >= p)


def test_ties_and_empty():
    res = holm([0.01, 0.01, 0.04])
    np.testing.assert_allclose(res.pvalues, [0.03, 0.03, 0.04])
    assert res.reject.tolist() == [True, True, True]
    assert holm([]).pvalues.size == 0


def test_validation_messages():
    with pytest.raises(ValueError, match=r"pvalues must lie in \[0, 1\]; got 1.5"):
        holm([0.1, 1.5])
    with pytest.raises(ValueError, match=r"pvalues must lie in \[0, 1\]; got nan"):
        holm([np.nan])
    with pytest.raises(ValueError, match=r"alpha must be a number in \(0, 1\); got 0"):
        holm([0.1], alpha=0)
    with pytest.raises(ValueError, match=r"pvalues must be one-dimensional; got shape \(1, 2\)"):
        holm([[0.1, 0.2]])
