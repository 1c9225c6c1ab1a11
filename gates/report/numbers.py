"""Numbers as a reader sees them: digits, signs, p-values, confidence levels and axis ranges.

One format everywhere, so the comment, the HTML and the log never disagree about a number:

- The minus sign is ASCII ``-`` in every human-facing text (a number copied from a report
  parses as a number; Python's own formatting writes ``-``), never U+2212 beside it.
- Numbers shown beside the bound they were tested against get as many digits as it takes for
  the display never to contradict the verdict (0.8996 is not "0.900").
- A row's quantities share one precision: both models' values one, Δ and its interval one,
  with enough decimals that the interval's width shows ([0.0012, 0.0013], not [0.001, 0.001]).
- A p-value below what the report can resolve reads "<0.0001", and a bootstrap's is never
  shown below its own floor 1/B ("<0.001" for 1,000 resamples that all fell above the null).
"""

from __future__ import annotations

import math

from ..pvalues import below, floor_text, p_floor

MAX_DECIMALS = 10


def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.2e}"


def fixed(value: float | None, decimals: int) -> str:
    """``value`` with ``decimals`` decimals; a rounded zero has no sign ("0.000", not "-0.000")."""
    if value is None or not math.isfinite(value):
        return "—"
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def magnitude_decimals(values, sig: int) -> int:
    """Decimals that give the largest ``|value|`` ``sig`` significant digits (0 to MAX_DECIMALS)."""
    top = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    if top == 0:
        return sig - 1
    return min(MAX_DECIMALS, max(0, sig - 1 - math.floor(math.log10(top))))


def width_decimals(low: float, high: float, sig: int = 2) -> int:
    """Decimals that show the interval's width ``high - low`` with ``sig`` significant digits."""
    width = abs(high - low)
    if not width or not math.isfinite(width):
        return 0
    return min(MAX_DECIMALS, max(0, sig - 1 - math.floor(math.log10(width))))


def separating_decimals(value: float | None, bound: float | None, places: int = 3) -> int:
    """The fewest decimals (≥ ``places``) at which ``value`` and ``bound`` print differently
    (or equal, when they are); MAX_DECIMALS + 2 when none up to 11 tells them apart."""
    if value is None or bound is None or value == bound:
        return places
    for d in range(places, 12):
        if float(f"{value:.{d}f}") != float(f"{bound:.{d}f}"):
            return d
    return MAX_DECIMALS + 2


def fmt_against(value: float | None, bound: float | None, places: int = 3) -> tuple[str, str]:
    """Format ``value`` and ``bound`` with the fewest decimals (≥ ``places``) that tell them apart."""
    if value is None or bound is None:
        return fmt(value), fmt(bound)
    d = separating_decimals(value, bound, places)
    if d > 11:
        return repr(value), repr(bound)
    return fixed(value, d), fixed(bound, d)


def delta_decimals(estimate, interval=None, bound=None, *, point_decides: bool = False, sig: int = 3) -> int:
    """One precision for Δ and its interval: ``sig`` significant digits of the largest, the
    width to two digits, and what decided (the interval's ends, or Δ itself for a rule decided
    by the point estimate) told apart from the bound."""
    low, high = interval if interval is not None else (None, None)
    d = magnitude_decimals([estimate, low, high], sig)
    if low is not None and high is not None:
        d = max(d, width_decimals(low, high))
    decisive = [estimate] if point_decides else [low, high]
    if bound is not None:
        d = max([d] + [separating_decimals(v, bound, d) for v in decisive if v is not None])
    return d


def _p_places(p: float, alpha: float) -> int:
    return separating_decimals(p, alpha, 3 if p >= 1e-3 else 4)


def p_decimals(ps, alpha: float, resamples: int | None = None) -> int:
    """One precision for the p-values of one table: what its smallest shown p-value needs."""
    floor = p_floor(resamples)
    shown = [p for p in ps if p is not None and not math.isnan(p) and not below(p, floor)]
    return max((_p_places(p, alpha) for p in shown), default=3)


def fmt_p(p: float | None, alpha: float, resamples: int | None = None, decimals: int | None = None) -> str:
    """A p-value with the digits it takes to compare it with ``alpha`` as the gate did;
    ``resamples`` is B when a bootstrap computed it; ``decimals`` a table's shared precision."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    floor = p_floor(resamples)
    if below(p, floor):
        return floor_text(floor)
    return fixed(p, max(decimals or 0, _p_places(p, alpha)))


def p_phrase(shown: str) -> str:
    """A formatted p-value in a sentence: "p = 0.026", "p < 0.0001"."""
    return f"p < {shown[1:]}" if shown.startswith("<") else f"p = {shown}"


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
