"""XGBoost and LightGBM native model files, scored by their own libraries.

Why a pull request's file is safe to load: an XGBoost JSON or UBJSON model and a LightGBM text
model are data that each library's C++ parser reads into trees; they hold no pickled Python
object, so loading one runs no code from the file. (A pickled ``XGBClassifier`` is a pickle:
``.pkl`` with ``--trust-pickle``.)

The file's objective says the task. Classes are 0..K-1, numbered as ``XGBClassifier`` and
``LGBMClassifier`` number them, and labels follow those wrappers' ``predict``: probability
> 0.5 for binary, the first argmax for multiclass; every tree is scored (a file whose
``best_iteration`` stops short of its trees is refused by ``booster_checks``, which checks every
file before the library reads it). Feature names come from the booster when it has them
(``feature_names_in_``; LightGBM writes a space in a name as ``_`` and ``Column_0``… when it
had none), else its width (``n_features_in_``).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from ..errors import ModelError
from .booster_checks import check_lightgbm, check_xgboost, parse_xgboost
from .load import first_line
from .shared_run import SharedRun

XGBOOST_CLASSIFIERS = ("binary:logistic", "multi:softprob", "multi:softmax")


LIGHTGBM_CLASSIFIERS = ("binary", "multiclass")


LIGHTGBM_REGRESSORS = ("regression", "regression_l1", "huber", "fair", "poisson", "quantile", "mape", "gamma",
                       "tweedie")


def _library(module: str, extra: str, label: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModelError(f"{label}: a {extra} model file needs {module}, which is not installed: "
                         f'pip install "mlgate[{extra}]"') from None


def _reason(exc: Exception) -> str:
    """XGBoost's messages start with a time and a source path: keep what follows."""
    return re.sub(r"^\[[0-9:]+\] [^ ]+:[0-9]+: ", "", first_line(exc))


# ----------------------------------------------------------------------------- XGBoost


def load_xgboost(data: bytes, suffix: str, label: str):
    """A ``.json`` or ``.ubj`` file XGBoost's ``save_model`` wrote."""
    head = data[:256]
    if suffix == ".json" and not re.match(rb'\s*\{\s*"learner"\s*:', head):
        raise ModelError(f"{label}: not an XGBoost model file (mlgate reads a .json model as XGBoost's, an object "
                         'whose first key is "learner", as Booster.save_model writes it)')
    if suffix == ".ubj" and not (head[:1] == b"{" and b"learner" in head[:32]):
        raise ModelError(f"{label}: not an XGBoost UBJSON model file (no \"learner\" object at its start)")
    checked = check_xgboost(parse_xgboost(data, suffix, label), label)  # before XGBoost sees a byte
    xgb = _library("xgboost", "xgboost", label)
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(data))
        config = json.loads(booster.save_config())["learner"]
        objective = config["objective"]["name"]
        params = config["learner_model_param"]
        loaded = {"num_feature": booster.num_features(), "num_class": int(params["num_class"]),
                  "iterations": booster.num_boosted_rounds()}
    except (xgb.core.XGBoostError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{label}: not a readable XGBoost model ({_reason(exc)})") from None
    if loaded != checked:
        raise ModelError(f"{label}: XGBoost read the model as {loaded}, not as the file says ({checked})")
    if objective.startswith("multi:") and checked["num_class"] < 2 or \
            objective == "binary:logistic" and checked["num_class"] > 1:
        raise ModelError(f"{label}: XGBoost objective {objective} with num_class {checked['num_class']}")
    iterations = (0, 0)  # every tree: a best_iteration short of them was refused by the checks
    names, width = _names(booster.feature_names, booster.num_features())

    def predict(X: pd.DataFrame, kind: str = "value") -> np.ndarray:
        rows = X if names is not None else X.to_numpy()
        return booster.inplace_predict(rows, iteration_range=iterations, predict_type=kind)

    if objective == "binary:logistic":
        return BoosterClassifier(lambda X: _two_columns(predict(X)), 2, names, width, label)
    if objective in ("multi:softprob", "multi:softmax"):
        k = int(params["num_class"])
        if objective == "multi:softmax":  # XGBClassifier.predict_proba: the softmax of the margins
            return BoosterClassifier(lambda X: _softmax(predict(X, "margin")), k, names, width, label)
        return BoosterClassifier(predict, k, names, width, label)
    if objective.startswith("reg:") or objective == "count:poisson":
        return BoosterRegressor(predict, names, width, label)
    raise ModelError(f"{label}: XGBoost objective {objective!r} is not one mlgate scores; it reads "
                     f"{', '.join(XGBOOST_CLASSIFIERS)}, reg:* and count:poisson")


def _softmax(margin: np.ndarray) -> np.ndarray:
    shifted = np.exp(margin - margin.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - p, p])


def _names(names, width: int) -> tuple[list[str] | None, int]:
    if names and [str(n) for n in names] != [f"Column_{i}" for i in range(len(names))]:
        return [str(n) for n in names], width
    return None, width


# ----------------------------------------------------------------------------- LightGBM


def load_lightgbm(data: bytes, label: str):
    """A text model LightGBM's ``save_model`` wrote (it starts with a ``tree`` line)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text.split("\n", 1)[0].strip() != "tree":
        raise ModelError(f"{label}: not a LightGBM model file (mlgate reads a .txt model as LightGBM's text "
                         "format, which starts with a 'tree' line, as Booster.save_model writes it)")
    text = text.replace("\r\n", "\n")  # as Windows writes it; LightGBM is given what was checked
    checked = check_lightgbm(text, label)  # before LightGBM sees a byte
    objective = checked["objective"]
    lgb = _library("lightgbm", "lightgbm", label)
    try:
        booster = lgb.Booster(model_str=text)
        loaded = {"objective": objective, "num_class": checked["num_class"], "trees": booster.num_trees(),
                  "per_iteration": booster.num_model_per_iteration(), "num_feature": booster.num_feature()}
    except (lgb.basic.LightGBMError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{label}: not a readable LightGBM model ({first_line(exc)})") from None
    if loaded != checked:
        raise ModelError(f"{label}: LightGBM read the model as {loaded}, not as the file says ({checked})")
    names, width = _names(booster.feature_name(), booster.num_feature())
    if objective == "binary":
        return BoosterClassifier(lambda X: _two_columns(booster.predict(X)), 2, names, width, label)
    if objective == "multiclass":
        return BoosterClassifier(booster.predict, checked["num_class"], names, width, label)
    if objective in LIGHTGBM_REGRESSORS:
        return BoosterRegressor(booster.predict, names, width, label)
    why = " (one-vs-rest probabilities do not sum to 1)" if objective == "multiclassova" else ""
    raise ModelError(f"{label}: LightGBM objective {objective!r} is not one mlgate scores{why}; it reads "
                     f"{', '.join(LIGHTGBM_CLASSIFIERS + LIGHTGBM_REGRESSORS)}")


# ----------------------------------------------------------------------------- the adapters


class Booster:
    """What both kinds share: the features the booster reads, and how it scores a frame."""

    def __init__(self, score, names: list[str] | None, width: int, label: str):
        self.score, self.label = score, label
        if names is not None:
            self.feature_names_in_ = np.array(names, dtype=object)
        else:
            self.n_features_in_ = width


class BoosterClassifier(Booster, SharedRun):
    """Probabilities from the booster; labels by the scikit-learn wrapper's rule on them."""

    def __init__(self, proba, classes: int, names, width: int, label: str):
        super().__init__(proba, names, width, label)
        self.classes_ = np.arange(classes)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        proba = self._proba(X)
        self.keep(X, proba)
        if len(self.classes_) == 2:
            return (proba[:, 1] > 0.5).astype(np.int64)
        return np.argmax(proba, axis=1)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        kept = self.kept(X)
        return kept if kept is not None else self._proba(X)

    def _proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = np.asarray(self.score(X))
        if proba.shape != (len(X), len(self.classes_)):
            raise ModelError(f"{self.label}: the booster gave probabilities of shape {proba.shape} for {len(X)} rows "
                             f"and {len(self.classes_)} classes")
        return proba


class BoosterRegressor(Booster):
    """Values straight from the booster."""

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        values = np.asarray(self.score(X))
        if values.shape != (len(X),):
            raise ModelError(f"{self.label}: the booster gave values of shape {values.shape} for {len(X)} rows")
        return values
