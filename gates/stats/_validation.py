"""The one validation step each public function runs first.

Messages name the parameter and the bad value, so a caller (and a test with
``pytest.raises(match=...)``) sees exactly what was wrong without reading a traceback.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

ALTERNATIVES = ("two-sided", "greater", "less")


def show(value) -> str:
    """repr for messages, without numpy's ``np.float64(...)`` wrapping."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def check_confidence_level(confidence_level) -> float:
    if (
        isinstance(confidence_level, bool)
        or not isinstance(confidence_level, numbers.Real)
        or not 0.0 < float(confidence_level) < 1.0
    ):
        raise ValueError(f"confidence_level must be a number in (0, 1); got {show(confidence_level)}")
    return float(confidence_level)


def check_alternative(alternative) -> str:
    if alternative not in ALTERNATIVES:
        raise ValueError(
            f"alternative must be one of {', '.join(map(repr, ALTERNATIVES))}; got {show(alternative)}"
        )
    return alternative


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {show(value)}")
    return value


def check_null(null) -> float:
    if (
        isinstance(null, bool)
        or not isinstance(null, numbers.Real)
        or not math.isfinite(float(null))
    ):
        raise ValueError(f"null must be a finite number; got {show(null)}")
    return float(null)


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {show(value)}")
    return int(value)


def as_1d(name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    return arr


def check_same_length(**arrays: np.ndarray) -> int:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"arrays must have the same length; got {listed}")
    return next(iter(lengths.values()))


def as_finite_scores(name: str, values) -> np.ndarray:
    arr = as_1d(name, values)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; got dtype {arr.dtype}")
    if arr.dtype != np.float32:  # float32 stays compact (streamed scores); DeLong sorts it as is
        arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} must be finite; got {int(bad.sum())} non-finite value(s), "
            f"the first at index {int(np.flatnonzero(bad)[0])}"
        )
    return arr


def as_binary_target(name: str, values) -> np.ndarray:
    """A boolean positive mask from bool or 0/1 values (anything else is an error)."""
    arr = as_1d(name, values)
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind in "iuf":
        uniq = np.unique(arr)
        if np.all(np.isin(uniq, (0, 1))):
            return arr == 1
        raise ValueError(
            f"{name} must be bool or 0/1; got values {uniq[:5].tolist()}"
            + (" …" if len(uniq) > 5 else "")
        )
    raise ValueError(f"{name} must be bool or 0/1; got dtype {arr.dtype}")


def alpha_of(confidence_level: float) -> float:
    """The one-sided level matched to a two-sided interval: (1 − confidence_level) / 2."""
    return (1.0 - confidence_level) / 2.0
