"""The drift watch's story: a recent window of production inputs against the reference.

Per feature a distance with a bootstrap interval: it drifts when the interval's lower end is
above the threshold that matters, after Holm across features (so twenty features do not give
twenty chances of a false alarm); the production model's scores the same way; and, when the
window carries labels, the production model's per-row metrics now against on the reference,
drifting when the drop is shown beyond ``max_drop``. A column whose type changed (numbers
became text) is drift, never a crash.

Two passes over the reference (a uniform sample for the bin edges, then the counts) and one
over the window: memory is bounded by one chunk and the sketches, whatever the window's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

import itertools

import numpy as np
import pandas as pd

from ..config.spec import Policy
from ..errors import ConfigError, InputError
from .distances import Distance, categorical_distance, drifted, numeric_distance
from .missing import missing_share
from .model_side import Moments, PerformanceDrift, model_side, performance_drift
from .sketches import CategoricalSketch, NumericSketch, numeric_edges
from .window import current_source, reference_source, reference_table

SAMPLE_ROWS = 200_000  # reference rows the bin edges are drawn from


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str  # numeric | categorical | type changed
    distance: Distance | None
    drifted: bool
    note: str = ""


@dataclass(frozen=True)
class DriftResult:
    drift: bool
    reasons: tuple[str, ...]
    features: tuple[FeatureDrift, ...]  # worst first
    prediction: FeatureDrift | None
    performance: tuple[PerformanceDrift, ...]
    reference: dict
    current: dict
    alpha: float
    notes: tuple[str, ...] = ()
    judged_at: str = ""


@dataclass
class _Column:
    kind: str
    sketch_ref: object = None
    sketch_cur: object = None
    changed: str | None = None  # an example value that shows the type changed
    non_numeric_ref: bool = False
    wrong: int = 0  # current values that are not numbers in a numeric column
    seen: int = 0  # current values present (not missing)


def watch_drift(policy: Policy, workspace: Path, *, registry=None, env: Mapping[str, str] | None = None,
                now: datetime | None = None) -> DriftResult:
    spec = policy.drift
    if spec is None:
        raise ConfigError(f"{policy.source}: drift: no drift section; add one to watch for drift (README: drift)")
    now = now or datetime.now(timezone.utc)
    path, label, sealed = reference_table(policy, workspace, env)
    try:
        return _watch(policy, workspace, path, label, registry, env, now)
    finally:
        if sealed is not None:
            sealed.discard()


def _watch(policy, workspace, path, label, registry, env, now) -> DriftResult:
    spec, alpha = policy.drift, policy.alpha
    reserved = {policy.data.target, policy.data.id_column, policy.data.group_column} - {None}
    have = reference_source(path, label, None).columns
    features = list(spec.features) if spec.features else [c for c in have if c not in reserved]
    missing = [f for f in features if f not in have]
    if missing:
        raise InputError(f"drift.features: {missing[:10]} not in the reference {label} (its columns: {have[:30]})")
    if not features:
        raise InputError(f"drift: the reference {label} has no feature columns besides {sorted(reserved)}")
    side, why = model_side(policy, workspace, registry, features)
    notes = [why] if why else []
    target = policy.data.target
    ref_columns = list(dict.fromkeys(features + (side.columns if side else []) + ([target] if target in have else [])))
    window = current_source(spec, workspace, ref_columns, env=env, now=now)
    absent = [f for f in features if f not in window.columns]
    if absent:
        raise InputError(f"{spec.current.where}: feature column(s) {absent[:10]} missing from the current data "
                         f"(its columns: {list(window.columns)[:30]})")
    if side is not None and any(c not in window.columns for c in side.columns):
        notes.append("no prediction drift: the window lacks columns the production model reads")
        side = None
    head = []  # the window's first rows (up to SAMPLE_ROWS, whatever the chunking), kept for the edges
    for chunk in window.chunks:
        head.append(chunk)
        if sum(len(c) for c in head) >= SAMPLE_ROWS:
            break
    first = pd.concat(head).iloc[:SAMPLE_ROWS] if head else None
    chunks = itertools.chain(head, window.chunks)
    # Bin edges from the reference's sample and the window's first chunk: edges from the
    # reference alone cannot see a spread inside one of its bins (a constant, a 0/1 flag).
    columns = _plan(features, reference_source(path, label, ref_columns), first)
    ref_rows, ref_pred, ref_perf = _read_reference(path, label, ref_columns, columns, side, target)
    cur_pred = NumericSketch(ref_pred.edges) if isinstance(ref_pred, NumericSketch) else CategoricalSketch()
    cur_perf = {m: Moments() for m in ref_perf}
    rows = 0
    labelled = target in window.columns
    unscored = 0
    failed = None
    for chunk in chunks:
        rows += len(chunk)
        for name, col in columns.items():
            _add(col, chunk[name], current=True)
        if side is None:
            continue
        complete = _complete(chunk, side.columns)  # a model cannot score a row with a gap
        unscored += int((~complete).sum())
        if not complete.any():
            continue
        part = chunk.loc[complete]
        try:
            watched, predicted, proba = side.outputs(part)
        except (ValueError, TypeError) as exc:  # the model cannot read the window: an alarm, not a note
            failed = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            side, ref_pred, cur_perf = None, None, {}
            continue
        cur_pred.add(watched)
        _add_performance(cur_perf, side, part, target, predicted, proba)
    if unscored:
        notes.append(f"{unscored:,} window rows with a missing model input were not scored by the production model")
    if window.skipped:
        notes.append(f"{window.skipped:,} rows with a time that is not a time were left out of the window")
    if rows == 0:
        span = f" in the last {_span(spec.window_s)} before {now:%Y-%m-%d %H:%M} UTC" if spec.window_s else ""
        raise InputError(f"{spec.current.where}: no rows{span}: nothing to compare with the reference")
    found = _features(columns, spec, alpha)
    prediction = None
    if side is not None and ref_pred is not None:
        prediction = _prediction(ref_pred, cur_pred, side.kind, spec, alpha)
    performance = tuple(performance_drift(m, ref_perf[m], cur_perf[m], alpha=alpha, max_drop=spec.max_drop)
                        for m in cur_perf if cur_perf[m].n >= 2 and ref_perf[m].n >= 2)
    if side is not None and not labelled and side.metrics:
        notes.append(f"no performance check: the window has no {target!r} column")
    reasons = [f"{f.name}: {_why(f)}" for f in found if f.drifted]
    if failed is not None:
        reasons.append(f"the production model could not score the window ({failed})")
    notes += [f"{name}: {col.wrong:,} of {col.seen:,} values are not numbers (read as missing)"
              for name, col in columns.items() if col.wrong and col.changed is None]
    if prediction is not None and prediction.drifted:
        reasons.append(f"the production model's predictions: {_why(prediction)}")
    reasons += [f"{p.metric} dropped by {p.drop:.4g} (interval {p.interval[0]:.4g} to {p.interval[1]:.4g}), "
                f"beyond max_drop {p.max_drop:g}" for p in performance if p.drifted]
    drift = bool(reasons)
    if not drift:
        reasons = [f"no drift shown in {len(found)} feature(s)" + (", the predictions" if prediction else "")
                   + (" or performance" if performance else "")]
    window_text = {"source": window.described or spec.current.where, "rows": rows,
                   "window": _span(spec.window_s) if spec.window_s else None,
                   "start": (pd.Timestamp(now) - pd.Timedelta(seconds=spec.window_s)).isoformat() if spec.window_s else None,
                   "end": pd.Timestamp(now).isoformat()}
    return DriftResult(drift, tuple(reasons), tuple(found), prediction, performance,
                       {"source": label, "rows": ref_rows}, window_text, alpha, tuple(notes),
                       now.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"))


def _plan(features: list[str], source, first: pd.DataFrame | None) -> dict[str, _Column]:
    """Kinds from the reference's types; numeric bin edges from a uniform sample of it and the
    window's first chunk."""
    rng = np.random.default_rng(0)
    kept, keys = None, None
    numeric = {f: True for f in features}
    for chunk in source.chunks:
        for f in features:
            s = chunk[f]
            numeric[f] &= bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))
        k = rng.random(len(chunk))
        part = chunk[features].reset_index(drop=True)
        kept = part if kept is None else pd.concat([kept, part], ignore_index=True)
        keys = k if keys is None else np.concatenate([keys, k])
        if len(kept) > SAMPLE_ROWS:
            top = np.argpartition(keys, SAMPLE_ROWS)[:SAMPLE_ROWS]
            kept, keys = kept.iloc[top].reset_index(drop=True), keys[top]
    if kept is None or kept.empty:
        raise InputError(f"{source.name}: the reference has no rows")
    columns = {}
    for f in features:
        if numeric[f]:
            values = kept[f].to_numpy(dtype=float)
            if first is not None and f in first.columns:
                extra = _numbers(first[f]).to_numpy(dtype=float)
                values = np.concatenate([values, extra[:SAMPLE_ROWS]])
            edges = numeric_edges(values[np.isfinite(values)])
            columns[f] = _Column("numeric", NumericSketch(edges), NumericSketch(edges))
        else:
            text = kept[f].dropna()
            non_numeric = pd.to_numeric(text.astype(str), errors="coerce").isna().any() if len(text) else False
            columns[f] = _Column("categorical", CategoricalSketch(), CategoricalSketch(), non_numeric_ref=bool(non_numeric))
    return columns


def _read_reference(path, label, ref_columns, columns, side, target):
    rows = 0
    perf = {m: Moments() for m in (side.metrics if side else [])}
    scores = []  # a numeric model side: the reference's scores, whose edges are their own
    ref_pred = CategoricalSketch() if side is not None and side.kind == "categorical" else None
    for chunk in reference_source(path, label, ref_columns).chunks:
        rows += len(chunk)
        for name, col in columns.items():
            _add(col, chunk[name], current=False)
        if side is not None:
            watched, predicted, proba = side.outputs(chunk)
            if ref_pred is None:
                scores.append(np.asarray(watched, dtype=float))
            else:
                ref_pred.add(watched)
            _add_performance(perf, side, chunk, target, predicted, proba)
    if side is not None and side.kind == "numeric":
        values = np.concatenate(scores) if scores else np.array([])
        ref_pred = NumericSketch(numeric_edges(values[~np.isnan(values)][:SAMPLE_ROWS]))
        ref_pred.add(values)
    return rows, ref_pred, perf


def _add_performance(perf: dict, side, chunk: pd.DataFrame, target: str, predicted, proba) -> None:
    """Each per-row metric's moments over the chunk's labelled rows (none without the target)."""
    if not perf or target not in chunk.columns:
        return
    y = chunk[target].to_numpy()
    ok = pd.notna(y)
    for metric, moments in perf.items():
        moments.add(side.metric_rows(metric, y[ok], predicted[ok], None if proba is None else proba[ok]))


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers, with text that is not one and ±inf as missing (an infinite cell has no place on
    an axis; it must not stop the watch)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.where(np.isfinite(numbers.to_numpy(dtype=float)))


def _complete(chunk: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return chunk[columns].notna().all(axis=1).to_numpy()


TYPE_CHANGE_SHARE = 0.01  # non-numbers in a numeric column beyond this share: its type changed


def _add(col: _Column, values: pd.Series, *, current: bool) -> None:
    sketch = col.sketch_cur if current else col.sketch_ref
    if col.kind == "numeric":
        numbers = _numbers(values)
        if current:
            raw = pd.to_numeric(values, errors="coerce")
            wrong = raw.isna() & values.notna()
            col.wrong += int(wrong.sum())
            col.seen += int(values.notna().sum())
            if col.changed is None and col.wrong > TYPE_CHANGE_SHARE * max(col.seen, 1) and wrong.any():
                col.changed = f"{repr(values[wrong].iloc[0])} and more: {col.wrong:,} of {col.seen:,} values are not numbers"
        sketch.add(numbers.to_numpy(dtype=float))
        return
    if current and col.non_numeric_ref and pd.api.types.is_numeric_dtype(values) and values.notna().any() \
            and col.changed is None:
        col.changed = f"numbers such as {values.dropna().iloc[0]!r}"
    sketch.add(values.to_numpy(dtype=object))


def enough_resamples(spec, features: int, alpha: float) -> int:
    """Holm's first step tests at alpha/m, and a bootstrap p-value is at least 1/(B+1): with many
    features the configured resamples could never show drift, so B grows with m."""
    return max(spec.resamples, int(np.ceil(1.25 * (features + 1) / alpha)))


def _features(columns: dict[str, _Column], spec, alpha: float) -> list[FeatureDrift]:
    measured, changed = [], []
    resamples = enough_resamples(spec, 2 * len(columns), alpha)  # a distance and a missing share each
    for i, (name, col) in enumerate(columns.items()):
        if col.changed is not None and col.kind == "numeric" and col.wrong <= TYPE_CHANGE_SHARE * col.seen:
            col.changed = None  # a few stray values, read as missing (the notes say how many)
        if col.changed is not None:
            changed.append(FeatureDrift(name, "type changed", None, True,
                                        f"was {col.kind} in the reference; the window holds {col.changed}"))
            continue
        if col.sketch_cur.n == 0 or col.sketch_ref.n == 0:
            side, sketch = ("the window", col.sketch_cur) if col.sketch_cur.n == 0 else ("the reference", col.sketch_ref)
            changed.append(FeatureDrift(name, "all missing", None, side == "the window",
                                        f"no values in {side} ({sketch.missing:,} missing)"))
            continue
        if col.kind == "numeric":
            d = numeric_distance(col.sketch_ref, col.sketch_cur, threshold=spec.numeric_threshold, alpha=alpha,
                                 resamples=resamples, seed=i)
        else:
            d = categorical_distance(col.sketch_ref, col.sketch_cur, threshold=spec.categorical_threshold,
                                     alpha=alpha, resamples=resamples, seed=i)
        measured.append((name, col.kind, d))
        share = missing_share(col.sketch_ref, col.sketch_cur, threshold=spec.missing_threshold, alpha=alpha)
        if share is not None:
            measured.append((name, "missing share", share))
    flags = drifted([d for _, _, d in measured], alpha) if measured else []
    found = [FeatureDrift(n, k, d, bool(f)) for (n, k, d), f in zip(measured, flags)]
    found.sort(key=lambda f: -(abs(f.distance.distance) / f.distance.threshold))
    return changed + found


def _prediction(ref, cur, kind: str, spec, alpha: float) -> FeatureDrift:
    if kind == "numeric":
        d = numeric_distance(ref, cur, threshold=spec.numeric_threshold, alpha=alpha, resamples=spec.resamples, seed=99)
    else:
        d = categorical_distance(ref, cur, threshold=spec.categorical_threshold, alpha=alpha, resamples=spec.resamples,
                                 seed=99)
    return FeatureDrift("prediction", kind, d, d.p_value < alpha)


def _why(f: FeatureDrift) -> str:
    if f.distance is None:
        return f"{f.kind} ({f.note})"
    d = f.distance
    if d.kind == "missing":
        return (f"the share of missing values moved by {d.distance:+.3g} (interval {d.interval[0]:+.3g} to "
                f"{d.interval[1]:+.3g}), beyond ±{d.threshold:g}")
    what = "normalised Wasserstein" if d.kind == "numeric" else "Jensen–Shannon distance"
    return f"{what} {d.distance:.3g} (interval {d.interval[0]:.3g} to {d.interval[1]:.3g}) above {d.threshold:g}"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


