"""``mlgate action``: turn one GitHub event into an evaluation or a command, and publish it.

Pull requests are evaluated under the *base branch's* policy (read through the contents API),
so a PR cannot weaken its own gate. Comment commands and dispatches run in privileged jobs:
they never evaluate PR files, never run train commands and never unpickle anything.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Callable, NamedTuple

from ..gates.config.spec import Policy
from ..gates.config.parse import load_policy, parse_policy
from ..gates.errors import ConfigError, InfrastructureError, MlgateError
from ..gates.engine import Overrides, evaluate
from ..gates.result import Result
from ..gates.outputs import write_outputs
from ..gates.report import MARKER, trim_markdown

from ..gates.escape import log_text, md_code, md_text

from . import commands
from .artifacts import ARTIFACT, extract_candidate
from .commands import HELP, Command
from .deadline import needs_supervision, supervise
from .events import Trigger, load_payload, parse_trigger
from .forge import Artifact, CheckRef, CommentRef, Forbidden, Forge
from .overrides import names_commit, verified_override
from .registries import open_registry
from .safety import read_pr_file, reachable_credentials
from .settings import Settings, untrusted_environment

COMMENT_LIMIT = 65_536
CHECK_LIMIT = 65_535
REPORT_DIR = "mlgate-report"
# mlgate's own bookkeeping (the commit and candidate a report evaluated) is one JSON line that
# is always the comment's LAST line. It is never authority: any workflow can post as the bot,
# so an override is only ever read from a maintainer's own comment (see overrides.py).
STATE = re.compile(r"^<!-- mlgate:state (\{.*\}) -->$")
STATE_ROOM = 2_000  # the state line's share of the comment limit
GITHUB_FILES_CAP = 3_000  # the pull request files API lists at most this many
COMPARE_CAP = 300  # and the compare API at most this many
PASSING = ("approve", "first-model")


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


@dataclass
class Publication:
    """What the job hands back to the workflow: outputs, the job summary, warnings, exit code."""

    settings: Settings
    outputs: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    warned: bool = False
    log: Callable[[str], None] = print
    published: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        """One line in the workflow log: PR-derived text in it can never be a workflow command."""
        self.log(log_text(self.settings.redact(text)))

    def warn(self, text: str) -> None:
        """A ``::warning`` annotation of ours; its message escaped as the runner requires."""
        self.log(f"::warning title=mlgate::{command_data(self.settings.redact(text))}")

    def warn_unpublished(self, what: str, exc: Forbidden) -> None:
        """Warn once: a read-only token (fork PR) fails every write the same way."""
        if not self.warned:
            self.warn(f"could not {what} ({exc}); the verdict is in the job summary and outputs "
                      "(read-only token, e.g. a fork PR?)")
            self.warned = True

    def flush(self) -> None:
        if self.settings.output_path is not None and self.outputs:
            with open(self.settings.output_path, "a", encoding="utf-8") as fh:
                fh.write(format_outputs(self.outputs))
        if self.settings.summary_path is not None and self.summary:
            with open(self.settings.summary_path, "a", encoding="utf-8") as fh:
                fh.write("\n\n".join(self.summary) + "\n")


def command_data(text: str) -> str:
    """A workflow command's message, escaped the way the runner unescapes it (one line)."""
    return log_text(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_outputs(outputs: dict[str, str]) -> str:
    """``GITHUB_OUTPUT`` lines; multi-line values use the heredoc form with a unique delimiter."""
    lines = []
    for key, value in outputs.items():
        value = str(value)
        if "\n" in value:
            delimiter = "MLGATE_EOF"
            while delimiter in value:
                delimiter += "_"
            lines.append(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{key}={value}\n")
    return "".join(lines)


def run(settings: Settings, forge_factory: Callable[[Settings], Forge], log: Callable[[str], None] = print, *,
        debug: bool = False) -> int:
    payload = load_payload(settings.event_path)
    trigger = parse_trigger(settings.event_name, payload, bot_login=settings.bot_login, dispatch_pr=settings.pr)
    if needs_supervision(trigger):  # privileged work runs in a child killed at limits.evaluate_s
        return supervise(settings, trigger, forge_factory, log, debug=debug)
    pub = Publication(settings, log=log)
    try:
        if trigger.kind == "ignore":
            pub.say(f"mlgate: nothing to do: {trigger.why_ignored}")
            return 0
        if trigger.kind == "evaluate":
            if not settings.token:
                return build(settings, trigger, pub)
            return evaluate_pull_request(settings, trigger, forge_factory(settings), pub)
        if trigger.kind == "comment":
            return handle_comment(settings, trigger, forge_factory(settings), pub)
        if trigger.kind == "publish":
            forge = forge_factory(settings)
            try:
                return publish_gate_run(settings, trigger, forge, pub)
            except Exception as exc:  # no artifact, a bad artifact, a bad policy, a crash: the check says so
                if not getattr(exc, "mlgate_check_closed", False):
                    _best_effort(lambda: _failed_check(settings, forge, trigger.head_sha, exc))
                raise
        if trigger.kind == "merge":
            return promote_on_merge(settings, trigger, forge_factory(settings), pub)
        return handle_dispatch(settings, trigger, forge_factory, pub)
    finally:
        pub.flush()


# ----------------------------------------------------------------------------- pull requests


def evaluate_pull_request(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication) -> int:
    """The one-job setup: this job holds a token, so it never trains, and since a same-repository
    PR can rewrite this very workflow its check is advice; the judge (workflow_run) decides."""
    policy, policy_source, notes = base_policy(settings, forge, trigger)
    changed, capped = what_changed(forge, trigger.pr, trigger.base_sha, trigger.head_sha)
    blockers = protected_blockers(policy, changed, notes, settings.workspace, capped=capped,
                                  config=settings.config if policy_source == "base" else None)
    existing = forge.find_comment(trigger.pr, MARKER, settings.bot_login)

    overrides = dataclasses.replace(_overrides(settings, allow_train=False), train_refusal=train_with_token(settings))
    if policy_source != "base":  # a PR-written policy (first set-up) must not reach a sealed holdout's secret
        overrides = dataclasses.replace(overrides, env={})
    result = evaluate(policy, settings.workspace, overrides, policy_source=policy_source,
                      blockers=tuple(blockers), registry=open_registry(policy, settings.workspace, settings),
                      notes=tuple(notes), commit=trigger.head_sha,
                      verify_override=_override_check(settings, forge, trigger.pr, trigger.head_sha))
    return publish(settings, trigger.pr, trigger.head_sha, result, forge, pub, existing=existing)


def _override_check(settings: Settings, forge: Forge, pr: int, head_sha: str):
    """The override verification ``evaluate`` runs once the candidate's SHA-256 is known."""

    def check(candidate_sha256: str) -> dict | None:
        override = verified_override(forge, pr, head_sha, candidate_sha256, bot_login=settings.bot_login)
        return override.record() if override else None

    return check


def train_with_token(settings: Settings) -> str:
    where = "input github_token" if os.environ.get("INPUT_GITHUB_TOKEN", "").strip() else "the GITHUB_TOKEN variable"
    return (f"train commands never run where a token is reachable, and this job has one ({where}); train in a "
            "build job without it (`github_token: \"\"`, no GITHUB_TOKEN in env:, checkout's "
            "`persist-credentials: false`) and let the judge workflow evaluate its artifact (README: the "
            "build-then-judge split)")


def build(settings: Settings, trigger: Trigger, pub: Publication) -> int:
    """The build job of the build-then-judge split: no token, PR code allowed.

    It trains (when the policy says so) and evaluates under this checkout's own policy, as
    advice: outputs, the job summary and ``mlgate-report/`` (with the candidate) for the judge
    to download. It comments and checks nothing — it has no token — and it trains only when no
    credential is reachable from here at all.
    """
    policy = workspace_policy(settings)
    secrets = holdout_secret_variables(policy)
    if policy.candidate.train is not None and settings.candidate == "":
        found = reachable_credentials(settings.workspace, dict(os.environ), secrets)
        if found:
            raise ConfigError(f"candidate.train: the train command runs PR code, and this job could hand it a "
                              f"credential: {'; '.join(found)}. Train only in a job without them (README: the "
                              "build-then-judge split)")
    # This checkout's policy is the PR's: it never gets the environment (a sealed holdout's secret).
    overrides = dataclasses.replace(_overrides(settings, allow_train=True), env={})
    if secrets:
        return build_candidate_only(settings, policy, overrides, pub, "the holdout is sealed (only the judge can read it)")
    registry = policy.production.registry
    if registry is not None and registry.kind != "file" and not settings.production:
        return build_candidate_only(settings, policy, overrides, pub,
                                    f"the production model is in a {registry.kind} registry, which only the judge reads")
    result = evaluate(policy, settings.workspace, overrides, policy_source="pr", commit=trigger.head_sha, notes=(
        "Build job: advice under this checkout's policy. The judge workflow re-evaluates the uploaded candidate "
        "under the base branch's policy and holdout; its check decides.",))
    return publish(settings, None, trigger.head_sha, result, None, pub)


def build_candidate_only(settings: Settings, policy: Policy, overrides, pub: Publication, why: str) -> int:
    """What only the judge can read (a sealed holdout, a registry behind a token) is the judge's
    alone: the build job produces the candidate and says who evaluates it."""
    import shutil

    from ..gates.engine import candidate_only

    path = candidate_only(policy, settings.workspace, overrides)
    out_dir = settings.workspace / REPORT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    if path is not None:
        shutil.copyfile(path, out_dir / f"candidate{path.suffix}")
    pub.summary.append(f"## mlgate: candidate built\n\nNot evaluated here: {why}. The judge workflow evaluates "
                       "this candidate and sets the check.")
    pub.outputs.update(decision="pending", report_path="", result_path="")
    pub.say(f"mlgate: candidate built; not evaluated here: {why}; the judge workflow evaluates it")
    return 0


def holdout_secret_variables(policy: Policy) -> tuple[str, ...]:
    """The environment variables a sealed holdout's credential is read from."""
    from ..gates.config.spec import VARIABLE

    names = [name for _, text in policy.data.headers for name in VARIABLE.findall(text)]
    if policy.data.key_env:
        names.append(policy.data.key_env)
    return tuple(dict.fromkeys(names))


def base_policy(settings: Settings, forge: Forge, trigger: Trigger) -> tuple[Policy, str, list[str]]:
    """The policy that applies: the base branch's; the PR's own only when the base has none."""
    from .safety import NotReadable

    config = settings.config
    unreadable = None
    try:
        pr_text = read_pr_file(settings.workspace, config)
    except NotReadable as exc:
        pr_text, unreadable = None, str(exc)
    base_text = forge.file_at(config, trigger.base_sha or trigger.base_ref)
    if base_text is None:
        if unreadable:
            raise ConfigError(f"{config}: this pull request's policy cannot be used: {unreadable}")
        if pr_text is None:
            raise ConfigError(f"{config}: no policy on the base branch nor in this pull request")
        policy = parse_policy(pr_text, config)
        return policy, "pr", [f"No policy on the base branch yet: this PR's {config} applies (first set-up)."]
    policy = parse_policy(base_text, f"{config} (base branch)")
    notes = []
    if unreadable:
        notes.append(f"This PR's {config} is not shown: {unreadable}. The base branch's policy was used.")
    elif pr_text != base_text:
        notes.append(policy_diff_note(config, base_text, pr_text))
    return policy, "base", notes


def policy_diff_note(config: str, base_text: str, pr_text: str | None) -> str:
    if pr_text is None:
        return f"This PR deletes {config}; the base branch's policy was used."
    diff = list(difflib.unified_diff(base_text.splitlines(), pr_text.splitlines(), "base", "this PR", lineterm="", n=0))
    shown = "\n".join(diff[:40]) + ("\n…" if len(diff) > 40 else "")
    # Notes are text; the report re-fences this block so that nothing in the diff can close it.
    return (f"This PR changes {config}; the change applies after merge. The base branch's policy was used."
            f"\n```diff\n{shown}\n```")


def _bounded(text: str | None, cap: int = 1_000_000) -> str | None:
    return None if text is None else text[:cap]


def protected_blockers(policy: Policy, changed: list[str], notes: list[str], workspace: Path, *,
                       capped: bool = False, config: str | None = None) -> list[str]:
    """What the candidate is judged against lives partly in the repository: the holdout, and
    a production model kept in the workspace (a file registry, an MLflow store, a path, a
    predictions file). A PR that edits them could pass by moving the goalposts, so it is
    blocked (a maintainer can override); the holdout may be opened up with
    data.allow_changes_in_pr. A symlink on the way counts with what it points at: editing the
    target is editing the holdout."""
    blockers = []
    if capped or len(changed) >= GITHUB_FILES_CAP:
        blockers.append("this PR changes more files than GitHub lists: mlgate cannot verify that the holdout and "
                        "the production model are untouched (a maintainer can override)")
    if config is not None and _touched(config, changed, workspace):
        # After the merge this file is every later PR's gate (its allowlist, its holdout, its
        # margins): changing it is a maintainer's decision, not the check's.
        blockers.append(f"this PR changes the gate's own policy {config}, which applies to every pull request "
                        "after the merge: a maintainer reviews it and overrides")
    if not policy.data.holdout.startswith("https://"):
        touched = _touched(policy.data.holdout, changed, workspace)
        if touched and policy.data.allow_changes_in_pr:
            notes.append(f"This PR changes the holdout {policy.data.holdout} (allowed by data.allow_changes_in_pr).")
        elif touched:
            blockers.append(f"the holdout {policy.data.holdout} is changed by this PR ({', '.join(touched[:3])}) and "
                            "data.allow_changes_in_pr is false (a maintainer can override)")
    for source in _production_sources(policy, workspace):
        touched = _touched(source, changed, workspace)
        if touched:
            blockers.append(f"the production model's source {source} is changed by this PR ({', '.join(touched[:3])}); "
                            "production must come from the base branch (a maintainer can override)")
    return blockers


def _touched(source: str, changed: list[str], workspace: Path) -> list[str]:
    """The changed files that are ``source``, lie under it, or are what a symlink on its path
    (in this checkout) points at — and the symlinks themselves."""
    paths = {_norm(source)}
    root = Path(workspace).resolve()
    current = root
    for part in PurePosixPath(_norm(source)).parts:
        current = current / part
        if current.is_symlink():
            paths.add(str(PurePosixPath(current.relative_to(root))))
        try:
            resolved = current.resolve()
            paths.add(str(PurePosixPath(resolved.relative_to(root))))
        except (OSError, ValueError):  # outside the workspace: refused where it is read
            pass
    try:
        paths.add(str(PurePosixPath((root / _norm(source)).resolve().relative_to(root))))
    except (OSError, ValueError):
        pass
    found = set()
    for path in paths:
        prefix = path.rstrip("/") + "/"
        found.update(f for f in changed if f == path or f.startswith(prefix) or path.startswith(f.rstrip("/") + "/"))
    return sorted(found)


def _production_sources(policy: Policy, workspace: Path) -> list[str]:
    """Workspace paths the production model is read from (none for remote registries)."""
    production = policy.production
    if production.path or production.predictions:
        return [production.path or production.predictions]
    registry = production.registry
    if registry is None:
        return ["models/registry"]
    if registry.kind == "file":
        return [registry.path]
    if registry.kind == "mlflow":
        return mlflow_sources(registry.tracking_uri, registry.artifact_location, workspace)
    return []


def mlflow_sources(tracking_uri: str | None, artifact_location: str | None, workspace: Path) -> list[str]:
    """An MLflow store kept in the workspace (a SQLite file or an ``mlruns`` directory, and the
    artifact root) is production's source like a file registry is."""
    from urllib.parse import urlparse

    found = []
    for uri in (tracking_uri, artifact_location):
        if not uri:
            continue
        if uri.startswith("sqlite:///"):
            path = uri[len("sqlite:///"):]
        elif uri.startswith("file:"):
            path = urlparse(uri).path if uri.startswith("file://") else uri[len("file:"):]
        elif "://" in uri:
            continue  # a tracking server or remote storage: not in the checkout
        else:
            path = uri
        full = Path(path) if Path(path).is_absolute() else Path(workspace) / path
        try:
            found.append(str(PurePosixPath(full.resolve().relative_to(Path(workspace).resolve()))))
        except (OSError, ValueError):
            continue
    if tracking_uri and (tracking_uri.startswith("sqlite:") or "://" not in tracking_uri) and not artifact_location:
        found += ["mlruns", "mlartifacts"]  # MLflow's default artifact roots beside a local store
    return found


def _norm(path: str) -> str:
    return str(PurePosixPath(path))  # "./data/x.csv" -> "data/x.csv", as the PR files API names it


def publish(settings: Settings, pr: int | None, head_sha: str | None, result: Result, forge: Forge | None,
            pub: Publication, *, existing: CommentRef | None = None, check: CheckRef | None = None) -> int:
    """Write the outputs, the comment and the check. ``check`` is the run this job started (the
    judge edits only its own, never another judge's newer run of the same name)."""
    out_dir = settings.workspace / REPORT_DIR
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise ConfigError(f"{REPORT_DIR}: is a symbolic link or not a directory; mlgate writes its report only into "
                          "a real directory of the workspace")
    written = write_outputs(result, out_dir, candidate_path=result.candidate_file, run_url=settings.run_url)
    report = (out_dir / "report.md").read_text(encoding="utf-8")  # fitted to the comment limit
    summary = (out_dir / "summary.md").read_text(encoding="utf-8")  # fitted to the check-run limit
    body = with_state(trim_markdown(report, COMMENT_LIMIT - STATE_ROOM),
                      {"sha": head_sha, "candidate": result.candidate["sha256"]})
    pub.outputs.update(decision=result.decision.decision, report_path=str(written["report.md"]),
                       result_path=str(written["result.json"]))
    pub.summary.append(summary)

    failures: list[str] = []
    if forge is not None and pr is not None and settings.comment:
        _step(pub, failures, "the report comment",
              lambda: _publish_comment(settings, forge, pr, head_sha, body, existing, pub))
    passed = result.decision.decision in PASSING or bool(result.overridden)
    if forge is not None and head_sha is not None:

        def publish_check():
            current = check if check is not None else forge.find_check(settings.check_name, head_sha)
            forge.publish_check(settings.check_name, head_sha, conclusion="success" if passed else "failure",
                                title=_check_title(result), summary=trim_markdown(summary, CHECK_LIMIT), existing=current)

        _step(pub, failures, "the check run", publish_check)
    if failures:
        raise InfrastructureError(
            f"not published after retries: {'; '.join(failures)}. Published: the job summary, the outputs"
            + (f", {', '.join(pub.published)}" if pub.published else "") + f"; the verdict was {result.decision.decision}"
        )
    pub.say(f"mlgate: {result.decision.decision}{' (overridden)' if result.overridden else ''}: {result.decision.reasons[0]}")
    return 1 if not passed and settings.fail_on_block else 0


def _step(pub: Publication, failures: list[str], what: str, action: Callable[[], None]) -> None:
    """Publish one piece; a refusal (read-only token) warns, a failure is reported at the end
    so the other pieces still go out."""
    try:
        action()
        pub.published.append(what)
    except Forbidden as exc:
        pub.warn_unpublished(f"publish {what}", exc)
    except InfrastructureError as exc:
        failures.append(f"{what} ({exc})")


def _publish_comment(settings: Settings, forge: Forge, pr: int, head_sha: str | None, body: str,
                     existing: CommentRef | None, pub: Publication) -> None:
    """Create or edit the one sticky comment; never let a stale run overwrite a newer verdict,
    and collapse the duplicates two concurrent first runs can create."""
    if head_sha is not None:
        current = forge.pull(pr).head_sha
        if current != head_sha:
            pub.say(f"mlgate: not editing the report: the pull request moved on to {current[:7]}, "
                    f"this run evaluated {head_sha[:7]}")
            return
    existing = forge.find_comment(pr, MARKER, settings.bot_login) if existing is None else existing
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
    pub.outputs["comment_url"] = ref.url


def _check_title(result: Result) -> str:
    if result.overridden:
        return f"Overridden by @{result.overridden['by']}"
    failed = [g.name for g in result.gates if g.passed is False]
    titles = {"approve": "Approved: all gates passed", "first-model": "First model: absolute gates passed"}
    verdict = "Inconclusive" if result.decision.decision == "inconclusive" else "Blocked"
    return titles.get(result.decision.decision) or f"{verdict}: {', '.join(failed) or result.decision.reasons[0]}"[:200]


# ----------------------------------------------------------------------------- comments


def handle_comment(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication) -> int:
    command = trigger.command
    forge.react(trigger.comment_id, "eyes")
    try:
        outcome = execute(settings, forge, trigger.pr, trigger.actor, command, pub.outputs)
    except Exception as exc:
        # Not a refusal but a failure (a bad artifact, a time limit, GitHub down, a bug): say so
        # where it was asked, then fail the job with the error's own exit code.
        what = str(exc) if isinstance(exc, MlgateError) else f"internal error ({type(exc).__name__})"
        message = md_text(settings.redact(what).strip().splitlines()[0][:500] if what.strip() else type(exc).__name__)
        _best_effort(lambda: forge.create_comment(trigger.pr, f"@{trigger.actor} `/mlgate {command.name}` failed: {message}"))
        _best_effort(lambda: forge.react(trigger.comment_id, "confused"))
        raise
    forge.create_comment(trigger.pr, outcome.text)
    forge.react(trigger.comment_id, "rocket" if outcome.ok else "confused")
    pub.say(f"mlgate: /mlgate {command.name} by @{trigger.actor}: {'done' if outcome.ok else 'refused'}")
    return 0


def execute(settings: Settings, forge: Forge, pr: int | None, actor: str, command: Command,
            pub_outputs: dict | None = None, *, via: str = "comment") -> Reply:
    """Run one command. Refusals are replies, not errors."""
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
        url = forge.rerun_gate(settings.gate_workflow, pull.head_sha)
        if url is None:
            return refused(f"@{actor} found no run of `{settings.gate_workflow}` for {pull.head_sha[:7]} to re-run; "
                           "push a commit or check the workflow's name (input gate_workflow).")
        return done(f"@{actor} re-running the gate on {pull.head_sha[:7]}: {url}")
    if command.name == "override":
        return override(settings, forge, pr, actor, command, via=via)
    if command.name == "promote":
        return promote_pull_request(settings, forge, pr, actor, pub_outputs, reason=f"/mlgate promote on #{pr}")
    return rollback(settings, actor, int(command.argument) if command.argument else None,
                    reason=f"/mlgate rollback on #{pr}")


def override(settings: Settings, forge: Forge, pr: int, actor: str, command: Command, *, via: str = "comment") -> Reply:
    """Turn the check green for the commit the override names, if it is the PR's head.

    The banner edited into the report is display only: whoever uses the override later (the
    judge's check, a promotion) verifies the maintainer's comment itself again.
    """
    pull = forge.pull(pr)
    if not command.candidate:
        return refused(f"@{actor} nothing overridden: an override names the candidate it accepts too — copy the "
                       f"command from the report: `/mlgate override {pull.head_sha}:<candidate-sha256> <reason>`")
    if not names_commit(command.sha, pull.head_sha):
        return refused(f"@{actor} nothing overridden: {md_code(command.sha[:40])} is not this pull request's head "
                       f"commit ({pull.head_sha}); an override holds only for the commit it names. To override the "
                       f"head, copy the command from its report (`/mlgate override {pull.head_sha}:<candidate> <reason>`)")
    judged = _built_candidate(settings, forge, pull.head_sha)
    if judged is None:
        return refused(f"@{actor} nothing overridden: no run of `{settings.gate_workflow}` for {pull.head_sha[:7]} "
                       "uploaded a candidate, so there is nothing the override could name.")
    if judged != command.candidate:
        return refused(f"@{actor} nothing overridden: the newest build of {pull.head_sha[:7]} uploaded candidate "
                       f"{judged[:12]}…, not {md_code(command.candidate[:12])}…; the build may have run again since "
                       f"the report you read. Read the current report and copy its command.")
    at = _now()
    reason = md_text(command.argument)
    check = forge.find_check(settings.check_name, pull.head_sha)
    forge.publish_check(settings.check_name, pull.head_sha, conclusion="success", title=f"Overridden by @{actor}",
                        summary=f"Overridden by @{actor} at {at} for commit {pull.head_sha}: {reason}", existing=check)
    report = forge.find_comment(pr, MARKER, settings.bot_login)
    banner = f"> ⚠️ **Overridden** by @{actor} at {at} for commit `{pull.head_sha}`: {reason}\n\n"
    if report is not None:
        state = read_state(report.body)
        text = strip_state(report.body).replace(MARKER + "\n", MARKER + "\n" + banner, 1)
        forge.edit_comment(report.id, with_state(trim_markdown(text, COMMENT_LIMIT - STATE_ROOM), state))
    else:
        forge.create_comment(pr, with_state(f"{MARKER}\n{banner}", {"sha": pull.head_sha, "candidate": None}))
    how = ("It is verified again (this comment, unedited; your role) whenever it is used, and holds only for "
           f"commit {pull.head_sha} and the candidate {command.candidate[:12]}….") if via == "comment" else (
           "A dispatch is not a comment that can be verified again later: for a merge or `/mlgate promote` to use "
           f"this override, post `/mlgate override {pull.head_sha}:{command.candidate} <reason>` on the pull request.")
    return done(f"@{actor} overrode the gate for {pull.head_sha[:7]}: the {md_code(settings.check_name)} check is now "
                f"green. Reason: {reason}\n\n{how}")


def _built_candidate(settings: Settings, forge: Forge, head_sha: str) -> str | None:
    """SHA-256 of the candidate the newest gate-workflow run uploaded for ``head_sha`` (the one
    the judge and promotion take), or None. Hashed here, never read from a bot comment."""
    from ..gates.paths import sha256_file

    run_id = forge.find_gate_run(settings.gate_workflow, head_sha)
    if run_id is None:
        return None
    artifact = forge.download_artifact(run_id, ARTIFACT)
    if artifact is None:
        return None
    return sha256_file(extract_candidate(artifact.path, private_dir("candidate")))


def with_state(text: str, state: dict) -> str:
    safe = json.dumps(state, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")
    return f"{text.rstrip()}\n\n<!-- mlgate:state {safe} -->"


def read_state(body: str) -> dict:
    lines = body.rstrip().splitlines()
    match = STATE.match(lines[-1]) if lines else None
    if match is None:
        return {}
    try:
        state = json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}
    return state if isinstance(state, dict) else {}


def strip_state(body: str) -> str:
    lines = body.rstrip().splitlines()
    return "\n".join(lines[:-1]) if lines and STATE.match(lines[-1]) else body


# ----------------------------------------------------------------------------- fork-safe publishing

def publish_gate_run(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication) -> int:
    """After an unprivileged PR gate run: re-evaluate its uploaded candidate here, where the
    checkout is the base branch, and publish the comment and check.

    Nothing the PR produced is trusted: not its result.json (it could be forged), not its code.
    Only the candidate artifact is used, loaded through skops with the base branch's allowlist.
    """
    pr = _pull_of(forge, trigger)
    if pr is None:
        pub.say(f"mlgate: nothing to do: no open pull request has head {trigger.head_label} at {trigger.head_sha[:7]}")
        return 0
    # Only the newest run of the gate workflow itself is judged: a run of any other workflow
    # (a PR can add one with the same name) or an older build of the commit is not — the run
    # promotion will take is the one whose verdict the check must carry.
    newest = forge.find_gate_run(settings.gate_workflow, trigger.head_sha)
    if newest is None or newest != trigger.run_id:
        why = (f"run {trigger.run_id} is not a run of {settings.gate_workflow}" if newest is None or
               (trigger.run_id is not None and newest < trigger.run_id) else
               f"a newer build (run {newest}) of {trigger.head_sha[:7]} exists; its judge decides")
        pub.say(f"mlgate: nothing to do: {why}")
        return 0
    own_check = forge.start_check(settings.check_name, trigger.head_sha)  # not passing until judged, whatever happens
    try:
        return _judge_gate_run(settings, trigger, forge, pub, pr, own_check)
    except Exception as exc:
        # Close this judge's own check, never "the newest of the name": by now that may be a
        # newer judge's verdict, which an error here must not overwrite.
        _best_effort(lambda: _failed_check(settings, forge, trigger.head_sha, exc, existing=own_check))
        exc.mlgate_check_closed = True
        raise


def _judge_gate_run(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication, pr: int,
                    own_check: CheckRef) -> int:
    artifact = forge.download_artifact(trigger.run_id, ARTIFACT)
    if artifact is None:
        raise ConfigError(f"workflow run {trigger.run_id} uploaded no artifact named {ARTIFACT!r} "
                          "(the gate workflow must upload mlgate-report/)")
    candidate = extract_candidate(artifact.path, private_dir("candidate"))

    policy = workspace_policy(settings, base=True)
    notes: list[str] = []
    changed, capped = what_changed(forge, pr, settings.sha, trigger.head_sha)
    blockers = protected_blockers(policy, changed, notes, settings.workspace, capped=capped, config=settings.config)
    if settings.config in changed:
        pr_text = _bounded(forge.file_at(settings.config, trigger.head_sha))
        base_text = (settings.workspace / settings.config).read_text(encoding="utf-8", errors="replace")
        notes.append(policy_diff_note(settings.config, base_text, pr_text))
    existing = forge.find_comment(pr, MARKER, settings.bot_login)
    overrides = _overrides(settings, allow_train=False, trust_pickle=False).with_candidate(candidate)
    result = evaluate(policy, settings.workspace, overrides, policy_source="base", blockers=tuple(blockers),
                      registry=open_registry(policy, settings.workspace, settings), notes=tuple(notes),
                      commit=trigger.head_sha, verify_override=_override_check(settings, forge, pr, trigger.head_sha))
    newest = forge.find_gate_run(settings.gate_workflow, trigger.head_sha)
    if newest == trigger.run_id and artifact.id is not None and \
            forge.newest_artifact_id(trigger.run_id, ARTIFACT) != artifact.id:
        newest = f"{trigger.run_id}, re-run"  # the same run uploaded again (a re-run): that upload's judge decides
    if newest != trigger.run_id:
        # A newer build arrived while this one was judged: its judge speaks for the commit. This
        # run's own check is closed as failing (never passing: it may still be the newest of
        # its name), and the comment is left to the newer judge.
        forge.publish_check(settings.check_name, trigger.head_sha, conclusion="failure",
                            title="Superseded: a newer build of this commit is being judged",
                            summary=f"Run {trigger.run_id} was superseded by run {newest}; its judge decides.",
                            existing=own_check)
        pub.say(f"mlgate: not publishing: a newer build (run {newest}) of {trigger.head_sha[:7]} arrived while "
                f"run {trigger.run_id} was judged; its judge decides")
        return 0
    return publish(settings, pr, trigger.head_sha, result, forge, pub, existing=existing, check=own_check)


def _pull_of(forge: Forge, trigger: Trigger) -> int | None:
    """The open PR whose head is the judged commit now. ``workflow_run.pull_requests`` can name
    a PR that has moved on (or one of another repository): only a PR whose head is this very
    commit is commented on and checked against."""
    if trigger.pr is not None:
        try:
            if forge.pull(trigger.pr).head_sha == trigger.head_sha:
                return trigger.pr
        except InfrastructureError:
            pass
    return forge.find_pull(trigger.head_label, trigger.head_sha)


def what_changed(forge: Forge, pr: int, base: str | None, head: str) -> tuple[list[str], bool]:
    """The files this commit changes: the PR's file list and the diff of the commit itself from
    the base branch (which another PR with the same head, or a later push, cannot hide); and
    whether either list reached GitHub's cap, past which an edit could hide."""
    listed = forge.changed_files(pr)
    compared = forge.compare_files(base, head) if base and base != head else []
    return sorted(set(listed) | set(compared)), len(listed) >= GITHUB_FILES_CAP or len(compared) >= COMPARE_CAP


def private_dir(what: str) -> Path:
    """A fresh directory outside the workspace: a path in the checkout could be a symlink a
    merged PR left there, and writing the PR's bytes through it would write anywhere."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f"mlgate-{what}-"))


# ----------------------------------------------------------------------------- promotion


def promote_pull_request(settings: Settings, forge: Forge, pr: int, actor: str, outputs: dict | None, *,
                         reason: str, policy: Policy | None = None, base: str | None = None) -> Reply:
    """Promote the candidate that the PR's own gate run uploaded — re-evaluated here under the
    base branch's policy and holdout, loaded only through skops, never trained or unpickled."""
    from ..gates.errors import Blocked
    from ..gates.promotion import promote

    pull = forge.pull(pr)
    run_id = forge.find_gate_run(settings.gate_workflow, pull.head_sha)
    if run_id is None:
        return refused(f"@{actor} not promoted: no run of `{settings.gate_workflow}` for {pull.head_sha[:7]} "
                       "uploaded a candidate (input gate_workflow names the PR gate workflow).")
    artifact = forge.download_artifact(run_id, ARTIFACT)
    if artifact is None:
        return refused(f"@{actor} not promoted: gate run {run_id} uploaded no `{ARTIFACT}` artifact.")
    candidate = extract_candidate(artifact.path, private_dir("candidate"))
    policy = policy or workspace_policy(settings, base=True)
    changed, capped = what_changed(forge, pr, base or settings.sha, pull.head_sha)
    blockers = protected_blockers(policy, changed, [], settings.workspace, capped=capped, config=settings.config)
    registry = open_registry(policy, settings.workspace, settings)
    # Verified here and now, at the source: the maintainer's own comment, their role today, and
    # a candidate that existed when they wrote it.
    from ..gates.paths import sha256_file

    override = verified_override(forge, pr, pull.head_sha, sha256_file(candidate), bot_login=settings.bot_login)
    try:
        outcome = promote(policy, settings.workspace, registry, _overrides(settings, allow_train=False, trust_pickle=False)
                          .with_candidate(candidate), by=actor, override=override.record() if override else None,
                          pr=pr, reason=reason, source=f"PR #{pr} at {pull.head_sha[:7]} (gate run {run_id})",
                          blockers=tuple(blockers))
    except Blocked as exc:
        return refused(f"@{actor} not promoted: {md_text(exc)}", code=1)
    if outcome.unchanged:
        return done(f"@{actor} nothing changed: this PR's candidate already is version {outcome.version.version}, "
                    f"`{policy.production.alias}`, in {registry.describe()}.")
    if outputs is not None:
        outputs["promoted_version"] = str(outcome.version.version)
    how = " under a maintainer's override" if outcome.result.get("overridden") else ""
    return done(f"@{actor} promoted this PR's candidate as version {outcome.version.version} to "
                  f"`{policy.production.alias}` in {registry.describe()}{how} "
                  f"(re-evaluated here: {outcome.result['decision']}).")


def rollback(settings: Settings, actor: str, to: int | None, *, reason: str) -> Reply:
    from ..gates.errors import RegistryError

    policy = workspace_policy(settings)
    registry = open_registry(policy, settings.workspace, settings)
    try:
        version = registry.rollback(to, by=actor, reason=reason)
    except RegistryError as exc:
        return refused(f"@{actor} nothing rolled back: {exc}")
    return done(f"@{actor} rolled back: production is now version {version.version} in {registry.describe()}.")


def promote_on_merge(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication) -> int:
    """After a merge the checkout holds the PR's own changes: its policy is read as it was on the
    base branch before the merge (``base.sha``), and what the PR changed is checked like in the
    judge, so a PR can neither widen its allowlist nor swap the holdout for its own promotion."""
    base_text = forge.file_at(settings.config, trigger.base_sha) if trigger.base_sha else None
    if base_text is not None:
        policy = parse_policy(base_text, f"{settings.config} (base branch before the merge)")
    else:  # first set-up: the merged PR brought the policy
        policy = workspace_policy(settings)
    if policy.promotion_when != "merge":
        pub.say("mlgate: nothing to do: promotion.when is 'command' (use /mlgate promote)")
        return 0
    outcome = promote_pull_request(settings, forge, trigger.pr, trigger.actor or "merge", pub.outputs,
                                   reason=f"merged #{trigger.pr}", policy=policy, base=trigger.base_sha)
    try:
        forge.create_comment(trigger.pr, outcome.text)
    except Forbidden as exc:
        pub.warn_unpublished("comment on the merged pull request", exc)
    pub.say(f"mlgate: {outcome.text}")
    return outcome.code


# ----------------------------------------------------------------------------- dispatch


def handle_dispatch(settings: Settings, trigger: Trigger, forge_factory, pub: Publication) -> int:
    command = settings.command
    if command in ("auto", "evaluate"):
        # A privileged job: evaluate what was checked out, never train, never unpickle.
        policy = workspace_policy(settings)
        result = evaluate(policy, settings.workspace, _overrides(settings, allow_train=False, trust_pickle=False),
                          registry=open_registry(policy, settings.workspace, settings))
        return publish(settings, None, None, result, None, pub)
    forge = forge_factory(settings)
    argument = settings.version if command == "rollback" else settings.reason if command == "override" else ""
    if trigger.pr is None and command != "rollback":
        raise ConfigError(f"input pr: command {command} on workflow_dispatch needs the pull request number")
    parsed = commands.parse(f"/mlgate {command} {argument}".strip())
    if command == "override" and parsed.error:
        raise ConfigError("input reason: a dispatched override takes the commit it overrides, then the reason "
                          "(`<sha> <reason>`, as in the comment command)")
    if command == "override":
        outcome = execute(settings, forge, trigger.pr, trigger.actor, parsed, pub.outputs, via="dispatch")
    else:
        outcome = execute(settings, forge, trigger.pr, trigger.actor, parsed, pub.outputs)
    if trigger.pr is not None:
        forge.create_comment(trigger.pr, outcome.text)
    pub.say(f"mlgate: {command}: {outcome.text}")
    return outcome.code


# ----------------------------------------------------------------------------- helpers


def workspace_policy(settings: Settings, *, base: bool = False) -> Policy:
    """The policy in the checked-out workspace; ``base`` says (in messages) that privileged jobs
    check out the base branch, so this is the base branch's policy."""
    source = f"{settings.config} (base branch)" if base else settings.config
    return load_policy(settings.workspace / settings.config, source=source)


def _overrides(settings: Settings, *, allow_train: bool, trust_pickle: bool | None = None) -> Overrides:
    ws = settings.workspace
    return Overrides(
        candidate=ws / settings.candidate if settings.candidate else None,
        production=settings.production or None,
        data=ws / settings.data if settings.data else None,
        trust_pickle=settings.trust_pickle if trust_pickle is None else trust_pickle,
        allow_train=allow_train,
        train_env=untrusted_environment(),
        env=dict(os.environ),  # a sealed holdout's credential, in the judge's environment only
    )


def _failed_check(settings: Settings, forge: Forge, head_sha: str, exc: Exception, *,
                  existing: CheckRef | None = None) -> None:
    """The required check must never be left missing or stale when the judge cannot judge."""
    message = md_text(settings.redact(str(exc)).strip().splitlines()[0][:500] if str(exc).strip() else type(exc).__name__)
    forge.publish_check(settings.check_name, head_sha, conclusion="failure", title="mlgate could not evaluate",
                        summary=f"mlgate could not evaluate this commit: {message}",
                        existing=existing if existing is not None else forge.find_check(settings.check_name, head_sha))


def _best_effort(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:  # already failing: reporting must not hide the first error
        pass


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")

