"""scikit-learn's own types that load without configuration, and the checks that make that safe.

skops trusts scikit-learn's estimators already; what it refuses on a first tree model is the
handful of internal types below. Each was reviewed for one property: loading it runs no code
chosen by the file — skops rebuilds it through scikit-learn's (or NumPy's) own constructor and
``__setstate__``, or, for a function, by importing that one named function, which prediction
never calls. Labels still come from the loaded model's ``predict``, so internals a file tampered
with are measured exactly as they will serve.

One thing ``__setstate__`` does not check is a tree's shape: scikit-learn's tree walkers follow
child indices and read feature columns without bounds checks, so a hand-edited file could send
``predict`` outside its arrays or round a cycle. :func:`check_trees` closes that gap: every
split's children come after it (no cycles) and inside the node array, and every feature index
is a column the model is given. KD/ball trees (nearest neighbours) are left out: their index
arrays would need the same review, and a user who trusts them can list them under
``security.trusted_types``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError

# Reviewed per type; the comment says what loading it does.
SKLEARN_TRUSTED_TYPES = frozenset({
    # Decision trees, forests, extra trees, gradient boosting, AdaBoost, bagging: the fitted tree,
    # rebuilt by Tree.__setstate__ from its node and value arrays (dtypes and shapes checked there,
    # topology by check_trees).
    "sklearn.tree._tree.Tree",
    # HistGradientBoosting: one predictor per iteration and class, a structured node array and two
    # bitset arrays set as attributes (checked by check_trees).
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # Voting and stacking keep their named estimators in a Bunch: a dict with attribute access.
    "sklearn.utils._bunch.Bunch",
    # CalibratedClassifierCV's per-fold pairs and its sigmoid map: plain attributes and arrays.
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # MLP estimators keep their optimiser's state after fitting; predict never touches it.
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    # A dtype rebuilt from its string descriptor (encoders and discretisers record one).
    "numpy.dtype",
    # SelectKBest / SelectPercentile record their scoring function, used only by fit; imported by
    # name, never called when predicting.
    "sklearn.feature_selection._univariate_selection.f_classif",
    "sklearn.feature_selection._univariate_selection.f_regression",
    "sklearn.feature_selection._univariate_selection.chi2",
    "sklearn.feature_selection._mutual_info.mutual_info_classif",
    "sklearn.feature_selection._mutual_info.mutual_info_regression",
    # HistGradientBoosting with categorical features records partial(check_array, …): the partial's
    # function is type-checked on its own, so only a listed function can be wrapped.
    "functools.partial",
    "sklearn.utils.validation.check_array",
})


def check_trees(estimator: Any, label: str) -> None:
    """Refuse a loaded model whose tree structures would make ``predict`` read outside its arrays.

    Walks the fitted object graph (pipelines, ensembles, nested estimators) once; trees are checked
    against the width of the input their owner is given (``n_features_in_``)."""
    seen: set[int] = set()
    stack: list[tuple[Any, int | None]] = [(estimator, None)]
    while stack:
        obj, width = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
            continue
        seen.add(id(obj))
        name = type(obj).__name__
        if name == "Tree" and type(obj).__module__ == "sklearn.tree._tree":
            _check_tree(obj, width, label)
            continue
        if name == "TreePredictor":
            _check_predictor(obj, width, label)
            continue
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend((item, width) for item in obj.ravel())
            continue
        if isinstance(obj, dict):
            stack.extend((v, width) for v in obj.values())
            continue
        if isinstance(obj, (list, tuple)):
            stack.extend((v, width) for v in obj)
            continue
        attributes = getattr(obj, "__dict__", None)
        if attributes is None:
            continue
        own = attributes.get("n_features_in_")
        if own is not None:
            own = int(own)
            if width is not None and own > width:
                raise ModelError(f"{label}: a nested {name} reads {own} columns but is given {width}; "
                                 "the file's estimators do not fit together")
            width = own
        for key, value in attributes.items():
            # Stacking's final estimator reads the base estimators' outputs, not the model's input.
            stack.append((value, None if key in _OWN_INPUT else width))
        features = attributes.get("estimators_features_")  # bagging: each estimator's column subset
        if features is not None and width is not None:
            for subset in features:
                if len(subset) and (np.min(subset) < 0 or np.max(subset) >= width):
                    raise ModelError(f"{label}: a bagging estimator's column subset lies outside the {width} columns")


# Attributes holding an estimator that is given something other than its owner's input.
_OWN_INPUT = frozenset({"final_estimator_", "final_estimator"})


def _check_tree(tree, width: int | None, label: str) -> None:
    count = int(tree.node_count)
    left = np.asarray(tree.children_left)
    right = np.asarray(tree.children_right)
    feature = np.asarray(tree.feature)
    n_features = int(tree.n_features)
    if count < 1 or len(left) != count or len(right) != count or len(feature) != count:
        raise ModelError(f"{label}: a decision tree's node arrays do not match its node count")
    if width is not None and n_features > width:
        raise ModelError(f"{label}: a decision tree reads {n_features} features but its model is given {width}")
    _check_topology(left, right, left == -1, label, "decision tree")
    split = left != -1
    bad = split & ((feature < 0) | (feature >= n_features))
    if bad.any():
        raise ModelError(f"{label}: a decision tree splits on feature {int(feature[np.argmax(bad)])}, "
                         f"outside its {n_features} features")


def _check_predictor(predictor, width: int | None, label: str) -> None:
    nodes = predictor.nodes
    if len(nodes) < 1:
        raise ModelError(f"{label}: a gradient-boosting tree has no nodes")
    leaf = nodes["is_leaf"].astype(bool)
    left = nodes["left"].astype(np.int64)
    right = nodes["right"].astype(np.int64)
    _check_topology(np.where(leaf, -1, left), np.where(leaf, -1, right), leaf, label, "gradient-boosting tree")
    feature = nodes["feature_idx"].astype(np.int64)
    if width is not None:
        bad = ~leaf & ((feature < 0) | (feature >= width))
        if bad.any():
            raise ModelError(f"{label}: a gradient-boosting tree splits on feature {int(feature[np.argmax(bad)])}, "
                             f"outside the model's {width} features")
    categorical = ~leaf & nodes["is_categorical"].astype(bool)
    if categorical.any():
        index = nodes["bitset_idx"][categorical].astype(np.int64)
        sizes = [len(getattr(predictor, name)) for name in ("raw_left_cat_bitsets", "binned_left_cat_bitsets")]
        if (index < 0).any() or (index >= min(sizes)).any():
            raise ModelError(f"{label}: a gradient-boosting tree points at a category set it does not have")


def _check_topology(left: np.ndarray, right: np.ndarray, leaf: np.ndarray, label: str, what: str) -> None:
    """Children come after their parent and inside the array: no cycle, no read past the end."""
    count = len(left)
    index = np.arange(count)
    split = ~leaf
    bad = split & ((left <= index) | (right <= index) | (left >= count) | (right >= count))
    bad |= leaf & ((left != -1) | (right != -1))
    if bad.any():
        raise ModelError(f"{label}: a {what}'s node {int(np.argmax(bad))} points at children outside the tree "
                         "or back up it; the file was not written by scikit-learn")
