"""From gate results to one verdict: approve, block or first-model, with reasons.

All gates must pass (an intersection–union test: each at alpha, no correction needed). With
no production model only the absolute rules can be checked, and passing them means
"first-model", never "approve": nothing was compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rules import GateResult

APPROVE = "approve"
BLOCK = "block"
FIRST_MODEL = "first-model"


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return 1 if self.decision == BLOCK else 0


def decide(gates: list[GateResult], *, has_production: bool, blockers: tuple[str, ...] = ()) -> Decision:
    """``blockers`` are reasons to block that come from outside the gates (a changed holdout)."""
    failed = [g for g in gates if g.passed is False]
    reasons = list(blockers) + [f"{g.name}: {g.detail}" for g in failed]
    if reasons:
        return Decision(BLOCK, tuple(reasons))
    checked = [g for g in gates if g.passed]
    if not has_production:
        skipped = len(gates) - len(checked)
        return Decision(
            FIRST_MODEL,
            (f"no production model: {len(checked)} absolute gate(s) passed, {skipped} comparison gate(s) skipped",),
        )
    return Decision(APPROVE, (f"all {len(checked)} gate(s) passed",))
