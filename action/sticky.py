"""The one sticky report comment on a pull request: its body, its state line, and publishing it.

There is one report comment per PR, found by the report marker and ``bot_login`` across all
pages of comments and edited in place, never duplicated (two concurrent first runs can each
create one: the oldest is kept, the others deleted). A run whose commit is no longer the PR's
head never overwrites the newer verdict.

mlgate's own bookkeeping — the commit and candidate a report evaluated — is one JSON line that
is always the comment's *last* line. It is never authority: any workflow can post as the bot,
so an override is only ever read from a maintainer's own comment (see ``overrides``). Only
the keys mlgate writes are carried over, each a short string, so the line stays small and the
comment's budget is exact.

The body is rendered once, at its final budget: GitHub's comment limit minus the state line,
through the report's own fitting (least important detail first), never cut again afterwards.
"""

from __future__ import annotations

import json
import re
from typing import Callable

from ..gates.report import COMMENT_LIMIT, MARKER, render_markdown, trim_markdown
from ..gates.result import Result

from .forge import CommentRef, Forge
from .settings import Settings

STATE = re.compile(r"^<!-- mlgate:state (\{.*\}) -->$")
STATE_KEYS = ("sha", "candidate")  # what the line records; nothing else is read or carried over
STATE_VALUE_MAX = 128  # a commit (40 or 64 hex digits) or a SHA-256
# The distinct candidates (SHA-256) evaluated on the PR, in order: attempt k is the k-th. Kept
# to the most recent MAX_ATTEMPTS_KEPT; beyond it the count stays at least that large.
MAX_ATTEMPTS_KEPT = 100
SHA256 = re.compile(r"^[0-9a-f]{64}$")
STATE_SEPARATOR = "\n\n"


def state_line(state: dict) -> str:
    """The state as the comment's last line; ``<`` and ``>`` escaped so it can never end the
    HTML comment early."""
    safe = json.dumps(state, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<!-- mlgate:state {safe} -->"


def with_state(text: str, state: dict) -> str:
    return f"{text.rstrip()}{STATE_SEPARATOR}{state_line(state)}"


def room_for_state(state: dict) -> int:
    """Characters the state line (and its separator) takes from the comment's limit."""
    return len(STATE_SEPARATOR) + len(state_line(state))


def read_state(body: str) -> dict:
    """The state on the body's last line: only mlgate's own keys with short string values (or
    null); anything else on that line, forged or old, is dropped."""
    lines = body.rstrip().splitlines()
    match = STATE.match(lines[-1]) if lines else None
    if match is None:
        return {}
    try:
        state = json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}
    if not isinstance(state, dict):
        return {}
    kept = {key: state[key] for key in STATE_KEYS if key in state and (
        state[key] is None or isinstance(state[key], str) and len(state[key]) <= STATE_VALUE_MAX)}
    tried = state.get("candidates")
    if isinstance(tried, list) and all(isinstance(t, str) and SHA256.match(t) for t in tried):
        kept["candidates"] = list(dict.fromkeys(tried))[-MAX_ATTEMPTS_KEPT:]
    count = _count(state.get("attempts"), len(kept.get("candidates", [])))
    if count:
        kept["attempts"] = count
    return kept


def _count(value, floor: int) -> int:
    return max(value, floor) if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**6 else floor


def attempt_of(state: dict):
    """Which distinct candidate on this PR a SHA-256 is (1, 2, …): its place among those the
    state records, or the next one."""
    tried, count = state.get("candidates", []), state.get("attempts", 0)

    def attempt(sha256: str) -> int:
        if sha256 in tried:
            return count - len(tried) + tried.index(sha256) + 1
        return count + 1

    return attempt


def with_attempt(state: dict, sha256: str | None) -> dict:
    """``state``'s attempt record with ``sha256`` counted (once)."""
    tried, count = list(state.get("candidates", [])), state.get("attempts", 0)
    if sha256 and SHA256.match(sha256) and sha256 not in tried:
        tried, count = tried + [sha256], count + 1
    return {"candidates": tried[-MAX_ATTEMPTS_KEPT:], "attempts": count}


def strip_state(body: str) -> str:
    lines = body.rstrip().splitlines()
    return "\n".join(lines[:-1]) if lines and STATE.match(lines[-1]) else body


def report_body(result: Result, state: dict, *, run_url: str | None) -> str:
    """The comment for ``result``: rendered by the report at the comment's final budget (the
    limit less the state line), then the state line."""
    text = render_markdown(result, run_url=run_url, limit=COMMENT_LIMIT - room_for_state(state))
    return with_state(text, state)


def with_banner(body: str, banner: str) -> str:
    """An existing report comment with ``banner`` under its marker, still within the limit.

    There is no result to render again here (the override handler evaluates nothing), so the
    text is cut from the end, where the detail lives, as a last resort."""
    state = read_state(body)
    text = strip_state(body).replace(MARKER + "\n", MARKER + "\n" + banner, 1)
    return with_state(trim_markdown(text, COMMENT_LIMIT - room_for_state(state)), state)


def banner_only(banner: str, head_sha: str) -> str:
    """A report comment that holds nothing but ``banner`` (no report was posted yet)."""
    return with_state(f"{MARKER}\n{banner}", {"sha": head_sha, "candidate": None})


def find_report(forge: Forge, pr: int, settings: Settings) -> CommentRef | None:
    return forge.find_comment(pr, MARKER, settings.bot_login)


def publish_comment(settings: Settings, forge: Forge, pr: int, head_sha: str | None, body: str,
                    existing: CommentRef | None, say: Callable[[str], None]) -> CommentRef | None:
    """Create or edit the one sticky comment; never let a stale run overwrite a newer verdict,
    and collapse the duplicates two concurrent first runs can create. None when the PR moved
    on and nothing was written."""
    if head_sha is not None:
        current = forge.pull(pr).head_sha
        if current != head_sha:
            say(f"mlgate: not editing the report: the pull request moved on to {current[:7]}, "
                f"this run evaluated {head_sha[:7]}")
            return None
    existing = find_report(forge, pr, settings) if existing is None else existing
    ref = forge.edit_comment(existing.id, body) if existing else forge.create_comment(pr, body)
    if existing is None:
        found = forge.find_comments(pr, MARKER, settings.bot_login)
        if len(found) > 1:
            keep = min(found, key=lambda c: c.id)
            if keep.id != ref.id:
                ref = forge.edit_comment(keep.id, body)
            for other in found:
                if other.id != keep.id:
                    forge.delete_comment(other.id)
    return ref
