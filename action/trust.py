"""What a pull request may and may not change about its own gate, decided in one place.

A PR must not be able to weaken the gate that judges it (DESIGN.md, "Trust"). So:

- the policy that applies is the base branch's, read through the contents API; the PR's own
  file is only shown, as a diff, and only when it is a regular file in the workspace;
- what the candidate is judged against and lives in the repository (the holdout, a file
  registry, an MLflow store, a production path) blocks the gate when the PR edits it, and a
  symlink on the way counts with what it points at;
- the files a PR changes are the union of the PR's file list and the compare of its head
  with the base, and a list at GitHub's cap blocks, since an edit past it could hide;
- the options a job hands the engine (``job_overrides``) carry the environment — a sealed
  holdout's secret — only where the caller keeps them, and PR code never sees a token.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path, PurePosixPath

from ..gates.config import VARIABLE, Policy, load_policy, parse_policy
from ..gates.engine import Overrides
from ..gates.errors import ConfigError

from .events import Trigger
from .forge import Forge
from .safety import NotReadable, read_pr_file
from .settings import Settings, untrusted_environment

GITHUB_FILES_CAP = 3_000  # the pull request files API lists at most this many
COMPARE_CAP = 300  # and the compare API at most this many
PR_TEXT_CAP = 1_000_000  # a PR's policy text read through the API, before it is diffed


def base_policy(settings: Settings, forge: Forge, trigger: Trigger) -> tuple[Policy, str, list[str]]:
    """The policy that applies: the base branch's; the PR's own only when the base has none."""
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


def workspace_policy(settings: Settings, *, base: bool = False) -> Policy:
    """The policy in the checked-out workspace; ``base`` says (in messages) that privileged jobs
    check out the base branch, so this is the base branch's policy."""
    source = f"{settings.config} (base branch)" if base else settings.config
    return load_policy(settings.workspace / settings.config, source=source)


def policy_diff_note(config: str, base_text: str, pr_text: str | None) -> str:
    """The report's note on a PR that edits the policy: shown, never applied before the merge."""
    if pr_text is None:
        return f"This PR deletes {config}; the base branch's policy was used."
    diff = list(difflib.unified_diff(base_text.splitlines(), pr_text.splitlines(), "base", "this PR", lineterm="", n=0))
    shown = "\n".join(diff[:40]) + ("\n…" if len(diff) > 40 else "")
    # Notes are text; the report re-fences this block so that nothing in the diff can close it.
    return (f"This PR changes {config}; the change applies after merge. The base branch's policy was used."
            f"\n```diff\n{shown}\n```")


def bounded(text: str | None, cap: int = PR_TEXT_CAP) -> str | None:
    """PR text read through the API, cut to a size the diff can afford."""
    return None if text is None else text[:cap]


def what_changed(forge: Forge, pr: int, base: str | None, head: str) -> tuple[list[str], bool]:
    """The files this commit changes: the PR's file list and the diff of the commit itself from
    the base branch (which another PR with the same head, or a later push, cannot hide); and
    whether either list reached GitHub's cap, past which an edit could hide."""
    listed = forge.changed_files(pr)
    compared = forge.compare_files(base, head) if base and base != head else []
    return sorted(set(listed) | set(compared)), len(listed) >= GITHUB_FILES_CAP or len(compared) >= COMPARE_CAP


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
    if config is not None and touched(config, changed, workspace):
        # After the merge this file is every later PR's gate (its allowlist, its holdout, its
        # margins): changing it is a maintainer's decision, not the check's.
        blockers.append(f"this PR changes the gate's own policy {config}, which applies to every pull request "
                        "after the merge: a maintainer reviews it and overrides")
    if not policy.data.holdout.startswith("https://"):
        edited = touched(policy.data.holdout, changed, workspace)
        if edited and policy.data.allow_changes_in_pr:
            notes.append(f"This PR changes the holdout {policy.data.holdout} (allowed by data.allow_changes_in_pr).")
        elif edited:
            blockers.append(f"the holdout {policy.data.holdout} is changed by this PR ({', '.join(edited[:3])}) and "
                            "data.allow_changes_in_pr is false (a maintainer can override)")
    for source in production_sources(policy, workspace):
        edited = touched(source, changed, workspace)
        if edited:
            blockers.append(f"the production model's source {source} is changed by this PR ({', '.join(edited[:3])}); "
                            "production must come from the base branch (a maintainer can override)")
    for key, source in live_data_sources(policy):
        edited = touched_pattern(source, changed, workspace)
        if edited:
            blockers.append(f"{key} {source} is changed by this PR ({', '.join(edited[:3])}): after the merge the "
                            "judge would read rows this PR wrote; keep live data out of pull requests (a maintainer "
                            "can override)")
    return blockers


def live_data_sources(policy: Policy) -> list[tuple[str, str]]:
    """Workspace files the canary judge and the drift watch read (logs, labels, a SQLite file,
    the drift reference): a PR that writes them writes its own evidence."""
    found = []
    sources = []
    if policy.canary is not None:
        sources += [policy.canary.log, policy.canary.labels]
    if policy.drift is not None:
        sources.append(policy.drift.current)
        if policy.drift.reference:
            found.append(("drift.reference", policy.drift.reference))
    for source in sources:
        if source is None:
            continue
        if source.path is not None:
            found.append((source.where, source.path))
        elif source.url and source.url.startswith("sqlite:///") and not source.url.startswith("sqlite:////"):
            found.append((source.where, source.url[len("sqlite:///"):].split("?", 1)[0]))
    return found


def touched_pattern(pattern: str, changed: list[str], workspace: Path) -> list[str]:
    """The changed files a glob can match: everything under its literal leading directories
    (``logs/predictions/*.parquet`` → ``logs/predictions``), or, with none, the pattern itself."""
    import fnmatch

    parts = PurePosixPath(normalised(pattern)).parts
    literal = []
    for part in parts:
        if any(c in part for c in "*?["):
            break
        literal.append(part)
    if literal:
        return touched(str(PurePosixPath(*literal)), changed, workspace)
    return sorted(f for f in changed if fnmatch.fnmatch(f, pattern) or fnmatch.fnmatch(f, pattern.replace("**/", "")))


def touched(source: str, changed: list[str], workspace: Path) -> list[str]:
    """The changed files that are ``source``, lie under it, or are what a symlink on its path
    (in this checkout) points at — and the symlinks themselves."""
    paths = {normalised(source)}
    root = Path(workspace).resolve()
    current = root
    for part in PurePosixPath(normalised(source)).parts:
        current = current / part
        if current.is_symlink():  # the link itself; where it leads is the full path resolved, below
            paths.add(str(PurePosixPath(current.relative_to(root))))
    try:
        paths.add(str(PurePosixPath((root / normalised(source)).resolve().relative_to(root))))
    except (OSError, ValueError):
        pass
    found = set()
    for path in paths:
        prefix = path.rstrip("/") + "/"
        found.update(f for f in changed if f == path or f.startswith(prefix) or path.startswith(f.rstrip("/") + "/"))
    return sorted(found)


def production_sources(policy: Policy, workspace: Path) -> list[str]:
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


def normalised(path: str) -> str:
    """``./data/x.csv`` as the PR files API names it: ``data/x.csv``."""
    return str(PurePosixPath(path))


def holdout_secret_variables(policy: Policy) -> tuple[str, ...]:
    """The environment variables a sealed holdout's credential is read from."""
    names = [name for _, text in policy.data.headers for name in VARIABLE.findall(text)]
    if policy.data.key_env:
        names.append(policy.data.key_env)
    return tuple(dict.fromkeys(names))


def job_overrides(settings: Settings, *, allow_train: bool, trust_pickle: bool | None = None) -> Overrides:
    """The engine's options for this job: the action's inputs, PR code's token-free environment
    (``train_env``), and the full environment (``env``) for a sealed holdout's credential —
    which callers running under a PR-written policy empty again."""
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


def train_with_token(settings: Settings) -> str:
    """Why a job holding a token refuses a train command (the engine says it where it stops)."""
    where = "input github_token" if os.environ.get("INPUT_GITHUB_TOKEN", "").strip() else "the GITHUB_TOKEN variable"
    return (f"train commands never run where a token is reachable, and this job has one ({where}); train in a "
            "build job without it (`github_token: \"\"`, no GITHUB_TOKEN in env:, checkout's "
            "`persist-credentials: false`) and let the judge workflow evaluate its artifact (README: the "
            "build-then-judge split)")


def private_dir(what: str) -> Path:
    """A fresh directory outside the workspace: a path in the checkout could be a symlink a
    merged PR left there, and writing the PR's bytes through it would write anywhere."""
    return Path(tempfile.mkdtemp(prefix=f"mlgate-{what}-"))
