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

# Inline syntax wherever it stands: escapes, code, emphasis, links (and footnotes, task boxes),
# strikethrough, table cells, math. Other punctuation only means something at a block's start
# (``#``, ``-``, ``1.``), after "www" or before "//" (autolinks), or around ``_`` (emphasis).
_MD_INLINE = re.compile(r"([\\`*\[\]~|$])")
_MD_AUTOLINK = re.compile(r"(?i)(?<=www)(\.)|(:)(?=//)")
_MD_UNDERSCORES = re.compile(r"_+")
_MD_BLOCK_START = re.compile(r"\A(?:([!-%'-/:;=?@^_{}])|(\d{1,9})([.)]))")
_WORD = re.compile(r"[^\W_]")
_BACKTICKS = re.compile(r"`+")
_SPACE = re.compile(r"\s+")
_MENTION = re.compile(r"@(?=\S)")  # a mention, a team, or the domain of an e-mail autolink
_ISSUE_REFERENCE = re.compile(r"(#|\bGH-)(?=\d)")
# No < or >: Mermaid renders labels as HTML, so "<img src=x onerror=…>" would survive as a tag.
_MERMAID_UNSAFE = re.compile(r"[^0-9A-Za-z _.,=+\-/()%]")
_ZERO_WIDTH_SPACE = "\u200b"
# C0 and C1 controls (ANSI escape sequences start with ESC), DEL, and the bidirectional
# overrides and isolates that make text display in another order than it reads ("Trojan Source").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, *, keep_lines: bool = False) -> str:
    """Control and bidirectional-override characters written as ``\\x1b`` / ``\\u202e``: a
    terminal, a log viewer or a browser can neither act on them nor reorder the text with
    them. ``keep_lines`` keeps newlines and tabs (``\\r\\n`` becomes ``\\n``) for a block."""
    text = str(text)
    if keep_lines:
        return _CONTROL_BUT_LINES.sub(_shown, text.replace("\r\n", "\n"))
    return _CONTROL.sub(_shown, text)


def one_line(text: object) -> str:
    """Any whitespace run (newlines included) becomes one space, so text cannot start a new line;
    other control characters are made ``visible``."""
    return visible(_SPACE.sub(" ", str(text)).strip())


def md_text(text: object) -> str:
    """Literal inline Markdown: no HTML, no emphasis, links, mentions, table cells or new lines.

    The text is one line that never starts a line of the document (a template puts it after
    "- ", "| " or "**"), so it can open no block but the one its first characters could start
    inside a list item. ``<``, ``>`` and ``&`` become entities (so ``<!--`` cannot open a
    comment that hides the rest of the report); punctuation that means something where it
    stands is backslash-escaped (CommonMark's literal form; ``\\|`` included, which GitHub's
    tables honour): inline syntax everywhere, ``_`` unless inside a word (where it cannot
    emphasise), the dot of "www." and the colon of "://" (autolinks), and a first character
    that could start a heading, list or quote. Ordinary names stay as they are:
    ``region=EU``, ``roc_auc non_inferior``. ``@name`` and ``#123`` get a zero-width space so
    they ping nobody and cross-reference no issue (GitHub finds those in the rendered text,
    after escapes are gone).
    """
    text = _MD_INLINE.sub(r"\\\1", one_line(text))
    text = _MD_UNDERSCORES.sub(_md_underscores, text)
    text = _MD_AUTOLINK.sub(lambda m: "\\" + m.group(), text)
    if not text.startswith("\\"):
        text = _MD_BLOCK_START.sub(_md_block_start, text, count=1)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _unlinked(text)


def _md_block_start(match: re.Match) -> str:
    """The first character of a heading, list, quote or thematic break; the "." of "1."."""
    if match.group(1):
        return "\\" + match.group(1)
    return match.group(2) + "\\" + match.group(3)


def _md_underscores(match: re.Match) -> str:
    """A run of ``_`` between two letters or digits neither opens nor closes emphasis."""
    text, start, end = match.string, match.start(), match.end()
    inside = start > 0 and end < len(text) and _WORD.match(text[start - 1]) and _WORD.match(text[end])
    return match.group() if inside else "\\_" * len(match.group())


def _unlinked(text: str) -> str:
    text = _MENTION.sub("@" + _ZERO_WIDTH_SPACE, text)
    return _ISSUE_REFERENCE.sub(lambda m: m.group(1) + _ZERO_WIDTH_SPACE, text)


def md_html(text: object) -> str:
    """Text inside raw HTML in a Markdown comment (a ``<summary>`` line), where GitHub parses
    no Markdown: HTML-escaped, one line (a blank line would end the HTML block), mentions and
    issue references neutralised as in ``md_text``."""
    return _unlinked(_html.escape(one_line(text), quote=True))


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
    run in it. ``info`` (the language) is ours, never PR text. Control characters are made
    ``visible``; lines and tabs are kept."""
    text = visible(text, keep_lines=True)
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}"


def mermaid_text(text: object, limit: int | None = 60) -> str:
    """A Mermaid label: only characters that cannot end a quoted label, a line, a directive
    (``%%{``) or the fence; everything else becomes ``_``. At most ``limit`` characters
    (None: all)."""
    text = _MERMAID_UNSAFE.sub("_", one_line(text)).replace("%%", "%_")
    return text[:limit]


def html_text(text: object) -> str:
    """Text in HTML element content or a quoted attribute value; control characters are made
    ``visible`` (lines and tabs kept, for a ``<pre>``)."""
    return _html.escape(visible(text, keep_lines=True), quote=True)


def xml_text(text: object) -> str:
    """Text for an XML attribute or element (JUnit), before the XML writer escapes ``<&>"``: one
    line, and no control character, which XML 1.0 cannot carry even as a reference (a report
    with one is rejected whole by its readers)."""
    return one_line(text)


def log_text(text: object) -> str:
    """PR-derived text in the workflow log: one line that cannot be read as a workflow command.

    The runner treats a line starting with ``::`` (or the legacy ``##[``) as a command
    (``::add-mask::``, ``::set-output``, ``::stop-commands::``), after leading spaces; the text
    is put on one line and both openers are broken with a zero-width space wherever they occur.
    The log viewer (and a terminal) acts on ANSI escape sequences: control characters are
    made ``visible``.
    """
    text = one_line(text)
    return text.replace("::", ":" + _ZERO_WIDTH_SPACE + ":").replace("##[", "#" + _ZERO_WIDTH_SPACE + "#[")
