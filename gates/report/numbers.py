"""Numbers as a reader sees them: digits, signs, confidence levels and axis ranges.

Numbers shown beside the bound they were tested against get as many digits as it takes for
the display never to contradict the verdict (0.8996 is not "0.900"); every output shares
these functions so the comment, the HTML and the log never disagree about a number.
"""

from __future__ import annotations

import math


def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.2e}"


def fmt_against(value: float | None, bound: float | None, places: int = 3) -> tuple[str, str]:
    """Format ``value`` and ``bound`` with the fewest decimals (≥ ``places``) that tell them apart."""
    if value is None or bound is None:
        return fmt(value), fmt(bound)
    for d in range(places, 12):
        a, b = f"{value:.{d}f}", f"{bound:.{d}f}"
        if float(a) != float(b) or value == bound:  # "-0.000" and "0.000" are not told apart
            return a, b
    return repr(value), repr(bound)


def fmt_p(p: float | None, alpha: float) -> str:
    """A p-value with the digits it takes to compare it with ``alpha`` as the gate did."""
    if p is None:
        return "—"
    if p < 1e-4 <= alpha:
        return "<0.0001"
    return fmt_against(p, alpha)[0]


def signed(text: str) -> str:
    """``+`` before a positive number (the table's Δ reads as better or worse at a glance)."""
    if text.startswith("-") or text == "—" or float(text) == 0:
        return text
    return f"+{text}"


def fmt_level(level: float | None) -> str:
    """A confidence level as a reader writes it ("90%"); nothing for a point estimate."""
    return "" if not level else f"{level * 100:g}%"


def padded_range(values, pad: float = 0.08) -> tuple[float, float]:
    """An axis range with room around the data, ends on round numbers, for Mermaid and SVG alike."""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    return _nice_floor(lo - pad * span, span), _nice_ceil(hi + pad * span, span)


def _nice_floor(x: float, span: float) -> float:
    step = 10 ** math.floor(math.log10(span)) / 10
    return math.floor(x / step) * step


def _nice_ceil(x: float, span: float) -> float:
    step = 10 ** math.floor(math.log10(span)) / 10
    return math.ceil(x / step) * step
