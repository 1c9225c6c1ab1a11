"""Faults, races and hostile input: retries within bounds, one comment always, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.action import commands
from mlgate.gates.config.parse import parse_policy
from mlgate.gates.errors import ConfigError
from test_action import BASE_SHA, HEAD, POLICY, PR_REPO, REPO, TOKEN, checks, payload, report_comments  # noqa: F401
from test_action import action, demo_templates, github  # noqa: F401 - pytest fixtures re-exported


# ----------------------------------------------------------------------------- GitHub faults

FAULTS = [
    ("5xx on creating the comment", "POST", r"/issues/2/comments$", [502, 503]),
    ("secondary rate limit with Retry-After", "POST", r"/check-runs$",
     [(403, {"Retry-After": "1"}, {"message": "You have exceeded a secondary rate limit."})]),
    ("429 on listing comments", "GET", r"/issues/2/comments$", [(429, {"Retry-After": "1"}, {"message": "Too many"})]),
    ("connection reset", "GET", r"/pulls/2$", ["reset"]),
    ("slow answer", "GET", r"/contents/", [("delay", 1.0)]),
    ("5xx on editing", "PATCH", r"/check-runs/\d+$", [500]),
]


@pytest.mark.parametrize("name, method, path, responses", FAULTS, ids=[f[0] for f in FAULTS])
def test_transient_faults_are_retried_and_publish_once(action, github, name, method, path, responses):
    ws = action.workspace("better")
    if method == "PATCH":  # an edit needs something to edit: a first, clean run
        assert action(ws, "pull_request", payload("pull_request.opened.json")).code == 0
    github.script(method, path, responses)
    run = action(ws, "pull_request", payload("pull_request.synchronize.json"))
    assert run.code == 0, run.stderr
    assert github.scripts_pending() == 0, "the fault was met"
    assert len(report_comments(github)) == 1
    assert [c["conclusion"] for c in checks(github)] == ["success"]


def test_what_cannot_be_published_exits_3_and_says_what_was(action, github):
    github.script("POST", r"/check-runs$", [500] * 20)
    start = time.monotonic()
    run = action(action.workspace("better"), "pull_request", payload("pull_request.opened.json"))
    assert time.monotonic() - start < 60, "retries are bounded"
    assert run.code == 3
    line = run.stderr.strip().splitlines()[-1]
    assert "not published after retries: the check run" in line
    assert "Published: the job summary, the outputs, the report comment; the verdict was approve" in line
    assert len(report_comments(github)) == 1 and run.output("decision") == "approve"
    assert "Traceback" not in run.stderr


def test_a_stale_run_never_overwrites_a_newer_verdict(action, github):
    ws = action.workspace("better")
    assert action(ws, "pull_request", payload("pull_request.opened.json")).code == 0
    first = report_comments(github)[0]["body"]
    github.add_pull(PR_REPO, 2, "f" * 40, base_ref="master", base_sha=payload("pull_request.opened.json")
                    ["pull_request"]["base"]["sha"])  # the PR moved on to a newer commit
    stale = action(action.workspace("worse"), "pull_request", payload("pull_request.synchronize.json"))
    assert stale.code == 1 and "not editing the report: the pull request moved on" in stale.stdout
    assert report_comments(github)[0]["body"] == first
    assert checks(github)[0]["conclusion"] == "failure", "the stale commit's own check is still truthful"


def test_two_concurrent_runs_leave_exactly_one_comment(action, github):
    # Two runs at once on two cores: the latency gate measures the contention, not the model.
    policy = POLICY.replace("  - {metric: latency_ms_per_1k, rule: max_ratio, threshold: 25}\n", "")
    assert policy != POLICY
    github.set_file(PR_REPO, ".github/mlgate.yml", policy, ref=BASE_SHA)
    workspaces = [action.workspace("better"), action.workspace("better")]
    for ws in workspaces:
        (ws / ".github" / "mlgate.yml").write_text(policy)
    procs = []
    for i, ws in enumerate(workspaces):
        event = action.tmp / f"concurrent-{i}.json"
        event.write_text(json.dumps(payload("pull_request.opened.json")))
        env = {"PATH": os.environ["PATH"], "HOME": str(action.tmp), "PYTHONPATH": str(REPO),
               "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": PR_REPO, "GITHUB_EVENT_NAME": "pull_request",
               "GITHUB_EVENT_PATH": str(event), "GITHUB_WORKSPACE": str(ws), "INPUT_GITHUB_TOKEN": TOKEN,
               "MLGATE_WRITE_INTERVAL": "0"}
        procs.append(subprocess.Popen([sys.executable, "-m", "mlgate", "action"], cwd=ws, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert len(report_comments(github)) == 1


# ----------------------------------------------------------------------------- fuzzing


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
KEYS = ["version", "task", "data", "candidate", "production", "gates", "stats", "security", "engine", "promotion"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS + ["vesion", "gate"]), yaml_values, max_size=8))
def test_config_loader_only_ever_raises_config_errors(document):
    text = yaml.safe_dump(document)
    try:
        parse_policy(text, "fuzz.yml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.yml"), exc


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_config_loader_survives_arbitrary_text(text):
    try:
        parse_policy(text, "fuzz.yml")
    except ConfigError:
        pass


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120), st.text(max_size=60))
def test_command_parser_only_reads_a_leading_first_line(first, rest):
    body = first + "\n" + rest
    command = commands.parse(body)
    head = body.lstrip("\ufeff").strip().splitlines()[0].strip() if body.strip() else ""
    if command is not None:
        assert head.startswith("/mlgate")
        assert command.name in commands.REQUIRED_ROLE or command.name == "unknown"
    if not head.startswith("/mlgate"):
        assert command is None


@pytest.mark.parametrize("body", ["> /mlgate override x", "```\n/mlgate override x\n```", "  /mlgatee run",
                                  "text\n/mlgate override x", "/MLGATE run"])
def test_hidden_commands_are_not_commands(body):
    assert commands.parse(body) is None


@pytest.mark.parametrize("argument", ["²", "١٢", "3.0", "-1"])
def test_rollback_versions_are_ascii_integers(argument):
    command = commands.parse(f"/mlgate rollback {argument}")
    assert command.error and "takes a version number" in command.error
