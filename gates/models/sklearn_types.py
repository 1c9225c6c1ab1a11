"""scikit-learn's own types that load without configuration, and the checks that make that safe.

skops trusts scikit-learn's estimators already; what it refuses on a first tree model is the
handful of internal types below. Each was reviewed for one property: loading it runs no code
chosen by the file — skops rebuilds it through scikit-learn's (or NumPy's) own constructor and
``__setstate__``, or, for a function, by importing that one named function, which prediction
never calls. Labels still come from the loaded model's ``predict``, so internals a file tampered
with are measured exactly as they will serve.

Trusting a type is not enough on its own, so three checks go with the list:
- before loading, each listed type may appear in the file's schema only the way scikit-learn
  writes it — with its own skops loader, under the attribute that holds it (a tree under
  ``tree_``, a score function under ``score_func``) — so a file cannot call a listed function
  as a constructor with arguments of its choosing, or dress a Bunch up as a pipeline step;
- after loading, the one ``functools.partial`` scikit-learn writes (HistGradientBoosting's
  ``check_array`` with float64 and missing values allowed) must be exactly that;
- the trees' shapes (:mod:`.tree_checks`), since scikit-learn's tree walkers do not bounds-check.
KD/ball trees (nearest neighbours) are left out: their index arrays would need the same review,
and a user who trusts them can list them under ``security.trusted_types``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError
from .estimator_checks import check_attributes, check_svms
from .tree_checks import check_tree_models, reachable

# Reviewed per type: the skops loader scikit-learn's files use for it, and the attributes that hold
# it (the nearest named key above it in the schema; None: anywhere). The comment says what loading
# it does.
_PLACES: dict[str, tuple[str, frozenset | None]] = {
    # Decision trees, forests, extra trees, gradient boosting, AdaBoost, bagging: the fitted tree,
    # rebuilt by Tree.__setstate__ from its node and value arrays (dtypes checked there, shapes by
    # tree_checks).
    "sklearn.tree._tree.Tree": ("TreeNode", frozenset({"tree_"})),
    # HistGradientBoosting: one predictor per iteration and output, a structured node array and two
    # bitset arrays set as attributes (shapes by tree_checks).
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": ("ObjectNode", frozenset({"_predictors"})),
    # Voting and stacking keep their named estimators in a Bunch: a dict with attribute access.
    "sklearn.utils._bunch.Bunch": ("DictNode", frozenset({"named_estimators_"})),
    # CalibratedClassifierCV's per-fold pairs and its sigmoid map: plain attributes and arrays.
    "sklearn.calibration._CalibratedClassifier": ("ObjectNode", frozenset({"calibrated_classifiers_"})),
    "sklearn.calibration._SigmoidCalibration": ("ObjectNode", frozenset({"calibrators"})),
    # MLP estimators keep their optimiser's state after fitting; predict never touches it.
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer": ("ObjectNode", frozenset({"_optimizer"})),
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer": ("ObjectNode", frozenset({"_optimizer"})),
    # A dtype rebuilt from its string descriptor (encoders and discretisers record one).
    "numpy.dtype": ("DTypeNode", None),
    # SelectKBest / SelectPercentile record their scoring function, used only by fit: imported by
    # name as a reference, never called when loading or predicting.
    "sklearn.feature_selection._univariate_selection.f_classif": ("FunctionNode", frozenset({"score_func"})),
    "sklearn.feature_selection._univariate_selection.f_regression": ("FunctionNode", frozenset({"score_func"})),
    "sklearn.feature_selection._univariate_selection.chi2": ("FunctionNode", frozenset({"score_func"})),
    "sklearn.feature_selection._mutual_info.mutual_info_classif": ("FunctionNode", frozenset({"score_func"})),
    "sklearn.feature_selection._mutual_info.mutual_info_regression": ("FunctionNode", frozenset({"score_func"})),
    # HistGradientBoosting with categorical features records FunctionTransformer(func=partial(
    # check_array, dtype=[float64], ensure_all_finite=False)); check_partials pins its arguments.
    "functools.partial": ("PartialNode", frozenset({"func"})),
    "sklearn.utils.validation.check_array": ("FunctionNode", frozenset({"func"})),
}

SKLEARN_TRUSTED_TYPES = frozenset(_PLACES)


def check_schema(source: dict, label: str) -> None:
    """Refuse a file that uses a listed type other than the way scikit-learn writes it.

    ``source`` is ``{"file": path}`` or ``{"data": bytes}``, as skops reads it."""
    import io
    import json
    import zipfile

    try:
        archive = source["file"] if "file" in source else io.BytesIO(source["data"])
        with zipfile.ZipFile(archive) as zf:
            schema = json.loads(zf.read("schema.json"))
    except Exception as exc:  # skops itself reported the archive readable; anything else is refused
        raise ModelError(f"{label}: cannot read the skops schema ({type(exc).__name__})") from None
    stack: list[tuple[object, str | None, str | None]] = [(schema, None, None)]
    while stack:
        node, key, parent = stack.pop()
        if isinstance(node, list):
            stack.extend((item, key, parent) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        name = f"{node.get('__module__')}.{node.get('__class__')}" if "__class__" in node else None
        if name in _PLACES:
            loader, places = _PLACES[name]
            misplaced = places is not None and key not in places
            if node.get("__loader__") != loader or misplaced or (
                    name.endswith(".check_array") and parent != "functools.partial"):
                raise ModelError(f"{label}: {name} appears in the file other than the way scikit-learn writes it "
                                 f"(as {node.get('__loader__')!r} under {key!r}); refusing to load it")
        for k, value in node.items():
            named = key if k in ("content", "__reduce__") else k
            stack.append((value, named, name or parent))


# check_array's keyword for NaN handling was renamed in scikit-learn 1.6.
_PARTIAL_KEYWORDS = ({"dtype", "ensure_all_finite"}, {"dtype", "force_all_finite"})


def check_partials(estimator: Any, label: str) -> None:
    """The only partial scikit-learn writes is check_array(dtype=[float64], NaN allowed)."""
    import functools

    from sklearn.utils.validation import check_array

    for obj in reachable(estimator):
        if not isinstance(obj, functools.partial):
            continue
        keywords = dict(obj.keywords)
        exact = (obj.func is check_array and not obj.args and set(keywords) in _PARTIAL_KEYWORDS
                 and list(keywords.get("dtype", ())) == [np.float64]
                 and keywords.get("ensure_all_finite", keywords.get("force_all_finite")) is False)
        if not exact:
            raise ModelError(f"{label}: a functools.partial in the file is not the one scikit-learn writes "
                             f"({getattr(obj.func, '__name__', obj.func)!r} with {sorted(keywords)}); refusing to load it")


def check_loaded(estimator: Any, label: str) -> None:
    check_attributes(estimator, label)
    check_partials(estimator, label)
    check_tree_models(estimator, label)
    check_svms(reachable(estimator), label)
