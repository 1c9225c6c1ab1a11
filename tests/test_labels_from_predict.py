"""Labels come from the model's own ``predict``, and probabilities are checked before use.

The gate must measure the model that will serve. An earlier shortcut took labels from
``predict_proba``'s argmax for "known" classifier types; that trusts the artifact's internals,
and a tampered but loadable model made the two disagree on every row (the attack below).
Real scikit-learn models on bundled and generated data; boundary models are built by setting
fitted parameters by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn._loss.link import IdentityLink
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.tree import DecisionTreeClassifier

from mlgate.gates.holdout.read import Holdout
from mlgate.gates.errors import DataError, ModelError
from mlgate.gates.models.load import Model
from mlgate.gates.models.score import check_probabilities, score_model

TARGET = "label"


def _frame(X, y) -> pd.DataFrame:
    frame = pd.DataFrame(np.asarray(X, dtype=float), columns=[f"f{i}" for i in range(np.shape(X)[1])])
    frame[TARGET] = y
    return frame


def _split(frame, seed=0):
    test = np.random.default_rng(seed).random(len(frame)) < 0.4
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def _features(frame):
    return frame.drop(columns=[TARGET])


def _score(est, frame, *, labels="classes", want_proba=True):
    holdout = Holdout(frame=frame, source="holdout.csv", sha256="", target=TARGET, task="classification")
    model = Model(role="candidate", source="model.skops", sha256="", estimator=est)
    return score_model(model, holdout, labels=tuple(est.classes_) if labels == "classes" else labels,
                       positive_label=None, id_column=None, exclude={TARGET}, want_proba=want_proba)


def _cancer():
    data = load_breast_cancer()
    return _split(_frame(data.data, data.target))


def _tampered_hist_gb():
    """The attack: a HistGradientBoosting model whose predict says "positive" on every row while
    the argmax of its (valid) probabilities is as accurate as the honest model.

    Every leaf value is scaled by s and the baseline moved so raw' = s·raw + 0.5 lies in (0, 1);
    the loss's link becomes the identity, so predict_proba = [1 − raw', raw'] (valid
    probabilities whose argmax is raw > 0, the honest decision) while predict is raw' > 0: always.
    """
    train, test = _cancer()
    est = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(_features(train), train[TARGET])
    honest = est.predict(_features(test))
    raw = est._raw_predict(_features(test)).ravel()
    s = 0.45 / max(np.abs(raw).max(), np.abs(est._raw_predict(_features(train))).max())
    for predictors in est._predictors:
        for predictor in predictors:
            predictor.nodes["value"] *= s
    est._baseline_prediction = est._baseline_prediction * s + 0.5
    est._loss.link = IdentityLink()
    return est, test, honest


def test_tampered_model_is_measured_by_its_predict():
    est, test, honest = _tampered_hist_gb()
    X, y = _features(test), test[TARGET].to_numpy()
    assert (est.predict(X) == 1).all()  # what would serve: every row positive
    argmax = est.classes_[np.argmax(est.predict_proba(X), axis=1)]
    assert np.array_equal(argmax, honest) and (argmax == y).mean() > 0.9  # what a shortcut would have measured
    scores = _score(est, test)
    assert np.array_equal(scores.predicted, est.predict(X))
    assert (scores.predicted == y).mean() == pytest.approx((y == 1).mean())


def test_tampered_model_end_to_end_is_blocked(tmp_path, run_cli, cancer):
    """Through the CLI: the tampered candidate's accuracy is predict's, and the gate blocks."""
    import json

    import skops.io as sio

    from workspaces import Workspace

    train, holdout = cancer
    columns = [c for c in train.columns if c not in ("label", "size")]
    est = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(train[columns], train["label"])
    s = 0.45 / max(np.abs(est._raw_predict(frame[columns])).max() for frame in (train, holdout))
    for predictors in est._predictors:
        for predictor in predictors:
            predictor.nodes["value"] *= s
    est._baseline_prediction = est._baseline_prediction * s + 0.5
    est._loss.link = IdentityLink()
    ws = Workspace(tmp_path)
    ws.table("data/holdout.csv", holdout)
    path = ws.model("build/model.skops", est)
    trusted = sorted(sio.get_untrusted_types(file=path))
    ws.policy(f"""\
        version: 1
        data: {{holdout: data/holdout.csv, target: label}}
        candidate: {{path: build/model.skops}}
        production: {{path: build/model.skops}}
        gates: [{{metric: accuracy, rule: min, threshold: 0.9}}, {{metric: roc_auc, rule: min, threshold: 0.5}}]
        security: {{trusted_types: {json.dumps(trusted)}}}
        """)
    run = run_cli("evaluate", "--workspace", ws.root, "--out", tmp_path / "out", "--production", "none", "--json")
    assert run.code == 1, run.err
    result = json.loads(run.out)
    assert result["gates"][0]["candidate"] == pytest.approx((holdout["label"] == 1).mean())
    assert result["gates"][0]["passed"] is False


# ----------------------------------------------------------------------------- labels equal predict


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", [
    lambda: LogisticRegression(max_iter=500),
    lambda: RandomForestClassifier(n_estimators=10, random_state=0),
    lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
    lambda: FixedThresholdClassifier(LogisticRegression(max_iter=500), threshold=0.8),
], ids=["logistic", "forest", "hist_gb", "fixed_threshold"])
def test_labels_and_probabilities_are_the_models_own(make):
    X, y = make_classification(n_samples=600, n_features=6, n_informative=4, random_state=3)
    train, test = _split(_frame(X, np.where(y == 1, "spam", "ham")))
    est = make().fit(_features(train), train[TARGET])
    scores = _score(est, test)
    expected = est.predict(_features(test))
    assert scores.predicted.dtype == expected.dtype and np.array_equal(scores.predicted, expected)
    assert np.array_equal(scores.proba, est.predict_proba(_features(test)))


def test_threshold_classifier_labels_differ_from_argmax():
    train, test = _cancer()
    est = FixedThresholdClassifier(LogisticRegression(max_iter=5000), threshold=0.9).fit(_features(train), train[TARGET])
    X = _features(test)
    argmax = est.classes_[np.argmax(est.predict_proba(X), axis=1)]
    assert not np.array_equal(argmax, est.predict(X))
    assert np.array_equal(_score(est, test).predicted, est.predict(X))


def test_gradient_boosting_raw_zero_and_half_half_leaves_follow_predict():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    est = GradientBoostingClassifier(n_estimators=1, max_depth=1, init="zero", random_state=0)
    est.fit(X, np.where(X["a"] > 0, "pos", "neg"))
    tree = est.estimators_[0, 0].tree_
    tree.value[tree.children_left[0]] = 0.0  # raw score exactly 0: predict says "pos", argmax "neg"
    frame = X.assign(**{TARGET: "neg"})
    frame.loc[:4, ["a", "b"][tree.feature[0]]] = tree.threshold[0] - 1.0
    assert np.array_equal(_score(est, frame).predicted, est.predict(X))

    tree_model = DecisionTreeClassifier(random_state=0).fit(pd.DataFrame({"a": [0.0, 0.0, 1.0]}), ["b", "a", "b"])
    frame = pd.DataFrame({"a": [0.0, 1.0], TARGET: "a"})
    assert np.array_equal(_score(tree_model, frame).predicted, tree_model.predict(frame[["a"]]))


def test_without_probabilities_only_predict_is_needed():
    data = load_iris()
    train, test = _split(_frame(data.data, data.target))
    est = LogisticRegression(max_iter=5000).fit(_features(train), train[TARGET])
    scores = _score(est, test, want_proba=False)
    assert scores.proba is None and np.array_equal(scores.predicted, est.predict(_features(test)))


# ----------------------------------------------------------------------------- probability checks


def _logistic_with(coef, intercept, classes):
    X = np.tile(np.eye(2), (len(classes), 1))
    est = LogisticRegression().fit(pd.DataFrame(X, columns=["a", "b"]), np.repeat(np.asarray(classes), 2))
    est.coef_ = np.asarray(coef, dtype=float)
    est.intercept_ = np.asarray(intercept, dtype=float)
    return est


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_probabilities_are_refused_naming_the_model():
    est = _logistic_with([[0.0, 1.0], [1.0, 0.0], [np.inf, 0.0]], [0.0, 0.0, 0.0], ["x", "y", "z"])
    frame = pd.DataFrame({"a": [-1.0, 1.0], "b": [0.0, 0.0], TARGET: "x"})
    with pytest.raises(ModelError, match=r"model\.skops: the candidate model's predict_proba returned a non-finite "
                                         r"probability \(first at data row 2"):
        _score(est, frame)


def test_probabilities_outside_unit_interval_are_refused():
    train, test = _cancer()
    est = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(_features(train), train[TARGET])
    est._loss.link = IdentityLink()  # raw scores as "probabilities": many outside [0, 1]
    with pytest.raises(ModelError, match=r"model\.skops: the candidate model's predict_proba returned a probability "
                                         r"outside \[0, 1\]"):
        _score(est, test)


@pytest.mark.parametrize("rows, message", [
    ([[0.5, 0.6]], "do not sum to 1 \\(first at data row 1\\)"),
    ([[0.2, 0.8], [0.3, 0.3]], "do not sum to 1 \\(first at data row 2"),
    ([[1.2, -0.2]], "outside \\[0, 1\\]"),
    ([[0.5, 0.5], [0.5, 0.5], [1.0, -0.0], [-0.1, 1.1]], "outside \\[0, 1\\] \\(first at data row 4\\)"),
    ([[np.nan, 1.0]], "non-finite"),
    ([[0.5, 0.5], [1.0, np.inf]], "non-finite probability \\(first at data row 2\\)"),
    ([[0.1] * 10, [0.1] * 9 + [0.2]], "do not sum to 1 \\(first at data row 2"),
])
def test_check_probabilities_table(rows, message):
    with pytest.raises(ModelError, match=message):
        check_probabilities(np.array(rows), "m")


def test_row_sums_are_numpys_bit_for_bit():
    """The checks add columns (fast) instead of reducing rows: the same sums, so a renormalised
    file's probabilities do not move by an ulp."""
    from mlgate.gates.models.score import row_sums

    rng = np.random.default_rng(0)
    for k in range(1, 13):
        p = rng.dirichlet(np.ones(k), size=5000) * rng.uniform(0.999, 1.001, size=(5000, 1))
        assert np.array_equal(row_sums(p), p.sum(axis=1)), k


def test_check_probabilities_allows_rounding():
    p = np.random.default_rng(0).dirichlet(np.ones(7), size=1000)
    assert np.array_equal(check_probabilities(p, "m"), p)
    p32 = p.astype(np.float32)
    check_probabilities(p32, "m")  # float32 rows miss 1 by a few ulps


def test_predictions_file_probabilities_must_sum_to_one(tmp_path):
    from mlgate.gates.models.load import load_predictions_file

    path = tmp_path / "pred.csv"
    pd.DataFrame({"prediction": [0, 1, 2], "proba_0": [0.2, 0.1, 0.3], "proba_1": [0.8, 0.1, 0.3],
                  "proba_2": [0.0, 0.8, 0.3]}).to_csv(path, index=False)
    model = load_predictions_file(path, role="candidate", label="pred.csv")
    holdout = Holdout(frame=pd.DataFrame({TARGET: [0, 1, 2]}), source="holdout.csv", sha256="", target=TARGET,
                      task="classification")
    with pytest.raises(DataError, match=r"pred\.csv: columns proba_<label> returned probabilities that do not sum "
                                        r"to 1 \(first at data row 3"):
        score_model(model, holdout, labels=(0, 1, 2), positive_label=None, id_column=None, exclude={TARGET},
                    want_proba=True)


@pytest.mark.parametrize("write", ["float32 csv", "six digits", "float32 parquet"])
def test_rounded_probabilities_in_a_file_are_accepted_and_renormalised(tmp_path, write):
    from mlgate.gates.models.load import load_predictions_file

    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), size=500)
    frame = pd.DataFrame({"prediction": p.argmax(axis=1)})
    for k in range(5):
        frame[f"proba_{k}"] = p[:, k].astype(np.float32) if "float32" in write else p[:, k]
    path = tmp_path / ("pred.parquet" if "parquet" in write else "pred.csv")
    if "parquet" in write:
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, float_format="%.6g" if write == "six digits" else None)
    model = load_predictions_file(path, role="candidate", label=path.name)
    holdout = Holdout(frame=pd.DataFrame({TARGET: p.argmax(axis=1)}), source="h.csv", sha256="", target=TARGET,
                      task="classification")
    scores = score_model(model, holdout, labels=tuple(range(5)), positive_label=None, id_column=None,
                         exclude={TARGET}, want_proba=True)
    assert np.allclose(scores.proba.sum(axis=1), 1.0, atol=1e-12)
    assert np.allclose(scores.proba, p, atol=1e-5)
