"""GitHub's size caps, and fitting a Markdown report under them without losing the verdict.

The report is fitted on the view model, dropping the least important detail first (the
policy diff, slice rows beyond the worst few, the per-gate detail list, the charts); the
verdict and the gate table are never dropped. ``trim_markdown`` cuts text as a last resort.
"""

from __future__ import annotations

import dataclasses
import re

from .view import Report

COMMENT_LIMIT = 65_536  # GitHub: an issue comment's body
SUMMARY_LIMIT = 65_535  # GitHub: a check run's output.summary (the job summary gets the same text)
FULL_LIMIT = 1_048_576  # report-full.md in the artifact: GitHub's job-summary cap, the whole report below it
SLICE_STEPS = (25, 10, 3, 1)  # slice rows kept per gate as the budget tightens
TRIMMED = "\n\n_… report trimmed to fit GitHub's size limit; the full report is among the run's output files._\n"


def fit(report: Report, render, limit: int) -> str:
    """Render ``report`` within ``limit`` characters, dropping the least important detail first."""
    text = render(report)
    if len(text) <= limit:
        return text
    steps = [("the policy diff", _drop_note_bodies)]
    steps += [(f"slice rows beyond the worst {n} per gate", lambda r, n=n: _cap_slices(r, n)) for n in SLICE_STEPS]
    steps += [("the per-gate detail list", _drop_details), ("the per-class table", _drop_classes),
              ("the charts", _drop_charts),
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


def _drop_classes(r: Report) -> bool:
    changed, r.classes = r.classes is not None, None
    return changed


def _drop_charts(r: Report) -> bool:
    changed, r.charts = bool(r.charts), []
    return changed


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
