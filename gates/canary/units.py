"""From a prediction log to the units a canary gate is judged on.

Shadow mode pairs the two models' rows of one request (the pair is the unit: its difference
is paired, so request difficulty cancels); split mode keeps each request as one row of one arm.
Units are ordered by request time: the confidence sequence is valid along any order fixed
before the outcomes are seen, and request time is one. (Late labels keep that true when they
arrive in request order, as a fixed delay does; see docs/canary.md.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.spec import Policy
from ..errors import InputError
from ..metrics import row_values

@dataclass(frozen=True)
class Units:
    """The judged units in time order. Shadow: one per request both models scored, with each
    model's prediction; split: one per request, ``treated`` marking the candidate's arm."""

    mode: str
    frame: pd.DataFrame  # shadow: request_id, time, pred_c, pred_p, score_c, score_p, label, where
                         # split: request_id, time, prediction, score, label, treated, where
    labelled: np.ndarray  # bool per unit
    # shadow: per production request in time order, whether the candidate scored it too
    covered: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)


def shadow_pairs(log: pd.DataFrame, candidate: int, production: int) -> Units:
    """One unit per request that both versions scored; a request only one scored is not a pair.

    Integer positions throughout — one factorisation of the request ids, int64 nanoseconds — and
    one frame built at the end: at ten million rows, label-indexed joins, per-row timestamps and
    intermediate frames were most of the judge's time."""
    models = log["model"].to_numpy()
    ci, pi = np.flatnonzero(models == candidate), np.flatnonzero(models == production)
    codes, _ = pd.factorize(log["request_id"], use_na_sentinel=False)
    slot = np.full(int(codes.max()) + 1 if len(codes) else 0, -1, dtype=np.int64)
    slot[codes[pi]] = pi  # ids are unique per model (the reader checks)
    scored = np.zeros(len(slot), dtype=bool)
    scored[codes[ci]] = True
    covered = scored[codes[pi]]  # the log is in time order, so production's rows are too
    partner = slot[codes[ci]]
    both = partner >= 0
    ci, pi = ci[both], partner[both]
    labels = log["label"].to_numpy(dtype=object)
    c_label, p_label = labels[ci], labels[pi]
    c_has, p_has = pd.notna(c_label), pd.notna(p_label)
    clash = c_has & p_has & (c_label != p_label)
    where = log["where"]
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise InputError(f"{where.iat[ci[i]]} and {where.iat[pi[i]]}: the two rows of request "
                         f"{log['request_id'].iat[ci[i]]!r} carry different labels ({c_label[i]!r}, {p_label[i]!r})")
    nanos = _nanos(log["time"])
    nanos = np.minimum(nanos[ci], nanos[pi])
    order = np.lexsort((codes[ci], nanos))  # time, then request (ties broken the same way on every run)
    ci, pi, nanos = ci[order], pi[order], nanos[order]
    prediction, score = log["prediction"].to_numpy(), log["score"].to_numpy(dtype=float)
    label = np.where(c_has, c_label, p_label)[order]
    frame = pd.DataFrame({
        "request_id": _taken(log["request_id"], ci), "time": pd.to_datetime(nanos, utc=True),
        "pred_c": prediction[ci], "pred_p": prediction[pi], "score_c": score[ci], "score_p": score[pi],
        "label": label, "where": _taken(where, ci),
    })
    return Units("shadow", frame, pd.notna(label), covered.astype(float))


def _taken(column: pd.Series, positions: np.ndarray) -> pd.Series:
    """Rows of a column kept in its own dtype (Arrow text stays Arrow: no Python strings made)."""
    return column.take(positions).reset_index(drop=True)


def _nanos(times: pd.Series) -> np.ndarray:
    return times.array.asi8 if hasattr(times.array, "asi8") else pd.to_datetime(times, utc=True).array.asi8


def split_arms(log: pd.DataFrame, candidate: int, production: int) -> Units:
    kept = log[log["model"].isin([candidate, production])]
    frame = pd.DataFrame({
        "request_id": kept["request_id"].to_numpy(), "time": kept["time"].to_numpy(),
        "prediction": kept["prediction"].to_numpy(), "score": kept["score"].to_numpy(dtype=float),
        "label": kept["label"].to_numpy(), "treated": (kept["model"] == candidate).to_numpy(),
        "where": kept["where"].to_numpy(),
    })
    frame = frame.sort_values(["time", "request_id"], kind="stable").reset_index(drop=True)
    return Units("split", frame, frame["label"].notna().to_numpy())


def classes_of(units: Units, policy: Policy) -> tuple:
    """The labels a classification log may hold: ``canary.classes``, else those predicted."""
    if policy.canary.classes is not None:
        return tuple(policy.canary.classes)
    preds = [units.frame[c] for c in (("pred_c", "pred_p") if units.mode == "shadow" else ("prediction",))]
    seen = pd.unique(pd.concat(preds, ignore_index=True).dropna())
    return tuple(sorted(seen, key=lambda v: (str(type(v)), v)))


def check_labels(units: Units, classes: tuple) -> None:
    labels = units.frame["label"]
    outside = labels.notna() & ~labels.isin(list(classes))
    if outside.any():
        i = int(np.flatnonzero(outside.to_numpy())[0])
        shown = ", ".join(repr(c) for c in classes[:10]) + (" …" if len(classes) > 10 else "")
        raise InputError(f"{units.frame['where'].iloc[i]}: column label: {labels.iloc[i]!r} is not one of the classes "
                         f"({shown}); set canary.classes if the models never predict it")


def positive_label(policy: Policy, classes: tuple):
    """The label ``score`` is the probability of (binary log_loss and brier)."""
    if policy.data.positive_label is not None:
        return policy.data.positive_label
    values = set(classes)
    if values <= {0, 1} or values <= {0.0, 1.0}:
        return 1
    if values <= {False, True}:
        return True
    raise InputError(f"canary: log_loss and brier read score as the probability of the positive label; the classes "
                     f"are {', '.join(map(repr, classes))}: set data.positive_label")


def metric_values(units: Units, metric: str, *, positive=None) -> tuple[np.ndarray, np.ndarray]:
    """The metric per labelled unit. Shadow: (the candidate's, production's) for each pair;
    split: (each row's value, whether the candidate served it)."""
    f = units.frame[units.labelled]
    if units.mode == "shadow":
        return _metric(f, metric, "pred_c", "score_c", positive), _metric(f, metric, "pred_p", "score_p", positive)
    return _metric(f, metric, "prediction", "score", positive), f["treated"].to_numpy(dtype=bool)


def _metric(f: pd.DataFrame, metric: str, pred: str, score: str, positive) -> np.ndarray:
    """The log's values checked (numbers for mae and mse, a score on every labelled row for
    log_loss and brier), then the metric's own per-row values."""
    y = f["label"]
    if metric == "accuracy":
        return row_values(metric, y.to_numpy(), f[pred].to_numpy())
    if metric in ("mae", "mse"):
        return row_values(metric, _numbers(f, "label", y), _numbers(f, pred, f[pred]))
    s = f[score].to_numpy(dtype=float)
    missing = np.isnan(s)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(f"{f['where'].iloc[i]}: column score: no score on a labelled row; {metric} needs the "
                         "probability of the positive label for every labelled row")
    return row_values(metric, y.to_numpy(), None, s, positive)


def _numbers(f: pd.DataFrame, column: str, values: pd.Series) -> np.ndarray:
    out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(out) | np.isinf(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        name = "prediction" if column.startswith("pred") else column
        raise InputError(f"{f['where'].iloc[i]}: column {name}: {values.iloc[i]!r} is not a number "
                         "(mae and mse compare numeric predictions with numeric labels)")
    return out


def disagreement(units: Units) -> np.ndarray:
    """Per pair (labelled or not), 1 when the two models' predictions differ (label-free)."""
    f = units.frame
    return (f["pred_c"].to_numpy() != f["pred_p"].to_numpy()).astype(float)
