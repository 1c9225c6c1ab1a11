"""One file pushed as one commit on a branch, through GitHub's Git Data API (no clone, no git).

blob (base64) → tree (the base branch head's tree with the file set) → commit (its parent: that
head) → ref (created, or force-moved). Nothing is visible on the repository until the last
step: a failure before it leaves only unreferenced objects, which GitHub collects.

A blob goes to the API whole, base64 in a JSON body, and GitHub refuses files of 100 MB (and
warns above 50 MB); models that large belong in a registry, not in the repository, so they are
refused here before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from ..gates.errors import ConfigError, ModelError

from .forge import Forbidden, Forge

MAX_PUSH_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Pushed:
    branch: str
    sha: str  # the new commit
    parent: str  # the base branch's head it sits on
    created: bool  # the branch was created (else moved to the new commit)


def check_size(size: int, label: str, *, cap: int = MAX_PUSH_BYTES) -> None:
    """Refuse an artifact too large to push as a blob, with where such a model belongs."""
    if size > cap:
        raise ModelError(
            f"{label}: the trained model is {size / 1024**2:.1f} MB; mlgate pushes at most {cap / 1024**2:g} MB "
            "through GitHub's Git Data API (GitHub refuses files of 100 MB). Keep a model this large out of the "
            "repository: a GitHub Releases registry (production.registry: {kind: github-releases}), or Git LFS "
            "pushed by your own job. Nothing was pushed")


def repo_path(relative: str) -> str:
    """The policy's workspace path as a path in the repository (``./build/m.skops`` →
    ``build/m.skops``); the workspace is the repository's root."""
    path = PurePosixPath(relative.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or str(path) in ("", "."):
        raise ConfigError(f"candidate.train.output: {relative!r} is not a path inside the repository")
    return str(path)


def push_file(forge: Forge, *, branch: str, base: str, path: str, data: bytes, message: str) -> Pushed:
    """Commit ``data`` at ``path`` on top of ``base``'s head and point ``branch`` at it (created,
    or moved whatever it held: the branch is mlgate's own)."""
    check_size(len(data), path)
    try:
        head = forge.head_commit(base)
        blob = forge.create_blob(data)
        tree = forge.create_tree(head.tree, {path: blob})
        commit = forge.create_commit(message, tree, [head.sha])
        created = forge.set_ref(branch, commit, force=True)
    except Forbidden as exc:
        raise ConfigError(f"{exc}: pushing branch {branch} needs a token that may write contents (the job's "
                          "`permissions: contents: write`)") from None
    return Pushed(branch, commit, head.sha, created)
