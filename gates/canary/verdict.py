"""The canary's verdict from its gates' confidence sequences, its guardrails and its budget.

Each gate is decided by an anytime-valid confidence sequence at level 1 − 2·alpha on Δ (the
per-request difference in shadow mode, the difference of the arms' means in split mode), so
the judge may look after every batch of rows, as often as the schedule runs, and its error
rates stay those of one look: a candidate exactly at the bound is promoted with probability at
most about alpha however often it is judged (benchmarks/bench_canary.py measures it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from ..config.spec import CanarySpec
from ..stats import confidence_sequence, two_sample_confidence_sequence

TRACE_POINTS = 24  # points per gate in the narrowing chart


@dataclass(frozen=True)
class Trace:
    """A confidence sequence thinned for the chart: its bounds at a few row counts."""

    rows: tuple[int, ...] = ()
    estimate: tuple[float, ...] = ()
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()


@dataclass(frozen=True)
class CanaryGateResult:
    name: str
    metric: str
    rule: str
    bound: float  # Δ must be shown above it: −margin, or 0 for superior
    n: int
    estimate: float | None
    lower: float | None
    upper: float | None
    outcome: str  # pass | fail | undecided
    candidate: float | None  # the metric's mean for each model over the judged units
    production: float | None
    method: str = ""
    trace: Trace = field(default_factory=Trace)


@dataclass(frozen=True)
class GuardrailResult:
    name: str
    threshold: float
    n: int
    rate: float | None
    lower: float | None
    upper: float | None
    tripped: bool


def decide_gate(gate, values: np.ndarray, treated: np.ndarray | None, *, alpha: float, tuning_rows: int,
                min_rows: int, means: tuple[float | None, float | None]) -> CanaryGateResult:
    bound = 0.0 if gate.rule == "superior" else -gate.margin
    n = len(values)
    # Split mode: min_rows in each arm. A canary served 1 % of traffic has few rows of its own,
    # and a plug-in variance from a handful of (say, all correct) rows is no variance at all.
    arms = min(int(treated.sum()), int((~treated).sum())) if treated is not None else n
    if n < 2 or arms < 2:
        return CanaryGateResult(gate.name, gate.metric, gate.rule, bound, n, None, None, None, "undecided", *means)
    if treated is None:
        cs = confidence_sequence(values, alpha=2 * alpha, tuning_rows=tuning_rows)
    else:
        cs = two_sample_confidence_sequence(values, treated, alpha=2 * alpha, tuning_rows=tuning_rows)
    est, lo, hi = float(cs.estimate[-1]), float(cs.lower[-1]), float(cs.upper[-1])
    outcome = "undecided"
    if n >= min_rows and arms >= min_rows and np.isfinite(lo):
        outcome = "pass" if lo > bound else "fail" if hi < bound else "undecided"
    return CanaryGateResult(gate.name, gate.metric, gate.rule, bound, n, est, _finite(lo), _finite(hi), outcome, *means,
                            method=cs.method, trace=_trace(cs, start=min_rows // 4))


def guard(name: str, flags: np.ndarray, threshold: float, *, above: bool, alpha: float, tuning_rows: int,
          min_rows: int) -> GuardrailResult:
    """A label-free rate, tripped only when it is *shown* beyond its threshold by its own
    confidence sequence — ``above``: the lower end over it (disagreement); else the upper end
    under it (coverage: a canary that fails, no row, on hard requests is judged on easy ones) —
    so a few early flags on a small sample do not roll back a good model by chance."""
    n = len(flags)
    if n < 2:
        return GuardrailResult(name, threshold, n, float(flags.mean()) if n else None, None, None, False)
    cs = confidence_sequence(flags, alpha=2 * alpha, tuning_rows=tuning_rows)
    lo, hi = _finite(float(cs.lower[-1])), _finite(float(cs.upper[-1]))
    shown = (lo is not None and lo > threshold) if above else (hi is not None and hi < threshold)
    return GuardrailResult(name, threshold, n, float(cs.estimate[-1]), lo, hi, n >= min_rows and shown)


def verdict(spec: CanarySpec, gates: list[CanaryGateResult], guardrails: list[GuardrailResult], *, units: int,
            started: datetime | None, now: datetime) -> tuple[str, list[str]]:
    """promote · rollback · continue · expired, with the reasons a reader needs."""
    harm = [g for g in gates if g.outcome == "fail"]
    tripped = [g for g in guardrails if g.tripped]
    if harm or tripped:
        reasons = [f"{g.name}: Δ is shown below {g.bound:g} (interval {g.lower:.4g} to {g.upper:.4g})" for g in harm]
        reasons += [f"guardrail disagreement: the rate is shown above {g.threshold:g} (at least {g.lower:.3g} over "
                    f"{g.n:,} pairs)" if g.name == "disagreement" else
                    f"guardrail coverage: the candidate scored a share of production's requests shown below "
                    f"{g.threshold:g} (at most {g.upper:.3g} of {g.n:,})" for g in tripped]
        return "rollback", reasons
    if units >= spec.min_rows and gates and all(g.outcome == "pass" for g in gates):  # per arm in split: decide_gate
        return "promote", [f"{g.name}: Δ is shown above {g.bound:g} (interval {g.lower:.4g} to {g.upper:.4g})"
                           for g in gates]
    days = (now - started).total_seconds() / 86400 if started is not None else 0.0
    if units >= spec.max_rows or days >= spec.max_days:
        why = f"{units:,} judged rows reached max_rows {spec.max_rows:,}" if units >= spec.max_rows else \
            f"{days:.1f} days since the canary's first row reached max_days {spec.max_days:g}"
        return "expired", [f"undecided when the budget ran out: {why}; on_expired: {spec.on_expired}"]
    if units < spec.min_rows:
        return "continue", [f"{units:,} of the {spec.min_rows:,} judged rows min_rows asks for before a verdict"]
    open_ = [g.name for g in gates if g.outcome != "pass"]
    return "continue", [f"undecided: {', '.join(open_)} (the interval still straddles its bound)"]


def _finite(x: float) -> float | None:
    return x if np.isfinite(x) else None


def _trace(cs, *, start: int) -> Trace:
    """From a quarter of min_rows on: before that the bounds are too wide to read beside the rest."""
    defined = np.flatnonzero(np.isfinite(cs.lower) & np.isfinite(cs.upper) & (cs.rows >= min(start, cs.rows[-1])))
    if defined.size == 0:
        return Trace()
    picks = np.unique(np.linspace(defined[0], defined[-1], num=min(TRACE_POINTS, defined.size)).round().astype(int))
    return Trace(tuple(int(cs.rows[i]) for i in picks), tuple(float(cs.estimate[i]) for i in picks),
                 tuple(float(cs.lower[i]) for i in picks), tuple(float(cs.upper[i]) for i in picks))
