"""The action's handlers in-process, against the in-memory forge (``memory_forge``).

``run`` is called as ``mlgate action`` calls it, with Settings read from an Actions-like
environment for a temporary workspace built by ``mlgate demo``; only the forge is fake. The
PyGithub adapter and whole subprocess runs are covered in ``test_action`` over real HTTP.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from memory_forge import BOT, MemoryForge
from mlgate.action.runner import HANDLERS, run
from mlgate.action.settings import from_environment
from mlgate.action.sticky import STATE, read_state, state_line, with_state
from mlgate.gates.demo import POLICY, build
from mlgate.gates.errors import MlgateError
from mlgate.gates.report import COMMENT_LIMIT, MARKER

EVENTS = Path(__file__).resolve().parent / "fixtures" / "github-events"
REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # pull_request.opened.json's head and base
BASE_SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
CONFIG = ".github/mlgate.yml"
PR = 2


def payload(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="session")
def demos(tmp_path_factory):
    root = tmp_path_factory.mktemp("handler-demos")
    return {s: build(root / s, s) for s in ("better", "worse")}


@pytest.fixture
def forge():
    forge = MemoryForge(repository=REPO)
    forge.add_pull(PR, HEAD, base_sha=BASE_SHA, base_ref="master", files=["train.py"])
    forge.files[(CONFIG, BASE_SHA)] = POLICY
    return forge


@dataclass
class Outcome:
    code: int
    log: list[str]
    outputs: str
    summary: str

    def output(self, key: str) -> str | None:
        return next((line.split("=", 1)[1] for line in self.outputs.splitlines() if line.startswith(f"{key}=")), None)


class Job:
    """One ``mlgate action`` job, in-process: an event, the Actions environment, this forge."""

    def __init__(self, tmp: Path, forge: MemoryForge, demos: dict):
        self.tmp, self.forge, self.demos, self.count = tmp, forge, demos, 0

    def workspace(self, scenario: str = "better") -> Path:
        self.count += 1
        return Path(shutil.copytree(self.demos[scenario], self.tmp / f"ws-{scenario}-{self.count}"))

    def __call__(self, ws: Path, event: str, data: dict, *, token: str = "ghs_token", **inputs: str) -> Outcome:
        self.count += 1
        paths = {name: self.tmp / f"{name}-{self.count}" for name in ("event", "output", "summary")}
        paths["event"].write_text(json.dumps(data))
        paths["output"].write_text("")
        paths["summary"].write_text("")
        env = {"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(paths["event"]),
               "GITHUB_WORKSPACE": str(ws), "GITHUB_OUTPUT": str(paths["output"]),
               "GITHUB_STEP_SUMMARY": str(paths["summary"]), "GITHUB_RUN_ID": "4242", "GITHUB_SHA": BASE_SHA,
               "INPUT_GITHUB_TOKEN": token, **{f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
        log: list[str] = []
        code = run(from_environment(env), lambda settings: self.forge, log=log.append)
        return Outcome(code, log, paths["output"].read_text(), paths["summary"].read_text())

    def comment(self, body: str, user: str, role: str) -> tuple[Outcome, int]:
        """``user`` (with ``role``) comments ``body`` on the PR; the job handles it."""
        self.forge.roles[user] = role
        posted = self.forge.add_comment(PR, body, user)
        data = payload("issue_comment.created.on-pull-request.json")
        data["issue"]["number"] = PR
        data["comment"].update(id=posted.id, body=body)
        data["comment"]["user"]["login"] = user
        return self(self.workspace(), "issue_comment", data), posted.id


@pytest.fixture
def job(tmp_path, forge, demos, monkeypatch):
    # A privileged kind is normally run by a supervised child (deadline.py): be that child.
    monkeypatch.setenv("MLGATE_SUPERVISED", "1")
    monkeypatch.delenv("INPUT_GITHUB_TOKEN", raising=False)
    return Job(tmp_path, forge, demos)


def reports(forge: MemoryForge):
    return [c for c in forge.comments_by(BOT, PR) if MARKER in c.body]


def replies(forge: MemoryForge) -> list[str]:
    return [c.body for c in forge.comments_by(BOT, PR) if MARKER not in c.body]


def gate_run(forge: MemoryForge, ws: Path, head_label: str = "octo:feature") -> str:
    """A build of the head that uploaded ``ws``'s candidate; returns that candidate's SHA-256."""
    data = (ws / "build" / "model.skops").read_bytes()
    forge.add_gate_run(HEAD, {"candidate.skops": data}, head_label=head_label)
    return hashlib.sha256(data).hexdigest()


def registry(ws: Path) -> dict:
    return json.loads((ws / "models" / "registry" / "registry.json").read_text())


def test_the_action_opens_registries_only_at_the_edge():
    """action/registries.py is the one opener; no other module of the action reaches past it."""
    import ast

    action = Path(__file__).resolve().parents[1] / "action"
    for path in sorted(action.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and any(a.name == "open_registry" for a in node.names):
                assert path.name == "registries.py" or (node.module, node.level) == ("registries", 1), path.name


def test_every_trigger_kind_has_a_handler():
    assert set(HANDLERS) == {"ignore", "evaluate", "publish", "comment", "merge", "dispatch", "schedule"}


# ----------------------------------------------------------------------------- pull requests


def test_a_pull_request_gets_one_sticky_comment_and_a_passing_check(job, forge):
    done = job(job.workspace("better"), "pull_request", payload("pull_request.opened.json"))
    assert done.code == 0 and done.output("decision") == "approve"
    [comment] = reports(forge)
    assert comment.body.startswith(MARKER) and "Approved" in comment.body
    assert read_state(comment.body)["sha"] == HEAD
    assert done.output("comment_url") == comment.url
    [check] = forge.checks_on(HEAD)
    assert (check.status, check.conclusion) == ("completed", "success") and check.title.startswith("Approved")
    assert "Approved" in done.summary


def test_a_second_run_edits_the_same_comment_and_check(job, forge):
    ws = job.workspace("better")
    job(ws, "pull_request", payload("pull_request.opened.json"))
    [first] = reports(forge)
    assert job(ws, "pull_request", payload("pull_request.synchronize.json")).code == 0
    [again] = reports(forge)
    assert again.id == first.id and forge.edits == 1
    assert len(forge.checks_on(HEAD)) == 1


def test_a_blocked_candidate_fails_the_check_and_the_job(job, forge):
    done = job(job.workspace("worse"), "pull_request", payload("pull_request.opened.json"))
    assert done.code == 1 and done.output("decision") == "block"
    [check] = forge.checks_on(HEAD)
    assert check.conclusion == "failure" and check.title.startswith("Blocked")
    assert "Blocked" in reports(forge)[0].body


def test_a_pr_that_edits_the_policy_file_is_blocked(job, forge):
    forge.changed[PR] = [CONFIG, "train.py"]
    ws = job.workspace("better")
    (ws / CONFIG).write_text(POLICY.replace("margin: 0.01", "margin: 0.9"))
    done = job(ws, "pull_request", payload("pull_request.opened.json"))
    assert done.code == 1 and done.output("decision") == "block"
    body = reports(forge)[0].body
    assert f"this PR changes the gate's own policy {CONFIG}" in body
    assert "+  - {metric: roc_auc, rule: non_inferior, margin: 0.9}" in body  # shown, not applied
    assert forge.checks_on(HEAD)[0].conclusion == "failure"


def test_a_read_only_token_warns_once_and_exits_by_the_verdict(job, forge):
    forge.read_only = True
    done = job(job.workspace("worse"), "pull_request", payload("pull_request.opened.json"))
    assert done.code == 1 and done.output("decision") == "block" and "Blocked" in done.summary
    assert sum(line.startswith("::warning") for line in done.log) == 1
    assert forge.posted == {} and forge.checks == []


def test_the_comment_never_exceeds_the_limit_with_a_huge_report(job, forge):
    ws = job.workspace("better")
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    holdout["patient"] = [f"patient-{i:05d}-with-a-long-identifier" for i in range(len(holdout))]
    holdout.to_csv(ws / "data" / "holdout.csv", index=False)
    policy = POLICY.replace("slices: [tumour_size]", "slices: [tumour_size, patient]").replace(
        "  - {metric: recall, rule: slice_max_drop, max_drop: 0.05, min_support: 50}\n",
        "".join(f"  - {{metric: {m}, rule: slice_max_drop, max_drop: 0.05, min_support: 50}}\n"
                for m in ("recall", "accuracy", "precision", "f1")))
    (ws / CONFIG).write_text(policy)
    forge.files[(CONFIG, BASE_SHA)] = policy
    assert job(ws, "pull_request", payload("pull_request.opened.json")).code == 0
    assert len((ws / "mlgate-report" / "report-full.md").read_text()) > COMMENT_LIMIT, "the report must be huge"
    [comment] = reports(forge)
    assert len(comment.body) <= COMMENT_LIMIT
    assert STATE.match(comment.body.splitlines()[-1]), "the state line survives, last"
    assert "report trimmed to fit GitHub's size limit (left out:" in comment.body, "fitted by the report, not cut"
    assert "Approved" in comment.body and all(f"| {m} slice_max_drop |" in comment.body
                                              for m in ("recall", "accuracy", "f1"))
    assert len((ws / "mlgate-report" / "report.md").read_text()) <= COMMENT_LIMIT  # the artifact's copy, as written
    assert len(forge.checks_on(HEAD)[0].summary) <= 65_535


def test_the_judge_re_evaluates_the_builds_candidate_under_the_base_policy(job, forge):
    forge.heads[PR] = "someone:feature"
    gate_run(forge, job.demos["worse"], head_label="someone:feature")
    [(run_id, _, _, _)] = forge.gate_runs
    base = payload("pull_request.opened.json")
    data = {"action": "completed", "repository": base["repository"], "sender": base["sender"],
            "workflow_run": {"id": run_id, "event": "pull_request", "head_sha": HEAD, "head_branch": "feature",
                             "head_repository": {"owner": {"login": "someone"}}, "pull_requests": [],
                             "conclusion": "success"}}
    done = job(job.workspace("better"), "workflow_run", data)  # the judge's checkout is the base branch
    assert done.code == 1 and done.output("decision") == "block"
    [check] = forge.checks_on(HEAD)  # the one it started, closed with the verdict
    assert check.conclusion == "failure" and check.title.startswith("Blocked")
    assert "Blocked" in reports(forge)[0].body


def test_an_ignored_event_touches_nothing(job, forge):
    data = payload("pull_request.opened.json")
    data["action"] = "labeled"
    done = job(job.workspace(), "pull_request", data)
    assert done.code == 0 and "nothing to do" in done.log[0]
    assert forge.posted == {} and forge.checks == [] and done.outputs == ""


# ----------------------------------------------------------------------------- comment commands


def test_help_is_answered_for_anyone(job, forge):
    done, comment_id = job.comment("/mlgate help", "passer-by", "none")
    assert done.code == 0
    assert forge.reactions[comment_id] == ["eyes", "rocket"]
    assert "mlgate commands" in replies(forge)[0]


def test_an_override_by_a_writer_is_refused(job, forge):
    sha = gate_run(forge, job.demos["worse"])
    done, comment_id = job.comment(f"/mlgate override {HEAD}:{sha} accepted", "writer", "write")
    assert done.code == 0 and forge.reactions[comment_id] == ["eyes", "confused"]
    assert "needs the **maintain** role" in replies(forge)[0]
    assert forge.checks == []


def test_an_override_by_a_maintainer_turns_the_check_green_for_its_candidate(job, forge):
    assert job(job.workspace("worse"), "pull_request", payload("pull_request.opened.json")).code == 1
    sha = gate_run(forge, job.demos["worse"])
    job.comment(f"/mlgate override {HEAD}:{'0' * 64} accepted", "maint", "maintain")
    assert "nothing overridden" in replies(forge)[-1] and forge.checks_on(HEAD)[0].conclusion == "failure"
    done, comment_id = job.comment(f"/mlgate override {HEAD}:{sha} reviewed with the clinicians", "maint", "maintain")
    assert done.code == 0 and forge.reactions[comment_id] == ["eyes", "rocket"]
    [check] = forge.checks_on(HEAD)
    assert check.conclusion == "success" and check.title == "Overridden by @maint"
    [report] = reports(forge)
    assert "**Overridden** by @maint" in report.body and len(report.body) <= COMMENT_LIMIT
    assert read_state(report.body)["sha"] == HEAD
    # The gate run again on the same commit honours the maintainer's own comment.
    again = job(job.workspace("worse"), "pull_request", payload("pull_request.synchronize.json"))
    assert again.code == 0 and forge.checks_on(HEAD)[0].conclusion == "success"


def test_a_maintainer_can_override_an_onnx_candidate_the_base_policy_lists(job, forge):
    """The override hashes the candidate the judge would take: with onnx listed under
    security.formats, a candidate.onnx is that candidate (the override never loads it)."""
    ws = job.workspace("worse")
    policy = POLICY + "security: {formats: [skops, onnx]}\n"
    forge.files[(CONFIG, BASE_SHA)] = policy
    (ws / CONFIG).write_text(policy)
    data = b"the bytes of an ONNX graph"
    forge.add_gate_run(HEAD, {"candidate.onnx": data, "result.json": b"{}"})
    sha = hashlib.sha256(data).hexdigest()
    forge.roles["maint"] = "maintain"
    body = f"/mlgate override {HEAD}:{sha} reviewed"
    event = payload("issue_comment.created.on-pull-request.json")
    event["issue"]["number"] = PR
    event["comment"].update(id=forge.add_comment(PR, body, "maint").id, body=body)
    event["comment"]["user"]["login"] = "maint"
    done = job(ws, "issue_comment", event)
    assert done.code == 0, (done.log, replies(forge))
    assert "nothing overridden" not in replies(forge)[-1]
    assert forge.checks_on(HEAD)[0].conclusion == "success"


def test_another_prs_build_of_the_same_commit_is_not_this_prs_candidate(job, forge):
    """Anyone can push a public commit to their fork and open a PR from it: its builds of the
    same commit are not this PR's, for overrides, promotion, /mlgate run or the judge."""
    assert job(job.workspace("worse"), "pull_request", payload("pull_request.opened.json")).code == 1
    own = gate_run(forge, job.demos["worse"])
    theirs = gate_run(forge, job.demos["better"], head_label="mallory:same-commit")  # newer, same head SHA
    assert own != theirs
    refused, _ = job.comment(f"/mlgate override {HEAD}:{theirs} take mine", "maint", "maintain")
    assert "nothing overridden" in replies(forge)[-1]
    done, _ = job.comment(f"/mlgate override {HEAD}:{own} reviewed", "maint", "maintain")
    assert done.code == 0 and forge.checks_on(HEAD)[0].conclusion == "success"
    job.comment("/mlgate run", "writer", "write")
    [(own_run, *_), (their_run, *_)] = forge.gate_runs
    assert forge.reruns == [own_run]


def test_promote_by_a_reader_is_refused(job, forge):
    gate_run(forge, job.demos["better"])
    done, comment_id = job.comment("/mlgate promote", "reader", "read")
    assert done.code == 0 and forge.reactions[comment_id] == ["eyes", "confused"]
    assert "needs the **write** role" in replies(forge)[0]


def test_promote_then_rollback_which_needs_maintain(job, forge):
    ws = job.workspace("better")
    gate_run(forge, job.demos["better"])
    forge.roles["writer"] = "write"
    data = payload("issue_comment.created.on-pull-request.json")
    data["issue"]["number"] = PR

    def say(body, user):
        data["comment"].update(id=forge.add_comment(PR, body, user).id, body=body)
        data["comment"]["user"]["login"] = user
        return job(ws, "issue_comment", data)

    assert say("/mlgate promote", "writer").code == 0
    assert registry(ws)["aliases"] == {"production": 2, "previous": 1}
    assert say("/mlgate rollback", "writer").code == 0
    assert "needs the **maintain** role" in replies(forge)[-1] and registry(ws)["aliases"]["production"] == 2
    forge.roles["maint"] = "maintain"
    assert say("/mlgate rollback", "maint").code == 0
    assert registry(ws)["aliases"] == {"production": 1} and "production is now version 1 (was 2)" in replies(forge)[-1]
    assert "it is the start of the production history" in replies(forge)[-1]
    # The same comment again (a re-run job) is found done: nothing moves, nothing is refused.
    assert job(ws, "issue_comment", data).code == 0
    assert "nothing changed: production already is version 1" in replies(forge)[-1]
    assert [e["request"] for e in registry(ws)["audit"] if e.get("action") == "rollback"] == \
        [f"comment {data['comment']['id']}"]
    # A new comment at the start of the history is refused, and says why.
    assert say("/mlgate rollback", "maint").code == 0
    assert "nothing rolled back" in replies(forge)[-1] and "no earlier production version" in replies(forge)[-1]
    assert registry(ws)["aliases"] == {"production": 1}


def test_a_dispatched_rollback_is_done_once_per_workflow_run(job, forge):
    """A re-run of the dispatch job keeps its GITHUB_RUN_ID: it finds the rollback done instead
    of walking back a second step."""
    from mlgate.gates.registry.file import FileRegistry

    ws = job.workspace("better")
    FileRegistry(ws / "models" / "registry").promote(ws / "build" / "model.skops", source="t", by="t")
    forge.roles["Codertocat"] = "maintain"  # the dispatching user: the role check stays as it is
    first = job(ws, "workflow_dispatch", payload("workflow_dispatch.json"), command="rollback")
    assert first.code == 0 and registry(ws)["aliases"] == {"production": 1}
    assert "production is now version 1 (was 2)" in "\n".join(first.log)
    rerun = job(ws, "workflow_dispatch", payload("workflow_dispatch.json"), command="rollback")
    assert rerun.code == 0 and "nothing changed: production already is version 1" in "\n".join(rerun.log)
    assert registry(ws)["audit"][-1]["request"] == "run 4242"


def test_a_failed_command_is_replied_to_and_fails_the_job(job, forge):
    forge.add_gate_run(HEAD, {"candidate.pkl": b"not a model"})
    with pytest.raises(MlgateError, match="never loads pickles"):
        job.comment("/mlgate promote", "writer", "write")
    assert "`/mlgate promote` failed" in replies(forge)[-1]


@pytest.mark.parametrize("listed", [True, False], ids=["onnx listed", "onnx not listed"])
def test_an_onnx_candidate_is_judged_and_promoted_from_the_artifact(job, forge, listed):
    """The build uploads candidate.onnx; when the base policy lists onnx under security.formats,
    the judge takes it (never a pickle), evaluates it under the base policy and the registry keeps
    it as model.onnx; when it does not (the default: skops only), the judge refuses it unread."""
    import skops.io as sio
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    ws = job.workspace("better")
    # One tensor of every column but the target: the base policy without the slice column.
    policy = POLICY.replace("  slices: [tumour_size]\n", "").replace(
        "  - {metric: recall, rule: slice_max_drop, max_drop: 0.05, min_support: 50}\n", "")
    if listed:
        policy += "security: {formats: [skops, onnx]}\n"
    forge.files[(CONFIG, BASE_SHA)] = policy
    (ws / CONFIG).write_text(policy)  # the judge's checkout is the base branch
    holdout = pd.read_csv(ws / "data" / "holdout.csv").drop(columns=["tumour_size"])
    holdout.to_csv(ws / "data" / "holdout.csv", index=False)
    path = job.demos["better"] / "build" / "model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    graph = convert_sklearn(model, initial_types=[("X", FloatTensorType([None, model.n_features_in_]))])
    data = graph.SerializeToString()
    forge.add_gate_run(HEAD, {"candidate.onnx": data, "result.json": b"{}"})
    forge.roles["writer"] = "write"
    event = payload("issue_comment.created.on-pull-request.json")
    event["issue"]["number"] = PR
    event["comment"].update(id=forge.add_comment(PR, "/mlgate promote", "writer").id, body="/mlgate promote")
    event["comment"]["user"]["login"] = "writer"
    if not listed:
        from mlgate.gates.errors import ConfigError
        with pytest.raises(ConfigError, match=r"lists under security\.formats \(now: skops\); add onnx there"):
            job(ws, "issue_comment", event)
        assert registry(ws)["aliases"] == {"production": 1}
        return
    done = job(ws, "issue_comment", event)
    assert done.code == 0, (done.log, replies(forge))
    assert registry(ws)["aliases"] == {"production": 2, "previous": 1}
    assert (ws / "models" / "registry" / "versions" / "2" / "model.onnx").read_bytes() == data


# ----------------------------------------------------------------------------- the sticky state line


def test_the_state_line_is_pinned_and_reads_back_only_its_own_keys():
    assert with_state("body\n", {"sha": "abc", "candidate": None}) == \
        'body\n\n<!-- mlgate:state {"candidate": null, "sha": "abc"} -->'
    assert state_line({"sha": "-->x<"}) == '<!-- mlgate:state {"sha": "--\\u003ex\\u003c"} -->'
    forged = '<!-- mlgate:state {"sha": "a", "override": {"by": "x"}, "candidate": "%s"} -->' % ("f" * 500)
    assert read_state(f"{MARKER}\n{forged}") == {"sha": "a"}


def test_a_production_file_needs_no_registry(job, forge):
    """A policy whose production is a file never opens a registry, so none need exist."""
    ws = job.workspace("better")
    [model] = (ws / "models" / "registry").rglob("*.skops")
    shutil.copyfile(model, ws / "production.skops")
    shutil.rmtree(ws / "models")
    policy = POLICY.replace("  registry: models/registry\n  alias: production\n", "  path: production.skops\n")
    assert policy != POLICY
    (ws / CONFIG).write_text(policy)
    forge.files[(CONFIG, BASE_SHA)] = policy
    out = job(ws, "pull_request", payload("pull_request.opened.json"))
    assert out.code == 0, out.log
    assert out.output("decision") == "approve"
    [check] = forge.checks_on(HEAD)
    assert check.conclusion == "success"


def _result(ws: Path) -> dict:
    return json.loads((ws / "mlgate-report" / "result.json").read_text())


def test_each_distinct_candidate_is_an_attempt_and_the_report_says_the_luck(job, forge):
    first, second, again = job.workspace("better"), job.workspace("worse"), job.workspace("better")
    job(first, "pull_request", payload("pull_request.opened.json"))
    assert _result(first)["attempt"] == {"k": 1, "luck": pytest.approx(0.05), "alpha": 0.05, "spend": False}
    job(second, "pull_request", payload("pull_request.synchronize.json"))
    assert _result(second)["attempt"]["k"] == 2
    assert _result(second)["attempt"]["luck"] == pytest.approx(1 - 0.95 ** 2)
    [comment] = reports(forge)
    assert "Attempt 2 on this pull request" in comment.body and "10%" in comment.body
    state = read_state(comment.body)
    assert state["attempts"] == 2 and len(state["candidates"]) == 2
    job(again, "pull_request", payload("pull_request.synchronize.json"))  # the first candidate again: no new try
    assert _result(again)["attempt"]["k"] == 1
    assert read_state(reports(forge)[0].body)["attempts"] == 2


def test_spent_attempts_test_the_kth_candidate_at_a_smaller_level(job, forge):
    spend = POLICY.replace("stats: {alpha: 0.05,", "stats: {alpha: 0.05, attempts: {spend: true},")
    assert spend != POLICY
    forge.files[(CONFIG, BASE_SHA)] = spend
    first, second = job.workspace("better"), job.workspace("worse")
    for ws in (first, second):
        (ws / CONFIG).write_text(spend)
    job(first, "pull_request", payload("pull_request.opened.json"))
    job(second, "pull_request", payload("pull_request.synchronize.json"))
    attempt = _result(second)["attempt"]
    assert attempt["k"] == 2 and attempt["spend"] is True
    assert attempt["alpha"] == pytest.approx(0.05 * 6 / (np.pi ** 2 * 4))
    relative = [g for g in _result(second)["gates"] if g["confidence_level"] is not None]
    assert relative and all(g["confidence_level"] == pytest.approx(1 - 2 * attempt["alpha"]) for g in relative)


def test_a_forged_attempt_list_is_dropped_not_trusted():
    forged = '<!-- mlgate:state {"sha": "a", "candidates": ["not-a-sha", "%s"], "attempts": true} -->' % ("a" * 64)
    assert read_state(f"{MARKER}\n{forged}") == {"sha": "a"}
    good = '<!-- mlgate:state {"candidates": ["%s", "%s"], "attempts": 7} -->' % ("a" * 64, "b" * 64)
    state = read_state(f"{MARKER}\n{good}")
    assert state == {"candidates": ["a" * 64, "b" * 64], "attempts": 7}
    from mlgate.action.sticky import attempt_of

    assert attempt_of(state)("a" * 64) == 6 and attempt_of(state)("b" * 64) == 7 and attempt_of(state)("c" * 64) == 8


class _Pwn:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).write_text, ("pwned",))


def test_the_one_job_setup_never_unpickles_beside_its_token(job, forge, tmp_path):
    """trust_pickle is for the token-less build job: here a token is reachable, so no pickle loads."""
    import pickle

    ws = job.workspace("better")
    marker = tmp_path / "pwned"
    (ws / "build" / "model.pkl").write_bytes(pickle.dumps(_Pwn(str(marker))))
    policy = POLICY.replace("path: build/model.skops", "path: build/model.pkl")
    assert policy != POLICY
    (ws / CONFIG).write_text(policy)
    forge.files[(CONFIG, BASE_SHA)] = policy
    with pytest.raises(MlgateError, match="refusing to unpickle"):
        job(ws, "pull_request", payload("pull_request.opened.json"), trust_pickle="true")
    assert not marker.exists()


def test_protected_paths_are_the_files_themselves_not_their_neighbours(tmp_path):
    from mlgate.action.trust import touched

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "holdout.csv").write_text("x\n")
    assert touched("data/holdout.csv", ["data/train.csv", "data/README.md"], tmp_path) == []
    assert touched("data/holdout.csv", ["data/holdout.csv", "src/a.py"], tmp_path) == ["data/holdout.csv"]
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "holdout.csv").write_text("x\n")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    assert touched("linked/holdout.csv", ["real/holdout.csv"], tmp_path) == ["real/holdout.csv"]
    assert touched("linked/holdout.csv", ["linked"], tmp_path) == ["linked"]  # the link itself
    assert touched("linked/holdout.csv", ["real/other.csv"], tmp_path) == []
    assert touched("models/registry", ["models/registry/registry.json", "models/README.md"], tmp_path) == \
        ["models/registry/registry.json"]
