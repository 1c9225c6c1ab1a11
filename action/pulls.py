"""Pull requests: the build job, the one-job evaluation, and the judge of a build's artifact.

Three jobs look at a pull request (DESIGN.md, "Trust"):

- the **build** (``pull_request``, no token): runs PR code, trains when asked, evaluates under
  the checkout's own policy as advice and uploads ``mlgate-report/`` with the candidate;
- the **one-job setup** (``pull_request`` with a token): never trains; evaluates under the base
  branch's policy and publishes, but a same-repository PR can rewrite this very workflow, so
  its check is advice too;
- the **judge** (``workflow_run`` after the build): the base branch's workflow and checkout.
  It trusts nothing the PR produced but the candidate artifact, loaded through skops with the
  base allowlist (or as ONNX, XGBoost or LightGBM; never a pickle), re-evaluates it under the
  base policy and holdout, and its check decides.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import Callable

from ..gates.config import Policy
from ..gates.engine import Overrides, candidate_only, evaluate
from ..gates.errors import ConfigError, InfrastructureError
from ..gates.escape import md_text

from .artifacts import ARTIFACT, extract_candidate
from .events import Trigger
from .forge import CheckRef, Forge
from .overrides import verified_override
from .cli_options import DEFAULT_OUT
from .publish import Publication, best_effort, publish
from .registries import production_registry
from .safety import reachable_credentials
from .settings import Settings
from .sticky import attempt_of, find_report, read_state
from .trust import (base_policy, bounded, holdout_secret_variables, job_overrides, policy_diff_note, private_dir,
                    protected_blockers, train_with_token, what_changed, workspace_policy)

ForgeFactory = Callable[[Settings], Forge]


def on_pull_request(settings: Settings, trigger: Trigger, forge_factory: ForgeFactory, pub: Publication) -> int:
    """``pull_request``: with no token this is the build job; with one, the one-job setup."""
    if not settings.token:
        return build(settings, trigger, pub)
    return evaluate_pull_request(settings, trigger, forge_factory(settings), pub)


def evaluate_pull_request(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication) -> int:
    """The one-job setup: this job holds a token, so it never trains, and since a same-repository
    PR can rewrite this very workflow its check is advice; the judge (workflow_run) decides."""
    policy, policy_source, notes = base_policy(settings, forge, trigger)
    changed, capped = what_changed(forge, trigger.pr, trigger.base_sha, trigger.head_sha)
    blockers = protected_blockers(policy, changed, notes, settings.workspace, capped=capped,
                                  config=settings.config if policy_source == "base" else None)
    existing = find_report(forge, trigger.pr, settings)

    # This job holds a token: it never trains and never unpickles, whatever trust_pickle says.
    overrides = dataclasses.replace(job_overrides(settings, allow_train=False, trust_pickle=False),
                                    train_refusal=train_with_token(settings))
    if policy_source != "base":  # a PR-written policy (first set-up) must not reach a sealed holdout's secret
        overrides = dataclasses.replace(overrides, env={})
    result = evaluate(policy, settings.workspace, overrides, policy_source=policy_source,
                      blockers=tuple(blockers), registry=production_registry(policy, settings.workspace, settings, production=settings.production or None),
                      notes=tuple(notes), commit=trigger.head_sha,
                      verify_override=override_check(settings, forge, trigger.pr, trigger.head_sha),
                      attempt_of=attempt_of(read_state(existing.body) if existing else {}))
    return publish(settings, trigger.pr, trigger.head_sha, result, forge, pub, existing=existing)


def override_check(settings: Settings, forge: Forge, pr: int, head_sha: str) -> Callable[[str], dict | None]:
    """The override verification ``evaluate`` runs once the candidate's SHA-256 is known: a
    maintainer's own unedited comment naming this commit and this candidate, their role now."""

    def check(candidate_sha256: str) -> dict | None:
        override = verified_override(forge, pr, head_sha, candidate_sha256, bot_login=settings.bot_login)
        return override.record() if override else None

    return check


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
    overrides = dataclasses.replace(job_overrides(settings, allow_train=True), env={})
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


def build_candidate_only(settings: Settings, policy: Policy, overrides: Overrides, pub: Publication, why: str) -> int:
    """What only the judge can read (a sealed holdout, a registry behind a token) is the judge's
    alone: the build job produces the candidate and says who evaluates it."""
    path = candidate_only(policy, settings.workspace, overrides)
    out_dir = settings.workspace / DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    if path is not None:
        shutil.copyfile(path, out_dir / f"candidate{path.suffix}")
    pub.summary.append(f"## mlgate: candidate built\n\nNot evaluated here: {why}. The judge workflow evaluates "
                       "this candidate and sets the check.")
    pub.outputs.update(decision="pending", report_path="", result_path="")
    pub.say(f"mlgate: candidate built; not evaluated here: {why}; the judge workflow evaluates it")
    return 0


# ----------------------------------------------------------------------------- the judge


def on_gate_run(settings: Settings, trigger: Trigger, forge_factory: ForgeFactory, pub: Publication) -> int:
    """``workflow_run`` after a build: judge it. Whatever fails (no artifact, a bad artifact, a
    bad policy, a crash), the check says so rather than being left missing or stale."""
    forge = forge_factory(settings)
    try:
        return publish_gate_run(settings, trigger, forge, pub)
    except Exception as exc:
        if not getattr(exc, "mlgate_check_closed", False):
            best_effort(lambda: failed_check(settings, forge, trigger.head_sha, exc))
        raise


def publish_gate_run(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication) -> int:
    """After an unprivileged PR gate run: re-evaluate its uploaded candidate here, where the
    checkout is the base branch, and publish the comment and check.

    Nothing the PR produced is trusted: not its result.json (it could be forged), not its code.
    Only the candidate artifact is used, loaded through skops with the base branch's allowlist
    or as ONNX, XGBoost or LightGBM (readers that run no code from the file), never unpickled.
    """
    pr = pull_of(forge, trigger)
    if pr is None:
        pub.say(f"mlgate: nothing to do: no open pull request has head {trigger.head_label} at {trigger.head_sha[:7]}")
        return 0
    # Only the newest run of the gate workflow itself is judged: a run of any other workflow
    # (a PR can add one with the same name) or an older build of the commit is not — the run
    # promotion will take is the one whose verdict the check must carry.
    # ... and only a build of this PR's own head (owner:branch): another PR can have the same
    # head commit, and its builds are not this PR's candidate.
    newest = forge.find_gate_run(settings.gate_workflow, trigger.head_sha, forge.pull(pr).head_label)
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
        best_effort(lambda: failed_check(settings, forge, trigger.head_sha, exc, existing=own_check))
        exc.mlgate_check_closed = True
        raise


def _judge_gate_run(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication, pr: int,
                    own_check: CheckRef) -> int:
    artifact = forge.download_artifact(trigger.run_id, ARTIFACT)
    if artifact is None:
        raise ConfigError(f"workflow run {trigger.run_id} uploaded no artifact named {ARTIFACT!r} "
                          "(the gate workflow must upload mlgate-report/)")
    policy = workspace_policy(settings, base=True)
    candidate = extract_candidate(artifact.path, private_dir("candidate"), policy.formats)
    notes: list[str] = []
    changed, capped = what_changed(forge, pr, settings.sha, trigger.head_sha)
    blockers = protected_blockers(policy, changed, notes, settings.workspace, capped=capped, config=settings.config)
    if settings.config in changed:
        pr_text = bounded(forge.file_at(settings.config, trigger.head_sha))
        base_text = (settings.workspace / settings.config).read_text(encoding="utf-8", errors="replace")
        notes.append(policy_diff_note(settings.config, base_text, pr_text))
    existing = find_report(forge, pr, settings)
    overrides = job_overrides(settings, allow_train=False, trust_pickle=False).with_candidate(candidate)
    result = evaluate(policy, settings.workspace, overrides, policy_source="base", blockers=tuple(blockers),
                      registry=production_registry(policy, settings.workspace, settings, production=settings.production or None), notes=tuple(notes),
                      commit=trigger.head_sha, verify_override=override_check(settings, forge, pr, trigger.head_sha),
                      attempt_of=attempt_of(read_state(existing.body) if existing else {}))
    newest = forge.find_gate_run(settings.gate_workflow, trigger.head_sha, forge.pull(pr).head_label)
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


def pull_of(forge: Forge, trigger: Trigger) -> int | None:
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


def failed_check(settings: Settings, forge: Forge, head_sha: str, exc: Exception, *,
                 existing: CheckRef | None = None) -> None:
    """The required check must never be left missing or stale when the judge cannot judge."""
    message = md_text(settings.redact(str(exc)).strip().splitlines()[0][:500] if str(exc).strip() else type(exc).__name__)
    forge.publish_check(settings.check_name, head_sha, conclusion="failure", title="mlgate could not evaluate",
                        summary=f"mlgate could not evaluate this commit: {message}",
                        existing=existing if existing is not None else forge.find_check(settings.check_name, head_sha))
