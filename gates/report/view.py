"""The report's view model: every fact a report shows, decided and escaped before rendering.

Templates only loop and format: none compares numbers, decides a verdict or escapes, so the
comment, the summary and the HTML cannot disagree, and every string a pull request controls
is escaped once, here, for the ``Medium`` it goes to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from ..result import Result
from .charts import MermaidChart, mermaid_charts
from .diagnostics import MD_CLASS_ROWS, ClassTable, class_table, diagnostic_plots
from .media import MARKDOWN, Medium
from .numbers import fmt, fmt_level
from .rows import GateRow, SliceGroup, delta_note, gate_rows, slice_group
from .svg import Svg, svg_plots

MARKER = "<!-- mlgate:report -->"
HEADLINES = {
    "approve": "Approved: the candidate may replace production",
    "block": "Blocked: the candidate may not replace production",
    "inconclusive": "Inconclusive: the evidence is not enough to let the candidate replace production",
    "first-model": "First model: no production model to compare with; the absolute gates pass",
    "overridden": "Overridden: blocked by the gates, approved by a maintainer",
}
POLICY_SOURCES = {
    "base": "the base branch (a pull request cannot change its own gate)",
    "pr": "this pull request (no policy on the base branch yet)",
    "local": "the local file",
}
SEALED = {True: ("sealed", "sealed: read only by the judge"), False: ("warning", "not sealed")}
MARKS = ("warning", "info", "unlocked")  # marks the templates place beside their own text
UNSEALED_WARNING = ("The holdout is not sealed: pull-request authors can read it, so a candidate can memorise it, "
                    "and no statistic can detect that. Seal it so that only the judge reads it "
                    "(README, \"Sealed holdout\").")


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
class Report:
    marker: str
    verdict: str
    icon: str
    marks: dict[str, str]
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
    classes: ClassTable | None  # more than two classes: per-class scores (and, few, confusion counts)
    plots: list[Svg]
    details: bool
    run_url: str | None
    artifacts_url: str | None  # the run's artifacts (in GitHub), where the full report is
    report_dir: str | None  # else the output directory the full report was written to, as code
    version: str
    task: str
    engine: str
    alpha: str
    trimmed: list[str] = field(default_factory=list)


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
    sealed = []
    if result.data.get("sealed") in (True, False):
        mark, words = SEALED[result.data["sealed"]]
        sealed.append(medium.format("{} {}", medium.mark(mark), words))
    if result.data.get("read") is False:  # blocked before the holdout was read (engine/blocked.py)
        out.append(Identity("Holdout", medium.cell_code(result.data["source"]), "—", "—",
                            "not read: blocked before evaluation"))
    else:
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
        why = "holdout not read" if result.data.get("read") is False else "no production model"
        parts.append(f"{counts['skipped']} skipped ({why})")
    if verdict == "overridden" and result.overridden:
        parts.append(medium.format("overridden by {}", _who(result.overridden.get("by", "?"), medium)))
    return medium.join("; ", parts)


def _level_note(result: Result) -> str:
    """The gate table's footnote: how Δ is oriented for the metrics it shows, and the tests."""
    shown = [g for g in result.gates if g.estimate is not None and g.rule != "max_ratio"]  # rows showing a Δ
    level = fmt_level(1.0 - 2.0 * result.alpha)
    delta = f"{delta_note(shown)} " if shown else ""
    return (f"{delta}One-sided tests at α = {result.alpha:g}, "
            f"each decided by the two-sided {level} interval shown; all gates must pass.")


def view(result: Result, *, run_url: str | None = None, report_dir: str | PurePath | None = None,
         marker: bool = True, medium: Medium = MARKDOWN) -> Report:
    """The report's view model, every PR-derived string in it escaped for ``medium``.

    ``run_url`` is the workflow run (in GitHub; the full report is among its artifacts), else
    ``report_dir`` is the directory the report files were written to."""
    verdict = "overridden" if result.overridden else result.decision.decision
    gates = gate_rows(result.gates, result.alpha, medium, resamples=result.resamples)
    groups = [slice_group(g, result.alpha, medium, resamples=result.resamples) for g in result.gates if g.slices]
    if result.decision.decision == "block":
        deciding = [g.name for g in result.gates if g.outcome in ("fail", "undefined")]
    elif result.decision.decision == "inconclusive":
        deciding = [g.name for g in result.gates if g.outcome == "inconclusive"]
    else:
        deciding = []
    return Report(
        marker=MARKER if marker else "",
        verdict=verdict,
        icon=medium.mark(verdict),
        marks={name: medium.mark(name) for name in MARKS},
        headline=HEADLINES[verdict],
        summary=_summary(result, verdict, gates, medium),
        deciding_label="Deciding gate" if len(deciding) == 1 else "Deciding gates",
        deciding=[medium.code(name) for name in deciding],
        reasons=[] if result.decision.decision == "approve" else [medium.text(r) for r in result.decision.reasons],
        overridden=_override(result, medium),
        override_help=_override_command(result, medium),
        gates=gates,
        level_note=_level_note(result),
        identities=_identities(result, medium),
        holdout_warning=UNSEALED_WARNING if result.data.get("sealed") is False else "",
        policy_source=POLICY_SOURCES.get(result.policy_source, medium.text(result.policy_source)),
        notes=_notes(result, medium),
        slice_groups=groups,
        charts=mermaid_charts(result, medium),
        classes=None if result.classes is None else class_table(
            result.classes, medium, limit=MD_CLASS_ROWS if medium is MARKDOWN else None),
        plots=svg_plots(result) + diagnostic_plots(result),
        details=True,
        run_url=run_url,
        artifacts_url=f"{run_url}#artifacts" if run_url else None,
        report_dir=medium.code(str(report_dir)) if report_dir is not None and not run_url else None,
        version=result.mlgate_version,
        task=result.task,
        engine=result.engine,
        alpha=f"{result.alpha:g}",
    )
