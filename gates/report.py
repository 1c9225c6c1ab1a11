"""Render a result for people: the PR comment and job summary (Markdown), the HTML report, JUnit XML.

View models are built here and templates only loop and format: no template compares numbers
or decides a verdict, and none escapes: every string a pull request controls is escaped once,
here, for the output it goes to (a ``Medium``: Markdown, HTML, the log, XML). Numbers shown
beside the bound they were tested against get as many digits as it takes for the display never
to contradict the verdict (0.8996 is not "0.900").

GitHub caps a comment at 65,536 characters and a check-run summary at 65,535, so the Markdown
is fitted to a budget on the view model, dropping the least important detail first (the
policy diff, slice rows beyond the worst few, the per-gate detail list, the charts); the
verdict and the gate table are never dropped. ``trim_markdown`` stays as the last safety net.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree as ET

import jinja2
from markupsafe import Markup

from .escape import html_text, log_text, md_code, md_fence, md_html, md_text, mermaid_text, xml_text
from .evaluate import Result
from .rules import GateResult, SliceResult

MARKER = "<!-- mlgate:report -->"
COMMENT_LIMIT = 65_536  # GitHub: an issue comment's body
SUMMARY_LIMIT = 65_535  # GitHub: a check run's output.summary (the job summary gets the same text)
FULL_LIMIT = 1_048_576  # report-full.md in the artifact: GitHub's job-summary cap, the whole report below it
ICONS = {"approve": "✅", "block": "❌", "inconclusive": "❔", "first-model": "🆕", "overridden": "⚠️"}
HEADLINES = {
    "approve": "Approved: the candidate may replace production",
    "block": "Blocked: the candidate may not replace production",
    "inconclusive": "Inconclusive: the evidence is not enough to let the candidate replace production",
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
    "tango-score": "Tango score", "restricted-score": "score (null variance)",
    "paired-t-hall": "paired t, Hall skew-corrected",
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
    """``templates/`` beside the source tree, else the installed ``mlgate.templates``."""
    here = Path(__file__).resolve().parent.parent / "templates"
    if (here / "comment.md.j2").is_file():
        return here
    from importlib.resources import files

    return Path(str(files("mlgate.templates")))


def environment(autoescape: bool = False) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# ----------------------------------------------------------------------------- media


@dataclass(frozen=True)
class Medium:
    """How text a pull request controls (names, paths, slice values, reasons quoting them) is
    made literal in one kind of output. The view model passes every such string through one of
    these, each a function of ``gates/escape.py``, and templates print the result as it is:
    escaping happens here, once, not in scattered template filters."""

    text: Callable[[object], str]  # free text: reasons, details, slice values
    code: Callable[[object], str]  # a name or a path, verbatim (a code span)
    cell_code: Callable[[object], str]  # the same inside a table cell
    html: Callable[[object], str]  # inside the medium's raw HTML (a comment's <summary> line)
    block: Callable[[str, str], str]  # lines shown as they are (the policy diff), with their language
    # Composing escaped text with ours: in HTML the result must stay Markup (escaped once).
    format: Callable[..., str] = str.format
    join: Callable[[str, list], str] = str.join


def _html_text(text: object) -> Markup:
    return Markup(html_text(text))


def _html_code(text: object) -> Markup:
    return Markup(f"<code>{html_text(text)}</code>")


def _html_block(text: str, info: str = "") -> Markup:
    return Markup(f"<pre>{html_text(text)}</pre>")


def _lines(escape: Callable[[object], str]) -> Callable[[str, str], str]:
    return lambda text, info="": "\n".join(escape(line) for line in str(text).splitlines())


MARKDOWN = Medium(md_text, md_code, partial(md_code, in_table=True), md_html, md_fence)
# Markup tells Jinja's autoescape (on for the HTML report) that the text is escaped already.
HTML = Medium(_html_text, _html_code, _html_code, _html_text, _html_block,
              format=lambda template, *args: Markup(template).format(*args),
              join=lambda separator, items: Markup(separator).join(items))
LOG = Medium(log_text, log_text, log_text, log_text, _lines(log_text))  # a terminal: in CI, the workflow log
XML = Medium(xml_text, xml_text, xml_text, xml_text, _lines(xml_text))  # before ElementTree escapes <&>"


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
    short: str  # the SHA-256's first 12 hex digits, as code
    sha256: str  # the whole SHA-256, as code
    facts: str


@dataclass
class Override:
    """Who overrode the verdict, when, for which commit and why (the reason is a comment's free text)."""

    by: str
    reason: str
    at: str
    commit: str
    comment_url: str | None  # an https URL, else None


@dataclass
class OverrideHelp:
    """The exact override command for a verdict that does not approve, and the commit it names."""

    command: str
    commit: str


@dataclass
class Note:
    summary: str
    heading: str  # the summary again, for a <summary> line (raw HTML in Markdown)
    body: str  # the long part (a diff) as a block; dropped first when the comment is over budget


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
    overridden: Override | None
    override_help: OverrideHelp | None
    gates: list[GateRow]
    level_note: str
    identities: list[Identity]
    holdout_warning: str  # the unsealed-holdout warning, or ""
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
    if g.outcome == "inconclusive":
        return "inconclusive"
    return "pass" if g.passed else "fail"


STATUS = {"pass": "✅ pass", "fail": "❌ fail", "undefined": "❌ undefined", "skipped": "➖ skipped",
          "inconclusive": "❔ inconclusive"}


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


def gate_row(g: GateResult, alpha: float = 0.05, medium: Medium = MARKDOWN) -> GateRow:
    """One gate's table row; its name, detail and slice are escaped for ``medium``."""
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
            diff = medium.format("{} ({})", signed(fmt(g.estimate)), medium.text(worst))
    method = METHODS.get(g.method, g.method)
    if g.rule == "slice_max_drop" and g.method not in ("none", "point"):
        method += ", Holm"
    state = _state(g)
    return GateRow(medium.text(g.name), g.metric, rule, prod, cand, diff, interval, fmt_p(g.p_value, alpha), method,
                   STATUS[state], medium.text(g.detail), state, _extras(g, medium))


def _worst_slice(g: GateResult) -> str | None:
    for s in g.slices:
        if s.gated and s.estimate == g.estimate and s.confidence_interval == g.confidence_interval:
            return s.slice
    return None


def _extras(g: GateResult, medium: Medium) -> list[str]:
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
        out.append(medium.format("average: {}", medium.text(g.average)))
    power = g.power or {}
    if power.get("mde") is not None:
        text = f"power {power['level']:.0%}: detects a true Δ {fmt(power['mde'])} beyond the bound at this n"
        if power.get("rows_needed"):
            text += (f"; an equivalent model passes {power['equivalent_pass']:.0%} of the time here, "
                     f"~{power['rows_needed']:,} rows for {power['level']:.0%}")
        out.append(text)
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


def slice_rows(g: GateResult, alpha: float = 0.05, medium: Medium = MARKDOWN) -> list[SliceRow]:
    null = _null(g)
    rows = []
    for s in _ordered_slices(g):
        state = _slice_state(s)
        ci = "—"
        if s.confidence_interval is not None:
            ci = f"[{fmt_against(s.confidence_interval[0], null)[0]}, {fmt_against(s.confidence_interval[1], null)[0]}]"
        status = (SLICE_STATUS[state] if state in ("fail", "pass")
                  else medium.format("{}: {}", SLICE_STATUS[state], medium.text(s.detail.removeprefix("not gated: "))))
        estimate = signed(fmt_against(s.estimate, null)[0]) if s.estimate is not None else "—"
        rows.append(SliceRow(medium.text(g.name), medium.text(s.slice), s.n, fmt(s.production), fmt(s.candidate),
                             estimate, ci, fmt_p(s.p_value, alpha), fmt_p(s.p_value_adjusted, alpha), status, state))
    return rows


def slice_group(g: GateResult, alpha: float, medium: Medium = MARKDOWN) -> SliceGroup:
    rows = slice_rows(g, alpha, medium)
    states = [r.state for r in rows]
    rule = RULE_TEXT[g.rule].format(threshold=fmt(g.threshold), margin=fmt(g.margin), max_drop=fmt(g.max_drop))
    return SliceGroup(medium.html(g.name), rule, _level(g.confidence_level), rows, len(rows),
                      states.count("fail") + states.count("pass"), states.count("fail"), states.count("small"),
                      states.count("undefined"))


SEALED = "🔒 sealed: read only by the judge"
UNSEALED = "⚠️ not sealed"
UNSEALED_WARNING = ("The holdout is not sealed: pull-request authors can read it, so a candidate can memorise it, "
                    "and no statistic can detect that. Seal it so that only the judge reads it "
                    "(README, \"Sealed holdout\").")


def _identities(result: Result, medium: Medium) -> list[Identity]:
    def sha(value: str) -> tuple[str, str]:
        return medium.cell_code(value[:12]), medium.cell_code(value)

    def model(role, ident):
        facts = []
        if ident.get("version") is not None:
            facts.append(medium.format("version {}", medium.text(ident["version"])))
        if ident.get("size_mb") is not None:
            facts.append(f"{fmt(ident['size_mb'], 3)} MB")
        if ident.get("kind") == "predictions":
            facts.append("predictions file")
        return Identity(role, medium.cell_code(ident["source"]), *sha(ident["sha256"]), medium.join(", ", facts))

    out = [model("Candidate", result.candidate)]
    out.append(model("Production", result.production) if result.production
               else Identity("Production", "none", "—", "—", "no production model"))
    sealed = {True: [SEALED], False: [UNSEALED]}.get(result.data.get("sealed"), [])
    out.append(Identity("Holdout", medium.cell_code(result.data["source"]), *sha(result.data["sha256"]),
                        medium.join(", ", [f"{result.data['rows']:,} rows", *sealed])))
    out.append(Identity("Policy", POLICY_SOURCES.get(result.policy_source, medium.text(result.policy_source)),
                        *sha(result.config_sha256), f"α = {result.alpha:g}"))
    return out


_FENCED = re.compile(r"\A```([A-Za-z0-9_-]*)\n(.*)\n```\Z", re.S)


def _notes(result: Result, medium: Medium) -> list[Note]:
    """A note is a line of text, then optionally a body: a fenced block (the policy diff, whose
    lines come from the PR and may hold backtick runs that would close the fence it came in),
    re-fenced so that nothing in it can close it, or plain lines, shown as a block too."""
    out = []
    for note in result.notes:
        first, _, rest = note.strip().partition("\n")
        first, rest = first.strip(), rest.strip()
        fenced = _FENCED.match(rest)
        if fenced:
            body = medium.block(fenced.group(2), fenced.group(1))
        else:
            body = medium.block(rest, "") if rest else ""
        out.append(Note(medium.text(first), medium.html(first), body))
    return out


_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMENT_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]+)?/[A-Za-z0-9._~/?#=&%+-]*")


def _who(login: object, medium: Medium) -> str:
    """``@login`` for a GitHub login (it links to the person); anything else is shown as text."""
    text = str(login)
    return f"@{text}" if _LOGIN.fullmatch(text) else medium.text(text)


def _override(result: Result, medium: Medium) -> Override | None:
    record = result.overridden
    if not record:
        return None
    url = str(record.get("comment_url") or "")
    commit = record.get("commit")
    return Override(by=_who(record.get("by", "?"), medium), reason=medium.text(record.get("reason", "")),
                    at=medium.text(record.get("at", "")), commit=medium.code(commit) if commit else "",
                    comment_url=url if _COMMENT_URL.fullmatch(url) else None)


def _override_command(result: Result, medium: Medium) -> OverrideHelp | None:
    """The exact command a maintainer copies to override a verdict that does not approve."""
    commit = result.commit
    if result.overridden or result.decision.decision not in ("block", "inconclusive"):
        return None
    candidate = str((result.candidate or {}).get("sha256") or "")
    if not commit or not _COMMIT.fullmatch(str(commit)) or not _SHA256.fullmatch(candidate):
        return None  # nothing exact to name: no command to copy
    return OverrideHelp(command=medium.block(f"/mlgate override {commit}:{candidate} <reason>", ""),
                        commit=medium.code(commit))


def _summary(result: Result, verdict: str, gates: list[GateRow], medium: Medium) -> str:
    counts = {s: sum(1 for g in gates if g.state == s) for s in ("pass", "fail", "undefined", "skipped", "inconclusive")}
    parts = [f"{counts['pass']} of {len(gates)} gates passed"]
    if counts["fail"] + counts["undefined"]:
        parts.append(f"{counts['fail'] + counts['undefined']} failed")
    if counts["inconclusive"]:
        parts.append(f"{counts['inconclusive']} inconclusive")
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} skipped (no production model)")
    if verdict == "overridden" and result.overridden:
        parts.append(medium.format("overridden by {}", _who(result.overridden.get("by", "?"), medium)))
    return medium.join("; ", parts)


def view(result: Result, *, run_url: str | None = None, marker: bool = True, medium: Medium = MARKDOWN) -> Report:
    """The report's view model, every PR-derived string in it escaped for ``medium``."""
    verdict = "overridden" if result.overridden else result.decision.decision
    gates = [gate_row(g, result.alpha, medium) for g in result.gates]
    level = 1.0 - 2.0 * result.alpha
    groups = [slice_group(g, result.alpha, medium) for g in result.gates if g.slices]
    if result.decision.decision == "block":
        deciding = [g.name for g in result.gates if g.outcome in ("fail", "undefined")]
    elif result.decision.decision == "inconclusive":
        deciding = [g.name for g in result.gates if g.outcome == "inconclusive"]
    else:
        deciding = []
    return Report(
        marker=MARKER if marker else "",
        verdict=verdict,
        icon=ICONS[verdict],
        headline=HEADLINES[verdict],
        summary=_summary(result, verdict, gates, medium),
        deciding_label="Deciding gate" if len(deciding) == 1 else "Deciding gates",
        deciding=[medium.code(name) for name in deciding],
        reasons=[] if result.decision.decision == "approve" else [medium.text(r) for r in result.decision.reasons],
        overridden=_override(result, medium),
        override_help=_override_command(result, medium),
        gates=gates,
        level_note=(f"Δ = candidate − production, oriented so that + is better. One-sided tests at α = {result.alpha:g}, "
                    f"each decided by the two-sided {_level(level)} interval shown; all gates must pass."),
        identities=_identities(result, medium),
        holdout_warning=UNSEALED_WARNING if result.data.get("sealed") is False else "",
        policy_source=POLICY_SOURCES.get(result.policy_source, medium.text(result.policy_source)),
        notes=_notes(result, medium),
        slice_groups=groups,
        charts=mermaid_charts(result, medium),
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
    """A quoted Mermaid label: ``mermaid_text`` keeps only characters that cannot end it."""
    text = mermaid_text(text, limit=None)
    return '"' + (text if len(text) <= width else text[: width - 1] + "…") + '"'


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


def mermaid_charts(result: Result, medium: Medium = MARKDOWN) -> list[MermaidChart]:
    """xychart-beta has no error bars: estimates are bars and the interval's ends two lines.

    Inside a chart only ``_label`` places PR text (quoted, through ``mermaid_text``); a title
    is shown outside the chart, escaped for ``medium``."""
    charts = []
    level = _level(1.0 - 2.0 * result.alpha)
    gates = _interval_gates(result)
    if gates:
        values = [v for g in gates for v in (g.estimate, *g.confidence_interval)]
        title = f"Δ (candidate − production) with {level} intervals"
        charts.append(MermaidChart(
            "differences", title, title,
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
        title = "ROC curves on the holdout"
        charts.append(MermaidChart(
            "roc", title, title, f"{caption} · grey: chance. {curves.n:,} rows, {curves.positives:,} positive.",
            '"false-positive rate" 0 --> 1', '"true-positive rate" 0 --> 1',
            _palette(*names, "chance"), series + [Series("chance", "line", _values(grid))]))
    for g in result.gates:
        gated = [s for s in _ordered_slices(g) if s.gated and s.confidence_interval is not None][:CHART_SLICES]
        if not gated:
            continue
        values = [v for s in gated for v in (s.estimate, *s.confidence_interval)] + [_null(g)]
        more = sum(1 for s in g.slices if s.gated) - len(gated)
        charts.append(MermaidChart(
            f"slices:{g.name}", medium.format("{}: Δ per slice with {} intervals", medium.text(g.name), level),
            medium.format("{}: Δ per slice with {} intervals", medium.html(g.name), level),
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
    """Horizontal intervals: one row per item with its estimate, interval and bound. Labels and
    tooltips name gates and slices: shortened first, then escaped (``html_text``)."""
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
        svg.texts.append({"x": label_w - 8, "y": f"{cy + 4:.1f}", "text": _html_text(label), "anchor": "end",
                          "cls": "label", "title": _html_text(r["label"])})
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
                                "title": _html_text(r["tooltip"])})
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
            _html_text(f"slices:{g.name}"), HTML.format("{}: Δ per slice ({} intervals)", HTML.text(g.name), level),
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
    opened = _open_fence(kept)
    if opened is not None:  # a cut inside a code block (a chart, a diff) would swallow the rest
        kept = kept[:opened]
    open_details = kept.count("<details>") - kept.count("</details>")
    return kept + "\n" + "\n</details>\n" * max(open_details, 0) + TRIMMED


_FENCE_LINE = re.compile(r" {0,3}(`{3,})(.*)")


def _open_fence(text: str) -> int | None:
    """Where the code block left open at the end of ``text`` starts, or None. A fence closes
    only with a bare run of at least as many backticks (``md_fence`` makes it longer than any
    run inside), so counting "```" would be fooled by a diff that quotes one."""
    start, fence, offset = None, "", 0
    for line in text.splitlines(keepends=True):
        match = _FENCE_LINE.fullmatch(line.rstrip("\n"))
        if match and start is None and "`" not in match.group(2):
            start, fence = offset, match.group(1)
        elif match and start is not None and len(match.group(1)) >= len(fence) and not match.group(2).strip():
            start = None
        offset += len(line)
    return start


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
    report = view(result, run_url=run_url, medium=HTML)
    return environment(autoescape=True).get_template("report.html.j2").render(report=report)


def render_junit(result: Result) -> str:
    """One test case per gate, so CI systems that read JUnit show gates as tests."""
    rows = [gate_row(g, result.alpha, XML) for g in result.gates]
    failures = sum(1 for r in rows if r.state in ("fail", "undefined", "inconclusive"))
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
    facts = {name: xml_text(value) for name, value in facts.items()}  # SHA-256s from a registry are its text
    for name, value in facts.items():
        ET.SubElement(props, "property", name=name, value=value)
    for g, r in zip(result.gates, rows):
        case = ET.SubElement(suite, "testcase", classname=xml_text(f"mlgate.{g.metric}"), name=r.name, time="0")
        if r.state == "skipped":
            ET.SubElement(case, "skipped", message=r.detail)
        elif r.state in ("fail", "undefined", "inconclusive"):
            ET.SubElement(case, "failure", message=r.detail, type=r.state).text = r.detail
        out = ET.SubElement(case, "system-out")
        out.text = (f"rule: {r.rule}\nproduction: {r.production}\ncandidate: {r.candidate}\nΔ: {r.difference}\n"
                    f"interval: {r.interval}\np: {r.p_value}\nmethod: {r.method}\nresult: {r.state}\n{r.detail}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
