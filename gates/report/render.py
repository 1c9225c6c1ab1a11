"""Markdown (the PR comment, the job summary) and HTML from the view model, through Jinja2.

``StrictUndefined`` makes a typo in a template fail a test instead of rendering blank; the
HTML environment autoescapes as a second line of defence behind the ``HTML`` medium.
"""

from __future__ import annotations

from pathlib import Path, PurePath

import jinja2

from ..result import Result
from .budget import SUMMARY_LIMIT, fit
from .media import HTML
from .view import view


def template_dir() -> Path:
    """``templates/`` beside the source tree, else the installed ``mlgate.templates``."""
    here = Path(__file__).resolve().parent.parent.parent / "templates"
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


def _template(name: str):
    return environment().get_template(name)


def render_markdown(result: Result, *, run_url: str | None = None, limit: int | None = None,
                    report_dir: str | PurePath | None = None) -> str:
    """The PR comment: starts with the sticky marker; fitted to ``limit`` characters when given.
    The full report is in ``run_url``'s artifacts (in GitHub), else in ``report_dir``."""
    report = view(result, run_url=run_url, report_dir=report_dir)
    render = _template("comment.md.j2").render
    if limit is None:
        return render(report=report)
    return fit(report, lambda r: render(report=r), limit)


def render_summary(result: Result, *, run_url: str | None = None, limit: int = SUMMARY_LIMIT,
                   report_dir: str | PurePath | None = None) -> str:
    """The job summary and check-run summary: the comment's content, without the sticky marker."""
    report = view(result, run_url=run_url, report_dir=report_dir, marker=False)
    render = _template("summary.md.j2").render
    return fit(report, lambda r: render(report=r), limit)


def render_html(result: Result, *, run_url: str | None = None, report_dir: str | PurePath | None = None) -> str:
    report = view(result, run_url=run_url, report_dir=report_dir, medium=HTML)
    return environment(autoescape=True).get_template("report.html.j2").render(report=report)
