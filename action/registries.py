"""Open the registry the policy names: the one opener the action and the CLI call.

File registries are pure (``gates.registry``); the GitHub Releases backend needs a token and
the API, and MLflow an optional extra, so they are built here at the edge. The gates-side
``gates.registry.open_registry`` opens file registries only; besides this module, only the
engine calls it, as its fallback when ``evaluate`` is given no registry."""

from __future__ import annotations

from pathlib import Path

from ..gates.config.spec import Policy
from ..gates.errors import ConfigError
from ..gates.registry.open import open_registry as open_file_registry

from .settings import Settings, from_environment


def production_registry(policy: Policy, workspace: Path, settings: Settings | None = None, *,
                        production: str | None = None):
    """The registry an evaluation reads production from, or None when production is a file,
    a predictions file or ``none`` (``production`` is the caller's override, if any)."""
    from ..gates.engine.resolve import reads_registry

    spec = policy.production.registry
    if not reads_registry(policy, production) or spec is None or spec.kind == "file":
        return None  # a file registry the engine opens itself (its errors then name the policy file)
    return open_registry(policy, workspace, settings)


def open_registry(policy: Policy, workspace: Path, settings: Settings | None = None):
    spec = policy.production.registry
    if spec is None or spec.kind == "file":
        return open_file_registry(policy, workspace)
    if spec.kind == "github-releases":
        from .github_api import GitHubForge
        from .registry_github import GitHubReleasesRegistry

        return GitHubReleasesRegistry(GitHubForge(settings or from_environment()), tag_prefix=spec.tag_prefix)
    if spec.kind == "mlflow":
        from ..gates.registry.mlflow import MlflowRegistry

        return MlflowRegistry(spec.model_name, spec.tracking_uri, artifact_location=spec.artifact_location,
                              alias=policy.production.alias)
    raise ConfigError(f"production.registry.kind: {spec.kind!r} is not available")
