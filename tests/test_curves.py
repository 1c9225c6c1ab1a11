"""The drawn ROC curve: exact below EXACT_ROWS, binned above it, and the two agree."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mlgate.gates.curves import EXACT_ROWS, roc_curve


@pytest.mark.parametrize("n", [5_000, EXACT_ROWS + 1])
def test_roc_curve_matches_scikit_learn_on_both_paths(n):
    rng = np.random.default_rng(n)
    y = rng.random(n) < 0.3
    score = np.clip(rng.normal(0.5 + 0.2 * y, 0.2), 0, 1).round(4)  # ties on purpose
    curve = roc_curve(y, score)
    assert curve.auc == pytest.approx(roc_auc_score(y, score), abs=1e-6)
    assert (curve.fpr[0], curve.tpr[0], curve.fpr[-1], curve.tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert len(curve.fpr) <= 50
    assert all(np.diff(curve.fpr) >= 0) and all(np.diff(curve.tpr) >= 0)


def test_binned_curve_of_constant_scores_is_the_diagonal():
    y = np.r_[np.ones(EXACT_ROWS, bool), np.zeros(10, bool)]
    curve = roc_curve(y, np.full(len(y), 0.7))
    assert curve.fpr == (0.0, 1.0) and curve.tpr == (0.0, 1.0) and curve.auc == pytest.approx(0.5)
