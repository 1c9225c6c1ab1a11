"""From gate results to one verdict: approve, block, inconclusive or first-model, with reasons.

All gates must pass (an intersection–union test: each at alpha, no correction needed). A gate
that fails — evidence of harm, an absolute threshold missed, an undefined statistic — or a
blocker from outside the gates (a changed holdout) blocks. When nothing blocks but some gate
cannot tell (its interval straddles the bound, or the holdout holds less evidence than the
test needs), the verdict is inconclusive: never an approval, and the reasons say what would
settle it. With no production model only the absolute rules can be checked, and passing them
means "first-model", never "approve": nothing was compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rules import GateResult

APPROVE = "approve"
BLOCK = "block"
INCONCLUSIVE = "inconclusive"
FIRST_MODEL = "first-model"


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return 1 if self.decision in (BLOCK, INCONCLUSIVE) else 0


def decide(gates: list[GateResult], *, has_production: bool, blockers: tuple[str, ...] = ()) -> Decision:
    """``blockers`` are reasons to block that come from outside the gates (a changed holdout)."""
    failed = [g for g in gates if g.outcome in ("fail", "undefined")]
    reasons = list(blockers) + [f"{g.name}: {g.detail}" for g in failed]
    if reasons:
        return Decision(BLOCK, tuple(reasons))
    unsure = [g for g in gates if g.outcome == "inconclusive"]
    if unsure:
        return Decision(INCONCLUSIVE, tuple(f"{g.name}: {g.detail}" for g in unsure))
    checked = [g for g in gates if g.outcome == "pass"]
    if not has_production:
        skipped = len(gates) - len(checked)
        return Decision(
            FIRST_MODEL,
            (f"no production model: {len(checked)} absolute gate(s) passed, {skipped} comparison gate(s) skipped",),
        )
    return Decision(APPROVE, (f"all {len(checked)} gate(s) passed",))
