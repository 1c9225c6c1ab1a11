"""One model pass instead of two: labels from predict_proba's argmax must equal predict exactly.

Real scikit-learn models on scikit-learn's bundled datasets and generated data; boundary rows
(ties, rounding to 0.5) are constructed by setting fitted parameters so that argmax and predict
disagree, and the scorer must give predict's answer there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
)
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
)

from gates.data import Holdout
from gates.errors import ModelError
from gates.models import Model, predicts_by_argmax, score_model

TARGET = "label"


# ----------------------------------------------------------------------------- helpers


def _frame(X, y, prefix="f") -> pd.DataFrame:
    frame = pd.DataFrame(np.asarray(X, dtype=float), columns=[f"{prefix}{i}" for i in range(np.shape(X)[1])])
    frame[TARGET] = y
    return frame


def _score(est, frame: pd.DataFrame, *, want_proba=True, labels="classes"):
    holdout = Holdout(frame=frame, source="holdout.csv", sha256="", target=TARGET, task="classification")
    model = Model(role="candidate", source="model.skops", sha256="", estimator=est)
    if labels == "classes":
        labels = tuple(est.classes_)
    return score_model(model, holdout, labels=labels, positive_label=None, id_column=None,
                       exclude={TARGET}, want_proba=want_proba)


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[TARGET])


def _assert_same_as_two_calls(est, frame: pd.DataFrame):
    X = _features(frame)
    expected = est.predict(X)
    scores = _score(est, frame)
    assert scores.predicted.dtype == expected.dtype
    assert np.array_equal(scores.predicted, expected)
    assert np.array_equal(scores.proba, np.asarray(est.predict_proba(X), dtype=float))


class _Counting:
    """Count calls (and rows) of a bound method, set as an instance attribute.

    The instance keeps its exact type, so the allowlist still applies; the instance attribute
    shadows the class's method, so every call the scorer makes is seen.
    """

    def __init__(self, method):
        self.method = method
        self.rows: list[int] = []

    def __call__(self, X, *args, **kwargs):
        self.rows.append(len(X))
        return self.method(X, *args, **kwargs)


def _count_calls(monkeypatch, est):
    predict, proba = _Counting(est.predict), _Counting(est.predict_proba)
    monkeypatch.setattr(est, "predict", predict, raising=False)
    monkeypatch.setattr(est, "predict_proba", proba, raising=False)
    return predict, proba


# ----------------------------------------------------------------------------- data


def _bundled(loader):
    data = loader()
    return _frame(data.data, data.target)


def _generated_binary_strings():
    X, y = make_classification(n_samples=600, n_features=8, n_informative=5, random_state=3)
    return _frame(X, np.where(y == 1, "spam", "ham"))


def _generated_multiclass():
    X, y = make_classification(n_samples=900, n_features=10, n_informative=6, n_classes=4,
                               n_clusters_per_class=1, random_state=7)
    return _frame(X, y + 10)  # labels 10..13: classes_ are not 0..K-1


DATASETS = {
    "cancer": lambda: _bundled(load_breast_cancer),
    "iris": lambda: _bundled(load_iris),
    "wine": lambda: _bundled(load_wine),
    "digits": lambda: _bundled(load_digits),
    "generated_binary_str": _generated_binary_strings,
    "generated_4class": _generated_multiclass,
}

ESTIMATORS = {
    "logistic": lambda: LogisticRegression(max_iter=500),
    "logistic_cv": lambda: LogisticRegressionCV(Cs=3, cv=3, max_iter=300, l1_ratios=(0.0,),
                                                scoring="neg_log_loss", use_legacy_attributes=False),
    "random_forest": lambda: RandomForestClassifier(n_estimators=25, random_state=0),
    "extra_trees": lambda: ExtraTreesClassifier(n_estimators=25, random_state=0),
    "decision_tree": lambda: DecisionTreeClassifier(max_depth=4, random_state=0),
    "extra_tree": lambda: ExtraTreeClassifier(max_depth=6, random_state=0),
    "hist_gb": lambda: HistGradientBoostingClassifier(max_iter=15, random_state=0),
    "gb": lambda: GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0),
    "gaussian_nb": lambda: GaussianNB(),
}


def _split(frame, seed=0):
    rng = np.random.default_rng(seed)
    test = rng.random(len(frame)) < 0.4
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


@pytest.fixture(scope="module", params=sorted(DATASETS))
def dataset(request):
    return request.param, _split(DATASETS[request.param]())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("pipeline", [False, True], ids=["bare", "pipeline"])
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_single_pass_labels_equal_predict(name, pipeline, dataset, monkeypatch):
    _, (train, test) = dataset
    est = ESTIMATORS[name]()
    if pipeline:
        est = make_pipeline(StandardScaler(), est)
    est.fit(_features(train), train[TARGET])
    assert predicts_by_argmax(est)
    _assert_same_as_two_calls(est, test)

    predict, proba = _count_calls(monkeypatch, est)
    _score(est, test)
    # One pass over every row; any other call (predict on tied rows, which for a forest calls
    # predict_proba in turn) sees only a few rows.
    assert proba.rows[0] == len(test)
    assert all(rows < len(test) / 2 for rows in predict.rows + proba.rows[1:])


def test_binary_exponential_gradient_boosting(monkeypatch):
    train, test = _split(_bundled(load_breast_cancer))
    est = GradientBoostingClassifier(loss="exponential", n_estimators=10, random_state=0)
    est.fit(_features(train), train[TARGET])
    assert predicts_by_argmax(est)
    _assert_same_as_two_calls(est, test)


def test_labels_order_differs_from_classes():
    """The comparison's label order need not be classes_: proba is realigned, labels unchanged."""
    train, test = _split(_bundled(load_iris))
    est = RandomForestClassifier(n_estimators=10, random_state=0).fit(_features(train), train[TARGET])
    X = _features(test)
    scores = _score(est, test, labels=(2, 0, 1))
    assert np.array_equal(scores.predicted, est.predict(X))
    assert np.array_equal(scores.proba, est.predict_proba(X)[:, [2, 0, 1]])


def test_pipeline_with_metadata_routing_enabled():
    train, test = _split(_bundled(load_wine))
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    with sklearn.config_context(enable_metadata_routing=True):
        est.fit(_features(train), train[TARGET])
        _assert_same_as_two_calls(est, test)


# ----------------------------------------------------------------------------- boundary rows


def _logistic_with(coef, intercept, classes):
    """A fitted LogisticRegression whose parameters are then set by hand."""
    k = len(classes)
    X = np.tile(np.eye(2), (k, 1))
    y = np.repeat(np.asarray(classes), 2)
    est = LogisticRegression().fit(pd.DataFrame(X, columns=["a", "b"]), y)
    est.coef_ = np.asarray(coef, dtype=float)
    est.intercept_ = np.asarray(intercept, dtype=float)
    return est


def test_logistic_decision_rounding_to_one_half_follows_predict(monkeypatch):
    est = _logistic_with([[1.0, 0.0]], [0.0], [0, 1])
    a = [0.0, 1e-20, -1e-20, 5e-324, 1e-12, -1e-12, 3.0, -3.0] + list(np.linspace(-4, 4, 40))
    frame = pd.DataFrame({"a": a, "b": 0.0, TARGET: 0})
    X = _features(frame)
    expected = est.predict(X)
    naive = est.classes_[np.argmax(est.predict_proba(X), axis=1)]
    assert not np.array_equal(naive, expected)  # expit(1e-20) == 0.5: argmax says 0, predict says 1

    predict, proba = _count_calls(monkeypatch, est)
    scores = _score(est, frame)
    assert np.array_equal(scores.predicted, expected) and scores.predicted.dtype == expected.dtype
    assert proba.rows == [len(frame)]
    assert predict.rows == [6]  # only the rows with |p1 - p0| <= 1e-9 are asked again


def test_logistic_multiclass_near_ties_follow_predict():
    # Classes 1 and 2 have decisions 1e6 * a and (1e6 + 1 ulp-ish) * a: softmax can round them level.
    est = _logistic_with([[0.0, 1.0], [1e6, 0.0], [1e6 * (1 + 2e-16), 0.0]], [0.0, 0.0, 0.0], ["x", "y", "z"])
    frame = pd.DataFrame({"a": [1.0, -1.0, 0.0, 1e-300, 2.0, 1e-9], "b": [0.0, 0.0, 0.0, 0.0, 1e7, 0.0], TARGET: "x"})
    expected = est.predict(_features(frame))
    scores = _score(est, frame)
    assert scores.predicted.dtype == expected.dtype
    assert np.array_equal(scores.predicted, expected)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_probabilities_follow_predict():
    """An infinite coefficient: decisions inf or NaN, softmax all NaN, argmax says "x", predict "z"."""
    est = _logistic_with([[0.0, 1.0], [1.0, 0.0], [np.inf, 0.0]], [0.0, 0.0, 0.0], ["x", "y", "z"])
    frame = pd.DataFrame({"a": [0.0, 1.0, -1.0, -2.0], "b": [0.5, 0.0, 0.0, 1.0], TARGET: "x"})
    X = _features(frame)
    expected = est.predict(X)
    assert list(expected) == ["z", "z", "x", "x"]
    assert np.isnan(est.predict_proba(X)[:2]).all()
    scores = _score(est, frame)
    assert np.array_equal(scores.predicted, expected) and scores.predicted.dtype == expected.dtype


def _zero_leaf_gradient_boosting():
    """Binary GradientBoosting whose stump has one leaf at raw score exactly 0.

    GradientBoosting's binary predict is ``raw >= 0``: class 1 there, while argmax of the
    probabilities [0.5, 0.5] gives class 0.
    """
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    est = GradientBoostingClassifier(n_estimators=1, max_depth=1, init="zero", random_state=0)
    est.fit(X, np.where(X["a"] > 0, "pos", "neg"))
    tree = est.estimators_[0, 0].tree_
    left = tree.children_left[0]
    tree.value[left] = 0.0  # the leaf for a <= threshold now scores exactly 0
    return est, tree.threshold[0], tree.feature[0]


@pytest.mark.parametrize("share", ["few", "all"])
def test_gradient_boosting_raw_zero_follows_predict(share, monkeypatch):
    est, threshold, feature = _zero_leaf_gradient_boosting()
    column = ["a", "b"][feature]
    rng = np.random.default_rng(1)
    values = threshold + (rng.uniform(0.1, 3, 60) if share == "few" else -rng.uniform(0.1, 3, 60))
    if share == "few":
        values[:5] = threshold - 1.0  # five rows in the zero leaf
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), TARGET: "neg"})
    frame[column] = values
    X = _features(frame)
    expected = est.predict(X)
    naive = est.classes_[np.argmax(est.predict_proba(X), axis=1)]
    assert not np.array_equal(naive, expected)

    predict, proba = _count_calls(monkeypatch, est)
    scores = _score(est, frame)
    assert np.array_equal(scores.predicted, expected) and scores.predicted.dtype == expected.dtype
    assert proba.rows == [60]
    assert predict.rows == ([5] if share == "few" else [60])  # mostly ties: one plain predict


def test_decision_tree_half_half_leaf_follows_predict():
    X = pd.DataFrame({"a": [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 2.0]})
    y = np.array(["b", "a", "b", "b", "a", "a", "b"])  # leaf a=0 is exactly 0.5 / 0.5
    est = DecisionTreeClassifier(random_state=0).fit(X, y)
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 0.0, 0.1], TARGET: "a"})
    proba = est.predict_proba(_features(frame))
    assert proba[0, 0] == proba[0, 1] == 0.5
    _assert_same_as_two_calls(est, frame)


def test_random_forest_with_tied_votes_follows_predict():
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    frame = _frame(X, np.where(y == 1, "b", "a"))
    est = RandomForestClassifier(n_estimators=2, random_state=0).fit(_features(frame), frame[TARGET])
    est.estimators_[0].tree_.value[:, 0, :] = [1.0, 0.0]  # tree 0 always says "a": tree 1's "b" ties
    proba = est.predict_proba(_features(frame))
    assert (proba[:, 0] == proba[:, 1]).sum() > 10
    _assert_same_as_two_calls(est, frame)


# ----------------------------------------------------------------------------- who qualifies


class ThresholdLogistic(LogisticRegression):
    """A subclass that overrides predict: class 1 only at probability >= 0.7."""

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.7).astype(int)]


class PlainSubclass(LogisticRegression):
    """A subclass that overrides nothing (still not taken: the type is not on the list)."""


class MyPipeline(Pipeline):
    pass


def test_subclass_overriding_predict_keeps_its_own_predict(monkeypatch):
    train, test = _split(_bundled(load_breast_cancer))
    est = make_pipeline(StandardScaler(), ThresholdLogistic(max_iter=5000)).fit(_features(train), train[TARGET])
    X = _features(test)
    assert not predicts_by_argmax(est) and not predicts_by_argmax(est[-1])
    expected = est.predict(X)
    argmax = est.classes_[np.argmax(est.predict_proba(X), axis=1)]
    assert not np.array_equal(argmax, expected)  # the threshold changes some labels
    predict, proba = _count_calls(monkeypatch, est)
    scores = _score(est, test)
    assert np.array_equal(scores.predicted, expected)
    assert predict.rows == [len(test)] and proba.rows == [len(test)]  # the two-call path


@pytest.mark.parametrize("make", [
    LogisticRegression, LogisticRegressionCV, RandomForestClassifier, ExtraTreesClassifier,
    DecisionTreeClassifier, ExtraTreeClassifier, GaussianNB,
])
def test_allowlisted_types(make):
    assert predicts_by_argmax(make())
    assert predicts_by_argmax(make_pipeline(StandardScaler(), make()))
    assert predicts_by_argmax(Pipeline([("inner", make_pipeline(StandardScaler(), make()))]))
    assert not predicts_by_argmax(MyPipeline([("scale", StandardScaler()), ("model", make())]))


def test_boosting_qualifies_by_its_fitted_loss():
    X, y = load_breast_cancer(return_X_y=True)
    for est in (HistGradientBoostingClassifier(max_iter=3), GradientBoostingClassifier(n_estimators=3)):
        assert not predicts_by_argmax(est)  # unfitted: no loss to check
        assert predicts_by_argmax(est.fit(X, y))
    assert predicts_by_argmax(GradientBoostingClassifier(n_estimators=3, loss="exponential").fit(X, y))


@pytest.mark.parametrize("est", [
    SVC(probability=True),
    CalibratedClassifierCV(LogisticRegression()),
    FixedThresholdClassifier(LogisticRegression(), threshold=0.7),
    KNeighborsClassifier(),
    ThresholdLogistic(),
    PlainSubclass(),
    LinearRegression(),
    DecisionTreeRegressor(),
    make_pipeline(StandardScaler(), SVC(probability=True)),
    Pipeline([("scale", StandardScaler()), ("model", "passthrough")]),
    object(),
], ids=lambda e: type(e).__name__)
def test_not_allowlisted(est):
    assert not predicts_by_argmax(est)


def test_tuned_threshold_classifier_is_not_allowlisted():
    from sklearn.model_selection import TunedThresholdClassifierCV

    assert not predicts_by_argmax(TunedThresholdClassifierCV(LogisticRegression()))


# ----------------------------------------------------------------------------- unchanged paths


def test_other_models_keep_two_calls(monkeypatch):
    train, test = _split(_bundled(load_iris))
    est = KNeighborsClassifier().fit(_features(train), train[TARGET])
    expected = est.predict(_features(test))
    predict, proba = _count_calls(monkeypatch, est)
    scores = _score(est, test)
    assert predict.rows == [len(test)] and proba.rows == [len(test)]
    assert np.array_equal(scores.predicted, expected)


def test_without_proba_only_predict_runs(monkeypatch):
    train, test = _split(_bundled(load_iris))
    est = LogisticRegression(max_iter=5000).fit(_features(train), train[TARGET])
    predict, proba = _count_calls(monkeypatch, est)
    scores = _score(est, test, want_proba=False)
    assert scores.proba is None and predict.rows == [len(test)] and proba.rows == []
    scores = _score(est, test, labels=None)  # regression-style scoring: values, predict only
    assert scores.proba is None and proba.rows == []


def test_failures_are_still_model_errors():
    train, test = _split(_bundled(load_breast_cancer))
    est = LogisticRegression(max_iter=5000).fit(_features(train), train[TARGET])
    test = test.copy()
    test.loc[3, test.columns[0]] = np.nan
    with pytest.raises(ModelError, match=r"model\.skops: the candidate model failed to predict on holdout\.csv \(ValueError"):
        _score(est, test)
