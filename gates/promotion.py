"""Promotion: put an approved candidate into the registry as the new production model, or
as the ``canary`` when the policy says ``promotion: {to: canary}`` (it is still judged against
production; the canary judge then decides on live traffic).

A stored ``result.json`` is reused only when the candidate, the production model, the holdout
and the policy are byte-for-byte the ones it describes (all four SHA-256 match); otherwise the
candidate is evaluated first. A blocked candidate is promoted only when forced with a reason,
or when a maintainer's override was recorded — and the audit log says which.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from .config.spec import Policy
from .errors import Blocked, ConfigError, InputError
from .engine import Overrides, evaluate
from .holdout.source import locate_holdout
from .outputs import write_outputs
from .paths import inside, sha256_file, write_texts
from .registry.file import FileRegistry
from .registry.base import UnknownAlias, Version, utc_now
from .result import Result, dumps, result_sha256, to_dict


@dataclass(frozen=True)
class Promotion:
    version: Version
    result: dict  # what the registry stored as the version's result.json
    reused_result: bool
    forced: bool
    unchanged: bool = False  # the candidate already is the alias's version: nothing was done
    alias: str = "production"  # the alias set (or, unchanged, the one the candidate already is)
    evaluated: Result | None = None  # the evaluation run here (none when a result was reused)


def candidate_artifact(policy: Policy, workspace: Path, overrides: Overrides) -> Path:
    """The file to promote: ``--candidate``, else the policy's model path or train output."""
    if overrides.candidate is not None:
        path = Path(overrides.candidate)
        if not path.is_file():
            raise InputError(f"--candidate: {path} not found")
        return path
    spec = policy.candidate
    if spec.predictions is not None:
        raise InputError("candidate.predictions: a predictions file cannot be promoted; promote the model artifact with --candidate")
    rel = spec.path if spec.path is not None else spec.train.output
    path = inside(workspace, rel, "candidate.path" if spec.path else "candidate.train.output", must_exist=False)
    if not path.is_file():
        raise InputError(f"{rel}: candidate artifact not found (build it, or pass --candidate)")
    return path


def reusable(result: dict | None, *, candidate_sha: str, production_sha: str | None, data_sha: str, config_sha: str) -> bool:
    if not result:
        return False
    production = result.get("production") or {}
    return (
        (result.get("candidate") or {}).get("sha256") == candidate_sha
        and production.get("sha256") == production_sha
        and (result.get("data") or {}).get("sha256") == data_sha
        and result.get("config_sha256") == config_sha
    )


def promote(policy: Policy, workspace: Path, registry: FileRegistry, overrides: Overrides, *, by: str,
            previous_result: dict | None = None, force: bool = False, reason: str = "", pr: int | None = None,
            source: str | None = None, progress=None, override: dict | None = None,
            blockers: tuple[str, ...] = ()) -> Promotion:
    """``override`` is a maintainer's override the caller has just verified at its source (the
    action checks the comment through the API); an ``overridden`` field inside a stored
    ``previous_result`` is never trusted — anyone who can write that file could set it. (Its
    decision is reused only when every SHA-256 matches: the local operator's own evaluation of
    these exact bytes, which ``--force`` could overrule anyway.) ``blockers`` are reasons to
    block found outside the gates (the pull request changed the holdout)."""
    if force and not reason.strip():
        raise InputError("--force needs --reason: a forced promotion is recorded with why")
    artifact = candidate_artifact(policy, workspace, overrides)
    try:
        current = registry.resolve(policy.production.alias)
    except UnknownAlias as exc:  # never create a misspelled alias on a registry that has versions
        raise ConfigError(f"{policy.source}: production.alias: {exc}" if policy.source else f"production.alias: {exc}") from None
    # A canary is judged against production on live traffic: with no production model yet there
    # is nothing to judge it against, so a first model goes straight to production.
    alias = "canary" if policy.promotion_to == "canary" and current is not None else policy.production.alias
    candidate_sha = sha256_file(artifact)
    # Promoting what already serves (or already is the canary) changes nothing, so there is
    # nothing to judge (two identical models near AUC 1 can be "inconclusive" against each other).
    for name, held in ((policy.production.alias, current),
                       ("canary", registry.resolve("canary") if alias == "canary" else None)):
        if held is not None and candidate_sha == held.sha256:
            return Promotion(version=held, result={"decision": "unchanged", "reasons": [
                f"the candidate is already version {held.version}, {name}"]},
                reused_result=False, forced=False, unchanged=True, alias=name)
    holdout = locate_holdout(policy, workspace, data_override=overrides.data or None, env=overrides.env)
    try:
        data_sha = sha256_file(holdout.path)
    finally:
        holdout.discard()  # a sealed holdout's plaintext is kept no longer than needed
    reused = reusable(
        previous_result, candidate_sha=candidate_sha,
        production_sha=current.sha256 if current else None, data_sha=data_sha, config_sha=policy.sha256,
    )
    evaluated = None
    if reused and not blockers:
        data = dict(previous_result)
    else:
        # Evaluated with everything the caller gave (the environment of a sealed holdout
        # included), but never running a train command: the artifact is what gets promoted.
        overrides = dataclasses.replace(overrides, candidate=artifact, allow_train=False)
        # The override was verified by the caller for this artifact: with it, a blocker (a PR that
        # changed the holdout) still lets the gates run, so the promotion records their numbers.
        verified = (lambda sha: dict(override) if override and sha == candidate_sha else None)
        evaluated = evaluate(policy, workspace, overrides, registry=registry, progress=progress, blockers=blockers,
                             verify_override=verified)
        data = to_dict(evaluated)
        reused = False
    data["overridden"] = dict(override) if override else None
    blocked = data["decision"] not in ("approve", "first-model")  # inconclusive never approves
    if blocked and not data.get("overridden") and not force:
        verdict = "blocks" if data["decision"] == "block" else f"is {data['decision']}"
        raise Blocked(f"refusing to promote: the gate {verdict} (" + "; ".join(data["reasons"][:3]) +
                      "); pass --force --reason TEXT to promote anyway (recorded)")
    # The force is recorded in the result itself (a stored result's own claim is never kept).
    forced = {"by": by, "reason": reason, "at": utc_now()} if blocked and not data.get("overridden") else None
    data.pop("forced", None)
    if evaluated is not None:
        evaluated = dataclasses.replace(evaluated, overridden=data["overridden"], forced=forced)
        data = to_dict(evaluated)
    elif forced is not None:
        data["forced"] = forced
    note = reason
    if blocked and data.get("overridden"):
        o = data["overridden"]
        commit = f" for commit {o['commit']}" if o.get("commit") else ""
        note = f"overridden by {o.get('by')}{commit}: {o.get('reason')}" + (f"; {reason}" if reason else "")
    elif blocked:
        note = f"forced: {reason}"
    payload = dumps(data).encode("utf-8")
    metrics = {g["name"]: g["candidate"] for g in data["gates"] if g.get("candidate") is not None}
    version = registry.promote(
        artifact, source=source or str(artifact), by=by, reason=note, pr=pr, metrics=metrics,
        result_sha256=result_sha256(data), result_json=payload, alias=alias,
        holdout_sha256=data.get("data", {}).get("sha256"),
    )
    return Promotion(version=version, result=data, reused_result=reused, forced=forced is not None, alias=alias,
                     evaluated=evaluated)


def write_promotion(outcome: Promotion, out: Path) -> dict[str, Path]:
    """``mlgate promote --out``: the result the registry stored, as ``result.json``, and when the
    candidate was evaluated here the reports of that evaluation beside it (a reused result's
    reports are already there and describe the same bytes)."""
    if outcome.evaluated is not None:
        return write_outputs(outcome.evaluated, out, candidate_path=outcome.evaluated.candidate_file)
    return write_texts(Path(out), {"result.json": dumps(outcome.result)})



def load_result(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not a valid result.json") from None
    return data if isinstance(data, dict) else None
