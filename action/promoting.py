"""Moving production: promoting a PR's candidate (on merge or ``/mlgate promote``; to ``canary``
when the policy says ``promotion: {to: canary}``) and rollback.

Promotion is privileged and takes nothing from the PR but its build's candidate artifact: it
re-evaluates that candidate under the base branch's policy and holdout, loads it only in a
format whose reader runs no code from it (skops with the allowlist, ONNX, XGBoost, LightGBM;
never trains, never unpickles), blocks on the same protected files as the judge, and
verifies a maintainer's override at its source at the moment it is used.
"""

from __future__ import annotations

from typing import Callable

from ..gates.config import Policy, parse_policy
from ..gates.errors import Blocked, RegistryError
from ..gates.escape import md_text
from ..gates.paths import sha256_file
from ..gates.promotion import promote

from .artifacts import ARTIFACT, extract_candidate
from .events import Trigger
from .forge import Forbidden, Forge
from .overrides import verified_override
from .publish import Publication
from .registries import open_registry
from .replies import Reply, done, refused
from .settings import Settings
from .trust import job_overrides, private_dir, protected_blockers, what_changed, workspace_policy


def promote_pull_request(settings: Settings, forge: Forge, pr: int, actor: str, outputs: dict | None, *,
                         reason: str, policy: Policy | None = None, base: str | None = None) -> Reply:
    """Promote the candidate that the PR's own gate run uploaded — re-evaluated here under the
    base branch's policy and holdout, loaded only by a reader that runs no code from the file
    (skops with the allowlist, ONNX, XGBoost, LightGBM), never trained or unpickled."""
    pull = forge.pull(pr)
    run_id = forge.find_gate_run(settings.gate_workflow, pull.head_sha, pull.head_label)
    if run_id is None:
        return refused(f"@{actor} not promoted: no run of `{settings.gate_workflow}` for {pull.head_sha[:7]} "
                       "uploaded a candidate (input gate_workflow names the PR gate workflow).")
    artifact = forge.download_artifact(run_id, ARTIFACT)
    if artifact is None:
        return refused(f"@{actor} not promoted: gate run {run_id} uploaded no `{ARTIFACT}` artifact.")
    policy = policy or workspace_policy(settings, base=True)
    candidate = extract_candidate(artifact.path, private_dir("candidate"), policy.formats)
    changed, capped = what_changed(forge, pr, base or settings.sha, pull.head_sha)
    blockers = protected_blockers(policy, changed, [], settings.workspace, capped=capped, config=settings.config)
    registry = open_registry(policy, settings.workspace, settings)
    # Verified here and now, at the source: the maintainer's own comment, their role today, and
    # a candidate that existed when they wrote it.
    override = verified_override(forge, pr, pull.head_sha, sha256_file(candidate), bot_login=settings.bot_login)
    try:
        outcome = promote(policy, settings.workspace, registry, job_overrides(settings, allow_train=False, trust_pickle=False)
                          .with_candidate(candidate), by=actor, override=override.record() if override else None,
                          pr=pr, reason=reason, source=f"PR #{pr} at {pull.head_sha[:7]} (gate run {run_id})",
                          blockers=tuple(blockers))
    except Blocked as exc:
        return refused(f"@{actor} not promoted: {md_text(exc)}", code=1)
    if outcome.unchanged:
        return done(f"@{actor} nothing changed: this PR's candidate already is version {outcome.version.version}, "
                    f"`{outcome.alias}`, in {registry.describe()}.")
    if outputs is not None:
        outputs["promoted_version"] = str(outcome.version.version)
    how = " under a maintainer's override" if outcome.result.get("overridden") else ""
    then = "; the canary judge decides from here" if outcome.alias == "canary" else ""
    return done(f"@{actor} promoted this PR's candidate as version {outcome.version.version} to "
                f"`{outcome.alias}` in {registry.describe()}{how} "
                f"(re-evaluated here: {outcome.result['decision']}){then}.")


def rollback(settings: Settings, actor: str, to: int | None, *, reason: str, request: str | None = None) -> Reply:
    """Production one step back along its history (or to ``to``), audited — the registry's
    own ``rollback``, as ``mlgate rollback`` calls it. ``request`` names the comment or run that
    asked, so a re-run job finds it done instead of rolling back a second step."""
    policy = workspace_policy(settings)
    registry = open_registry(policy, settings.workspace, settings)
    try:
        outcome = registry.rollback(to, by=actor, reason=reason, request=request)
    except RegistryError as exc:
        return refused(f"@{actor} nothing rolled back: {md_text(exc)}")
    said = outcome.summary(registry.describe())
    return done(f"@{actor} {said}." if not outcome.changed else f"@{actor} rolled back: {said}.")


def on_merge(settings: Settings, trigger: Trigger, forge_factory: Callable[[Settings], Forge],
             pub: Publication) -> int:
    """``pull_request_target`` closed and merged: promote when ``promotion.when`` is merge."""
    return promote_on_merge(settings, trigger, forge_factory(settings), pub)


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
