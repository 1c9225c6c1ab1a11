"""The canary judge's story: resolve the two versions, read the log, judge, and (asked to) apply.

Every run recomputes from the whole log (the source of truth) in time order: there is no
state of the judge's own to corrupt, and a rerun on the same log gives the same verdict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..config.spec import Policy
from ..errors import ConfigError, InputError
from ..metrics import METRICS
from ..registry.base import Version
from .log import read_log
from .units import Units, check_labels, classes_of, disagreement, metric_values, positive_label, shadow_pairs, split_arms
from .verdict import CanaryGateResult, GuardrailResult, decide_gate, guard, verdict

VERDICTS = ("promote", "rollback", "continue", "expired", "none")


@dataclass(frozen=True)
class CanaryResult:
    verdict: str  # promote | rollback | continue | expired | none (no canary under test)
    reasons: tuple[str, ...]
    mode: str
    candidate: dict | None  # {"version", "sha256", "pr", "source"}
    production: dict | None
    rows: int = 0  # log rows of the two versions
    pairs: int = 0  # shadow: requests both scored; split: requests
    labelled: int = 0  # the units the gates were judged on (capped at max_rows)
    gates: tuple[CanaryGateResult, ...] = ()
    guardrails: tuple[GuardrailResult, ...] = ()
    alpha: float = 0.05
    min_rows: int = 0
    max_rows: int = 0
    max_days: float = 0.0
    on_expired: str = "rollback"
    started_at: str | None = None
    elapsed_days: float | None = None
    judged_at: str = ""
    sources: tuple[str, ...] = ()
    ignored_rows: int = 0
    applied: dict | None = None  # what --apply did to the registry

    @property
    def action(self) -> str | None:
        """What applying the verdict does: promote, rollback, or nothing."""
        if self.verdict == "expired":
            return self.on_expired
        return self.verdict if self.verdict in ("promote", "rollback") else None


def judge_canary(policy: Policy, workspace: Path, registry, *, env: Mapping[str, str] | None = None,
                 now: datetime | None = None) -> CanaryResult:
    spec = policy.canary
    if spec is None:
        raise ConfigError(f"{policy.source}: canary: no canary section; add one to judge a canary (see docs/canary.md)")
    if policy.production.registry is None:
        raise ConfigError(f"{policy.source}: production: the canary judge needs production.registry (the log names "
                          "registry versions)")
    now = now or datetime.now(timezone.utc)
    base = dict(mode=spec.mode, alpha=policy.alpha, min_rows=spec.min_rows, max_rows=spec.max_rows,
                max_days=spec.max_days, on_expired=spec.on_expired, judged_at=_iso(now))
    production = registry.resolve(policy.production.alias)
    candidate = _candidate(registry, spec.candidate)
    if candidate is None:
        return CanaryResult("none", (f"no canary under test: {registry.describe()} has no {spec.candidate!r}",),
                            candidate=None, production=_identity(production), **base)
    if production is None:
        raise InputError(f"{registry.describe()}: no {policy.production.alias!r} model to judge the canary "
                         f"(version {candidate.version}) against; promote it directly")
    if candidate.version == production.version:
        return CanaryResult("none", (f"version {candidate.version} already is {policy.production.alias}",),
                            candidate=_identity(candidate), production=_identity(production), **base)
    log = read_log(spec, workspace, versions={candidate.version, production.version}, env=env)
    # Only rows from the canary's start: since the alias was set to this version (the registry's
    # audit), else from the candidate's first row. Production's history before the canary, and
    # rows an earlier spell of the same version left, are no evidence about this canary.
    started = canary_start(registry, candidate.version, spec.candidate) or _started(log.frame, candidate.version)
    frame = log.frame if started is None else log.frame[log.frame["time"] >= pd.Timestamp(started)]
    units = (shadow_pairs if spec.mode == "shadow" else split_arms)(frame, candidate.version, production.version)
    units = _budget(units, spec.max_rows)
    gates, guards = _judge(policy, units)
    n = int(units.labelled.sum())
    said, reasons = verdict(spec, gates, guards, units=n, started=started, now=now)
    alias = spec.candidate if isinstance(spec.candidate, str) else None  # re-checked before applying
    return CanaryResult(
        said, tuple(reasons), candidate={**_identity(candidate), "alias": alias}, production=_identity(production),
        rows=len(frame), pairs=len(units), labelled=n, gates=tuple(gates), guardrails=tuple(guards),
        started_at=_iso(started) if started is not None else None,
        elapsed_days=(now - started).total_seconds() / 86400 if started is not None else None,
        sources=tuple(log.sources), ignored_rows=log.ignored_rows, **base)


def apply_verdict(result: CanaryResult, registry, *, by: str, alias: str = "production") -> CanaryResult:
    """Move the aliases as the verdict says (idempotent: a rerun changes nothing)."""
    if result.action is None or result.candidate is None:
        return result
    if isinstance(result.candidate.get("alias"), str):
        # Still the canary? A merge may have set another since this run read the registry: the
        # verdict is about the version it judged, never about whatever holds the alias now.
        now_under = registry.resolve(result.candidate["alias"])
        if now_under is None or now_under.version != result.candidate["version"]:
            held = "nothing" if now_under is None else f"version {now_under.version}"
            return dataclasses.replace(result, applied={
                "action": result.action, "changed": False, "skipped": f"the {result.candidate['alias']} alias now "
                f"holds {held}, not the judged version {result.candidate['version']}"})
    promote = result.action == "promote"
    word = "canary-expired" if result.verdict == "expired" else f"canary-{result.verdict}"
    end = registry.end_canary(result.candidate["version"], promote=promote, by=by,
                              reason="; ".join(result.reasons)[:500], action=word, alias=alias)
    applied = {"action": result.action, "changed": end.changed, "production": end.production,
               "previous": end.previous, "canary": end.canary}
    return dataclasses.replace(result, applied=applied)


def _judge(policy: Policy, units: Units) -> tuple[list[CanaryGateResult], list[GuardrailResult]]:
    spec = policy.canary
    classification = any(METRICS[g.metric].task == "classification" for g in spec.gates)
    positive = None
    if classification and units.labelled.any():
        classes = classes_of(units, policy)
        check_labels(units, classes)
        if any(g.metric in ("log_loss", "brier") for g in spec.gates):
            positive = positive_label(policy, classes)
    gates = []
    for gate in spec.gates:
        values, treated, means = _oriented(units, gate.metric, positive)
        gates.append(decide_gate(gate, values, treated, alpha=policy.alpha, tuning_rows=spec.tuning_rows,
                                 min_rows=spec.min_rows, means=means))
    guards = []
    if spec.disagreement is not None:
        guards.append(guard("disagreement", disagreement(units), spec.disagreement, above=True, alpha=policy.alpha,
                            tuning_rows=spec.tuning_rows, min_rows=spec.min_rows))
    if spec.coverage is not None and units.covered is not None:
        guards.append(guard("coverage", units.covered, spec.coverage, above=False, alpha=policy.alpha,
                            tuning_rows=spec.tuning_rows, min_rows=spec.min_rows))
    return gates, guards


def _oriented(units: Units, metric: str, positive):
    """Δ's ingredients with + meaning the candidate is better (a loss is negated), and each
    model's mean metric over the judged units (split: over its own arm)."""
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0
    first, second = metric_values(units, metric, positive=positive)
    if units.mode == "shadow":
        means = (float(first.mean()), float(second.mean())) if len(first) else (None, None)
        return sign * (first - second), None, means
    c, p = first[second], first[~second]
    means = (float(c.mean()) if len(c) else None, float(p.mean()) if len(p) else None)
    return sign * first, second, means


def _budget(units: Units, max_rows: int) -> Units:
    """Judge at most ``max_rows`` labelled units, the first in time order: rows past the budget
    cannot change a verdict already due, so reruns after expiry stay the same."""
    if units.labelled.sum() <= max_rows:
        return units
    last = int(np.flatnonzero(units.labelled)[max_rows - 1])
    frame = units.frame.iloc[: last + 1]
    return Units(units.mode, frame, units.labelled[: last + 1])


def canary_start(registry, number: int, ref: str | int) -> datetime | None:
    """When the alias under test was last set to ``number``, from the registry's audit (the
    judge's own ends, ``canary-*``, clear it and are not starts); None when the candidate was
    named by number or the registry keeps no audit."""
    audit = getattr(registry, "audit", None)
    if not isinstance(ref, str) or audit is None:
        return None
    times = [e.get("at") for e in audit() if e.get("alias") == ref and e.get("version") == number
             and not str(e.get("action", "")).startswith("canary-")]
    parsed = [pd.Timestamp(t) for t in times if isinstance(t, str) and t]
    parsed = [t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC") for t in parsed]
    return max(parsed).to_pydatetime() if parsed else None


def _candidate(registry, ref: str | int) -> Version | None:
    if isinstance(ref, int):
        return registry.get(ref)
    return registry.resolve(ref)


def _started(frame: pd.DataFrame, version: int) -> datetime | None:
    times = frame.loc[frame["model"] == version, "time"]
    return None if times.empty else times.min().to_pydatetime()


def _identity(v: Version | None) -> dict | None:
    return None if v is None else {"version": v.version, "sha256": v.sha256, "pr": v.pr, "source": v.source}


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
