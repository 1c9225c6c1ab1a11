"""Mermaid charts for the PR comment and job summary, where GitHub renders nothing richer.

Mermaid text is parsed by GitHub, not shown, so pull-request text reaches a chart only
through ``_label``; anything a reader sees outside the chart is escaped for the ``Medium``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..escape import mermaid_text
from ..result import Result
from .media import MARKDOWN, Medium
from .numbers import fmt, fmt_level, padded_range
from .rows import interval_gates, null_bound, ordered_slices

COLOURS = {"candidate": "#0969da", "production": "#bc4c00", "chance": "#8c959f",
           "estimate": "#8c959f", "low": "#cf222e", "high": "#1a7f37", "bound": "#1f2328"}
CHART_SLICES = 15  # slices per gate in a Mermaid chart (the HTML plots more)


@dataclass
class Series:
    name: str
    kind: str  # bar | line
    values: str  # "[1, 2, 3]" for Mermaid


@dataclass
class MermaidChart:
    key: str
    title: str
    heading: str  # the title again, for the <summary> line (raw HTML in Markdown)
    caption: str
    x_axis: str
    y_axis: str
    palette: str
    series: list[Series]


def plain_number(value: float) -> str:
    """A number Mermaid parses: fixed point, no exponent, trailing zeros dropped."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def palette(*names: str) -> str:
    return ", ".join(COLOURS[n] for n in names)


def mermaid_values(values) -> str:
    return "[" + ", ".join(plain_number(v) for v in values) + "]"


def _label(text: str, width: int = 28) -> str:
    """A quoted Mermaid label: ``mermaid_text`` keeps only characters that cannot end it."""
    text = mermaid_text(text, limit=None)
    return '"' + (text if len(text) <= width else text[: width - 1] + "…") + '"'


def _y_axis(title: str, values, include=(0.0,)) -> str:
    lo, hi = padded_range(list(values) + list(include))
    return f'"{title}" {plain_number(lo)} --> {plain_number(hi)}'


def mermaid_charts(result: Result, medium: Medium = MARKDOWN) -> list[MermaidChart]:
    """xychart-beta has no error bars: estimates are bars and the interval's ends two lines.

    Inside a chart only ``_label`` places PR text (quoted, through ``mermaid_text``); a title
    is shown outside the chart, escaped for ``medium``."""
    charts = []
    level = fmt_level(1.0 - 2.0 * result.alpha)
    gates = interval_gates(result.gates)
    if gates:
        values = [v for g in gates for v in (g.estimate, *g.confidence_interval)]
        title = f"Δ with {level} intervals (+ means the candidate is better)"
        charts.append(MermaidChart(
            "differences", title, title,
            "Grey bars: Δ (the bar's top; + is better). Red line: the interval's lower end, green: its upper end, "
            "black: the gate's bound. A gate passes when the red line is above the black one.",
            "[" + ", ".join(_label(g.name) for g in gates) + "]", _y_axis("Δ", values + [null_bound(g) for g in gates]),
            palette("estimate", "low", "high", "bound"),
            [Series("Δ", "bar", mermaid_values(g.estimate for g in gates)),
             Series(f"{level} lower", "line", mermaid_values(g.confidence_interval[0] for g in gates)),
             Series(f"{level} upper", "line", mermaid_values(g.confidence_interval[1] for g in gates)),
             Series("bound", "line", mermaid_values(null_bound(g) for g in gates))]))
    curves = result.curves
    if curves is not None:
        grid = [i / 20 for i in range(21)]
        series = [Series(f"{k} (AUC {c.auc:.3f})", "line", mermaid_values(c.tpr_at(grid))) for k, c in curves.roc.items()]
        names = list(curves.roc)
        caption = " · ".join(f"{'blue' if k == 'candidate' else 'orange'}: {k}, AUC {c.auc:.3f}"
                             for k, c in curves.roc.items())
        title = "ROC curves on the holdout"
        charts.append(MermaidChart(
            "roc", title, title, f"{caption} · grey: chance. {curves.n:,} rows, {curves.positives:,} positive.",
            '"false-positive rate" 0 --> 1', '"true-positive rate" 0 --> 1',
            palette(*names, "chance"), series + [Series("chance", "line", mermaid_values(grid))]))
    for g in result.gates:
        gated = [s for s in ordered_slices(g) if s.gated and s.confidence_interval is not None][:CHART_SLICES]
        if not gated:
            continue
        values = [v for s in gated for v in (s.estimate, *s.confidence_interval)] + [null_bound(g)]
        more = sum(1 for s in g.slices if s.gated) - len(gated)
        charts.append(MermaidChart(
            f"slices:{g.name}", medium.format("{}: Δ per slice with {} intervals", medium.text(g.name), level),
            medium.format("{}: Δ per slice with {} intervals", medium.html(g.name), level),
            f"Worst {len(gated)} gated slices{f' (of {len(gated) + more})' if more else ''}. Grey bars: Δ (the bar's "
            f"top); red and green lines: the interval's ends. A slice fails when its drop beyond "
            f"{fmt(g.max_drop)} is significant after Holm.",
            "[" + ", ".join(_label(s.slice) for s in gated) + "]", _y_axis("Δ", values),
            palette("estimate", "low", "high"),
            [Series("Δ", "bar", mermaid_values(s.estimate for s in gated)),
             Series("lower", "line", mermaid_values(s.confidence_interval[0] for s in gated)),
             Series("upper", "line", mermaid_values(s.confidence_interval[1] for s in gated))]))
    return charts
