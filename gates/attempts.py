"""Candidates retried until green: what k attempts on one pull request cost in luck.

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
