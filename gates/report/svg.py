"""Inline SVG plots for the HTML report, which (unlike a comment) can draw error bars.

Plots are drawing primitives in pixels, computed here, so the template only writes them out
and decides nothing; labels and tooltips name gates and slices, so they go through ``HTML``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..result import Result
from .media import HTML
from .numbers import fmt, fmt_level, padded_range
from .rows import gate_state, interval_gates, null_bound, ordered_slices, slice_state

HTML_SLICES = 40  # slices per gate in a plot (a Mermaid chart shows fewer)


@dataclass
class Svg:
    """An inline SVG plot as drawing primitives in pixels; the template only writes them out."""

    key: str
    title: str
    caption: str
    width: int
    height: int
    lines: list[dict] = field(default_factory=list)
    polylines: list[dict] = field(default_factory=list)
    circles: list[dict] = field(default_factory=list)
    rects: list[dict] = field(default_factory=list)
    texts: list[dict] = field(default_factory=list)


def ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    raw = span / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, x = [], first
    while x <= hi + 1e-9 * span:
        out.append(round(x, 12))
        x += step
    return out


def tick_label(v: float) -> str:
    return f"{v:.4g}" if v != 0 else "0"


def forest_plot(key: str, title: str, caption: str, rows: list[dict]) -> Svg:
    """Horizontal intervals: one row per item with its estimate, interval and bound. Labels and
    tooltips name gates and slices: shortened first, then escaped (``html_text``)."""
    label_w, plot_w, row_h, top, bottom = 230, 450, 26, 16, 40
    width, height = label_w + plot_w + 30, top + row_h * len(rows) + bottom
    values = [v for r in rows for v in (r["low"], r["high"], r["estimate"], r["bound"]) if v is not None] + [0.0]
    lo, hi = padded_range(values, 0.05)
    x = lambda v: label_w + (v - lo) / (hi - lo) * plot_w  # noqa: E731
    svg = Svg(key, title, caption, width, height)
    bottom_y = top + row_h * len(rows)
    for t in ticks(lo, hi):
        svg.lines.append({"x1": f"{x(t):.1f}", "y1": top, "x2": f"{x(t):.1f}", "y2": bottom_y, "cls": "grid"})
        svg.texts.append({"x": f"{x(t):.1f}", "y": bottom_y + 16, "text": tick_label(t), "anchor": "middle", "cls": "tick"})
    svg.lines.append({"x1": f"{x(0):.1f}", "y1": top, "x2": f"{x(0):.1f}", "y2": bottom_y, "cls": "zero"})
    svg.texts.append({"x": label_w + plot_w / 2, "y": bottom_y + 34, "text": "Δ (+ means the candidate is better)",
                      "anchor": "middle", "cls": "axis"})
    for i, r in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        label = r["label"] if len(r["label"]) <= 30 else r["label"][:29] + "…"
        svg.texts.append({"x": label_w - 8, "y": f"{cy + 4:.1f}", "text": HTML.text(label), "anchor": "end",
                          "cls": "label", "title": HTML.text(r["label"])})
        if r["bound"] is not None:
            svg.lines.append({"x1": f"{x(r['bound']):.1f}", "y1": f"{cy - 9:.1f}", "x2": f"{x(r['bound']):.1f}",
                              "y2": f"{cy + 9:.1f}", "cls": "bound"})
        if r["low"] is not None and r["high"] is not None:
            svg.lines.append({"x1": f"{x(r['low']):.1f}", "y1": f"{cy:.1f}", "x2": f"{x(r['high']):.1f}", "y2": f"{cy:.1f}",
                              "cls": f"ci {r['state']}"})
            for end in (r["low"], r["high"]):
                svg.lines.append({"x1": f"{x(end):.1f}", "y1": f"{cy - 5:.1f}", "x2": f"{x(end):.1f}", "y2": f"{cy + 5:.1f}",
                                  "cls": f"ci {r['state']}"})
        if r["estimate"] is not None:
            svg.circles.append({"cx": f"{x(r['estimate']):.1f}", "cy": f"{cy:.1f}", "r": 4, "cls": f"dot {r['state']}",
                                "title": HTML.text(r["tooltip"])})
    return svg


def curve_plot(key: str, title: str, caption: str, x_label: str, y_label: str,
               series: dict[str, list[tuple[float, float]]], markers: bool = False) -> Svg:
    """Curves in the unit square (ROC, reliability), with the diagonal for reference."""
    left, top, size = 56, 14, 280
    svg = Svg(key, title, caption, left + size + 200, top + size + 48)
    px = lambda v: left + v * size  # noqa: E731
    py = lambda v: top + (1 - v) * size  # noqa: E731
    for t in (0, 0.25, 0.5, 0.75, 1):
        svg.lines.append({"x1": f"{px(t):.1f}", "y1": top, "x2": f"{px(t):.1f}", "y2": top + size, "cls": "grid"})
        svg.lines.append({"x1": left, "y1": f"{py(t):.1f}", "x2": left + size, "y2": f"{py(t):.1f}", "cls": "grid"})
        svg.texts.append({"x": f"{px(t):.1f}", "y": top + size + 16, "text": tick_label(t), "anchor": "middle", "cls": "tick"})
        svg.texts.append({"x": left - 6, "y": f"{py(t) + 4:.1f}", "text": tick_label(t), "anchor": "end", "cls": "tick"})
    svg.rects.append({"x": left, "y": top, "w": size, "h": size, "cls": "frame"})
    svg.lines.append({"x1": px(0), "y1": py(0), "x2": px(1), "y2": py(1), "cls": "chance"})
    svg.texts.append({"x": left + size / 2, "y": top + size + 36, "text": x_label, "anchor": "middle", "cls": "axis"})
    svg.texts.append({"x": 14, "y": top + size / 2, "text": y_label, "anchor": "middle", "cls": "axis vertical"})
    for i, (name, points) in enumerate(series.items()):
        role = name.split(" ")[0]
        svg.polylines.append({"points": " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in points), "cls": f"curve {role}"})
        if markers:
            for a, b in points:
                svg.circles.append({"cx": f"{px(a):.1f}", "cy": f"{py(b):.1f}", "r": 3, "cls": f"mark {role}",
                                    "title": f"{name}: predicted {a:.3f}, observed {b:.3f}"})
        ly = top + 14 + 20 * i
        svg.lines.append({"x1": left + size + 14, "y1": ly - 4, "x2": left + size + 34, "y2": ly - 4, "cls": f"curve {role}"})
        svg.texts.append({"x": left + size + 40, "y": ly, "text": name, "anchor": "start", "cls": "legend"})
    return svg


def svg_plots(result: Result) -> list[Svg]:
    plots = []
    level = fmt_level(1.0 - 2.0 * result.alpha)
    gates = interval_gates(result.gates)
    if gates:
        plots.append(forest_plot(
            "differences", f"Differences with {level} intervals",
            "Dot: Δ; bar: the interval that decided; tick: the gate's bound (the lower end must lie to its right).",
            [{"label": g.name, "estimate": g.estimate, "low": g.confidence_interval[0], "high": g.confidence_interval[1],
              "bound": null_bound(g), "state": gate_state(g),
              "tooltip": f"{g.name}: Δ {g.estimate:+.4g}, {level} [{g.confidence_interval[0]:+.4g}, {g.confidence_interval[1]:+.4g}]"}
             for g in gates]))
    if result.curves is not None:
        c = result.curves
        plots.append(curve_plot(
            "roc", "ROC curves", f"{c.n:,} rows, {c.positives:,} positive; dashed: chance.",
            "false-positive rate", "true-positive rate",
            {f"{k} (AUC {r.auc:.3f})": list(zip(r.fpr, r.tpr)) for k, r in c.roc.items()}))
        plots.append(curve_plot(
            "calibration", "Calibration (reliability)",
            "Mean predicted probability against the observed share of positives in ten score bins; dashed: perfect.",
            "mean predicted probability", "observed share positive",
            {k: [(m, o) for m, o in zip(cal.mean_predicted, cal.observed) if m is not None and o is not None]
             for k, cal in c.calibration.items()}, markers=True))
    for g in result.gates:
        gated = [s for s in ordered_slices(g) if s.gated and s.confidence_interval is not None][:HTML_SLICES]
        if not gated:
            continue
        total = sum(1 for s in g.slices if s.gated)
        plots.append(forest_plot(
            HTML.text(f"slices:{g.name}"), HTML.format("{}: Δ per slice ({} intervals)", HTML.text(g.name), level),
            f"Worst {len(gated)} of {total} gated slices; tick: -{fmt(g.max_drop)} (a slice fails when its drop "
            f"beyond it is significant after Holm).",
            [{"label": f"{s.slice} (n={s.n})", "estimate": s.estimate, "low": s.confidence_interval[0],
              "high": s.confidence_interval[1], "bound": null_bound(g), "state": slice_state(s),
              "tooltip": f"{s.slice}: Δ {s.estimate:+.4g}, Holm p {fmt(s.p_value_adjusted)}"} for s in gated]))
    return plots
