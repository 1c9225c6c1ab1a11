"""The policy's ``drift:`` section: the scheduled drift watch and what a retrain PR is for.

Parsed beside the rest of the policy and held to the same rules: unknown keys are errors, and
every error names the file and the key path.
"""

from __future__ import annotations

import re
from typing import Any

from .canary import parse_source
from .spec import DriftSpec

_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_drift(r, value: Any, *, prefixed) -> DriftSpec | None:
    if value is None:
        return None
    d = r.mapping(value, "drift", {"reference", "current", "features", "threshold", "max_drop", "resamples"}, {"current"})
    current = d["current"]
    time_column = window_s = None
    if isinstance(current, dict):
        extra = {k: current[k] for k in ("time_column", "window") if k in current}
        current = {k: v for k, v in current.items() if k not in extra}
        if extra.get("time_column") is not None:
            time_column = r.string(extra["time_column"], "drift.current.time_column")
        if extra.get("window") is not None:
            window_s = _window(r, extra["window"])
            if time_column is None:
                raise r.fail("drift.current.time_column", "the column holding each row's time (a window needs it)")
    source = parse_source(r, current, "drift.current", prefixed)
    reference = d.get("reference")
    if reference is not None:
        reference = r.string(reference, "drift.reference")
        if reference.startswith(("http://", "https://")):
            raise r.fail("drift.reference", "a file in the workspace (an https holdout is the default reference)", reference)
    features = d.get("features")
    if features is not None:
        if not isinstance(features, list) or not features:
            raise r.fail("drift.features", "a non-empty list of column names", features)
        features = tuple(r.string(f, f"drift.features[{i}]") for i, f in enumerate(features))
        if len(set(features)) != len(features):
            raise r.fail("drift.features", "each column once", list(features))
    t = r.mapping(d.get("threshold") or {}, "drift.threshold", {"numeric", "categorical", "missing"})
    numeric = r.number(t.get("numeric", 0.1), "drift.threshold.numeric", low=0, low_open=True)
    # The Jensen–Shannon distance (natural log) never exceeds sqrt(ln 2) ≈ 0.833.
    categorical = r.number(t.get("categorical", 0.1), "drift.threshold.categorical", low=0, high=0.83, low_open=True)
    missing = r.number(t.get("missing", 0.1), "drift.threshold.missing", low=0, high=1, low_open=True, high_open=True)
    max_drop = d.get("max_drop")
    if max_drop is not None:
        max_drop = r.number(max_drop, "drift.max_drop", low=0)
    resamples = r.integer(d.get("resamples", 1000), "drift.resamples", low=200)
    return DriftSpec(current=source, time_column=time_column, window_s=window_s, reference=reference,
                     features=features, numeric_threshold=numeric, categorical_threshold=categorical,
                     missing_threshold=missing,
                     max_drop=max_drop, resamples=resamples)


def _window(r, value: Any) -> float:
    match = _WINDOW.match(value.strip()) if isinstance(value, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise r.fail("drift.current.window", "a duration such as 7d, 12h, 30m or 2w", value)
    return float(match.group(1)) * _UNIT_S[match.group(2)]
