"""``mlgate retrain``: on drift (or when forced) train, gate, and propose the model as a pull request.

A privileged job on the default branch (``schedule``, ``workflow_dispatch`` or a terminal):
the checkout is trusted code, never a pull request's. Each step runs only when the one before
succeeded, and nothing is pushed before the gate has judged the new artifact:

1. the drift watch (skipped when forced); no drift: say so, exit 0, push nothing;
2. the policy's train command, with the tokens removed from its environment anyway (a train
   script is the piece most likely to print it); the artifact is copied out of the workspace
   at once, so the bytes gated are the bytes pushed;
3. the normal gate against production, under this checkout's (the default branch's) policy;
4. one commit on top of the default branch's head holding the artifact, on the branch
   ``mlgate/retrain-<date>`` — or on the open retrain pull request's branch, so there is never
   a second one (``git_push``, the Git Data API);
5. the pull request opened, or the open one edited, carrying the drift report and the verdict;
6. the gate's sticky comment and check on its head: a pull request opened with the workflow's
   own token starts no workflow (GitHub's rule), so nothing else would post them.

Opening a pull request with the workflow's token needs the repository setting "Allow GitHub
Actions to create and approve pull requests"; when GitHub refuses, the message says so and
names the branch, which stays pushed.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..gates.config import Policy
from ..gates.engine import evaluate
from ..gates.errors import ConfigError
from ..gates.escape import md_code, md_text
from ..gates.models.train import run_train
from ..gates.paths import inside, sha256_file, write_texts
from ..gates.report import render_summary, trim_markdown
from ..gates.result import Result

from .events import Trigger
from .forge import Forbidden, Forge, PullRef, PullsNotPermitted
from .git_push import Pushed, check_size, push_file, repo_path
from .cli_options import DEFAULT_OUT
from .publish import Publication, publish
from .registries import production_registry
from .settings import Settings, untrusted_environment
from .sticky import attempt_of, find_report, read_state
from .trust import holdout_secret_variables, job_overrides, private_dir, workspace_policy

BRANCH_PREFIX = "mlgate/retrain-"
MARKER = "<!-- mlgate:retrain -->"
SETTING = "Allow GitHub Actions to create and approve pull requests"
BODY_LIMIT = 65_536  # GitHub: a pull request's body
DRIFT_BUDGET = 20_000  # of the body, for the drift report; the gate's verdict gets the rest
HEAD_SYNC_TRIES = 10  # seconds to wait for GitHub to move an edited pull request's head


@dataclass(frozen=True)
class Why:
    """Why this retrain runs: the drift watch found drift (its report), or someone asked."""

    forced_by: str | None = None
    reason: str = ""
    drift_report: str | None = None  # Markdown, escaped by the drift report itself
    drift_reasons: tuple[str, ...] = ()

    def line(self) -> str:
        """One line of plain text (commit message, notes, the log)."""
        if self.forced_by is not None:
            return f"retrained on request by {self.forced_by}" + (f": {self.reason}" if self.reason else "")
        return "the drift watch found drift" + (f": {'; '.join(self.drift_reasons)}" if self.drift_reasons else "")


@dataclass(frozen=True)
class Trained:
    """The train command's artifact, copied out of the workspace."""

    path: Path  # the private copy: what is evaluated and pushed
    repo_path: str  # where it goes in the repository (the policy's train output)
    sha256: str
    size: int


def on_retrain(settings: Settings, trigger: Trigger, forge_factory: Callable[[Settings], Forge],
               pub: Publication) -> int:
    """``command: retrain`` on ``schedule`` or ``workflow_dispatch``: a non-empty ``reason``
    input forces the retrain (the drift watch is skipped) and says why."""
    return retrain(settings, forge_factory(settings), pub, force=bool(settings.reason), reason=settings.reason,
                   actor=trigger.actor or trigger.event)


def retrain(settings: Settings, forge: Forge, pub: Publication, *, force: bool, reason: str = "", actor: str = "",
            now: datetime | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """The whole story (see the module's docstring); the exit code: the gate's (0, or 1 when it
    blocks and ``fail_on_block``), 0 when there is no drift."""
    policy = workspace_policy(settings)
    train = policy.candidate.train
    if train is None:
        which = "predictions" if policy.candidate.predictions is not None else "path"
        raise ConfigError(f"{settings.config}: candidate.train: retrain runs the policy's train command and there is "
                          f"none (candidate.{which} is set); give the candidate as `train: {{command: \"python "
                          f"train.py --out {{output}}\", output: build/model.skops}}` instead")
    default = forge.default_branch()
    on_default_branch(default)
    if force:
        why = Why(forced_by=actor or "someone", reason=reason)
    else:
        why = watch(policy, settings, pub)
        if why is None:
            pub.say("mlgate: retrain: no drift: nothing trained, nothing pushed")
            return 0
    # GitHub is read before the train command runs, so a token that cannot even read fails now.
    open_pull = forge.find_open_pull(BRANCH_PREFIX, settings.bot_login)
    existing = find_report(forge, open_pull.number, settings) if open_pull else None
    pub.say(f"mlgate: retrain: {why.line()}; training with {train.command}")
    trained = train_artifact(policy, settings.workspace, train)
    result = evaluate(policy, settings.workspace,
                      job_overrides(settings, allow_train=False, trust_pickle=False).with_candidate(trained.path),
                      policy_source="base", registry=production_registry(policy, settings.workspace, settings,
                                                                         production=settings.production or None),
                      notes=(f"Retrained by mlgate retrain on {default}: {why.line()}.",),
                      attempt_of=attempt_of(read_state(existing.body) if existing else {}))
    today = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date().isoformat()
    branch = open_pull.branch if open_pull else f"{BRANCH_PREFIX}{today}"
    pushed = push_file(forge, branch=branch, base=default, path=trained.repo_path,
                       data=trained.path.read_bytes(), message=commit_message(trained, why, result))
    # The commit that holds the candidate, and where it is there (not the private copy's path).
    result = dataclasses.replace(result, commit=pushed.sha, candidate={
        **result.candidate, "source": f"{trained.repo_path} (trained by mlgate retrain)"})
    title = f"mlgate: retrained {trained.repo_path} ({today}): {result.decision.decision}"
    body = pull_body(why, result, trained, pushed, default=default, run_url=settings.run_url)
    try:
        pull = propose(forge, open_pull, title=title, body=body, pushed=pushed, default=default, sleep=sleep)
    except PullsNotPermitted as exc:
        publish(settings, None, None, result, None, pub)  # the verdict still reaches the summary and outputs
        keep_body(settings, body, why)
        raise ConfigError(
            f"{exc}. The repository setting \"{SETTING}\" (Settings → Actions → General → Workflow permissions; in an "
            f"organization, allow it there first) must be on for the workflow's token to open pull requests. Branch "
            f"{branch} is pushed (commit {pushed.sha[:7]}): open the pull request from it by hand (its text is in "
            f"{DEFAULT_OUT}/pull-request.md), or turn the setting on and run again") from None
    except Forbidden as exc:
        publish(settings, None, None, result, None, pub)
        keep_body(settings, body, why)
        raise ConfigError(f"{exc}: opening the pull request needs `permissions: pull-requests: write`. Branch "
                          f"{branch} is pushed (commit {pushed.sha[:7]})") from None
    opened = "updated" if open_pull else "opened"
    pub.say(f"mlgate: retrain: {opened} pull request #{pull.number} ({pull.url}) from {branch} at {pushed.sha[:7]}")
    pub.summary.append(f"mlgate retrain {opened} pull request [#{pull.number}]({pull.url}) from branch "
                       f"{md_code(branch)} (commit {md_code(pushed.sha[:7])}).")
    code = publish(settings, pull.number, pushed.sha, result, forge, pub, existing=existing)
    keep_body(settings, body, why)
    return code


def on_default_branch(default: str) -> None:
    """The train command is trusted only as the default branch's code: a dispatch from another
    branch (``GITHUB_REF``) is refused. Outside Actions there is no ref to check."""
    ref = os.environ.get("GITHUB_REF", "")
    if ref and ref != f"refs/heads/{default}":
        raise ConfigError(f"GITHUB_REF: retrain runs only on the default branch ({default}), whose code is trusted; "
                          f"this run is on {ref}: run it from {default}")


def watch(policy: Policy, settings: Settings, pub: Publication) -> Why | None:
    """The drift watch; None when there is no drift. Its report goes to the job summary."""
    if policy.drift is None:
        raise ConfigError(f"{settings.config}: drift: retrain runs the drift watch, and the policy has no drift "
                          "section; add one (README: drift), or force the retrain (--force; in the action, "
                          "a reason input)")
    from ..gates.drift.report import render_markdown
    from ..gates.drift.watch import watch_drift

    result = watch_drift(policy, settings.workspace, registry=production_registry(policy, settings.workspace, settings),
                         env=dict(os.environ))
    report = render_markdown(result)
    pub.summary.append(report)
    return Why(drift_report=report, drift_reasons=tuple(result.reasons)) if result.drift else None


def train_artifact(policy: Policy, workspace: Path, train) -> Trained:
    """Run the train command without the tokens and copy its artifact out of the workspace;
    refuse one too large to push before anything else happens."""
    output = inside(workspace, train.output, "candidate.train.output", must_exist=False)
    path = repo_path(train.output)
    # No token, and no sealed holdout's secret: the train command is trusted (the default
    # branch's), but neither is its to hold. (It still runs beside them in this job: see README.)
    secrets = set(holdout_secret_variables(policy))
    env = {k: v for k, v in untrusted_environment().items() if k not in secrets}
    run_train(train.command, output, train.output, cwd=workspace, timeout_s=train.timeout_s, env=env)
    size = output.stat().st_size
    check_size(size, f"candidate.train.output {train.output}")
    copy = private_dir("retrain") / output.name
    shutil.copyfile(output, copy)
    return Trained(copy, path, sha256_file(copy), copy.stat().st_size)


def propose(forge: Forge, open_pull: PullRef | None, *, title: str, body: str, pushed: Pushed, default: str,
            sleep: Callable[[float], None]) -> PullRef:
    """Open the pull request, or edit the open one (whose branch was just moved)."""
    if open_pull is None:
        return forge.create_pull(title=title, body=body, head=pushed.branch, base=default)
    pull = forge.edit_pull(open_pull.number, title=title, body=body)
    # GitHub moves a pull request's head after its branch asynchronously; the comment is
    # published only on the head, so wait a little for it.
    for _ in range(HEAD_SYNC_TRIES):
        if forge.pull(pull.number).head_sha == pushed.sha:
            break
        sleep(1.0)
    return dataclasses.replace(pull, head_sha=pushed.sha)


def commit_message(trained: Trained, why: Why, result: Result) -> str:
    return (f"mlgate: retrain {trained.repo_path}\n\n{why.line()}\n\nsha256: {trained.sha256}\n"
            f"gate: {result.decision.decision}: {result.decision.reasons[0] if result.decision.reasons else ''}\n")


def pull_body(why: Why, result: Result, trained: Trained, pushed: Pushed, *, default: str,
              run_url: str | None) -> str:
    """The pull request's text: why, what was trained, the drift report and the gate's verdict,
    within GitHub's limit (the drift report first cut, the verdict and the gate table kept)."""
    if why.forced_by is not None:
        reason = f"retrained on request by {md_text(why.forced_by)}" + (f": {md_text(why.reason)}" if why.reason else "")
    else:
        reason = "the drift watch found drift in production's inputs (report below)"
    head = "\n".join([
        MARKER,
        f"## mlgate: a retrained model for {md_code(default)}: **{result.decision.decision}**",
        "",
        f"**Why:** {reason}.",
        "",
        "| | |",
        "|---|---|",
        f"| model | {md_code(trained.repo_path, in_table=True)}, {trained.size / 1024:,.1f} kB, sha256 "
        f"{md_code(trained.sha256, in_table=True)} |",
        f"| commit | {md_code(pushed.sha[:12], in_table=True)}, on top of {md_code(default, in_table=True)} at "
        f"{md_code(pushed.parent[:12], in_table=True)} |",
        f"| gate | **{result.decision.decision}** (the report comment and the `mlgate` check below) |",
        "",
        "mlgate posted the gate's report comment and check here itself. A pull request opened with the "
        "workflow's own token starts no workflow: to run the build and judge workflows on it (promotion on "
        "merge needs their candidate), close and reopen it.",
        "",
    ])
    drift = ""
    if why.drift_report:
        drift = "### Drift\n\n" + trim_markdown(why.drift_report, DRIFT_BUDGET).rstrip() + "\n\n"
    gate_title = "### The gate\n\n"
    room = BODY_LIMIT - len(head) - len(drift) - len(gate_title) - 200
    gate = render_summary(result, run_url=run_url, limit=max(room, 10_000))
    return trim_markdown(f"{head}\n{drift}{gate_title}{gate}", BODY_LIMIT)


def keep_body(settings: Settings, body: str, why: Why) -> None:
    """The pull request's text (and the drift report) beside the gate's report files."""
    out = settings.workspace / DEFAULT_OUT
    if not out.is_dir() or out.is_symlink():
        return
    write_texts(out, {name: text for name, text in (("pull-request.md", body), ("drift.md", why.drift_report))
                      if text})
