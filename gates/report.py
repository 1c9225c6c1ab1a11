"""Render a result for people: the PR comment (Markdown), the HTML report, JUnit XML.

View models are built here and templates only loop and format: no template compares numbers
or decides a verdict. Numbers shown beside the bound they were tested against get as many
digits as it takes for the display never to contradict the verdict (0.8996 is not "0.900").
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import jinja2

from .evaluate import Result
from .rules import GateResult

MARKER = "<!-- mlgate:report -->"
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


def template_dir() -> Path:
    """``templates/`` beside the source tree, else the copy installed as ``mlgate_templates``."""
    here = Path(__file__).resolve().parent.parent / "templates"
    if (here / "comment.md.j2").is_file():
        return here
    from importlib.resources import files

    return Path(str(files("mlgate_templates")))


def environment(autoescape: bool = False) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


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


def signed(text: str) -> str:
    return text if text.startswith("-") or text == "—" else f"+{text}"


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


@dataclass
class SliceRow:
    gate: str
    slice: str
    n: int
    estimate: str
    interval: str
    p_value: str
    p_adjusted: str
    status: str


def _status(g: GateResult) -> str:
    if g.skipped:
        return "➖ skipped"
    if g.undefined:
        return "❌ undefined"
    return "✅ pass" if g.passed else "❌ fail"


def gate_row(g: GateResult) -> GateRow:
    rule = RULE_TEXT[g.rule].format(threshold=fmt(g.threshold), margin=fmt(g.margin), max_drop=fmt(g.max_drop))
    cand, prod = fmt(g.candidate), fmt(g.production)
    diff = signed(fmt(g.estimate)) if g.estimate is not None else "—"
    interval = "—"
    if g.rule in ("min", "max") and g.candidate is not None:
        cand, _ = fmt_against(g.candidate, g.threshold)
    if g.confidence_interval is not None:
        low, high = g.confidence_interval
        null = {"non_inferior": -(g.margin or 0.0), "superior": 0.0}.get(g.rule)
        if g.rule in ("max_drop", "slice_max_drop"):
            null = -(g.max_drop or 0.0)
        lo_s, _ = fmt_against(low, null)
        hi_s, _ = fmt_against(high, null)
        level = f"{g.confidence_level:.0%} " if g.confidence_level else ""
        interval = f"{level}[{lo_s}, {hi_s}]"
    if g.rule == "max_drop" and g.estimate is not None:
        diff = signed(fmt_against(g.estimate, -(g.max_drop or 0.0))[0])
    p = "—" if g.p_value is None else (f"{g.p_value:.3g}" if g.p_value >= 1e-4 else "<0.0001")
    return GateRow(g.name, g.metric, rule, prod, cand, diff, interval, p, g.method, _status(g), g.detail)


def slice_rows(g: GateResult) -> list[SliceRow]:
    # Worst first: gated slices by estimate (most negative first), then those not gated.
    ordered = sorted(g.slices, key=lambda s: (not s.gated, s.estimate if s.estimate is not None else 0.0))
    rows = []
    for s in ordered:
        ci = "—" if s.confidence_interval is None else f"[{fmt(s.confidence_interval[0])}, {fmt(s.confidence_interval[1])}]"
        status = ("✅" if s.passed else "❌") if s.gated else f"➖ {s.detail}"
        rows.append(SliceRow(g.name, s.slice, s.n, signed(fmt(s.estimate)) if s.estimate is not None else "—", ci,
                             "—" if s.p_value is None else f"{s.p_value:.3g}",
                             "—" if s.p_value_adjusted is None else f"{s.p_value_adjusted:.3g}", status))
    return rows


def view(result: Result, *, run_url: str | None = None) -> dict:
    verdict = "overridden" if result.overridden else result.decision.decision
    failed = [g.name for g in result.gates if g.passed is False]
    return {
        "marker": MARKER,
        "verdict": verdict,
        "icon": ICONS[verdict],
        "headline": HEADLINES[verdict],
        "deciding": failed if result.decision.decision == "block" else [],
        "reasons": list(result.decision.reasons),
        "gates": [gate_row(g) for g in result.gates],
        "slices": [row for g in result.gates if g.slices for row in slice_rows(g)],
        "alpha": result.alpha,
        "candidate": _identity(result.candidate),
        "production": _identity(result.production) if result.production else None,
        "data": {**result.data, "short": result.data["sha256"][:12]},
        "config_short": result.config_sha256[:12],
        "policy_source": result.policy_source,
        "engine": result.engine,
        "task": result.task,
        "notes": list(result.notes),
        "overridden": result.overridden,
        "version": result.mlgate_version,
        "run_url": run_url,
    }


def _identity(identity: dict) -> dict:
    return {**identity, "short": identity["sha256"][:12]}


# ----------------------------------------------------------------------------- renderers

TRIMMED = "\n\n_… report trimmed to fit GitHub's size limit; the full report is in the run's `mlgate-report` artifact._\n"


def trim_markdown(text: str, limit: int) -> str:
    """Fit ``text`` into ``limit`` characters by dropping from the end, where the detail lives.

    The verdict and the gate table come first in the template, so they survive; any
    ``<details>`` left open by the cut is closed so the rest of the page renders.
    """
    if len(text) <= limit:
        return text
    budget = limit - len(TRIMMED) - 200
    cut = text.rfind("\n", 0, budget)
    kept = text[: cut if cut > 0 else budget]
    open_details = kept.count("<details>") - kept.count("</details>")
    return kept + "\n" + "\n</details>\n" * max(open_details, 0) + TRIMMED


def render_markdown(result: Result, *, run_url: str | None = None) -> str:
    return environment().get_template("comment.md.j2").render(**view(result, run_url=run_url))


def render_html(result: Result, *, run_url: str | None = None) -> str:
    return environment(autoescape=True).get_template("report.html.j2").render(**view(result, run_url=run_url))


def render_junit(result: Result) -> str:
    """One test case per gate, so CI systems that read JUnit show gates as tests."""
    failures = sum(1 for g in result.gates if g.passed is False)
    skipped = sum(1 for g in result.gates if g.skipped)
    suite = ET.Element("testsuite", name="mlgate", tests=str(len(result.gates)), failures=str(failures),
                       errors="0", skipped=str(skipped))
    for g in result.gates:
        case = ET.SubElement(suite, "testcase", classname=f"mlgate.{g.metric}", name=g.name)
        if g.skipped:
            ET.SubElement(case, "skipped", message=g.detail)
        elif g.passed is False:
            ET.SubElement(case, "failure", message=g.detail, type="undefined" if g.undefined else "gate").text = g.detail
        out = ET.SubElement(case, "system-out")
        out.text = html.unescape(f"{g.rule}: candidate={fmt(g.candidate)} production={fmt(g.production)} "
                                 f"estimate={fmt(g.estimate)} p={fmt(g.p_value)} method={g.method}")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
