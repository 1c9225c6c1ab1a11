"""Which holdout columns a model is given, and in which order.

A model fitted on a DataFrame names its columns (``feature_names_in_``, or a per-column ONNX
graph's inputs), and is given exactly those, in its own order, whatever the holdout's order. A
model fitted on an array knows only how many columns it reads; it is given ``data.features``
when the policy lists them, else every column except the ones mlgate reads for itself — the
target, the row id, the group and the slices. The label and the row id are never given: a model
fed the label scores perfectly on the holdout and serves blind.
"""

from __future__ import annotations

from dataclasses import dataclass
import re

import pandas as pd

from ..errors import ModelError


@dataclass(frozen=True)
class Columns:
    held_out: frozenset  # the target and the row id: never given to a model
    bookkeeping: frozenset = frozenset()  # the group and slice columns: given only when a model names them
    features: tuple | None = None  # data.features: exactly these, in this order

    @classmethod
    def of(cls, value) -> "Columns":
        """``value`` may be a plain set of held-out names (the target, the id)."""
        return value if isinstance(value, Columns) else cls(frozenset(value))


def feature_frame(model, holdout, columns) -> pd.DataFrame:
    """The columns ``model`` reads, from ``holdout``'s frame, in the model's order."""
    columns = Columns.of(columns)
    frame = holdout.frame
    est = model.estimator
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        fed = [n for n in names if n in columns.held_out]
        if fed:
            raise ModelError(
                f"{model.source}: the {model.role} model reads column(s) {fed[:5]}, which the gate holds out "
                "(the target or the row id); a model must not be fed the label"
            )
        if columns.features is not None and set(columns.features) != set(names):
            unknown = sorted(set(columns.features) - set(names))
            unlisted = [n for n in names if n not in columns.features]
            parts = ([f"lists {unknown[:10]}, which the model was not fitted on"] if unknown else []) + (
                [f"omits {unlisted[:10]}, which the model reads"] if unlisted else [])
            raise ModelError(f"{model.source}: data.features {' and '.join(parts)}; the {model.role} model reads "
                             f"{names[:20]}")
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise ModelError(
                f"{model.source}: the {model.role} model expects column(s) {missing[:10]} that the holdout "
                f"{holdout.source} lacks{_sanitised_hint(missing, frame.columns)}"
            )
        return frame[names]
    if columns.features is not None:
        missing = [n for n in columns.features if n not in frame.columns]
        if missing:
            raise ModelError(f"{model.source}: data.features lists column(s) {missing[:10]} that the holdout "
                             f"{holdout.source} lacks")
        chosen = list(columns.features)
        told = "data.features lists"
    else:
        skipped = columns.held_out | columns.bookkeeping
        chosen = [c for c in frame.columns if c not in skipped]
        told = "the holdout has, besides the target, id, group and slice columns,"
    expected = getattr(est, "n_features_in_", None)
    if expected is not None and expected != len(chosen):
        raise ModelError(
            f"{model.source}: the {model.role} model expects {expected} feature columns; {told} {len(chosen)} "
            f"({chosen[:10]}); set data.features to the columns it was fitted on, in order"
        )
    return frame[chosen]


def _sanitised_hint(missing: list[str], present) -> str:
    """LightGBM and skl2onnx store ``mean radius`` as ``mean_radius``: say so when that explains it."""
    by_key: dict[str, list[str]] = {}
    for column in map(str, present):
        by_key.setdefault(re.sub(r"[^0-9A-Za-z]", "_", column), []).append(column)
    pairs = [(n, by_key[n][0]) for n in missing if len(by_key.get(n, [])) == 1]
    if not pairs:
        return ""
    shown = ", ".join(f"{n!r} is {c!r}" for n, c in pairs[:3])
    return (f" (its library replaced spaces and symbols in the names it was fitted on with '_': {shown}? "
            "rename the holdout's columns to match, or refit on matching names)")
