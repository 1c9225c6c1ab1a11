"""Paths named in the policy stay inside the workspace.

A policy is partly attacker-controlled in a pull request, so ``../``, absolute paths and
symlinks that point out of the workspace are refused rather than followed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import ConfigError


def inside(workspace: Path, relative: str, key: str, *, must_exist: bool = True, what: str = "file") -> Path:
    """Resolve ``relative`` under ``workspace``; ``key`` names the config key for errors."""
    root = Path(workspace).resolve()
    candidate = Path(relative)
    if candidate.is_absolute():
        raise ConfigError(f"{key}: {relative!r} is an absolute path; paths must be relative to the workspace")
    full = (root / candidate).resolve()
    if full != root and root not in full.parents:
        raise ConfigError(f"{key}: {relative!r} points outside the workspace {root}")
    if must_exist and not full.exists():
        raise ConfigError(f"{key}: {what} {relative!r} not found in the workspace {root}")
    return full


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
