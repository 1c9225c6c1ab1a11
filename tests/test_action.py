"""``mlgate action`` as GitHub runs it: a subprocess with an Actions environment, the real
webhook payloads, a workspace made by ``mlgate demo``, and real HTTP to a fake GitHub."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from fake_github import FakeGitHub
from mlgate.gates.demo import POLICY, build
from mlgate.gates.result import schema_path

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "tests" / "fixtures" / "github-events"  # copied from ../shared/fixtures with their licences
TOKEN = "ghs_secretTOKENvalue1234567890"
READONLY = "ghs_readonlyTOKEN0987654321"
BOT = "github-actions[bot]"
PR_REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
BASE_SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
CMD_REPO = "chmouel/scratchmyback"
CMD_HEAD = "1b2c3d4e5f60718293a4b5c6d7e8f90112233445"
COMMENT_ID = 840508083


def payload(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="session")
def demo_templates(tmp_path_factory):
    root = tmp_path_factory.mktemp("demos")
    return {s: build(root / s, s) for s in ("better", "worse", "first")}


@pytest.fixture
def github():
    with FakeGitHub() as gh:
        gh.add_token(TOKEN, login=BOT)
        gh.add_token(READONLY, login=BOT, read_only=True)
        gh.add_repo(PR_REPO, default_branch="master")
        gh.add_pull(PR_REPO, 2, HEAD, base_ref="master", base_sha=BASE_SHA, user="Codertocat")
        gh.set_pull_files(PR_REPO, 2, ["train.py"])
        gh.set_file(PR_REPO, ".github/mlgate.yml", POLICY, ref=BASE_SHA)
        gh.add_repo(CMD_REPO)
        gh.add_pull(CMD_REPO, 1, CMD_HEAD, user="chmouel")
        yield gh


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: str
    summary: str

    def output(self, key: str) -> str | None:
        for line in self.outputs.splitlines():
            if line.startswith(f"{key}="):
                return line.split("=", 1)[1]
        return None


class Action:
    """Runs `python -m mlgate action` the way the container's entrypoint would."""

    def __init__(self, tmp_path: Path, gh: FakeGitHub, templates: dict):
        self.tmp = tmp_path
        self.gh = gh
        self.templates = templates
        self.count = 0

    def workspace(self, scenario: str = "better") -> Path:
        ws = self.tmp / f"ws-{scenario}-{self.count}"
        self.count += 1
        shutil.copytree(self.templates[scenario], ws)
        return ws

    def __call__(self, workspace: Path, event: str, data: dict, *, token: str = TOKEN, repo: str = PR_REPO,
                 extra_env: dict | None = None, **inputs: str) -> ActionRun:
        self.count += 1
        event_path = self.tmp / f"event-{self.count}.json"
        event_path.write_text(json.dumps(data))
        out, summary = self.tmp / f"out-{self.count}", self.tmp / f"summary-{self.count}"
        out.write_text("")
        summary.write_text("")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.tmp), "PYTHONPATH": str(REPO),
            "GITHUB_ACTIONS": "true", "GITHUB_API_URL": self.gh.url, "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": repo, "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_WORKSPACE": str(workspace), "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_RUN_ID": "4242", "GITHUB_SHA": HEAD, "INPUT_GITHUB_TOKEN": token, "MLGATE_WRITE_INTERVAL": "0",
        }
        env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
        env.update(extra_env or {})
        proc = subprocess.run([sys.executable, "-P", "-m", "mlgate", "action"], cwd=workspace, env=env,
                              capture_output=True, text=True, timeout=180)
        run = ActionRun(proc.returncode, proc.stdout, proc.stderr, out.read_text(), summary.read_text())
        for text in (run.stdout, run.stderr, run.outputs, run.summary):
            assert TOKEN not in text and READONLY not in text, "the token must never be printed"
        return run


@pytest.fixture
def action(tmp_path, github, demo_templates):
    return Action(tmp_path, github, demo_templates)


def bot_comments(gh, repo, number):
    return [c for c in gh.issue_comments(repo, number) if c["user"] == BOT]


def report_comments(gh, repo=PR_REPO, number=2):
    return [c for c in bot_comments(gh, repo, number) if "<!-- mlgate:report -->" in c["body"]]


def checks(gh, repo=PR_REPO, sha=HEAD):
    return gh.find_check_runs(repo, sha, "mlgate")


# ----------------------------------------------------------------------------- pull requests


def test_pull_request_approve_publishes_comment_check_outputs_summary(action, github):
    run = action(action.workspace("better"), "pull_request", payload("pull_request.opened.json"))
    assert run.code == 0, run.stderr
    [comment] = report_comments(github)
    assert "Approved" in comment["body"] and "roc_auc non_inferior" in comment["body"]
    [check] = checks(github)
    assert (check["status"], check["conclusion"]) == ("completed", "success")
    assert check["output"]["title"].startswith("Approved")
    assert run.output("decision") == "approve"
    assert run.output("comment_url").endswith(f"#issuecomment-{comment['id']}")
    assert Path(run.output("result_path")).is_file() and Path(run.output("report_path")).is_file()
    assert "Approved" in run.summary and "roc_auc non_inferior" in run.summary
    assert json.loads(Path(run.output("result_path")).read_text())["policy_source"] == "base"
    assert github.calls("GET", r"^/user$") == []  # an Actions token cannot call it


def test_pull_request_block_fails_the_check_and_the_job(action, github):
    run = action(action.workspace("worse"), "pull_request", payload("pull_request.opened.json"))
    assert run.code == 1
    assert checks(github)[0]["conclusion"] == "failure"
    assert "Blocked" in report_comments(github)[0]["body"]
    soft = action(action.workspace("worse"), "pull_request", payload("pull_request.synchronize.json"),
                  fail_on_block="false")
    assert soft.code == 0 and checks(github)[0]["conclusion"] == "failure"


def test_reruns_edit_the_one_sticky_comment_found_across_pages(action, github):
    for i in range(35):  # pushes the bot's comment to the second page of 30
        github.add_comment(PR_REPO, 2, f"discussion {i}", user="Codertocat")
    ws = action.workspace("better")
    for event in ("pull_request.opened.json", "pull_request.synchronize.json", "pull_request.synchronize.json"):
        assert action(ws, "pull_request", payload(event)).code == 0
    assert len(report_comments(github)) == 1
    assert len(bot_comments(github, PR_REPO, 2)) == 1
    assert len(github.calls("POST", r"/issues/2/comments$")) == 1
    assert len(github.calls("PATCH", r"/issues/comments/\d+$")) == 2
    assert any("page=2" in str(c.query) or c.query.get("page") == "2" for c in github.calls("GET", r"/issues/2/comments$"))
    assert len(checks(github)) == 1, "the check run is updated, not duplicated"


def test_a_pr_that_weakens_its_own_policy_is_judged_by_the_base_policy(action, github):
    ws = action.workspace("worse")
    weak = POLICY.replace("margin: 0.01", "margin: 0.9").replace("margin: 0.02", "margin: 0.9").replace(
        "threshold: 0.90", "threshold: 0.1")
    (ws / ".github" / "mlgate.yml").write_text(weak)
    github.set_pull_files(PR_REPO, 2, [".github/mlgate.yml", "train.py"])
    run = action(ws, "pull_request", payload("pull_request.opened.json"))
    assert run.code == 1 and checks(github)[0]["conclusion"] == "failure"
    body = report_comments(github)[0]["body"]
    assert "This PR changes .github/mlgate.yml; the change applies after merge" in body
    assert "+  - {metric: roc_auc, rule: non_inferior, margin: 0.9}" in body


def test_first_setup_uses_the_prs_policy_and_says_so(action, github):
    github.set_file(PR_REPO, ".github/mlgate.yml", None, ref=BASE_SHA)
    run = action(action.workspace("first"), "pull_request", payload("pull_request.opened.json"))
    assert run.code == 0 and run.output("decision") == "first-model"
    assert "No policy on the base branch yet" in report_comments(github)[0]["body"]
    assert json.loads(Path(run.output("result_path")).read_text())["policy_source"] == "pr"


def test_a_pr_that_edits_the_holdout_is_blocked(action, github):
    """The trust check runs before the holdout is read: the PR's holdout here could not even be
    read (it would be an error, exit 2), yet the PR is blocked for changing it, without reading it."""
    ws = action.workspace("better")
    (ws / "data" / "holdout.csv").write_bytes(b"\x00\xff not a table \x00" * 50)
    github.set_pull_files(PR_REPO, 2, ["data/holdout.csv"])
    run = action(ws, "pull_request", payload("pull_request.opened.json"))
    assert run.code == 1, run.stderr
    assert run.output("decision") == "block"
    body = report_comments(github)[0]["body"]
    assert "the holdout data/holdout.csv is changed by this PR" in body and "not read: blocked before evaluation" in body
    result = json.loads(Path(run.output("result_path")).read_text())
    assert result["data"] == {"source": "data/holdout.csv", "sha256": None, "rows": None, "read": False}
    assert {g["outcome"] for g in result["gates"]} == {"skipped"} and result["production"]["version"] == 1
    jsonschema.validate(result, json.loads(schema_path().read_text()))


def test_fork_pr_with_read_only_token_degrades_to_summary(action, github):
    data = payload("pull_request.opened.json")
    data["pull_request"]["head"]["repo"]["full_name"] = "someone/Hello-World"
    run = action(action.workspace("better"), "pull_request", data, token=READONLY)
    assert run.code == 0, run.stderr
    assert run.stdout.count("::warning") == 1, run.stdout
    assert report_comments(github) == [] and checks(github) == []
    assert run.output("decision") == "approve" and "Approved" in run.summary
    blocked = action(action.workspace("worse"), "pull_request", data, token=READONLY)
    assert blocked.code == 1 and blocked.output("decision") == "block"


def test_huge_report_is_trimmed_but_keeps_verdict_and_gate_table(action, github):
    ws = action.workspace("better")
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    holdout["patient"] = [f"patient-{i:05d}-with-a-long-identifier" for i in range(len(holdout))]
    holdout.to_csv(ws / "data" / "holdout.csv", index=False)
    policy = POLICY.replace("slices: [tumour_size]", "slices: [tumour_size, patient]").replace(
        "  - {metric: recall, rule: slice_max_drop, max_drop: 0.05, min_support: 50}\n",
        "".join(f"  - {{metric: {m}, rule: slice_max_drop, max_drop: 0.05, min_support: 50}}\n"
                for m in ("recall", "accuracy", "precision", "f1")))
    (ws / ".github" / "mlgate.yml").write_text(policy)
    github.set_file(PR_REPO, ".github/mlgate.yml", policy, ref=BASE_SHA)
    run = action(ws, "pull_request", payload("pull_request.opened.json"))
    assert run.code == 0, run.stderr
    full = (ws / "mlgate-report" / "report-full.md").read_text()
    assert len(full) > 65_536, "the test must produce a report over the limit"
    body = report_comments(github)[0]["body"]
    assert len(body) <= 65_536 and "report trimmed" in body
    assert "Approved" in body and all(f"| {m} slice_max_drop |" in body for m in ("recall", "accuracy", "f1"))
    assert len(checks(github)[0]["output"]["summary"]) <= 65_535


# ----------------------------------------------------------------------------- comments


def comment_event(body: str, user: str = "chmouel") -> dict:
    data = payload("issue_comment.created.on-pull-request.json")
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = user
    return data


def seed_comment(gh, body, user="chmouel"):
    gh.add_comment(CMD_REPO, 1, body, user=user, id=COMMENT_ID)


def reactions(gh):
    return gh.comment_reactions(COMMENT_ID)


def replies(gh):
    return [c["body"] for c in bot_comments(gh, CMD_REPO, 1)]


@pytest.mark.parametrize("role, allowed", [("read", True), ("none", True)])
def test_help_is_for_anyone(action, github, role, allowed):
    seed_comment(github, "/mlgate help")
    github.set_permission(CMD_REPO, "chmouel", role)
    run = action(action.workspace(), "issue_comment", comment_event("/mlgate help"), repo=CMD_REPO)
    assert run.code == 0
    assert reactions(github) == ["eyes", "rocket"]
    assert "mlgate commands" in replies(github)[0]


@pytest.mark.parametrize("role, ok", [("read", False), ("triage", False), ("write", True), ("admin", True)])
def test_run_needs_write_and_reruns_the_gate_workflow(action, github, role, ok):
    seed_comment(github, "/mlgate run")
    github.set_permission(CMD_REPO, "chmouel", role)
    run_rec = github.add_workflow_run(CMD_REPO, CMD_HEAD, workflow_file="mlgate.yml", event="pull_request")
    run = action(action.workspace(), "issue_comment", comment_event("/mlgate run"), repo=CMD_REPO)
    assert run.code == 0
    reruns = github.calls("POST", rf"/actions/runs/{run_rec['id']}/rerun$")
    assert len(reruns) == (1 if ok else 0)
    assert reactions(github) == ["eyes", "rocket" if ok else "confused"]
    if not ok:
        assert "needs the **write** role" in replies(github)[0]


@pytest.mark.parametrize("role, ok", [("write", False), ("maintain", True), ("admin", True)])
def test_override_needs_maintain_and_turns_the_check_green(action, github, role, ok):
    github.set_permission(CMD_REPO, "chmouel", role)
    # A blocked gate first: the PR job's comment and failing check on the head commit.
    github.add_comment(CMD_REPO, 1, "<!-- mlgate:report -->\n## ❌ mlgate: Blocked", user=BOT)
    build = github.add_workflow_run(CMD_REPO, CMD_HEAD, workflow_file="mlgate.yml")
    github.add_artifact(build["id"], "mlgate-report", artifact_from(action.workspace("worse")))
    worse = hashlib.sha256((action.templates["worse"] / "build" / "model.skops").read_bytes()).hexdigest()
    body = f"/mlgate override {CMD_HEAD}:{worse} reviewed the slice drop with the clinicians"
    seed_comment(github, body)
    gate = action(action.workspace("worse"), "issue_comment", comment_event(body), repo=CMD_REPO)
    assert gate.code == 0
    runs = checks(github, CMD_REPO, CMD_HEAD)
    report = [c for c in bot_comments(github, CMD_REPO, 1) if "<!-- mlgate:report -->" in c["body"]]
    if ok:
        assert [r["conclusion"] for r in runs] == ["success"]
        assert "Overridden by @chmouel" in runs[0]["output"]["title"]
        assert "Overridden** by @chmouel" in report[0]["body"] and f"for commit `{CMD_HEAD}`" in report[0]["body"]
        assert reactions(github) == ["eyes", "rocket"]
    else:
        assert runs == [] and reactions(github) == ["eyes", "confused"]
        assert "needs the **maintain** role" in replies(github)[-1]


def test_override_survives_a_rerun_on_the_same_commit(action, github):
    github.set_permission(PR_REPO, "Codertocat", "maintain")
    ws = action.workspace("worse")
    assert action(ws, "pull_request", payload("pull_request.opened.json")).code == 1
    build = github.add_workflow_run(PR_REPO, HEAD, workflow_file="mlgate.yml")
    github.add_artifact(build["id"], "mlgate-report", artifact_from(ws))
    worse = hashlib.sha256((action.templates["worse"] / "build" / "model.skops").read_bytes()).hexdigest()
    data = comment_event(f"/mlgate override {HEAD}:{worse} known regression, accepted for the release", user="Codertocat")
    data["repository"] = payload("pull_request.opened.json")["repository"]
    data["issue"]["number"] = 2
    github.add_comment(PR_REPO, 2, data["comment"]["body"], user="Codertocat", id=COMMENT_ID,
                       created_at="2026-11-24T10:00:00Z")
    assert action(ws, "issue_comment", data).code == 0
    again = action(ws, "pull_request", payload("pull_request.synchronize.json"))
    assert again.code == 0, "an override for this head commit holds when the gate runs again"
    assert checks(github)[0]["conclusion"] == "success"
    result = json.loads(Path(again.output("result_path")).read_text())
    assert result["decision"] == "block" and result["overridden"]["by"] == "Codertocat"


def test_override_without_reason_is_a_usage_reply(action, github):
    seed_comment(github, "/mlgate override")
    github.set_permission(CMD_REPO, "chmouel", "admin")
    run = action(action.workspace(), "issue_comment", comment_event("/mlgate override"), repo=CMD_REPO)
    assert run.code == 0 and reactions(github) == ["eyes", "confused"]
    assert "names the commit and the candidate it accepts" in replies(github)[0] and checks(github, CMD_REPO, CMD_HEAD) == []


@pytest.mark.parametrize("body", ["/retest", "> /mlgate run", "```\n/mlgate run\n```", "please /mlgate run", ""])
def test_non_commands_are_ignored_silently(action, github, body):
    seed_comment(github, body)
    github.set_permission(CMD_REPO, "chmouel", "admin")
    run = action(action.workspace(), "issue_comment", comment_event(body), repo=CMD_REPO)
    assert run.code == 0
    assert reactions(github) == [] and replies(github) == []
    assert github.calls("POST") == [] and github.calls("PATCH") == []


def test_comments_on_plain_issues_and_by_the_bot_are_ignored(action, github):
    run = action(action.workspace(), "issue_comment", payload("issue_comment.created.json"))
    assert run.code == 0 and "not a pull request" in run.stdout
    seed_comment(github, "/mlgate run", user=BOT)
    own = action(action.workspace(), "issue_comment", comment_event("/mlgate run", user=BOT), repo=CMD_REPO)
    assert own.code == 0 and "by the bot itself" in own.stdout
    assert github.calls("POST") == [] and github.calls("PATCH") == []


def test_rollback_by_a_writer_is_refused(action, github):
    seed_comment(github, "/mlgate rollback 3")
    github.set_permission(CMD_REPO, "chmouel", "write")
    run = action(action.workspace(), "issue_comment", comment_event("/mlgate rollback 3"), repo=CMD_REPO)
    assert run.code == 0 and "needs the **maintain** role" in replies(github)[0]
    assert reactions(github) == ["eyes", "confused"]


# ----------------------------------------------------------------------------- dispatch, errors


def test_dispatch_evaluates_the_checkout_without_commenting(action, github):
    run = action(action.workspace("better"), "workflow_dispatch", payload("workflow_dispatch.json"),
                 repo="octo-org/octo-repo", command="evaluate")
    assert run.code == 0, run.stderr
    assert run.output("decision") == "approve" and "Approved" in run.summary
    assert github.calls("POST") == []


def test_ignored_events_exit_0(action, github):
    closed = payload("pull_request.opened.json")
    closed["action"] = "labeled"
    run = action(action.workspace(), "pull_request", closed)
    assert run.code == 0 and "needs no evaluation" in run.stdout and github.calls() == []


def test_malformed_payload_and_bad_inputs_exit_2(action, github):
    data = payload("pull_request.opened.json")
    del data["pull_request"]["head"]["sha"]
    run = action(action.workspace(), "pull_request", data)
    assert run.code == 2 and "field 'pull_request.head.sha' is missing" in run.stderr
    bad = action(action.workspace(), "pull_request", payload("pull_request.opened.json"), fail_on_block="maybe")
    assert bad.code == 2 and "input fail_on_block: expected true or false" in bad.stderr


def test_unreachable_github_exits_3_with_one_line(action, github):
    github.stop()  # the action still points at its (now closed) port
    run = action(action.workspace(), "pull_request", payload("pull_request.opened.json"))
    assert run.code == 3, run.stderr
    assert "GitHub unreachable" in run.stderr and "Traceback" not in run.stderr


# ----------------------------------------------------------------------------- fork-safe publishing


def workflow_run_event(run_id: int, head_sha: str, *, pull_requests=()) -> dict:
    """No workflow_run fixture is shared: the repository and sender come from the real PR
    payload, and only the workflow_run fields mlgate reads are set."""
    base = payload("pull_request.opened.json")
    return {
        "action": "completed",
        "workflow_run": {"id": run_id, "event": "pull_request", "head_sha": head_sha, "head_branch": "feature",
                         "head_repository": {"full_name": "someone/Hello-World", "owner": {"login": "someone"}},
                         "pull_requests": list(pull_requests), "conclusion": "success"},
        "repository": base["repository"], "sender": base["sender"],
    }


def artifact_from(ws: Path, forged_result: dict | None = None, name: str = "candidate.skops") -> dict:
    files = {name: (ws / "build" / "model.skops").read_bytes()}
    if forged_result is not None:
        files["result.json"] = json.dumps(forged_result)
    return files


FORK_HEAD = "abcdef0123456789abcdef0123456789abcdef01"


def test_fork_publisher_re_evaluates_the_candidate_and_ignores_a_forged_result(action, github):
    github.add_pull(PR_REPO, 7, FORK_HEAD, base_ref="master", head_ref="feature", head_repo="someone/Hello-World")
    github.set_pull_files(PR_REPO, 7, ["train.py"])
    worse = action.workspace("worse")
    gate_run = github.add_workflow_run(PR_REPO, FORK_HEAD, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(gate_run["id"], "mlgate-report", artifact_from(worse, {"decision": "approve"}))
    base_checkout = action.workspace("better")  # the publisher checks out the base branch
    run = action(base_checkout, "workflow_run", workflow_run_event(gate_run["id"], FORK_HEAD))
    assert run.code == 1 and run.output("decision") == "block"
    [check] = checks(github, PR_REPO, FORK_HEAD)
    assert check["conclusion"] == "failure"
    assert "Blocked" in report_comments(github, PR_REPO, 7)[0]["body"]
    assert not (base_checkout / "build" / "model.skops").read_bytes() == (worse / "build" / "model.skops").read_bytes()


def test_fork_publisher_never_loads_a_pickle(action, github):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {action.tmp / 'pwned'}",))

    github.add_pull(PR_REPO, 7, FORK_HEAD, base_ref="master", head_ref="feature", head_repo="someone/Hello-World")
    gate_run = github.add_workflow_run(PR_REPO, FORK_HEAD, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(gate_run["id"], "mlgate-report", {"candidate.pkl": pickle.dumps(Evil())})
    run = action(action.workspace("better"), "workflow_run", workflow_run_event(gate_run["id"], FORK_HEAD),
                 trust_pickle="true")
    assert run.code == 2 and "never loads pickles" in run.stderr
    assert not (action.tmp / "pwned").exists()
    [check] = checks(github, PR_REPO, FORK_HEAD)  # the judge could not judge: the check says so
    assert check["conclusion"] == "failure" and "never loads pickles" in check["output"]["summary"]


def test_privileged_dispatch_never_runs_a_train_command(action, github):
    ws = action.workspace("better")
    policy = (ws / ".github" / "mlgate.yml").read_text().replace(
        "  path: build/model.skops\n", f"  train: {{command: 'touch {action.tmp}/trained', output: build/model.skops}}\n")
    (ws / ".github" / "mlgate.yml").write_text(policy)
    run = action(ws, "workflow_dispatch", payload("workflow_dispatch.json"), repo="octo-org/octo-repo", command="evaluate")
    assert run.code == 2 and "train commands never run in a privileged job" in run.stderr
    assert not (action.tmp / "trained").exists()


# ----------------------------------------------------------------------------- promotion


def merged_event() -> dict:
    data = payload("pull_request.opened.json")
    data["action"] = "closed"
    data["pull_request"]["merged"] = True
    return data


def gate_run_with(github, candidate_ws: Path, *, repo=PR_REPO, sha=HEAD, files=None) -> dict:
    run = github.add_workflow_run(repo, sha, workflow_file="mlgate.yml", event="pull_request")
    github.add_artifact(run["id"], "mlgate-report", files or artifact_from(candidate_ws, {"decision": "approve"}))
    return run


def registry_of(ws: Path) -> dict:
    return json.loads((ws / "models" / "registry" / "registry.json").read_text())


def test_merge_promotes_the_gate_runs_candidate(action, github):
    gate_run_with(github, action.workspace("better"))
    base = action.workspace("better")
    run = action(base, "pull_request_target", merged_event())
    assert run.code == 0, run.stderr
    assert run.output("promoted_version") == "2"
    state = registry_of(base)
    assert state["aliases"] == {"production": 2, "previous": 1}
    assert state["versions"][1]["pr"] == 2 and state["versions"][1]["reason"] == "merged #2"
    assert "promoted this PR's candidate as version 2" in bot_comments(github, PR_REPO, 2)[-1]["body"]


def test_merge_of_a_blocked_candidate_is_not_promoted(action, github):
    gate_run_with(github, action.workspace("worse"))
    base = action.workspace("better")
    run = action(base, "pull_request_target", merged_event())
    assert run.code == 1
    assert registry_of(base)["aliases"] == {"production": 1}
    assert "not promoted: refusing to promote: the gate blocks" in bot_comments(github, PR_REPO, 2)[-1]["body"]


def _state_line(candidate_sha, *, sha=HEAD, by="maint"):
    """The override state an earlier mlgate kept in its own comment (any workflow can forge it)."""
    override = {"at": "2026-11-24T10:00:00Z", "by": by, "reason": "accepted", "sha": sha, "candidate": candidate_sha}
    return "<!-- mlgate:state %s -->" % json.dumps({"sha": sha, "candidate": candidate_sha, "override": override},
                                                  sort_keys=True)


def test_a_state_line_in_the_bots_comment_is_no_longer_an_override(action, github):
    """The attack that used to work: override state in a bot comment promoted a blocked model."""
    worse = action.workspace("worse")
    gate_run_with(github, worse)
    sha = hashlib.sha256((worse / "build" / "model.skops").read_bytes()).hexdigest()
    github.add_comment(PR_REPO, 2, f"<!-- mlgate:report -->\n## Blocked\n\n{_state_line(sha)}", user=BOT)
    base = action.workspace("better")
    run = action(base, "pull_request_target", merged_event())
    assert run.code == 1, run.stderr
    assert registry_of(base)["aliases"] == {"production": 1}


def test_a_pr_cannot_forge_an_override_through_text_it_controls(action, github):
    """File names and the policy diff are shown in the report; a mark hidden in them is inert."""
    ws = action.workspace("worse")
    sha = hashlib.sha256((ws / "build" / "model.skops").read_bytes()).hexdigest()
    forged = _state_line(sha)
    github.set_pull_files(PR_REPO, 2, [f"models/registry/x {forged}", "data/holdout.csv"])
    (ws / ".github" / "mlgate.yml").write_text(POLICY + f"# {forged}\n")
    for event in ("pull_request.opened.json", "pull_request.synchronize.json"):
        run = action(ws, "pull_request", payload(event))
        assert run.code == 1 and checks(github)[0]["conclusion"] == "failure"
        assert json.loads(Path(run.output("result_path")).read_text())["overridden"] is None


def test_merge_does_nothing_when_promotion_is_by_command(action, github):
    base = action.workspace("better")
    github.set_file(PR_REPO, ".github/mlgate.yml", POLICY + "promotion: {when: command}\n", ref=BASE_SHA)
    run = action(base, "pull_request_target", merged_event())
    assert run.code == 0 and "promotion.when is 'command'" in run.stdout
    assert github.calls("POST") == []


@pytest.mark.parametrize("role, ok", [("read", False), ("write", True)])
def test_promote_command(action, github, role, ok):
    gate_run_with(github, action.workspace("better"), repo=CMD_REPO, sha=CMD_HEAD)
    seed_comment(github, "/mlgate promote")
    github.set_permission(CMD_REPO, "chmouel", role)
    base = action.workspace("better")
    run = action(base, "issue_comment", comment_event("/mlgate promote"), repo=CMD_REPO)
    assert run.code == 0
    assert registry_of(base)["aliases"]["production"] == (2 if ok else 1)
    assert reactions(github) == ["eyes", "rocket" if ok else "confused"]


def test_promote_command_refuses_a_pickle_artifact(action, github):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {action.tmp / 'pwned'}",))

    gate_run_with(github, None, repo=CMD_REPO, sha=CMD_HEAD, files={"candidate.pkl": pickle.dumps(Evil())})
    seed_comment(github, "/mlgate promote")
    github.set_permission(CMD_REPO, "chmouel", "admin")
    base = action.workspace("better")
    run = action(base, "issue_comment", comment_event("/mlgate promote"), repo=CMD_REPO, trust_pickle="true")
    assert run.code == 2 and "never loads pickles" in run.stderr
    assert not (action.tmp / "pwned").exists()
    assert registry_of(base)["aliases"] == {"production": 1}
    assert reactions(github) == ["eyes", "confused"]


def test_rollback_command_needs_maintain_and_walks_back_one_version(action, github):
    base = action.workspace("better")
    assert subprocess.run([sys.executable, "-m", "mlgate", "promote", "--workspace", str(base), "--by", "x", "--quiet"],
                          cwd=base, env={**os.environ, "PYTHONPATH": str(REPO)}).returncode == 0
    assert registry_of(base)["aliases"]["production"] == 2
    seed_comment(github, "/mlgate rollback")
    github.set_permission(CMD_REPO, "chmouel", "maintain")
    run = action(base, "issue_comment", comment_event("/mlgate rollback"), repo=CMD_REPO)
    assert run.code == 0 and registry_of(base)["aliases"] == {"production": 1}, "2 was rolled away from"
    assert "production is now version 1 (was 2)" in replies(github)[-1]


@pytest.mark.parametrize("changed", [["models/registry/registry.json"], ["models/registry/versions/1/model.skops"]])
def test_a_pr_that_edits_the_file_registry_is_blocked(action, github, changed):
    """In a PR the file registry lives in the PR's checkout: editing it could swap in a weaker
    'production' and pass, so it blocks like an edited holdout."""
    github.set_pull_files(PR_REPO, 2, changed + ["train.py"])
    run = action(action.workspace("better"), "pull_request", payload("pull_request.opened.json"))
    assert run.code == 1 and run.output("decision") == "block"
    assert "the production model's source models/registry is changed by this PR" in report_comments(github)[0]["body"]


def _drop(path):
    def mutate(data):
        *parents, last = path.split(".")
        node = data
        for p in parents:
            node = node[p]
        del node[last]
        return data
    return mutate


def _set(path, value):
    def mutate(data):
        *parents, last = path.split(".")
        node = data
        for p in parents:
            node = node[p]
        node[last] = value
        return data
    return mutate


PAYLOAD_CASES = [
    ("pull_request", "pull_request.opened.json", _drop("pull_request.head.sha"), "field 'pull_request.head.sha' is missing"),
    ("pull_request", "pull_request.opened.json", _set("pull_request.number", "2"), "field 'pull_request.number' should be int, got str"),
    ("pull_request", "pull_request.opened.json", _set("pull_request.base", None), "field 'pull_request.base.ref' is missing"),
    ("pull_request", "pull_request.opened.json", _set("action", 7), "field 'action' should be str, got int"),
    ("issue_comment", "issue_comment.created.on-pull-request.json", _drop("comment.id"), "field 'comment.id' is missing"),
    ("issue_comment", "issue_comment.created.on-pull-request.json", _set("comment.user", "x"), "field 'comment.user.login' is missing"),
    ("issue_comment", "issue_comment.created.on-pull-request.json", _set("comment.body", ["/mlgate", "run"]), "field 'comment.body' should be str, got list"),
    ("issue_comment", "issue_comment.created.on-pull-request.json", _set("issue.number", True), "field 'issue.number' should be int, got bool"),
]


@pytest.mark.parametrize("event, fixture, mutate, message", PAYLOAD_CASES, ids=[c[3][:40] for c in PAYLOAD_CASES])
def test_malformed_payloads_exit_2_naming_the_field(action, github, event, fixture, mutate, message):
    data = mutate(payload(fixture))
    if event == "issue_comment" and isinstance(data.get("comment", {}).get("body"), str):
        data["comment"]["body"] = "/mlgate help"
    run = action(action.workspace(), event, data, repo=CMD_REPO if event == "issue_comment" else PR_REPO)
    assert run.code == 2, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr
    assert github.calls("POST") == []


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe\x00"])
def test_unreadable_event_files_exit_2(action, github, tmp_path, content):
    ws = action.workspace()
    event = tmp_path / "bad-event.json"
    event.write_bytes(content)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "GITHUB_API_URL": github.url,
           "GITHUB_REPOSITORY": PR_REPO, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_WORKSPACE": str(ws), "INPUT_GITHUB_TOKEN": TOKEN}
    run = subprocess.run([sys.executable, "-m", "mlgate", "action"], cwd=ws, env=env, capture_output=True, text=True)
    assert run.returncode == 2 and "GITHUB_EVENT_PATH" in run.stderr and "Traceback" not in run.stderr


def test_a_pr_past_githubs_file_listing_cap_is_blocked(action, github):
    """GitHub lists at most 3,000 files of a PR: past that, a holdout edit could hide."""
    github.set_pull_files(PR_REPO, 2, [f"src/file{i}.py" for i in range(3000)])
    run = action(action.workspace("better"), "pull_request", payload("pull_request.opened.json"))
    assert run.code == 1 and "changes more files than GitHub lists" in report_comments(github)[0]["body"]


def test_an_inconclusive_gate_fails_the_check_and_an_override_accepts_it(action, github):
    """Issue 13: inconclusive never approves — exit 1, the check concludes failure (never
    neutral, which branch protection counts as a pass), and an override works on it as on a block."""
    unsure = POLICY.replace("max_drop: 0.05, min_support: 50", "max_drop: 0.05, min_support: 100000")
    github.set_file(PR_REPO, ".github/mlgate.yml", unsure, ref=BASE_SHA)
    github.set_permission(PR_REPO, "Codertocat", "maintain")
    ws = action.workspace("better")
    (ws / ".github" / "mlgate.yml").write_text(unsure)
    run = action(ws, "pull_request", payload("pull_request.opened.json"))
    assert run.code == 1 and run.output("decision") == "inconclusive"
    [check] = checks(github)
    assert check["conclusion"] == "failure" and check["output"]["title"].startswith("Inconclusive")
    body = report_comments(github)[0]["body"]
    assert "inconclusive" in body.lower() and "none gated" in body
    better = hashlib.sha256((action.templates["better"] / "build" / "model.skops").read_bytes()).hexdigest()
    assert f"/mlgate override {HEAD}:{better}" in body
    build = github.add_workflow_run(PR_REPO, HEAD, workflow_file="mlgate.yml")
    github.add_artifact(build["id"], "mlgate-report", artifact_from(ws))
    data = comment_event(f"/mlgate override {HEAD}:{better} slices too small to judge; reviewed by hand",
                         user="Codertocat")
    data["repository"] = payload("pull_request.opened.json")["repository"]
    data["issue"]["number"] = 2
    github.add_comment(PR_REPO, 2, data["comment"]["body"], user="Codertocat", id=COMMENT_ID,
                       created_at="2026-11-24T10:00:00Z")
    assert action(ws, "issue_comment", data).code == 0
    assert checks(github)[0]["conclusion"] == "success"
