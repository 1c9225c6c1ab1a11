"""What ``mlgate`` prints in a terminal: progress while it works, then a coloured verdict table.

Progress goes to standard error. On a TTY it is one line, rewritten as the work moves on
(loading, scoring, resampling), with the time spent so far; elsewhere (CI logs, pipes) each
step is a plain line of its own. The verdict goes to standard output; colour only reaches a
terminal (click strips it otherwise, and ``NO_COLOR`` turns it off). ``--quiet`` prints
neither and ``--json`` prints only ``result.json``: the CLI simply does not call in here then.

Text a pull request controls (gate names, file names, reasons quoting them) goes through
``log_text``: in CI this output is the workflow log, where a line starting ``::`` is a command,
and a terminal or the log viewer would act on an ANSI escape sequence hidden in a name.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from ..gates.escape import log_text
from ..gates.result import Result
from ..gates.report import LOG, gate_rows

VERDICT_STYLE = {"approve": ("APPROVE", "green"), "block": ("BLOCK", "red"), "inconclusive": ("INCONCLUSIVE", "yellow"),
                 "first-model": ("FIRST MODEL", "cyan"), "overridden": ("OVERRIDDEN", "yellow")}
STATE_STYLE = {"pass": {"fg": "green"}, "fail": {"fg": "red", "bold": True}, "undefined": {"fg": "red", "bold": True},
               "inconclusive": {"fg": "yellow", "bold": True}, "skipped": {"dim": True}}
STATE_WORD = {"pass": "✓ pass", "fail": "✗ fail", "undefined": "✗ undefined",
              "inconclusive": "? inconclusive", "skipped": "– skipped"}
OUTPUT_ORDER = ("report.md", "report.html", "junit.xml", "result.json")


def _colour() -> bool | None:
    """None lets click decide (colour on a TTY only); NO_COLOR (any value) turns it off."""
    return False if os.environ.get("NO_COLOR") else None


class Progress:
    """Reports steps; on a TTY it rewrites one status line instead of scrolling."""

    def __init__(self, stream=None, *, tty: bool | None = None, clock=time.monotonic) -> None:
        self.stream = stream
        self.tty = tty
        self.clock = clock
        self.started: float | None = None
        self.showing = False

    def _out(self):
        return self.stream if self.stream is not None else sys.stderr

    def _is_tty(self) -> bool:
        if self.tty is not None:
            return self.tty
        try:
            return self._out().isatty()
        except (AttributeError, ValueError):
            return False

    def __call__(self, message: str) -> None:
        message = log_text(message)  # it may name the holdout's file
        now = self.clock()
        if self.started is None:
            self.started = now
        if not self._is_tty():
            click.echo(click.style(f"· {message}", dim=True), file=self._out(), color=_colour())
            return
        width = _width()
        text = f"⏳ {message} … {now - self.started:4.1f}s"
        if len(text) > width - 1:
            text = text[: width - 2] + "…"
        # \r + erase line: the step replaces the previous one on the same line.
        self._out().write("\r\x1b[2K")  # a control sequence, not a colour: NO_COLOR keeps it
        click.echo(click.style(text, dim=True), file=self._out(), nl=False, color=_colour())
        self._out().flush()
        self.showing = True

    def done(self) -> None:
        """Clear the status line so what follows starts on a clean line."""
        if self.showing:
            self._out().write("\r\x1b[2K")
            self._out().flush()
            self.showing = False
        self.started = None


def _width() -> int:
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 0
    return columns if columns >= 20 else 100


PROGRESS = Progress()


def progress(message: str) -> None:
    PROGRESS(message)


def verdict_lines(result: Result, written: dict[str, Path] | None = None) -> list[str]:
    """The verdict, the gate table and where the files are, styled (click strips the style off a TTY)."""
    verdict = "overridden" if result.overridden else result.decision.decision
    word, colour = VERDICT_STYLE[verdict]
    rows = gate_rows(result.gates, result.alpha, LOG, resamples=result.resamples)
    lines = [click.style(f"mlgate: {word}", fg=colour, bold=True) + f" — {log_text(result.decision.reasons[0])}"]
    header = ("gate", "rule", "production", "candidate", "Δ", "interval", "p", "result")
    table = [(r.name, r.rule, r.production, r.candidate, r.difference, r.interval, r.p_value, STATE_WORD[r.state])
             for r in rows]
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
    right = {2, 3, 4, 6}

    def line(cells) -> str:
        return "  ".join(str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i]) for i, c in enumerate(cells))

    lines.append("  " + click.style(line(header).rstrip(), bold=True))
    for r, cells in zip(rows, table):
        text = line(cells[:-1]) + "  "
        lines.append("  " + text + click.style(cells[-1], **STATE_STYLE[r.state]))
    for reason in result.decision.reasons[1:]:
        lines.append(click.style(f"  - {log_text(reason)}", fg="red"))
    if result.overridden:
        record = result.overridden
        lines.append(click.style(f"  overridden by @{log_text(record.get('by'))}: {log_text(record.get('reason'))}",
                                 fg="yellow"))
    if written:
        shown = [f"{name}: {log_text(written[name])}" for name in OUTPUT_ORDER if name in written]
        lines.append(click.style("  ".join(shown), dim=True))
    return lines


def print_verdict(result: Result, written: dict[str, Path] | None = None) -> None:
    PROGRESS.done()
    for text in verdict_lines(result, written):
        click.echo(text, color=_colour())
