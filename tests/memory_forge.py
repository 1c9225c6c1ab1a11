"""An in-memory ``Forge`` for handler tests (bedevere's ``FakeGH``, for mlgate's port).

It holds what a repository would (pull requests, files at refs, roles, gate runs and their
artifacts, branches and the Git objects pushed to them) and records what a handler does to it
(comments, reactions, check runs, re-runs, pull requests opened and edited).
The PyGithub adapter itself is tested over real HTTP against ``fake_github``; this fake lets
the handlers run in-process in milliseconds. ``read_only`` makes every write fail like a fork
PR's token does; ``pulls_permitted = False`` refuses to open pull requests as a repository with
"Allow GitHub Actions to create and approve pull requests" off does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from mlgate.action.forge import (Artifact, CheckRef, Comment, CommentRef, CommitRef, Forbidden, PullInfo, PullRef,
                                 PullsNotPermitted)

BOT = "github-actions[bot]"


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None = None
    title: str = ""
    summary: str = ""


@dataclass
class MemoryForge:
    repository: str = "octo/repo"
    login: str = BOT  # whom the token comments as
    read_only: bool = False
    pulls: dict[int, PullInfo] = field(default_factory=dict)
    heads: dict[int, str] = field(default_factory=dict)  # PR number -> head label (owner:branch)
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (path, ref) -> text
    changed: dict[int, list[str]] = field(default_factory=dict)
    compared: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    posted: dict[int, Comment] = field(default_factory=dict)  # every comment, by id, oldest first
    numbers: dict[int, int] = field(default_factory=dict)  # comment id -> PR number
    reactions: dict[int, list[str]] = field(default_factory=dict)
    checks: list[CheckRun] = field(default_factory=list)
    gate_runs: list[tuple[int, str, str, str]] = field(default_factory=list)  # (run id, workflow, head sha, head)
    artifacts: dict[int, list[tuple[int, str, dict[str, bytes]]]] = field(default_factory=dict)
    reruns: list[int] = field(default_factory=list)
    edits: int = 0
    default: str = "main"
    pulls_permitted: bool = True
    branches: dict[str, str] = field(default_factory=lambda: {"main": "f" * 40})  # branch -> commit
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # tree -> {path: blob}
    commits: dict[str, dict] = field(default_factory=dict)  # sha -> {"tree", "parents", "message"}
    opened: dict[int, dict] = field(default_factory=dict)  # PR number -> {"title", "body", "branch", "author", "state"}
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _clock: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ set-up (what GitHub holds)

    def add_pull(self, number: int, head_sha: str, *, base_sha: str, base_ref: str = "main",
                 head_label: str = "octo:feature", files: list[str] = ()) -> None:
        self.pulls[number] = PullInfo(number, head_sha, base_ref, base_sha, is_fork=False)  # head: self.heads
        self.heads[number] = head_label
        self.changed[number] = list(files)

    def add_comment(self, number: int, body: str, author: str) -> Comment:
        """A comment someone else posted (a maintainer's command, a forged bot comment)."""
        return self._post(number, body, author)

    def add_gate_run(self, head_sha: str, files: dict[str, bytes], *, workflow: str = "mlgate.yml",
                     head_label: str = "octo:feature") -> int:
        """A finished build of ``head_sha`` (from the head ``head_label``) that uploaded
        ``mlgate-report`` holding ``files``."""
        run_id = next(self._ids)
        self.gate_runs.append((run_id, workflow, head_sha, head_label))
        self.artifacts.setdefault(run_id, []).append((next(self._ids), "mlgate-report", dict(files)))
        return run_id

    # ------------------------------------------------------------------ what a test reads back

    def comments_by(self, author: str, number: int | None = None) -> list[Comment]:
        return [c for c in self.posted.values() if c.author == author and number in (None, self.numbers[c.id])]

    def checks_on(self, head_sha: str, name: str = "mlgate") -> list[CheckRun]:
        return [c for c in self.checks if c.head_sha == head_sha and c.name == name]

    # ------------------------------------------------------------------ the Forge interface

    def pull(self, number: int) -> PullInfo:
        return dataclasses.replace(self.pulls[number], head_label=self.heads[number])  # a test may move the head

    def file_at(self, path: str, ref: str) -> str | None:
        return self.files.get((path, ref))

    def changed_files(self, number: int) -> list[str]:
        return list(self.changed.get(number, []))

    def compare_files(self, base: str, head: str) -> list[str]:
        return list(self.compared.get((base, head), []))

    def start_check(self, name: str, head_sha: str) -> CheckRef:
        self._write()
        run = CheckRun(next(self._ids), name, head_sha, "in_progress", title="mlgate: judging")
        self.checks.append(run)
        return CheckRef(run.id, None, self._url(f"runs/{run.id}"))

    def find_comments(self, number: int, marker: str, author: str) -> list[CommentRef]:
        return [CommentRef(c.id, c.body, c.url) for c in self.comments(number) if c.author == author and marker in c.body]

    def find_comment(self, number: int, marker: str, author: str) -> CommentRef | None:
        found = self.find_comments(number, marker, author)
        return min(found, key=lambda c: c.id) if found else None

    def comments(self, number: int) -> list[Comment]:
        return [c for c in self.posted.values() if self.numbers[c.id] == number]

    def delete_comment(self, comment_id: int) -> None:
        self._write()
        self.posted.pop(comment_id, None)

    def create_comment(self, number: int, body: str) -> CommentRef:
        self._write()
        c = self._post(number, body, self.login)
        return CommentRef(c.id, c.body, c.url)

    def edit_comment(self, comment_id: int, body: str) -> CommentRef:
        self._write()
        old = self.posted[comment_id]
        self.posted[comment_id] = Comment(old.id, body, old.url, old.author, old.created_at, self._now())
        self.edits += 1
        return CommentRef(comment_id, body, old.url)

    def react(self, comment_id: int, content: str) -> None:
        self._write()
        self.reactions.setdefault(comment_id, []).append(content)

    def find_check(self, name: str, head_sha: str) -> CheckRef | None:
        runs = self.checks_on(head_sha, name)
        newest = max(runs, key=lambda r: r.id) if runs else None
        return CheckRef(newest.id, newest.conclusion, self._url(f"runs/{newest.id}")) if newest else None

    def publish_check(self, name: str, head_sha: str, *, conclusion: str, title: str, summary: str,
                      existing: CheckRef | None = None) -> CheckRef:
        self._write()
        run = next((r for r in self.checks if existing is not None and r.id == existing.id), None)
        if run is None:
            run = CheckRun(next(self._ids), name, head_sha, "completed")
            self.checks.append(run)
        run.status, run.conclusion, run.title, run.summary = "completed", conclusion, title, summary
        return CheckRef(run.id, conclusion, self._url(f"runs/{run.id}"))

    def role(self, user: str) -> str:
        return self.roles.get(user, "none")

    def find_gate_run(self, workflow_file: str, head_sha: str, head_label: str | None) -> int | None:
        runs = [run_id for run_id, workflow, sha, label in self.gate_runs if workflow == workflow_file and sha == head_sha
                and (head_label is None or label.lower() == head_label.lower())]
        return max(runs) if runs else None

    def rerun_gate(self, workflow_file: str, head_sha: str, head_label: str | None) -> str | None:
        run_id = self.find_gate_run(workflow_file, head_sha, head_label)
        if run_id is None:
            return None
        self._write()
        self.reruns.append(run_id)
        return self._url(f"actions/runs/{run_id}")

    def find_pull(self, head_label: str, head_sha: str) -> int | None:
        return next((n for n, p in self.pulls.items() if p.head_sha == head_sha and self.heads[n] == head_label), None)

    def download_artifact(self, run_id: int, name: str) -> Artifact | None:
        found = [a for a in self.artifacts.get(run_id, []) if a[1] == name]
        if not found:
            return None
        artifact_id, _, files = max(found)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for member, data in files.items():
                zf.writestr(member, data)
        handle = tempfile.NamedTemporaryFile(prefix="mlgate-artifact-", suffix=".zip", delete=False)
        with handle:
            handle.write(buffer.getvalue())
        return Artifact(Path(handle.name), self._now(), artifact_id)

    def newest_artifact_id(self, run_id: int, name: str) -> int | None:
        found = [a[0] for a in self.artifacts.get(run_id, []) if a[1] == name]
        return max(found) if found else None

    # ------------------------------------------------------------------ retrain: Git Data and pulls

    def default_branch(self) -> str:
        return self.default

    def head_commit(self, branch: str) -> CommitRef:
        sha = self.branches[branch]
        return CommitRef(sha, self.commits.get(sha, {}).get("tree", f"tree-of-{sha}"))

    def create_blob(self, data: bytes) -> str:
        self._write()
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        self.blobs[sha] = bytes(data)
        return sha

    def create_tree(self, base_tree: str, files: dict[str, str]) -> str:
        self._write()
        sha = f"tree{next(self._ids)}"
        self.trees[sha] = {**self.trees.get(base_tree, {}), **files}
        return sha

    def create_commit(self, message: str, tree: str, parents: list[str]) -> str:
        self._write()
        sha = hashlib.sha1(f"{tree}{parents}{message}{next(self._ids)}".encode()).hexdigest()
        self.commits[sha] = {"tree": tree, "parents": list(parents), "message": message}
        return sha

    def set_ref(self, branch: str, sha: str, *, force: bool) -> bool:
        self._write()
        created = branch not in self.branches
        if not created and not force and self.branches[branch] not in self.commits.get(sha, {}).get("parents", []):
            raise AssertionError(f"not a fast-forward of {branch}")
        self.branches[branch] = sha
        for number, pr in self.opened.items():  # a pull request's head follows its branch
            if pr["branch"] == branch and pr["state"] == "open":
                self.pulls[number] = dataclasses.replace(self.pulls[number], head_sha=sha)
        return created

    def find_open_pull(self, head_prefix: str, author: str) -> PullRef | None:
        found = [n for n, pr in self.opened.items()
                 if pr["state"] == "open" and pr["author"] == author and pr["branch"].startswith(head_prefix)]
        return self._pull_ref(max(found)) if found else None

    def create_pull(self, *, title: str, body: str, head: str, base: str) -> PullRef:
        self._write()
        if not self.pulls_permitted:
            raise PullsNotPermitted("GitHub refused to open the pull request (403: GitHub Actions is not permitted "
                                    "to create or approve pull requests.)")
        number = max([*self.pulls, 0]) + 1
        self.pulls[number] = PullInfo(number, self.branches[head], base, self.branches[base], is_fork=False)
        self.heads[number] = f"{self.repository.split('/')[0]}:{head}"
        self.opened[number] = {"title": title, "body": body, "branch": head, "author": self.login, "state": "open"}
        return self._pull_ref(number)

    def edit_pull(self, number: int, *, title: str, body: str) -> PullRef:
        self._write()
        self.opened[number].update(title=title, body=body)
        return self._pull_ref(number)

    def file_on(self, branch: str, path: str) -> bytes | None:
        """What ``branch`` holds at ``path`` among the files pushed through the Git Data calls."""
        blob = self.trees.get(self.commits.get(self.branches.get(branch, ""), {}).get("tree", ""), {}).get(path)
        return self.blobs.get(blob) if blob else None

    def _pull_ref(self, number: int) -> PullRef:
        pr = self.opened[number]
        return PullRef(number, self._url(f"pull/{number}"), pr["branch"], self.pulls[number].head_sha, pr["author"])

    # ------------------------------------------------------------------ helpers

    def _post(self, number: int, body: str, author: str) -> Comment:
        comment_id = next(self._ids)
        at = self._now()
        comment = Comment(comment_id, body, self._url(f"pull/{number}#issuecomment-{comment_id}"), author, at, at)
        self.posted[comment_id] = comment
        self.numbers[comment_id] = number
        return comment

    def _write(self) -> None:
        if self.read_only:
            raise Forbidden("403 Resource not accessible by integration")

    def _now(self) -> str:
        tick = next(self._clock)  # every event a second later than the one before
        return f"2026-11-24T{10 + tick // 3600:02d}:{tick // 60 % 60:02d}:{tick % 60:02d}Z"

    def _url(self, path: str) -> str:
        return f"https://github.com/{self.repository}/{path}"
