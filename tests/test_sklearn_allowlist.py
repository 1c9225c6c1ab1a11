"""The standard scikit-learn estimators load without configuration; tampered trees do not.

Each model is fitted here, saved with skops and loaded through mlgate's loader with no
``security.trusted_types``; its predictions must equal the fitted object's. The second half
hand-edits fitted trees the way a hostile file could (a cycle, a child past the end, a feature
past the input) and expects a refusal naming the file, never a hang or a read out of bounds.
"""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn import (calibration, compose, discriminant_analysis, ensemble, feature_selection, impute, linear_model,
                     naive_bayes, neighbors, neural_network, pipeline, preprocessing, svm, tree)
from sklearn.datasets import make_classification, make_regression

from mlgate.gates.errors import ModelError
from mlgate.gates.models import load_model_bytes, load_model_file
from mlgate.gates.models.sklearn_types import SKLEARN_TRUSTED_TYPES

X, Y = make_classification(240, 6, n_informative=4, n_classes=3, random_state=0)
XR, YR = make_regression(240, 6, random_state=0)
YR = YR - YR.min() + 1.0  # positive, for the Poisson loss
FRAME = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(
    colour=np.random.default_rng(0).choice(["red", "green", "blue"], len(X)))
NUMERIC = [f"f{i}" for i in range(6)]


def _classifiers():
    lr = linear_model.LogisticRegression(max_iter=500)
    dt = tree.DecisionTreeClassifier(max_depth=4, random_state=0)
    return {
        "decision tree": dt,
        "random forest": ensemble.RandomForestClassifier(5, random_state=0),
        "extra trees": ensemble.ExtraTreesClassifier(5, random_state=0),
        "gradient boosting": ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0),
        "hist gradient boosting": ensemble.HistGradientBoostingClassifier(max_iter=5, random_state=0),
        "adaboost": ensemble.AdaBoostClassifier(n_estimators=5, random_state=0),
        "bagging on feature subsets": ensemble.BaggingClassifier(n_estimators=3, max_features=0.5, random_state=0),
        "voting": ensemble.VotingClassifier([("lr", lr), ("dt", dt)], voting="soft"),
        "stacking": ensemble.StackingClassifier([("lr", lr), ("dt", dt)], final_estimator=linear_model.LogisticRegression()),
        "calibrated": calibration.CalibratedClassifierCV(linear_model.LogisticRegression(max_iter=500), cv=3),
        "mlp": neural_network.MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0),
        "svc": svm.SVC(probability=True, random_state=0),
        "naive bayes": naive_bayes.GaussianNB(),
        "lda": discriminant_analysis.LinearDiscriminantAnalysis(),
        "scaled logistic pipeline": pipeline.make_pipeline(preprocessing.StandardScaler(), lr),
        "select-k-best pipeline": pipeline.make_pipeline(feature_selection.SelectKBest(k=4), dt),
        "discretised pipeline": pipeline.make_pipeline(preprocessing.KBinsDiscretizer(n_bins=4), lr),
    }


def _regressors():
    return {
        "decision tree": tree.DecisionTreeRegressor(max_depth=4, random_state=0),
        "random forest": ensemble.RandomForestRegressor(5, random_state=0),
        "gradient boosting": ensemble.GradientBoostingRegressor(n_estimators=5, random_state=0),
        "hist gradient boosting (poisson)": ensemble.HistGradientBoostingRegressor(max_iter=5, loss="poisson"),
        "mlp": neural_network.MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, random_state=0),
        "f_regression pipeline": pipeline.make_pipeline(feature_selection.SelectKBest(feature_selection.f_regression, k=4),
                                                        linear_model.Ridge()),
    }


def _mixed_type_pipelines():
    columns = compose.ColumnTransformer([
        ("num", pipeline.make_pipeline(impute.SimpleImputer(), preprocessing.StandardScaler()), NUMERIC),
        ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), ["colour"]),
    ])
    ordinal = compose.ColumnTransformer([("cat", preprocessing.OrdinalEncoder(), ["colour"])], remainder="passthrough")
    return {
        "column transformer + hist gradient boosting": pipeline.make_pipeline(
            columns, ensemble.HistGradientBoostingClassifier(max_iter=5, random_state=0)),
        "ordinal + categorical hist gradient boosting": pipeline.make_pipeline(
            ordinal, ensemble.HistGradientBoostingClassifier(max_iter=5, categorical_features=[0], random_state=0)),
    }


CASES = ([(f"classifier: {k}", m, X, Y) for k, m in _classifiers().items()]
         + [(f"regressor: {k}", m, XR, YR) for k, m in _regressors().items()]
         + [(f"pipeline: {k}", m, FRAME, Y) for k, m in _mixed_type_pipelines().items()])


@pytest.mark.parametrize("name, model, features, target", CASES, ids=[c[0] for c in CASES])
def test_standard_estimators_load_without_configuration(name, model, features, target, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(features, target)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    loaded = load_model_file(path, role="candidate", label=str(path)).estimator
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    # The bytes path (Dask workers) loads the same file the same way.
    shipped = load_model_bytes(path.read_bytes(), suffix=".skops", role="candidate", label="shipped").estimator
    np.testing.assert_array_equal(shipped.predict(features), model.predict(features))


def test_the_allowlist_is_needed_and_is_all_used():
    """Every shipped type is one skops itself refuses (else it would not need listing), and one of the
    models above needs it (else it was not reviewed against a real file)."""
    needed = set()
    for _, model, features, target in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(features, target)
        needed |= set(sio.get_untrusted_types(data=sio.dumps(model)))
    unused = SKLEARN_TRUSTED_TYPES - needed - {  # score functions of SelectKBest not exercised above
        "sklearn.feature_selection._univariate_selection.chi2",
        "sklearn.feature_selection._mutual_info.mutual_info_classif",
        "sklearn.feature_selection._mutual_info.mutual_info_regression",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer"}
    assert not unused, unused
    assert needed <= SKLEARN_TRUSTED_TYPES, needed - SKLEARN_TRUSTED_TYPES


def test_nearest_neighbours_still_need_listing(tmp_path):
    path = tmp_path / "knn.skops"
    sio.dump(neighbors.KNeighborsClassifier().fit(X, Y), path)
    with pytest.raises(ModelError, match=r"knn\.skops: refusing to load untrusted types .*KDTree"):
        load_model_file(path, role="candidate", label=str(path))
    loaded = load_model_file(path, role="candidate", label=str(path), trusted_types=[
        "sklearn.metrics._dist_metrics.EuclideanDistance64", "sklearn.neighbors._kd_tree.KDTree"])
    assert loaded.estimator.predict(X[:3]).shape == (3,)


def _tampered_tree(edit) -> tree.DecisionTreeClassifier:
    model = tree.DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, Y)
    state = model.tree_.__getstate__()
    nodes = state["nodes"].copy()
    edit(nodes)
    state["nodes"] = nodes
    model.tree_.__setstate__(state)
    return model


def _set(field: str, index, value):
    def edit(nodes):
        at = index(nodes) if callable(index) else index
        nodes[field][at] = value
    return edit


@pytest.mark.parametrize("what, edit", [
    ("a cycle", _set("left_child", 1, 0)),
    ("a child past the end", _set("right_child", 0, 10_000)),
    ("a feature past the input", _set("feature", 0, 99)),
    ("a leaf with a child", _set("left_child", lambda nodes: int(np.argmax(nodes["left_child"] == -1)), 5)),
])
def test_a_tampered_tree_is_refused(what, edit, tmp_path):
    path = tmp_path / "tampered.skops"
    sio.dump(_tampered_tree(edit), path)
    with pytest.raises(ModelError, match=r"tampered\.skops: a decision tree"):
        load_model_file(path, role="candidate", label=str(path))


def test_a_forest_tree_reading_more_columns_than_the_forest_is_refused(tmp_path):
    forest = ensemble.RandomForestClassifier(3, random_state=0).fit(X, Y)
    wide = tree.DecisionTreeClassifier(random_state=0).fit(np.hstack([X, X]), Y)
    forest.estimators_[1] = wide  # RandomForest hands its trees X unchecked (check_input=False)
    path = tmp_path / "forest.skops"
    sio.dump(forest, path)
    with pytest.raises(ModelError, match=r"forest\.skops: a nested DecisionTreeClassifier reads 12 columns but its forest is given 6"):
        load_model_file(path, role="candidate", label=str(path))


def test_a_tampered_hist_gradient_boosting_tree_is_refused(tmp_path):
    model = ensemble.HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, Y)
    nodes = model._predictors[0][0].nodes
    split = int(np.argmax(~nodes["is_leaf"].astype(bool)))
    nodes["feature_idx"][split] = 40
    path = tmp_path / "hgb.skops"
    sio.dump(model, path)
    with pytest.raises(ModelError, match=r"hgb\.skops: a gradient-boosting tree splits on feature 40"):
        load_model_file(path, role="candidate", label=str(path))


# ------------------------------------------------- files a cold attack built (each refused at load)


def _categorical_hgb():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(600, 4))
    features[:, 0] = rng.integers(0, 16, len(features))
    target = (np.isin(features[:, 0], [1, 4, 6, 11]) ^ (features[:, 3] > 0)).astype(int)
    return ensemble.HistGradientBoostingClassifier(max_iter=3, categorical_features=[0], random_state=0).fit(
        features, target)


def _gb_widened():
    """Binary gradient boosting adds stage k's tree into column k of a one-column array, unchecked."""
    model = ensemble.GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, Y % 2)
    wide = np.empty((3, 64), dtype=object)
    for i in range(3):
        wide[i, :] = model.estimators_[i, 0]
    model.estimators_ = wide
    return model


def _pipeline_tree_without_width():
    model = pipeline.make_pipeline(preprocessing.StandardScaler(), tree.DecisionTreeClassifier(max_depth=3)).fit(X, Y)
    del model[-1].n_features_in_  # scikit-learn then skips its own width check
    return model


def _forest_tree_aliased():
    model = ensemble.RandomForestClassifier(3, max_depth=3, random_state=0).fit(X, Y)
    model.final_estimator_ = model.estimators_[0]  # visited first under a name that is not the forest's
    del model.estimators_[0].n_features_in_
    return model


def _partial_with_extra_argument():
    model = _categorical_hgb()
    step = model._preprocessor.named_transformers_["numerical"]
    step.func = functools.partial(step.func.func, **step.func.keywords, ensure_min_samples=2)
    return model


def _bunch_as_a_step():
    from sklearn.utils._bunch import Bunch
    return pipeline.Pipeline([("zero", Bunch(transform=functools.partial(np.multiply, 0.0))),
                              ("lr", linear_model.LogisticRegression().fit(X, Y))])


def _bitsets_narrowed():
    model = _categorical_hgb()
    for stage in model._predictors:
        for predictor in stage:
            predictor.raw_left_cat_bitsets = np.ascontiguousarray(predictor.raw_left_cat_bitsets[:, :1])
    return model


def _categories_cut():
    model = _categorical_hgb()
    model._bin_mapper.is_categorical_ = model._bin_mapper.is_categorical_[:1]
    return model


def _width_not_a_number():
    model = tree.DecisionTreeClassifier(max_depth=2).fit(X, Y)
    model.n_features_in_ = [6, 6]
    return model


def _score_function_elsewhere():
    model = linear_model.LogisticRegression().fit(X, Y)
    model.helper_ = feature_selection.f_classif  # a listed function, but not as a selector's score_func
    return model


def _gb_started_from_a_narrow_tree():
    """The stages add K columns into the start's scores; a one-column start is written past."""
    model = ensemble.GradientBoostingClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, Y)
    model.init_ = tree.DecisionTreeClassifier(max_depth=1).fit(X, np.zeros(len(X), dtype=int))
    return model


def _hist_preprocessor_narrowed():
    model = _categorical_hgb()
    model._preprocessor.transformers_ = model._preprocessor.transformers_[:1]  # the encoder's column only
    return model


def _svc_claiming_more_classes():
    model = svm.SVC().fit(X, Y % 2)
    model._n_support = np.concatenate([model._n_support, np.zeros(40, dtype=model._n_support.dtype)])
    return model


def _classes_not_a_list():
    model = linear_model.LogisticRegression().fit(X, Y)
    model.classes_ = 7
    return model


ATTACKS = {
    "gradient boosting started from a one-column tree": (_gb_started_from_a_narrow_tree, "starts from a DecisionTreeClassifier"),
    "a HistGradientBoosting preprocessor that drops columns": (_hist_preprocessor_narrowed, "exactly once"),
    "an SVC claiming more classes than its coefficients hold": (_svc_claiming_more_classes, "claims 42 classes"),
    "classes_ that is not a list": (_classes_not_a_list, "classes_ is not a list of labels"),
    "gradient boosting with more trees per stage than outputs": (_gb_widened, "stages have shape"),
    "a pipeline's tree without n_features_in_": (_pipeline_tree_without_width, "has no valid n_features_in_"),
    "a forest's tree also stored under final_estimator_": (_forest_tree_aliased, "has no valid n_features_in_"),
    "check_array partial with an extra argument": (_partial_with_extra_argument, "not the one scikit-learn writes"),
    "a Bunch standing in for a pipeline step": (_bunch_as_a_step, "Bunch appears in the file other than"),
    "category bitsets narrower than 256 bits": (_bitsets_narrowed, "not 256-bit sets"),
    "a bin mapper that describes fewer columns": (_categories_cut, "describes 1 columns, not 4"),
    "n_features_in_ that is not a number": (_width_not_a_number, "n_features_in_ is [6, 6], not a column count"),
    "a score function outside a selector": (_score_function_elsewhere, "f_classif appears in the file other than"),
}


@pytest.mark.parametrize("what", ATTACKS)
def test_a_hostile_file_built_from_listed_types_is_refused(what, tmp_path):
    build, message = ATTACKS[what]
    path = tmp_path / "hostile.skops"
    sio.dump(build(), path)
    with pytest.raises(ModelError, match=re.escape(message)) as refused:
        load_model_file(path, role="candidate", label=str(path))
    assert str(path) in str(refused.value)
