"""What the drift watch writes: ``drift.json`` (machines: the retrain job, dashboards),
``drift.md`` (the job summary and a retrain PR's body) and ``drift.html`` (one self-contained
page with a chart per feature, worst first), each atomically.

Feature names and values come from data: every one is escaped for its medium (``md_text``,
``html_text``).
"""

from __future__ import annotations

from pathlib import Path

from ..escape import html_text, md_code, md_text
from ..paths import write_texts
from ..result import dumps
from ..report.numbers import fmt
from .watch import DriftResult, FeatureDrift

SCHEMA_VERSION = 1
MARKER = "<!-- mlgate:drift -->"
MD_FEATURES = 40  # rows in the Markdown table (the HTML shows all)


def to_dict(result: DriftResult, *, mlgate_version: str = "") -> dict:
    return {
        "schema_version": SCHEMA_VERSION, "drift": result.drift, "reasons": list(result.reasons),
        "features": [_feature(f) for f in result.features],
        "prediction": _feature(result.prediction) if result.prediction else None,
        "performance": [{"metric": p.metric, "reference": p.reference, "current": p.current, "drop": p.drop,
                         "interval": list(p.interval), "max_drop": p.max_drop, "drifted": p.drifted,
                         "n_reference": p.n_reference, "n_current": p.n_current} for p in result.performance],
        "reference": result.reference, "current": result.current, "confidence_level": 1 - 2 * result.alpha,
        "notes": list(result.notes), "judged_at": result.judged_at, "mlgate_version": mlgate_version,
    }


def _feature(f: FeatureDrift) -> dict:
    d = f.distance
    return {"name": f.name, "kind": f.kind, "distance": d.distance if d else None,
            "interval": list(d.interval) if d else None, "threshold": d.threshold if d else None,
            "p_value": d.p_value if d else None, "psi": d.psi if d else None, "drifted": f.drifted,
            "n_reference": d.n_reference if d else None, "n_current": d.n_current if d else None, "note": f.note}


def render_markdown(result: DriftResult) -> str:
    level = f"{(1 - 2 * result.alpha) * 100:g}%"
    head = "🔶 **drift**" if result.drift else "✅ **no drift**"
    cur = result.current
    window = f" (last {cur['window']})" if cur.get("window") else ""
    lines = [MARKER, f"## mlgate drift: {head}", ""]
    lines += [f"- {md_text(r)}" for r in result.reasons]
    lines += ["", f"Reference {md_code(result.reference['source'])}: {result.reference['rows']:,} rows. "
                  f"Current {md_code(cur['source'])}{window}: {cur['rows']:,} rows.", ""]
    measured = list(result.features) + ([result.prediction] if result.prediction else [])
    if measured:
        lines += [f"| column | kind | distance | {level} interval | threshold | PSI | drifted |",
                  "|---|---|---|---|---|---|---|"]
        for f in measured[:MD_FEATURES]:
            d = f.distance
            name = "the production model's predictions" if f is result.prediction else md_text(f.name)
            if d is None:
                lines.append(f"| {name} | {f.kind} | — | — | — | — | **yes**: {md_text(f.note)} |")
                continue
            lines.append(f"| {name} | {d.kind} | {fmt(d.distance)} | [{fmt(d.interval[0])}, {fmt(d.interval[1])}] | "
                         f"{d.threshold:g} | {fmt(d.psi)} | {'**yes**' if f.drifted else 'no'} |")
        if len(measured) > MD_FEATURES:
            lines.append(f"| … {len(measured) - MD_FEATURES} more in drift.html | | | | | | |")
        lines.append("")
    if result.performance:
        lines += [f"| metric | reference | now | drop (+ is worse) | {level} interval | max_drop | drifted |",
                  "|---|---|---|---|---|---|---|"]
        for p in result.performance:
            lines.append(f"| {p.metric} | {fmt(p.reference)} | {fmt(p.current)} | {fmt(p.drop)} | "
                         f"[{fmt(p.interval[0])}, {fmt(p.interval[1])}] | {fmt(p.max_drop)} | "
                         f"{'**yes**' if p.drifted else 'no'} |")
        lines.append("")
    lines += [f"- {md_text(n)}" for n in result.notes]
    lines.append(f"<sub>A column drifts when the lower end of its {level} bootstrap interval is above the threshold, "
                 f"Holm across columns: an effect that matters, shown. Judged at {result.judged_at}.</sub>")
    return "\n".join(lines) + "\n"


def render_html(result: DriftResult) -> str:
    rows = []
    measured = list(result.features) + ([result.prediction] if result.prediction else [])
    for f in measured:
        name = "prediction (production model)" if f is result.prediction else f.name
        rows.append(f"<tr><td>{html_text(name)}</td><td>{html_text(f.kind)}</td><td>{_bar(f)}</td>"
                    f"<td>{'<b>drifted</b>' if f.drifted else 'no'}</td></tr>")
    verdict = "Drift" if result.drift else "No drift"
    reasons = "".join(f"<li>{html_text(r)}</li>" for r in result.reasons)
    notes = "".join(f"<li>{html_text(n)}</li>" for n in result.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mlgate drift: {verdict}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:60em}}td{{padding:2px 8px;vertical-align:middle}}
th{{text-align:left}}svg text{{font:11px system-ui,sans-serif}}</style></head><body>
<h1>mlgate drift: {verdict}</h1><ul>{reasons}</ul>
<p>Reference {html_text(result.reference['source'])}: {result.reference['rows']:,} rows. Current
{html_text(result.current['source'])}: {result.current['rows']:,} rows. Judged at {html_text(result.judged_at)}.</p>
<table><tr><th>column</th><th>kind</th><th>distance, its interval (line) and the threshold (black tick)</th><th></th></tr>
{''.join(rows)}</table><ul>{notes}</ul></body></html>
"""


def _bar(f: FeatureDrift, width: int = 360) -> str:
    """Inline SVG: the distance as a bar, its interval as a line, the threshold as a tick."""
    d = f.distance
    if d is None:
        return f"<span>type changed: {html_text(f.note)}</span>"
    top = max(d.interval[1], d.threshold * 2, 1e-9)
    x = lambda v: 4 + (width - 8) * min(max(v, 0) / top, 1)  # noqa: E731
    colour = "#cf222e" if f.drifted else "#8c959f"
    return (f'<svg width="{width}" height="22" role="img" aria-label="distance {d.distance:.3g}, threshold {d.threshold:g}">'
            f'<rect x="4" y="6" width="{x(d.distance) - 4:.1f}" height="10" fill="{colour}"/>'
            f'<line x1="{x(d.interval[0]):.1f}" x2="{x(d.interval[1]):.1f}" y1="11" y2="11" stroke="#1f2328" stroke-width="2"/>'
            f'<line x1="{x(d.threshold):.1f}" x2="{x(d.threshold):.1f}" y1="2" y2="20" stroke="#1f2328" stroke-width="2"/>'
            f'<text x="{width - 4}" y="15" text-anchor="end">{d.distance:.3g}</text></svg>')


def write_drift_outputs(result: DriftResult, out: Path, *, mlgate_version: str = "") -> dict[str, Path]:
    return write_texts(out, {"drift.json": dumps(to_dict(result, mlgate_version=mlgate_version)),
                             "drift.md": render_markdown(result), "drift.html": render_html(result)})
