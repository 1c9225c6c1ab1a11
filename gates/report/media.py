"""The outputs a report is written for, and how each makes pull-request text literal.

Kept apart from the view model so a new output (a terminal, JUnit) is one more ``Medium``,
not another set of escaping filters scattered through templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from markupsafe import Markup

from ..escape import html_text, log_text, md_code, md_fence, md_html, md_text, xml_text
from .marks import emoji, svg_mark


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
    # The mark beside a verdict or a warning (``marks``): an emoji where the renderer has an
    # emoji font (GitHub, a terminal), an inline SVG in the HTML report, opened anywhere.
    mark: Callable[[str], str] = emoji


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
              join=lambda separator, items: Markup(separator).join(items), mark=svg_mark)
LOG = Medium(log_text, log_text, log_text, log_text, _lines(log_text))  # a terminal: in CI, the workflow log
XML = Medium(xml_text, xml_text, xml_text, xml_text, _lines(xml_text))  # before ElementTree escapes <&>"
