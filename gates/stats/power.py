"""What a relative gate can detect at this holdout's size, and how many rows would settle it.

Every deciding construction here standardises Δ̂ − bound by a standard error ``se`` that
shrinks as 1/√n (for the score tests, the error under the null). At one-sided level alpha the
gate passes when (Δ − bound)/se exceeds z_{1−alpha}, so with the normal approximation:

* the smallest true Δ beyond the bound detected with probability ``power`` is
  ``mde = z_{1−alpha} · se₀ + z_power · se₁`` (se₀ at the bound, se₁ at Δ = 0);
* an equivalent candidate (true Δ = 0) passes a non-inferiority margin m with probability
  Φ((m − z_{1−alpha} · se₀) / se₁);
* it passes with probability ``power`` at n · ((z_{1−alpha} · se₀ + z_power · se₁) / m)² rows (or
  groups, when rows come in groups), both errors shrinking as 1/√n.

These are planning figures: they assume the observed variability is the population's.
"""

from __future__ import annotations

import math

from scipy import stats


def power_report(se: float, n: int, *, alpha: float, power: float, margin: float | None,
                 se_equal: float | None = None) -> dict | None:
    """``{"level", "mde", "equivalent_pass", "rows_needed"}`` or None when ``se`` is unknown.

    ``se`` is the standard error the test standardises by (at the bound, for a score test) and
    ``se_equal`` the spread of Δ̂ when the models are equivalent (default: the same): a score
    test's null fit needs more disagreement than an equivalent pair shows, so the two differ
    when the models rarely disagree. ``margin`` is the non-inferiority margin (None for a
    superiority gate, which an equivalent candidate passes only with probability alpha, and no
    number of rows changes that)."""
    if not (isinstance(se, float) and math.isfinite(se) and se > 0 and n > 0):
        return None
    spread = se_equal if isinstance(se_equal, float) and math.isfinite(se_equal) and se_equal > 0 else se
    z_a, z_b = float(stats.norm.isf(alpha)), float(stats.norm.ppf(power))
    out = {"level": power, "mde": z_a * se + z_b * spread, "equivalent_pass": None, "rows_needed": None}
    if margin:
        out["equivalent_pass"] = float(stats.norm.cdf((margin - z_a * se) / spread))
        out["rows_needed"] = int(math.ceil(n * ((z_a * se + z_b * spread) / margin) ** 2))
    return out
