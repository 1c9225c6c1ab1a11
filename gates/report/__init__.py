"""Render a result for people: the PR comment and job summary (Markdown), the HTML report, JUnit XML.

View models are built first and templates only loop and format: no template compares numbers
or decides a verdict, and none escapes: every string a pull request controls is escaped once,
for the output it goes to. The wing, in the order a report is made:

- ``media``: the outputs (Markdown, HTML, the log, XML) and how each makes PR text literal;
  ``marks``: the mark beside a verdict (an emoji, or inline SVG where no emoji font may exist).
- ``numbers``: digits that never contradict the verdict (0.8996 is not "0.900"), axis ranges.
- ``rows``: a gate and its slices as table rows, shared by every output.
- ``charts``: Mermaid charts for the comment; ``svg``: SVG plots for the HTML report.
- ``diagnostics``: where the models differ per task: per-class scores and confusion matrices,
  residuals against predictions.
- ``view``: the whole report's view model (``Report``, ``view()``).
- ``budget``: GitHub's size caps and fitting the Markdown under them, least important detail first.
- ``render``: the Jinja2 templates and the Markdown and HTML renderers; ``junit``: JUnit XML.

Callers import from here; the names below are the wing's public face.
"""

from .budget import COMMENT_LIMIT, FULL_LIMIT, SUMMARY_LIMIT, trim_markdown
from .junit import render_junit
from .media import HTML, LOG, MARKDOWN, XML, Medium
from .numbers import fmt, fmt_against
from .render import environment, render_html, render_markdown, render_summary, template_dir
from .rows import gate_row, gate_rows
from .view import MARKER, Report, view

__all__ = [
    "COMMENT_LIMIT", "FULL_LIMIT", "HTML", "LOG", "MARKDOWN", "MARKER", "Medium", "Report", "SUMMARY_LIMIT", "XML",
    "environment", "fmt", "fmt_against", "gate_row", "gate_rows", "render_html", "render_junit", "render_markdown",
    "render_summary", "template_dir", "trim_markdown", "view",
]
