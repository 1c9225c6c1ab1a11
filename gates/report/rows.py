"""A gate and its slices as table rows: the part of the view model every output shares.

The PR comment, the HTML report, the terminal and JUnit all show gates as rows; building them
in one place means a rule reads the same everywhere, and the plots pick and order gates and
slices with the same functions the tables use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..metrics import METRICS
from ..pvalues import resamples_of
from ..rules import GateResult, SliceResult
from .media import MARKDOWN, Medium
from .numbers import (delta_decimals, fixed, fmt, fmt_against, fmt_level, fmt_p, magnitude_decimals, p_decimals,
                      p_phrase, separating_decimals, signed)

RULE_TEXT = {
    "min": "≥ {threshold}", "max": "≤ {threshold}", "non_inferior": "non-inferior, margin {margin}",
    "superior": "superior", "max_drop": "drop ≤ {max_drop}", "max_ratio": "ratio ≤ {threshold}",
    "slice_max_drop": "no slice drops > {max_drop}",
}
METHODS = {
    "delong": "DeLong", "paired-bootstrap-percentile": "paired bootstrap", "paired-t": "paired t",
    "tango-score": "Tango score", "restricted-score": "score (null variance)",
    "paired-t-hall": "paired t, Hall skew-corrected",
    "delta-method": "paired t (delta method)", "point": "point estimate", "measured": "measured", "none": "—",
}
# A verdict is its mark (``Medium.mark``: an emoji, or inline SVG in HTML) and a word.
STATUS = {"pass": ("pass", "pass"), "fail": ("fail", "fail"), "undefined": ("undefined", "undefined"),
          "skipped": ("skipped", "skipped"), "inconclusive": ("inconclusive", "inconclusive")}
SLICE_ORDER = {"fail": 0, "pass": 1, "undefined": 2, "small": 3}
SLICE_STATUS = {"fail": ("drop", "drop"), "pass": ("pass", "no drop"), "undefined": ("untested", "undefined"),
                "small": ("untested", "small")}
VALUE_DIGITS = 4  # significant digits of a model's metric value (both models' values share them)


@dataclass
class GateRow:
    name: str
    metric: str
    rule: str
    production: str
    candidate: str
    difference: str
    interval: str
    p_value: str
    method: str
    status: str
    detail: str
    state: str  # pass | fail | undefined | skipped (a CSS class and a JUnit outcome)
    extras: list[str] = field(default_factory=list)  # reported-not-deciding tests


@dataclass
class SliceRow:
    gate: str
    slice: str
    n: int
    production: str
    candidate: str
    estimate: str
    interval: str
    p_value: str
    p_adjusted: str
    status: str
    state: str  # fail | pass | undefined | small


@dataclass
class SliceGroup:
    gate: str
    rule: str
    level: str
    rows: list[SliceRow]
    total: int
    gated: int
    failed: int
    small: int
    undefined: int
    metric: str = ""
    max_drop: str = ""
    alpha: str = "0.05"

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)

    @property
    def summary(self) -> str:
        """One plain sentence: in how many of the tested slices the metric fell by more than the
        allowed drop (a one-sided test per slice, Holm-adjusted), and which were not tested."""
        tested = f"{self.gated} slice{'s' if self.gated != 1 else ''} tested"
        if self.failed:
            text = (f"{self.metric} fell by more than {self.max_drop} in {self.failed} of {tested} "
                    f"(significant after Holm at α = {self.alpha})")
        elif self.gated:
            text = f"no slice's {self.metric} fell significantly by more than {self.max_drop} ({tested})"
        else:
            text = "no slice could be tested"
        untested = []
        if self.undefined:
            untested.append(f"{self.undefined} with {self.metric} undefined")
        if self.small:
            untested.append(f"{self.small} below min_support")
        if untested:
            text += "; not tested: " + ", ".join(untested)
        return text


def gate_state(g: GateResult) -> str:
    """One word for the gate's outcome: a CSS class, a JUnit outcome and a plot colour."""
    if g.skipped:
        return "skipped"
    if g.undefined:
        return "undefined"
    if g.outcome == "inconclusive":
        return "inconclusive"
    return "pass" if g.passed else "fail"


def null_bound(g: GateResult) -> float | None:
    """The bound the gate's interval (or point estimate) is compared with."""
    if g.rule == "non_inferior":
        return -(g.margin or 0.0)
    if g.rule == "superior":
        return 0.0
    if g.rule in ("max_drop", "slice_max_drop"):
        return -(g.max_drop or 0.0)
    return None


def gate_row(g: GateResult, alpha: float = 0.05, medium: Medium = MARKDOWN, *, resamples: int | None = None,
             p_digits: int | None = None) -> GateRow:
    """One gate's table row; its name, detail and slice are escaped for ``medium``. Both models'
    values share one precision, Δ and its interval another; ``resamples`` is the bootstrap's B,
    ``p_digits`` the decimals the table's p-values share."""
    rule = RULE_TEXT[g.rule].format(threshold=fmt(g.threshold), margin=fmt(g.margin), max_drop=fmt(g.max_drop))
    if g.greater_is_better is not None:  # mean_score: the direction is the gate's, so the row says it
        rule += f"; {'higher' if g.greater_is_better else 'lower'} is better"
    null = null_bound(g)
    cand_value, prod_value, where = g.candidate, g.production, None
    worst = _worst_slice(g) if g.rule == "slice_max_drop" else None
    if worst is not None:  # the row's Δ is the worst slice's: show that slice's values beside it
        cand_value, prod_value, where = worst.candidate, worst.production, worst.slice
    digits = magnitude_decimals([cand_value, prod_value], VALUE_DIGITS)
    if g.rule in ("min", "max") and cand_value is not None and g.threshold is not None:
        digits = separating_decimals(cand_value, g.threshold, digits)
    cand, prod = fixed(cand_value, digits), fixed(prod_value, digits)
    d = delta_decimals(g.estimate, g.confidence_interval, null, point_decides=g.rule == "max_drop")
    diff = signed(fixed(g.estimate, d)) if g.estimate is not None else "—"
    interval = "—"
    if g.confidence_interval is not None:
        low, high = g.confidence_interval
        interval = f"{fmt_level(g.confidence_level)} [{fixed(low, d)}, {fixed(high, d)}]".strip()
    if g.rule == "max_ratio" and "ratio" in g.supplementary and g.threshold is not None:
        diff = f"ratio {fmt_against(g.supplementary['ratio'], g.threshold)[0]}"
    if where is not None:
        diff = medium.format("{} in {}", diff, medium.text(where))
    method = METHODS.get(g.method, g.method)
    if g.rule == "slice_max_drop" and g.method not in ("none", "point"):
        method += ", Holm"
    state = gate_state(g)
    status = _status(STATUS[state], medium)
    return GateRow(medium.text(g.name), metric_label(g.metric), rule, prod, cand, diff, interval,
                   fmt_p(g.p_value, alpha, resamples_of(g.method, resamples), p_digits), method,
                   status, medium.text(g.detail), state, _extras(g, medium, alpha))


def _status(mark_and_word: tuple[str, str], medium: Medium) -> str:
    mark, word = mark_and_word
    return medium.format("{} {}", medium.mark(mark), word)


def gate_rows(gates, alpha: float, medium: Medium = MARKDOWN, *, resamples: int | None = None) -> list[GateRow]:
    """The gate table: one row per gate, the p-values at one shared precision."""
    p_digits = max((p_decimals([g.p_value], alpha, resamples_of(g.method, resamples)) for g in gates), default=3)
    return [gate_row(g, alpha, medium, resamples=resamples, p_digits=p_digits) for g in gates]


def metric_label(metric: str) -> str:
    """A metric as a row names it: its registry name, but "mean score" for per-example scores."""
    return "mean score" if metric == "mean_score" else metric


def higher_is_better(g: GateResult) -> bool | None:
    """The direction of the gate's metric: the gate's own (a mean_score sets it), else the registry's."""
    own = getattr(g, "greater_is_better", None)
    if own is not None:
        return own
    metric = METRICS.get(g.metric)
    return None if metric is None else metric.greater_is_better


def delta_note(gates) -> str:
    """How Δ is oriented for the gates of one table: + always means the candidate is better,
    which for a loss (lower is better) means production - candidate."""
    higher, lower = {}, {}
    for g in gates:
        direction = higher_is_better(g)
        if direction is not None:
            (higher if direction else lower)[g.metric] = None
    if not lower:
        return "Δ = candidate - production, so + means the candidate is better."
    losses = ", ".join(lower)
    if not higher:
        return f"Δ = production - candidate ({losses}: lower is better), so + means the candidate is better."
    return (f"Δ is oriented so that + means the candidate is better: candidate - production for "
            f"{', '.join(higher)}; production - candidate for {losses} (lower is better).")


def _worst_slice(g: GateResult) -> SliceResult | None:
    """The gated slice whose Δ and interval the gate reports (the most significant drop)."""
    if g.estimate is None:
        return None
    for s in g.slices:
        if s.gated and s.estimate == g.estimate and s.confidence_interval == g.confidence_interval:
            return s
    return None


def _delta_and_interval(estimate, interval) -> str:
    """Δ and its interval at one precision, for the reported-not-deciding tests."""
    if estimate is None:
        return "—"
    low, high = interval if interval and None not in interval else (None, None)
    d = delta_decimals(estimate, None if low is None else (low, high))
    shown = signed(fixed(estimate, d))
    return shown if low is None else f"{shown} [{fixed(low, d)}, {fixed(high, d)}]"


def _extras(g: GateResult, medium: Medium, alpha: float = 0.05) -> list[str]:
    out = []
    worst = _worst_slice(g) if g.rule == "slice_max_drop" else None
    if worst is not None:
        digits = magnitude_decimals([g.candidate, g.production], VALUE_DIGITS)
        out.append(medium.format("the row shows the worst slice, {}; on all rows: production {}, candidate {}",
                                 medium.text(worst.slice), fixed(g.production, digits), fixed(g.candidate, digits)))
    mc = g.supplementary.get("mcnemar")
    if mc:
        out.append(f"McNemar ({mc.get('method', 'midp')}): b = {mc['b']}, c = {mc['c']}, "
                   f"{p_phrase(fmt_p(mc.get('p_value'), alpha))}, Δ accuracy "
                   f"{_delta_and_interval(mc.get('estimate'), mc.get('confidence_interval'))} (Newcombe)")
    rows = g.supplementary.get("row_tests")
    if rows:
        ci = rows.get("confidence_interval") or [None, None]
        shown = _delta_and_interval(rows.get("estimate"), ci)
        delta, _, bracket = shown.partition(" ")
        level = fmt_level(rows.get("confidence_level"))
        out.append(f"row bootstrap: Δ {delta}{', ' + level + ' ' + bracket if bracket else ''} "
                   f"({rows.get('n_resamples')} resamples); "
                   f"Wilcoxon {p_phrase(fmt_p(rows.get('wilcoxon_pvalue'), alpha))}")
    if g.average:
        out.append(medium.format("average: {}", medium.text(g.average)))
    power = g.power or {}
    if power.get("mde") is not None:
        text = f"power {power['level']:.0%}: detects a true Δ {fmt(power['mde'])} beyond the bound at this n"
        if power.get("rows_needed"):
            text += (f"; an equivalent model passes {power['equivalent_pass']:.0%} of the time here, "
                     f"~{power['rows_needed']:,} rows for {power['level']:.0%}")
        out.append(text)
    return out


def slice_state(s: SliceResult) -> str:
    if s.gated:
        return "pass" if s.passed else "fail"
    # Slices under min_support are reported, not gated; so are those whose metric is undefined.
    return "small" if "min_support" in s.detail else "undefined"


def ordered_slices(g: GateResult) -> list[SliceResult]:
    """Worst first: failed, then gated by estimate (largest drop first), then undefined, then small."""
    return sorted(g.slices, key=lambda s: (SLICE_ORDER[slice_state(s)],
                                           s.estimate if s.estimate is not None else math.inf, -s.n, s.slice))


def slice_rows(g: GateResult, alpha: float = 0.05, medium: Medium = MARKDOWN, *,
               resamples: int | None = None) -> list[SliceRow]:
    """The slices as rows, worst first; one precision for every slice's values, one for every
    Δ and interval (the same quantity at the same precision in one table)."""
    null = null_bound(g)
    ordered = ordered_slices(g)
    digits = magnitude_decimals([v for s in ordered for v in (s.candidate, s.production)], VALUE_DIGITS)
    d = max((delta_decimals(s.estimate, s.confidence_interval, null) for s in ordered if s.estimate is not None),
            default=3)
    b = resamples_of(g.method, resamples)
    p_digits = p_decimals([v for s in ordered for v in (s.p_value, s.p_value_adjusted)], alpha, b)
    rows = []
    for s in ordered:
        state = slice_state(s)
        ci = "—"
        if s.confidence_interval is not None:
            ci = f"[{fixed(s.confidence_interval[0], d)}, {fixed(s.confidence_interval[1], d)}]"
        status = _status(SLICE_STATUS[state], medium)
        if state not in ("fail", "pass"):
            status = medium.format("{}: {}", status, medium.text(s.detail.removeprefix("not gated: ")))
        estimate = signed(fixed(s.estimate, d)) if s.estimate is not None else "—"
        rows.append(SliceRow(medium.text(g.name), medium.text(s.slice), s.n, fixed(s.production, digits),
                             fixed(s.candidate, digits), estimate, ci, fmt_p(s.p_value, alpha, b, p_digits),
                             fmt_p(s.p_value_adjusted, alpha, b, p_digits), status, state))
    return rows


def slice_group(g: GateResult, alpha: float, medium: Medium = MARKDOWN, *, resamples: int | None = None) -> SliceGroup:
    rows = slice_rows(g, alpha, medium, resamples=resamples)
    states = [r.state for r in rows]
    rule = RULE_TEXT[g.rule].format(threshold=fmt(g.threshold), margin=fmt(g.margin), max_drop=fmt(g.max_drop))
    return SliceGroup(medium.html(g.name), rule, fmt_level(g.confidence_level), rows, len(rows),
                      states.count("fail") + states.count("pass"), states.count("fail"), states.count("small"),
                      states.count("undefined"), metric=metric_label(g.metric), max_drop=fmt(g.max_drop), alpha=f"{alpha:g}")


def interval_gates(gates: list[GateResult]) -> list[GateResult]:
    """The gates a differences chart can draw: an estimate with its interval (slices get their own)."""
    return [g for g in gates
            if g.rule != "slice_max_drop" and g.confidence_interval is not None and g.estimate is not None]
