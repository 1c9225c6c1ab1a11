"""Shape checks for loaded tree models, because scikit-learn's tree walkers do not bounds-check.

``Tree.__setstate__`` checks dtypes, and scikit-learn checks an input's width against the
estimator's ``n_features_in_`` — but only when that attribute exists, and the Cython that walks
a tree, sums a boosting stage or tests a category bitset trusts every index it reads. A
hand-edited file could therefore send ``predict`` outside its arrays (reading, or for gradient
boosting writing, memory) while every type in it is trusted.

The checks are by owner, each against the width its ``predict`` actually validates: a decision
tree checks its ``tree_`` against its own ``n_features_in_`` (which must exist); a forest and a
gradient-boosting model hand their trees the input unchecked, so each tree must read exactly the
owner's width; bagging hands each tree its column subset; HistGradientBoosting checks its
predictors' nodes and category bitsets against its bin mapper. Anything the checks cannot read
is a refusal, never a crash.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError


class Refused(Exception):
    """A structure that would make ``predict`` read or write outside its arrays."""


def check_tree_models(estimator: Any, label: str) -> None:
    try:
        for obj in reachable(estimator):
            check = _CHECKS.get(_kind(obj))
            if check is not None:
                check(obj)
    except Refused as exc:
        raise ModelError(f"{label}: {exc}; the file was not written by scikit-learn") from None
    except Exception as exc:  # an attribute of the wrong type is a file we cannot vouch for
        raise ModelError(f"{label}: the model's trees could not be checked ({type(exc).__name__}); "
                         "refusing to load it") from None


def reachable(root: Any):
    """Every object reachable from ``root`` through attributes and containers, once each."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool, type)):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend(obj.ravel())
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        else:
            stack.extend(getattr(obj, "__dict__", {}).values())


def _kind(obj) -> str | None:
    from sklearn.ensemble import BaggingClassifier, BaggingRegressor, IsolationForest
    from sklearn.ensemble._forest import BaseForest
    from sklearn.ensemble._gb import BaseGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import BaseHistGradientBoosting
    from sklearn.tree import BaseDecisionTree

    for kind, types in (("tree", BaseDecisionTree), ("forest", BaseForest), ("boosting", BaseGradientBoosting),
                        ("bagging", (BaggingClassifier, BaggingRegressor, IsolationForest)),
                        ("hist", BaseHistGradientBoosting)):
        if isinstance(obj, types):
            return kind
    return None


def _width(owner) -> int:
    width = owner.__dict__.get("n_features_in_")
    if not isinstance(width, (int, np.integer)) or isinstance(width, bool) or width < 1:
        # Without it scikit-learn skips its width check, and the tree reads whatever it is given.
        raise Refused(f"a {type(owner).__name__} has no valid n_features_in_ ({width!r})")
    return int(width)


def _decision_tree(owner) -> None:
    if "tree_" not in owner.__dict__:
        return  # unfitted (an ensemble's template): predict on it raises in Python, reads nothing
    width = _width(owner)
    tree = owner.__dict__["tree_"]
    if type(tree).__name__ != "Tree":
        raise Refused(f"a {type(owner).__name__} holds no fitted tree")
    if int(tree.n_features) != width:
        raise Refused(f"a decision tree reads {int(tree.n_features)} features but its model is given {width}")
    count = int(tree.node_count)
    left, right, feature = (np.asarray(a) for a in (tree.children_left, tree.children_right, tree.feature))
    if count < 1 or not len(left) == len(right) == len(feature) == count:
        raise Refused("a decision tree's node arrays do not match its node count")
    if tree.value.shape[0] != count:
        raise Refused("a decision tree's values do not match its nodes")
    _topology(left, right, left == -1, "decision tree")
    bad = (left != -1) & ((feature < 0) | (feature >= width))
    if bad.any():
        raise Refused(f"a decision tree splits on feature {int(feature[np.argmax(bad)])}, outside its {width} features")


def _same_width(owner, trees, what: str) -> None:
    width = _width(owner)
    for tree in trees:
        if _kind(tree) != "tree":
            raise Refused(f"a {type(owner).__name__} holds a {type(tree).__name__} where a decision tree belongs")
        if "tree_" not in tree.__dict__ or _width(tree) != width:
            raise Refused(f"a nested {type(tree).__name__} reads {_width(tree)} columns but its {what} is given {width}")


def _forest(owner) -> None:
    _same_width(owner, list(owner.__dict__.get("estimators_", [])), "forest")


def _boosting(owner) -> None:
    """predict_stages adds tree k of each stage into column k of an array with one column per
    tree of a stage: a wider estimators_ writes past it."""
    stages = owner.__dict__.get("estimators_")
    per_stage = owner.__dict__.get("n_trees_per_iteration_")
    classes = owner.__dict__.get("n_classes_")
    expected = 1 if classes is None or int(classes) <= 2 else int(classes)
    if not isinstance(stages, np.ndarray) or stages.ndim != 2 or stages.shape[1] != expected or per_stage != expected:
        raise Refused(f"a gradient-boosting model's stages have shape {getattr(stages, 'shape', None)}, "
                      f"expected one tree per class ({expected})")
    _same_width(owner, list(stages.ravel()), "gradient-boosting model")
    _boosting_start(owner, expected)
    for tree in stages.ravel():
        if tree.tree_.value.shape[1:] != (1, 1):
            raise Refused("a gradient-boosting tree has more than one output")


def _boosting_start(owner, per_stage: int) -> None:
    """The stages add into the starting scores' array, one column per tree of a stage: the start
    must be as wide as a stage, or the additions land past it. scikit-learn starts from zero or
    from a prior (a Dummy estimator); anything else is refused."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    start = owner.__dict__.get("init_")
    classes = owner.__dict__.get("classes_")
    count = owner.__dict__.get("n_classes_")
    if isinstance(start, str) and start == "zero":
        width = per_stage
    elif isinstance(start, DummyClassifier):
        prior = np.asarray(start.__dict__.get("class_prior_"))
        if classes is None or prior.ndim != 1 or len(prior) != int(count) or len(classes) != int(count):
            raise Refused("a gradient-boosting classifier's starting prior does not match its classes")
        width = 1 if len(prior) == 2 else len(prior)
    elif isinstance(start, DummyRegressor):
        width = int(np.asarray(start.__dict__.get("constant_")).size)
    else:
        raise Refused(f"a gradient-boosting model starts from a {type(start).__name__}; mlgate accepts the "
                      "prior scikit-learn fits (init=None) or init='zero'")
    if width != per_stage:
        raise Refused(f"a gradient-boosting model's starting scores have {width} columns for {per_stage} trees a stage")


def _bagging(owner) -> None:
    width = _width(owner)
    trees = list(owner.__dict__.get("estimators_", []))
    subsets = list(owner.__dict__.get("estimators_features_", []))
    if len(subsets) != len(trees):
        raise Refused("a bagging model has a column subset per estimator that does not match its estimators")
    for est, subset in zip(trees, subsets):
        subset = np.asarray(subset)
        if subset.ndim != 1 or not np.issubdtype(subset.dtype, np.integer) or (
                len(subset) and (subset.min() < 0 or subset.max() >= width)):
            raise Refused(f"a bagging estimator's column subset lies outside the {width} columns")
        if _kind(est) == "tree" and _width(est) != len(subset):
            raise Refused(f"a bagging tree reads {_width(est)} columns but is given {len(subset)}")


def _hist(owner) -> None:
    width = _width(owner)
    mapper = owner.__dict__.get("_bin_mapper")
    categorical = np.asarray(getattr(mapper, "is_categorical_", np.zeros(width, bool)), dtype=bool)
    if categorical.shape != (width,):
        raise Refused(f"a gradient-boosting model's bin mapper describes {categorical.size} columns, not {width}")
    thresholds = getattr(mapper, "bin_thresholds_", None)
    for f in np.flatnonzero(categorical):
        # Known categories are set as bits in a 256-bit set per feature: a value outside writes past it.
        values = np.asarray(thresholds[f], dtype=float)
        if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 255).all()):
            raise Refused(f"a gradient-boosting model's categories for feature {int(f)} lie outside 0–255")
    _hist_preprocessor(owner, width)
    per_stage = owner.__dict__.get("n_trees_per_iteration_")
    for stage in owner.__dict__.get("_predictors", []):
        if len(stage) != per_stage:
            raise Refused("a gradient-boosting stage does not hold one tree per output")
        for predictor in stage:
            _predictor(predictor, width, categorical)


def _hist_preprocessor(owner, width: int) -> None:
    """With categorical features, HistGradientBoosting hands its input to ``_preprocessor`` and
    skips its own width check: the preprocessor must be scikit-learn's (an ordinal encoder and the
    pinned check_array), and give every input column exactly once."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    pre = owner.__dict__.get("_preprocessor")
    if pre is None:
        return
    if not isinstance(pre, ColumnTransformer) or pre.__dict__.get("n_features_in_") != width:
        raise Refused("a gradient-boosting model's preprocessor is not the one scikit-learn fits")
    covered = np.zeros(width, dtype=int)
    for name, part, columns in pre.__dict__.get("transformers_", []):
        chosen = np.asarray(columns)
        if chosen.dtype == bool:
            if chosen.shape != (width,):
                raise Refused("a gradient-boosting model's preprocessor selects columns it is not given")
            chosen = np.flatnonzero(chosen)
        elif chosen.size and not np.issubdtype(chosen.dtype, np.integer):
            raise Refused("a gradient-boosting model's preprocessor selects columns by name")
        if isinstance(part, str) and part == "drop":
            continue
        if not isinstance(part, (OrdinalEncoder, FunctionTransformer)) or (
                chosen.size and (chosen.min() < 0 or chosen.max() >= width)):
            raise Refused("a gradient-boosting model's preprocessor is not the one scikit-learn fits")
        covered[chosen] += 1
    if not (covered == 1).all():
        raise Refused("a gradient-boosting model's preprocessor does not give each column exactly once")


def _predictor(predictor, width: int, categorical: np.ndarray) -> None:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    nodes = predictor.nodes
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1 or len(nodes) < 1:
        raise Refused("a gradient-boosting tree's nodes are not scikit-learn's node records")
    leaf = nodes["is_leaf"].astype(bool)
    _topology(np.where(leaf, -1, nodes["left"].astype(np.int64)), np.where(leaf, -1, nodes["right"].astype(np.int64)),
              leaf, "gradient-boosting tree")
    feature = nodes["feature_idx"].astype(np.int64)
    bad = ~leaf & ((feature < 0) | (feature >= width))
    if bad.any():
        raise Refused(f"a gradient-boosting tree splits on feature {int(feature[np.argmax(bad)])}, "
                      f"outside the model's {width} features")
    bitsets = [predictor.raw_left_cat_bitsets, predictor.binned_left_cat_bitsets]
    for bits in bitsets:
        if not (isinstance(bits, np.ndarray) and bits.dtype == np.uint32 and bits.ndim == 2 and bits.shape[1] == 8
                and bits.flags.c_contiguous and bits.shape == bitsets[0].shape):
            raise Refused("a gradient-boosting tree's category sets are not 256-bit sets")
    split_on_category = ~leaf & nodes["is_categorical"].astype(bool)
    if split_on_category.any():
        index = nodes["bitset_idx"][split_on_category].astype(np.int64)
        if (index < 0).any() or (index >= bitsets[0].shape[0]).any():
            raise Refused("a gradient-boosting tree points at a category set it does not have")
        if not categorical[feature[split_on_category]].all():
            raise Refused("a gradient-boosting tree splits by category on a feature that is not categorical")


def _topology(left: np.ndarray, right: np.ndarray, leaf: np.ndarray, what: str) -> None:
    """Children come after their parent and inside the array: no cycle, no read past the end."""
    count = len(left)
    index = np.arange(count)
    split = ~leaf
    bad = split & ((left <= index) | (right <= index) | (left >= count) | (right >= count))
    bad |= leaf & ((left != -1) | (right != -1))
    if bad.any():
        raise Refused(f"a {what}'s node {int(np.argmax(bad))} points at children outside the tree or back up it")


_CHECKS = {"tree": _decision_tree, "forest": _forest, "boosting": _boosting, "bagging": _bagging, "hist": _hist}
