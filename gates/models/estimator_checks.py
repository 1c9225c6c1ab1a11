"""Checks on loaded scikit-learn estimators beyond trees: libsvm's arrays, and the attributes the
scorer reads.

skops trusts every scikit-learn estimator by default, and libsvm (SVC, NuSVC, SVR, NuSVR,
OneClassSVM) sizes its reads from the number of classes it is told, not from the arrays it is
given: a file whose support counts claim more classes than its coefficients hold makes predict
read past them. scikit-learn's own load-time check (the sum of the support counts) does not
catch that, so the shapes are checked here against the counts libsvm will use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError


def check_attributes(estimator: Any, label: str) -> None:
    """The attributes the scorer reads off the top-level model, as scikit-learn writes them; a
    file that sets ``classes_ = 7`` is a refusal naming it, not an internal error."""
    attributes = getattr(estimator, "__dict__", {})
    width = attributes.get("n_features_in_")
    if width is not None and (not isinstance(width, (int, np.integer)) or isinstance(width, bool) or width < 1):
        raise ModelError(f"{label}: n_features_in_ is {width!r}, not a column count; refusing to load it")
    names = attributes.get("feature_names_in_")
    if names is not None:
        if not isinstance(names, np.ndarray) or names.ndim != 1 or not all(isinstance(n, str) for n in names):
            raise ModelError(f"{label}: feature_names_in_ is not a list of column names; refusing to load it")
        if width is not None and len(names) != int(width):
            raise ModelError(f"{label}: feature_names_in_ names {len(names)} columns but n_features_in_ says "
                             f"{int(width)}; refusing to load it")
    classes = attributes.get("classes_")
    if classes is not None and (not isinstance(classes, np.ndarray) or classes.ndim != 1):
        raise ModelError(f"{label}: classes_ is not a list of labels; refusing to load it")


def check_svms(objects, label: str) -> None:
    from sklearn.svm._base import BaseLibSVM

    for obj in objects:
        if isinstance(obj, BaseLibSVM) and "support_vectors_" in obj.__dict__:
            problem = _svm_problem(obj)
            if problem:
                raise ModelError(f"{label}: a {type(obj).__name__} {problem}; the file was not written by "
                                 "scikit-learn")


def _svm_problem(svm) -> str | None:
    state = svm.__dict__
    if state.get("_sparse") or state.get("kernel") == "precomputed":
        return "is sparse or precomputed, which mlgate does not score"
    vectors = np.asarray(state["support_vectors_"])
    support = np.asarray(state.get("support_", []))
    counts = np.asarray(state.get("_n_support", []))
    dual = np.asarray(state.get("_dual_coef_", []))
    intercept = np.asarray(state.get("_intercept_", []))
    width = state.get("n_features_in_")
    n_sv = vectors.shape[0] if vectors.ndim == 2 else -1
    if vectors.ndim != 2 or not isinstance(width, (int, np.integer)) or vectors.shape[1] != width:
        return f"has support vectors of shape {vectors.shape} for {width!r} input columns"
    if support.shape != (n_sv,) or counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        return "has support counts that do not match its support vectors"
    classes = state.get("classes_")
    k = len(classes) if classes is not None else 2  # libsvm treats regression and one-class as two
    if len(counts) != k:
        return f"claims {len(counts)} classes in its support counts for {k} labels"
    pairs = k * (k - 1) // 2
    if classes is not None and int(counts.sum()) != n_sv:
        return "has support counts that do not add up to its support vectors"
    if dual.shape != (max(k - 1, 1), n_sv) or intercept.shape != (pairs,):
        return f"has coefficients of shape {dual.shape} and intercepts {intercept.shape} for {k} classes"
    for name in ("_probA", "_probB"):
        size = np.asarray(state.get(name, [])).size
        if size not in (0, pairs):
            return f"has {size} {name} values for {pairs} class pairs"
    return None
