"""``Forge`` over the GitHub REST API with PyGithub, unmodified.

The API base is ``GITHUB_API_URL`` (never a URL from the payload). Transient failures are
retried by PyGithub's ``GithubRetry`` (5xx, secondary rate limits with ``Retry-After``);
what still fails becomes mlgate's own error with the operation named and the token redacted.
"""

from __future__ import annotations

import base64
import functools
import os
import tempfile
from datetime import timezone
from pathlib import Path

import requests
from github import Auth, Github, GithubException, GithubRetry, InputGitTreeElement
from urllib3.util.retry import Retry

from ..gates.errors import InfrastructureError, InputError

from .commands import effective_role
from .forge import Artifact, CheckRef, Comment, CommentRef, CommitRef, Forbidden, PullInfo, PullRef, PullsNotPermitted
from .settings import Settings

WRITE_RETRIES = 4
MAX_WAIT = 60
MAX_ARTIFACT_BYTES = 2 * 1024**3


def api_errors(operation: str):
    """Turn PyGithub and transport errors into mlgate's, naming what was being done."""

    def wrap(method):
        @functools.wraps(method)
        def inner(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except GithubException as exc:
                message = self.settings.redact(_message(exc))
                if exc.status == 403:
                    raise Forbidden(f"GitHub refused to {operation} (403: {message})") from None
                if exc.status == 401:
                    raise InputError(f"GitHub rejected the token while trying to {operation} (401: {message})") from None
                raise InfrastructureError(f"GitHub failed to {operation} ({exc.status}: {message})") from None
            except (requests.RequestException, OSError) as exc:
                raise InfrastructureError(
                    f"GitHub unreachable while trying to {operation} ({type(exc).__name__}: "
                    f"{self.settings.redact(str(exc))[:200]})"
                ) from None

        return inner

    return wrap


def _iso(moment) -> str:
    """PyGithub parses GitHub's timestamps into aware datetimes: back to GitHub's form."""
    if moment is None:
        return ""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    return str(data.get("message") or exc.data or "")[:300]


class GitHubForge:
    def __init__(self, settings: Settings):
        if not settings.token:
            raise InputError("input github_token: no token (set github_token: ${{ github.token }} or GITHUB_TOKEN)")
        self.settings = settings
        # 5xx, 429 and rate-limited 403s are retried with backoff, edits (PATCH) included; a
        # Retry-After beyond MAX_WAIT fails instead of stalling the job.
        retry = GithubRetry(
            total=WRITE_RETRIES, backoff_factor=0.5, secondary_rate_wait=30, max_rate_limit_wait=MAX_WAIT,
            status_forcelist=list(range(500, 600)) + [429],
            allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
        )
        self.gh = Github(
            auth=Auth.Token(settings.token.reveal()),
            base_url=settings.api_url,
            retry=retry,
            timeout=30,
            lazy=True,
            seconds_between_requests=None,
            seconds_between_writes=settings.write_interval or None,
        )
        self.repo = self.gh.get_repo(settings.repository)  # lazy: the client is

    @api_errors("read the pull request")
    def pull(self, number: int) -> PullInfo:
        pr = self.repo.get_pull(number)
        head_repo = pr.head.repo.full_name if pr.head.repo else None
        return PullInfo(number=number, head_sha=pr.head.sha, base_ref=pr.base.ref, base_sha=pr.base.sha,
                        is_fork=bool(head_repo and head_repo != pr.base.repo.full_name), head_label=pr.head.label)

    @api_errors("read a file from the base branch")
    def file_at(self, path: str, ref: str) -> str | None:
        try:
            content = self.repo.get_contents(path, ref=ref)
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise
        if isinstance(content, list):
            raise InputError(f"{path} on {ref} is a directory, expected the policy file")
        return content.decoded_content.decode("utf-8")

    @api_errors("list the pull request's files")
    def changed_files(self, number: int) -> list[str]:
        files = []
        for f in self.repo.get_pull(number).get_files():
            files.append(f.filename)
            if getattr(f, "previous_filename", None):
                files.append(f.previous_filename)
        return files

    @api_errors("compare the commit with the base branch")
    def compare_files(self, base: str, head: str) -> list[str]:
        files = []
        for f in self.repo.compare(base, head).files:
            files.append(f.filename)
            if getattr(f, "previous_filename", None):
                files.append(f.previous_filename)
        return files

    @api_errors("start the check run")
    def start_check(self, name: str, head_sha: str) -> CheckRef:
        # A new run, not an edit: GitHub reads the newest run of a name, and a completed run
        # need not go back to in progress.
        run = self.repo.create_check_run(name=name, head_sha=head_sha, status="in_progress",
                                         output={"title": "mlgate: judging",
                                                 "summary": "The judge is evaluating this commit."})
        return CheckRef(run.id, None, run.html_url)

    @api_errors("list the pull request's comments")
    def find_comments(self, number: int, marker: str, author: str) -> list[CommentRef]:
        return [CommentRef(c.id, c.body, c.html_url) for c in self.repo.get_issue(number).get_comments()
                if c.user is not None and c.user.login == author and marker in (c.body or "")]

    @api_errors("list the pull request's comments")
    def comments(self, number: int) -> list[Comment]:
        return [Comment(c.id, c.body or "", c.html_url, c.user.login if c.user is not None else "",
                        _iso(c.created_at), _iso(c.updated_at))
                for c in self.repo.get_issue(number).get_comments()]

    def find_comment(self, number: int, marker: str, author: str) -> CommentRef | None:
        found = self.find_comments(number, marker, author)
        return min(found, key=lambda c: c.id) if found else None

    @api_errors("delete a duplicate report comment")
    def delete_comment(self, comment_id: int) -> None:
        try:
            self._comment(comment_id).delete()
        except GithubException as exc:
            if exc.status != 404:  # another run deleted it first
                raise

    @api_errors("create the report comment")
    def create_comment(self, number: int, body: str) -> CommentRef:
        c = self.repo.get_issue(number).create_comment(body)
        return CommentRef(c.id, c.body, c.html_url)

    @api_errors("edit the report comment")
    def edit_comment(self, comment_id: int, body: str) -> CommentRef:
        c = self._comment(comment_id)
        c.edit(body)
        return CommentRef(c.id, c.body, c.html_url)

    def _comment(self, comment_id: int):
        """A comment by id: its URL does not involve the issue number, so any issue object serves."""
        return self.repo.get_issue(0).get_comment(comment_id)

    @api_errors("react to the comment")
    def react(self, comment_id: int, content: str) -> None:
        self._comment(comment_id).create_reaction(content)

    @api_errors("read the check runs")
    def find_check(self, name: str, head_sha: str) -> CheckRef | None:
        for run in self.repo.get_commit(head_sha).get_check_runs(check_name=name):
            return CheckRef(run.id, run.conclusion, run.html_url)
        return None

    @api_errors("publish the check run")
    def publish_check(self, name: str, head_sha: str, *, conclusion: str, title: str, summary: str,
                      existing: CheckRef | None = None) -> CheckRef:
        output = {"title": title, "summary": summary}
        if existing is not None:
            run = self.repo.get_check_run(existing.id)
            run.edit(status="completed", conclusion=conclusion, output=output)
        else:
            run = self.repo.create_check_run(name=name, head_sha=head_sha, status="completed",
                                             conclusion=conclusion, output=output)
        return CheckRef(run.id, conclusion, run.html_url)

    @api_errors("read the commenter's permission")
    def role(self, user: str) -> str:
        try:
            role_name = self.repo.get_collaborator_role_name(user)
        except GithubException as exc:
            if exc.status == 404:  # not a collaborator
                return "none"
            raise
        if role_name in ("admin", "maintain", "write", "triage", "read", "none"):
            return role_name
        return effective_role(role_name, self.repo.get_collaborator_permission(user))

    @api_errors("find the pull request of the gate run")
    def find_pull(self, head_label: str, head_sha: str) -> int | None:
        for pr in self.repo.get_pulls(state="open", head=head_label):
            if pr.head.sha == head_sha:
                return pr.number
        return None

    @api_errors("download the gate run's artifact")
    def download_artifact(self, run_id: int, name: str) -> Artifact | None:
        artifact = self._newest_artifact(run_id, name)
        if artifact is None:
            return None
        # Built from GITHUB_API_URL, never from a URL found in a payload or response.
        url = f"{self.settings.api_url}/repos/{self.settings.repository}/actions/artifacts/{artifact.id}/zip"
        response = requests.get(url, headers={"Authorization": f"Bearer {self.settings.token.reveal()}"},
                                timeout=120, stream=True)
        if response.status_code == 403:
            raise Forbidden(f"GitHub refused to download artifact {name} (403)")
        response.raise_for_status()
        # To a file, never into memory: the artifact is PR-made and may be as large as the cap.
        fd, temp = tempfile.mkstemp(prefix="mlgate-artifact-", suffix=".zip")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(1 << 20):
                    size += len(chunk)
                    if size > MAX_ARTIFACT_BYTES:
                        raise InputError(f"artifact {name} of run {run_id} is larger than {MAX_ARTIFACT_BYTES} bytes")
                    out.write(chunk)
        except BaseException:
            os.unlink(temp)
            raise
        return Artifact(Path(temp), _iso(artifact.created_at), artifact.id)

    def _newest_artifact(self, run_id: int, name: str):
        found = [a for a in self.repo.get_workflow_run(run_id).get_artifacts() if a.name == name and not a.expired]
        return max(found, key=lambda a: (a.created_at, a.id)) if found else None  # a re-run's upload is the newest

    @api_errors("find the gate run's artifact")
    def newest_artifact_id(self, run_id: int, name: str) -> int | None:
        artifact = self._newest_artifact(run_id, name)
        return artifact.id if artifact is not None else None

    @api_errors("find the gate workflow's run")
    def find_gate_run(self, workflow_file: str, head_sha: str, head_label: str | None) -> int | None:
        try:
            workflow = self.repo.get_workflow(workflow_file)
        except GithubException as exc:
            if exc.status == 404:  # no such workflow file on the default branch: no gate run
                return None
            raise
        runs = [r for r in workflow.get_runs(head_sha=head_sha) if r.event == "pull_request"
                and (head_label is None or _run_label(r) == head_label.lower())]
        return max(runs, key=lambda r: r.id).id if runs else None

    @api_errors("re-run the gate workflow")
    def rerun_gate(self, workflow_file: str, head_sha: str, head_label: str | None) -> str | None:
        run_id = self.find_gate_run(workflow_file, head_sha, head_label)
        if run_id is None:
            return None
        run = self.repo.get_workflow_run(run_id)
        run.rerun()
        return run.html_url


    # ------------------------------------------------------------------ retrain: Git Data and pulls

    @api_errors("read the default branch")
    def default_branch(self) -> str:
        return self.repo.default_branch

    @api_errors("read the branch's head commit")
    def head_commit(self, branch: str) -> CommitRef:
        sha = self.repo.get_git_ref(f"heads/{branch}").object.sha
        return CommitRef(sha, self.repo.get_git_commit(sha).tree.sha)

    @api_errors("upload the model as a git blob")
    def create_blob(self, data: bytes) -> str:
        return self.repo.create_git_blob(base64.b64encode(data).decode("ascii"), "base64").sha

    @api_errors("create the git tree")
    def create_tree(self, base_tree: str, files: dict[str, str]) -> str:
        elements = [InputGitTreeElement(path, "100644", "blob", sha=sha) for path, sha in files.items()]
        return self.repo.create_git_tree(elements, base_tree=self.repo.get_git_tree(base_tree)).sha

    @api_errors("create the commit")
    def create_commit(self, message: str, tree: str, parents: list[str]) -> str:
        return self.repo.create_git_commit(message, self.repo.get_git_tree(tree),
                                           [self.repo.get_git_commit(p) for p in parents]).sha

    @api_errors("push the branch")
    def set_ref(self, branch: str, sha: str, *, force: bool) -> bool:
        ref = self._ref(branch)
        if ref is None:
            try:
                self.repo.create_git_ref(f"refs/heads/{branch}", sha)
                return True
            except GithubException as exc:
                if exc.status != 422 or "already exists" not in _message(exc):
                    raise
            ref = self._ref(branch)  # created meanwhile (a retried POST that had gone through)
        ref.edit(sha, force=force)
        return False

    def _ref(self, branch: str):
        """The branch's ref, read (a lazy one would PATCH the read-only ``git/ref/`` URL; the
        one GitHub returns is ``git/refs/``), or None when there is no such branch."""
        ref = self.repo.get_git_ref(f"heads/{branch}")
        try:
            ref.object
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise
        return ref

    @api_errors("list the open pull requests")
    def find_open_pull(self, head_prefix: str, author: str) -> PullRef | None:
        found = [pr for pr in self.repo.get_pulls(state="open")
                 if pr.head.ref.startswith(head_prefix) and pr.user is not None and pr.user.login == author
                 and pr.head.repo is not None and pr.head.repo.full_name.lower() == self.settings.repository.lower()]
        return _pull_ref(max(found, key=lambda pr: pr.number)) if found else None

    @api_errors("open the pull request")
    def create_pull(self, *, title: str, body: str, head: str, base: str) -> PullRef:
        try:
            return _pull_ref(self.repo.create_pull(base=base, head=head, title=title, body=body))
        except GithubException as exc:
            message = _message(exc)
            if exc.status == 403 and "not permitted to create" in message:
                raise PullsNotPermitted(f"GitHub refused to open the pull request (403: {message})") from None
            if exc.status != 422 or "already exists" not in _error_text(exc):
                raise
        # Open already — a retried POST that had gone through, or one a person opened from the
        # pushed branch: it now shows the new commit, so its title and body must say so too.
        owner = self.settings.repository.split("/")[0]
        for pr in self.repo.get_pulls(state="open", head=f"{owner}:{head}"):
            pr.edit(title=title, body=body)
            return _pull_ref(pr)
        raise InfrastructureError(f"GitHub said a pull request from {head} exists, but none is open")

    @api_errors("edit the pull request")
    def edit_pull(self, number: int, *, title: str, body: str) -> PullRef:
        pr = self.repo.get_pull(number)
        pr.edit(title=title, body=body)
        return _pull_ref(pr)


def _pull_ref(pr) -> PullRef:
    return PullRef(pr.number, pr.html_url, pr.head.ref, pr.head.sha, pr.user.login if pr.user is not None else "")


def _error_text(exc: GithubException) -> str:
    """Everything GitHub said in an error (``errors`` carries the detail of a 422)."""
    return str(exc.data)[:2000]


def _run_label(run) -> str | None:
    """A workflow run's head as owner:branch (lower case), as a PR's ``head.label`` names it."""
    repo = run.head_repository
    if repo is None or run.head_branch is None:
        return None
    return f"{repo.owner.login}:{run.head_branch}".lower()
