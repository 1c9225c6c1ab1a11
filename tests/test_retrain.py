"""``mlgate retrain``: train in the trusted scheduled job, gate the new model, push it as a branch
through the Git Data API, open (or update) the pull request, and publish the gate's comment and
check on it.

End to end over real HTTP against the fake GitHub (``mlgate action`` as a subprocess, and the
``mlgate retrain`` command in-process), on a workspace made by ``mlgate demo`` whose policy
trains the candidate with the demo's own ``train.py``; the handler's branches in-process against
the in-memory forge.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from github import Auth, Github, GithubException, InputGitTreeElement

from fake_github import FakeGitHub
from memory_forge import BOT, MemoryForge
from mlgate.action.forge import PullInfo
from mlgate.action.runner import run
from mlgate.action.settings import from_environment
from mlgate.gates.demo import build
from mlgate.gates.errors import MlgateError
from mlgate.gates.report import MARKER

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "github-events"
REPO = "octo-org/octo-repo"  # workflow_dispatch.json's repository; its default branch is master
TOKEN = "ghs_retrainTOKENvalue0987654321"
APP_TOKEN = "ghs_appINSTALLATIONtoken1234567"
TRAIN = 'train: {command: "python train.py --scenario better --out {output}", output: build/model.skops}'
ARTIFACT = "build/model.skops"
SETTING = "Allow GitHub Actions to create and approve pull requests"


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The demo workspace, its candidate trained by the policy's train command."""
    ws = build(tmp_path_factory.mktemp("retrain") / "demo", "better")
    policy = ws / ".github" / "mlgate.yml"
    text = policy.read_text()
    assert "  path: build/model.skops\n" in text
    policy.write_text(text.replace("  path: build/model.skops\n", f"  {TRAIN}\n", 1))
    return ws


@pytest.fixture
def ws(tmp_path, template):
    return Path(shutil.copytree(template, tmp_path / "ws"))


def set_train(ws: Path, command: str) -> None:
    policy = ws / ".github" / "mlgate.yml"
    line = f"train: {{command: {json.dumps(command)}, output: {ARTIFACT}}}"
    policy.write_text(policy.read_text().replace(TRAIN, line))


@pytest.fixture
def github():
    with FakeGitHub() as gh:
        gh.add_token(TOKEN, login=BOT)
        gh.add_token(APP_TOKEN, login="mlgate-retrain[bot]")
        gh.add_repo(REPO, default_branch="master")
        gh.set_file(REPO, "README.md", "# models\n")
        yield gh


@pytest.fixture
def cli_env(monkeypatch, github):
    """A terminal that can reach the fake GitHub: ``mlgate retrain`` in-process."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "INPUT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("MLGATE_WRITE_INTERVAL", "0")


def retrain_cli(run_cli, ws: Path, *args: str):
    result = run_cli("retrain", "--workspace", ws, "--out", ws / "out", *args)
    for text in (result.out, result.err):
        assert TOKEN not in text
    return result


def action(tmp_path: Path, gh: FakeGitHub, ws: Path, event: str, data: dict, **inputs: str):
    """``mlgate action`` as the container runs it, on the default branch."""
    event_path, out, summary = tmp_path / "event.json", tmp_path / "outputs", tmp_path / "summary"
    event_path.write_text(json.dumps(data))
    out.write_text("")
    summary.write_text("")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "GITHUB_ACTIONS": "true", "GITHUB_API_URL": gh.url, "GITHUB_REPOSITORY": REPO,
           "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_path), "GITHUB_WORKSPACE": str(ws),
           "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_RUN_ID": "77",
           "GITHUB_REF": "refs/heads/master", "GITHUB_SHA": gh.repos[REPO.lower()]["branches"]["master"],
           "INPUT_GITHUB_TOKEN": TOKEN, "MLGATE_WRITE_INTERVAL": "0",
           **{f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
    proc = subprocess.run([sys.executable, "-P", "-m", "mlgate", "action"], cwd=ws, env=env, capture_output=True,
                          text=True, timeout=180)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    for text in (proc.stdout, proc.stderr, out.read_text(), summary.read_text()):
        assert TOKEN not in text, "the token must never be printed"
    return proc, outputs, summary.read_text()


def open_pulls(gh: FakeGitHub) -> list[dict]:
    return [p for p in gh.pulls.values() if p["state"] == "open"]


def pushes(gh: FakeGitHub) -> list:
    return gh.calls("POST", r"/git/|/pulls$") + gh.calls("PATCH", r"/git/refs/")


def head_of(gh: FakeGitHub, branch: str) -> str | None:
    return gh.repos[REPO.lower()]["branches"].get(branch)


# ----------------------------------------------------------------------------- end to end


def test_forced_retrain_pushes_the_trained_bytes_opens_the_pr_and_publishes_on_its_head(tmp_path, github, ws,
                                                                                        run_cli, cli_env):
    # The train command sees no token (it writes its environment where the test can read it).
    set_train(ws, "env > train-env.txt && python train.py --scenario better --out {output}")
    data = json.loads((EVENTS / "workflow_dispatch.json").read_text())
    master = head_of(github, "master")
    proc, outputs, summary = action(tmp_path, github, ws, "workflow_dispatch", data, command="retrain",
                                    reason="monthly data refresh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert TOKEN not in (ws / "train-env.txt").read_text()

    branch = f"mlgate/retrain-{today()}"
    sha = head_of(github, branch)
    trained = (ws / ARTIFACT).read_bytes()
    assert github.branch_file(REPO, branch, ARTIFACT) == trained  # the blob holds the trained bytes
    assert github.branch_file(REPO, branch, "README.md") == b"# models\n"  # on top of the default branch's tree
    commit = github.git_commit(REPO, sha)
    assert commit["parents"] == [master] and "monthly data refresh" in commit["message"]
    result = json.loads((ws / "mlgate-report" / "result.json").read_text())
    assert result["candidate"]["sha256"] == hashlib.sha256(trained).hexdigest()
    assert result["decision"] == "approve" and result["commit"] == sha

    [pull] = open_pulls(github)
    assert (pull["head_ref"], pull["head_sha"], pull["base_ref"], pull["user"]) == (branch, sha, "master", BOT)
    body = pull["body"]
    assert len(body) <= 65_536 and "monthly data refresh" in body and "**approve**" in body
    assert "roc\\_auc" in body or "roc_auc" in body  # the gate table
    assert pull["title"] == f"mlgate: retrained {ARTIFACT} ({today()}): approve"
    [comment] = [c for c in github.issue_comments(REPO, pull["number"]) if MARKER in c["body"]]
    assert comment["user"] == BOT
    [check] = github.find_check_runs(REPO, sha, "mlgate")
    assert check["conclusion"] == "success"
    assert outputs["decision"] == "approve" and f"/pull/{pull['number']}#issuecomment-" in outputs["comment_url"]
    assert f"/pull/{pull['number']}" in summary and (ws / "mlgate-report" / "pull-request.md").read_text() == body

    # A second run, after the default branch moved on: the same pull request, its branch moved
    # to a new commit on the new head; one report comment, edited; the check on the new head.
    github.set_branch(REPO, "master", "1" * 40)
    github.set_file(REPO, "README.md", "# models, v2\n", ref="1" * 40)
    again = retrain_cli(run_cli, ws, "--force", "--reason", "second try", "--by", "mona")
    assert again.code == 0, again.err + "\n".join(f"{r.method} {r.path}" for r in github.requests[-12:])
    [same] = open_pulls(github)
    new_sha = head_of(github, branch)
    assert same["number"] == pull["number"] and same["head_sha"] == new_sha != sha
    assert github.git_commit(REPO, new_sha)["parents"] == ["1" * 40]
    assert github.branch_file(REPO, branch, "README.md") == b"# models, v2\n"
    assert "second try" in same["body"] and "monthly data refresh" not in same["body"]
    comments = [c for c in github.issue_comments(REPO, pull["number"]) if MARKER in c["body"]]
    assert [c["id"] for c in comments] == [comment["id"]] and new_sha in comments[0]["body"]
    assert [c["conclusion"] for c in github.find_check_runs(REPO, new_sha, "mlgate")] == ["success"]
    assert json.loads((ws / "out" / "result.json").read_text())["commit"] == new_sha
    assert f"updated pull request #{pull['number']}" in again.out


def test_the_repository_setting_refusal_names_the_setting_and_keeps_the_branch(github, ws, run_cli, cli_env,
                                                                               monkeypatch):
    github.set_actions_can_create_pulls(REPO, False)
    result = retrain_cli(run_cli, ws, "--force")
    branch = f"mlgate/retrain-{today()}"
    assert result.code == 2
    assert f'"{SETTING}"' in result.err and "Settings → Actions → General" in result.err
    assert "must be on" in result.err and f"Branch {branch} is pushed" in result.err
    assert open_pulls(github) == [] and github.branch_file(REPO, branch, ARTIFACT) == (ws / ARTIFACT).read_bytes()
    assert "## mlgate: a retrained model" in (ws / "out" / "pull-request.md").read_text()
    assert json.loads((ws / "out" / "result.json").read_text())["decision"] == "approve"
    # The setting binds the Actions token only: an app's token opens it on the next run.
    monkeypatch.setenv("GITHUB_TOKEN", APP_TOKEN)
    assert retrain_cli(run_cli, ws, "--force", "--by", "x").code == 0
    [pull] = open_pulls(github)
    assert (pull["head_ref"], pull["user"]) == (branch, "mlgate-retrain[bot]")


@pytest.mark.parametrize("command, message", [
    ("python -c 'import sys; print(\"no GPU today\"); sys.exit(3)'", "exited 3"),
    ("python -c 'import sys; open(sys.argv[1], \"wb\").write(bytes(51 * 1024 * 1024))' {output}", "50 MB"),
], ids=["failing-train", "over-the-cap"])
def test_nothing_is_pushed_when_training_fails_or_the_artifact_is_too_large(github, ws, run_cli, cli_env, command,
                                                                             message):
    set_train(ws, command)
    result = retrain_cli(run_cli, ws, "--force")
    assert result.code == 2 and message in result.err
    if message == "50 MB":
        assert "GitHub Releases" in result.err and "Git LFS" in result.err
    else:
        assert "no GPU today" in result.err
    assert pushes(github) == [] and open_pulls(github) == []
    assert set(github.repos[REPO.lower()]["branches"]) == {"master"}


DRIFT = """
drift:
  current: {path: logs/features/*.csv, time_column: ts, window: 7d}
"""


def drift_window(ws: Path, *, shift: float = 0.0) -> None:
    policy = ws / ".github" / "mlgate.yml"
    policy.write_text(policy.read_text() + DRIFT)
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    rng = np.random.default_rng(0)
    frame = holdout.iloc[rng.integers(0, len(holdout), 1500)].drop(columns=["malignant"]).reset_index(drop=True)
    frame["mean radius"] += shift * holdout["mean radius"].std()
    start = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=1)
    frame["ts"] = [(start + pd.Timedelta(seconds=i)).isoformat() for i in range(len(frame))]
    (ws / "logs" / "features").mkdir(parents=True)
    frame.to_csv(ws / "logs" / "features" / "window.csv", index=False)


def test_no_drift_trains_nothing_and_pushes_nothing(github, ws, run_cli, cli_env):
    drift_window(ws)
    os.remove(ws / ARTIFACT)
    result = retrain_cli(run_cli, ws)
    assert result.code == 0 and "no drift: nothing trained, nothing pushed" in result.out
    assert pushes(github) == [] and not (ws / ARTIFACT).exists()


def test_drift_retrains_and_the_pull_request_carries_the_drift_report(github, ws, run_cli, cli_env):
    drift_window(ws, shift=1.0)
    result = retrain_cli(run_cli, ws)
    assert result.code == 0, result.err
    [pull] = open_pulls(github)
    assert "the drift watch found drift" in pull["body"] and "### Drift" in pull["body"]
    assert "mean radius" in pull["body"] and "<!-- mlgate:drift -->" in pull["body"]
    assert github.branch_file(REPO, pull["head_ref"], ARTIFACT) == (ws / ARTIFACT).read_bytes()


# ----------------------------------------------------------------------------- the fake answers as GitHub does


def test_the_fake_git_data_api_answers_with_githubs_codes(github):
    repo = Github(auth=Auth.Token(TOKEN), base_url=github.url, seconds_between_requests=None,
                  seconds_between_writes=None).get_repo(REPO)
    head = repo.get_git_ref("heads/master").object.sha
    base = repo.get_git_commit(head)
    blob = repo.create_git_blob("aGVsbG8=", "base64")
    assert blob.sha == hashlib.sha1(b"blob 5\0hello").hexdigest()  # git's own blob id
    tree = repo.create_git_tree([InputGitTreeElement("a/b.txt", "100644", "blob", sha=blob.sha)], base.tree)
    assert {e.path for e in tree.tree} == {"a", "README.md"}
    commit = repo.create_git_commit("one", tree, [base])
    repo.create_git_ref("refs/heads/topic", commit.sha)
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/topic", commit.sha)
    assert (exists.value.status, exists.value.data["message"]) == (422, "Reference already exists")
    sideways = repo.create_git_commit("two", tree, [base])  # not a descendant of "one"
    with pytest.raises(GithubException) as not_ff:
        repo.get_git_ref("heads/topic").edit(sideways.sha)
    assert (not_ff.value.status, not_ff.value.data["message"]) == (422, "Update is not a fast forward")
    repo.get_git_ref("heads/topic").edit(sideways.sha, force=True)
    pr = repo.create_pull(base="master", head="topic", title="t", body="b")
    assert pr.head.sha == sideways.sha and pr.user.login == BOT
    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="master", head="topic", title="t", body="b")
    assert duplicate.value.status == 422 and "already exists" in str(duplicate.value.data)
    pr.edit(body="x" * 10)
    assert repo.get_pull(pr.number).body == "x" * 10
    github.set_actions_can_create_pulls(REPO, False)
    repo.create_git_ref("refs/heads/other", commit.sha)
    with pytest.raises(GithubException) as refused:
        repo.create_pull(base="master", head="other", title="t")
    assert refused.value.status == 403
    assert refused.value.data["message"] == "GitHub Actions is not permitted to create or approve pull requests."


# ----------------------------------------------------------------------------- the handler, in-process


@pytest.fixture
def job(tmp_path, template, monkeypatch):
    monkeypatch.setenv("MLGATE_SUPERVISED", "1")  # be the supervised child (deadline.py)
    for name in ("INPUT_GITHUB_TOKEN", "GITHUB_TOKEN", "GITHUB_REF"):
        monkeypatch.delenv(name, raising=False)
    forge = MemoryForge(repository="octo/repo")

    def run_job(event: str, *, policy: str | None = None, **inputs: str):
        ws = Path(shutil.copytree(template, tmp_path / f"ws-{len(list(tmp_path.iterdir()))}"))
        if policy is not None:
            (ws / ".github" / "mlgate.yml").write_text(policy)
        event_path, out = tmp_path / "event.json", tmp_path / "out.txt"
        event_path.write_text(json.dumps({"sender": {"login": "mona"}}))
        out.write_text("")
        env = {"GITHUB_REPOSITORY": "octo/repo", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_path),
               "GITHUB_WORKSPACE": str(ws), "GITHUB_OUTPUT": str(out), "INPUT_GITHUB_TOKEN": "ghs_t",
               **{f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
        log: list[str] = []
        code = run(from_environment(env), lambda settings: forge, log=log.append)
        return code, log, ws

    run_job.forge = forge
    return run_job


def test_a_scheduled_retrain_updates_the_open_pull_request_of_an_earlier_run(job):
    forge = job.forge
    forge.branches["mlgate/retrain-2020-01-01"] = "e" * 40
    forge.pulls[7] = PullInfo(7, "e" * 40, "main", "f" * 40, is_fork=False)
    forge.heads[7] = "octo:mlgate/retrain-2020-01-01"
    forge.opened[7] = {"title": "old", "body": "old", "branch": "mlgate/retrain-2020-01-01", "author": BOT,
                       "state": "open"}
    code, log, ws = job("schedule", command="retrain", reason="refresh")
    assert code == 0, log
    assert sorted(forge.opened) == [7] and forge.opened[7]["title"].endswith(": approve")
    sha = forge.branches["mlgate/retrain-2020-01-01"]
    assert forge.pulls[7].head_sha == sha and forge.commits[sha]["parents"] == ["f" * 40]
    assert forge.file_on("mlgate/retrain-2020-01-01", ARTIFACT) == (ws / ARTIFACT).read_bytes()
    assert [c.conclusion for c in forge.checks_on(sha)] == ["success"]
    assert any("updated pull request #7" in line for line in log)


def test_a_policy_without_a_train_command_is_exit_2_saying_what_to_add(job, template):
    policy = (template / ".github" / "mlgate.yml").read_text().replace(f"  {TRAIN}\n", "  path: build/model.skops\n")
    with pytest.raises(MlgateError) as failed:
        job("workflow_dispatch", policy=policy, command="retrain", reason="now")
    assert failed.value.exit_code == 2
    assert "candidate.train" in str(failed.value) and "train: {command:" in str(failed.value)
    assert job.forge.blobs == {} and job.forge.opened == {}


def test_a_dispatch_from_another_branch_is_refused(job, monkeypatch):
    monkeypatch.setenv("GITHUB_REF", "refs/heads/feature")
    with pytest.raises(MlgateError) as failed:
        job("workflow_dispatch", command="retrain", reason="now")
    assert failed.value.exit_code == 2 and "only on the default branch (main)" in str(failed.value)
    assert job.forge.blobs == {}


def test_without_force_a_policy_without_drift_section_is_exit_2(job):
    code, log, _ = job("schedule", command="auto")  # a schedule asks nothing but canary or retrain
    assert code == 0 and "canary" in log[-1] and "retrain" in log[-1]
    with pytest.raises(MlgateError) as failed:
        job("schedule", command="retrain")
    assert failed.value.exit_code == 2 and "no drift section" in str(failed.value)
    assert job.forge.blobs == {}


def test_a_pull_request_a_person_opened_from_the_pushed_branch_gets_the_new_text(github, ws, run_cli, cli_env):
    """After the setting refusal the branch stays pushed and a maintainer opens the pull request
    by hand; the next run moves that branch again and must say so in the pull request's text
    (found by a cold attack: it adopted the pull request with the old run's body)."""
    github.set_actions_can_create_pulls(REPO, False)
    assert retrain_cli(run_cli, ws, "--force").code == 2
    branch = f"mlgate/retrain-{today()}"
    first = head_of(github, branch)
    github.add_pull(REPO, 90, first, base_ref="master", head_ref=branch, user="maintainer",
                    title="opened by hand", body="stale text from the first run")
    github.set_actions_can_create_pulls(REPO, True)
    again = retrain_cli(run_cli, ws, "--force", "--reason", "second run")
    assert again.code == 0, again.err
    second = head_of(github, branch)
    assert second != first
    [pull] = [p for p in open_pulls(github) if p["number"] == 90]
    assert second[:12] in pull["body"] and "second run" in pull["body"] and "stale" not in pull["body"]
