"""The small surface mlgate needs from a code host, as plain data.

The runner talks to this interface only; ``github_api`` implements it with PyGithub. Writes
that the token may not make (a fork PR's read-only token) raise ``Forbidden`` so the runner
can degrade to the job summary instead of crashing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..gates.errors import InfrastructureError


class Forbidden(InfrastructureError):
    """The token may not do this (403): typically a read-only token on a fork PR."""


class PullsNotPermitted(Forbidden):
    """GitHub refused to open a pull request for the workflow's token: the repository (or its
    organisation) has "Allow GitHub Actions to create and approve pull requests" off."""


@dataclass(frozen=True)
class PullInfo:
    number: int
    head_sha: str
    base_ref: str
    base_sha: str
    is_fork: bool
    head_label: str | None = None  # owner:branch: the gate runs of this PR are builds of that head


@dataclass(frozen=True)
class CommentRef:
    id: int
    body: str
    url: str


@dataclass(frozen=True)
class Comment:
    """A comment as GitHub reports it: the author and times are GitHub's, not the body's."""

    id: int
    body: str
    url: str
    author: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Artifact:
    """A workflow run's artifact: the zip (a temporary file), and when GitHub says it was created."""

    path: Path
    created_at: str
    id: int | None = None  # GitHub's artifact id: a re-run of the same run uploads a newer one


@dataclass(frozen=True)
class CheckRef:
    id: int
    conclusion: str | None
    url: str


@dataclass(frozen=True)
class CommitRef:
    """A commit and its tree, as the Git Data API names them."""

    sha: str
    tree: str


@dataclass(frozen=True)
class PullRef:
    """A pull request mlgate opened (or found open): where it is and what its head is."""

    number: int
    url: str
    branch: str  # the head branch, in this repository
    head_sha: str
    author: str


class Forge(Protocol):
    def pull(self, number: int) -> PullInfo: ...

    def file_at(self, path: str, ref: str) -> str | None: ...

    def changed_files(self, number: int) -> list[str]: ...

    def compare_files(self, base: str, head: str) -> list[str]:
        """Files that ``head`` changes since its merge base with ``base`` (GitHub lists ≤ 300)."""
        ...

    def start_check(self, name: str, head_sha: str) -> CheckRef:
        """Mark the check in progress (not passing) before judging: a judge that dies half-way
        then leaves no earlier green behind."""
        ...

    def find_comment(self, number: int, marker: str, author: str) -> CommentRef | None:
        """The oldest comment by ``author`` carrying ``marker``, searched across all pages."""
        ...

    def find_comments(self, number: int, marker: str, author: str) -> list[CommentRef]: ...

    def comments(self, number: int) -> list[Comment]:
        """Every comment on the issue or PR, all pages, oldest first."""
        ...

    def delete_comment(self, comment_id: int) -> None: ...

    def create_comment(self, number: int, body: str) -> CommentRef: ...

    def edit_comment(self, comment_id: int, body: str) -> CommentRef: ...

    def react(self, comment_id: int, content: str) -> None: ...

    def find_check(self, name: str, head_sha: str) -> CheckRef | None: ...

    def publish_check(self, name: str, head_sha: str, *, conclusion: str, title: str, summary: str,
                      existing: CheckRef | None = None) -> CheckRef: ...

    def role(self, user: str) -> str: ...

    def find_gate_run(self, workflow_file: str, head_sha: str, head_label: str | None) -> int | None:
        """The newest pull_request run of the gate workflow for ``head_sha`` built from the head
        ``head_label`` (owner:branch). Another PR can have the same head commit (anyone can push
        a public commit to their fork and open a PR from it); its builds are not this PR's."""
        ...

    def rerun_gate(self, workflow_file: str, head_sha: str, head_label: str | None) -> str | None: ...

    def find_pull(self, head_label: str, head_sha: str) -> int | None:
        """The open PR whose head is ``owner:branch`` at ``head_sha`` (fork PRs included)."""
        ...

    def download_artifact(self, run_id: int, name: str) -> Artifact | None:
        """A workflow run's newest artifact by that name (a re-run uploads another), or None."""
        ...

    def newest_artifact_id(self, run_id: int, name: str) -> int | None:
        """The id of the artifact ``download_artifact`` would take now, or None."""
        ...

    # ------------------------------------------------------------------ retrain: Git Data and pulls

    def default_branch(self) -> str: ...

    def head_commit(self, branch: str) -> CommitRef:
        """The commit ``branch`` points at now, with its tree."""
        ...

    def create_blob(self, data: bytes) -> str:
        """Store ``data`` as a blob (sent base64); its SHA."""
        ...

    def create_tree(self, base_tree: str, files: dict[str, str]) -> str:
        """A tree: ``base_tree`` with each path set to a blob SHA (a regular file, mode 100644)."""
        ...

    def create_commit(self, message: str, tree: str, parents: list[str]) -> str: ...

    def set_ref(self, branch: str, sha: str, *, force: bool) -> bool:
        """Point ``branch`` at ``sha``: create it (True), or move it (False; ``force`` allows a
        move that is not a fast-forward)."""
        ...

    def find_open_pull(self, head_prefix: str, author: str) -> PullRef | None:
        """The newest open pull request by ``author`` whose head is a branch of this repository
        starting with ``head_prefix``."""
        ...

    def create_pull(self, *, title: str, body: str, head: str, base: str) -> PullRef:
        """Open a pull request from the branch ``head``; ``PullsNotPermitted`` when the
        repository does not let the workflow's token open one."""
        ...

    def edit_pull(self, number: int, *, title: str, body: str) -> PullRef: ...
