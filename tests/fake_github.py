"""A fake GitHub REST API served over loopback, for driving the real PyGithub in tests.

``FakeGitHub`` is an ``http.server.ThreadingHTTPServer`` on ``127.0.0.1`` (port 0) running in a
daemon thread. Point PyGithub at it with ``Github(auth=Auth.Token(t), base_url=gh.url)`` or give a
subprocess ``GITHUB_API_URL=gh.url``. All state lives in plain dicts/lists guarded by one lock
(``gh.lock``); seed it with the ``add_*``/``set_*`` helpers and assert on it directly or through
``gh.requests`` / ``gh.calls()``.

It can also run as its own process::

    python tests/fake_github.py --port-file PORT --state-file STATE.json [--seed SEED.json]

which writes the port once listening and dumps :meth:`FakeGitHub.state` as JSON on SIGTERM or
SIGINT. A running server (in-process or not) can be seeded and inspected over HTTP without auth:
``POST /_fake/call`` with ``{"method": "add_repo", "args": [...], "kwargs": {...}}`` (bytes as
``{"__bytes__": "<base64>"}``) and ``GET /_fake/state``; these are not recorded in ``requests``.

Behaviour modelled on api.github.com (REST, 2022-11-28): JSON error bodies with ``message`` and
``documentation_url``, 401 ``Bad credentials``, 403 ``Resource not accessible by integration`` for
writes with a read-only token and for ``GET /user`` with an integration token, 404 ``Not Found``,
422 ``Validation Failed`` with ``errors``, pagination with ``per_page``/``page`` and a ``Link``
header whose URLs use ``/repositories/{id}/...`` as GitHub's do (that form is served too),
case-insensitive owner/repo names, redirects (302) for artifact and release-asset downloads to a
"storage" URL on another host name of this same server (``localhost`` vs ``127.0.0.1``) that,
like S3/Azure pre-signed URLs, rejects a request still carrying an ``Authorization`` header.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import io
import itertools
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import zipfile
from collections import deque
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, NamedTuple, Self
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

__all__ = ["ApiError", "FakeGitHub", "RecordedRequest"]

WEB = "https://github.com"
DOCS = "https://docs.github.com/rest"
MAX_COMMENT_BODY = 65536
MAX_CHECK_OUTPUT = 65535
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
ROLES = ("admin", "maintain", "write", "triage", "read", "none")
LEGACY_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read",
                     "read": "read", "none": "none"}
ROLE_RANK = {r: i for i, r in enumerate(reversed(ROLES))}  # none=0 ... admin=5
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CHECK_CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped",
                     "stale", "timed_out")
STATUS_STATES = ("error", "failure", "pending", "success")
KNOWN_USER_IDS = {"github-actions[bot]": 41898282, "dependabot[bot]": 49699333,
                  "octocat": 583231, "Codertocat": 21031067, "chmouel": 98980}
ACTIONS_APP = {"id": 15368, "slug": "github-actions", "node_id": "MDM6QXBwMTUzNjg=",
               "name": "GitHub Actions", "description": "Automate your workflow from idea to production",
               "external_url": "https://help.github.com/en/actions",
               "html_url": "https://github.com/apps/github-actions",
               "created_at": "2018-07-30T09:30:17Z", "updated_at": "2019-12-10T19:04:12Z",
               "owner": {"login": "github", "id": 9919, "node_id": "MDEyOk9yZ2FuaXphdGlvbjk5MTk=",
                         "type": "Organization", "site_admin": False},
               "permissions": {"checks": "write", "contents": "write", "pull_requests": "write"},
               "events": []}
DEFAULT_ERROR_MESSAGES = {
    400: "Problems parsing JSON",
    401: "Bad credentials",
    403: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    422: "Validation Failed",
    429: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting "
         "your request and contact us if the problem persists.",
}
S3_AUTH_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
                 b"<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                 b"Signature query string parameter or the Authorization header should be specified"
                 b"</Message><ArgumentName>Authorization</ArgumentName></Error>")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(kind: str, ident: Any) -> str:
    raw = f"0{len(kind)}:{kind}{ident}".encode()
    return base64.b64encode(raw).decode()


def _git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _fake_sha(*parts: Any) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


def _b64_lines(data: bytes) -> str:
    """Base64 wrapped at 60 characters with a trailing newline, as the contents API sends it."""
    enc = base64.b64encode(data).decode()
    return "".join(enc[i:i + 60] + "\n" for i in range(0, len(enc), 60))


class ApiError(Exception):
    """Raised inside a route to answer with a GitHub-style error."""

    def __init__(self, status: int, message: str | None = None, *, errors: list | None = None,
                 headers: dict | None = None, doc: str = DOCS, body: Any = None):
        super().__init__(status, message)
        self.status = status
        if body is None:
            body = {"message": message or DEFAULT_ERROR_MESSAGES.get(status, HTTPStatus(status).phrase)}
            if errors is not None:
                body["errors"] = errors
            body["documentation_url"] = doc
            body["status"] = str(status)
        self.body = body
        self.headers = headers or {}


def _validation(resource: str, field: str, code: str = "invalid", message: str | None = None) -> ApiError:
    err: dict[str, Any] = {"resource": resource, "code": code, "field": field}
    if message:
        err["message"] = message
    return ApiError(422, "Validation Failed", errors=[err])


class RecordedRequest(NamedTuple):
    """One request as the server saw it (``Authorization`` value masked, path canonical)."""

    method: str
    path: str
    query: dict
    headers: dict
    json: Any


class Response(NamedTuple):
    status: int
    body: Any = None  # dict/list -> JSON; bytes -> raw; None -> empty
    headers: dict | None = None


class _Req:
    """A parsed request handed to routes."""

    def __init__(self, method, path, query, headers, body, token):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.token = token
        self._json = None
        self._json_parsed = False

    @property
    def json(self) -> Any:
        if not self._json_parsed:
            self._json_parsed = True
            if self.body:
                try:
                    self._json = json.loads(self.body)
                except ValueError:
                    raise ApiError(400, "Problems parsing JSON") from None
            else:
                self._json = {}
        return self._json

    def accept(self) -> str:
        for k, v in self.headers.items():
            if k.lower() == "accept":
                return v
        return ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeGitHub

    def handle_error(self, request, client_address):  # keep test output clean
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    timeout = 60

    def log_message(self, format, *args):
        pass

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.fake._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def _dispatch(self):
        self.server.fake._handle(self)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch


class FakeGitHub:
    """The fake API. See the module docstring; every public method is thread-safe."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, allow_anonymous: bool = False,
                 download_host: str | None = None, repository_id_links: bool = True,
                 rate_limit: int = 5000):
        self.host = host
        self.port = port
        self.allow_anonymous = allow_anonymous
        self._download_host_pref = download_host
        self.download_host = host
        self.repository_id_links = repository_id_links
        self.rate_limit = rate_limit
        self.contents_inline_limit = 1024 * 1024  # larger files come back with encoding "none"
        self.lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set = set()
        self._ids = itertools.count(1)
        self._comment_ids = itertools.count(1_100_000_001)
        self._check_ids = itertools.count(20_000_000_001)
        self._run_ids = itertools.count(7_000_000_001)
        self._user_ids = itertools.count(90_000_001)
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        """Forget all state (tokens, repos, everything recorded)."""
        with self.lock:
            self.tokens: dict[str, dict] = {}
            self.users: dict[str, dict] = {}
            self.repos: dict[str, dict] = {}  # lower-case full_name -> repo record
            self.files: dict[tuple, dict[str, bytes]] = {}  # (repo_key, ref) -> {path: bytes}
            self.issues: dict[tuple, dict] = {}  # (repo_key, number) -> issue record
            self.pulls: dict[tuple, dict] = {}  # (repo_key, number) -> pull record
            self.pull_files: dict[tuple, list[dict]] = {}
            self.compare_files: dict[tuple, list[str]] = {}
            self.comments: dict[int, dict] = {}  # id -> comment record
            self.reactions: dict[int, list[dict]] = {}  # comment id -> reactions
            self.check_runs: dict[int, dict] = {}
            self.statuses: list[dict] = []
            self.permissions: dict[tuple, str] = {}  # (repo_key, login lower) -> role
            self.workflows: dict[tuple, dict] = {}  # (repo_key, file) -> workflow record
            self.workflow_runs: dict[int, dict] = {}
            self.artifacts: dict[int, dict] = {}
            self.releases: dict[int, dict] = {}
            self.assets: dict[int, dict] = {}
            self.reruns: list[dict] = []
            self.dispatches: list[dict] = []
            self.downloads: list[dict] = []  # hits on the storage URLs downloads redirect to
            self.requests: list[RecordedRequest] = []
            self._blobs: dict[str, tuple[bytes, str, str]] = {}
            # Git Data API objects, per repository: (repo_key, sha) -> ...
            self.git_blobs: dict[tuple, bytes] = {}
            self.git_trees: dict[tuple, dict[str, dict]] = {}  # flat: full path -> {mode, type, sha}
            self.git_commits: dict[tuple, dict] = {}
            self._scripts: list[list] = []
            self._rate_used: dict[str, int] = {}
            self._rate_reset = int(time.time()) + 3600

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self.download_host = self._pick_download_host()
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-github",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self.lock:
            conns = list(self._connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The API base, e.g. ``http://127.0.0.1:PORT`` (PyGithub ``base_url``, ``GITHUB_API_URL``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def download_url(self) -> str:
        """Base of the 'storage' URLs that downloads are redirected to."""
        return f"http://{self.download_host}:{self.port}"

    def _pick_download_host(self) -> str:
        pref = self._download_host_pref
        if not pref or pref == self.host:
            return self.host
        try:
            infos = socket.getaddrinfo(pref, self.port, socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            return self.host
        return pref if any(i[4][0] == self.host for i in infos) else self.host

    def _track(self, conn, add: bool) -> None:
        with self.lock:
            (self._connections.add if add else self._connections.discard)(conn)

    # ------------------------------------------------------------------ seeding helpers

    def add_token(self, token: str, login: str = "github-actions[bot]", read_only: bool = False,
                  integration: bool | None = None) -> dict:
        """Accept ``token`` as ``login``. ``integration`` (default: login ends with ``[bot]``)
        makes ``GET /user`` answer 403 as it does for an Actions/App installation token."""
        with self.lock:
            self._ensure_user(login)
            rec = {"token": token, "login": login, "read_only": read_only,
                   "integration": login.endswith("[bot]") if integration is None else integration}
            self.tokens[token] = rec
            return rec

    def add_user(self, login: str, id: int | None = None, type: str | None = None) -> dict:
        with self.lock:
            u = self._ensure_user(login)
            if id is not None:
                u["id"] = id
            if type is not None:
                u["type"] = type
            return u

    def add_repo(self, full_name: str, default_branch: str = "main", *, private: bool = False,
                 id: int | None = None, fork_of: str | None = None, owner_type: str = "User") -> dict:
        """Create a repository (idempotent: an existing one is returned unchanged)."""
        with self.lock:
            key = full_name.lower()
            if key in self.repos:
                return self.repos[key]
            owner, name = full_name.split("/", 1)
            self._ensure_user(owner, "Organization" if owner_type == "Organization" else None)
            rid = id if id is not None else 500_000_000 + next(self._ids)
            rec = {"id": rid, "full_name": full_name, "owner": owner, "name": name, "private": private,
                   "default_branch": default_branch, "fork_of": fork_of, "created_at": _now(),
                   "branches": {default_branch: _fake_sha(full_name, default_branch)},
                   "known_shas": set(), "latest_release_id": None, "refs": {},
                   "actions_can_create_pulls": True}
            self.repos[key] = rec
            return rec

    def set_branch(self, repo: str, branch: str, sha: str | None = None) -> str:
        """Create or move a branch; returns its head SHA."""
        with self.lock:
            r = self._repo_rec(repo)
            r["branches"][branch] = sha or r["branches"].get(branch) or _fake_sha(repo, branch)
            return r["branches"][branch]

    def set_actions_can_create_pulls(self, repo: str, allowed: bool) -> None:
        """The repository setting "Allow GitHub Actions to create and approve pull requests"
        (Settings → Actions → General). Off, ``POST /pulls`` with the Actions token
        (``github-actions[bot]``) answers 403 as GitHub does; other tokens (an App's) are unaffected."""
        with self.lock:
            self._repo_rec(repo)["actions_can_create_pulls"] = bool(allowed)

    def branch_file(self, repo: str, branch: str, path: str) -> bytes | None:
        """The bytes at ``path`` on ``branch`` now (None: no such file or branch)."""
        with self.lock:
            r = self._repo_rec(repo)
            if branch not in r["branches"]:
                return None
            return self._tree(r, branch).get(path.strip("/"))

    def git_commit(self, repo: str, sha: str) -> dict | None:
        """A commit made through the Git Data API (or synthesised for a known head), or None."""
        with self.lock:
            return copy.deepcopy(self.git_commits.get((repo.lower(), sha)))

    def set_file(self, repo: str, path: str, content: str | bytes | None, ref: str | None = None) -> None:
        """Put ``content`` at ``path`` on ``ref`` (branch name, tag or SHA; default branch if
        omitted). ``None`` removes the file. A SHA that is a branch head shares that branch's tree."""
        with self.lock:
            r = self._repo_rec(repo)
            ref = ref or r["default_branch"]
            if ref not in r["branches"]:
                r["known_shas"].add(ref)
            tree = self.files.setdefault((r["full_name"].lower(), ref), {})
            path = path.strip("/")
            if content is None:
                tree.pop(path, None)
            else:
                tree[path] = content.encode() if isinstance(content, str) else bytes(content)

    def add_issue(self, repo: str, number: int, *, title: str = "An issue", user: str = "octocat",
                  body: str = "", state: str = "open") -> dict:
        with self.lock:
            r = self._repo_rec(repo)
            self._ensure_user(user)
            rec = {"repo": r["full_name"], "number": number, "title": title, "user": user, "body": body,
                   "state": state, "is_pull": False, "created_at": _now(), "updated_at": _now()}
            self.issues[(r["full_name"].lower(), number)] = rec
            return rec

    def add_pull(self, repo: str, number: int, head_sha: str, *, base_ref: str = "main",
                 head_ref: str | None = None, head_repo: str | None = None, user: str = "octocat",
                 state: str = "open", merged: bool = False, base_sha: str | None = None,
                 title: str | None = None, body: str = "", draft: bool = False) -> dict:
        """Create pull request ``number``; ``head_repo`` another "owner/name" makes it a fork PR
        (the fork repository is created if needed). ``merged`` implies state closed."""
        with self.lock:
            r = self._repo_rec(repo)
            self._ensure_user(user)
            head_repo = head_repo or r["full_name"]
            if head_repo.lower() not in self.repos:
                self.add_repo(head_repo, fork_of=r["full_name"])
            hr = self._repo_rec(head_repo)
            head_ref = head_ref or f"feature-{number}"
            hr["branches"][head_ref] = head_sha
            if base_ref not in r["branches"]:
                r["branches"][base_ref] = base_sha or _fake_sha(repo, base_ref)
            base_sha = base_sha or r["branches"][base_ref]
            r["known_shas"].add(base_sha)
            r["known_shas"].add(head_sha)
            if merged:
                state = "closed"
            now = _now()
            rec = {"repo": r["full_name"], "number": number, "head_sha": head_sha, "head_ref": head_ref,
                   "head_repo": hr["full_name"], "base_ref": base_ref, "base_sha": base_sha, "user": user,
                   "state": state, "merged": merged, "title": title or f"Pull request {number}",
                   "body": body, "draft": draft, "created_at": now, "updated_at": now,
                   "merged_at": now if merged else None, "closed_at": now if state == "closed" else None,
                   "merge_commit_sha": _fake_sha("merge", repo, number) if merged else None}
            key = (r["full_name"].lower(), number)
            self.pulls[key] = rec
            self.issues[key] = {"repo": r["full_name"], "number": number, "title": rec["title"],
                                "user": user, "body": body, "state": state, "is_pull": True,
                                "created_at": now, "updated_at": now}
            return rec

    def set_pull_files(self, repo: str, number: int, files: Any) -> None:
        """``files``: ``{filename: status}``, a list of filenames (status modified) or a list of
        dicts with at least ``filename`` (``status``, ``sha``, ``additions``... optional)."""
        with self.lock:
            r = self._repo_rec(repo)
            if isinstance(files, dict):
                files = [{"filename": k, "status": v} for k, v in files.items()]
            out = []
            for f in files:
                f = {"filename": f} if isinstance(f, str) else dict(f)
                f.setdefault("status", "modified")
                f.setdefault("sha", _fake_sha("file", repo, number, f["filename"]))
                f.setdefault("additions", 1 if f["status"] != "removed" else 0)
                f.setdefault("deletions", 1 if f["status"] != "added" else 0)
                f["changes"] = f["additions"] + f["deletions"]
                out.append(f)
            self.pull_files[(r["full_name"].lower(), number)] = out

    def add_comment(self, repo: str, number: int, body: str, *, user: str = "octocat",
                    id: int | None = None, created_at: str | None = None) -> dict:
        """Seed an issue/PR comment (e.g. with the ``comment.id`` of a webhook payload)."""
        with self.lock:
            r = self._repo_rec(repo)
            self._issue_rec(r, number)
            self._ensure_user(user)
            cid = id if id is not None else next(self._comment_ids)
            ts = created_at or _now()
            rec = {"id": cid, "repo": r["full_name"], "issue_number": number, "body": body, "user": user,
                   "created_at": ts, "updated_at": ts}
            self.comments[cid] = rec
            return rec

    def set_permission(self, repo: str, user: str, role: str) -> None:
        """``role`` one of admin, maintain, write, triage, read, none."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        with self.lock:
            r = self._repo_rec(repo)
            self._ensure_user(user)
            self.permissions[(r["full_name"].lower(), user.lower())] = role

    def add_workflow_run(self, repo: str, head_sha: str, *, workflow_file: str = "mlgate.yml",
                         event: str = "pull_request", status: str = "completed",
                         conclusion: str | None = "success", head_branch: str | None = None,
                         name: str | None = None, id: int | None = None, actor: str = "octocat",
                         head_repo: str | None = None, pull_requests: list[int] | None = None,
                         run_attempt: int = 1) -> dict:
        """Record a run of ``.github/workflows/{workflow_file}``. ``pull_requests`` defaults to the
        same-repository PRs whose head is ``head_sha`` (fork PRs are left out, as on GitHub)."""
        with self.lock:
            r = self._repo_rec(repo)
            self._ensure_user(actor)
            wf = self._workflow(r, workflow_file, create=True)
            rid = id if id is not None else next(self._run_ids)
            if pull_requests is None:
                pull_requests = [p["number"] for (k, _), p in sorted(self.pulls.items())
                                 if k == r["full_name"].lower() and p["head_sha"] == head_sha
                                 and p["head_repo"].lower() == k]
            if head_branch is None:
                head_branch = next((p["head_ref"] for (k, _), p in self.pulls.items()
                                    if k == r["full_name"].lower() and p["head_sha"] == head_sha),
                                   r["default_branch"])
            r["known_shas"].add(head_sha)
            wf["run_count"] += 1
            now = _now()
            rec = {"id": rid, "repo": r["full_name"], "workflow_id": wf["id"], "workflow_file": workflow_file,
                   "name": name or wf["name"], "path": wf["path"], "head_sha": head_sha,
                   "head_branch": head_branch, "head_repo": head_repo or r["full_name"], "event": event,
                   "status": status, "conclusion": conclusion if status == "completed" else None,
                   "run_number": wf["run_count"], "run_attempt": run_attempt, "actor": actor,
                   "pull_requests": list(pull_requests), "created_at": now, "updated_at": now,
                   "check_suite_id": 30_000_000_000 + rid % 1_000_000_000}
            self.workflow_runs[rid] = rec
            return rec

    def set_run(self, run_id: int, **fields: Any) -> dict:
        """Update a workflow run, e.g. ``set_run(id, status="completed", conclusion="failure")``."""
        with self.lock:
            run = self.workflow_runs[run_id]
            run.update(fields)
            if run["status"] != "completed":
                run["conclusion"] = None
            run["updated_at"] = _now()
            return run

    def add_artifact(self, run_id: int, name: str, files: dict[str, bytes | str], *,
                     expired: bool = False, id: int | None = None, created_at: str | None = None,
                     raw_zip: bytes | None = None) -> dict:
        """Attach an artifact to a run; ``files`` are zipped in memory (as GitHub serves them),
        unless ``raw_zip`` gives the archive's bytes as they are (a malformed one, say)."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for fname, data in files.items():
                z.writestr(fname, data.encode() if isinstance(data, str) else data)
        data = raw_zip if raw_zip is not None else buf.getvalue()
        with self.lock:
            run = self.workflow_runs[run_id]
            aid = id if id is not None else 1_000_000_000 + next(self._ids)
            now = datetime.now(UTC)
            rec = {"id": aid, "run_id": run_id, "repo": run["repo"], "name": name, "zip": data,
                   "files": sorted(files), "expired": expired, "size_in_bytes": len(data),
                   "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                   "created_at": created_at or now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "expires_at": (now + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")}
            self.artifacts[aid] = rec
            return rec

    def add_release(self, repo: str, tag: str, *, name: str | None = None, body: str = "",
                    draft: bool = False, prerelease: bool = False, make_latest: str = "true",
                    author: str = "github-actions[bot]", assets: dict[str, bytes] | None = None) -> dict:
        """Seed a release (and optional assets) as if created through the API."""
        with self.lock:
            r = self._repo_rec(repo)
            rel = self._create_release(r, {"tag_name": tag, "name": name, "body": body, "draft": draft,
                                           "prerelease": prerelease, "make_latest": make_latest}, author)
            for aname, data in (assets or {}).items():
                self._create_asset(rel, aname, "", "application/octet-stream", data, author)
            return rel

    def script(self, method: str | None, path_regex: str, responses: list) -> None:
        """Queue fault responses for requests whose method matches (``None``/``"*"``: any) and
        whose path matches ``path_regex`` (``re.search``; canonical ``/repos/...`` path, no query).

        Each response is consumed by one matching request, in order; then normal service resumes.
        Forms: ``500``; ``(status, body)``; ``(status, headers, body)``; ``"reset"`` (drop the
        connection with a TCP RST, no response); ``("delay", seconds)`` (sleep, then answer
        normally); ``("delay", seconds, response)`` (sleep, then answer with ``response``)."""
        with self.lock:
            self._scripts.append([None if method in (None, "*") else method.upper(), re.compile(path_regex),
                                  deque(responses)])

    def scripts_pending(self) -> int:
        with self.lock:
            return sum(len(s[2]) for s in self._scripts)

    # ------------------------------------------------------------------ inspection helpers

    def calls(self, method: str | None = None, path_regex: str = "") -> list[RecordedRequest]:
        """Recorded requests whose method matches (None/"*": any) and path ``re.search``-matches."""
        rx = re.compile(path_regex)
        with self.lock:
            return [r for r in self.requests
                    if (method in (None, "*") or r.method == method.upper()) and rx.search(r.path)]

    def issue_comments(self, repo: str, number: int) -> list[dict]:
        with self.lock:
            key = repo.lower()
            return [c for c in sorted(self.comments.values(), key=lambda c: c["id"])
                    if c["repo"].lower() == key and c["issue_number"] == number]

    def comment_reactions(self, comment_id: int) -> list[str]:
        with self.lock:
            return [r["content"] for r in self.reactions.get(comment_id, [])]

    def find_check_runs(self, repo: str, head_sha: str | None = None, name: str | None = None) -> list[dict]:
        with self.lock:
            key = repo.lower()
            return [c for c in sorted(self.check_runs.values(), key=lambda c: c["id"])
                    if c["repo"].lower() == key and (head_sha is None or c["head_sha"] == head_sha)
                    and (name is None or c["name"] == name)]

    SEED_METHODS = frozenset({
        "add_token", "add_user", "add_repo", "set_branch", "set_file", "add_issue", "add_pull",
        "set_pull_files", "add_comment", "set_permission", "add_workflow_run", "set_run", "add_artifact",
        "add_release", "script", "reset"})

    def call(self, method: str, args: list | None = None, kwargs: dict | None = None) -> Any:
        """Apply a seeding call given as JSON (``--seed``, ``POST /_fake/call``): bytes are
        ``{"__bytes__": "<base64>"}`` and ``script`` responses given as lists become tuples."""
        if method not in self.SEED_METHODS:
            raise ValueError(f"not callable: {method!r}")

        def dec(v):
            if isinstance(v, dict) and set(v) == {"__bytes__"}:
                return base64.b64decode(v["__bytes__"])
            if isinstance(v, dict):
                return {k: dec(x) for k, x in v.items()}
            if isinstance(v, list):
                return [dec(x) for x in v]
            return v

        args, kwargs = dec(list(args or [])), dec(dict(kwargs or {}))
        if method == "script":
            if len(args) >= 3:
                args[2] = [tuple(x) if isinstance(x, list) else x for x in args[2]]
            if "responses" in kwargs:
                kwargs["responses"] = [tuple(x) if isinstance(x, list) else x for x in kwargs["responses"]]
        return getattr(self, method)(*args, **kwargs)

    def state(self) -> dict:
        """A JSON-serialisable snapshot of everything (bytes as base64 or omitted)."""
        with self.lock:
            def clean(rec):
                return {k: (sorted(v) if isinstance(v, set) else v) for k, v in rec.items()
                        if not isinstance(v, bytes)}
            return {
                "url": self.url,
                "tokens": {t[:4] + "…": {k: v for k, v in rec.items() if k != "token"}
                           for t, rec in self.tokens.items()},
                "repos": {r["full_name"]: clean(r) for r in self.repos.values()},
                "files": {f"{k[0]}@{k[1]}": sorted(v) for k, v in self.files.items()},
                "pulls": [clean(p) for p in self.pulls.values()],
                "pull_files": {f"{k[0]}#{k[1]}": v for k, v in self.pull_files.items()},
                "comments": [clean(c) for c in sorted(self.comments.values(), key=lambda c: c["id"])],
                "reactions": {str(k): v for k, v in self.reactions.items()},
                "check_runs": [clean(c) for c in sorted(self.check_runs.values(), key=lambda c: c["id"])],
                "statuses": list(self.statuses),
                "permissions": {f"{k[0]}:{k[1]}": v for k, v in self.permissions.items()},
                "workflow_runs": [clean(w) for w in self.workflow_runs.values()],
                "artifacts": [clean(a) for a in self.artifacts.values()],
                "releases": [clean(r) for r in self.releases.values()],
                "assets": [clean(a) for a in self.assets.values()],
                "git_commits": [dict(c) for c in self.git_commits.values()],
                "reruns": list(self.reruns),
                "dispatches": list(self.dispatches),
                "downloads": list(self.downloads),
                "requests": [r._asdict() for r in self.requests],
            }

    # ------------------------------------------------------------------ internal lookups

    def _ensure_user(self, login: str, type_: str | None = None) -> dict:
        key = login.lower()
        if key not in self.users:
            uid = KNOWN_USER_IDS.get(login) or next(self._user_ids)
            self.users[key] = {"login": login, "id": uid,
                               "type": type_ or ("Bot" if login.endswith("[bot]") else "User")}
        return self.users[key]

    def _user(self, login: str) -> dict:
        u = self._ensure_user(login)
        lg = u["login"]
        base = f"{self.url}/users/{quote(lg)}"
        return {"login": lg, "id": u["id"], "node_id": _node_id("User", u["id"]),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{u['id']}?v=4", "gravatar_id": "",
                "url": base, "html_url": f"{WEB}/{lg.replace('[bot]', '')}" if u["type"] != "Bot"
                else f"{WEB}/apps/{lg.replace('[bot]', '')}",
                "followers_url": f"{base}/followers", "following_url": f"{base}/following{{/other_user}}",
                "gists_url": f"{base}/gists{{/gist_id}}", "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
                "subscriptions_url": f"{base}/subscriptions", "organizations_url": f"{base}/orgs",
                "repos_url": f"{base}/repos", "events_url": f"{base}/events{{/privacy}}",
                "received_events_url": f"{base}/received_events", "type": u["type"], "site_admin": False}

    def _repo_rec(self, full_name: str) -> dict:
        r = self.repos.get(full_name.lower())
        if r is None:
            raise KeyError(f"unknown repository {full_name!r}: add_repo() it first")
        return r

    def _repo(self, owner: str, name: str) -> dict:
        r = self.repos.get(f"{owner}/{name}".lower())
        if r is None:
            raise ApiError(404)
        return r

    def _issue_rec(self, r: dict, number: int) -> dict:
        rec = self.issues.get((r["full_name"].lower(), number))
        if rec is None:
            raise KeyError(f"no issue/PR #{number} in {r['full_name']}: add_pull()/add_issue() it first")
        return rec

    def _role(self, r: dict, login: str | None) -> str:
        if login is None:
            return "read" if not r["private"] else "none"
        role = self.permissions.get((r["full_name"].lower(), login.lower()))
        if role:
            return role
        if login.lower() == r["owner"].lower():
            return "admin"
        return "read" if not r["private"] else "none"

    def _workflow(self, r: dict, ident: str, create: bool = False) -> dict:
        key = r["full_name"].lower()
        for (k, f), wf in self.workflows.items():
            if k == key and (f == ident or str(wf["id"]) == str(ident)):
                return wf
        if not create:
            raise ApiError(404)
        wid = 100_000_000 + next(self._ids)
        wf = {"id": wid, "repo": r["full_name"], "file": ident, "path": f".github/workflows/{ident}",
              "name": ident.rsplit(".", 1)[0], "state": "active", "run_count": 0, "created_at": _now()}
        self.workflows[(key, ident)] = wf
        return wf

    def _tree(self, r: dict, ref: str | None) -> dict[str, bytes]:
        """Files visible at ``ref``: union of the namespaces ``ref`` names (branch <-> head SHA)."""
        ref = ref or r["default_branch"]
        if ref.startswith("refs/heads/"):
            ref = ref[len("refs/heads/"):]
        elif ref.startswith("refs/tags/"):
            ref = ref[len("refs/tags/"):]
        key = r["full_name"].lower()
        names = [ref]
        if ref in r["branches"]:
            names.append(r["branches"][ref])
        names += [b for b, sha in r["branches"].items() if sha == ref]
        known = ref in r["branches"] or ref in r["known_shas"] or any(n for n in names[1:])
        known = known or any((key, n) in self.files for n in names)
        known = known or any(rel["tag_name"] == ref for rel in self.releases.values()
                             if rel["repo"].lower() == key)
        if not known:
            raise ApiError(404, f"No commit found for the ref {ref}",
                           doc="https://docs.github.com/rest/repos/contents#get-repository-content")
        merged: dict[str, bytes] = {}
        for n in reversed(names):
            merged.update(self.files.get((key, n), {}))
        return merged

    def _resolve_sha(self, r: dict, ref: str) -> str:
        ref = ref.removeprefix("refs/heads/")
        return r["branches"].get(ref, ref)

    # ------------------------------------------------------------------ JSON renderers

    def _repo_url(self, r: dict) -> str:
        return f"{self.url}/repos/{r['full_name']}"

    def _repo_json(self, r: dict, token: dict | None = None, full: bool = True) -> dict:
        u = self._repo_url(r)
        fn = r["full_name"]
        d = {"id": r["id"], "node_id": _node_id("Repository", r["id"]), "name": r["name"], "full_name": fn,
             "private": r["private"], "owner": self._user(r["owner"]), "html_url": f"{WEB}/{fn}",
             "description": None, "fork": r["fork_of"] is not None, "url": u,
             "archive_url": f"{u}/{{archive_format}}{{/ref}}", "assignees_url": f"{u}/assignees{{/user}}",
             "blobs_url": f"{u}/git/blobs{{/sha}}", "branches_url": f"{u}/branches{{/branch}}",
             "collaborators_url": f"{u}/collaborators{{/collaborator}}",
             "comments_url": f"{u}/comments{{/number}}", "commits_url": f"{u}/commits{{/sha}}",
             "compare_url": f"{u}/compare/{{base}}...{{head}}", "contents_url": f"{u}/contents/{{+path}}",
             "contributors_url": f"{u}/contributors", "deployments_url": f"{u}/deployments",
             "downloads_url": f"{u}/downloads", "events_url": f"{u}/events", "forks_url": f"{u}/forks",
             "git_commits_url": f"{u}/git/commits{{/sha}}", "git_refs_url": f"{u}/git/refs{{/sha}}",
             "git_tags_url": f"{u}/git/tags{{/sha}}", "git_url": f"git://github.com/{fn}.git",
             "issue_comment_url": f"{u}/issues/comments{{/number}}",
             "issue_events_url": f"{u}/issues/events{{/number}}", "issues_url": f"{u}/issues{{/number}}",
             "keys_url": f"{u}/keys{{/key_id}}", "labels_url": f"{u}/labels{{/name}}",
             "languages_url": f"{u}/languages", "merges_url": f"{u}/merges",
             "milestones_url": f"{u}/milestones{{/number}}",
             "notifications_url": f"{u}/notifications{{?since,all,participating}}",
             "pulls_url": f"{u}/pulls{{/number}}", "releases_url": f"{u}/releases{{/id}}",
             "ssh_url": f"git@github.com:{fn}.git", "stargazers_url": f"{u}/stargazers",
             "statuses_url": f"{u}/statuses/{{sha}}", "subscribers_url": f"{u}/subscribers",
             "subscription_url": f"{u}/subscription", "tags_url": f"{u}/tags", "teams_url": f"{u}/teams",
             "trees_url": f"{u}/git/trees{{/sha}}", "clone_url": f"{WEB}/{fn}.git", "mirror_url": None,
             "hooks_url": f"{u}/hooks", "svn_url": f"{WEB}/{fn}", "homepage": None, "language": "Python",
             "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "size": 1,
             "default_branch": r["default_branch"], "open_issues_count": 0, "is_template": False,
             "topics": [], "has_issues": True, "has_projects": True, "has_wiki": True, "has_pages": False,
             "has_downloads": True, "has_discussions": False, "archived": False, "disabled": False,
             "visibility": "private" if r["private"] else "public", "pushed_at": r["created_at"],
             "created_at": r["created_at"], "updated_at": r["created_at"], "allow_forking": True,
             "web_commit_signoff_required": False, "forks": 0, "open_issues": 0, "watchers": 0}
        if full:
            login = token["login"] if token else None
            role = self._role(r, login)
            if token and token.get("integration") and (r["full_name"].lower(), login.lower()) not in self.permissions:
                role = "read" if token.get("read_only") else "write"  # an installation token's grant
            rank = ROLE_RANK[role]
            d["permissions"] = {"admin": rank >= 5, "maintain": rank >= 4, "push": rank >= 3,
                                "triage": rank >= 2, "pull": rank >= 1}
            d["network_count"] = 0
            d["subscribers_count"] = 0
            if r["fork_of"]:
                parent = self.repos.get(r["fork_of"].lower())
                if parent:
                    d["parent"] = d["source"] = self._repo_json(parent, full=False)
        return d

    def _issue_html(self, r: dict, number: int) -> str:
        kind = "pull" if (r["full_name"].lower(), number) in self.pulls else "issues"
        return f"{WEB}/{r['full_name']}/{kind}/{number}"

    def _association(self, r: dict, login: str) -> str:
        if login.lower() == r["owner"].lower():
            return "OWNER"
        role = self.permissions.get((r["full_name"].lower(), login.lower()))
        if role and ROLE_RANK[role] >= ROLE_RANK["triage"]:
            return "COLLABORATOR"
        return "NONE"

    def _comment_json(self, c: dict) -> dict:
        r = self.repos[c["repo"].lower()]
        u = self._repo_url(r)
        counts = {k: 0 for k in REACTIONS}
        for x in self.reactions.get(c["id"], []):
            counts[x["content"]] += 1
        return {"url": f"{u}/issues/comments/{c['id']}",
                "html_url": f"{self._issue_html(r, c['issue_number'])}#issuecomment-{c['id']}",
                "issue_url": f"{u}/issues/{c['issue_number']}", "id": c["id"],
                "node_id": _node_id("IssueComment", c["id"]), "user": self._user(c["user"]),
                "created_at": c["created_at"], "updated_at": c["updated_at"],
                "author_association": self._association(r, c["user"]), "body": c["body"],
                "reactions": {"url": f"{u}/issues/comments/{c['id']}/reactions",
                              "total_count": sum(counts.values()), **counts},
                "performed_via_github_app": ACTIONS_APP if self.users[c["user"].lower()]["type"] == "Bot"
                and c["user"] == "github-actions[bot]" else None}

    def _issue_json(self, r: dict, i: dict) -> dict:
        u = self._repo_url(r)
        n = i["number"]
        d = {"url": f"{u}/issues/{n}", "repository_url": u, "labels_url": f"{u}/issues/{n}/labels{{/name}}",
             "comments_url": f"{u}/issues/{n}/comments", "events_url": f"{u}/issues/{n}/events",
             "html_url": self._issue_html(r, n), "id": 800_000_000 + n, "node_id": _node_id("Issue", n),
             "number": n, "title": i["title"], "user": self._user(i["user"]), "labels": [], "state": i["state"],
             "locked": False, "assignee": None, "assignees": [], "milestone": None,
             "comments": len([c for c in self.comments.values()
                              if c["repo"].lower() == r["full_name"].lower() and c["issue_number"] == n]),
             "created_at": i["created_at"], "updated_at": i["updated_at"], "closed_at": None,
             "author_association": self._association(r, i["user"]), "body": i["body"],
             "performed_via_github_app": None, "state_reason": None}
        if i["is_pull"]:
            d["pull_request"] = {"url": f"{u}/pulls/{n}", "html_url": f"{WEB}/{r['full_name']}/pull/{n}",
                                 "diff_url": f"{WEB}/{r['full_name']}/pull/{n}.diff",
                                 "patch_url": f"{WEB}/{r['full_name']}/pull/{n}.patch", "merged_at": None}
        return d

    def _pull_json(self, r: dict, p: dict, full: bool = True) -> dict:
        u = self._repo_url(r)
        n = p["number"]
        hr = self.repos[p["head_repo"].lower()]
        html = f"{WEB}/{r['full_name']}/pull/{n}"

        def side(repo_rec, ref, sha):
            return {"label": f"{repo_rec['owner']}:{ref}", "ref": ref, "sha": sha,
                    "user": self._user(repo_rec["owner"]), "repo": self._repo_json(repo_rec, full=False)}

        d = {"url": f"{u}/pulls/{n}", "id": 600_000_000 + n, "node_id": _node_id("PullRequest", n),
             "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
             "issue_url": f"{u}/issues/{n}", "commits_url": f"{u}/pulls/{n}/commits",
             "review_comments_url": f"{u}/pulls/{n}/comments",
             "review_comment_url": f"{u}/pulls/comments{{/number}}", "comments_url": f"{u}/issues/{n}/comments",
             "statuses_url": f"{u}/statuses/{p['head_sha']}", "number": n, "state": p["state"],
             "locked": False, "title": p["title"], "user": self._user(p["user"]), "body": p["body"],
             "labels": [], "milestone": None, "active_lock_reason": None, "created_at": p["created_at"],
             "updated_at": p["updated_at"], "closed_at": p["closed_at"], "merged_at": p["merged_at"],
             "merge_commit_sha": p["merge_commit_sha"], "assignee": None, "assignees": [],
             "requested_reviewers": [], "requested_teams": [], "draft": p["draft"],
             "head": side(hr, p["head_ref"], p["head_sha"]), "base": side(r, p["base_ref"], p["base_sha"]),
             "_links": {"self": {"href": f"{u}/pulls/{n}"}, "html": {"href": html},
                        "issue": {"href": f"{u}/issues/{n}"}, "comments": {"href": f"{u}/issues/{n}/comments"},
                        "review_comments": {"href": f"{u}/pulls/{n}/comments"},
                        "commits": {"href": f"{u}/pulls/{n}/commits"},
                        "statuses": {"href": f"{u}/statuses/{p['head_sha']}"}},
             "author_association": self._association(r, p["user"]), "auto_merge": None}
        if full:
            files = self.pull_files.get((r["full_name"].lower(), n), [])
            d.update({"merged": p["merged"], "mergeable": None if p["merged"] else True,
                      "rebaseable": None if p["merged"] else True,
                      "mergeable_state": "unknown" if p["merged"] else "clean",
                      "merged_by": self._user(r["owner"]) if p["merged"] else None,
                      "comments": len([c for c in self.comments.values() if c["repo"] == r["full_name"]
                                       and c["issue_number"] == n]),
                      "review_comments": 0, "maintainer_can_modify": False, "commits": 1,
                      "additions": sum(f["additions"] for f in files),
                      "deletions": sum(f["deletions"] for f in files), "changed_files": len(files)})
        return d

    def _check_run_json(self, c: dict) -> dict:
        r = self.repos[c["repo"].lower()]
        u = self._repo_url(r)
        prs = []
        for (k, _), p in sorted(self.pulls.items()):
            if k == r["full_name"].lower() and p["head_sha"] == c["head_sha"] and p["head_repo"].lower() == k:
                prs.append({"url": f"{u}/pulls/{p['number']}", "id": 600_000_000 + p["number"],
                            "number": p["number"],
                            "head": {"ref": p["head_ref"], "sha": p["head_sha"],
                                     "repo": {"id": r["id"], "url": u, "name": r["name"]}},
                            "base": {"ref": p["base_ref"], "sha": p["base_sha"],
                                     "repo": {"id": r["id"], "url": u, "name": r["name"]}}})
        out = c["output"]
        return {"id": c["id"], "name": c["name"], "node_id": _node_id("CheckRun", c["id"]),
                "head_sha": c["head_sha"], "external_id": c["external_id"], "url": f"{u}/check-runs/{c['id']}",
                "html_url": f"{WEB}/{r['full_name']}/runs/{c['id']}", "details_url": c["details_url"],
                "status": c["status"], "conclusion": c["conclusion"], "started_at": c["started_at"],
                "completed_at": c["completed_at"],
                "output": {"title": out.get("title"), "summary": out.get("summary"), "text": out.get("text"),
                           "annotations_count": len(c["annotations"]),
                           "annotations_url": f"{u}/check-runs/{c['id']}/annotations"},
                "check_suite": {"id": c["check_suite_id"]}, "app": ACTIONS_APP, "pull_requests": prs}

    def _status_json(self, s: dict) -> dict:
        r = self.repos[s["repo"].lower()]
        return {"url": f"{self._repo_url(r)}/statuses/{s['sha']}",
                "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4", "id": s["id"],
                "node_id": _node_id("StatusContext", s["id"]), "state": s["state"],
                "description": s["description"], "target_url": s["target_url"], "context": s["context"],
                "created_at": s["created_at"], "updated_at": s["created_at"], "creator": self._user(s["creator"])}

    def _workflow_json(self, wf: dict) -> dict:
        r = self.repos[wf["repo"].lower()]
        return {"id": wf["id"], "node_id": _node_id("Workflow", wf["id"]), "name": wf["name"],
                "path": wf["path"], "state": wf["state"], "created_at": wf["created_at"],
                "updated_at": wf["created_at"], "url": f"{self._repo_url(r)}/actions/workflows/{wf['id']}",
                "html_url": f"{WEB}/{r['full_name']}/blob/{r['default_branch']}/{wf['path']}",
                "badge_url": f"{WEB}/{r['full_name']}/workflows/{quote(wf['name'])}/badge.svg"}

    def _run_json(self, run: dict) -> dict:
        r = self.repos[run["repo"].lower()]
        u = self._repo_url(r)
        ru = f"{u}/actions/runs/{run['id']}"
        hr = self.repos.get(run["head_repo"].lower(), r)
        prs = []
        for n in run["pull_requests"]:
            p = self.pulls.get((r["full_name"].lower(), n))
            if p:
                prs.append({"url": f"{u}/pulls/{n}", "id": 600_000_000 + n, "number": n,
                            "head": {"ref": p["head_ref"], "sha": p["head_sha"],
                                     "repo": {"id": hr["id"], "url": self._repo_url(hr), "name": hr["name"]}},
                            "base": {"ref": p["base_ref"], "sha": p["base_sha"],
                                     "repo": {"id": r["id"], "url": u, "name": r["name"]}}})
        return {"id": run["id"], "name": run["name"], "node_id": _node_id("WorkflowRun", run["id"]),
                "head_branch": run["head_branch"], "head_sha": run["head_sha"], "path": run["path"],
                "display_title": run["name"], "run_number": run["run_number"], "event": run["event"],
                "status": run["status"], "conclusion": run["conclusion"], "workflow_id": run["workflow_id"],
                "check_suite_id": run["check_suite_id"],
                "check_suite_node_id": _node_id("CheckSuite", run["check_suite_id"]), "url": ru,
                "html_url": f"{WEB}/{r['full_name']}/actions/runs/{run['id']}", "pull_requests": prs,
                "created_at": run["created_at"], "updated_at": run["updated_at"],
                "actor": self._user(run["actor"]), "triggering_actor": self._user(run["actor"]),
                "run_attempt": run["run_attempt"], "referenced_workflows": [],
                "run_started_at": run["created_at"], "jobs_url": f"{ru}/jobs", "logs_url": f"{ru}/logs",
                "check_suite_url": f"{u}/check-suites/{run['check_suite_id']}",
                "artifacts_url": f"{ru}/artifacts", "cancel_url": f"{ru}/cancel", "rerun_url": f"{ru}/rerun",
                "previous_attempt_url": f"{ru}/attempts/{run['run_attempt'] - 1}" if run["run_attempt"] > 1
                else None,
                "workflow_url": f"{u}/actions/workflows/{run['workflow_id']}",
                "head_commit": {"id": run["head_sha"], "tree_id": _fake_sha("tree", run["head_sha"]),
                                "message": "commit", "timestamp": run["created_at"],
                                "author": {"name": run["actor"], "email": f"{run['actor']}@example.com"},
                                "committer": {"name": "GitHub", "email": "noreply@github.com"}},
                "repository": self._repo_json(r, full=False), "head_repository": self._repo_json(hr, full=False)}

    def _artifact_json(self, a: dict) -> dict:
        r = self.repos[a["repo"].lower()]
        u = self._repo_url(r)
        run = self.workflow_runs[a["run_id"]]
        hr = self.repos.get(run["head_repo"].lower(), r)
        return {"id": a["id"], "node_id": _node_id("Artifact", a["id"]), "name": a["name"],
                "size_in_bytes": a["size_in_bytes"], "url": f"{u}/actions/artifacts/{a['id']}",
                "archive_download_url": f"{u}/actions/artifacts/{a['id']}/zip", "expired": a["expired"],
                "digest": a["digest"], "created_at": a["created_at"], "updated_at": a["created_at"],
                "expires_at": a["expires_at"],
                "workflow_run": {"id": run["id"], "repository_id": r["id"], "head_repository_id": hr["id"],
                                 "head_branch": run["head_branch"], "head_sha": run["head_sha"]}}

    def _release_json(self, rel: dict) -> dict:
        r = self.repos[rel["repo"].lower()]
        u = self._repo_url(r)
        ru = f"{u}/releases/{rel['id']}"
        html = (f"{WEB}/{r['full_name']}/releases/tag/{quote(rel['tag_name'])}" if not rel["draft"]
                else f"{WEB}/{r['full_name']}/releases/tag/untagged-{rel['id']}")
        return {"url": ru, "html_url": html, "assets_url": f"{ru}/assets",
                "upload_url": f"{self.url}/repos/{r['full_name']}/releases/{rel['id']}/assets{{?name,label}}",
                "tarball_url": f"{u}/tarball/{quote(rel['tag_name'])}",
                "zipball_url": f"{u}/zipball/{quote(rel['tag_name'])}", "id": rel["id"],
                "node_id": _node_id("Release", rel["id"]), "tag_name": rel["tag_name"],
                "target_commitish": rel["target_commitish"], "name": rel["name"], "body": rel["body"],
                "draft": rel["draft"], "prerelease": rel["prerelease"], "immutable": False,
                "created_at": rel["created_at"], "updated_at": rel["updated_at"],
                "published_at": rel["published_at"], "author": self._user(rel["author"]),
                "assets": [self._asset_json(a) for a in sorted(self.assets.values(), key=lambda a: a["id"])
                           if a["release_id"] == rel["id"]]}

    def _asset_json(self, a: dict) -> dict:
        r = self.repos[a["repo"].lower()]
        rel = self.releases[a["release_id"]]
        return {"url": f"{self._repo_url(r)}/releases/assets/{a['id']}",
                "browser_download_url": f"{self.download_url}/_web/{r['full_name']}/releases/download/"
                                        f"{quote(rel['tag_name'])}/{quote(a['name'])}",
                "id": a["id"], "node_id": _node_id("ReleaseAsset", a["id"]), "name": a["name"],
                "label": a["label"], "state": "uploaded", "content_type": a["content_type"],
                "size": len(a["data"]), "digest": "sha256:" + hashlib.sha256(a["data"]).hexdigest(),
                "download_count": a["download_count"], "created_at": a["created_at"],
                "updated_at": a["created_at"], "uploader": self._user(a["uploader"])}

    def _content_json(self, r: dict, path: str, data: bytes | None, ref: str, *, listing: bool = False) -> dict:
        u = self._repo_url(r)
        qp = quote(path)
        is_dir = data is None
        sha = _fake_sha("tree", r["full_name"], ref, path) if is_dir else _git_blob_sha(data)
        d = {"name": path.rsplit("/", 1)[-1], "path": path, "sha": sha, "size": 0 if is_dir else len(data),
             "url": f"{u}/contents/{qp}?ref={quote(ref, safe='')}",
             "html_url": f"{WEB}/{r['full_name']}/{'tree' if is_dir else 'blob'}/{ref}/{path}",
             "git_url": f"{u}/git/{'trees' if is_dir else 'blobs'}/{sha}",
             "download_url": None if is_dir else f"{self.download_url}/_raw/{r['full_name']}/{ref}/{qp}",
             "type": "dir" if is_dir else "file"}
        d["_links"] = {"self": d["url"], "git": d["git_url"], "html": d["html_url"]}
        if not is_dir and not listing:
            if len(data) <= self.contents_inline_limit:
                d["content"] = _b64_lines(data)
                d["encoding"] = "base64"
            else:
                d["content"] = ""
                d["encoding"] = "none"
        return d

    # ------------------------------------------------------------------ mutations used by routes

    def _create_release(self, r: dict, body: dict, author: str) -> dict:
        tag = body.get("tag_name")
        if not tag or not isinstance(tag, str):
            raise _validation("Release", "tag_name", "missing_field")
        key = r["full_name"].lower()
        if any(x["repo"].lower() == key and x["tag_name"] == tag for x in self.releases.values()):
            raise _validation("Release", "tag_name", "already_exists")
        make_latest = str(body.get("make_latest", "true")).lower()
        if make_latest not in ("true", "false", "legacy"):
            raise _validation("Release", "make_latest", "invalid")
        rid = 150_000_000 + next(self._ids)
        now = _now()
        draft = bool(body.get("draft", False))
        rel = {"id": rid, "repo": r["full_name"], "tag_name": tag,
               "target_commitish": body.get("target_commitish") or r["default_branch"],
               "name": body.get("name") or tag, "body": body.get("body") or "", "draft": draft,
               "prerelease": bool(body.get("prerelease", False)), "author": author, "created_at": now,
               "updated_at": now, "published_at": None if draft else now}
        self.releases[rid] = rel
        r["known_shas"].add(tag)
        self._apply_make_latest(r, rel, make_latest)
        return rel

    def _apply_make_latest(self, r: dict, rel: dict, make_latest: str) -> None:
        if rel["draft"] or rel["prerelease"]:
            return
        if make_latest == "true":
            r["latest_release_id"] = rel["id"]
        elif make_latest == "legacy":
            r["latest_release_id"] = None  # newest published non-prerelease wins

    def _latest_release(self, r: dict) -> dict | None:
        lid = r["latest_release_id"]
        rel = self.releases.get(lid) if lid else None
        if rel and not rel["draft"] and not rel["prerelease"]:
            return rel
        cands = [x for x in self.releases.values() if x["repo"].lower() == r["full_name"].lower()
                 and not x["draft"] and not x["prerelease"]]
        return max(cands, key=lambda x: (x["published_at"] or "", x["id"])) if cands else None

    def _create_asset(self, rel: dict, name: str, label: str, content_type: str, data: bytes,
                      uploader: str) -> dict:
        if any(a["release_id"] == rel["id"] and a["name"] == name for a in self.assets.values()):
            raise _validation("ReleaseAsset", "name", "already_exists")
        aid = 200_000_000 + next(self._ids)
        a = {"id": aid, "release_id": rel["id"], "repo": rel["repo"], "name": name, "label": label or "",
             "content_type": content_type, "data": bytes(data), "uploader": uploader,
             "created_at": _now(), "download_count": 0}
        self.assets[aid] = a
        return a

    def _blob_url(self, data: bytes, content_type: str, filename: str) -> str:
        key = secrets.token_hex(16)
        self._blobs[key] = (data, content_type, filename)
        return (f"{self.download_url}/_blobs/{key}?sv=2021-08-06&se="
                f"{quote(_now())}&sp=r&sig={secrets.token_urlsafe(24)}")

    # ------------------------------------------------------------------ pagination

    def _paginate(self, req: _Req, items: list, wrap: str | None = None, extra: dict | None = None) -> Response:
        try:
            per_page = int(req.query.get("per_page", 30))
        except ValueError:
            per_page = 30
        per_page = max(1, min(per_page, 100))
        try:
            page = max(1, int(req.query.get("page", 1)))
        except ValueError:
            page = 1
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        link_path = req.path
        if self.repository_id_links:
            m = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", req.path)
            if m and f"{m[1]}/{m[2]}".lower() in self.repos:
                link_path = f"/repositories/{self.repos[f'{m[1]}/{m[2]}'.lower()]['id']}{m[3] or ''}"

        def link(p):
            q = dict(req.query)
            q["page"] = str(p)
            return f'<{self.url}{link_path}?{urlencode(q)}>'

        rels = []
        if page > 1:
            rels.append(f'{link(min(page - 1, last))}; rel="prev"')
        if page < last:
            rels.append(f'{link(page + 1)}; rel="next"')
            rels.append(f'{link(last)}; rel="last"')
        if page > 1:
            rels.append(f'{link(1)}; rel="first"')
        if rels:
            headers["Link"] = ", ".join(rels)
        if wrap:
            body = {"total_count": len(items), **(extra or {}), wrap: chunk}
        else:
            body = chunk
        return Response(200, body, headers)

    # ------------------------------------------------------------------ HTTP plumbing

    def _handle(self, h: _Handler) -> None:
        method = h.command.upper()
        split = urlsplit(h.path)
        path = split.path or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {k: v for k, v in h.headers.items()}
        body = self._read_body(h)
        if body is None:
            return

        if path.startswith("/_fake/"):
            self._send(h, method, self._control(method, path, body))
            return
        if path.startswith(("/_blobs/", "/_web/", "/_raw/")):
            self._send(h, method, self._storage(method, path, headers))
            return

        # canonicalise /repositories/{id}/... (the form GitHub's Link headers use)
        m = re.match(r"^/repositories/(\d+)(/.*)?$", path)
        if m:
            with self.lock:
                rec = next((r for r in self.repos.values() if str(r["id"]) == m[1]), None)
            if rec is not None:
                path = f"/repos/{rec['full_name']}{m[2] or ''}"

        rec_headers = dict(headers)
        for k in list(rec_headers):
            if k.lower() == "authorization":
                scheme = rec_headers[k].split(" ", 1)[0]
                rec_headers[k] = f"{scheme} ***"
        parsed = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None

        with self.lock:
            self.requests.append(RecordedRequest(method, path, query, rec_headers, parsed))
            scripted = self._next_script(method, path)

        token = self._token_of(headers)
        if scripted is not None:
            while isinstance(scripted, tuple) and scripted and scripted[0] == "delay":
                time.sleep(float(scripted[1]))
                scripted = scripted[2] if len(scripted) > 2 else None
            if scripted == "reset":
                self._reset(h)
                return
            if scripted is not None:
                self._send(h, method, self._scripted_response(scripted), token)
                return

        try:
            resp = self._route(method, path, query, headers, body, token)
        except ApiError as e:
            resp = Response(e.status, e.body, e.headers)
        except Exception as e:  # noqa: BLE001 — a bug in the fake: answer 500 and keep serving
            import traceback
            traceback.print_exc()
            resp = Response(500, {"message": f"fake_github internal error: {e!r}"})
        if method in ("GET", "HEAD") and resp.status == 200 and isinstance(resp.body, (dict, list)):
            etag = f'W/"{hashlib.sha256(json.dumps(resp.body, sort_keys=True).encode()).hexdigest()[:40]}"'
            if next((v for k, v in headers.items() if k.lower() == "if-none-match"), None) == etag:
                resp = Response(304, None, {"ETag": etag})
            else:
                resp = Response(200, resp.body, {**(resp.headers or {}), "ETag": etag})
        self._send(h, method, resp, token)

    def _read_body(self, h: _Handler) -> bytes | None:
        te = (h.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = h.rfile.readline()
                if not line:
                    return None
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            return b"".join(chunks)
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    def _next_script(self, method: str, path: str):
        for s in self._scripts:
            if (s[0] is None or s[0] == method) and s[1].search(path) and s[2]:
                item = s[2].popleft()
                self._scripts = [x for x in self._scripts if x[2]]
                return item
        return None

    def _scripted_response(self, item) -> Response:
        if isinstance(item, int):
            return Response(item, ApiError(item).body if item >= 400 else {})
        if isinstance(item, tuple):
            if len(item) == 3:
                status, hdrs, body = item
            elif len(item) == 2:
                (status, body), hdrs = item, {}
            else:
                status, hdrs, body = item[0], {}, None
            if body is None and status >= 400:
                body = ApiError(status).body
            return Response(int(status), body, dict(hdrs or {}))
        if isinstance(item, Response):
            return item
        raise ValueError(f"unknown scripted response {item!r}")

    @staticmethod
    def _reset(h: _Handler) -> None:
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
        except OSError:
            pass
        h.close_connection = True

    def _token_of(self, headers: dict) -> dict | None:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if not auth:
            return None
        scheme, _, cred = auth.partition(" ")
        cred = cred.strip()
        if scheme.lower() == "basic":
            try:
                cred = base64.b64decode(cred).decode().partition(":")[2]
            except ValueError:
                cred = ""
        elif scheme.lower() not in ("token", "bearer"):
            cred = ""
        with self.lock:
            return self.tokens.get(cred) or {"invalid": True}

    def _rate_headers(self, token: dict | None) -> dict:
        key = (token or {}).get("token") or "anonymous"
        limit = self.rate_limit if token and not token.get("invalid") else 60
        with self.lock:
            used = self._rate_used[key] = self._rate_used.get(key, 0) + 1
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, limit - used)),
                "X-RateLimit-Reset": str(self._rate_reset), "X-RateLimit-Used": str(used),
                "X-RateLimit-Resource": "core"}

    def _send(self, h: _Handler, method: str, resp: Response, token: dict | None = None,
              rate: bool = True) -> None:
        status, body, extra = resp.status, resp.body, dict(resp.headers or {})
        ctype = None
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif body is None or status in (204, 304):
            data = b""
        else:
            data = json.dumps(body, indent=None, separators=(",", ":")).encode()
            ctype = "application/json; charset=utf-8"
        if "Content-Type" not in extra and ctype:
            extra["Content-Type"] = ctype
        try:
            h.send_response(status)
            base = {"Cache-Control": "private, max-age=60, s-maxage=60",
                    "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding",
                    "X-GitHub-Media-Type": "github.v3; format=json",
                    "X-GitHub-Api-Version-Selected": "2022-11-28",
                    "X-GitHub-Request-Id": f"{secrets.token_hex(2).upper()}:{secrets.token_hex(3).upper()}:"
                                           f"{secrets.token_hex(4).upper()}:{secrets.token_hex(4).upper()}:"
                                           f"{int(time.time()):X}",
                    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "deny",
                    "Access-Control-Allow-Origin": "*"}
            if rate:
                base.update(self._rate_headers(token))
            base.update(extra)
            for k, v in base.items():
                h.send_header(k, str(v))
            no_body = status in (204, 304) or 100 <= status < 200
            if not no_body:
                h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if method != "HEAD" and not no_body and data:
                h.wfile.write(data)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True

    # ------------------------------------------------------------------ control + storage

    def _control(self, method: str, path: str, body: bytes) -> Response:
        if method == "GET" and path == "/_fake/state":
            return Response(200, self.state())
        if method == "POST" and path == "/_fake/call":
            req = json.loads(body or b"{}")
            try:
                result = self.call(req.get("method", ""), req.get("args", []), req.get("kwargs", {}))
            except (KeyError, ValueError, TypeError, AttributeError) as e:
                return Response(400, {"message": str(e)})
            try:
                json.dumps(result)
            except TypeError:
                result = {k: v for k, v in result.items() if not isinstance(v, (bytes, set))} \
                    if isinstance(result, dict) else None
            return Response(200, {"result": result})
        return Response(404, {"message": "Not Found"})

    def _storage(self, method: str, path: str, headers: dict) -> Response:
        """Pre-signed 'storage' URLs: no GitHub auth, and an Authorization header is an error."""
        has_auth = any(k.lower() == "authorization" for k in headers)
        with self.lock:
            self.downloads.append({"method": method, "path": path, "authorization": has_auth})
        if has_auth and self.download_host != self.host:
            return Response(400, S3_AUTH_ERROR, {"Content-Type": "application/xml"})
        with self.lock:
            if path.startswith("/_blobs/"):
                blob = self._blobs.get(path[len("/_blobs/"):])
                if blob is None:
                    return Response(404, b"BlobNotFound", {"Content-Type": "application/xml"})
                data, ctype, fname = blob
                return Response(200, data, {"Content-Type": ctype,
                                            "Content-Disposition": f"attachment; filename={fname}"})
            m = re.match(r"^/_web/([^/]+)/([^/]+)/releases/download/([^/]+)/([^/]+)$", path)
            if m:
                r = self.repos.get(f"{m[1]}/{m[2]}".lower())
                tag, name = unquote(m[3]), unquote(m[4])
                for a in self.assets.values():
                    rel = self.releases[a["release_id"]]
                    if r and a["repo"] == r["full_name"] and rel["tag_name"] == tag and a["name"] == name:
                        a["download_count"] += 1
                        return Response(302, b"", {"Location": self._blob_url(a["data"], a["content_type"],
                                                                               a["name"])})
                return Response(404, b"Not Found", {"Content-Type": "text/plain"})
            m = re.match(r"^/_raw/([^/]+)/([^/]+)/([^/]+)/(.+)$", path)
            if m:
                r = self.repos.get(f"{m[1]}/{m[2]}".lower())
                try:
                    data = self._tree(r, unquote(m[3])).get(unquote(m[4])) if r else None
                except ApiError:
                    data = None
                if data is None:
                    return Response(404, b"404: Not Found", {"Content-Type": "text/plain; charset=utf-8"})
                return Response(200, data, {"Content-Type": "text/plain; charset=utf-8"})
        return Response(404, b"Not Found", {"Content-Type": "text/plain"})

    # ------------------------------------------------------------------ routing

    def _route(self, method, path, query, headers, body, token) -> Response:
        if token is None and not self.allow_anonymous:
            raise ApiError(401, "Requires authentication", doc="https://docs.github.com/rest")
        if token is not None and token.get("invalid"):
            raise ApiError(401, "Bad credentials")
        for m_, rx, fn in self._routes():
            mt = rx.match(path)
            if mt and m_ == method:
                break
            if mt and method == "HEAD" and m_ == "GET":
                break
        else:
            raise ApiError(404)
        if method in ("POST", "PATCH", "PUT", "DELETE"):
            if token is None:
                raise ApiError(401, "Requires authentication")
            if token.get("read_only"):
                raise ApiError(403, "Resource not accessible by integration",
                               doc="https://docs.github.com/rest")
        params = {k: unquote(v) for k, v in mt.groupdict().items()}
        req = _Req(method, path, query, headers, body, token)
        with self.lock:
            return fn(req, **params)

    _ROUTES: ClassVar[list | None] = None

    def _routes(self):
        if FakeGitHub._ROUTES is None:
            R = r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
            table = [
                ("GET", r"^/user$", "get_user"),
                ("GET", r"^/users/(?P<login>[^/]+)$", "get_user_by_login"),
                ("GET", r"^/rate_limit$", "rate_limit"),
                ("GET", r"^/?$", "root"),
                ("GET", R + r"$", "get_repo"),
                ("GET", R + r"/contents/?(?P<path>.*)$", "get_contents"),
                ("GET", R + r"/git/blobs/(?P<sha>[0-9a-f]+)$", "get_blob"),
                ("POST", R + r"/git/blobs$", "create_blob"),
                ("POST", R + r"/git/trees$", "create_tree"),
                ("GET", R + r"/git/trees/(?P<sha>[0-9a-f]+)$", "get_tree"),
                ("POST", R + r"/git/commits$", "create_git_commit"),
                ("GET", R + r"/git/commits/(?P<sha>[0-9a-f]+)$", "get_git_commit"),
                ("GET", R + r"/git/ref/(?P<ref>.+)$", "get_ref"),
                ("GET", R + r"/git/refs$", "list_refs"),
                ("GET", R + r"/git/refs/(?P<ref>.+)$", "get_refs"),
                ("GET", R + r"/git/matching-refs/(?P<ref>.+)$", "matching_refs"),
                ("POST", R + r"/git/refs$", "create_ref"),
                ("PATCH", R + r"/git/refs/(?P<ref>.+)$", "update_ref"),
                ("DELETE", R + r"/git/refs/(?P<ref>.+)$", "delete_ref"),
                ("POST", R + r"/pulls$", "create_pull"),
                ("PATCH", R + r"/pulls/(?P<number>\d+)$", "update_pull"),
                ("GET", R + r"/issues/comments$", "list_repo_comments"),
                ("GET", R + r"/issues/comments/(?P<cid>\d+)$", "get_comment"),
                ("PATCH", R + r"/issues/comments/(?P<cid>\d+)$", "edit_comment"),
                ("DELETE", R + r"/issues/comments/(?P<cid>\d+)$", "delete_comment"),
                ("GET", R + r"/issues/comments/(?P<cid>\d+)/reactions$", "list_reactions"),
                ("POST", R + r"/issues/comments/(?P<cid>\d+)/reactions$", "create_reaction"),
                ("DELETE", R + r"/issues/comments/(?P<cid>\d+)/reactions/(?P<rid>\d+)$", "delete_reaction"),
                ("GET", R + r"/issues/(?P<number>\d+)$", "get_issue"),
                ("GET", R + r"/issues/(?P<number>\d+)/comments$", "list_comments"),
                ("POST", R + r"/issues/(?P<number>\d+)/comments$", "create_comment"),
                ("GET", R + r"/pulls$", "list_pulls"),
                ("GET", R + r"/pulls/(?P<number>\d+)$", "get_pull"),
                ("GET", R + r"/pulls/(?P<number>\d+)/files$", "list_pull_files"),
                ("GET", R + r"/compare/(?P<basehead>[^/]+)$", "compare"),
                ("GET", R + r"/commits/(?P<ref>.+)/pulls$", "commit_pulls"),
                ("POST", R + r"/check-runs$", "create_check_run"),
                ("GET", R + r"/check-runs/(?P<id>\d+)$", "get_check_run"),
                ("PATCH", R + r"/check-runs/(?P<id>\d+)$", "update_check_run"),
                ("GET", R + r"/check-runs/(?P<id>\d+)/annotations$", "list_annotations"),
                ("GET", R + r"/commits/(?P<ref>.+)/check-runs$", "list_check_runs"),
                ("POST", R + r"/statuses/(?P<sha>[^/]+)$", "create_status"),
                ("GET", R + r"/commits/(?P<ref>.+)/statuses$", "list_statuses"),
                ("GET", R + r"/statuses/(?P<ref>[^/]+)$", "list_statuses"),  # older alias PyGithub uses
                ("GET", R + r"/commits/(?P<ref>.+)/status$", "combined_status"),
                ("GET", R + r"/collaborators/(?P<user>[^/]+)/permission$", "collaborator_permission"),
                ("GET", R + r"/collaborators/(?P<user>[^/]+)$", "is_collaborator"),
                ("GET", R + r"/actions/workflows$", "list_workflows"),
                ("GET", R + r"/actions/workflows/(?P<wf>[^/]+)$", "get_workflow"),
                ("GET", R + r"/actions/workflows/(?P<wf>[^/]+)/runs$", "list_runs"),
                ("POST", R + r"/actions/workflows/(?P<wf>[^/]+)/dispatches$", "dispatch_workflow"),
                ("GET", R + r"/actions/runs$", "list_runs"),
                ("GET", R + r"/actions/runs/(?P<run>\d+)$", "get_run"),
                ("POST", R + r"/actions/runs/(?P<run>\d+)/rerun$", "rerun"),
                ("POST", R + r"/actions/runs/(?P<run>\d+)/rerun-failed-jobs$", "rerun_failed"),
                ("GET", R + r"/actions/runs/(?P<run>\d+)/artifacts$", "list_run_artifacts"),
                ("GET", R + r"/actions/artifacts$", "list_artifacts"),
                ("GET", R + r"/actions/artifacts/(?P<id>\d+)$", "get_artifact"),
                ("GET", R + r"/actions/artifacts/(?P<id>\d+)/zip$", "download_artifact"),
                ("GET", R + r"/releases$", "list_releases"),
                ("POST", R + r"/releases$", "create_release"),
                ("GET", R + r"/releases/latest$", "latest_release"),
                ("GET", R + r"/releases/tags/(?P<tag>.+)$", "release_by_tag"),
                ("GET", R + r"/releases/assets/(?P<id>\d+)$", "get_asset"),
                ("DELETE", R + r"/releases/assets/(?P<id>\d+)$", "delete_asset"),
                ("GET", R + r"/releases/(?P<id>\d+)$", "get_release"),
                ("PATCH", R + r"/releases/(?P<id>\d+)$", "update_release"),
                ("DELETE", R + r"/releases/(?P<id>\d+)$", "delete_release"),
                ("GET", R + r"/releases/(?P<id>\d+)/assets$", "list_assets"),
                ("POST", R + r"/releases/(?P<id>\d+)/assets$", "upload_asset"),
                ("GET", R + r"/commits/(?P<ref>.+)$", "get_commit"),  # after the commits/{ref}/... routes
            ]
            FakeGitHub._ROUTES = [(m, re.compile(rx), name) for m, rx, name in table]
        return [(m, rx, getattr(self, "_r_" + name)) for m, rx, name in FakeGitHub._ROUTES]

    # ------------------------------------------------------------------ routes: misc

    def _r_root(self, req):
        return Response(200, {"current_user_url": f"{self.url}/user", "repository_url":
                              f"{self.url}/repos/{{owner}}/{{repo}}", "rate_limit_url": f"{self.url}/rate_limit"})

    def _r_get_user(self, req):
        if req.token is None:
            raise ApiError(401, "Requires authentication")
        if req.token["integration"]:
            raise ApiError(403, "Resource not accessible by integration",
                           doc="https://docs.github.com/rest/users/users#get-the-authenticated-user")
        return Response(200, self._user(req.token["login"]))

    def _r_get_user_by_login(self, req, login):
        if login.lower() not in self.users:
            raise ApiError(404)
        return Response(200, self._user(login))

    def _r_rate_limit(self, req):
        key = (req.token or {}).get("token") or "anonymous"
        used = self._rate_used.get(key, 0)
        core = {"limit": self.rate_limit, "used": used, "remaining": max(0, self.rate_limit - used),
                "reset": self._rate_reset}
        other = {"limit": 30, "used": 0, "remaining": 30, "reset": self._rate_reset}
        return Response(200, {"resources": {"core": core, "search": other, "graphql": dict(core),
                                            "integration_manifest": dict(core), "code_scanning_upload": dict(core)},
                              "rate": core})

    def _r_get_repo(self, req, owner, repo):
        return Response(200, self._repo_json(self._repo(owner, repo), req.token))

    # ------------------------------------------------------------------ routes: contents

    def _r_get_contents(self, req, owner, repo, path):
        r = self._repo(owner, repo)
        ref = req.query.get("ref") or r["default_branch"]
        tree = self._tree(r, ref)
        path = path.strip("/")
        accept = req.accept()
        if path in tree:
            data = tree[path]
            if "raw" in accept:
                return Response(200, data, {"Content-Type": "application/vnd.github.raw; charset=utf-8"})
            return Response(200, self._content_json(r, path, data, ref))
        prefix = path + "/" if path else ""
        entries: dict[str, bytes | None] = {}
        for p, data in tree.items():
            if p.startswith(prefix):
                head, sep, _ = p[len(prefix):].partition("/")
                entries[prefix + head] = None if sep else data
        if not entries:
            raise ApiError(404, doc="https://docs.github.com/rest/repos/contents#get-repository-content")
        return Response(200, [self._content_json(r, p, d, ref, listing=True) for p, d in sorted(entries.items())])

    def _r_get_blob(self, req, owner, repo, sha):
        r = self._repo(owner, repo)
        data = self.git_blobs.get((r["full_name"].lower(), sha))
        if data is not None:
            return Response(200, {"sha": sha, "node_id": _node_id("Blob", sha), "size": len(data),
                                  "url": f"{self._repo_url(r)}/git/blobs/{sha}",
                                  "content": _b64_lines(data), "encoding": "base64"})
        for (k, _), tree in self.files.items():
            if k == r["full_name"].lower():
                for data in tree.values():
                    if _git_blob_sha(data) == sha:
                        return Response(200, {"sha": sha, "node_id": _node_id("Blob", sha), "size": len(data),
                                              "url": f"{self._repo_url(r)}/git/blobs/{sha}",
                                              "content": _b64_lines(data), "encoding": "base64"})
        raise ApiError(404)

    # ------------------------------------------------------------------ routes: issues + comments

    def _issue(self, r, number) -> dict:
        i = self.issues.get((r["full_name"].lower(), int(number)))
        if i is None:
            raise ApiError(404)
        return i

    def _comment(self, r, cid) -> dict:
        c = self.comments.get(int(cid))
        if c is None or c["repo"].lower() != r["full_name"].lower():
            raise ApiError(404)
        return c

    def _check_body(self, body: Any) -> str:
        if not isinstance(body, str) or body == "":
            raise _validation("IssueComment", "body", "missing_field")
        if len(body) > MAX_COMMENT_BODY:
            raise _validation("IssueComment", "body", "custom",
                              f"body is too long (maximum is {MAX_COMMENT_BODY} characters)")
        return body

    def _r_get_issue(self, req, owner, repo, number):
        r = self._repo(owner, repo)
        return Response(200, self._issue_json(r, self._issue(r, number)))

    def _r_list_comments(self, req, owner, repo, number):
        r = self._repo(owner, repo)
        self._issue(r, number)
        items = [self._comment_json(c) for c in self.issue_comments(r["full_name"], int(number))]
        if "since" in req.query:
            items = [c for c in items if c["updated_at"] >= req.query["since"]]
        return self._paginate(req, items)

    def _r_list_repo_comments(self, req, owner, repo):
        r = self._repo(owner, repo)
        items = [c for c in sorted(self.comments.values(), key=lambda c: c["id"])
                 if c["repo"].lower() == r["full_name"].lower()]
        if req.query.get("direction") == "desc":
            items.reverse()
        items = [self._comment_json(c) for c in items]
        if "since" in req.query:
            items = [c for c in items if c["updated_at"] >= req.query["since"]]
        return self._paginate(req, items)

    def _r_create_comment(self, req, owner, repo, number):
        r = self._repo(owner, repo)
        self._issue(r, number)
        body = self._check_body(req.json.get("body") if isinstance(req.json, dict) else None)
        c = self.add_comment(r["full_name"], int(number), body, user=req.token["login"])
        d = self._comment_json(c)
        return Response(201, d, {"Location": d["url"]})

    def _r_get_comment(self, req, owner, repo, cid):
        r = self._repo(owner, repo)
        return Response(200, self._comment_json(self._comment(r, cid)))

    def _r_edit_comment(self, req, owner, repo, cid):
        r = self._repo(owner, repo)
        c = self._comment(r, cid)
        c["body"] = self._check_body(req.json.get("body") if isinstance(req.json, dict) else None)
        c["updated_at"] = _now()
        return Response(200, self._comment_json(c))

    def _r_delete_comment(self, req, owner, repo, cid):
        r = self._repo(owner, repo)
        c = self._comment(r, cid)
        del self.comments[c["id"]]
        self.reactions.pop(c["id"], None)
        return Response(204)

    def _reaction_json(self, x):
        return {"id": x["id"], "node_id": _node_id("Reaction", x["id"]), "user": self._user(x["user"]),
                "content": x["content"], "created_at": x["created_at"]}

    def _r_list_reactions(self, req, owner, repo, cid):
        r = self._repo(owner, repo)
        c = self._comment(r, cid)
        items = self.reactions.get(c["id"], [])
        if "content" in req.query:
            items = [x for x in items if x["content"] == req.query["content"]]
        return self._paginate(req, [self._reaction_json(x) for x in items])

    def _r_create_reaction(self, req, owner, repo, cid):
        r = self._repo(owner, repo)
        c = self._comment(r, cid)
        content = req.json.get("content") if isinstance(req.json, dict) else None
        if content not in REACTIONS:
            raise _validation("Reaction", "content", "invalid")
        login = req.token["login"]
        lst = self.reactions.setdefault(c["id"], [])
        for x in lst:
            if x["user"] == login and x["content"] == content:
                return Response(200, self._reaction_json(x))
        x = {"id": 300_000_000 + next(self._ids), "user": login, "content": content, "created_at": _now()}
        lst.append(x)
        return Response(201, self._reaction_json(x))

    def _r_delete_reaction(self, req, owner, repo, cid, rid):
        r = self._repo(owner, repo)
        c = self._comment(r, cid)
        lst = self.reactions.get(c["id"], [])
        self.reactions[c["id"]] = [x for x in lst if x["id"] != int(rid)]
        return Response(204)

    # ------------------------------------------------------------------ routes: pulls

    def _pull(self, r, number) -> dict:
        p = self.pulls.get((r["full_name"].lower(), int(number)))
        if p is None:
            raise ApiError(404)
        return p

    def _r_list_pulls(self, req, owner, repo):
        r = self._repo(owner, repo)
        state = req.query.get("state", "open")
        items = [p for (k, _), p in self.pulls.items() if k == r["full_name"].lower()
                 and (state == "all" or p["state"] == state)]
        if "head" in req.query:
            items = [p for p in items if f"{self.repos[p['head_repo'].lower()]['owner']}:{p['head_ref']}".lower()
                     == req.query["head"].lower()]
        if "base" in req.query:
            items = [p for p in items if p["base_ref"] == req.query["base"]]
        items.sort(key=lambda p: p["number"], reverse=req.query.get("direction", "desc") == "desc")
        return self._paginate(req, [self._pull_json(r, p, full=False) for p in items])

    def _r_get_pull(self, req, owner, repo, number):
        r = self._repo(owner, repo)
        return Response(200, self._pull_json(r, self._pull(r, number)))

    def set_compare_files(self, repo: str, base: str, head: str, files: list[str]) -> None:
        """What ``GET /compare/{base}...{head}`` lists (default: the files of the PR whose head is
        ``head``, the diff GitHub would compute from their merge base)."""
        with self.lock:
            self.compare_files[(repo.lower(), base, head)] = list(files)

    def _r_compare(self, req, owner, repo, basehead):
        r = self._repo(owner, repo)
        base, sep, head = basehead.partition("...")
        if not sep:
            raise ApiError(404)
        names = self.compare_files.get((r["full_name"].lower(), base, head))
        if names is None:
            names = []
            for (k, _), p in sorted(self.pulls.items()):
                if k == r["full_name"].lower() and p["head_sha"] == head:
                    names += [f["filename"] for f in self.pull_files.get((k, p["number"]), [])]
        u = self._repo_url(r)
        files = [{"sha": _fake_sha(n), "filename": n, "status": "modified", "additions": 1, "deletions": 0,
                  "changes": 1, "blob_url": f"{WEB}/{r['full_name']}/blob/{head}/{quote(n)}",
                  "raw_url": f"{WEB}/{r['full_name']}/raw/{head}/{quote(n)}",
                  "contents_url": f"{u}/contents/{quote(n)}?ref={head}"} for n in dict.fromkeys(names)][:300]
        return Response(200, {"url": f"{u}/compare/{basehead}", "html_url": f"{WEB}/{r['full_name']}/compare/{basehead}",
                              "permalink_url": f"{WEB}/{r['full_name']}/compare/{basehead}",
                              "diff_url": f"{WEB}/{r['full_name']}/compare/{basehead}.diff",
                              "patch_url": f"{WEB}/{r['full_name']}/compare/{basehead}.patch",
                              "status": "ahead", "ahead_by": 1, "behind_by": 0, "total_commits": 1,
                              "commits": [], "files": files})

    def _r_list_pull_files(self, req, owner, repo, number):
        r = self._repo(owner, repo)
        p = self._pull(r, number)
        out = []
        for f in self.pull_files.get((r["full_name"].lower(), p["number"]), [])[:3000]:
            fn = quote(f["filename"])
            d = {"sha": f["sha"], "filename": f["filename"], "status": f["status"],
                 "additions": f["additions"], "deletions": f["deletions"], "changes": f["changes"],
                 "blob_url": f"{WEB}/{r['full_name']}/blob/{p['head_sha']}/{fn}",
                 "raw_url": f"{WEB}/{r['full_name']}/raw/{p['head_sha']}/{fn}",
                 "contents_url": f"{self._repo_url(r)}/contents/{fn}?ref={p['head_sha']}"}
            if "patch" in f:
                d["patch"] = f["patch"]
            if "previous_filename" in f:
                d["previous_filename"] = f["previous_filename"]
            out.append(d)
        return self._paginate(req, out)

    def _r_get_commit(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        sha = self._resolve_sha(r, ref)
        known = sha in r["known_shas"] or sha in r["branches"].values() or any(
            p["head_sha"] == sha for p in self.pulls.values() if p["head_repo"].lower() == r["full_name"].lower())
        if not known:
            raise ApiError(422, f"No commit found for SHA: {ref}",
                           doc="https://docs.github.com/rest/commits/commits#get-a-commit")
        u = self._repo_url(r)
        person = {"name": "Monalisa Octocat", "email": "mona@github.com", "date": r["created_at"]}
        return Response(200, {
            "sha": sha, "node_id": _node_id("Commit", sha), "url": f"{u}/commits/{sha}",
            "html_url": f"{WEB}/{r['full_name']}/commit/{sha}", "comments_url": f"{u}/commits/{sha}/comments",
            "commit": {"url": f"{u}/git/commits/{sha}", "author": person, "committer": person,
                       "message": "A commit", "comment_count": 0,
                       "tree": {"url": f"{u}/git/trees/{_fake_sha('tree', sha)}", "sha": _fake_sha("tree", sha)},
                       "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                        "payload": None}},
            "author": self._user(r["owner"]), "committer": self._user(r["owner"]), "parents": [],
            "stats": {"additions": 0, "deletions": 0, "total": 0}, "files": []})

    def _r_commit_pulls(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        sha = self._resolve_sha(r, ref)
        items = [self._pull_json(r, p, full=False) for (k, _), p in sorted(self.pulls.items())
                 if k == r["full_name"].lower() and p["head_sha"] == sha]
        return self._paginate(req, items)

    # ------------------------------------------------------------------ routes: checks + statuses

    def _check_output(self, out: Any, c: dict | None) -> dict:
        if out is None:
            return c["output"] if c else {}
        if not isinstance(out, dict):
            raise _validation("CheckRun", "output", "invalid")
        if c is None or out:
            for f in ("title", "summary"):
                if not isinstance(out.get(f), str):
                    raise ApiError(422, f"Invalid request.\n\nNo subschema in \"anyOf\" matched.\n"
                                        f"\"{f}\" wasn't supplied.")
        for f in ("summary", "text"):
            v = out.get(f)
            if isinstance(v, str) and len(v) > MAX_CHECK_OUTPUT:
                raise ApiError(422, f"Invalid request.\n\nOnly {MAX_CHECK_OUTPUT} characters are allowed; "
                                    f"{len(v)} were supplied.",
                               doc="https://docs.github.com/rest/checks/runs#create-a-check-run")
        anns = out.get("annotations") or []
        if len(anns) > 50:
            raise ApiError(422, "Invalid request.\n\nOnly 50 annotations are allowed per request.")
        return {"title": out.get("title"), "summary": out.get("summary"), "text": out.get("text"),
                "_annotations": list(anns)}

    def _apply_check_fields(self, c: dict, body: dict) -> None:
        if "status" in body:
            if body["status"] not in CHECK_STATUSES:
                raise _validation("CheckRun", "status", "invalid")
            c["status"] = body["status"]
        if "conclusion" in body and body["conclusion"] is not None:
            if body["conclusion"] not in CHECK_CONCLUSIONS:
                raise _validation("CheckRun", "conclusion", "invalid")
            c["conclusion"] = body["conclusion"]
            c["status"] = "completed"
        for f in ("details_url", "external_id", "started_at", "completed_at", "name"):
            if f in body:
                c[f] = body[f]
        if c["status"] == "completed":
            if not c["conclusion"]:
                raise ApiError(422, "Invalid request.\n\nWhen the status is 'completed', a conclusion is "
                                    "required.")
            c["completed_at"] = c["completed_at"] or _now()
        else:
            c["conclusion"] = None
            c["completed_at"] = None

    def _r_create_check_run(self, req, owner, repo):
        r = self._repo(owner, repo)
        body = req.json if isinstance(req.json, dict) else {}
        for f in ("name", "head_sha"):
            if not isinstance(body.get(f), str) or not body[f]:
                raise ApiError(422, f"Invalid request.\n\n\"{f}\" wasn't supplied.")
        cid = next(self._check_ids)
        c = {"id": cid, "repo": r["full_name"], "name": body["name"], "head_sha": body["head_sha"],
             "status": "queued", "conclusion": None, "details_url": None, "external_id": "",
             "started_at": _now(), "completed_at": None, "output": {}, "annotations": [],
             "check_suite_id": 40_000_000_000 + int(_fake_sha(r["full_name"], body["head_sha"])[:8], 16),
             "created_by": req.token["login"], "actions": body.get("actions", [])}
        self._apply_check_fields(c, body)
        out = self._check_output(body.get("output"), None)
        c["annotations"] += out.pop("_annotations", [])
        c["output"] = out
        r["known_shas"].add(body["head_sha"])
        self.check_runs[cid] = c
        return Response(201, self._check_run_json(c))

    def _check(self, r, cid) -> dict:
        c = self.check_runs.get(int(cid))
        if c is None or c["repo"].lower() != r["full_name"].lower():
            raise ApiError(404)
        return c

    def _r_get_check_run(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        return Response(200, self._check_run_json(self._check(r, id)))

    def _r_update_check_run(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        c = self._check(r, id)
        body = req.json if isinstance(req.json, dict) else {}
        trial = copy.deepcopy(c)
        self._apply_check_fields(trial, body)
        if "output" in body:
            out = self._check_output(body["output"], trial)
            trial["annotations"] += out.pop("_annotations", [])
            trial["output"] = out
        c.update(trial)
        return Response(200, self._check_run_json(c))

    def _r_list_annotations(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        return self._paginate(req, list(self._check(r, id)["annotations"]))

    def _r_list_check_runs(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        sha = self._resolve_sha(r, ref)
        runs = sorted((c for c in self.check_runs.values()
                       if c["repo"].lower() == r["full_name"].lower() and c["head_sha"] == sha),
                      key=lambda c: c["id"], reverse=True)
        if "check_name" in req.query:
            runs = [c for c in runs if c["name"] == req.query["check_name"]]
        if "status" in req.query:
            runs = [c for c in runs if c["status"] == req.query["status"]]
        if req.query.get("filter", "latest") == "latest":
            seen, latest = set(), []
            for c in runs:
                if c["name"] not in seen:
                    seen.add(c["name"])
                    latest.append(c)
            runs = latest
        return self._paginate(req, [self._check_run_json(c) for c in runs], wrap="check_runs")

    def _r_create_status(self, req, owner, repo, sha):
        r = self._repo(owner, repo)
        body = req.json if isinstance(req.json, dict) else {}
        if body.get("state") not in STATUS_STATES:
            raise _validation("Status", "state", "custom",
                              "state is not included in the list")
        desc = body.get("description")
        if isinstance(desc, str) and len(desc) > 140:
            raise _validation("Status", "description", "custom",
                              "description is too long (maximum is 140 characters)")
        s = {"id": 400_000_000 + next(self._ids), "repo": r["full_name"], "sha": sha, "state": body["state"],
             "description": desc, "target_url": body.get("target_url"),
             "context": body.get("context") or "default", "created_at": _now(), "creator": req.token["login"]}
        r["known_shas"].add(sha)
        self.statuses.append(s)
        return Response(201, self._status_json(s))

    def _statuses_for(self, r, ref):
        sha = self._resolve_sha(r, ref)
        return sha, [s for s in reversed(self.statuses)
                     if s["repo"].lower() == r["full_name"].lower() and s["sha"] == sha]

    def _r_list_statuses(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        _, items = self._statuses_for(r, ref)
        return self._paginate(req, [self._status_json(s) for s in items])

    def _r_combined_status(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        sha, items = self._statuses_for(r, ref)
        latest, seen = [], set()
        for s in items:
            if s["context"] not in seen:
                seen.add(s["context"])
                latest.append(s)
        states = {s["state"] for s in latest}
        state = ("failure" if states & {"failure", "error"} else "pending" if "pending" in states or not states
                 else "success")
        return Response(200, {"state": state, "statuses": [self._status_json(s) for s in latest], "sha": sha,
                              "total_count": len(latest), "repository": self._repo_json(r, full=False),
                              "commit_url": f"{self._repo_url(r)}/commits/{sha}",
                              "url": f"{self._repo_url(r)}/commits/{sha}/status"})

    # ------------------------------------------------------------------ routes: collaborators

    def _r_collaborator_permission(self, req, owner, repo, user):
        r = self._repo(owner, repo)
        role = self._role(r, user)
        u = self._user(user)
        rank = ROLE_RANK[role]
        u["permissions"] = {"admin": rank >= 5, "maintain": rank >= 4, "push": rank >= 3,
                            "triage": rank >= 2, "pull": rank >= 1}
        u["role_name"] = role
        return Response(200, {"permission": LEGACY_PERMISSION[role], "role_name": role, "user": u})

    def _r_is_collaborator(self, req, owner, repo, user):
        r = self._repo(owner, repo)
        explicit = (r["full_name"].lower(), user.lower()) in self.permissions
        owner_ = user.lower() == r["owner"].lower()
        if (explicit and self.permissions[(r["full_name"].lower(), user.lower())] != "none") or owner_:
            return Response(204)
        raise ApiError(404)

    # ------------------------------------------------------------------ routes: actions

    def _run(self, r, run_id) -> dict:
        run = self.workflow_runs.get(int(run_id))
        if run is None or run["repo"].lower() != r["full_name"].lower():
            raise ApiError(404)
        return run

    def _r_list_workflows(self, req, owner, repo):
        r = self._repo(owner, repo)
        items = [self._workflow_json(w) for (k, _), w in self.workflows.items() if k == r["full_name"].lower()]
        return self._paginate(req, items, wrap="workflows")

    def _r_get_workflow(self, req, owner, repo, wf):
        r = self._repo(owner, repo)
        return Response(200, self._workflow_json(self._workflow(r, wf)))

    def _r_list_runs(self, req, owner, repo, wf=None):
        r = self._repo(owner, repo)
        w = self._workflow(r, wf) if wf is not None else None
        q = req.query
        runs = [x for x in self.workflow_runs.values() if x["repo"].lower() == r["full_name"].lower()
                and (w is None or x["workflow_id"] == w["id"])]
        if "head_sha" in q:
            runs = [x for x in runs if x["head_sha"] == q["head_sha"]]
        if "event" in q:
            runs = [x for x in runs if x["event"] == q["event"]]
        if "branch" in q:
            runs = [x for x in runs if x["head_branch"] == q["branch"]]
        if "actor" in q:
            runs = [x for x in runs if x["actor"].lower() == q["actor"].lower()]
        if "status" in q:
            runs = [x for x in runs if q["status"] in (x["status"], x["conclusion"])]
        runs.sort(key=lambda x: (x["created_at"], x["id"]), reverse=True)
        return self._paginate(req, [self._run_json(x) for x in runs], wrap="workflow_runs")

    def _r_get_run(self, req, owner, repo, run):
        r = self._repo(owner, repo)
        return Response(200, self._run_json(self._run(r, run)))

    def _do_rerun(self, req, r, run_id, kind):
        run = self._run(r, run_id)
        if run["status"] != "completed":
            raise ApiError(403, "This workflow is already running",
                           doc="https://docs.github.com/rest/actions/workflow-runs#re-run-a-workflow")
        self.reruns.append({"run_id": run["id"], "repo": r["full_name"], "by": req.token["login"], "kind": kind,
                            "at": _now(), "attempt": run["run_attempt"] + 1,
                            "enable_debug_logging": bool((req.json or {}).get("enable_debug_logging"))
                            if isinstance(req.json, dict) else False})
        run.update(status="queued", conclusion=None, run_attempt=run["run_attempt"] + 1, updated_at=_now())
        return Response(201, {})

    def _r_rerun(self, req, owner, repo, run):
        return self._do_rerun(req, self._repo(owner, repo), run, "rerun")

    def _r_rerun_failed(self, req, owner, repo, run):
        return self._do_rerun(req, self._repo(owner, repo), run, "rerun-failed-jobs")

    def _r_dispatch_workflow(self, req, owner, repo, wf):
        r = self._repo(owner, repo)
        w = self._workflow(r, wf)
        body = req.json if isinstance(req.json, dict) else {}
        if not body.get("ref"):
            raise _validation("Workflow", "ref", "missing_field")
        self.dispatches.append({"repo": r["full_name"], "workflow": w["file"], "ref": body["ref"],
                                "inputs": body.get("inputs") or {}, "by": req.token["login"], "at": _now()})
        return Response(204)

    def _r_list_run_artifacts(self, req, owner, repo, run):
        r = self._repo(owner, repo)
        self._run(r, run)
        items = [a for a in sorted(self.artifacts.values(), key=lambda a: a["id"]) if a["run_id"] == int(run)]
        if "name" in req.query:
            items = [a for a in items if a["name"] == req.query["name"]]
        return self._paginate(req, [self._artifact_json(a) for a in items], wrap="artifacts")

    def _r_list_artifacts(self, req, owner, repo):
        r = self._repo(owner, repo)
        items = [a for a in sorted(self.artifacts.values(), key=lambda a: a["id"], reverse=True)
                 if a["repo"].lower() == r["full_name"].lower()]
        if "name" in req.query:
            items = [a for a in items if a["name"] == req.query["name"]]
        return self._paginate(req, [self._artifact_json(a) for a in items], wrap="artifacts")

    def _artifact(self, r, aid) -> dict:
        a = self.artifacts.get(int(aid))
        if a is None or a["repo"].lower() != r["full_name"].lower():
            raise ApiError(404)
        return a

    def _r_get_artifact(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        return Response(200, self._artifact_json(self._artifact(r, id)))

    def _r_download_artifact(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        if req.token is None:
            raise ApiError(401, "Requires authentication")
        a = self._artifact(r, id)
        if a["expired"]:
            raise ApiError(410, "Artifact has expired")
        return Response(302, b"", {"Location": self._blob_url(a["zip"], "application/zip", f"{a['name']}.zip")})

    # ------------------------------------------------------------------ routes: releases

    def _release(self, r, rid) -> dict:
        rel = self.releases.get(int(rid))
        if rel is None or rel["repo"].lower() != r["full_name"].lower():
            raise ApiError(404)
        return rel

    def _can_see_drafts(self, req, r) -> bool:
        return req.token is not None and ROLE_RANK[self._role(r, req.token["login"])] >= 3 \
            or (req.token is not None and req.token["login"] == "github-actions[bot]")

    def _r_list_releases(self, req, owner, repo):
        r = self._repo(owner, repo)
        drafts = self._can_see_drafts(req, r)
        items = [x for x in sorted(self.releases.values(), key=lambda x: x["id"], reverse=True)
                 if x["repo"].lower() == r["full_name"].lower() and (drafts or not x["draft"])]
        return self._paginate(req, [self._release_json(x) for x in items])

    def _r_create_release(self, req, owner, repo):
        r = self._repo(owner, repo)
        rel = self._create_release(r, req.json if isinstance(req.json, dict) else {}, req.token["login"])
        d = self._release_json(rel)
        return Response(201, d, {"Location": d["url"]})

    def _r_latest_release(self, req, owner, repo):
        r = self._repo(owner, repo)
        rel = self._latest_release(r)
        if rel is None:
            raise ApiError(404, doc="https://docs.github.com/rest/releases/releases#get-the-latest-release")
        return Response(200, self._release_json(rel))

    def _r_release_by_tag(self, req, owner, repo, tag):
        r = self._repo(owner, repo)
        for rel in self.releases.values():
            if rel["repo"].lower() == r["full_name"].lower() and rel["tag_name"] == tag and not rel["draft"]:
                return Response(200, self._release_json(rel))
        raise ApiError(404)

    def _r_get_release(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        rel = self._release(r, id)
        if rel["draft"] and not self._can_see_drafts(req, r):
            raise ApiError(404)
        return Response(200, self._release_json(rel))

    def _r_update_release(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        rel = self._release(r, id)
        body = req.json if isinstance(req.json, dict) else {}
        if "tag_name" in body and body["tag_name"] != rel["tag_name"]:
            if any(x["repo"] == rel["repo"] and x["tag_name"] == body["tag_name"] for x in self.releases.values()):
                raise _validation("Release", "tag_name", "already_exists")
            rel["tag_name"] = body["tag_name"]
        for f in ("name", "body", "target_commitish", "prerelease"):
            if f in body:
                rel[f] = body[f]
        was_draft = rel["draft"]
        if "draft" in body:
            rel["draft"] = bool(body["draft"])
            if was_draft and not rel["draft"]:
                rel["published_at"] = _now()
        rel["updated_at"] = _now()
        make_latest = str(body.get("make_latest", "true" if (was_draft and not rel["draft"]) else "")).lower()
        if make_latest:
            if make_latest not in ("true", "false", "legacy"):
                raise _validation("Release", "make_latest", "invalid")
            self._apply_make_latest(r, rel, make_latest)
        return Response(200, self._release_json(rel))

    def _r_delete_release(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        rel = self._release(r, id)
        del self.releases[rel["id"]]
        for aid in [a["id"] for a in self.assets.values() if a["release_id"] == rel["id"]]:
            del self.assets[aid]
        if r["latest_release_id"] == rel["id"]:
            r["latest_release_id"] = None
        return Response(204)

    def _r_list_assets(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        rel = self._release(r, id)
        items = [self._asset_json(a) for a in sorted(self.assets.values(), key=lambda a: a["id"])
                 if a["release_id"] == rel["id"]]
        return self._paginate(req, items)

    def _r_upload_asset(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        rel = self._release(r, id)
        name = req.query.get("name")
        if not name:
            raise _validation("ReleaseAsset", "name", "missing_field")
        ctype = next((v for k, v in req.headers.items() if k.lower() == "content-type"), None)
        if not ctype:
            raise ApiError(422, "Content-Type header is required")
        a = self._create_asset(rel, name, req.query.get("label", ""), ctype, req.body, req.token["login"])
        return Response(201, self._asset_json(a))

    def _asset(self, r, aid) -> dict:
        a = self.assets.get(int(aid))
        if a is None or a["repo"].lower() != r["full_name"].lower():
            raise ApiError(404)
        return a

    def _r_get_asset(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        a = self._asset(r, id)
        if "application/octet-stream" in req.accept():
            a["download_count"] += 1
            return Response(302, b"", {"Location": self._blob_url(a["data"], a["content_type"], a["name"])})
        return Response(200, self._asset_json(a))

    def _r_delete_asset(self, req, owner, repo, id):
        r = self._repo(owner, repo)
        a = self._asset(r, id)
        del self.assets[a["id"]]
        return Response(204)

    # ------------------------------------------------------------------ routes: git data

    GIT_MODES = ("100644", "100755", "040000", "160000", "120000")
    MAX_BLOB_BYTES = 100 * 1024 * 1024  # GitHub refuses files of 100 MB

    def _git_url(self, r: dict, kind: str, sha: str) -> str:
        return f"{self._repo_url(r)}/git/{kind}/{sha}"

    def _store_blob(self, r: dict, data: bytes) -> str:
        sha = _git_blob_sha(data)
        self.git_blobs[(r["full_name"].lower(), sha)] = data
        return sha

    def _store_tree(self, r: dict, flat: dict[str, dict]) -> str:
        sha = _fake_sha("tree", *sorted(f"{p}\0{e['mode']}\0{e['type']}\0{e['sha']}" for p, e in flat.items()))
        self.git_trees[(r["full_name"].lower(), sha)] = dict(flat)
        return sha

    def _known_commit(self, r: dict, sha: str) -> bool:
        key = r["full_name"].lower()
        return ((key, sha) in self.git_commits or sha in r["known_shas"] or sha in r["branches"].values()
                or any(p["head_sha"] == sha for p in self.pulls.values() if p["head_repo"].lower() == key))

    def _git_commit_rec(self, r: dict, sha: str) -> dict:
        """A commit object; a head the fake knows only by its files (``set_branch``/``set_file``)
        gets one synthesised on first use, its tree holding those files, with no parents."""
        key = (r["full_name"].lower(), sha)
        if key not in self.git_commits:
            if not self._known_commit(r, sha):
                raise ApiError(404, doc="https://docs.github.com/rest/git/commits#get-a-commit-object")
            files = self._tree(r, sha)
            flat = {p: {"mode": "100644", "type": "blob", "sha": self._store_blob(r, d)} for p, d in files.items()}
            person = {"name": "Monalisa Octocat", "email": "mona@github.com", "date": r["created_at"]}
            self.git_commits[key] = {"sha": sha, "tree": self._store_tree(r, flat), "parents": [],
                                     "message": "A commit", "author": person, "committer": person}
        return self.git_commits[key]

    def _git_commit_json(self, r: dict, c: dict) -> dict:
        return {"sha": c["sha"], "node_id": _node_id("Commit", c["sha"]), "url": self._git_url(r, "commits", c["sha"]),
                "html_url": f"{WEB}/{r['full_name']}/commit/{c['sha']}", "author": c["author"],
                "committer": c["committer"], "message": c["message"],
                "tree": {"sha": c["tree"], "url": self._git_url(r, "trees", c["tree"])},
                "parents": [{"sha": p, "url": self._git_url(r, "commits", p),
                             "html_url": f"{WEB}/{r['full_name']}/commit/{p}"} for p in c["parents"]],
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                                 "verified_at": None}}

    def _tree_json(self, r: dict, sha: str, recursive: bool) -> dict:
        flat = self.git_trees[(r["full_name"].lower(), sha)]
        entries: dict[str, dict] = {}
        for path, e in flat.items():
            parts = path.split("/")
            for depth in range(1, len(parts)):  # the directories on the way
                d = "/".join(parts[:depth])
                if (recursive or depth == 1) and d not in entries:
                    sub = {p[len(d) + 1:]: x for p, x in flat.items() if p.startswith(d + "/")}
                    entries[d] = {"path": d, "mode": "040000", "type": "tree", "sha": self._store_tree(r, sub)}
            if recursive or len(parts) == 1:
                entries[path] = {"path": path, **e}
        items = []
        for path in sorted(entries):
            e = dict(entries[path])
            kind = "blobs" if e["type"] == "blob" else "trees" if e["type"] == "tree" else "commits"
            if e["type"] == "blob":
                e["size"] = len(self.git_blobs.get((r["full_name"].lower(), e["sha"]), b""))
            e["url"] = self._git_url(r, kind, e["sha"])
            items.append(e)
        return {"sha": sha, "url": self._git_url(r, "trees", sha), "tree": items, "truncated": False}

    def _r_create_blob(self, req, owner, repo):
        r = self._repo(owner, repo)
        body = req.json if isinstance(req.json, dict) else {}
        content, encoding = body.get("content"), body.get("encoding", "utf-8")
        if not isinstance(content, str):
            raise _validation("Blob", "content", "missing_field")
        if encoding not in ("utf-8", "utf8", "base64"):
            raise ApiError(422, f"encoding must be 'utf-8' or 'base64', got {encoding!r}")
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=False)
            except ValueError:
                raise ApiError(422, "content is not valid Base64") from None
        else:
            data = content.encode()
        if len(data) >= self.MAX_BLOB_BYTES:
            raise ApiError(422, "content is too large (maximum is 100 MB)",
                           doc="https://docs.github.com/rest/git/blobs#create-a-blob")
        sha = self._store_blob(r, data)
        url = self._git_url(r, "blobs", sha)
        return Response(201, {"url": url, "sha": sha}, {"Location": url})

    def _r_create_tree(self, req, owner, repo):
        r = self._repo(owner, repo)
        key = r["full_name"].lower()
        body = req.json if isinstance(req.json, dict) else {}
        items = body.get("tree")
        if not isinstance(items, list):
            raise _validation("Tree", "tree", "missing_field")
        flat: dict[str, dict] = {}
        if body.get("base_tree") is not None:
            if (key, body["base_tree"]) not in self.git_trees:
                raise ApiError(404, doc="https://docs.github.com/rest/git/trees#create-a-tree")
            flat = dict(self.git_trees[(key, body["base_tree"])])
        for item in items:
            path = item.get("path") if isinstance(item, dict) else None
            if not isinstance(path, str) or not path or path.startswith("/") or path.endswith("/"):
                raise ApiError(422, f"tree.path contains a malformed path component: {path!r}")
            if item.get("mode") not in self.GIT_MODES:
                raise ApiError(422, f"tree.mode must be one of {', '.join(self.GIT_MODES)}")
            kind = item.get("type")
            if kind not in ("blob", "tree", "commit"):
                raise ApiError(422, "tree.type must be blob, tree or commit")
            if "content" in item and item["content"] is not None:
                sha = self._store_blob(r, str(item["content"]).encode())
            elif item.get("sha") is None:  # deletes the path (and what is under it)
                flat = {p: e for p, e in flat.items() if p != path and not p.startswith(path + "/")}
                continue
            else:
                sha = item["sha"]
                if kind == "blob" and (key, sha) not in self.git_blobs:
                    raise ApiError(422, f"tree.sha {sha} is not a valid blob")
            if kind == "tree":
                sub = self.git_trees.get((key, sha))
                if sub is None:
                    raise ApiError(422, f"tree.sha {sha} is not a valid tree")
                flat = {p: e for p, e in flat.items() if p != path and not p.startswith(path + "/")}
                flat.update({f"{path}/{p}": e for p, e in sub.items()})
                continue
            flat = {p: e for p, e in flat.items() if not p.startswith(path + "/")}
            flat[path] = {"mode": item["mode"], "type": kind, "sha": sha}
        sha = self._store_tree(r, flat)
        return Response(201, self._tree_json(r, sha, recursive=False), {"Location": self._git_url(r, "trees", sha)})

    def _r_get_tree(self, req, owner, repo, sha):
        r = self._repo(owner, repo)
        if (r["full_name"].lower(), sha) not in self.git_trees:
            raise ApiError(404, doc="https://docs.github.com/rest/git/trees#get-a-tree")
        recursive = req.query.get("recursive") not in (None, "", "0", "false")
        return Response(200, self._tree_json(r, sha, recursive))

    def _r_create_git_commit(self, req, owner, repo):
        r = self._repo(owner, repo)
        key = r["full_name"].lower()
        body = req.json if isinstance(req.json, dict) else {}
        if not isinstance(body.get("message"), str):
            raise _validation("Commit", "message", "missing_field")
        tree = body.get("tree")
        if (key, tree) not in self.git_trees:
            raise ApiError(422, "Tree SHA does not exist", doc="https://docs.github.com/rest/git/commits#create-a-commit")
        parents = body.get("parents", [])
        if not isinstance(parents, list):
            raise _validation("Commit", "parents", "invalid")
        for parent in parents:
            if not isinstance(parent, str) or not self._known_commit(r, parent):
                raise ApiError(422, "Parent SHA does not exist or is not a commit object",
                               doc="https://docs.github.com/rest/git/commits#create-a-commit")
            self._git_commit_rec(r, parent)
        login = req.token["login"]
        user = self._ensure_user(login)
        person = {"name": login, "email": f"{user['id']}+{login}@users.noreply.github.com", "date": _now()}
        author = {**person, **(body.get("author") or {})}
        committer = {**person, **(body.get("committer") or {})}
        # A real commit's SHA covers its timestamps: the same tree and parents again is a new commit.
        sha = _fake_sha("commit", key, tree, *parents, body["message"], author, committer, next(self._ids))
        c = {"sha": sha, "tree": tree, "parents": list(parents), "message": body["message"], "author": author,
             "committer": committer}
        self.git_commits[(key, sha)] = c
        self.files[(key, sha)] = {p: self.git_blobs[(key, e["sha"])] for p, e in self.git_trees[(key, tree)].items()
                                  if e["type"] == "blob" and (key, e["sha"]) in self.git_blobs}
        r["known_shas"].add(sha)
        url = self._git_url(r, "commits", sha)
        return Response(201, self._git_commit_json(r, c), {"Location": url})

    def _r_get_git_commit(self, req, owner, repo, sha):
        r = self._repo(owner, repo)
        return Response(200, self._git_commit_json(r, self._git_commit_rec(r, sha)))

    # refs: refs/heads/* are the repository's branches; other refs are kept beside them

    def _all_refs(self, r: dict) -> dict[str, str]:
        refs = {f"refs/heads/{b}": sha for b, sha in r["branches"].items()}
        refs.update(r.setdefault("refs", {}))
        return dict(sorted(refs.items()))

    def _ref_json(self, r: dict, ref: str, sha: str) -> dict:
        return {"ref": ref, "node_id": _node_id("Ref", f"{r['full_name']}:{ref}"),
                "url": f"{self._repo_url(r)}/git/{quote(ref)}",
                "object": {"type": "commit", "sha": sha, "url": self._git_url(r, "commits", sha)}}

    def _set_ref(self, r: dict, ref: str, sha: str | None) -> None:
        if ref.startswith("refs/heads/"):
            branch = ref[len("refs/heads/"):]
            if sha is None:
                r["branches"].pop(branch, None)
                return
            r["branches"][branch] = sha
            key = r["full_name"].lower()
            for p in self.pulls.values():  # a pull request's head follows its branch (synchronize)
                if p["head_repo"].lower() == key and p["head_ref"] == branch and p["state"] == "open":
                    p["head_sha"] = sha
                    p["updated_at"] = _now()
        elif sha is None:
            r.setdefault("refs", {}).pop(ref, None)
        else:
            r.setdefault("refs", {})[ref] = sha

    def _is_ancestor(self, r: dict, old: str, new: str) -> bool:
        key, seen, todo = r["full_name"].lower(), set(), [new]
        while todo:
            sha = todo.pop()
            if sha == old:
                return True
            if sha in seen:
                continue
            seen.add(sha)
            todo += self.git_commits.get((key, sha), {}).get("parents", [])
        return False

    def _r_get_ref(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        sha = self._all_refs(r).get(f"refs/{ref}")
        if sha is None:
            raise ApiError(404, doc="https://docs.github.com/rest/git/refs#get-a-reference")
        return Response(200, self._ref_json(r, f"refs/{ref}", sha))

    def _r_list_refs(self, req, owner, repo):
        r = self._repo(owner, repo)
        return self._paginate(req, [self._ref_json(r, ref, sha) for ref, sha in self._all_refs(r).items()])

    def _r_get_refs(self, req, owner, repo, ref):
        """The older form: an exact ref answers one object, a prefix the list of refs under it."""
        r = self._repo(owner, repo)
        refs = self._all_refs(r)
        full = f"refs/{ref}"
        if full in refs:
            return Response(200, self._ref_json(r, full, refs[full]))
        found = [self._ref_json(r, x, sha) for x, sha in refs.items() if x.startswith(full.rstrip("/") + "/")]
        if not found:
            raise ApiError(404, doc="https://docs.github.com/rest/git/refs#get-a-reference")
        return self._paginate(req, found)

    def _r_matching_refs(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        return self._paginate(req, [self._ref_json(r, x, sha) for x, sha in self._all_refs(r).items()
                                    if x.startswith(f"refs/{ref}")])

    def _r_create_ref(self, req, owner, repo):
        r = self._repo(owner, repo)
        body = req.json if isinstance(req.json, dict) else {}
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.",
                           doc="https://docs.github.com/rest/git/refs#create-a-reference")
        if ref in self._all_refs(r):
            raise ApiError(422, "Reference already exists", doc="https://docs.github.com/rest/git/refs#create-a-reference")
        if not isinstance(sha, str) or not self._known_commit(r, sha):
            raise ApiError(422, "Object does not exist", doc="https://docs.github.com/rest/git/refs#create-a-reference")
        self._set_ref(r, ref, sha)
        d = self._ref_json(r, ref, sha)
        return Response(201, d, {"Location": d["url"]})

    def _r_update_ref(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        body = req.json if isinstance(req.json, dict) else {}
        full, sha = f"refs/{ref}", body.get("sha")
        old = self._all_refs(r).get(full)
        if old is None:
            raise ApiError(422, "Reference does not exist", doc="https://docs.github.com/rest/git/refs#update-a-reference")
        if not isinstance(sha, str) or not self._known_commit(r, sha):
            raise ApiError(422, "Object does not exist", doc="https://docs.github.com/rest/git/refs#update-a-reference")
        if not body.get("force") and not self._is_ancestor(r, old, sha):
            raise ApiError(422, "Update is not a fast forward",
                           doc="https://docs.github.com/rest/git/refs#update-a-reference")
        self._set_ref(r, full, sha)
        return Response(200, self._ref_json(r, full, sha))

    def _r_delete_ref(self, req, owner, repo, ref):
        r = self._repo(owner, repo)
        if f"refs/{ref}" not in self._all_refs(r):
            raise ApiError(422, "Reference does not exist", doc="https://docs.github.com/rest/git/refs#delete-a-reference")
        self._set_ref(r, f"refs/{ref}", None)
        return Response(204)

    # ------------------------------------------------------------------ routes: pulls (create, update)

    def _check_pull_body(self, body: Any) -> None:
        if body is not None and not isinstance(body, str):
            raise _validation("PullRequest", "body", "invalid")
        if isinstance(body, str) and len(body) > MAX_COMMENT_BODY:
            raise ApiError(422, "Validation Failed", errors=[{
                "resource": "PullRequest", "code": "custom", "field": "body",
                "message": f"body is too long (maximum is {MAX_COMMENT_BODY} characters)"}])

    def _r_create_pull(self, req, owner, repo):
        r = self._repo(owner, repo)
        key = r["full_name"].lower()
        if req.token["login"] == "github-actions[bot]" and not r["actions_can_create_pulls"]:
            raise ApiError(403, "GitHub Actions is not permitted to create or approve pull requests.",
                           doc="https://docs.github.com/rest/pulls/pulls#create-a-pull-request")
        body = req.json if isinstance(req.json, dict) else {}
        if not isinstance(body.get("title"), str) or not body["title"].strip():
            raise _validation("PullRequest", "title", "missing_field")
        self._check_pull_body(body.get("body"))
        base, head = body.get("base"), body.get("head")
        if not isinstance(base, str) or base not in r["branches"]:
            raise _validation("PullRequest", "base", "invalid")
        if not isinstance(head, str):
            raise _validation("PullRequest", "head", "missing_field")
        head_owner, sep, head_ref = head.partition(":")
        head_repo = self.repos.get(f"{head_owner}/{r['name']}".lower()) if sep else r
        if not sep:
            head_ref = head
        if head_repo is None or head_ref not in head_repo["branches"]:
            raise _validation("PullRequest", "head", "invalid")
        label = f"{head_repo['owner']}:{head_ref}"
        for p in self.pulls.values():
            if (p["repo"].lower() == key and p["state"] == "open" and p["base_ref"] == base
                    and p["head_repo"].lower() == head_repo["full_name"].lower() and p["head_ref"] == head_ref):
                raise ApiError(422, "Validation Failed", errors=[{
                    "resource": "PullRequest", "code": "custom", "message": f"A pull request already exists for {label}."}])
        head_sha, base_sha = head_repo["branches"][head_ref], r["branches"][base]
        if head_sha == base_sha:
            raise ApiError(422, "Validation Failed", errors=[{
                "resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"}])
        number = 1 + max([n for (k, n) in self.issues if k == key], default=0)
        p = self.add_pull(r["full_name"], number, head_sha, base_ref=base, head_ref=head_ref,
                          head_repo=head_repo["full_name"], user=req.token["login"], title=body["title"],
                          body=body.get("body") or "", draft=bool(body.get("draft", False)), base_sha=base_sha)
        d = self._pull_json(r, p)
        return Response(201, d, {"Location": d["url"]})

    def _r_update_pull(self, req, owner, repo, number):
        r = self._repo(owner, repo)
        p = self._pull(r, number)
        body = req.json if isinstance(req.json, dict) else {}
        issue = self.issues[(r["full_name"].lower(), p["number"])]
        if "title" in body:
            if not isinstance(body["title"], str) or not body["title"].strip():
                raise _validation("PullRequest", "title", "invalid")
            p["title"] = issue["title"] = body["title"]
        if "body" in body:
            self._check_pull_body(body["body"])
            p["body"] = issue["body"] = body["body"] or ""
        if "state" in body:
            if body["state"] not in ("open", "closed"):
                raise _validation("PullRequest", "state", "invalid")
            if not p["merged"]:
                p["state"] = issue["state"] = body["state"]
                p["closed_at"] = _now() if body["state"] == "closed" else None
        if "base" in body:
            if body["base"] not in r["branches"]:
                raise _validation("PullRequest", "base", "invalid")
            p["base_ref"], p["base_sha"] = body["base"], r["branches"][body["base"]]
        p["updated_at"] = issue["updated_at"] = _now()
        return Response(200, self._pull_json(r, p))


# ---------------------------------------------------------------------- separate-process mode

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the listening port here (atomically) once serving")
    ap.add_argument("--state-file", help="dump the state as JSON here on SIGTERM/SIGINT")
    ap.add_argument("--seed", help='JSON list of [method, args, kwargs] calls to apply before serving')
    ap.add_argument("--allow-anonymous", action="store_true")
    ns = ap.parse_args(argv)

    gh = FakeGitHub(port=ns.port, allow_anonymous=ns.allow_anonymous)
    if ns.seed:
        with open(ns.seed) as f:
            for call in json.load(f):
                name, args, kwargs = (list(call) + [[], {}][len(call) - 1:])[:3]
                gh.call(name, args, kwargs)
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gh.start()
    if ns.port_file:
        tmp = f"{ns.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(str(gh.port))
        os.replace(tmp, ns.port_file)
    print(f"fake GitHub listening on {gh.url}", flush=True)
    while not done.wait(0.2):
        pass
    if ns.state_file:
        tmp = f"{ns.state_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(gh.state(), f, indent=1, default=str)
        os.replace(tmp, ns.state_file)
    gh.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
