"""Gates: one rule applied to one metric, giving a verdict with the evidence that decided it.

Every rule fails closed: an undefined metric or statistic is a failed gate with its reason,
never a NaN that compares False. One-sided rules at ``alpha`` are decided by the two-sided
(1 − 2·alpha) interval, and the matching one-sided p-value is reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import stats
from .config.spec import RELATIVE_RULES, GateSpec
from .evidence import Evidence
from .metrics import CONFUSION, COST, METRICS, RANKING, averages_of, oriented_difference
from .comparisons import compare, group_report, num, supplementary
from .pvalues import below, floor_text, p_floor, resamples_of
from .stats.power import power_report


@dataclass(frozen=True)
class SliceResult:
    slice: str
    n: int
    candidate: float | None
    production: float | None
    estimate: float | None
    confidence_interval: tuple[float, float] | None
    p_value: float | None
    p_value_adjusted: float | None
    gated: bool
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class GateResult:
    name: str
    metric: str
    rule: str
    candidate: float | None
    production: float | None
    estimate: float | None
    confidence_interval: tuple[float, float] | None
    confidence_level: float | None
    p_value: float | None
    method: str
    n: int
    passed: bool | None  # None: skipped (no production model for a relative rule)
    undefined: bool
    detail: str
    threshold: float | None = None
    margin: float | None = None
    max_drop: float | None = None
    average: str | None = None
    skipped: bool = False
    slices: list[SliceResult] = field(default_factory=list)
    supplementary: dict = field(default_factory=dict)
    # pass | fail | inconclusive | skipped | undefined. A relative gate whose deciding interval
    # lies above its bound passes, entirely below it fails (evidence of harm), and otherwise —
    # straddling it, or with less evidence than the construction needs — is inconclusive.
    outcome: str = "fail"
    power: dict | None = None
    # With data.group_column: groups, rows per group, design effect and effective rows of the
    # deciding comparison (stats.GroupSummary), and a warning under 30 groups.
    groups: dict | None = None
    greater_is_better: bool | None = None  # mean_score: the direction its gate set (None: the metric's own)


@dataclass(frozen=True)
class StatSettings:
    alpha: float
    resamples: int
    seed: int
    positive_label: object
    average_default: str  # binary for two classes, macro otherwise
    power: float = 0.8


def evaluate_gate(
    gate: GateSpec,
    overall: Evidence,
    slices: dict[str, Evidence],
    costs: dict[str, tuple[float | None, float | None]],
    settings: StatSettings,
    *,
    has_production: bool,
) -> GateResult:
    metric = METRICS[gate.metric]
    average = _gate_average(gate, settings)
    base = dict(
        name=gate.name, metric=gate.metric, rule=gate.rule, threshold=gate.threshold, margin=gate.margin,
        max_drop=gate.max_drop, average=average, n=overall.n, greater_is_better=gate.greater_is_better,
    )
    if not has_production and gate.rule in RELATIVE_RULES:
        cand = _point(gate, overall, costs, settings, average)
        return GateResult(
            **base, candidate=cand, production=None, estimate=None, confidence_interval=None,
            confidence_level=None, p_value=None, method="none", passed=None, undefined=False, skipped=True,
            detail="skipped: no production model to compare with", outcome="skipped",
        )
    if metric.family == COST:
        return _by_point(_cost_gate(gate, costs, base))
    if gate.rule in ("min", "max"):
        return _by_point(_absolute_gate(gate, overall, costs, settings, average, base, has_production))
    if gate.rule == "slice_max_drop":
        return _slice_gate(gate, overall, slices, settings, average, base)
    return _relative_gate(gate, overall, settings, average, base)


def _relative_gate(gate, overall, settings, average, base) -> GateResult:
    if gate.rule == "non_inferior":
        null = -gate.margin
    elif gate.rule == "superior":
        null = 0.0
    else:  # max_drop: decided by the point estimate; the interval is reported as evidence
        null = -gate.max_drop
    cmp = compare(gate, overall, settings, average, null=null, alternative="greater")
    result = _from_comparison(gate, cmp, base, supplementary=supplementary(gate, overall, settings))
    if cmp.undefined:
        return _fail_closed(result, cmp.detail)
    level = f"{cmp.confidence_level:.0%}"
    if gate.rule == "max_drop":
        passed = cmp.estimate >= -gate.max_drop
        return replace(result, p_value=None, passed=passed, outcome="pass" if passed else "fail",
                       detail=f"Δ = {cmp.estimate:+.4g} {'≥' if passed else '<'} -{gate.max_drop:g} (max_drop)")
    power = power_report(cmp.se, cmp.n, alpha=settings.alpha, power=settings.power,
                         margin=gate.margin if gate.rule == "non_inferior" else None, se_equal=cmp.se_equal)
    low, high = cmp.confidence_interval
    bound = f"margin -{gate.margin:g}" if gate.rule == "non_inferior" else "0"
    if high < null:  # evidence of harm is reported as such, however thin the evidence for a pass
        outcome = "fail"
        detail = f"the whole {level} interval lies below {bound} (upper end {high:+.4g}): evidence of harm"
    elif cmp.insufficient:  # the minimum-information rule stops a pass, never a failure
        outcome, detail = "inconclusive", f"inconclusive: {cmp.detail}"
    elif low > null:
        outcome, detail = "pass", f"lower end of the {level} interval {low:+.4g} > {bound}"
    else:
        outcome = "inconclusive"
        detail = (f"inconclusive: the {level} interval [{low:+.4g}, {high:+.4g}] straddles {bound}; "
                  + _settle(power, gate))
    return replace(result, power=power, outcome=outcome, detail=detail, passed=outcome == "pass")


def _settle(power: dict | None, gate) -> str:
    """What would settle an inconclusive gate, in the report's words."""
    if not power:
        return "more rows would settle it"
    if gate.rule == "non_inferior" and power.get("rows_needed"):
        return (f"an equivalent model passes {power['equivalent_pass']:.0%} of the time at this n; "
                f"~{power['rows_needed']:,} rows for {power['level']:.0%}")
    return f"at this n the gate detects a true Δ of {power['mde']:.3g} beyond the bound with {power['level']:.0%} power"


def _slice_gate(gate, overall, slices, settings, average, base) -> GateResult:
    null = -gate.max_drop
    results: list[SliceResult] = []
    tested: list[tuple[int, stats.Comparison]] = []
    unusable: list[str] = []  # slices with enough rows whose comparison is undefined or too thin
    broken: list[SliceResult] = []  # slices where only the candidate's metric is undefined
    thin: list[str] = []  # gated, with too little information for a drop to show reliably
    for label, ev in slices.items():
        if ev.n < gate.min_support:
            results.append(_slice(label, ev.n, gated=False, passed=True,
                                  detail=f"not gated: {ev.n} rows < min_support {gate.min_support}"))
            continue
        cmp = compare(gate, ev, settings, average, null=null, alternative="less")
        if cmp.undefined and math.isnan(cmp.candidate) and not math.isnan(cmp.production):
            # Undefined for the candidate alone (it never predicts the class here, say): the
            # candidate broke this slice; that is a drop, not a reason to stop looking.
            results.append(_slice(label, ev.n, production=num(cmp.production), gated=True, passed=False,
                                  detail=f"{gate.metric} is undefined for the candidate and defined for production: fails closed"))
            broken.append(results[-1])
            continue
        if cmp.undefined:
            results.append(_slice(label, ev.n, candidate=num(cmp.candidate), production=num(cmp.production), gated=False,
                                  passed=True, detail=f"not gated: {cmp.detail}"))
            unusable.append(label)
            continue
        # A slice with less information than a test needs to hold its level is still tested:
        # this is a test for harm, so too little information can only keep a drop from showing
        # (or, rarely, block wrongly) — it cannot approve. The report says the slice is thin.
        results.append(_slice(label, ev.n, candidate=num(cmp.candidate), production=num(cmp.production), estimate=cmp.estimate,
                              confidence_interval=tuple(cmp.confidence_interval), p_value=cmp.p_value, gated=True,
                              passed=True, detail=f"thin: {cmp.detail}" if cmp.insufficient else ""))
        tested.append((len(results) - 1, cmp))
        if cmp.insufficient:
            thin.append(label)
    unusable_note = (f"; at min_support but not comparable: {', '.join(unusable[:5])}"
                     + (f" and {len(unusable) - 5} more" if len(unusable) > 5 else "")) if unusable else ""
    if broken and not tested:
        return GateResult(
            **base, candidate=_point(gate, overall, {}, settings, average),
            production=_point(gate, overall, {}, settings, average, which="production"), estimate=None,
            confidence_interval=None, confidence_level=None, p_value=None, method="none", passed=False,
            undefined=False, slices=results, outcome="fail",
            detail=f"{gate.metric} is undefined for the candidate in {', '.join(s.slice for s in broken[:5])}")
    if not tested:
        # Nothing could be gated: the gate cannot tell, which is not a pass.
        result = GateResult(
            **base, candidate=_point(gate, overall, {}, settings, average),
            production=_point(gate, overall, {}, settings, average, which="production"), estimate=None,
            confidence_interval=None, confidence_level=None, p_value=None, method="none", passed=False,
            undefined=False, slices=results, outcome="inconclusive",
            detail=(f"inconclusive: no slice had ≥ {gate.min_support} rows and a comparable {gate.metric}; "
                    f"{len(results)} reported, none gated{unusable_note}"))
        return result
    adjusted = stats.holm([c.p_value for _, c in tested], alpha=settings.alpha)
    failed = list(broken)
    for (i, cmp), p_adj, reject in zip(tested, adjusted.pvalues, adjusted.reject):
        results[i] = replace(results[i], p_value_adjusted=float(p_adj), passed=not bool(reject))
        if reject:
            failed.append(results[i])
    # The gate reports the slice that decided it: the most significant drop after Holm. Beside
    # it, the overall values of both models — points, not a whole-holdout comparison whose
    # interval and p-value would be discarded (for roc_auc that still sorts each model's
    # scores once, but skips the variance and the test).
    worst_i = min(range(len(tested)), key=lambda k: (adjusted.pvalues[k], tested[k][1].estimate))
    worst = results[tested[worst_i][0]]
    deciding = tested[worst_i][1]
    if failed:
        b = resamples_of(deciding.method, settings.resamples)
        names = ", ".join(f"{s.slice} (undefined for the candidate)" if s.estimate is None else
                          f"{s.slice} (Δ {s.estimate:+.4g}, Holm p {_p(s.p_value_adjusted, b)})" for s in failed[:5])
        detail = f"{len(failed)} of {len(tested)} gated slices dropped by more than {gate.max_drop:g}: {names}"
    else:
        detail = (
            f"no slice dropped significantly by more than {gate.max_drop:g} ({len(tested)} gated, Holm at "
            f"alpha {settings.alpha:g}; worst {worst.slice} Δ {worst.estimate:+.4g})"
        )
    detail += unusable_note
    if thin:
        detail += (f"; too little information in {', '.join(thin[:5])}"
                   + (f" and {len(thin) - 5} more" if len(thin) > 5 else "") + " for a drop there to show")
    return GateResult(
        **base, candidate=_point(gate, overall, {}, settings, average),
        production=_point(gate, overall, {}, settings, average, which="production"),
        estimate=worst.estimate, confidence_interval=worst.confidence_interval,
        confidence_level=deciding.confidence_level, p_value=worst.p_value_adjusted, method=deciding.method,
        passed=not failed, undefined=False, detail=detail, slices=results, outcome="fail" if failed else "pass",
    )


def _absolute_gate(gate, overall, costs, settings, average, base, has_production) -> GateResult:
    cand = _point(gate, overall, costs, settings, average)
    prod = None
    if has_production:
        prod = _point(gate, overall, costs, settings, average, which="production")
    result = GateResult(**base, candidate=cand, production=prod, estimate=None, confidence_interval=None,
                        confidence_level=None, p_value=None, method="point", passed=False, undefined=False, detail="")
    if cand is None:
        return _fail_closed(result, _why_undefined(gate, overall, average))
    passed, detail = _threshold_check(gate, cand)
    return replace(result, passed=passed, detail=detail)


def _cost_gate(gate, costs, base) -> GateResult:
    cand, prod = costs.get(gate.metric, (None, None))
    result = GateResult(
        **base, candidate=cand, production=prod, estimate=None, confidence_interval=None, confidence_level=None,
        p_value=None, method="measured", passed=False, undefined=False, detail="")
    if cand is None:
        return _fail_closed(result, f"{gate.metric} cannot be measured for the candidate (a predictions file has no model to time or weigh)")
    if gate.rule in ("min", "max"):
        passed, detail = _threshold_check(gate, cand)
        return replace(result, passed=passed, detail=detail)
    if prod is None:
        return _fail_closed(result, f"{gate.metric} cannot be measured for the production model")
    estimate = oriented_difference(METRICS[gate.metric], cand, prod)
    if gate.rule == "max_drop":
        passed = estimate >= -gate.max_drop
        return replace(result, estimate=estimate, passed=passed,
                       detail=f"Δ = {estimate:+.4g} {'≥' if passed else '<'} -{gate.max_drop:g}")
    if prod <= 0:
        return _fail_closed(replace(result, estimate=estimate), f"production {gate.metric} is {prod:g}; a ratio is undefined")
    ratio = cand / prod
    passed = ratio <= gate.threshold
    return replace(result, estimate=estimate, passed=passed, supplementary={"ratio": ratio},
                   detail=f"ratio {ratio:.3g} {'≤' if passed else '>'} {gate.threshold:g}")


# ----------------------------------------------------------------------------- helpers


def _point(gate, ev: Evidence, costs, settings, average, which: str = "candidate") -> float | None:
    """The metric's value for one model (no comparison), or None when undefined."""
    family = METRICS[gate.metric].family
    if family == COST:
        c, p = costs.get(gate.metric, (None, None))
        return c if which == "candidate" else p
    if family == CONFUSION:
        cm = ev.cells.confusion(which)
        pos_index = None
        if settings.positive_label is not None and settings.positive_label in ev.cells.labels:
            pos_index = list(ev.cells.labels).index(settings.positive_label)
        return num(stats.confusion_metric(cm, gate.metric, pos_index=pos_index, average=average or "binary"))
    if family == RANKING and average in stats.OVR_AVERAGES:
        proba = ev.proba_candidate if which == "candidate" else ev.proba_production
        if ev.classes is None or proba is None:
            return None
        return num(stats.ovr_roc_auc(ev.classes, proba, average=average))  # NaN (a class has no rows): None
    if family == RANKING:
        scores = ev.score_candidate if which == "candidate" else ev.score_production
        if ev.positive is None or scores is None or ev.positive.all() or not ev.positive.any():
            return None
        return float(stats.roc_auc(ev.positive, scores))
    m = ev.moments[gate.metric]
    col = 0 if which == "candidate" else 1
    mean = float(m.mean[col])
    if gate.metric == "rmse":
        return math.sqrt(mean)
    if gate.metric == "r2":
        var_y = float(m.m2[2, 2]) / m.n if m.n else 0.0  # centred: no E[y²] − E[y]² cancellation
        return None if not var_y > 0 else 1.0 - mean / var_y
    return mean


def _why_undefined(gate, ev: Evidence, average) -> str:
    """Why the candidate's metric has no value: which classes are missing, for one-vs-rest AUCs."""
    if gate.metric == "roc_auc" and average in stats.OVR_AVERAGES and ev.classes is not None and ev.cells is not None:
        labels = ev.cells.labels
        absent = [str(lab) for lab, n in zip(labels, np.bincount(ev.classes, minlength=len(labels))) if n == 0]
        if absent:
            return (f"roc_auc ({average}, one-vs-rest) is undefined: class(es) {', '.join(absent[:10])} have no rows "
                    "in the holdout, so their one-vs-rest AUC does not exist")
    return f"{gate.metric} is undefined for the candidate on this holdout"


def _slice(label: str, n: int, *, gated: bool, passed: bool, detail: str, candidate=None, production=None,
           estimate=None, confidence_interval=None, p_value=None) -> SliceResult:
    return SliceResult(slice=label, n=n, candidate=candidate, production=production, estimate=estimate,
                       confidence_interval=confidence_interval, p_value=p_value, p_value_adjusted=None,
                       gated=gated, passed=passed, detail=detail)


def _threshold_check(gate: GateSpec, value: float) -> tuple[bool, str]:
    passed = value >= gate.threshold if gate.rule == "min" else value <= gate.threshold
    op = ("≥" if passed else "<") if gate.rule == "min" else ("≤" if passed else ">")
    return passed, f"candidate {value:.6g} {op} {gate.threshold:g}"


def _average(gate: GateSpec, settings: StatSettings) -> str:
    return gate.average or settings.average_default


def _gate_average(gate: GateSpec, settings: StatSettings) -> str | None:
    """The averaging a gate uses; None for metrics without one, and for roc_auc on two classes
    (the binary AUC, as before averages existed for it)."""
    if gate.metric == "roc_auc":
        average = _average(gate, settings)
        return None if average == "binary" else average
    return _average(gate, settings) if averages_of(gate.metric) else None


def _from_comparison(gate, cmp: stats.Comparison, base, *, supplementary: dict) -> GateResult:
    ci = cmp.confidence_interval
    return GateResult(
        **{**base, "n": cmp.n},
        candidate=num(cmp.candidate), production=num(cmp.production), estimate=num(cmp.estimate),
        confidence_interval=None if ci is None or not np.isfinite(ci.low) or not np.isfinite(ci.high) else (float(ci.low), float(ci.high)),
        confidence_level=cmp.confidence_level, p_value=num(cmp.p_value), method=cmp.method,
        passed=False, undefined=bool(cmp.undefined), detail=cmp.detail, supplementary=supplementary,
        groups=group_report(cmp),
    )


def _p(value: float, resamples: int | None = None) -> str:
    """A p-value for a sentence; a bootstrap p of 0 means 'below 1 / resamples', not zero."""
    floor = p_floor(resamples)
    return floor_text(floor) if below(value, floor) else f"{value:.3g}"


def _by_point(result: GateResult) -> GateResult:
    """Absolute and cost rules compare a point value: they pass or fail, never inconclusive."""
    if result.outcome == "undefined":
        return result
    return replace(result, outcome="pass" if result.passed else "fail")


def _fail_closed(result: GateResult, reason: str) -> GateResult:
    return replace(result, passed=False, outcome="undefined", undefined=True, detail=f"undefined, fails closed: {reason}")


