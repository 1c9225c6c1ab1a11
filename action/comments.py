"""Slash commands: ``/mlgate run|promote|override|rollback|help``, from a PR comment or a dispatch.

Who may run what is the collaborator API's role of the comment's author, looked up here,
never anything a comment says: anyone for help, write for run and promote, maintain for
override and rollback. A comment gets 👀 on receipt, then a reply and 🚀 (done) or 😕
(refused or failed). A refusal is the reply; a failure is replied to, then fails the job.

An override turns the check green for the one commit and candidate it names and edits a
banner into the report; that banner is display only — whoever uses the override later (the
judge, a promotion) verifies the maintainer's own comment again.
"""

from __future__ import annotations

from typing import Callable

from ..gates.errors import MlgateError
from ..gates.escape import md_code, md_text
from ..gates.paths import sha256_file
from ..gates.registry.base import utc_now

from . import commands
from .commands import HELP, Command
from .events import Trigger
from .forge import Forge
from .overrides import names_commit
from .publish import Publication, best_effort
from .replies import Reply, done, refused
from .settings import Settings

# artifacts, promoting, sticky and trust are imported where they are used: they bring the
# numerical stack (about a second of CPU), which help, run and a refused command never need.


def on_comment(settings: Settings, trigger: Trigger, forge_factory: Callable[[Settings], Forge],
               pub: Publication) -> int:
    """``issue_comment`` with a command on a pull request."""
    return handle_comment(settings, trigger, forge_factory(settings), pub)


def handle_comment(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication) -> int:
    command = trigger.command
    forge.react(trigger.comment_id, "eyes")
    try:
        outcome = execute(settings, forge, trigger.pr, trigger.actor, command, pub.outputs,
                          request=f"comment {trigger.comment_id}")
    except Exception as exc:
        # Not a refusal but a failure (a bad artifact, a time limit, GitHub down, a bug): say so
        # where it was asked, then fail the job with the error's own exit code.
        what = str(exc) if isinstance(exc, MlgateError) else f"internal error ({type(exc).__name__})"
        message = md_text(settings.redact(what).strip().splitlines()[0][:500] if what.strip() else type(exc).__name__)
        best_effort(lambda: forge.create_comment(trigger.pr, f"@{trigger.actor} `/mlgate {command.name}` failed: {message}"))
        best_effort(lambda: forge.react(trigger.comment_id, "confused"))
        raise
    forge.create_comment(trigger.pr, outcome.text)
    forge.react(trigger.comment_id, "rocket" if outcome.ok else "confused")
    pub.say(f"mlgate: /mlgate {command.name} by @{trigger.actor}: {'done' if outcome.ok else 'refused'}")
    return 0


def execute(settings: Settings, forge: Forge, pr: int | None, actor: str, command: Command,
            pub_outputs: dict | None = None, *, via: str = "comment", request: str | None = None) -> Reply:
    """Run one command. Refusals are replies, not errors. ``request`` names what asked (the
    comment, the workflow run) so that a re-run of the same job does not roll back twice."""
    if command.error:
        return refused(f"@{actor} {command.error}.\n\n{HELP}")
    role = forge.role(actor)
    if not commands.allowed(role, command):
        return refused(f"@{actor} `/mlgate {command.name}` needs the **{command.required_role}** role or higher; "
                       f"you have **{role}**. Nothing was changed.")
    if command.name == "help":
        return done(HELP)
    if command.name == "run":
        pull = forge.pull(pr)
        url = forge.rerun_gate(settings.gate_workflow, pull.head_sha, pull.head_label)
        if url is None:
            return refused(f"@{actor} found no run of `{settings.gate_workflow}` for {pull.head_sha[:7]} to re-run; "
                           "push a commit or check the workflow's name (input gate_workflow).")
        return done(f"@{actor} re-running the gate on {pull.head_sha[:7]}: {url}")
    if command.name == "override":
        return override(settings, forge, pr, actor, command, via=via)
    from .promoting import promote_pull_request, rollback

    if command.name == "promote":
        return promote_pull_request(settings, forge, pr, actor, pub_outputs, reason=f"/mlgate promote on #{pr}")
    return rollback(settings, actor, int(command.argument) if command.argument else None,
                    reason=f"/mlgate rollback on #{pr}" if pr is not None else "/mlgate rollback", request=request)


def override(settings: Settings, forge: Forge, pr: int, actor: str, command: Command, *, via: str = "comment") -> Reply:
    """Turn the check green for the commit the override names, if it is the PR's head.

    The banner edited into the report is display only: whoever uses the override later (the
    judge's check, a promotion) verifies the maintainer's comment itself again.
    """
    from .sticky import banner_only, find_report, with_banner

    pull = forge.pull(pr)
    if not command.candidate:
        return refused(f"@{actor} nothing overridden: an override names the candidate it accepts too — copy the "
                       f"command from the report: `/mlgate override {pull.head_sha}:<candidate-sha256> <reason>`")
    if not names_commit(command.sha, pull.head_sha):
        return refused(f"@{actor} nothing overridden: {md_code(command.sha[:40])} is not this pull request's head "
                       f"commit ({pull.head_sha}); an override holds only for the commit it names. To override the "
                       f"head, copy the command from its report (`/mlgate override {pull.head_sha}:<candidate> <reason>`)")
    judged = built_candidate(settings, forge, pull.head_sha, pull.head_label)
    if judged is None:
        return refused(f"@{actor} nothing overridden: no run of `{settings.gate_workflow}` for {pull.head_sha[:7]} "
                       "uploaded a candidate, so there is nothing the override could name.")
    if judged != command.candidate:
        return refused(f"@{actor} nothing overridden: the newest build of {pull.head_sha[:7]} uploaded candidate "
                       f"{judged[:12]}…, not {md_code(command.candidate[:12])}…; the build may have run again since "
                       f"the report you read. Read the current report and copy its command.")
    at = utc_now()
    reason = md_text(command.argument)
    check = forge.find_check(settings.check_name, pull.head_sha)
    forge.publish_check(settings.check_name, pull.head_sha, conclusion="success", title=f"Overridden by @{actor}",
                        summary=f"Overridden by @{actor} at {at} for commit {pull.head_sha}: {reason}", existing=check)
    report = find_report(forge, pr, settings)
    banner = f"> ⚠️ **Overridden** by @{actor} at {at} for commit `{pull.head_sha}`: {reason}\n\n"
    if report is not None:
        forge.edit_comment(report.id, with_banner(report.body, banner))
    else:
        forge.create_comment(pr, banner_only(banner, pull.head_sha))
    how = ("It is verified again (this comment, unedited; your role) whenever it is used, and holds only for "
           f"commit {pull.head_sha} and the candidate {command.candidate[:12]}….") if via == "comment" else (
           "A dispatch is not a comment that can be verified again later: for a merge or `/mlgate promote` to use "
           f"this override, post `/mlgate override {pull.head_sha}:{command.candidate} <reason>` on the pull request.")
    return done(f"@{actor} overrode the gate for {pull.head_sha[:7]}: the {md_code(settings.check_name)} check is now "
                f"green. Reason: {reason}\n\n{how}")


def built_candidate(settings: Settings, forge: Forge, head_sha: str, head_label: str | None) -> str | None:
    """SHA-256 of the candidate the newest gate-workflow run of this PR's head uploaded for
    ``head_sha`` (the one the judge and promotion take), or None. Hashed here, never read from
    a bot comment."""
    from .artifacts import ARTIFACT, extract_candidate
    from .trust import private_dir, workspace_policy

    run_id = forge.find_gate_run(settings.gate_workflow, head_sha, head_label)
    if run_id is None:
        return None
    artifact = forge.download_artifact(run_id, ARTIFACT)
    if artifact is None:
        return None
    # The formats the judge would take: an override names a candidate the judge could load.
    formats = workspace_policy(settings, base=True).formats
    return sha256_file(extract_candidate(artifact.path, private_dir("candidate"), formats))

