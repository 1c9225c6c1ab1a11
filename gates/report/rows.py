"""A gate and its slices as table rows: the part of the view model every output shares.

The PR comment, the HTML report, the terminal and JUnit all show gates as rows; building them
in one place means a rule reads the same everywhere, and the plots pick and order gates and
slices with the same functions the tables use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..rules import GateResult, SliceResult
from .media import MARKDOWN, Medium
from .numbers import fmt, fmt_against, fmt_level, fmt_p, signed

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
STATUS = {"pass": "✅ pass", "fail": "❌ fail", "undefined": "❌ undefined", "skipped": "➖ skipped",
          "inconclusive": "❔ inconclusive"}
SLICE_ORDER = {"fail": 0, "pass": 1, "undefined": 2, "small": 3}
SLICE_STATUS = {"fail": "❌ drop", "pass": "✅", "undefined": "➖ undefined", "small": "➖ small"}


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

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)

    @property
    def summary(self) -> str:
        parts = [f"{self.failed} of {self.gated} gated slices dropped" if self.failed
                 else f"no drop in {self.gated} gated slices"]
        if self.undefined:
            parts.append(f"{self.undefined} undefined")
        if self.small:
            parts.append(f"{self.small} too small")
        return ", ".join(parts)


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


def gate_row(g: GateResult, alpha: float = 0.05, medium: Medium = MARKDOWN) -> GateRow:
    """One gate's table row; its name, detail and slice are escaped for ``medium``."""
    rule = RULE_TEXT[g.rule].format(threshold=fmt(g.threshold), margin=fmt(g.margin), max_drop=fmt(g.max_drop))
    cand, prod = fmt(g.candidate), fmt(g.production)
    diff = signed(fmt(g.estimate)) if g.estimate is not None else "—"
    interval = "—"
    null = null_bound(g)
    if g.rule in ("min", "max") and g.candidate is not None and g.threshold is not None:
        cand, _ = fmt_against(g.candidate, g.threshold)
    if g.confidence_interval is not None:
        low, high = g.confidence_interval
        lo_s, _ = fmt_against(low, null) if null is not None else (fmt(low), "")
        hi_s, _ = fmt_against(high, null) if null is not None else (fmt(high), "")
        level = fmt_level(g.confidence_level)
        interval = f"{level} [{lo_s}, {hi_s}]".strip()
    if g.rule == "max_drop" and g.estimate is not None:
        diff = signed(fmt_against(g.estimate, null)[0])
    if g.rule == "max_ratio" and "ratio" in g.supplementary and g.threshold is not None:
        diff = f"ratio {fmt_against(g.supplementary['ratio'], g.threshold)[0]}"
    if g.rule == "slice_max_drop" and g.slices and g.estimate is not None:
        worst = _worst_slice(g)
        if worst is not None:
            diff = medium.format("{} ({})", signed(fmt(g.estimate)), medium.text(worst))
    method = METHODS.get(g.method, g.method)
    if g.rule == "slice_max_drop" and g.method not in ("none", "point"):
        method += ", Holm"
    state = gate_state(g)
    return GateRow(medium.text(g.name), g.metric, rule, prod, cand, diff, interval, fmt_p(g.p_value, alpha), method,
                   STATUS[state], medium.text(g.detail), state, _extras(g, medium))


def _worst_slice(g: GateResult) -> str | None:
    for s in g.slices:
        if s.gated and s.estimate == g.estimate and s.confidence_interval == g.confidence_interval:
            return s.slice
    return None


def _extras(g: GateResult, medium: Medium) -> list[str]:
    out = []
    mc = g.supplementary.get("mcnemar")
    if mc:
        ci = mc.get("confidence_interval") or [None, None]
        out.append(f"McNemar ({mc.get('method', 'midp')}): b = {mc['b']}, c = {mc['c']}, p = {fmt(mc.get('p_value'))}, "
                   f"Δ accuracy {signed(fmt(mc.get('estimate')))} [{fmt(ci[0])}, {fmt(ci[1])}] (Newcombe)")
    rows = g.supplementary.get("row_tests")
    if rows:
        ci = rows.get("confidence_interval") or [None, None]
        out.append(f"row bootstrap: Δ {signed(fmt(rows.get('estimate')))}, {fmt_level(rows.get('confidence_level'))} "
                   f"[{fmt(ci[0])}, {fmt(ci[1])}] ({rows.get('n_resamples')} resamples); "
                   f"Wilcoxon p = {fmt(rows.get('wilcoxon_pvalue'))}")
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


def slice_rows(g: GateResult, alpha: float = 0.05, medium: Medium = MARKDOWN) -> list[SliceRow]:
    null = null_bound(g)
    rows = []
    for s in ordered_slices(g):
        state = slice_state(s)
        ci = "—"
        if s.confidence_interval is not None:
            ci = f"[{fmt_against(s.confidence_interval[0], null)[0]}, {fmt_against(s.confidence_interval[1], null)[0]}]"
        status = (SLICE_STATUS[state] if state in ("fail", "pass")
                  else medium.format("{}: {}", SLICE_STATUS[state], medium.text(s.detail.removeprefix("not gated: "))))
        estimate = signed(fmt_against(s.estimate, null)[0]) if s.estimate is not None else "—"
        rows.append(SliceRow(medium.text(g.name), medium.text(s.slice), s.n, fmt(s.production), fmt(s.candidate),
                             estimate, ci, fmt_p(s.p_value, alpha), fmt_p(s.p_value_adjusted, alpha), status, state))
    return rows


def slice_group(g: GateResult, alpha: float, medium: Medium = MARKDOWN) -> SliceGroup:
    rows = slice_rows(g, alpha, medium)
    states = [r.state for r in rows]
    rule = RULE_TEXT[g.rule].format(threshold=fmt(g.threshold), margin=fmt(g.margin), max_drop=fmt(g.max_drop))
    return SliceGroup(medium.html(g.name), rule, fmt_level(g.confidence_level), rows, len(rows),
                      states.count("fail") + states.count("pass"), states.count("fail"), states.count("small"),
                      states.count("undefined"))


def interval_gates(gates: list[GateResult]) -> list[GateResult]:
    """The gates a differences chart can draw: an estimate with its interval (slices get their own)."""
    return [g for g in gates
            if g.rule != "slice_max_drop" and g.confidence_interval is not None and g.estimate is not None]
