"""What the canary judge writes: ``canary.json`` (for machines: the action, an Argo Rollouts
analysis job) and ``canary.md`` (the sticky comment and job summary), each atomically.

Every value in the Markdown that came from the log or the registry (sources, reasons that
quote them) is escaped; inside a Mermaid chart only gate names reach a label, through
``mermaid_text``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from ..escape import md_code, md_text, mermaid_text
from ..paths import write_texts
from ..result import dumps
from ..report.charts import mermaid_values, palette, plain_number
from ..report.numbers import fmt, fmt_level, padded_range
from .judge import CanaryResult

SCHEMA_VERSION = 1
MARKER = "<!-- mlgate:canary -->"
HEADLINES = {
    "promote": "✅ **promote**: the canary is shown good enough on live traffic",
    "rollback": "❌ **rollback**: live traffic shows the canary worse",
    "continue": "⏳ **continue**: not decided yet",
    "expired": "⌛ **expired**: the budget ran out undecided",
    "none": "➖ **nothing to judge**",
}


def to_dict(result: CanaryResult, *, mlgate_version: str = "") -> dict:
    gates = [{
        "name": g.name, "metric": g.metric, "rule": g.rule, "estimate": g.estimate, "lower": g.lower, "upper": g.upper,
        "bound": g.bound, "outcome": g.outcome, "n": g.n, "candidate": g.candidate, "production": g.production,
        "method": g.method,
        "trace": {"rows": list(g.trace.rows), "estimate": list(g.trace.estimate), "lower": list(g.trace.lower),
                  "upper": list(g.trace.upper)},
    } for g in result.gates]
    guardrails = {g.name: dataclasses.asdict(g) for g in result.guardrails}
    return {
        "schema_version": SCHEMA_VERSION, "verdict": result.verdict, "action": result.action,
        "reasons": list(result.reasons), "mode": result.mode, "rows": result.rows, "pairs": result.pairs,
        "labelled": result.labelled, "gates": gates, "guardrails": guardrails,
        "candidate": result.candidate, "production": result.production, "applied": result.applied,
        "confidence_level": 1 - 2 * result.alpha, "min_rows": result.min_rows, "max_rows": result.max_rows,
        "max_days": result.max_days, "on_expired": result.on_expired, "started_at": result.started_at,
        "elapsed_days": result.elapsed_days, "judged_at": result.judged_at, "sources": list(result.sources),
        "ignored_rows": result.ignored_rows, "mlgate_version": mlgate_version,
    }


def render_markdown(result: CanaryResult) -> str:
    level = fmt_level(1 - 2 * result.alpha)
    lines = [MARKER, f"## mlgate canary: {HEADLINES[result.verdict]}", ""]
    lines += [f"- {md_text(r)}" for r in result.reasons]
    lines.append("")
    who = _versions(result)
    if who:
        lines += [who, ""]
    if result.candidate is not None and result.verdict != "none":
        days = f", {result.elapsed_days:.1f} of {result.max_days:g} days" if result.elapsed_days is not None else ""
        lines += [f"Mode **{result.mode}**: {result.labelled:,} judged {'pairs' if result.mode == 'shadow' else 'rows'} "
                  f"(min_rows {result.min_rows:,}, max_rows {result.max_rows:,}{days}); "
                  f"{result.pairs:,} {'requests both models scored' if result.mode == 'shadow' else 'requests'}, "
                  f"{result.rows:,} log rows of these two versions.", ""]
    if result.gates:
        lines += [f"| gate | candidate | production | Δ (+ is better) | {level} anytime-valid interval | bound | outcome |",
                  "|---|---|---|---|---|---|---|"]
        for g in result.gates:
            interval = "—" if g.lower is None else f"[{fmt(g.lower)}, {fmt(g.upper)}]"
            lines.append(f"| {md_text(g.name)} | {fmt(g.candidate)} | {fmt(g.production)} | {fmt(g.estimate)} | "
                         f"{interval} | {fmt(g.bound)} | {g.outcome} |")
        lines.append("")
    for g in result.guardrails:
        state = "**tripped**" if g.tripped else "ok"
        interval = "" if g.lower is None else f", {level} interval [{fmt(g.lower)}, {fmt(g.upper)}]"
        lines.append(f"Guardrail {g.name}: rate {fmt(g.rate)} over {g.n:,} pairs{interval}; rolls back above "
                     f"{g.threshold:g}: {state}.")
        lines.append("")
    if result.applied and result.applied.get("skipped"):
        lines += [f"Registry: not applied: {md_text(result.applied['skipped'])}.", ""]
    elif result.applied:
        a = result.applied
        did = "applied" if a["changed"] else "already applied (nothing changed)"
        lines += [f"Registry: {a['action']} {did}; production is version {a['production']}"
                  + (f", previous {a['previous']}" if a.get("previous") else "") + ".", ""]
    elif result.action:
        verb = {"promote": "promote it", "rollback": "roll it back"}[result.action]
        lines += [f"Not applied: run with `--apply` to {verb}.", ""]
    for chart in _charts(result):
        lines += chart
    if result.sources:
        lines += ["<details><summary>Sources</summary>", ""]
        lines += [f"- {md_code(s)}" for s in result.sources]
        lines += ["", "</details>", ""]
    lines.append(f"<sub>Each interval is an anytime-valid confidence sequence: it may be looked at after every "
                 f"row, as often as the judge runs, and still covers Δ with {level} probability. Judged at "
                 f"{result.judged_at}.</sub>")
    return "\n".join(lines) + "\n"


def _versions(result: CanaryResult) -> str:
    c, p = result.candidate, result.production
    if c is None and p is None:
        return ""
    parts = []
    if c is not None:
        pr = f" from #{int(c['pr'])}" if c.get("pr") else ""
        parts.append(f"candidate version {c['version']}{pr}")
    if p is not None:
        parts.append(f"production version {p['version']}")
    return "Judging " + " against ".join(parts) + "."


def _charts(result: CanaryResult) -> list[list[str]]:
    """One xychart per gate: the interval's ends narrowing towards Δ as rows arrive, and the bound."""
    out = []
    for g in result.gates:
        t = g.trace
        if len(t.rows) < 2:
            continue
        values = [v for v in (*t.lower, *t.upper, g.bound) if math.isfinite(v)]
        lo, hi = padded_range(values)
        x = ", ".join(str(r) for r in t.rows)
        title = mermaid_text(f"{g.name}, interval by judged rows", limit=None)
        out.append([
            f"<details><summary>{md_text(g.name)}: the interval over time</summary>", "",
            "```mermaid", "---", "config:", "  themeVariables:", "    xyChart:",
            f'      plotColorPalette: "{palette("low", "high", "estimate", "bound")}"', "---", "xychart-beta",
            f'  title "{title}"', f"  x-axis \"judged rows\" [{x}]",
            f'  y-axis "Δ (+ is better)" {plain_number(lo)} --> {plain_number(hi)}',
            f"  line {mermaid_values(t.lower)}", f"  line {mermaid_values(t.upper)}",
            f"  line {mermaid_values(t.estimate)}", f"  line {mermaid_values(g.bound for _ in t.rows)}",
            "```", "", "Red: the lower end; green: the upper end; grey: Δ; black: the bound. Promote once red is above "
            "black; roll back once green is below it.", "", "</details>", ""])
    return out


def write_canary_outputs(result: CanaryResult, out: Path, *, mlgate_version: str = "") -> dict[str, Path]:
    return write_texts(out, {"canary.json": dumps(to_dict(result, mlgate_version=mlgate_version)),
                             "canary.md": render_markdown(result)})
