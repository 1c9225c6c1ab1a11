"""How small a p-value a person is shown: the one rule the gate details and the report share.

A p-value below the report's resolution reads "<0.0001", and a bootstrap's, which counts
resamples, is never shown below its own floor 1/B: 0 of 1,000 resamples at or below the null
means p < 0.001, not p = 0.
"""

from __future__ import annotations

import math

P_RESOLUTION = 1e-4  # the smallest p-value written as a number
BOOTSTRAPS = ("paired-bootstrap", "cluster-bootstrap")  # methods whose p-value counts B resamples


def p_floor(resamples: int | None) -> float:
    """The smallest p-value shown as a number: the resolution, or 1/B for B resamples."""
    return max(P_RESOLUTION, 1.0 / resamples) if resamples else P_RESOLUTION


def resamples_of(method: str, resamples: int | None) -> int | None:
    """B when ``method`` is a bootstrap (its p-value is a share of B resamples), else None."""
    return resamples if resamples and method.startswith(BOOTSTRAPS) else None


def below(p: float, floor: float) -> bool:
    return p < floor * (1 - 1e-9)


def floor_text(floor: float) -> str:
    """``"<"`` and the floor rounded up to one significant digit (1/3000 → "<0.0004"): still true."""
    exponent = math.floor(math.log10(floor))
    step = 10.0 ** exponent
    lead = math.ceil(floor / step * (1 - 1e-9))
    return f"<{lead * step:.{max(0, -exponent)}f}"
