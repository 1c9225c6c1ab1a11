"""What a command (a PR comment or a dispatch) answers: a reply, never an exception.

A refusal — a missing role, a blocked promotion, nothing to roll back — is an outcome to post
where the command was asked, not an error: the comment job then exits 0 (the refusal is the
reply, DESIGN.md "Exit codes"), and a dispatch exits with the reply's code.
"""

from __future__ import annotations

from typing import NamedTuple


class Reply(NamedTuple):
    """A command's outcome: the reply to post, and the exit code for non-comment triggers
    (0 done, 1 a promotion the gate blocks, 2 refused or impossible)."""

    ok: bool
    text: str
    code: int = 0


def done(text: str) -> Reply:
    return Reply(True, text, 0)


def refused(text: str, code: int = 2) -> Reply:
    return Reply(False, text, code)
