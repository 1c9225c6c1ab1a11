"""What was asked, by whom, on which commit: the event payload reduced to a ``Trigger``.

Only the fields mlgate uses are read, each checked, so a malformed payload is a clear input
error (exit 2) rather than a KeyError. URLs inside payloads are ignored: the API base always
comes from ``GITHUB_API_URL``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..gates.errors import InputError

from . import commands
from .commands import Command

EVALUATE_ACTIONS = {"opened", "synchronize", "reopened", "ready_for_review"}
PRIVILEGED_EVENTS = {"issue_comment", "pull_request_target", "workflow_run", "workflow_dispatch"}


@dataclass(frozen=True)
class Trigger:
    kind: str  # evaluate | comment | dispatch | publish | merge | schedule | ignore
    event: str
    actor: str = ""
    pr: int | None = None
    head_sha: str | None = None
    base_ref: str | None = None
    base_sha: str | None = None
    is_fork: bool = False
    command: Command | None = None
    comment_id: int | None = None
    why_ignored: str = ""
    run_id: int | None = None  # workflow_run: the gate run whose artifact is published
    head_label: str | None = None  # owner:branch of the PR head

    @property
    def privileged(self) -> bool:
        return self.event in PRIVILEGED_EVENTS


def load_payload(path: Path | None) -> dict:
    if path is None:
        raise InputError("GITHUB_EVENT_PATH: not set; `mlgate action` runs inside GitHub Actions (use `mlgate evaluate` locally)")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"GITHUB_EVENT_PATH: {path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"GITHUB_EVENT_PATH: {path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"GITHUB_EVENT_PATH: {path} holds {type(data).__name__}, expected a JSON object")
    return data


def parse_trigger(event: str, payload: dict, *, bot_login: str, dispatch_pr: int | None = None) -> Trigger:
    if event == "pull_request":
        return _pull_request(payload)
    if event == "issue_comment":
        return _issue_comment(payload, bot_login)
    if event == "workflow_dispatch":
        return Trigger("dispatch", event, actor=_get(payload, "sender.login", str, required=False) or "", pr=dispatch_pr)
    if event == "workflow_run":
        return _workflow_run(payload)
    if event == "schedule":  # the canary judge (command: canary); the runner says when it is not asked for
        return Trigger("schedule", event, actor="schedule")
    if event == "pull_request_target" and payload.get("action") == "closed":
        if not _get(payload, "pull_request.merged", bool, required=False):
            return Trigger("ignore", event, why_ignored="pull request closed without merging")
        # base.sha is the base branch before the merge: the policy the PR was judged under.
        return Trigger("merge", event, actor=_get(payload, "sender.login", str, required=False) or "",
                       pr=_get(payload, "pull_request.number", int), head_sha=_get(payload, "pull_request.head.sha", str),
                       base_ref=_get(payload, "pull_request.base.ref", str),
                       base_sha=_get(payload, "pull_request.base.sha", str))
    if event == "pull_request_target":
        return Trigger("ignore", event, why_ignored=(
            "pull_request_target runs with a write token on PR code: mlgate evaluates in an unprivileged "
            "pull_request job instead (see examples/workflows)"))
    return Trigger("ignore", event, why_ignored=f"event {event or '(none)'} is not one mlgate acts on")


def _pull_request(payload: dict) -> Trigger:
    action = _get(payload, "action", str)
    if action not in EVALUATE_ACTIONS:
        return Trigger("ignore", "pull_request", why_ignored=f"pull_request action {action!r} needs no evaluation")
    head_repo = _get(payload, "pull_request.head.repo.full_name", str, required=False)
    base_repo = _get(payload, "pull_request.base.repo.full_name", str, required=False)
    return Trigger(
        "evaluate", "pull_request",
        actor=_get(payload, "sender.login", str, required=False) or "",
        pr=_get(payload, "pull_request.number", int),
        head_sha=_get(payload, "pull_request.head.sha", str),
        base_ref=_get(payload, "pull_request.base.ref", str),
        base_sha=_get(payload, "pull_request.base.sha", str),
        is_fork=bool(head_repo and base_repo and head_repo != base_repo),
    )


def _workflow_run(payload: dict) -> Trigger:
    """The fork-safe publisher: a privileged run after the unprivileged PR gate completed."""
    if _get(payload, "action", str) != "completed":
        return Trigger("ignore", "workflow_run", why_ignored="workflow_run not completed")
    if _get(payload, "workflow_run.event", str) != "pull_request":
        return Trigger("ignore", "workflow_run", why_ignored="the gate run was not for a pull request")
    conclusion = _get(payload, "workflow_run.conclusion", str, required=False)
    if conclusion in ("cancelled", "skipped"):  # superseded by a newer push: its judge will come
        return Trigger("ignore", "workflow_run", why_ignored=f"the build run was {conclusion}")
    prs = _get(payload, "workflow_run.pull_requests", list, required=False) or []
    number = prs[0].get("number") if prs and isinstance(prs[0], dict) else None
    owner = _get(payload, "workflow_run.head_repository.owner.login", str)
    return Trigger(
        "publish", "workflow_run", actor=_get(payload, "sender.login", str, required=False) or "",
        pr=number if isinstance(number, int) else None,
        head_sha=_get(payload, "workflow_run.head_sha", str),
        run_id=_get(payload, "workflow_run.id", int),
        head_label=f"{owner}:{_get(payload, 'workflow_run.head_branch', str)}",
    )


def _issue_comment(payload: dict, bot_login: str) -> Trigger:
    action = _get(payload, "action", str)
    if action != "created":
        return Trigger("ignore", "issue_comment", why_ignored=f"comment {action}, not created")
    if not isinstance(_get(payload, "issue", dict), dict) or not payload["issue"].get("pull_request"):
        return Trigger("ignore", "issue_comment", why_ignored="comment on an issue, not a pull request")
    author = _get(payload, "comment.user.login", str)
    if author == bot_login:
        return Trigger("ignore", "issue_comment", why_ignored="comment by the bot itself")
    command = commands.parse(_get(payload, "comment.body", str, required=False))
    if command is None:
        return Trigger("ignore", "issue_comment", why_ignored="not an /mlgate command")
    return Trigger(
        "comment", "issue_comment", actor=author, pr=_get(payload, "issue.number", int), command=command,
        comment_id=_get(payload, "comment.id", int),
    )


def _get(payload: dict, dotted: str, kind: type, *, required: bool = True):
    value = payload
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value or value[part] is None:
            if required:
                raise InputError(f"event payload: field {dotted!r} is missing")
            return None
        value = value[part]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise InputError(f"event payload: field {dotted!r} should be {kind.__name__}, got {type(value).__name__}")
    return value
