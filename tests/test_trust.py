"""Nobody walks around the gate: each test is an attack from the trust review, run against the
real ``mlgate action`` (a subprocess) and the fake GitHub over HTTP.

The authority is the privileged judge. An override counts only as a maintainer's own,
unedited ``/mlgate override <commit>:<candidate> <reason>`` comment, verified through the API
when it is used, for the commit and the candidate artifact it names. PR code never runs
where a token is reachable. State the gate reads is fixed before PR code runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from test_action import (  # noqa: F401 - fixtures
    BASE_SHA, BOT, CMD_HEAD, POLICY, CMD_REPO, COMMENT_ID, HEAD, PR_REPO, REPO, TOKEN, action, artifact_from, bot_comments,
    checks, comment_event, demo_templates, gate_run_with, github, merged_event, payload, registry_of,
    report_comments, workflow_run_event,
)

EARLIER, LATER, LATEST = "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z"


def candidate_sha(action, scenario="worse") -> str:
    return hashlib.sha256((action.templates[scenario] / "build" / "model.skops").read_bytes()).hexdigest()


def target(action, commit=HEAD, scenario="worse") -> str:
    """What a maintainer copies from the report: the commit and the candidate it saw."""
    return f"{commit}:{candidate_sha(action, scenario)}"


def blocked_gate_run(action, github, *, artifact_at=EARLIER, sha=HEAD, repo=PR_REPO):
    """The PR's gate run uploaded a candidate that the gate blocks."""
    run = github.add_workflow_run(repo, sha, workflow_file="mlgate.yml", event="pull_request")
    github.add_artifact(run["id"], "mlgate-report", artifact_from(action.workspace("worse")), created_at=artifact_at)
    return run


def merge(action):
    base = action.workspace("better")
    return action(base, "pull_request_target", merged_event()), base


def promoted(base) -> bool:
    return registry_of(base)["aliases"]["production"] != 1


# ----------------------------------------------------------------------------- overrides


def test_a_maintainers_override_lets_the_merge_promote_and_is_audited(action, github):
    blocked_gate_run(action, github)
    github.set_permission(PR_REPO, "maint", "maintain")
    comment = github.add_comment(PR_REPO, 2, f"/mlgate override {target(action)} reviewed with the clinicians", user="maint",
                                 created_at=LATER)
    run, base = merge(action)
    assert run.code == 0, run.stderr
    assert promoted(base)
    version = registry_of(base)["versions"][1]
    assert version["reason"] == f"overridden by maint for commit {HEAD}: reviewed with the clinicians; merged #2"
    stored = json.loads((base / "models" / "registry" / "versions" / "2" / "result.json").read_text())
    assert stored["overridden"]["by"] == "maint" and stored["overridden"]["commit"] == HEAD
    assert stored["overridden"]["comment_url"].endswith(f"#issuecomment-{comment['id']}")


def test_the_bots_own_text_never_grants_an_override(action, github):
    """Every workflow posts as the bot, a PR's own included: neither a state line carrying an
    override nor a command-looking bot comment counts."""
    blocked_gate_run(action, github)
    worse_sha = hashlib.sha256((action.workspace("worse") / "build" / "model.skops").read_bytes()).hexdigest()
    state = {"sha": HEAD, "candidate": worse_sha,
             "override": {"by": "maint", "reason": "x", "at": LATER, "sha": HEAD, "candidate": worse_sha}}
    github.add_comment(PR_REPO, 2, f"<!-- mlgate:report -->\n## Blocked\n\n<!-- mlgate:state {json.dumps(state)} -->",
                       user=BOT, created_at=LATER)
    github.add_comment(PR_REPO, 2, f"/mlgate override {target(action)} forged by the PR's workflow", user=BOT, created_at=LATER)
    github.set_permission(PR_REPO, BOT, "admin")  # even a bot account with a role: bots are never maintainers here
    run, base = merge(action)
    assert run.code == 1 and not promoted(base)
    assert "not promoted" in bot_comments(github, PR_REPO, 2)[-1]["body"]


@pytest.mark.parametrize("role", ["write", "triage"])
def test_an_override_by_a_non_maintainer_is_not_honoured(action, github, role):
    blocked_gate_run(action, github)
    github.set_permission(PR_REPO, "writer", role)
    github.add_comment(PR_REPO, 2, f"/mlgate override {target(action)} trust me", user="writer", created_at=LATER)
    run, base = merge(action)
    assert run.code == 1 and not promoted(base)


def test_the_role_is_checked_when_the_override_is_used_not_when_written(action, github):
    blocked_gate_run(action, github)
    github.set_permission(PR_REPO, "maint", "maintain")
    github.add_comment(PR_REPO, 2, f"/mlgate override {target(action)} fine", user="maint", created_at=LATER)
    github.set_permission(PR_REPO, "maint", "write")  # demoted since
    run, base = merge(action)
    assert run.code == 1 and not promoted(base)


def test_an_edited_override_comment_is_not_honoured(action, github):
    """Write access lets people edit others' comments: an edited override may not be the
    maintainer's words any more."""
    blocked_gate_run(action, github)
    github.set_permission(PR_REPO, "maint", "maintain")
    comment = github.add_comment(PR_REPO, 2, f"/mlgate override {target(action, commit='0' * 40)} old",
                                 user="maint", created_at=LATER)
    github.set_permission(PR_REPO, "writer", "write")
    github.add_token("ghs_writerTOKEN", login="writer")
    import requests

    edit = requests.patch(f"{github.url}/repos/{PR_REPO}/issues/comments/{comment['id']}",
                          headers={"Authorization": "Bearer ghs_writerTOKEN"},
                          json={"body": f"/mlgate override {target(action)} old"}, timeout=10)
    assert edit.status_code == 200
    run, base = merge(action)
    assert run.code == 1 and not promoted(base)


def test_an_override_holds_only_for_the_commit_it_names(action, github):
    blocked_gate_run(action, github)
    github.set_permission(PR_REPO, "maint", "maintain")
    github.add_comment(PR_REPO, 2, f"/mlgate override {target(action, commit='1234567890abcdef' * 2 + '12345678')} an earlier commit",
                       user="maint", created_at=LATER)
    run, base = merge(action)
    assert run.code == 1 and not promoted(base)


def test_an_override_does_not_cover_another_candidate_for_the_same_commit(action, github):
    """The attack: the maintainer reviewed candidate A's report; a build re-run (never judged)
    uploaded B for the same commit. The override names A, so B is not promoted."""
    blocked_gate_run(action, github)  # the newest run's artifact: the worse candidate (B)
    github.set_permission(PR_REPO, "maint", "maintain")
    reviewed = "ab" * 32  # the candidate the maintainer saw (A)
    github.add_comment(PR_REPO, 2, f"/mlgate override {HEAD}:{reviewed} the one I reviewed", user="maint",
                       created_at=LATER)
    github.add_comment(PR_REPO, 2, f"/mlgate override {HEAD} commit only", user="maint", created_at=LATER)
    run, base = merge(action)
    assert run.code == 1 and not promoted(base)


def test_the_override_command_refuses_another_commit_and_prints_the_right_one(action, github):
    github.set_permission(CMD_REPO, "chmouel", "admin")
    body = "/mlgate override " + "de" * 20 + ":" + "ab" * 32 + " looks fine"
    github.add_comment(CMD_REPO, 1, body, user="chmouel", id=COMMENT_ID)
    run = action(action.workspace(), "issue_comment", comment_event(body), repo=CMD_REPO)
    assert run.code == 0
    assert checks(github, CMD_REPO, CMD_HEAD) == []
    reply = bot_comments(github, CMD_REPO, 1)[-1]["body"]
    assert "is not this pull request's head commit" in reply and f"/mlgate override {CMD_HEAD}:<candidate> <reason>" in reply
    assert github.comment_reactions(COMMENT_ID) == ["eyes", "confused"]


def test_the_judge_honours_a_verified_override_and_records_it(action, github):
    """workflow_run publishing: the check turns green with the override, result.json records it."""
    fork_head = "abcdef0123456789abcdef0123456789abcdef01"
    github.add_pull(PR_REPO, 7, fork_head, base_ref="master", head_ref="feature", head_repo="someone/Hello-World")
    github.set_pull_files(PR_REPO, 7, ["train.py"])
    gate = github.add_workflow_run(PR_REPO, fork_head, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(gate["id"], "mlgate-report", artifact_from(action.workspace("worse")), created_at=EARLIER)
    github.set_permission(PR_REPO, "maint", "admin")
    comment = github.add_comment(PR_REPO, 7, f"/mlgate override {target(action, commit=fork_head)} accepted", user="maint",
                                 created_at=LATER)
    run = action(action.workspace("better"), "workflow_run", workflow_run_event(gate["id"], fork_head))
    assert run.code == 0, run.stderr
    [check] = checks(github, PR_REPO, fork_head)
    assert check["conclusion"] == "success" and check["output"]["title"] == "Overridden by @maint"
    result = json.loads(Path(run.output("result_path")).read_text())
    assert result["decision"] == "block" and result["commit"] == fork_head
    assert result["overridden"] == {"by": "maint", "reason": "accepted", "at": LATER, "commit": fork_head,
                                    "comment_url": f"https://github.com/{PR_REPO}/pull/7#issuecomment-{comment['id']}"}


# ----------------------------------------------------------------------------- PR code and tokens


def _train_policy(ws: Path, command: str) -> None:
    policy = (ws / ".github" / "mlgate.yml").read_text().replace(
        "  path: build/model.skops\n", f"  train: {{command: {json.dumps(command)}, output: build/model.skops}}\n")
    (ws / ".github" / "mlgate.yml").write_text(policy)


SPY = """\
import os, pathlib, sys
found = []
pid = os.getpid()
while pid > 1:  # every ancestor: the action, the runner's shell, whatever started them
    try:
        if b"ghs_" in pathlib.Path(f"/proc/{pid}/environ").read_bytes():
            found.append(f"/proc/{pid}/environ")
        pid = int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        break
config = pathlib.Path(".git/config")
if config.exists() and "extraheader" in config.read_text():
    found.append(".git/config")
pathlib.Path(sys.argv[1]).write_text(repr(found))
pathlib.Path(sys.argv[2]).write_bytes(pathlib.Path("build/model.skops.orig").read_bytes())
"""


def _spy_workspace(action, *, persisted_credentials: bool) -> tuple[Path, Path]:
    """A PR whose train command looks for the token in every process's environment and in
    .git/config, as the review's attack did, then writes a real model."""
    ws = action.workspace("better")
    spy = action.tmp / f"spy-{action.count}.txt"
    (ws / "build" / "model.skops.orig").write_bytes((ws / "build" / "model.skops").read_bytes())
    (ws / "spy.py").write_text(SPY)
    _train_policy(ws, f"{sys.executable} spy.py {spy} {{output}}")
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n" + (
            '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX3NlY3JldA==\n'
            if persisted_credentials else ""))
    return ws, spy


def test_a_train_command_never_runs_where_the_token_is(action, github):
    """The one-job setup holds the token: PR code could read it from /proc/<ancestor>/environ
    whatever mlgate scrubs from its own environment, so it does not train there at all."""
    ws, spy = _spy_workspace(action, persisted_credentials=False)
    github.set_file(PR_REPO, ".github/mlgate.yml", (ws / ".github" / "mlgate.yml").read_text(), ref=BASE_SHA)
    run = action(ws, "pull_request", payload("pull_request.opened.json"))
    assert run.code == 2, run.stderr
    assert "train commands never run where a token is reachable" in run.stderr
    assert not spy.exists(), "the train command must not have run"


def test_the_build_job_refuses_to_train_with_persisted_checkout_credentials(action, github):
    ws, spy = _spy_workspace(action, persisted_credentials=True)
    run = action(ws, "pull_request", payload("pull_request.opened.json"), token="")
    assert run.code == 2, run.stderr
    assert ".git/config" in run.stderr and "persist-credentials: false" in run.stderr
    assert not spy.exists()
    assert github.calls() == [], "the build job has no token and calls nothing"


def test_the_build_job_trains_where_nothing_is_reachable_and_leaves_advice(action, github):
    ws, spy = _spy_workspace(action, persisted_credentials=False)
    run = action(ws, "pull_request", payload("pull_request.opened.json"), token="")
    assert run.code == 0, run.stderr
    assert spy.read_text() == "[]", "nothing to find: no token in any process, none in .git/config"
    assert run.output("decision") == "approve" and "Build job: advice" in run.summary
    assert (ws / "mlgate-report" / "candidate.skops").is_file()
    assert github.calls() == []


@pytest.mark.parametrize("variable", ["ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GH_TOKEN"])
def test_the_build_job_refuses_to_train_beside_any_token(action, github, variable):
    """A cloud identity token (id-token: write) or a token passed through env: is as reachable."""
    ws, spy = _spy_workspace(action, persisted_credentials=False)
    run = action(ws, "pull_request", payload("pull_request.opened.json"), token="", extra_env={variable: "ghs_x"})
    assert run.code == 2 and f"the environment variable {variable}" in run.stderr
    assert not spy.exists()


def test_a_train_command_that_writes_nothing_is_not_replaced_by_a_stale_model(tmp_path, run_cli):
    from mlgate.gates.demo import build

    ws = build(tmp_path / "ws", "better")
    _train_policy(ws, "true")  # the old build/model.skops is still there
    run = run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "out", "--quiet")
    assert run.code == 2 and "the train command did not write build/model.skops" in run.err
    assert not (ws / "build" / "model.skops").exists()


def test_processes_a_train_command_leaves_behind_are_killed(tmp_path, run_cli):
    """A daemon left by the train command would swap the holdout while the gate reads it."""
    from mlgate.gates.demo import build

    ws = build(tmp_path / "ws", "worse")
    holdout = (ws / "data" / "holdout.csv").read_bytes()
    (ws / "swap.py").write_text(
        "import time, pathlib\ntime.sleep(1.5)\npathlib.Path('data/holdout.csv').write_text('malignant\\n1\\n')\n")
    _train_policy(ws, f"setsid {sys.executable} swap.py >/dev/null 2>&1 & "
                      f"nohup {sys.executable} swap.py >/dev/null 2>&1 & cp build/model.skops {{output}}.new && "
                      "mv {output}.new {output}")
    (ws / "build" / "model.skops.new").unlink(missing_ok=True)
    run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "out", "--quiet")
    import time

    time.sleep(2.5)
    assert (ws / "data" / "holdout.csv").read_bytes() == holdout


# ----------------------------------------------------------------------------- what a PR can show


def test_a_policy_symlink_to_a_secret_is_never_shown(action, github, tmp_path):
    secret = tmp_path / "environ"
    secret.write_text(f"INPUT_GITHUB_TOKEN=SECRET-{TOKEN[-6:]}\nversion: 1\n")
    ws = action.workspace("better")
    (ws / ".github" / "mlgate.yml").unlink()
    (ws / ".github" / "mlgate.yml").symlink_to(secret)
    github.set_pull_files(PR_REPO, 2, [".github/mlgate.yml"])
    run = action(ws, "pull_request", payload("pull_request.opened.json"))
    body = report_comments(github)[0]["body"]
    for text in (body, run.summary, run.stdout, run.stderr):
        assert "SECRET-" not in text
    assert "is not shown: it is a symbolic link" in body


def test_an_edit_behind_a_holdout_symlink_blocks(action, github):
    ws = action.workspace("better")
    (ws / "data" / "real.csv").write_bytes((ws / "data" / "holdout.csv").read_bytes())
    (ws / "data" / "holdout.csv").unlink()
    (ws / "data" / "holdout.csv").symlink_to("real.csv")
    github.set_pull_files(PR_REPO, 2, ["data/real.csv"])
    run = action(ws, "pull_request", payload("pull_request.opened.json"))
    assert run.code == 1 and run.output("decision") == "block"
    assert "data/real.csv" in report_comments(github)[0]["body"]


def test_an_in_workspace_mlflow_store_is_protected_like_a_file_registry():
    from mlgate.action.trust import mlflow_sources

    ws = Path("/work/x")
    assert mlflow_sources("sqlite:///mlflow.db", None, ws) == ["mlflow.db", "mlruns", "mlartifacts"]
    assert mlflow_sources("sqlite:///mlflow.db", "store/artifacts", ws) == ["mlflow.db", "store/artifacts"]
    assert mlflow_sources("file:./mlruns", None, ws) == ["mlruns", "mlruns", "mlartifacts"]
    assert mlflow_sources("https://mlflow.example.com", "s3://bucket/x", ws) == []
    assert mlflow_sources("sqlite:////elsewhere/mlflow.db", None, ws) == ["mlruns", "mlartifacts"]


def test_a_pr_editing_the_mlflow_store_is_blocked(action, github):
    from mlgate.action.trust import protected_blockers
    from mlgate.gates.config.parse import parse_policy

    policy = parse_policy(
        "version: 1\ndata: {holdout: data/h.csv, target: y}\ncandidate: {path: m.skops}\n"
        "production: {registry: {kind: mlflow, model_name: churn, tracking_uri: 'sqlite:///mlflow.db'}}\n"
        "gates: [{metric: accuracy, rule: min, threshold: 0.5}]\n", "p.yml")
    notes: list[str] = []
    assert protected_blockers(policy, ["README.md"], notes, Path("/work/x")) == []
    [blocker] = protected_blockers(policy, ["mlflow.db"], notes, Path("/work/x"))
    assert "production model's source" in blocker and "mlflow.db" in blocker
    assert protected_blockers(policy, ["mlruns/1/abc/artifacts/model.skops"], notes, Path("/work/x"))


def test_file_names_cannot_write_workflow_commands_into_the_log(action, github):
    github.set_pull_files(PR_REPO, 2, ["models/registry/x\n::set-output name=decision::approve",
                                       "models/registry/y::add-mask::abc"])
    run = action(action.workspace("better"), "pull_request", payload("pull_request.opened.json"))
    assert run.code == 1
    lines = (run.stdout + run.stderr).splitlines()
    assert not [line for line in lines if line.lstrip().startswith("::") and not line.startswith("::warning title=mlgate::")]
    assert "::set-output" not in run.stdout and "::add-mask::" not in run.stdout


# ----------------------------------------------------------------------------- malformed artifacts, time limit


def _encrypted_zip() -> bytes:
    """A zip whose member claims to be encrypted (general-purpose flag bit 0)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("candidate.skops", b"x" * 100)
    data = bytearray(buf.getvalue())
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(sig)
        flag = at + (6 if sig == b"PK\x03\x04" else 8)
        data[flag] |= 1
    return bytes(data)


def _deep_skops(depth: int = 20_000) -> bytes:
    """A skops schema of lists nested 20,000 deep (written as text: json.dumps would recurse)."""
    open_ = '{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": ['
    schema = open_ * depth + "]}" * depth
    top = schema[:-1] + ', "protocol": 2, "_skops_version": "0.10"}'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("schema.json", top)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["encrypted zip", "nested skops", "not a zip", "a command in a name"])
def test_a_malformed_artifact_exits_2_with_a_reply(action, github, kind):
    run_rec = github.add_workflow_run(CMD_REPO, CMD_HEAD, workflow_file="mlgate.yml", event="pull_request")
    if kind == "encrypted zip":
        github.add_artifact(run_rec["id"], "mlgate-report", {}, raw_zip=_encrypted_zip())
    elif kind == "nested skops":
        github.add_artifact(run_rec["id"], "mlgate-report", {"candidate.skops": _deep_skops()})
    elif kind == "not a zip":
        github.add_artifact(run_rec["id"], "mlgate-report", {}, raw_zip=b"PK\x03\x04 not really")
    else:
        github.add_artifact(run_rec["id"], "mlgate-report", {"candidate.x\n::set-output name=decision::approve": b"x"})
    github.add_comment(CMD_REPO, 1, "/mlgate promote", user="chmouel", id=COMMENT_ID)
    github.set_permission(CMD_REPO, "chmouel", "write")
    base = action.workspace("better")
    run = action(base, "issue_comment", comment_event("/mlgate promote"), repo=CMD_REPO)
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert not [line for line in (run.stdout + run.stderr).splitlines() if line.lstrip().startswith("::")]
    assert "`/mlgate promote` failed" in bot_comments(github, CMD_REPO, 1)[-1]["body"]
    assert github.comment_reactions(COMMENT_ID) == ["eyes", "confused"]
    assert registry_of(base)["aliases"] == {"production": 1}


def test_a_slow_candidate_is_stopped_at_the_time_limit(action, github):
    """A tiny artifact — 1-nearest-neighbour over many all-zero rows, compressed to almost
    nothing — keeps a judge busy for minutes; the limit stops it, says so, exits 3."""
    from sklearn.neighbors import KNeighborsClassifier

    base = action.workspace("better")
    holdout = pd.read_csv(base / "data" / "holdout.csv")
    features = [c for c in holdout.columns if c not in ("malignant", "tumour_size")]
    rows = 150_000
    slow = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(
        pd.DataFrame(np.zeros((rows, len(features))), columns=features), np.arange(rows) % 2)
    path = action.tmp / "slow.skops"
    sio.dump(slow, path, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2_000_000
    trusted = sorted(sio.get_untrusted_types(file=path))
    policy = (base / ".github" / "mlgate.yml").read_text() + f"security: {{trusted_types: {json.dumps(trusted)}}}\n" \
        "limits: {evaluate_s: 6}\n"
    (base / ".github" / "mlgate.yml").write_text(policy)
    github.add_comment(CMD_REPO, 1, "/mlgate promote", user="chmouel", id=COMMENT_ID)
    github.set_permission(CMD_REPO, "chmouel", "write")
    gate_run_with(github, None, repo=CMD_REPO, sha=CMD_HEAD, files={"candidate.skops": path.read_bytes()})
    import time

    start = time.monotonic()
    run = action(base, "issue_comment", comment_event("/mlgate promote"), repo=CMD_REPO)
    took = time.monotonic() - start
    assert run.code == 3, run.stderr
    assert "limits.evaluate_s = 6 s" in run.stderr and took < 40
    assert "limits.evaluate_s = 6 s" in bot_comments(github, CMD_REPO, 1)[-1]["body"]
    assert github.comment_reactions(COMMENT_ID)[-1] == "confused"
    assert registry_of(base)["aliases"] == {"production": 1}


def test_a_dispatched_override_sets_the_check_but_a_merge_still_needs_the_comment(action, github):
    """A dispatch is verified when it runs (the dispatcher's role) but leaves no comment that a
    later promotion can verify; the reply says what to post instead."""
    repo = "octo-org/octo-repo"
    github.add_repo(repo)
    github.add_pull(repo, 5, HEAD, user="Codertocat")
    github.set_permission(repo, "Codertocat", "maintain")
    blocked_gate_run(action, github, repo=repo)
    worse = candidate_sha(action)
    base = action.workspace("better")
    run = action(base, "workflow_dispatch", payload("workflow_dispatch.json"), repo=repo, command="override",
                 pr="5", reason=f"{HEAD}:{'ab' * 32} accepted after review")
    assert run.code == 2 and checks(github, repo, HEAD) == []  # not the candidate the build uploaded
    assert "not `abababababab`" in run.stdout
    run = action(base, "workflow_dispatch", payload("workflow_dispatch.json"), repo=repo, command="override",
                 pr="5", reason=f"{HEAD}:{worse} accepted after review")
    assert run.code == 0, run.stderr
    [check] = checks(github, repo, HEAD)
    assert check["conclusion"] == "success" and check["output"]["title"] == "Overridden by @Codertocat"
    reply = bot_comments(github, repo, 5)[-1]["body"]
    assert f"post `/mlgate override {HEAD}:{worse} <reason>`" in reply

    refused = action(base, "workflow_dispatch", payload("workflow_dispatch.json"), repo=repo, command="override",
                     pr="5", reason="accepted after review")
    assert refused.code == 2 and "takes the commit it overrides, then the reason" in refused.stderr


def test_a_stored_result_claiming_an_override_promotes_nothing(tmp_path, run_cli):
    """`mlgate promote` reuses a matching result.json, but an `overridden` written into it (by
    anyone who can write the file, e.g. a PR's build artifact) is not an override."""
    from mlgate.gates.demo import build

    ws = build(tmp_path / "ws", "worse")
    out = tmp_path / "out"
    assert run_cli("evaluate", "--workspace", ws, "--out", out, "--quiet").code == 1
    result = json.loads((out / "result.json").read_text())
    result["overridden"] = {"by": "maint", "reason": "forged", "at": LATER, "commit": HEAD, "comment_url": "x"}
    (out / "result.json").write_text(json.dumps(result))
    run = run_cli("promote", "--workspace", ws, "--out", out, "--quiet")
    assert run.code == 1 and "refusing to promote: the gate blocks" in run.err
    assert json.loads((ws / "models" / "registry" / "registry.json").read_text())["aliases"] == {"production": 1}


@pytest.mark.parametrize("named", [HEAD[:7], HEAD[:39]])
def test_an_override_must_name_the_whole_commit(action, github, named):
    """A short prefix can be matched by a commit made for the purpose: only the full SHA counts."""
    blocked_gate_run(action, github)
    github.set_permission(PR_REPO, "maint", "maintain")
    github.add_comment(PR_REPO, 2, f"/mlgate override {named}:{candidate_sha(action)} fine", user="maint",
                       created_at=LATER)
    run, base = merge(action)
    assert run.code == 1 and not promoted(base)


def test_a_repository_cannot_shadow_mlgate_in_the_privileged_child(action, github):
    """The judge's working directory is the repository: a top-level `action/` or `gates/` there
    must not be imported by the supervised child (python -P), let alone run with the token."""
    base = action.workspace("better")
    marker = action.tmp / "shadowed"
    for package in ("action", "gates"):
        (base / package).mkdir()
        (base / package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('{package}')\n")
    (base / "action" / "__main__.py").write_text(f"open({str(marker)!r}, 'w').write('main')\n")
    github.add_comment(CMD_REPO, 1, "/mlgate help", user="chmouel", id=COMMENT_ID)
    run = action(base, "issue_comment", comment_event("/mlgate help"), repo=CMD_REPO)
    assert run.code == 0, run.stderr
    assert not marker.exists()
    assert "mlgate commands" in bot_comments(github, CMD_REPO, 1)[-1]["body"]


def test_a_merge_promotes_under_the_policy_from_before_the_merge(action, github):
    """After the merge the checkout holds the PR's own policy: a PR that loosened its margins
    (or widened its allowlist) must not be promoted under its own rules."""
    blocked_gate_run(action, github)
    base = action.workspace("better")
    policy = (base / ".github" / "mlgate.yml").read_text()
    (base / ".github" / "mlgate.yml").write_text(policy.replace("margin: 0.01", "margin: 0.9").replace(
        "margin: 0.02", "margin: 0.9").replace("threshold: 0.90", "threshold: 0.1"))
    run = action(base, "pull_request_target", merged_event())
    assert run.code == 1, run.stderr
    assert registry_of(base)["aliases"] == {"production": 1}


def test_a_merge_that_changed_the_holdout_is_not_promoted(action, github):
    gate_run_with(github, action.workspace("better"))  # an approving candidate...
    github.set_pull_files(PR_REPO, 2, ["data/holdout.csv"])  # ...judged on a holdout the PR rewrote
    run, base = merge(action)
    assert run.code == 1, run.stderr
    assert not promoted(base)
    assert "the holdout data/holdout.csv is changed by this PR" in bot_comments(github, PR_REPO, 2)[-1]["body"]


def test_a_judge_that_cannot_judge_fails_the_check_and_skips_cancelled_builds(action, github):
    fork_head = "abcdef0123456789abcdef0123456789abcdef01"
    github.add_pull(PR_REPO, 7, fork_head, base_ref="master", head_ref="feature", head_repo="someone/Hello-World")
    github.set_pull_files(PR_REPO, 7, ["train.py"])
    gate = github.add_workflow_run(PR_REPO, fork_head, head_branch="feature", head_repo="someone/Hello-World")
    run = action(action.workspace("better"), "workflow_run", workflow_run_event(gate["id"], fork_head))
    assert run.code == 2 and "uploaded no artifact" in run.stderr
    [check] = checks(github, PR_REPO, fork_head)
    assert check["conclusion"] == "failure" and check["output"]["title"] == "mlgate could not evaluate"

    cancelled = workflow_run_event(gate["id"], fork_head)
    cancelled["workflow_run"]["conclusion"] = "cancelled"
    quiet = action(action.workspace("better"), "workflow_run", cancelled)
    assert quiet.code == 0 and "the build run was cancelled" in quiet.stdout


def test_the_cli_in_a_workflow_refuses_to_train_beside_a_token(tmp_path, monkeypatch, run_cli):
    from mlgate.gates.demo import build

    ws = build(tmp_path / "ws", "better")
    (ws / "build" / "orig.skops").write_bytes((ws / "build" / "model.skops").read_bytes())
    _train_policy(ws, "cp build/orig.skops {output}")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_in_the_environment")
    run = run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "out", "--quiet")
    assert run.code == 2 and "the environment variable GITHUB_TOKEN" in run.err
    monkeypatch.delenv("GITHUB_TOKEN")
    assert run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "out", "--quiet").code == 0


def test_a_model_fed_the_label_is_refused(tmp_path, run_cli):
    """The attack: a pipeline trained on two weak features plus the target scores 1.0 on the
    holdout (the holdout hands it the answer) and serves blind."""
    from sklearn.linear_model import LogisticRegression

    from mlgate.gates.demo import build

    ws = build(tmp_path / "ws", "better")
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    cheat = LogisticRegression(max_iter=1000).fit(holdout[["mean radius", "mean texture", "malignant"]],
                                                  holdout["malignant"])
    sio.dump(cheat, ws / "build" / "model.skops")
    run = run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "out", "--quiet")
    assert run.code == 2 and "reads column(s) ['malignant'], which the gate holds out" in run.err


def test_the_judge_marks_the_check_in_progress_before_judging(action, github):
    """A judge that dies half-way (out of memory, a segfault in native model code) must not leave
    an earlier green check standing: the check is in progress from the start."""
    fork_head = "abcdef0123456789abcdef0123456789abcdef01"
    github.add_pull(PR_REPO, 7, fork_head, base_ref="master", head_ref="feature", head_repo="someone/Hello-World")
    github.set_pull_files(PR_REPO, 7, ["train.py"])
    gate = github.add_workflow_run(PR_REPO, fork_head, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(gate["id"], "mlgate-report", artifact_from(action.workspace("better")))
    assert action(action.workspace("better"), "workflow_run", workflow_run_event(gate["id"], fork_head)).code == 0
    posts = github.calls("POST", r"/check-runs$")
    assert posts[0].json["status"] == "in_progress"
    [latest, *_] = checks(github, PR_REPO, fork_head)
    assert latest["conclusion"] == "success"


# ----------------------------------------------------------------------------- second attack round


def _fork_pr(github, files=("train.py",)):
    fork_head = "abcdef0123456789abcdef0123456789abcdef01"
    github.add_pull(PR_REPO, 7, fork_head, base_ref="master", head_ref="feature", head_repo="someone/Hello-World")
    github.set_pull_files(PR_REPO, 7, list(files))
    gate = github.add_workflow_run(PR_REPO, fork_head, head_branch="feature", head_repo="someone/Hello-World")
    return fork_head, gate


def test_a_pr_that_changes_the_policy_needs_a_maintainer(action, github):
    """After the merge the policy is every later PR's gate (its allowlist, its holdout, its
    margins): the judge blocks a change to it, and shows the change."""
    fork_head, gate = _fork_pr(github, files=[".github/mlgate.yml"])
    github.add_artifact(gate["id"], "mlgate-report", artifact_from(action.workspace("better")))
    github.set_file(PR_REPO, ".github/mlgate.yml", POLICY + "security: {trusted_types: [posix.system]}\n", ref=fork_head)
    run = action(action.workspace("better"), "workflow_run", workflow_run_event(gate["id"], fork_head))
    assert run.code == 1, run.stderr
    body = report_comments(github, PR_REPO, 7)[0]["body"]
    assert "changes the gate's own policy .github/mlgate.yml" in body
    assert "posix.system" in body  # the diff is shown


def test_a_candidate_cannot_bring_a_phantom_class(tmp_path, run_cli, cancer):
    """A class only the candidate knows would turn the binary gates into macro averages."""
    from sklearn.linear_model import LogisticRegression

    from workspaces import Workspace

    train, holdout = cancer
    cols = [c for c in train.columns if c not in ("label", "size")]
    ws = Workspace(tmp_path)
    ws.table("data/holdout.csv", holdout)
    ws.model("models/prod.skops", LogisticRegression(max_iter=5000).fit(train[cols], train["label"]))
    phantom = pd.concat([train, train.head(3).assign(label=2)])
    ws.model("build/model.skops", LogisticRegression(max_iter=5000).fit(phantom[cols], phantom["label"]))
    ws.policy("""\
        version: 1
        data: {holdout: data/holdout.csv, target: label}
        candidate: {path: build/model.skops}
        production: {path: models/prod.skops}
        gates: [{metric: recall, rule: non_inferior, margin: 0.05}]
        """)
    run = run_cli("evaluate", "--workspace", ws.root, "--out", tmp_path / "out", "--quiet")
    assert run.code == 2 and "knows class(es) ['2'] that neither the holdout" in run.err


def test_a_slice_the_candidate_breaks_fails_the_gate():
    """The candidate never predicts the positive class in one slice: its precision there is
    undefined, production's is not. Not 'not gated' — a drop."""
    from mlgate.gates.config.spec import GateSpec
    from mlgate.gates.evidence import Comparands, build_evidence
    from mlgate.gates.rules import StatSettings, evaluate_gate

    rng = np.random.default_rng(2)
    n = 400
    y = rng.integers(0, 2, n)
    region = np.arange(n) < 200
    prod = np.where(rng.random(n) < 0.9, y, 1 - y)
    cand = np.where(region, 0, prod)  # says "negative" on every row of the region
    c = Comparands(task="classification", labels=(0, 1), pos_index=1, y=y, pred_candidate=cand, pred_production=prod,
                   proba_candidate=None, proba_production=None)
    slices = {"region=a": build_evidence(c, set(), region), "region=b": build_evidence(c, set(), ~region)}
    gate = GateSpec(metric="precision", rule="slice_max_drop", name="precision by region", max_drop=0.05,
                    min_support=50)
    result = evaluate_gate(gate, build_evidence(c, set()), slices, {}, StatSettings(
        alpha=0.05, resamples=500, seed=0, positive_label=1, average_default="binary"), has_production=True)
    assert result.outcome == "fail" and "region=a (undefined for the candidate)" in result.detail


def test_the_size_gate_weighs_the_model_not_its_compression(tmp_path):
    import zipfile as zf

    from sklearn.ensemble import RandomForestClassifier

    from mlgate.gates.models.load import load_model_file

    X, y = np.random.default_rng(0).random((2000, 10)), np.arange(2000) % 2
    big = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    plain, packed = tmp_path / "plain.skops", tmp_path / "packed.skops"
    sio.dump(big, plain)
    sio.dump(big, packed, compression=zf.ZIP_DEFLATED)
    trusted = sio.get_untrusted_types(file=plain)
    assert packed.stat().st_size < plain.stat().st_size / 2
    a = load_model_file(plain, role="candidate", label="a", trusted_types=trusted)
    b = load_model_file(packed, role="candidate", label="b", trusted_types=trusted)
    assert b.size_mb == pytest.approx(a.size_mb, rel=0.01)


def test_the_judge_never_writes_through_a_symlinked_report_directory(action, github, tmp_path):
    fork_head, gate = _fork_pr(github)
    github.add_artifact(gate["id"], "mlgate-report", artifact_from(action.workspace("better")))
    base = action.workspace("better")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (base / "mlgate-report").symlink_to(elsewhere)
    run = action(base, "workflow_run", workflow_run_event(gate["id"], fork_head))
    assert run.code == 2 and "symbolic link" in run.stderr
    assert list(elsewhere.iterdir()) == []


def test_only_the_newest_build_of_a_commit_is_judged(action, github):
    fork_head, older = _fork_pr(github)
    newer = github.add_workflow_run(PR_REPO, fork_head, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(older["id"], "mlgate-report", artifact_from(action.workspace("better")))
    run = action(action.workspace("better"), "workflow_run", workflow_run_event(older["id"], fork_head))
    assert run.code == 0 and f"a newer build (run {newer['id']})" in run.stdout
    assert checks(github, PR_REPO, fork_head) == []


def test_a_judge_killed_by_a_signal_fails_the_check(action, github):
    """Out of memory or a segfault in native model code: the child cannot say so itself."""
    fork_head, gate = _fork_pr(github)
    github.add_artifact(gate["id"], "mlgate-report", artifact_from(action.workspace("better")))
    base = action.workspace("better")
    crash = action.tmp / "crash"
    crash.mkdir()
    (crash / "sitecustomize.py").write_text(
        "import os, signal, sys\nif os.environ.get('MLGATE_SUPERVISED') == '1':\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    run = action(base, "workflow_run", workflow_run_event(gate["id"], fork_head),
                 extra_env={"PYTHONPATH": f"{crash}{os.pathsep}{REPO}"})
    assert run.code == 3 and "died from signal SIGKILL" in run.stderr
    [latest, *_] = checks(github, PR_REPO, fork_head)
    assert latest["conclusion"] == "failure" and "died from signal" in latest["output"]["summary"]


# ----------------------------------------------------------------------------- third attack round

FORK_HEAD = "abcdef0123456789abcdef0123456789abcdef01"


def _fork_pull(github):
    github.add_pull(PR_REPO, 7, FORK_HEAD, base_ref="master", head_ref="feature", head_repo="someone/Hello-World")
    github.set_pull_files(PR_REPO, 7, ["train.py"])


def _claim_version(src: Path, dst: Path, version: str) -> None:
    """A skops file whose estimators claim ``version`` as their scikit-learn version: the
    version warning scikit-learn raises on load quotes it verbatim."""
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(members["schema.json"])

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "_sklearn_version" and isinstance(value, dict) and value.get("__loader__") == "JsonNode":
                    value["content"] = json.dumps(version)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_a_candidate_cannot_write_workflow_commands_into_the_judges_log(action, github, tmp_path):
    _fork_pull(github)
    evil = tmp_path / "candidate.skops"
    _claim_version(action.workspace("worse") / "build" / "model.skops", evil,
                   "1.0\n::error title=mlgate::Approved: all gates passed\n::stop-commands::pwn\n")
    gate = github.add_workflow_run(PR_REPO, FORK_HEAD, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(gate["id"], "mlgate-report", {"candidate.skops": evil.read_bytes()})
    run = action(action.workspace("better"), "workflow_run", workflow_run_event(gate["id"], FORK_HEAD))
    assert run.code == 1
    log = (run.stdout + run.stderr).splitlines()
    assert any("stop-commands" in line for line in log), "the warning is shown, escaped"
    assert not [line for line in log if line.lstrip().startswith("::") and ("pwn" in line or "Approved" in line)]


def _slow_judge(action, github):
    """A fork PR's build of the better candidate, and its judge started in a thread and held in
    its artifact download (6 s), so that something newer can arrive meanwhile. Returns the run,
    the thread and the box its ActionRun lands in."""
    import threading
    import time

    _fork_pull(github)
    run = github.add_workflow_run(PR_REPO, FORK_HEAD, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(run["id"], "mlgate-report", artifact_from(action.workspace("better")))
    github.script("GET", r"/actions/artifacts/\d+/zip$", [("delay", 6)])
    box = {}
    slow = threading.Thread(target=lambda: box.setdefault(
        "run", action(action.workspace("better"), "workflow_run", workflow_run_event(run["id"], FORK_HEAD))))
    slow.start()
    for _ in range(200):  # the judge is past its first "newer run?" look, downloading
        if github.calls("GET", r"/actions/artifacts/\d+/zip$"):
            break
        time.sleep(0.05)
    return run, slow, box


def test_a_judge_that_finishes_after_a_newer_build_publishes_nothing_green(action, github):
    """An older build's judge, slow to finish, must not turn the check green over the newer
    build's block (the newer build is what promotion takes)."""
    _, slow, box = _slow_judge(action, github)
    newer = github.add_workflow_run(PR_REPO, FORK_HEAD, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(newer["id"], "mlgate-report", artifact_from(action.workspace("worse")))
    new = action(action.workspace("better"), "workflow_run", workflow_run_event(newer["id"], FORK_HEAD))
    assert new.code == 1 and new.output("decision") == "block"
    slow.join()
    assert box["run"].code == 0 and "a newer build" in box["run"].stdout
    runs = checks(github, PR_REPO, FORK_HEAD)
    assert [r["conclusion"] for r in runs if r["status"] == "completed"] and all(r["conclusion"] != "success" for r in runs)
    assert "Blocked" in report_comments(github, PR_REPO, 7)[0]["body"]


def test_only_runs_of_the_gate_workflow_are_judged(action, github):
    """workflow_run matches workflows by name, and a fork PR can add one named like the build:
    its artifact must not be judged."""
    _fork_pull(github)
    real = github.add_workflow_run(PR_REPO, FORK_HEAD, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(real["id"], "mlgate-report", artifact_from(action.workspace("worse")))
    assert action(action.workspace("better"), "workflow_run", workflow_run_event(real["id"], FORK_HEAD)).code == 1
    rogue = github.add_workflow_run(PR_REPO, FORK_HEAD, workflow_file="x.yml", name="mlgate", head_branch="feature",
                                    head_repo="someone/Hello-World")
    github.add_artifact(rogue["id"], "mlgate-report", artifact_from(action.workspace("better")))
    second = action(action.workspace("better"), "workflow_run", workflow_run_event(rogue["id"], FORK_HEAD))
    assert second.code == 0 and "nothing to do" in second.stdout
    assert all(r["conclusion"] == "failure" for r in checks(github, PR_REPO, FORK_HEAD))


def test_an_override_must_name_the_candidate_the_newest_build_uploaded(action, github):
    from test_action import COMMENT_ID, comment_event

    _fork_pull(github)
    gate = github.add_workflow_run(PR_REPO, FORK_HEAD, head_branch="feature", head_repo="someone/Hello-World")
    github.add_artifact(gate["id"], "mlgate-report", artifact_from(action.workspace("worse")))
    assert action(action.workspace("better"), "workflow_run", workflow_run_event(gate["id"], FORK_HEAD)).code == 1
    body = f"/mlgate override {FORK_HEAD}:{'ab' * 32} reviewed the small drop"
    github.set_permission(PR_REPO, "maint", "maintain")
    github.add_comment(PR_REPO, 7, body, user="maint", id=COMMENT_ID)
    data = comment_event(body, user="maint")
    data["repository"] = payload("pull_request.opened.json")["repository"]
    data["issue"]["number"] = 7
    run = action(action.workspace("better"), "issue_comment", data)
    assert run.code == 0
    assert all(r["conclusion"] == "failure" for r in checks(github, PR_REPO, FORK_HEAD))
    assert "the newest build of" in bot_comments(github, PR_REPO, 7)[-1]["body"]


def test_promotion_blocks_a_pr_that_edits_the_policy_as_the_judge_does(action, github):
    from test_action import COMMENT_ID, comment_event, gate_run_with

    github.set_pull_files(PR_REPO, 2, [".github/mlgate.yml", "train.py"])
    gate = gate_run_with(github, action.workspace("better"))
    judged = action(action.workspace("better"), "workflow_run",
                    workflow_run_event(gate["id"], HEAD, pull_requests=[{"number": 2}]))
    assert judged.code == 1 and judged.output("decision") == "block"
    github.set_permission(PR_REPO, "Codertocat", "write")
    github.add_comment(PR_REPO, 2, "/mlgate promote", user="Codertocat", id=COMMENT_ID)
    data = comment_event("/mlgate promote", user="Codertocat")
    data["repository"] = payload("pull_request.opened.json")["repository"]
    data["issue"]["number"] = 2
    base = action.workspace("better")
    run = action(base, "issue_comment", data)
    assert not promoted(base), run.stdout


def test_a_rerun_of_the_same_build_supersedes_the_older_attempts_judge(action, github):
    """A re-run keeps the run id and uploads a newer artifact to the same run: a slow judge of
    the first attempt must not publish its verdict over the re-run's."""
    import time

    run, slow, box = _slow_judge(action, github)
    time.sleep(0.5)
    github.add_artifact(run["id"], "mlgate-report", artifact_from(action.workspace("worse")))  # attempt 2
    new = action(action.workspace("better"), "workflow_run", workflow_run_event(run["id"], FORK_HEAD))
    assert new.code == 1 and new.output("decision") == "block"
    slow.join()
    assert box["run"].code == 0 and "re-run" in box["run"].stdout
    assert "Blocked" in report_comments(github, PR_REPO, 7)[0]["body"]
    assert all(c["conclusion"] != "success" for c in checks(github, PR_REPO, FORK_HEAD))


def test_an_older_judges_error_fails_only_its_own_check(action, github):
    """A cold attack: the older attempt's judge failing its re-check (GitHub errors) closed the
    newest check of the name — a newer judge's green verdict — and left its own in progress."""
    import time

    run, slow, _ = _slow_judge(action, github)
    time.sleep(0.5)
    github.add_artifact(run["id"], "mlgate-report", artifact_from(action.workspace("better")))  # attempt 2
    new = action(action.workspace("better"), "workflow_run", workflow_run_event(run["id"], FORK_HEAD))
    assert new.code == 0 and new.output("decision") == "approve"
    newest = max(checks(github, PR_REPO, FORK_HEAD), key=lambda c: c["id"])
    github.script("GET", r"/actions/runs/\d+/artifacts$", [500] * 5)  # the older judge's re-check fails
    slow.join()
    by_id = {c["id"]: c for c in checks(github, PR_REPO, FORK_HEAD)}
    assert by_id[newest["id"]]["conclusion"] == "success"
    assert all(c["status"] == "completed" for c in by_id.values())


@pytest.mark.parametrize("section, changed, blocked", [
    ("canary: {log: logs/predictions/*.parquet, gates: [{metric: accuracy, rule: superior}]}",
     "logs/predictions/zz-forged.parquet", True),
    ("canary: {log: logs/predictions/*.parquet, gates: [{metric: accuracy, rule: superior}]}", "src/app.py", False),
    ("canary: {log: '*.csv', gates: [{metric: accuracy, rule: superior}]}", "forged.csv", True),
    ("canary: {log: {url: 'sqlite:///logs/live.db', table: p}, gates: [{metric: accuracy, rule: superior}]}",
     "logs/live.db", True),
    ("canary: {log: logs/p.csv, labels: labels/*.csv, gates: [{metric: accuracy, rule: superior}]}",
     "labels/late.csv", True),
    ("drift: {current: {path: features/*.parquet}}", "features/new.parquet", True),
])
def test_a_pr_writing_the_live_data_the_judges_read_is_blocked(section, changed, blocked):
    """A PR that adds rows to the canary's log (or its labels, or the drift window) would write
    its own evidence for the judge that runs after the merge (found by a cold attack)."""
    from mlgate.action.trust import protected_blockers
    from mlgate.gates.config.parse import parse_policy

    policy = parse_policy("version: 1\ndata: {holdout: data/h.csv, target: y}\ncandidate: {path: m.skops}\n"
                          "gates: [{metric: accuracy, rule: min, threshold: 0.5}]\n" + section + "\n", "p.yml")
    found = protected_blockers(policy, [changed], [], Path("/work/x"))
    assert bool(found) is blocked
    if blocked:
        assert changed in found[0] and "judge would read rows this PR wrote" in found[0]
