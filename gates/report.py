"""Render a result for people: the PR comment and job summary (Markdown), the HTML report, JUnit XML.

View models are built here and templates only loop and format: no template compares numbers
or decides a verdict. Numbers shown beside the bound they were tested against get as many
digits as it takes for the display never to contradict the verdict (0.8996 is not "0.900").

GitHub caps a comment at 65,536 characters and a check-run summary at 65,535, so the Markdown
is fitted to a budget on the view model, dropping the least important detail first (the
policy diff, slice rows beyond the worst few, the per-gate detail list, the charts); the
verdict and the gate table are never dropped. ``trim_markdown`` stays as the last safety net.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import jinja2

from .evaluate import Result
from .rules import GateResult, SliceResult

MARKER = "<!-- mlgate:report -->"
COMMENT_LIMIT = 65_536  # GitHub: an issue comment's body
SUMMARY_LIMIT = 65_535  # GitHub: a check run's output.summary (the job summary gets the same text)
FULL_LIMIT = 1_048_576  # report-full.md in the artifact: GitHub's job-summary cap, the whole report below it
ICONS = {"approve": "✅", "block": "❌", "first-model": "🆕", "overridden": "⚠️"}
HEADLINES = {
    "approve": "Approved: the candidate may replace production",
    "block": "Blocked: the candidate may not replace production",
    "first-model": "First model: no production model to compare with; the absolute gates pass",
    "overridden": "Overridden: blocked by the gates, approved by a maintainer",
}
RULE_TEXT = {
    "min": "≥ {threshold}", "max": "≤ {threshold}", "non_inferior": "non-inferior, margin {margin}",
    "superior": "superior", "max_drop": "drop ≤ {max_drop}", "max_ratio": "ratio ≤ {threshold}",
    "slice_max_drop": "no slice drops > {max_drop}",
}
METHODS = {
    "delong": "DeLong", "paired-bootstrap-percentile": "paired bootstrap", "paired-t": "paired t",
    "delta-method": "paired t (delta method)", "point": "point estimate", "measured": "measured", "none": "—",
}
POLICY_SOURCES = {
    "base": "the base branch (a pull request cannot change its own gate)",
    "pr": "this pull request (no policy on the base branch yet)",
    "local": "the local file",
}
COLOURS = {"candidate": "#0969da", "production": "#bc4c00", "chance": "#8c959f",
           "estimate": "#8c959f", "low": "#cf222e", "high": "#1a7f37", "bound": "#1f2328"}
SLICE_STEPS = (25, 10, 3, 1)  # slice rows kept per gate as the budget tightens
CHART_SLICES = 15  # slices per gate in a Mermaid chart (the HTML plots more)
HTML_SLICES = 40


def template_dir() -> Path:
    """``templates/`` beside the source tree, else the copy installed as ``mlgate_templates``."""
    here = Path(__file__).resolve().parent.parent / "templates"
    if (here / "comment.md.j2").is_file():
        return here
    from importlib.resources import files

    return Path(str(files("mlgate_templates")))


def environment(autoescape: bool = False) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = cell
    return env


# ----------------------------------------------------------------------------- number formatting


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


def cell(text) -> str:
    """One Markdown table cell: a pipe or a line break in a name must not end the row."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _plain_number(value: float) -> str:
    """A number Mermaid parses: fixed point, no exponent, trailing zeros dropped."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# ----------------------------------------------------------------------------- view models


@dataclass
class GateRow:
    name: str
    metric: str
    rule: str
    production: str
    candidate: str
    difference: str
    interval: str
    p_value: str
    method: str
    status: str
    detail: str
    state: str  # pass | fail | undefined | skipped (a CSS class and a JUnit outcome)
    extras: list[str] = field(default_factory=list)  # reported-not-deciding tests


@dataclass
class SliceRow:
    gate: str
    slice: str
    n: int
    production: str
    candidate: str
    estimate: str
    interval: str
    p_value: str
    p_adjusted: str
    status: str
    state: str  # fail | pass | undefined | small


@dataclass
class SliceGroup:
    gate: str
    rule: str
    level: str
    rows: list[SliceRow]
    total: int
    gated: int
    failed: int
    small: int
    undefined: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)

    @property
    def summary(self) -> str:
        parts = [f"{self.failed} of {self.gated} gated slices dropped" if self.failed
                 else f"no drop in {self.gated} gated slices"]
        if self.undefined:
            parts.append(f"{self.undefined} undefined")
        if self.small:
            parts.append(f"{self.small} too small")
        return ", ".join(parts)


@dataclass
class Identity:
    role: str
    source: str
    short: str
    sha256: str
    facts: str


@dataclass
class Note:
    summary: str
    body: str  # the long part (a diff); dropped first when the comment is over budget


@dataclass
class Series:
    name: str
    kind: str  # bar | line
    values: str  # "[1, 2, 3]" for Mermaid


@dataclass
class MermaidChart:
    key: str
    title: str
    caption: str
    x_axis: str
    y_axis: str
    palette: str
    series: list[Series]


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


@dataclass
class Report:
    marker: str
    verdict: str
    icon: str
    headline: str
    summary: str
    deciding_label: str
    deciding: list[str]
    reasons: list[str]
    overridden: dict | None
    gates: list[GateRow]
    level_note: str
    identities: list[Identity]
    policy_source: str
    notes: list[Note]
    slice_groups: list[SliceGroup]
    charts: list[MermaidChart]
    plots: list[Svg]
    details: bool
    run_url: str | None
    version: str
    task: str
    engine: str
    alpha: str
    trimmed: list[str] = field(default_factory=list)


def _state(g: GateResult) -> str:
    if g.skipped:
        return "skipped"
    if g.undefined:
        return "undefined"
    return "pass" if g.passed else "fail"


STATUS = {"pass": "✅ pass", "fail": "❌ fail", "undefined": "❌ undefined", "skipped": "➖ skipped"}


def _null(g: GateResult) -> float | None:
    """The bound the gate's interval (or point estimate) is compared with."""
    if g.rule == "non_inferior":
        return -(g.margin or 0.0)
    if g.rule == "superior":
        return 0.0
    if g.rule in ("max_drop", "slice_max_drop"):
        return -(g.max_drop or 0.0)
    return None


def _level(level: float | None) -> str:
    return "" if not level else f"{level * 100:g}%"


def gate_row(g: GateResult, alpha: float = 0.05) -> GateRow:
    rule = RULE_TEXT[g.rule].format(threshold=fmt(g.threshold), margin=fmt(g.margin), max_drop=fmt(g.max_drop))
    cand, prod = fmt(g.candidate), fmt(g.production)
    diff = signed(fmt(g.estimate)) if g.estimate is not None else "—"
    interval = "—"
    null = _null(g)
    if g.rule in ("min", "max") and g.candidate is not None and g.threshold is not None:
        cand, _ = fmt_against(g.candidate, g.threshold)
    if g.confidence_interval is not None:
        low, high = g.confidence_interval
        lo_s, _ = fmt_against(low, null) if null is not None else (fmt(low), "")
        hi_s, _ = fmt_against(high, null) if null is not None else (fmt(high), "")
        level = _level(g.confidence_level)
        interval = f"{level} [{lo_s}, {hi_s}]".strip()
    if g.rule == "max_drop" and g.estimate is not None:
        diff = signed(fmt_against(g.estimate, null)[0])
    if g.rule == "max_ratio" and "ratio" in g.supplementary and g.threshold is not None:
        diff = f"ratio {fmt_against(g.supplementary['ratio'], g.threshold)[0]}"
    if g.rule == "slice_max_drop" and g.slices and g.estimate is not None:
        worst = _worst_slice(g)
        if worst is not None:
            diff = f"{signed(fmt(g.estimate))} ({worst})"
    method = METHODS.get(g.method, g.method)
    if g.rule == "slice_max_drop" and g.method not in ("none", "point"):
        method += ", Holm"
    state = _state(g)
    return GateRow(g.name, g.metric, rule, prod, cand, diff, interval, fmt_p(g.p_value, alpha), method,
                   STATUS[state], g.detail, state, _extras(g))


def _worst_slice(g: GateResult) -> str | None:
    for s in g.slices:
        if s.gated and s.estimate == g.estimate and s.confidence_interval == g.confidence_interval:
            return s.slice
    return None


def _extras(g: GateResult) -> list[str]:
    out = []
    mc = g.supplementary.get("mcnemar")
    if mc:
        ci = mc.get("confidence_interval") or [None, None]
        out.append(f"McNemar ({mc.get('method', 'midp')}): b = {mc['b']}, c = {mc['c']}, p = {fmt(mc.get('p_value'))}, "
                   f"Δ accuracy {signed(fmt(mc.get('estimate')))} [{fmt(ci[0])}, {fmt(ci[1])}] (Newcombe)")
    rows = g.supplementary.get("row_tests")
    if rows:
        ci = rows.get("confidence_interval") or [None, None]
        out.append(f"row bootstrap: Δ {signed(fmt(rows.get('estimate')))}, {_level(rows.get('confidence_level'))} "
                   f"[{fmt(ci[0])}, {fmt(ci[1])}] ({rows.get('n_resamples')} resamples); "
                   f"Wilcoxon p = {fmt(rows.get('wilcoxon_pvalue'))}")
    if g.average:
        out.append(f"average: {g.average}")
    return out


def _slice_state(s: SliceResult) -> str:
    if s.gated:
        return "pass" if s.passed else "fail"
    # Slices under min_support are reported, not gated; so are those whose metric is undefined.
    return "small" if "min_support" in s.detail else "undefined"


SLICE_ORDER = {"fail": 0, "pass": 1, "undefined": 2, "small": 3}
SLICE_STATUS = {"fail": "❌ drop", "pass": "✅", "undefined": "➖ undefined", "small": "➖ small"}


def _ordered_slices(g: GateResult) -> list[SliceResult]:
    """Worst first: failed, then gated by estimate (largest drop first), then undefined, then small."""
    return sorted(g.slices, key=lambda s: (SLICE_ORDER[_slice_state(s)],
                                           s.estimate if s.estimate is not None else math.inf, -s.n, s.slice))


def slice_rows(g: GateResult, alpha: float = 0.05) -> list[SliceRow]:
    null = _null(g)
    rows = []
    for s in _ordered_slices(g):
        state = _slice_state(s)
        ci = "—"
        if s.confidence_interval is not None:
            ci = f"[{fmt_against(s.confidence_interval[0], null)[0]}, {fmt_against(s.confidence_interval[1], null)[0]}]"
        status = SLICE_STATUS[state] if state in ("fail", "pass") else f"{SLICE_STATUS[state]}: {s.detail.removeprefix('not gated: ')}"
        estimate = signed(fmt_against(s.estimate, null)[0]) if s.estimate is not None else "—"
        rows.append(SliceRow(g.name, s.slice, s.n, fmt(s.production), fmt(s.candidate), estimate, ci,
                             fmt_p(s.p_value, alpha), fmt_p(s.p_value_adjusted, alpha), status, state))
    return rows


def slice_group(g: GateResult, alpha: float) -> SliceGroup:
    rows = slice_rows(g, alpha)
    states = [r.state for r in rows]
    rule = RULE_TEXT[g.rule].format(threshold=fmt(g.threshold), margin=fmt(g.margin), max_drop=fmt(g.max_drop))
    return SliceGroup(g.name, rule, _level(g.confidence_level), rows, len(rows), states.count("fail") + states.count("pass"),
                      states.count("fail"), states.count("small"), states.count("undefined"))


def _identities(result: Result) -> list[Identity]:
    def model(role, ident):
        facts = []
        if ident.get("version") is not None:
            facts.append(f"version {ident['version']}")
        if ident.get("size_mb") is not None:
            facts.append(f"{fmt(ident['size_mb'], 3)} MB")
        if ident.get("kind") == "predictions":
            facts.append("predictions file")
        return Identity(role, ident["source"], ident["sha256"][:12], ident["sha256"], ", ".join(facts))

    out = [model("Candidate", result.candidate)]
    out.append(model("Production", result.production) if result.production
               else Identity("Production", "none", "—", "", "no production model"))
    out.append(Identity("Holdout", result.data["source"], result.data["sha256"][:12], result.data["sha256"],
                        f"{result.data['rows']:,} rows"))
    out.append(Identity("Policy", POLICY_SOURCES.get(result.policy_source, result.policy_source),
                        result.config_sha256[:12], result.config_sha256, f"α = {result.alpha:g}"))
    return out


def _notes(result: Result) -> list[Note]:
    out = []
    for note in result.notes:
        first, _, rest = note.strip().partition("\n")
        out.append(Note(first.strip(), rest.strip()))
    return out


def _summary(result: Result, verdict: str, gates: list[GateRow]) -> str:
    counts = {s: sum(1 for g in gates if g.state == s) for s in ("pass", "fail", "undefined", "skipped")}
    parts = [f"{counts['pass']} of {len(gates)} gates passed"]
    if counts["fail"] + counts["undefined"]:
        parts.append(f"{counts['fail'] + counts['undefined']} failed")
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} skipped (no production model)")
    if verdict == "overridden" and result.overridden:
        parts.append(f"overridden by @{result.overridden.get('by')}")
    return "; ".join(parts)


def view(result: Result, *, run_url: str | None = None, marker: bool = True) -> Report:
    verdict = "overridden" if result.overridden else result.decision.decision
    gates = [gate_row(g, result.alpha) for g in result.gates]
    level = 1.0 - 2.0 * result.alpha
    groups = [slice_group(g, result.alpha) for g in result.gates if g.slices]
    deciding = [g.name for g in result.gates if g.passed is False] if result.decision.decision == "block" else []
    return Report(
        marker=MARKER if marker else "",
        verdict=verdict,
        icon=ICONS[verdict],
        headline=HEADLINES[verdict],
        summary=_summary(result, verdict, gates),
        deciding_label="Deciding gate" if len(deciding) == 1 else "Deciding gates",
        deciding=deciding,
        reasons=[] if result.decision.decision == "approve" else list(result.decision.reasons),
        overridden=result.overridden,
        gates=gates,
        level_note=(f"Δ = candidate − production, oriented so that + is better. One-sided tests at α = {result.alpha:g}, "
                    f"each decided by the two-sided {_level(level)} interval shown; all gates must pass."),
        identities=_identities(result),
        policy_source=POLICY_SOURCES.get(result.policy_source, result.policy_source),
        notes=_notes(result),
        slice_groups=groups,
        charts=mermaid_charts(result),
        plots=svg_plots(result),
        details=True,
        run_url=run_url,
        version=result.mlgate_version,
        task=result.task,
        engine=result.engine,
        alpha=f"{result.alpha:g}",
    )


# ----------------------------------------------------------------------------- Mermaid charts


def _palette(*names: str) -> str:
    return ", ".join(COLOURS[n] for n in names)


def _values(values) -> str:
    return "[" + ", ".join(_plain_number(v) for v in values) + "]"


def _label(text: str, width: int = 28) -> str:
    text = text if len(text) <= width else text[: width - 1] + "…"
    return '"' + text.replace('"', "'") + '"'


def _y_axis(title: str, values, include=(0.0,)) -> str:
    lo, hi = _padded_range(list(values) + list(include))
    return f'"{title}" {_plain_number(lo)} --> {_plain_number(hi)}'


def _padded_range(values, pad: float = 0.08) -> tuple[float, float]:
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


def _interval_gates(result: Result) -> list[GateResult]:
    return [g for g in result.gates
            if g.rule != "slice_max_drop" and g.confidence_interval is not None and g.estimate is not None]


def mermaid_charts(result: Result) -> list[MermaidChart]:
    """xychart-beta has no error bars: estimates are bars and the interval's ends two lines."""
    charts = []
    level = _level(1.0 - 2.0 * result.alpha)
    gates = _interval_gates(result)
    if gates:
        values = [v for g in gates for v in (g.estimate, *g.confidence_interval)]
        charts.append(MermaidChart(
            "differences", f"Δ (candidate − production) with {level} intervals",
            "Grey bars: Δ (the bar's top; + is better). Red line: the interval's lower end, green: its upper end, "
            "black: the gate's bound. A gate passes when the red line is above the black one.",
            "[" + ", ".join(_label(g.name) for g in gates) + "]", _y_axis("Δ", values + [_null(g) for g in gates]),
            _palette("estimate", "low", "high", "bound"),
            [Series("Δ", "bar", _values(g.estimate for g in gates)),
             Series(f"{level} lower", "line", _values(g.confidence_interval[0] for g in gates)),
             Series(f"{level} upper", "line", _values(g.confidence_interval[1] for g in gates)),
             Series("bound", "line", _values(_null(g) for g in gates))]))
    curves = result.curves
    if curves is not None:
        grid = [i / 20 for i in range(21)]
        series = [Series(f"{k} (AUC {c.auc:.3f})", "line", _values(c.tpr_at(grid))) for k, c in curves.roc.items()]
        names = list(curves.roc)
        caption = " · ".join(f"{'blue' if k == 'candidate' else 'orange'}: {k}, AUC {c.auc:.3f}"
                             for k, c in curves.roc.items())
        charts.append(MermaidChart(
            "roc", "ROC curves on the holdout", f"{caption} · grey: chance. {curves.n:,} rows, {curves.positives:,} positive.",
            '"false-positive rate" 0 --> 1', '"true-positive rate" 0 --> 1',
            _palette(*names, "chance"), series + [Series("chance", "line", _values(grid))]))
    for g in result.gates:
        gated = [s for s in _ordered_slices(g) if s.gated and s.confidence_interval is not None][:CHART_SLICES]
        if not gated:
            continue
        values = [v for s in gated for v in (s.estimate, *s.confidence_interval)] + [_null(g)]
        more = sum(1 for s in g.slices if s.gated) - len(gated)
        charts.append(MermaidChart(
            f"slices:{g.name}", f"{g.name}: Δ per slice with {level} intervals",
            f"Worst {len(gated)} gated slices{f' (of {len(gated) + more})' if more else ''}. Grey bars: Δ (the bar's "
            f"top); red and green lines: the interval's ends. A slice fails when its drop beyond "
            f"{fmt(g.max_drop)} is significant after Holm.",
            "[" + ", ".join(_label(s.slice) for s in gated) + "]", _y_axis("Δ", values),
            _palette("estimate", "low", "high"),
            [Series("Δ", "bar", _values(s.estimate for s in gated)),
             Series("lower", "line", _values(s.confidence_interval[0] for s in gated)),
             Series("upper", "line", _values(s.confidence_interval[1] for s in gated))]))
    return charts


# ----------------------------------------------------------------------------- SVG plots (HTML)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
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


def _tick_label(v: float) -> str:
    return f"{v:.4g}" if v != 0 else "0"


def forest_plot(key: str, title: str, caption: str, rows: list[dict]) -> Svg:
    """Horizontal intervals: one row per item with its estimate, interval and bound."""
    label_w, plot_w, row_h, top, bottom = 230, 450, 26, 16, 40
    width, height = label_w + plot_w + 30, top + row_h * len(rows) + bottom
    values = [v for r in rows for v in (r["low"], r["high"], r["estimate"], r["bound"]) if v is not None] + [0.0]
    lo, hi = _padded_range(values, 0.05)
    x = lambda v: label_w + (v - lo) / (hi - lo) * plot_w  # noqa: E731
    svg = Svg(key, title, caption, width, height)
    bottom_y = top + row_h * len(rows)
    for t in _ticks(lo, hi):
        svg.lines.append({"x1": f"{x(t):.1f}", "y1": top, "x2": f"{x(t):.1f}", "y2": bottom_y, "cls": "grid"})
        svg.texts.append({"x": f"{x(t):.1f}", "y": bottom_y + 16, "text": _tick_label(t), "anchor": "middle", "cls": "tick"})
    svg.lines.append({"x1": f"{x(0):.1f}", "y1": top, "x2": f"{x(0):.1f}", "y2": bottom_y, "cls": "zero"})
    svg.texts.append({"x": label_w + plot_w / 2, "y": bottom_y + 34, "text": "Δ (candidate − production, + is better)",
                      "anchor": "middle", "cls": "axis"})
    for i, r in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        label = r["label"] if len(r["label"]) <= 34 else r["label"][:33] + "…"
        svg.texts.append({"x": label_w - 8, "y": f"{cy + 4:.1f}", "text": label, "anchor": "end", "cls": "label",
                          "title": r["label"]})
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
                                "title": r["tooltip"]})
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
        svg.texts.append({"x": f"{px(t):.1f}", "y": top + size + 16, "text": _tick_label(t), "anchor": "middle", "cls": "tick"})
        svg.texts.append({"x": left - 6, "y": f"{py(t) + 4:.1f}", "text": _tick_label(t), "anchor": "end", "cls": "tick"})
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
    level = _level(1.0 - 2.0 * result.alpha)
    gates = _interval_gates(result)
    if gates:
        plots.append(forest_plot(
            "differences", f"Differences with {level} intervals",
            "Dot: Δ; bar: the interval that decided; tick: the gate's bound (the lower end must lie to its right).",
            [{"label": g.name, "estimate": g.estimate, "low": g.confidence_interval[0], "high": g.confidence_interval[1],
              "bound": _null(g), "state": _state(g),
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
        gated = [s for s in _ordered_slices(g) if s.gated and s.confidence_interval is not None][:HTML_SLICES]
        if not gated:
            continue
        total = sum(1 for s in g.slices if s.gated)
        plots.append(forest_plot(
            f"slices:{g.name}", f"{g.name}: Δ per slice ({level} intervals)",
            f"Worst {len(gated)} of {total} gated slices; tick: −{fmt(g.max_drop)} (a slice fails when its drop "
            f"beyond it is significant after Holm).",
            [{"label": f"{s.slice} (n={s.n})", "estimate": s.estimate, "low": s.confidence_interval[0],
              "high": s.confidence_interval[1], "bound": _null(g), "state": _slice_state(s),
              "tooltip": f"{s.slice}: Δ {s.estimate:+.4g}, Holm p {fmt(s.p_value_adjusted)}"} for s in gated]))
    return plots


# ----------------------------------------------------------------------------- budget


def fit(report: Report, render, limit: int) -> str:
    """Render ``report`` within ``limit`` characters, dropping the least important detail first."""
    text = render(report)
    if len(text) <= limit:
        return text
    steps = [("the policy diff", _drop_note_bodies)]
    steps += [(f"slice rows beyond the worst {n} per gate", lambda r, n=n: _cap_slices(r, n)) for n in SLICE_STEPS]
    steps += [("the per-gate detail list", _drop_details), ("the charts", _drop_charts),
              ("the slice tables", lambda r: _cap_slices(r, 0))]
    for what, step in steps:
        if not step(report):
            continue
        report.trimmed = [t for t in report.trimmed if not ("slice" in t and "slice" in what)] + [what]
        text = render(report)
        if len(text) <= limit:
            return text
    return trim_markdown(text, limit)


def _drop_note_bodies(r: Report) -> bool:
    changed = any(n.body for n in r.notes)
    r.notes = [dataclasses.replace(n, body="") for n in r.notes]
    return changed


def _cap_slices(r: Report, n: int) -> bool:
    changed = any(len(g.rows) > n for g in r.slice_groups)
    for g in r.slice_groups:
        g.rows = g.rows[:n]
    return changed


def _drop_details(r: Report) -> bool:
    changed, r.details = r.details, False
    return changed


def _drop_charts(r: Report) -> bool:
    changed, r.charts = bool(r.charts), []
    return changed


# ----------------------------------------------------------------------------- renderers

TRIMMED = "\n\n_… report trimmed to fit GitHub's size limit; the full report is in the run's `mlgate-report` artifact._\n"


def trim_markdown(text: str, limit: int) -> str:
    """Fit ``text`` into ``limit`` characters by dropping from the end, where the detail lives.

    The last safety net after ``fit``: the verdict and the gate table come first in the
    template, so they survive; any ``<details>`` left open by the cut is closed so the rest of
    the page renders.
    """
    if len(text) <= limit:
        return text
    budget = limit - len(TRIMMED) - 200
    cut = text.rfind("\n", 0, budget)
    kept = text[: cut if cut > 0 else budget]
    if kept.count("```") % 2:  # a cut inside a code block (a chart, a diff) would swallow the rest
        kept = kept[: kept.rfind("```")]
    open_details = kept.count("<details>") - kept.count("</details>")
    return kept + "\n" + "\n</details>\n" * max(open_details, 0) + TRIMMED


def _template(name: str):
    return environment().get_template(name)


def render_markdown(result: Result, *, run_url: str | None = None, limit: int | None = None) -> str:
    """The PR comment: starts with the sticky marker; fitted to ``limit`` characters when given."""
    report = view(result, run_url=run_url)
    render = _template("comment.md.j2").render
    if limit is None:
        return render(report=report)
    return fit(report, lambda r: render(report=r), limit)


def render_summary(result: Result, *, run_url: str | None = None, limit: int = SUMMARY_LIMIT) -> str:
    """The job summary and check-run summary: the comment's content, without the sticky marker."""
    report = view(result, run_url=run_url, marker=False)
    render = _template("summary.md.j2").render
    return fit(report, lambda r: render(report=r), limit)


def render_html(result: Result, *, run_url: str | None = None) -> str:
    report = view(result, run_url=run_url)
    report.slice_groups = [slice_group(g, result.alpha) for g in result.gates if g.slices]
    return environment(autoescape=True).get_template("report.html.j2").render(report=report)


def render_junit(result: Result) -> str:
    """One test case per gate, so CI systems that read JUnit show gates as tests."""
    rows = [gate_row(g, result.alpha) for g in result.gates]
    failures = sum(1 for r in rows if r.state in ("fail", "undefined"))
    skipped = sum(1 for r in rows if r.state == "skipped")
    root = ET.Element("testsuites", name="mlgate", tests=str(len(rows)), failures=str(failures), errors="0",
                      skipped=str(skipped))
    suite = ET.SubElement(root, "testsuite", name="mlgate", tests=str(len(rows)), failures=str(failures),
                          errors="0", skipped=str(skipped), time="0")
    props = ET.SubElement(suite, "properties")
    facts = {"decision": result.decision.decision, "overridden": "yes" if result.overridden else "no",
             "alpha": f"{result.alpha:g}", "candidate_sha256": result.candidate["sha256"],
             "production_sha256": result.production["sha256"] if result.production else "none",
             "data_sha256": result.data["sha256"], "config_sha256": result.config_sha256,
             "mlgate_version": result.mlgate_version}
    for name, value in facts.items():
        ET.SubElement(props, "property", name=name, value=value)
    for g, r in zip(result.gates, rows):
        case = ET.SubElement(suite, "testcase", classname=f"mlgate.{g.metric}", name=g.name, time="0")
        if r.state == "skipped":
            ET.SubElement(case, "skipped", message=g.detail)
        elif r.state in ("fail", "undefined"):
            ET.SubElement(case, "failure", message=g.detail, type=r.state).text = g.detail
        out = ET.SubElement(case, "system-out")
        out.text = (f"rule: {r.rule}\nproduction: {r.production}\ncandidate: {r.candidate}\nΔ: {r.difference}\n"
                    f"interval: {r.interval}\np: {r.p_value}\nmethod: {r.method}\nresult: {r.state}\n{g.detail}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
