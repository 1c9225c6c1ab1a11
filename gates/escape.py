"""One escaper per medium for text that a pull request controls.

File names, column names, slice values, reasons and error messages quoting them reach a PR
comment (GitHub Markdown, which also renders inline HTML and Mermaid), the HTML report and the
workflow log. Each medium has its own way to turn text into structure — ``<!--`` hides the
rest of a comment, a backtick run closes a fence, a line starting ``::`` is a workflow
command, a quote or newline ends a Mermaid label — so each gets exactly one function here, and
every renderer calls it instead of formatting PR-derived text itself.
"""

from __future__ import annotations

import html as _html
import re

_MD_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~^=$:;\"'])")
_BACKTICKS = re.compile(r"`+")
_SPACE = re.compile(r"\s+")
_MENTION = re.compile(r"@(?=\w)")
_MERMAID_UNSAFE = re.compile(r"[^0-9A-Za-z _.,=+\-/()%<>]")
_ZERO_WIDTH_SPACE = "\u200b"


def one_line(text: object) -> str:
    """Any whitespace run (newlines included) becomes one space: text cannot start a new line."""
    return _SPACE.sub(" ", str(text)).strip()


def md_text(text: object) -> str:
    """Literal inline Markdown: no HTML, no emphasis, links, mentions, table cells or new lines.

    ``<``, ``>`` and ``&`` become entities (so ``<!--`` cannot open a comment that hides the
    rest of the report), ASCII punctuation is backslash-escaped (CommonMark's literal form,
    ``\\|`` included, which GitHub's tables honour), and ``@name`` gets a zero-width space so
    it pings nobody.
    """
    text = _MD_PUNCTUATION.sub(r"\\\1", one_line(text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@" + _ZERO_WIDTH_SPACE, text)


def md_code(text: object, *, in_table: bool = False) -> str:
    """An inline code span holding ``text`` verbatim: the delimiter is longer than any backtick
    run inside it. In a table cell pipes are escaped too (GitHub splits rows on them even
    inside code, and un-escapes a backslashed pipe there); elsewhere a backslash would show."""
    text = one_line(text)
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fence(text: str, info: str = "") -> str:
    """A fenced code block that the content cannot close: the fence is longer than any backtick
    run in it. ``info`` (the language) is ours, never PR text."""
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}"


def mermaid_text(text: object, limit: int = 60) -> str:
    """A Mermaid label: only characters that cannot end a quoted label, a line, a directive
    (``%%{``) or the fence; everything else becomes ``_``."""
    text = _MERMAID_UNSAFE.sub("_", one_line(text)).replace("%%", "%_")
    return text[:limit]


def html_text(text: object) -> str:
    """Text in HTML element content or a quoted attribute value."""
    return _html.escape(str(text), quote=True)


def log_text(text: object) -> str:
    """PR-derived text in the workflow log: one line that cannot be read as a workflow command.

    The runner treats a line starting with ``::`` (or the legacy ``##[``) as a command
    (``::add-mask::``, ``::set-output``, ``::stop-commands::``); the text is put on one line
    and both openers are broken with a zero-width space wherever they occur.
    """
    text = one_line(text)
    return text.replace("::", ":" + _ZERO_WIDTH_SPACE + ":").replace("##[", "#" + _ZERO_WIDTH_SPACE + "#[")
