import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from mlgate.gates.stats import JointCells, confusion_metric

SKLEARN_PRF = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}


def random_case(seed, k):
    """Small, skewed samples so that zero divisions and absent classes happen often."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    y = rng.choice(k, size=n, p=rng.dirichlet(np.ones(k) * 0.7))
    pred = rng.choice(k, size=n, p=rng.dirichlet(np.ones(k) * 0.7))
    cm = JointCells.from_arrays(y, pred, pred, labels=range(k)).confusion("candidate")
    return y, pred, cm


def sklearn_value(metric, average, y, pred, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if metric == "accuracy":
            return skm.accuracy_score(y, pred)
        if metric == "balanced_accuracy":
            return skm.balanced_accuracy_score(y, pred)
        if metric == "mcc":
            return skm.matthews_corrcoef(y, pred)
        kwargs = {"average": average, "zero_division": np.nan}
        if average == "binary":
            kwargs["pos_label"] = 1
        else:
            kwargs["labels"] = sorted(set(y) | set(pred))
        return SKLEARN_PRF[metric](y, pred, **kwargs)


CASES = [("accuracy", "binary"), ("balanced_accuracy", "binary"), ("mcc", "binary")] + [
    (m, a) for m in SKLEARN_PRF for a in ("binary", "macro", "micro", "weighted")
]


@pytest.mark.parametrize(
    "metric,average,k",
    [(m, a, k) for m, a in CASES for k in (2, 3) if not (a == "binary" and m in SKLEARN_PRF and k == 3)],
)
def test_matches_scikit_learn(metric, average, k):
    checked = 0
    for seed in range(60):
        y, pred, cm = random_case(seed, k)
        if average == "binary" and metric in SKLEARN_PRF and len(set(y) | set(pred)) < 2:
            continue
        ours = confusion_metric(cm, metric, pos_index=1, average=average)
        theirs = sklearn_value(metric, average, y, pred, k)
        if metric == "mcc" and np.isnan(ours):
            # scikit-learn reports 0.0 where the denominator is zero; we report undefined
            assert theirs == 0.0
            t, p = cm.sum(axis=1), cm.sum(axis=0)
            assert (t.max() == t.sum()) or (p.max() == p.sum())
            continue
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True)
        checked += 1
    assert checked > 30


def test_vectorised_over_leading_axes(rng):
    cms = rng.integers(0, 20, size=(4, 5, 3, 3))
    cms[0, 0] = 0  # an empty matrix: everything undefined
    for metric, average in CASES:
        if average == "binary" and metric in ("precision", "recall", "f1"):
            continue
        stacked = confusion_metric(cms, metric, average=average)
        assert stacked.shape == (4, 5)
        loop = np.array([[confusion_metric(cms[i, j], metric, average=average) for j in range(5)] for i in range(4)])
        np.testing.assert_array_equal(stacked, loop)
        assert np.isnan(stacked[0, 0])


def test_undefined_is_nan_not_zero():
    # the model never predicts the positive class: precision is 0/0
    cm = np.array([[5, 0], [3, 0]])
    assert np.isnan(confusion_metric(cm, "precision", pos_index=1))
    assert confusion_metric(cm, "recall", pos_index=1) == 0.0
    assert confusion_metric(cm, "f1", pos_index=1) == 0.0
    assert np.isnan(confusion_metric(cm, "mcc"))  # scikit-learn says 0.0
    assert np.isnan(confusion_metric(np.zeros((2, 2)), "accuracy"))


def test_validation_messages():
    cm = np.eye(3)
    with pytest.raises(ValueError, match=r"metric must be one of .*; got 'auc'"):
        confusion_metric(cm, "auc")
    with pytest.raises(ValueError, match=r"average must be one of .*; got 'samples'"):
        confusion_metric(cm, "f1", average="samples")
    with pytest.raises(ValueError, match=r"average='binary' needs at most 2 labels; got K=3"):
        confusion_metric(cm, "f1", pos_index=0)
    with pytest.raises(ValueError, match=r"pos_index must index one of the 2 labels; got None"):
        confusion_metric(np.eye(2), "recall")
    with pytest.raises(ValueError, match=r"cm must have shape \(\.\.\., K, K\); got \(2, 3\)"):
        confusion_metric(np.ones((2, 3)), "accuracy")
