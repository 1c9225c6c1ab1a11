"""What a relative gate can detect at this holdout's size, and how many rows would settle it.

Every deciding construction here standardises Δ̂ − bound by a standard error ``se`` that
shrinks as 1/√n (for the score tests, the error under the null). At one-sided level alpha the
gate passes when (Δ − bound)/se exceeds z_{1−alpha}, so with the normal approximation:

* the smallest true Δ beyond the bound detected with probability ``power`` is
  ``mde = (z_{1−alpha} + z_power) · se``;
* an equivalent candidate (true Δ = 0) passes a non-inferiority margin m with probability
  Φ(m/se − z_{1−alpha});
* it passes with probability ``power`` once se has shrunk to m/(z_{1−alpha} + z_power), i.e. at
  n · (se (z_{1−alpha} + z_power) / m)² rows (or groups, when rows come in groups).

These are planning figures: they assume the observed variability is the population's.
"""

from __future__ import annotations

import math

from scipy import stats


def power_report(se: float, n: int, *, alpha: float, power: float, margin: float | None) -> dict | None:
    """``{"level", "mde", "equivalent_pass", "rows_needed"}`` or None when ``se`` is unknown.

    ``margin`` is the non-inferiority margin (None for a superiority gate, which an equivalent
    candidate passes only with probability alpha, and no number of rows changes that)."""
    if not (isinstance(se, float) and math.isfinite(se) and se > 0 and n > 0):
        return None
    z_a, z_b = float(stats.norm.isf(alpha)), float(stats.norm.ppf(power))
    out = {"level": power, "mde": (z_a + z_b) * se, "equivalent_pass": None, "rows_needed": None}
    if margin:
        out["equivalent_pass"] = float(stats.norm.cdf(margin / se - z_a))
        out["rows_needed"] = int(math.ceil(n * (se * (z_a + z_b) / margin) ** 2))
    return out
