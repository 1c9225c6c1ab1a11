"""The fake GitHub server, driven through the real PyGithub and raw ``requests``.

If these pass, a test that points mlgate at ``FakeGitHub().url`` exercises the same HTTP calls,
pagination, redirects and error statuses it would meet on api.github.com.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import requests
from fake_github import FakeGitHub
from github import Auth, Github, GithubException, UnknownObjectException

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github-events"
REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
TOKEN = "ghs_actions_token"
BOT = "github-actions[bot]"


@pytest.fixture
def gh():
    with FakeGitHub() as server:
        server.add_token(TOKEN)
        server.add_repo(REPO)
        server.add_pull(REPO, 2, HEAD, head_ref="changes", user="Codertocat")
        yield server


def client(gh: FakeGitHub, token: str = TOKEN, **kw) -> Github:
    kw.setdefault("seconds_between_requests", 0)
    kw.setdefault("seconds_between_writes", 0)
    return Github(auth=Auth.Token(token), base_url=gh.url, **kw)


def api(gh: FakeGitHub, method: str, path: str, token: str | None = TOKEN, **kw) -> requests.Response:
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.setdefault("Accept", "application/vnd.github+json")
    return requests.request(method, gh.url + path, headers=headers, timeout=5, **kw)


# ---------------------------------------------------------------------------- basics


def test_repo_lookup_headers_and_case_insensitive_names(gh):
    g = client(gh)
    repo = g.get_repo(REPO)
    assert (repo.full_name, repo.default_branch, repo.owner.login) == (REPO, "main", "Codertocat")
    assert repo.permissions.push and not repo.permissions.admin  # an installation token writes
    assert g.get_repo("codertocat/hello-world").id == repo.id
    with pytest.raises(UnknownObjectException):
        g.get_repo("Codertocat/nope")

    r = api(gh, "GET", f"/repos/{REPO}")
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.headers["X-GitHub-Request-Id"]
    assert int(r.headers["X-RateLimit-Limit"]) - int(r.headers["X-RateLimit-Remaining"]) == int(
        r.headers["X-RateLimit-Used"])
    assert int(r.headers["X-RateLimit-Reset"]) > time.time()
    assert g.get_rate_limit().resources.core.limit == 5000


def test_auth_bad_missing_and_actions_token_on_user(gh):
    r = api(gh, "GET", f"/repos/{REPO}", token="nope")
    assert (r.status_code, r.json()["message"]) == (401, "Bad credentials")
    assert api(gh, "GET", f"/repos/{REPO}", token=None).status_code == 401
    with pytest.raises(GithubException) as exc:
        client(gh, "nope").get_repo(REPO)
    assert exc.value.status == 401

    with pytest.raises(GithubException) as exc:
        client(gh).get_user().login  # noqa: B018 — lazy object completes here
    assert exc.value.status == 403
    assert exc.value.data["message"] == "Resource not accessible by integration"

    gh.add_token("ghp_human", login="monalisa")
    assert client(gh, "ghp_human").get_user().login == "monalisa"

    rec = gh.calls("GET", r"^/repos/Codertocat/Hello-World$")[0]
    assert rec.headers["Authorization"] == "Bearer ***" and rec.query == {} and rec.json is None


def test_read_only_token_cannot_write(gh):
    gh.add_token("ghs_fork", read_only=True)
    g = client(gh, "ghs_fork")
    pr = g.get_repo(REPO).get_pull(2)  # reads work
    assert pr.head.sha == HEAD
    with pytest.raises(GithubException) as exc:
        pr.create_issue_comment("hello")
    assert exc.value.status == 403
    assert exc.value.data["message"] == "Resource not accessible by integration"
    r = api(gh, "POST", f"/repos/{REPO}/check-runs", token="ghs_fork", json={"name": "x", "head_sha": HEAD})
    assert r.status_code == 403
    assert gh.comments == {} and gh.check_runs == {}


# ---------------------------------------------------------------------------- comments + reactions


def test_comments_create_edit_and_paginate_three_pages(gh):
    g = client(gh, per_page=10)
    issue = g.get_repo(REPO).get_issue(2)
    created = [issue.create_comment(f"comment {i}") for i in range(25)]
    assert created[0].user.login == BOT and created[0].user.type == "Bot"
    assert created[0].html_url == f"https://github.com/{REPO}/pull/2#issuecomment-{created[0].id}"

    created[3].edit("<!-- mlgate:report -->\nedited")
    again = g.get_repo(REPO).get_issue(2).get_comment(created[3].id)
    assert again.body.startswith("<!-- mlgate:report -->") and again.updated_at >= again.created_at

    listed = list(g.get_repo(REPO).get_pull(2).get_issue_comments())
    assert [c.id for c in listed] == [c.id for c in created]
    page_calls = gh.calls("GET", r"/issues/2/comments$")
    assert [c.query.get("page", "1") for c in page_calls] == ["1", "2", "3"]

    # Link header exactly as GitHub shapes it: absolute, /repositories/{id}, next + last
    r = api(gh, "GET", f"/repos/{REPO}/issues/2/comments", params={"per_page": 10})
    rid = gh.repos[REPO.lower()]["id"]
    assert r.headers["Link"] == (
        f'<{gh.url}/repositories/{rid}/issues/2/comments?per_page=10&page=2>; rel="next", '
        f'<{gh.url}/repositories/{rid}/issues/2/comments?per_page=10&page=3>; rel="last"')
    r3 = requests.get(f"{gh.url}/repositories/{rid}/issues/2/comments?per_page=10&page=3",
                      headers={"Authorization": f"token {TOKEN}"}, timeout=5)
    assert len(r3.json()) == 5 and 'rel="next"' not in r3.headers["Link"]
    assert 'rel="prev"' in r3.headers["Link"] and 'rel="first"' in r3.headers["Link"]
    assert api(gh, "POST", f"/repos/{REPO}/issues/99/comments", json={"body": "x"}).status_code == 404


def test_comment_body_limit(gh):
    g = client(gh)
    pr = g.get_repo(REPO).get_pull(2)
    assert len(pr.create_issue_comment("x" * 65536).body) == 65536
    with pytest.raises(GithubException) as exc:
        pr.create_issue_comment("x" * 65537)
    assert exc.value.status == 422
    assert exc.value.data["message"] == "Validation Failed"
    assert exc.value.data["errors"] == [{"resource": "IssueComment", "code": "custom", "field": "body",
                                         "message": "body is too long (maximum is 65536 characters)"}]
    cid = next(iter(gh.comments))
    assert api(gh, "PATCH", f"/repos/{REPO}/issues/comments/{cid}", json={"body": "y" * 70000}).status_code == 422


def test_reactions_on_a_payload_comment(gh):
    event = json.loads((FIXTURES / "issue_comment.created.on-pull-request.json").read_text())
    repo_name = event["repository"]["full_name"]
    gh.add_repo(repo_name)
    gh.add_pull(repo_name, event["issue"]["number"], "a" * 40, user="chmouel")
    gh.add_comment(repo_name, event["issue"]["number"], event["comment"]["body"],
                   user=event["comment"]["user"]["login"], id=event["comment"]["id"])

    comment = client(gh).get_repo(repo_name).get_issue(1).get_comment(event["comment"]["id"])
    assert comment.body == "/retest" and comment.user.login == "chmouel" and comment.user.id == 98980
    comment.create_reaction("eyes")
    path = f"/repos/{repo_name}/issues/comments/{comment.id}/reactions"
    assert api(gh, "POST", path, json={"content": "eyes"}).status_code == 200  # already there
    assert api(gh, "POST", path, json={"content": "rocket"}).status_code == 201
    assert api(gh, "POST", path, json={"content": "tada"}).status_code == 422
    assert [x.content for x in comment.get_reactions()] == ["eyes", "rocket"]
    assert gh.comment_reactions(comment.id) == ["eyes", "rocket"]
    assert api(gh, "GET", path, params={"content": "rocket"}).json()[0]["user"]["login"] == BOT
    assert client(gh).get_repo(repo_name).get_pull(1).get_issue_comment(comment.id).raw_data["reactions"][
        "total_count"] == 2


# ---------------------------------------------------------------------------- checks + statuses


def test_check_run_create_update_list_and_limits(gh):
    repo = client(gh).get_repo(REPO)
    run = repo.create_check_run(name="mlgate", head_sha=HEAD, status="in_progress")
    assert run.status == "in_progress" and run.conclusion is None and run.app.slug == "github-actions"
    assert [p.number for p in run.pull_requests] == [2]
    run.edit(conclusion="failure", output={"title": "Blocked", "summary": "accuracy fell", "text": "table"})
    fetched = repo.get_check_run(run.id)
    assert (fetched.status, fetched.conclusion, fetched.output.title) == ("completed", "failure", "Blocked")
    assert fetched.completed_at is not None
    repo.create_check_run(name="other", head_sha=HEAD, status="completed", conclusion="success")

    runs = repo.get_commit(HEAD).get_check_runs(check_name="mlgate")
    assert runs.totalCount == 1 and [r.id for r in runs] == [run.id]
    assert {r.name for r in repo.get_commit(HEAD).get_check_runs()} == {"mlgate", "other"}
    assert api(gh, "GET", f"/repos/{REPO}/commits/changes/check-runs").json()["total_count"] == 2  # by branch

    for field in ("summary", "text"):
        with pytest.raises(GithubException) as exc:
            repo.create_check_run(name="mlgate", head_sha=HEAD, conclusion="success",
                                  output={"title": "t", "summary": "s", field: "x" * 65536})
        assert exc.value.status == 422 and "65535" in exc.value.data["message"]
    ok = repo.create_check_run(name="mlgate", head_sha=HEAD, conclusion="success",
                               output={"title": "t", "summary": "s" * 65535, "text": "x" * 65535})
    assert len(ok.output.summary) == 65535
    with pytest.raises(GithubException):  # completed needs a conclusion
        repo.create_check_run(name="mlgate", head_sha=HEAD, status="completed")
    assert [c["conclusion"] for c in gh.find_check_runs(REPO, HEAD, "mlgate")] == ["failure", "success"]


def test_commit_statuses(gh):
    commit = client(gh).get_repo(REPO).get_commit(HEAD)
    commit.create_status("pending", description="evaluating", context="mlgate")
    commit.create_status("success", target_url="https://example.invalid/r", description="ok", context="mlgate")
    assert [s.state for s in commit.get_statuses()] == ["success", "pending"]
    assert commit.get_combined_status().state == "success"
    assert api(gh, "POST", f"/repos/{REPO}/statuses/{HEAD}", json={"state": "meh"}).status_code == 422


# ---------------------------------------------------------------------------- pulls, perms, contents


def test_collaborator_permission_role_name_vs_legacy(gh):
    repo = client(gh).get_repo(REPO)
    gh.set_permission(REPO, "mona", "maintain")
    gh.set_permission(REPO, "tri", "triage")
    assert repo.get_collaborator_permission("mona") == "write"  # legacy field hides maintain
    assert repo.get_collaborator_role_name("mona") == "maintain"
    assert (repo.get_collaborator_permission("tri"), repo.get_collaborator_role_name("tri")) == ("read", "triage")
    assert repo.get_collaborator_role_name("Codertocat") == "admin"  # the owner
    assert repo.get_collaborator_role_name("stranger") == "read"  # public repo
    body = api(gh, "GET", f"/repos/{REPO}/collaborators/mona/permission").json()
    assert body["permission"] == "write" and body["role_name"] == "maintain"
    assert body["user"]["login"] == "mona" and body["user"]["permissions"]["maintain"] is True


def test_pull_and_files_including_fork(gh):
    gh.set_pull_files(REPO, 2, {f"models/m{i}.skops": "added" for i in range(35)} | {".github/mlgate.yml": "modified"})
    gh.add_pull(REPO, 3, "b" * 40, head_repo="forker/Hello-World", head_ref="main", user="forker")
    repo = client(gh).get_repo(REPO)
    pr = repo.get_pull(2)
    assert (pr.number, pr.state, pr.merged, pr.user.login) == (2, "open", False, "Codertocat")
    assert (pr.head.sha, pr.head.ref, pr.head.repo.full_name) == (HEAD, "changes", REPO)
    assert (pr.base.ref, pr.base.repo.full_name, len(pr.base.sha)) == ("main", REPO, 40)
    assert pr.html_url == f"https://github.com/{REPO}/pull/2"
    files = list(pr.get_files())
    assert len(files) == 36 and files[-1].filename == ".github/mlgate.yml" and files[-1].status == "modified"
    assert all(len(f.sha) == 40 for f in files) and pr.changed_files == 36
    fork = repo.get_pull(3)
    assert fork.head.repo.full_name == "forker/Hello-World" and fork.head.repo.fork
    assert repo.create_check_run(name="x", head_sha="b" * 40, conclusion="success").pull_requests == []
    gh.add_pull(REPO, 4, "c" * 40, merged=True)
    assert (repo.get_pull(4).merged, repo.get_pull(4).state) == (True, "closed")
    with pytest.raises(UnknownObjectException):
        repo.get_pull(99)


def test_contents_by_ref(gh):
    gh.set_file(REPO, ".github/mlgate.yml", "gates:\n  - accuracy\n")  # base branch
    gh.set_file(REPO, ".github/mlgate.yml", "gates: []\n", ref=HEAD)  # the PR's own copy
    gh.set_file(REPO, "data/holdout.csv", b"\x00\x01binary")
    repo = client(gh).get_repo(REPO)
    base = repo.get_contents(".github/mlgate.yml", ref="main")
    assert base.decoded_content == b"gates:\n  - accuracy\n" and base.type == "file" and base.encoding == "base64"
    assert repo.get_contents(".github/mlgate.yml", ref=HEAD).decoded_content == b"gates: []\n"
    assert repo.get_contents(".github/mlgate.yml", ref="changes").decoded_content == b"gates: []\n"  # branch
    assert repo.get_contents(".github/mlgate.yml").decoded_content.startswith(b"gates:\n")  # default branch
    assert repo.get_contents(".github/mlgate.yml", ref=repo.get_pull(2).base.sha).decoded_content.startswith(
        b"gates:\n")
    assert repo.get_contents("data/holdout.csv").decoded_content == b"\x00\x01binary"
    assert [c.path for c in repo.get_contents(".github")] == [".github/mlgate.yml"]
    with pytest.raises(UnknownObjectException):
        repo.get_contents("missing.yml", ref="main")
    r = api(gh, "GET", f"/repos/{REPO}/contents/missing.yml", params={"ref": "main"})
    assert (r.status_code, r.json()["message"]) == (404, "Not Found")
    r = api(gh, "GET", f"/repos/{REPO}/contents/.github/mlgate.yml", params={"ref": "nosuchref"})
    assert r.status_code == 404 and "No commit found" in r.json()["message"]
    raw = api(gh, "GET", f"/repos/{REPO}/contents/.github/mlgate.yml",
              headers={"Accept": "application/vnd.github.raw+json"})
    assert raw.content == b"gates:\n  - accuracy\n"


# ---------------------------------------------------------------------------- actions


def test_workflow_runs_filter_and_rerun(gh):
    old = gh.add_workflow_run(REPO, "d" * 40, conclusion="failure")
    run = gh.add_workflow_run(REPO, HEAD, conclusion="failure")
    gh.add_workflow_run(REPO, HEAD, workflow_file="other.yml")
    repo = client(gh).get_repo(REPO)
    runs = list(repo.get_workflow("mlgate.yml").get_runs(head_sha=HEAD, event="pull_request"))
    assert [r.id for r in runs] == [run["id"]]
    wr = runs[0]
    assert (wr.head_sha, wr.event, wr.status, wr.conclusion, wr.path) == (
        HEAD, "pull_request", "completed", "failure", ".github/workflows/mlgate.yml")
    assert [p.number for p in wr.pull_requests] == [2] and wr.html_url.endswith(f"/actions/runs/{run['id']}")
    assert repo.get_workflow("mlgate.yml").get_runs(head_sha=HEAD, event="push").totalCount == 0
    assert old["id"] not in [r.id for r in repo.get_workflow_runs(head_sha=HEAD)]

    assert wr.rerun() is True
    assert gh.reruns[0]["run_id"] == run["id"] and gh.reruns[0]["by"] == BOT
    again = repo.get_workflow_run(run["id"])
    assert (again.status, again.run_attempt) == ("queued", 2)
    with pytest.raises(GithubException) as exc:  # in progress: cannot re-run
        again.rerun()
    assert exc.value.status == 403
    gh.set_run(run["id"], status="completed", conclusion="success")
    assert repo.get_workflow_run(run["id"]).conclusion == "success"


def test_artifact_zip_download_through_redirect(gh):
    run = gh.add_workflow_run(REPO, HEAD)
    gh.add_artifact(run["id"], "mlgate-report", {"result.json": b'{"decision": "approve"}', "candidate.skops": b"M"})
    gh.add_artifact(run["id"], "other", {"x": "y"})
    wr = client(gh).get_repo(REPO).get_workflow_run(run["id"])
    arts = [a for a in wr.get_artifacts() if a.name == "mlgate-report"]
    assert len(arts) == 1 and arts[0].size_in_bytes > 0 and not arts[0].expired
    assert arts[0].workflow_run.head_sha == HEAD

    s = requests.Session()
    s.headers["Authorization"] = f"token {TOKEN}"
    first = s.get(arts[0].archive_download_url, allow_redirects=False, timeout=5)
    assert first.status_code == 302 and first.headers["Location"].startswith(gh.download_url + "/_blobs/")
    resp = s.get(arts[0].archive_download_url, timeout=5)  # follows; requests drops auth across hosts
    assert resp.status_code == 200 and resp.history[0].status_code == 302
    with zipfile.ZipFile(io.BytesIO(resp.content)) as z:
        assert sorted(z.namelist()) == ["candidate.skops", "result.json"]
        assert json.loads(z.read("result.json")) == {"decision": "approve"}
    assert requests.get(arts[0].archive_download_url, timeout=5).status_code == 401  # zip needs a token
    assert gh.downloads[-1]["path"].startswith("/_blobs/")
    r = api(gh, "GET", f"/repos/{REPO}/actions/runs/{run['id']}/artifacts", params={"name": "other"})
    assert r.json()["total_count"] == 1


def test_storage_on_another_host_name_refuses_a_forwarded_token():
    with FakeGitHub(download_host="localhost") as gh:
        if gh.download_host == gh.host:
            pytest.skip("localhost does not resolve to 127.0.0.1 here")
        gh.add_token(TOKEN)
        gh.add_repo(REPO)
        run = gh.add_workflow_run(REPO, HEAD)
        art = gh.add_artifact(run["id"], "mlgate-report", {"result.json": "{}"})
        url = f"{gh.url}/repos/{REPO}/actions/artifacts/{art['id']}/zip"
        s = requests.Session()
        s.headers["Authorization"] = f"token {TOKEN}"
        resp = s.get(url, timeout=5)  # requests strips the token on the cross-host redirect
        assert resp.status_code == 200 and resp.content == art["zip"]
        assert gh.downloads[-1]["authorization"] is False
        location = s.get(url, allow_redirects=False, timeout=5).headers["Location"]
        assert location.startswith(f"http://localhost:{gh.port}/_blobs/")
        leaked = requests.get(location, headers={"Authorization": f"token {TOKEN}"}, timeout=5)
        assert leaked.status_code == 400 and b"Only one auth mechanism allowed" in leaked.content


# ---------------------------------------------------------------------------- releases


def test_releases_assets_and_latest(gh, tmp_path):
    repo = client(gh).get_repo(REPO)
    v1 = repo.create_git_release("model-v1", "v1", "first")
    asset = v1.upload_asset_from_memory(io.BytesIO(b"model-one"), 9, "model.skops",
                                        content_type="application/octet-stream")
    assert (asset.name, asset.size, asset.uploader.login) == ("model.skops", 9, BOT)
    f = tmp_path / "card.json"
    f.write_text('{"v": 1}')
    assert v1.upload_asset(str(f)).content_type == "application/json"
    with pytest.raises(GithubException) as exc:  # same name twice
        v1.upload_asset_from_memory(io.BytesIO(b"x"), 1, "model.skops")
    assert exc.value.status == 422

    v2 = repo.create_git_release("model-v2", "v2", "second", make_latest="false")
    assert repo.get_latest_release().tag_name == "model-v1"
    v2.update_release("v2", "second", make_latest="true")
    assert repo.get_latest_release().tag_name == "model-v2"
    assert repo.create_git_release("model-v3-rc", "rc", "", prerelease=True)
    assert repo.get_latest_release().tag_name == "model-v2"
    assert [r.tag_name for r in repo.get_releases()] == ["model-v3-rc", "model-v2", "model-v1"]

    got = repo.get_release("model-v1")
    assert {a.name for a in got.get_assets()} == {"model.skops", "card.json"}
    a = next(a for a in got.get_assets() if a.name == "model.skops")
    status, _, chunks = a.download_asset(chunk_size=None)  # Accept: octet-stream, 302, storage
    assert status == 200 and b"".join(chunks) == b"model-one"
    dest = tmp_path / "dl.skops"
    a.download_asset(str(dest))
    assert dest.read_bytes() == b"model-one"
    assert requests.get(a.browser_download_url, timeout=5).content == b"model-one"
    with pytest.raises(GithubException) as exc:
        repo.create_git_release("model-v1", "dup", "")
    assert exc.value.status == 422


# ---------------------------------------------------------------------------- fault injection


def test_scripted_faults(gh):
    path = f"/repos/{REPO}/pulls/2"
    gh.script("GET", r"/pulls/2$", [500, (403, {"Retry-After": "1"},
                                          {"message": "You have exceeded a secondary rate limit"})])
    r = api(gh, "GET", path)
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("application/json")
    r = api(gh, "GET", path)
    assert r.status_code == 403 and r.headers["Retry-After"] == "1"
    assert r.json()["message"] == "You have exceeded a secondary rate limit"
    assert api(gh, "GET", path).json()["number"] == 2  # normal service resumes
    assert gh.scripts_pending() == 0

    gh.script("*", r"/pulls/2$", ["reset", ("delay", 0.3), 429])
    with pytest.raises(requests.ConnectionError):
        api(gh, "GET", path)
    t0 = time.monotonic()
    assert api(gh, "GET", path).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    assert api(gh, "GET", path).status_code == 429
    assert len(gh.calls("GET", r"/pulls/2$")) == 6

    # PyGithub's default retry rides over a transient 5xx on a GET
    gh.script("GET", r"/pulls/2$", [502])
    assert client(gh).get_repo(REPO).get_pull(2).number == 2


def test_concurrent_writers_and_separate_process(gh, tmp_path):
    repo = client(gh).get_repo(REPO)

    def post(i):
        client(gh).get_repo(REPO).get_issue(2).create_comment(f"t{i}")

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c["body"] for c in gh.issue_comments(REPO, 2)) == sorted(f"t{i}" for i in range(8))
    assert repo.get_issue(2).get_comments().totalCount == 8

    port_file, state_file = tmp_path / "port", tmp_path / "state.json"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fake_github.py")),
                             "--port-file", str(port_file), "--state-file", str(state_file)],
                            stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        for call in (["add_token", [TOKEN]], ["add_repo", [REPO]], ["add_pull", [REPO, 2, HEAD]]):
            assert requests.post(f"{url}/_fake/call", json={"method": call[0], "args": call[1]},
                                 timeout=5).status_code == 200
        g = Github(auth=Auth.Token(TOKEN), base_url=url, seconds_between_requests=0, seconds_between_writes=0)
        g.get_repo(REPO).get_pull(2).create_issue_comment("from a subprocess")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    state = json.loads(state_file.read_text())
    assert [c["body"] for c in state["comments"]] == ["from a subprocess"]
    assert state["requests"][-1]["method"] == "POST"
    assert os.path.exists(state_file) and proc.returncode == 0
