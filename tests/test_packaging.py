"""The container action's files, checked by real linters, and the image's install reproduced.

No Docker engine runs here, so the test runs the Dockerfile's build stage as written into a
fresh prefix laid over a fresh virtual environment (tests/dockerfile.py) and runs the entrypoint
against the fake GitHub.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dockerfile import build_like_the_image

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / "examples" / "workflows").glob("*.yml"))
DESIGN_INPUTS = {"config", "github_token", "command", "reason", "version", "pr", "comment", "check_name",
                 "fail_on_block", "trust_pickle", "bot_login", "gate_workflow", "candidate", "production", "data",
                 "apply"}  # apply: beyond DESIGN's list, the canary judge's opt-out of applying its verdict
DESIGN_OUTPUTS = {"decision", "report_path", "result_path", "comment_url", "promoted_version", "verdict"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; it comes with the test extra: pip install '.[test]'")
    return path


def lint(*args: str) -> None:
    proc = subprocess.run(list(args), cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_yml_matches_the_schema_and_the_design():
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml")
    spec = yaml.safe_load((REPO / "action.yml").read_text())
    assert set(spec["inputs"]) == DESIGN_INPUTS
    assert set(spec["outputs"]) == DESIGN_OUTPUTS
    assert all("-" not in name for name in spec["inputs"]), "hyphenated inputs reach a container as INPUT_A-B"
    assert spec["runs"] == {"using": "docker", "image": "Dockerfile", "args": ["action"]}


def test_every_input_is_read_by_the_action():
    source = (REPO / "action" / "settings.py").read_text()
    read = set(re.findall(r'(?:inp|flag)\("([a-z_]+)"', source))
    assert read == DESIGN_INPUTS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_example_workflows_pass_actionlint_and_the_schema(workflow):
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow))
    lint(tool("actionlint"), "-no-color", str(workflow))
    data = yaml.safe_load(workflow.read_text())
    assert "permissions" in data, "each example states its minimal permissions"


def test_dockerfile_passes_hadolint():
    lint(tool("hadolint"), "Dockerfile")


def test_the_dockerfile_build_runs_the_action(tmp_path):
    """The build stage's RUN lines, run as written into a fresh prefix, laid over a fresh venv as
    the image's COPY lays /install over /usr/local (tests/dockerfile.py); then its ENTRYPOINT
    against the fake GitHub. (The final stage's RUN compiles the base image's standard library:
    it would write into this machine's own Python, and it changes how fast the image starts, not
    what it does.)"""
    built = build_like_the_image(tmp_path)
    build, final, venv, prefix = built.build, built.final, built.venv, built.prefix
    assert build["name"] == "build" and build["from"] == final["from"] == "python:3.11-slim"
    assert final["copy"] == ["--from=build /install /usr/local"], "the image takes the installed tree alone"
    assert build["env"]["MLGATE_PREFIX"] == "/install"
    assert final["entrypoint"] + final["cmd"] == ["mlgate", "action"]
    [site] = prefix.glob("lib/python*/site-packages")
    [record] = site.glob("mlgate-*.dist-info/RECORD")
    installed = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    assert installed == {"mlgate", record.parent.name, ".."}, installed  # ".." is bin/mlgate
    assert not [p for p in site.glob("*/**/tests") if p.is_dir()], "the wheels' test suites stay out"
    [pyc] = (site / "mlgate" / "action" / "__pycache__").glob("cli.*.pyc")
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, "bytecode compiled, unchecked-hash"

    from fake_github import FakeGitHub
    from mlgate.gates.demo import POLICY, build as build_demo

    events = REPO / "tests" / "fixtures" / "github-events"
    workspace = build_demo(tmp_path / "ws", "better")
    with FakeGitHub() as gh:
        gh.add_token("ghs_docker_test_token", login="github-actions[bot]")
        gh.add_repo("Codertocat/Hello-World", default_branch="master")
        event = json.loads((events / "pull_request.opened.json").read_text())
        pr = event["pull_request"]
        gh.add_pull("Codertocat/Hello-World", 2, pr["head"]["sha"], base_ref="master", base_sha=pr["base"]["sha"])
        gh.set_file("Codertocat/Hello-World", ".github/mlgate.yml", POLICY, ref=pr["base"]["sha"])
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "GITHUB_API_URL": gh.url,
               "GITHUB_REPOSITORY": "Codertocat/Hello-World", "GITHUB_EVENT_NAME": "pull_request",
               "GITHUB_EVENT_PATH": str(events / "pull_request.opened.json"), "GITHUB_WORKSPACE": str(workspace),
               "INPUT_GITHUB_TOKEN": "ghs_docker_test_token", "MLGATE_WRITE_INTERVAL": "0", **final["env"]}
        run = subprocess.run([str(venv / "bin" / final["entrypoint"][0]), *final["cmd"]], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        [check] = gh.find_check_runs("Codertocat/Hello-World", pr["head"]["sha"], "mlgate")
        assert check["conclusion"] == "success"


def test_readme_shows_every_example_workflow_verbatim():
    readme = (REPO / "README.md").read_text()
    for workflow in WORKFLOWS:
        assert workflow.read_text().rstrip() in readme, f"README is out of date with {workflow.name}"
