"""A pull request that changes what the gate checks (the holdout, a file registry) is blocked
before the holdout is read.

The trust check needs only the list of files the pull request changes, so it runs first: a
blocked pull request never waits for a large holdout to be read and scored, and a holdout the
pull request broke cannot turn its block into an error. The result names both models and the
holdout's source, marks the holdout ``read: false`` and every gate "not evaluated". A
maintainer's verified override is the exception: the gates are then evaluated as usual, so an
override is used (and a promotion recorded) with the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..config.spec import Policy
from ..decision import BLOCK, Decision
from ..registry.base import Registry
from ..result import Result
from ..rules import GateResult
from .overrides import Overrides
from .resolve import identity, resolve_candidate, resolve_production

NOT_EVALUATED = "not evaluated: this pull request is blocked before the holdout is read (see the reasons)"


def blocked_before_reading(policy: Policy, workspace: Path, overrides: Overrides, *, blockers: tuple[str, ...],
                           registry: Registry | None, policy_source: str, notes: tuple[str, ...],
                           commit: str | None, verify_override: Callable[[str], dict | None] | None) -> Result | None:
    """The blocked result, or None when the evaluation must run: no blockers, a candidate that
    a train command would build (refused or run by the evaluation, as before), or a verified
    override for this candidate."""
    if not blockers or (overrides.candidate is None and policy.candidate.train is not None):
        return None
    candidate = identity(resolve_candidate(policy, workspace, overrides))
    if verify_override is not None and verify_override(candidate["sha256"]):
        return None
    production, registry_note = resolve_production(policy, workspace, overrides, registry)
    holdout = str(overrides.data) if overrides.data is not None else policy.data.holdout
    gates = tuple(GateResult(
        name=g.name, metric=g.metric, rule=g.rule, threshold=g.threshold, margin=g.margin, max_drop=g.max_drop,
        average=g.average, candidate=None, production=None, estimate=None,
        confidence_interval=None, confidence_level=None, p_value=None, method="none", n=0, passed=None,
        undefined=False, skipped=True, detail=NOT_EVALUATED, outcome="skipped") for g in policy.gates)
    return Result(
        decision=Decision(BLOCK, tuple(blockers)), gates=gates, task=policy.task or "not inferred (holdout not read)",
        labels=None, positive_label=None, alpha=policy.alpha,
        candidate=candidate, production=identity(production) if production is not None else None,
        data={"source": holdout, "sha256": None, "rows": None, "read": False},
        config_sha256=policy.sha256, policy_source=policy_source, commit=commit,
        notes=(*notes, *([registry_note] if registry_note else [])),
    )
