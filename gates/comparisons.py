"""Which paired test decides each metric, with or without groups, and the classical tests
reported beside it (they never decide).

DESIGN.md assigns the tests: confusion-matrix metrics by the score interval on the joint cells
(or a cluster bootstrap over groups), roc_auc by DeLong (Obuchowski's clustered DeLong with
groups; averaged one-vs-rest AUCs by :mod:`gates.stats.ovr_delong`), per-row losses by the paired t on moments (on per-group sums with groups). With
``data.group_column`` the evidence carries per-group statistics and the group is the unit;
row-level extras (Wilcoxon, row bootstrap) are not reported then, since rows are not
independent. Per-example scores (mean_score) take the test :mod:`gates.mean_score` assigns:
the paired t for graded scores, the accuracy machinery for 0/1 scores.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import stats
from .config.spec import GateSpec
from .evidence import Evidence
from .mean_score import MEAN_SCORE, compare_mean_score, mean_score_extras
from .metrics import CONFUSION, LOSS, METRICS, RANKING


def compare(gate: GateSpec, ev: Evidence, settings, average, *, null: float, alternative: str) -> stats.Comparison:
    """The paired comparison of ``gate.metric`` on ``ev`` with the test DESIGN.md assigns."""
    family = METRICS[gate.metric].family
    level = 1.0 - 2.0 * settings.alpha
    if gate.metric == MEAN_SCORE:  # per-example scores: gates.mean_score picks the test
        return compare_mean_score(ev.moments[MEAN_SCORE], ev.group_sums.get(MEAN_SCORE),
                                  greater_is_better=gate.greater_is_better is not False, null=null,
                                  alternative=alternative, confidence_level=level, n_resamples=settings.resamples,
                                  seed=settings.seed)
    if family == CONFUSION:
        options = dict(null=null, alternative=alternative, confidence_level=level, n_resamples=settings.resamples,
                       seed=settings.seed, pos_label=settings.positive_label, average=average or "binary")
        if ev.group_cells is not None:
            return stats.compare_confusion_grouped(ev.group_cells, gate.metric, **options)
        return stats.compare_confusion(ev.cells, gate.metric, **options)
    if family == RANKING and average in stats.OVR_AVERAGES:  # multiclass: one-vs-rest AUCs
        if ev.classes is None or (ev.grouped and ev.groups is None):
            raise ValueError("one-vs-rest roc_auc evidence without the rows' classes, probabilities or groups")
        return stats.compare_auc_ovr(ev.classes, ev.proba_candidate, ev.proba_production, average=average,
                                     groups=ev.groups if ev.grouped else None,
                                     labels=None if ev.cells is None else ev.cells.labels, null=null,
                                     alternative=alternative, confidence_level=level)
    if family == RANKING:
        if ev.grouped and ev.positive is not None:  # (no positive label: compare_auc says undefined)
            if ev.groups is None:
                raise ValueError("grouped evidence without the scores' group labels")  # never decide ungrouped
            return stats.compare_auc_grouped(ev.positive, ev.score_candidate, ev.score_production, ev.groups,
                                             null=null, alternative=alternative, confidence_level=level)
        return stats.compare_auc(
            ev.positive, ev.score_candidate, ev.score_production, null=null, alternative=alternative,
            confidence_level=level,
        )
    if family == LOSS:
        if gate.metric in ev.group_sums:
            return stats.compare_loss_grouped(ev.group_sums[gate.metric], gate.metric, null=null,
                                              alternative=alternative, confidence_level=level)
        return stats.compare_loss(ev.moments[gate.metric], gate.metric, null=null, alternative=alternative, confidence_level=level)
    raise ValueError(f"no statistical comparison for {gate.metric}")


def group_report(cmp: stats.Comparison) -> dict | None:
    """The groups behind a grouped comparison, as result.json and the report show them."""
    summary = getattr(cmp, "groups", None)
    if summary is None:
        return None
    return {"count": int(summary.count), "rows_per_group": num(summary.rows_per_group),
            "design_effect": num(summary.design_effect), "effective_n": num(summary.effective_n),
            "warning": summary.warning or None}


def supplementary(gate, ev: Evidence, settings) -> dict:
    """Classical tests shown beside the deciding one; they never decide."""
    out = {}
    level = 1 - 2 * settings.alpha
    if gate.metric == MEAN_SCORE:
        found = mean_score_extras(ev.moments[MEAN_SCORE], ev.group_sums.get(MEAN_SCORE),
                                  None if ev.grouped else ev.loss_differences.get(MEAN_SCORE),
                                  greater_is_better=gate.greater_is_better is not False, confidence_level=level,
                                  seed=settings.seed)
        return {name: _mcnemar(r) if name == "mcnemar" else plain(r) for name, r in found.items()}
    if gate.metric == "accuracy" and ev.cells is not None:
        if ev.group_cells is not None:
            mc = stats.mcnemar_from_group_cells(ev.group_cells, method="auto", confidence_level=level)
        else:
            mc = stats.mcnemar_from_cells(ev.cells, method="midp", confidence_level=level)
        out["mcnemar"] = _mcnemar(mc)
    if METRICS[gate.metric].family == LOSS and gate.metric in ev.loss_differences and not ev.grouped:
        d = ev.loss_differences[gate.metric]
        if len(d) >= 2 and gate.metric not in ("rmse", "r2"):
            rows = stats.loss_row_tests(d, confidence_level=level, seed=settings.seed)
            out["row_tests"] = plain(rows)
    return out


def _mcnemar(mc) -> dict:
    return {"b": int(mc.b), "c": int(mc.c), "p_value": num(mc.pvalue), "estimate": num(mc.estimate),
            "confidence_interval": [float(mc.confidence_interval.low), float(mc.confidence_interval.high)],
            "method": mc.method}


def num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def plain(obj):
    """Turn a stats result (dataclass, namedtuple, dict) into JSON-ready values."""
    if dataclasses.is_dataclass(obj):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if not isinstance(v, np.ndarray) or v.size <= 2}
    if isinstance(obj, tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return num(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return [plain(v) for v in obj.tolist()]
    return obj
