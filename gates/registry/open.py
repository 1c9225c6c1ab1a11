"""The file registry a policy names (the edge adds MLflow and GitHub Releases).
"""

from __future__ import annotations

from pathlib import Path

from ..config.spec import Policy
from ..errors import ConfigError
from ..paths import inside
from .file import FileRegistry


def open_registry(policy: Policy, workspace: Path) -> FileRegistry:
    spec = policy.production.registry
    if spec is None or spec.kind == "file":
        rel = spec.path if spec is not None else "models/registry"
        root = inside(workspace, rel, "production.registry", must_exist=False)
        return FileRegistry(root, label=rel)
    raise ConfigError(f"production.registry.kind: {spec.kind!r} is not available in this build yet; use a file registry path")
