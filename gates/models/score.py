"""Scoring: what a model (or a predictions file) says about the holdout's rows.

Labels come from ``predict`` only, never an argmax of the probabilities, so the gate
measures what will serve; probabilities are checked (finite, in [0, 1], rows summing to 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, ModelError
from ..holdout.read import Holdout, missing_column, plain
from .columns import feature_frame
from .consistency import check_batch_consistency
from .load import (EXAMPLE_SCORE_COLUMN, PREDICTION_COLUMN, PROBA_PREFIX, ROW_ID_COLUMN, SCORE_COLUMN, Model,
                   first_line)


@dataclass
class Scores:
    """What one model said about every holdout row, aligned to the holdout's order."""

    predicted: np.ndarray | None  # class labels (classification) or values (regression); None if not asked
    proba: np.ndarray | None = None  # (n, K) over the comparison's label order, or None
    example_score: np.ndarray | None = None  # a predictions file's per-example scores (mean_score), or None


def model_classes(model: Model) -> list:
    """Labels a model can output; for predictions files, the labels it did output."""
    if model.estimator is not None:
        classes = getattr(model.estimator, "classes_", None)
        return list(classes) if classes is not None else []
    if PREDICTION_COLUMN not in model.predictions.columns:  # a file of per-example scores only
        return []
    return list(pd.unique(model.predictions[PREDICTION_COLUMN].dropna()))


def score_model(
    model: Model,
    holdout: Holdout,
    *,
    labels: tuple | None,
    positive_label: Any,
    id_column: str | None,
    exclude: set[str],
    want_proba: bool,
    want_predictions: bool = True,
    want_example_scores: bool = False,
) -> Scores:
    """``want_predictions`` and ``want_example_scores`` concern predictions files: a policy of
    mean_score gates only needs the ``example_score`` column, never a ``prediction``."""
    if model.estimator is not None:
        return _score_estimator(model, holdout, labels=labels, exclude=exclude, want_proba=want_proba)
    return _score_predictions(model, holdout, labels=labels, positive_label=positive_label, id_column=id_column,
                              want_proba=want_proba, want_predictions=want_predictions,
                              want_example_scores=want_example_scores)


def _score_estimator(model: Model, holdout: Holdout, *, labels, exclude, want_proba) -> Scores:
    """Labels always come from the model's own ``predict``: that is what will serve.

    Deriving them from ``predict_proba``'s argmax would save a pass, but it trusts the
    artifact's internals (a tampered loss or link can make the two disagree on every row), and
    the gate must measure the model that production will run.
    """
    X = feature_frame(model, holdout, exclude)
    est = model.estimator
    if labels is not None:
        distinct_classes(model)
    try:
        predicted = np.asarray(est.predict(X))
        proba = raw = None
        if labels is not None and want_proba:
            if not hasattr(est, "predict_proba"):
                raise ModelError(
                    f"{model.source}: the {model.role} model has no predict_proba, which the gates on "
                    "roc_auc, log_loss or brier need"
                )
            raw = np.asarray(est.predict_proba(X))
            classes = list(getattr(est, "classes_", []))
            if raw.ndim != 2 or raw.shape != (len(predicted), len(classes)):
                raise ModelError(f"{model.source}: the {model.role} model's predict_proba returned shape "
                                 f"{raw.shape}, expected ({len(predicted)}, {len(classes)}) for its classes_")
            proba = _align_proba(check_probabilities(raw, f"{model.source}: the {model.role} model's predict_proba"),
                                 classes, labels)
    except ModelError:
        raise
    except Exception as exc:
        culprit = non_numeric(X) if isinstance(exc, (ValueError, TypeError)) else ""
        raise ModelError(
            f"{model.source}: the {model.role} model failed to predict on {holdout.source}{culprit} "
            f"({type(exc).__name__}: {first_line(exc)})"
        ) from None
    if len(predicted) != holdout.rows:
        raise ModelError(f"{model.source}: predict returned {len(predicted)} rows for {holdout.rows} holdout rows")
    if labels is None:
        predicted = _finite_values(predicted, model.source, "predict")
    if not model.extra.get(BATCH_CHECKED):  # once per loaded model: on a streamed holdout, its first chunk
        _batch_consistency(model, X, predicted, raw, holdout)
        model.extra[BATCH_CHECKED] = True
    return Scores(predicted=predicted, proba=proba)


BATCH_CHECKED = "batch_checked"


def _batch_consistency(model: Model, X, predicted, raw, holdout: Holdout) -> None:
    try:
        check_batch_consistency(model.estimator, X, predicted, raw, f"{model.source}: the {model.role} model")
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{model.source}: the {model.role} model failed to predict single rows of {holdout.source} "
                         f"({type(exc).__name__}: {first_line(exc)}); mlgate scores a few rows alone to check that "
                         "a model answers the same whatever its batch") from None


def distinct_classes(model: Model) -> None:
    """Classes name probability columns: a label listed twice leaves one column unnamed, and
    every metric computed from the probabilities misaligned. Any format: exit 2 naming it."""
    classes = getattr(model.estimator, "classes_", None)
    classes = [] if classes is None else list(classes)
    seen = set()
    for c in classes:
        key = plain(c)
        if key in seen:
            raise ModelError(f"{model.source}: the {model.role} model lists class {key!r} twice in its classes "
                             f"{[plain(v) for v in classes[:10]]}; each class must name one probability column")
        seen.add(key)


def non_numeric(X: pd.DataFrame) -> str:
    """When predict fails on text, the first feature column holding a value that is not a
    number, as ``": column 'age' holds a non-numeric value ('n/a')"``; else "".

    Asked only after a failure: a pipeline with an encoder reads text columns on purpose."""
    for column in X.columns:
        values = X[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        bad = pd.to_numeric(values, errors="coerce").isna() & values.notna()
        if bad.any():
            return f": column {column!r} holds a non-numeric value ({plain(values[bad].iloc[0])!r})"
    return ""


# A row's probabilities may miss 1 by rounding: a few ulps per class of the array's precision.
def _sum_tolerance(dtype, classes: int) -> float:
    eps = float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else float(np.finfo(float).eps)
    return max(1e-9, 64 * eps * max(classes, 1))


# Text files carry rounded probabilities (a float32 softmax written as CSV sums to 1.00000003,
# six significant digits per class miss by up to k·5e-7): rows within this of 1 are renormalised.
FILE_SUM_TOLERANCE = 1e-3


def check_probabilities(raw, what: str, *, sum_tolerance: float | None = None, at=None) -> np.ndarray:
    """Probabilities must be finite, in [0, 1] and sum to 1 per row, or nothing computed from
    them (AUC, log loss, Brier) means what it says; else exit 2 naming ``what`` and a row.

    ``sum_tolerance`` (for files) allows rounding and renormalises; a model's own output gets
    a few ulps of its dtype. ``at`` names a row by its index (default: ``data row N``)."""
    at = at or (lambda row: f"data row {row + 1}")
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ModelError(f"{what} returned non-numeric values") from None
    # Whole-array checks first, rows only to name a culprit: reducing (n, 2) along its rows
    # costs ~100x a flat pass, as much as scoring a linear model.
    finite = np.isfinite(values)
    if not finite.all():
        row = int(np.argmax(~finite.all(axis=1)))
        raise ModelError(f"{what} returned a non-finite probability (first at {at(row)})")
    if values.size and (values.min() < 0 or values.max() > 1):
        row = int(np.argmax(((values < 0) | (values > 1)).any(axis=1)))
        raise ModelError(f"{what} returned a probability outside [0, 1] (first at {at(row)})")
    tol = _sum_tolerance(np.asarray(raw).dtype, values.shape[1]) if sum_tolerance is None else sum_tolerance
    sums = row_sums(values)
    bad = np.abs(sums - 1.0) > tol
    if bad.any():
        row = int(np.argmax(bad))
        raise ModelError(f"{what} returned probabilities that do not sum to 1 (first at {at(row)})")
    return values / sums[:, None] if sum_tolerance is not None else values


def row_sums(values: np.ndarray) -> np.ndarray:
    """``values.sum(axis=1)`` bit for bit, faster: NumPy adds fewer than 8 columns in order,
    and adding whole columns beats reducing short rows ~4x."""
    if not 0 < values.shape[1] < 8:
        return values.sum(axis=1)
    sums = values[:, 0].copy()
    for j in range(1, values.shape[1]):
        sums += values[:, j]
    return sums


def _align_proba(raw: np.ndarray, classes: list, labels: tuple) -> np.ndarray:
    out = np.zeros((raw.shape[0], len(labels)))
    index = {label: i for i, label in enumerate(labels)}
    for j, c in enumerate(classes):
        out[:, index[c]] = raw[:, j]
    return out


@dataclass(frozen=True)
class FileRows:
    """Names a predictions file's own rows in messages: its ``row_id`` when it has one, and
    its line (CSV: the header is line 1 and each row one line), never the holdout's position."""

    ids: pd.Series | None
    csv: bool

    def name(self, i: int) -> str:
        return f"{ROW_ID_COLUMN} {plain(self.ids.iloc[i])!r}" if self.ids is not None else f"data row {i + 1}"

    def line(self, i: int) -> str:
        if self.csv:
            return f"line {i + 2}"
        return f"data row {i + 1}" if self.ids is not None else ""

    def at(self, i: int) -> str:
        line = self.line(i)
        return f"{self.name(i)}, {line}" if line else self.name(i)

    def lines(self, i: int, j: int) -> str:
        return f"lines {i + 2} and {j + 2}" if self.csv else f"data rows {i + 1} and {j + 1}"


def _score_predictions(model: Model, holdout: Holdout, *, labels, positive_label, id_column, want_proba,
                       want_predictions: bool = True, want_example_scores: bool = False) -> Scores:
    """Values are checked in the file's order (so messages name its rows), then put in the holdout's."""
    frame = model.predictions
    label = model.source
    csv = model.path is not None and ".csv" in [s.lower() for s in model.path.suffixes]
    rows = FileRows(frame[ROW_ID_COLUMN] if ROW_ID_COLUMN in frame.columns else None, csv)
    order = _holdout_order(frame, holdout, id_column, label, rows)
    example = _take(_example_scores(frame, label, rows), order) if want_example_scores else None
    if not want_predictions:
        return Scores(predicted=None, example_score=example)
    if PREDICTION_COLUMN not in frame.columns:
        raise missing_column(label, f"column {PREDICTION_COLUMN!r}", PREDICTION_COLUMN, list(frame.columns))
    predicted = frame[PREDICTION_COLUMN]
    if predicted.isna().any():
        first = int(np.argmax(predicted.isna().to_numpy()))
        raise DataError(f"{label}: column {PREDICTION_COLUMN!r} has missing values (first at {rows.at(first)})")
    if labels is None:
        values = _finite_values(pd.to_numeric(predicted, errors="coerce").to_numpy(float), label, PREDICTION_COLUMN, rows.at)
        return Scores(predicted=_take(values, order), example_score=example)
    proba = _proba_from_columns(frame, labels, positive_label, label, rows) if want_proba else None
    return Scores(predicted=_take(_match_labels(predicted.to_numpy(), labels), order), proba=_take(proba, order),
                  example_score=example)


def _example_scores(frame: pd.DataFrame, label: str, rows: FileRows) -> np.ndarray:
    """The ``example_score`` column: one finite number per row (a judge's grade, 1/0 for pass/fail)."""
    if EXAMPLE_SCORE_COLUMN not in frame.columns:
        raise missing_column(label, f"column {EXAMPLE_SCORE_COLUMN!r} (each example's score, which a mean_score gate "
                             "compares)", EXAMPLE_SCORE_COLUMN, list(frame.columns))
    column = frame[EXAMPLE_SCORE_COLUMN]
    values = pd.to_numeric(column, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        line = f" ({rows.line(first)})" if rows.line(first) else ""
        held = "an empty cell" if pd.isna(column.iloc[first]) else f"{plain(column.iloc[first])!r}"
        raise DataError(f"{label}: column {EXAMPLE_SCORE_COLUMN!r} must hold a finite number per row; "
                        f"{rows.name(first)} holds {held}{line}")
    return values


def _take(values, order):
    return values if values is None or order is None else values[order]


def _holdout_order(frame: pd.DataFrame, holdout: Holdout, id_column, label: str, rows: FileRows) -> np.ndarray | None:
    """For each holdout row, the file row holding its prediction; None when rows align by order."""
    if id_column is None:
        if ROW_ID_COLUMN in frame.columns:
            # Joining a file that carries ids by row order pairs predictions with other rows.
            raise DataError(f"{label}: has a {ROW_ID_COLUMN!r} column but data.id_column is unset; set data.id_column "
                            "to the holdout's id column (a file with ids is never joined by row order)")
        if len(frame) != holdout.rows:
            raise DataError(
                f"{label}: has {len(frame)} rows but the holdout {holdout.source} has {holdout.rows}; "
                "rows align by order (or set data.id_column and a row_id column)"
            )
        return None
    if ROW_ID_COLUMN not in frame.columns:
        raise DataError(f"{label}: column {ROW_ID_COLUMN!r} is required because data.id_column is set")
    ids = frame[ROW_ID_COLUMN]
    dup = ids.duplicated().to_numpy()
    if dup.any():
        second = int(np.argmax(dup))
        first = int(np.argmax((ids == ids.iloc[second]).to_numpy()))
        raise DataError(f"{label}: column {ROW_ID_COLUMN!r} has duplicated ids, e.g. {plain(ids.iloc[second])!r} "
                        f"({rows.lines(first, second)})")
    wanted = holdout.frame[id_column]
    key_type = _common_key(wanted, ids)
    file_keys = ids.map(key_type)
    wanted_keys = wanted.map(key_type)
    missing = ~wanted_keys.isin(file_keys)
    extra = (~file_keys.isin(wanted_keys)).to_numpy()
    if missing.any() or extra.any():
        problems = []
        if missing.any():
            problems.append(f"{int(missing.sum())} holdout row(s) missing (e.g. id {plain(wanted[missing].iloc[0])!r})")
        if extra.any():
            problems.append(f"{int(extra.sum())} extra row(s) not in the holdout (e.g. {rows.at(int(np.argmax(extra)))})")
        raise DataError(f"{label}: rows do not match the holdout by {ROW_ID_COLUMN!r}: {'; '.join(problems)}")
    position = pd.Series(np.arange(len(ids)), index=pd.Index(file_keys))
    return position.loc[wanted_keys.to_numpy()].to_numpy()


def _proba_from_columns(frame: pd.DataFrame, labels: tuple, positive_label, label: str, rows: FileRows) -> np.ndarray:
    per_class = {c[len(PROBA_PREFIX):]: c for c in frame.columns if str(c).startswith(PROBA_PREFIX)}
    if per_class:
        missing = [lab for lab in labels if str(lab) not in per_class]
        if missing:
            raise DataError(f"{label}: no {PROBA_PREFIX}<label> column for label(s) {missing}")
        proba = np.column_stack([_probabilities(frame[per_class[str(lab)]], label, rows) for lab in labels])
        try:
            return check_probabilities(proba, f"{label}: columns {PROBA_PREFIX}<label>", sum_tolerance=FILE_SUM_TOLERANCE,
                                       at=rows.at)
        except ModelError as exc:
            raise DataError(str(exc)) from None
    if SCORE_COLUMN in frame.columns:
        if len(labels) != 2:
            raise DataError(f"{label}: column {SCORE_COLUMN!r} is for binary tasks; give {PROBA_PREFIX}<label> per class")
        if positive_label is None:
            raise ConfigError("data.positive_label: needed to read the score column of a predictions file")
        s = _probabilities(frame[SCORE_COLUMN], label, rows)
        proba = np.empty((len(s), 2))
        pos = labels.index(positive_label)
        proba[:, pos] = s
        proba[:, 1 - pos] = 1.0 - s
        return proba
    raise DataError(
        f"{label}: the gates need scores: add a {SCORE_COLUMN!r} column (binary) or {PROBA_PREFIX}<label> columns"
    )


def _probabilities(column: pd.Series, label: str, rows: FileRows) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        first = int(np.argmax(bad))
        line = f" ({rows.line(first)})" if rows.line(first) else ""
        raise DataError(f"{label}: column {column.name!r} must hold probabilities in [0, 1]; {rows.name(first)} holds "
                        f"{plain(column.iloc[first])!r}{line}")
    return values


def _finite_values(values: np.ndarray, label: str, what: str, at=None) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        where = at(first) if at is not None else f"data row {first + 1}"
        raise DataError(f"{label}: {what} gave {int(bad.sum())} non-finite value(s) (first at {where})")
    return values


def _match_labels(values: np.ndarray, labels: tuple) -> np.ndarray:
    """Predictions files are text: map '1' back to the holdout's 1 so labels compare equal."""
    by_str = {str(lab): lab for lab in labels}
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v if v in by_str.values() else by_str.get(str(v), v)
    return out


def _common_key(a: pd.Series, b: pd.Series):
    return str if (a.dtype == object or b.dtype == object) else (lambda v: v)
