"""Candidates retried until green, and a holdout reused until it is learned: what they cost.

With k equivalent candidates (no better than production) each tested at alpha, the chance that
one passes by luck is 1 − (1 − alpha)^k. ``stats.attempts.spend`` makes the count binding: the
k-th distinct candidate is tested at alpha·6/(π²k²), and since Σ 6/(π²k²) = 1 the levels of all
attempts together stay within alpha (an alpha-spending sequence, as in group-sequential
designs). The count is of distinct candidate artifacts (SHA-256): re-running one candidate is
not a new attempt.
"""

from __future__ import annotations

import math


def spent_alpha(alpha: float, k: int) -> float:
    """The level of the k-th attempt when attempts are spent."""
    return alpha * 6.0 / (math.pi ** 2 * k ** 2)


def luck(alpha: float, k: int) -> float:
    """The chance that one of k equivalent candidates, each tested at ``alpha``, passes."""
    return 1.0 - (1.0 - alpha) ** k


def attempt_record(alpha: float, k: int, *, spend: bool) -> dict:
    """result.json's ``attempt``: k, the luck at the policy's alpha, and the level tested."""
    return {"k": k, "luck": luck(alpha, k), "alpha": spent_alpha(alpha, k) if spend else alpha, "spend": spend}


def attempt_note(record: dict, policy_alpha: float) -> str | None:
    k = record["k"]
    if record["spend"]:
        return (f"Attempt {k} on this pull request, tested at alpha {record['alpha']:.3g} "
                f"(stats.attempts.spend: alpha·6/(π²k²), so all attempts together stay within {policy_alpha:g}).")
    if k < 2:
        return None
    return (f"Attempt {k} on this pull request: if none of {k} candidates is better than production, the chance "
            f"that one of them passes by luck is {record['luck']:.0%}, not {policy_alpha:.0%} "
            "(set stats.attempts.spend: true to make the count binding).")


# A holdout that has decided many promotions has been learned from: every pass/fail answer
# leaks up to one bit about it. ease.ml/ci (Renggli et al., SysML 2019) bounds the fully
# adaptive case by a union over the 2^H answer histories: with Hoeffding, H adaptive uses at
# tolerance ±REUSE_TOLERANCE and confidence 1 − REUSE_DELTA need n ≥ (H·ln 2 + ln(2/δ)) / (2ε²)
# rows, so a holdout of n rows supports H = ⌊(2nε² − ln(2/δ)) / ln 2⌋ promotions.
REUSE_TOLERANCE = 0.02
REUSE_DELTA = 0.05


def supported_promotions(rows: int) -> int:
    """How many adaptive promotions a holdout of ``rows`` rows supports at ±2 points, 95 %."""
    return max(0, math.floor((2 * rows * REUSE_TOLERANCE ** 2 - math.log(2 / REUSE_DELTA)) / math.log(2)))


def reuse_record(versions: list[int], rows: int) -> dict:
    """result.json's ``holdout_reuse``: the registry versions this holdout already decided."""
    return {"promotions": len(versions), "versions": versions, "supported": supported_promotions(rows)}


def reuse_note(record: dict) -> str | None:
    k, supported = record["promotions"], record["supported"]
    if k == 0:
        return None
    text = (f"This holdout has already decided {k} promotion{'s' if k > 1 else ''} "
            f"(version{'s' if k > 1 else ''} {', '.join(map(str, record['versions'][-5:]))}).")
    if k >= supported:
        text += (f" By ease.ml/ci's bound for adaptive reuse, a holdout of this size supports about {supported} "
                 f"at ±{REUSE_TOLERANCE:g} with {1 - REUSE_DELTA:.0%} confidence: candidates may have been tuned "
                 "to it; judge the next ones on a fresh holdout.")
    return text
