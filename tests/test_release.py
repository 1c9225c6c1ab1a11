"""The release: its workflow linted and its shell steps run for real, and the action.yml pinning.

The steps that decide what a release publishes — the version, the refusal of a version released
already, the release commit and the tags — run here as GitHub runs them (bash -eo pipefail)
against a local bare repository standing in for GitHub; the steps that need GitHub or a Docker
engine (build, push, attest, smoke test, the GitHub release) are checked as data.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from test_packaging import lint, tool

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
PIN = REPO / ".github" / "scripts" / "pin_image.py"
IMAGE = "ghcr.io/mlgate/mlgate"
DIGEST = "sha256:" + "0123456789abcdef" * 4
OTHER = "sha256:" + "fedcba9876543210" * 4


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps() -> list[dict]:
    return workflow()["jobs"]["release"]["steps"]


def step(name: str) -> dict:
    [found] = [s for s in steps() if s.get("name") == name]
    return found


def run_step(name: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A ``run:`` step as GitHub runs it, its ``env`` values given (expressions resolved by the caller)."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(name)["run"]], cwd=cwd,
                          env={"PATH": os.environ["PATH"], "HOME": str(cwd), **env}, capture_output=True, text=True)


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


# -- the workflow as data ------------------------------------------------------------------------

def test_release_workflow_passes_actionlint_and_the_schema():
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW))
    lint(tool("actionlint"), "-no-color", str(WORKFLOW))


def test_release_workflow_triggers_permissions_and_concurrency():
    data = workflow()
    triggers = data[True]  # PyYAML reads the key `on` as True
    assert triggers["push"] == {"tags": ["v*.*.*"]}
    assert triggers["workflow_dispatch"]["inputs"]["version"]["required"] is True
    assert data["permissions"] == {}, "nothing by default; the job asks for what it needs"
    assert data["jobs"]["release"]["permissions"] == {
        "contents": "write", "packages": "write", "id-token": "write", "attestations": "write"}
    assert data["concurrency"] == {"group": "release", "cancel-in-progress": False}


def test_every_action_is_pinned_by_a_full_commit_sha():
    text = WORKFLOW.read_text()
    uses = re.findall(r"^\s*(?:- )?uses: (\S+)(.*)$", text, re.M)
    assert {ref.split("@")[0] for ref, _ in uses} == {
        "actions/checkout", "docker/setup-buildx-action", "docker/login-action", "docker/build-push-action",
        "actions/attest-build-provenance"}
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"{ref}: pin by the full commit SHA"
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{ref}: say which release the SHA is"


def test_the_pushed_digest_is_what_gets_pinned_and_released():
    build = step("Build and push the image")
    assert build["id"] == "build" and build["with"]["push"] is True and build["with"]["context"] == "."
    assert build["with"]["tags"] == "${{ steps.version.outputs.image }}:${{ steps.version.outputs.version }}"
    digest = "${{ steps.build.outputs.digest }}"
    assert step("Release commit and tags")["env"]["DIGEST"] == digest
    assert step("GitHub release")["env"]["DIGEST"] == digest
    assert [s for s in steps() if s.get("uses", "").startswith("actions/attest-build-provenance@")][0]["with"][
        "subject-digest"] == digest
    assert "pin_image.py" in step("Release commit and tags")["run"]
    names = [s.get("name") or s["uses"].split("@")[0] for s in steps()]
    assert names.index("Smoke-test the pushed image") < names.index("Release commit and tags")


# -- the version step ----------------------------------------------------------------------------

@pytest.mark.parametrize("event, ref, given, expected", [
    ("push", "v1.2.3", "", {"version": "1.2.3", "tag": "v1.2.3", "major": "v1", "prerelease": "false"}),
    ("workflow_dispatch", "main", "2.0.0-rc.1", {"version": "2.0.0-rc.1", "tag": "v2.0.0-rc.1", "major": "v2",
                                                 "prerelease": "true"}),
    ("workflow_dispatch", "main", "v0.10.0", {"version": "0.10.0", "tag": "v0.10.0", "major": "v0", "prerelease": "false"}),
])
def test_the_version_step_reads_the_tag_or_the_input(tmp_path, event, ref, given, expected):
    out = tmp_path / "out"
    out.touch()
    run = run_step("Version", tmp_path, {"GITHUB_EVENT_NAME": event, "REF_NAME": ref, "INPUT_VERSION": given,
                                         "GITHUB_REPOSITORY": "MLgate/MLgate", "GITHUB_OUTPUT": str(out)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert outputs(out) == {**expected, "image": "ghcr.io/mlgate/mlgate"}, "GHCR names are lower case"


@pytest.mark.parametrize("given", ["1.2", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3 ; rm -rf /", "latest", ""])
def test_the_version_step_refuses_what_is_not_a_version(tmp_path, given):
    out = tmp_path / "out"
    out.touch()
    run = run_step("Version", tmp_path, {"GITHUB_EVENT_NAME": "workflow_dispatch", "REF_NAME": "main",
                                         "INPUT_VERSION": given, "GITHUB_REPOSITORY": "o/r", "GITHUB_OUTPUT": str(out)})
    assert run.returncode == 1 and f"version '{given}' is not" in run.stdout
    assert out.read_text() == ""


# -- the release commit and tags, against a bare repository --------------------------------------

def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}).stdout.strip()


@pytest.fixture
def project(tmp_path):
    """A clone whose origin (a bare repository) has main with action.yml at v1.2.3, and v1.1.0."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(tmp_path, "clone", "--quiet", str(origin), str(work))
    (work / ".github" / "scripts").mkdir(parents=True)
    shutil.copy(PIN, work / ".github" / "scripts" / "pin_image.py")
    shutil.copy(REPO / "action.yml", work / "action.yml")
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "1.1.0")
    git(work, "tag", "v1.1.0")
    (work / "CHANGES").write_text("1.2.3\n")
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "1.2.3")
    git(work, "tag", "v1.2.3")
    git(work, "push", "--quiet", "origin", "main", "v1.1.0", "v1.2.3")
    return origin, work


def release_env(work: Path, tag: str, *, event: str = "push") -> dict[str, str]:
    return {"GITHUB_EVENT_NAME": event, "GITHUB_SHA": git(work, "rev-parse", "HEAD"), "TAG": tag,
            "MAJOR": tag.split(".")[0], "PRERELEASE": "true" if "-" in tag else "false", "IMAGE": IMAGE,
            "DIGEST": DIGEST}


def test_a_release_moves_the_version_and_major_tags_to_a_commit_that_pins_the_image(project):
    origin, work = project
    released = git(work, "rev-parse", "HEAD")
    env = release_env(work, "v1.2.3")
    guard = run_step("Refuse a version released already", work, env)
    assert guard.returncode == 0, guard.stdout + guard.stderr
    run = run_step("Release commit and tags", work, env)
    assert run.returncode == 0, run.stdout + run.stderr
    commit = git(origin, "rev-parse", "v1.2.3^{commit}")
    assert git(origin, "rev-parse", f"{commit}^") == released, "the release commit is a child of the tagged one"
    assert git(origin, "rev-parse", "v1^{commit}") == commit, "v1 follows its highest release"
    assert git(origin, "rev-parse", "main") == released, "main keeps building the Dockerfile"
    assert git(origin, "diff", "--name-only", released, commit) == "action.yml"
    pinned = yaml.safe_load(git(origin, "show", f"{commit}:action.yml"))
    assert pinned["runs"] == {"using": "docker", "image": f"docker://{IMAGE}@{DIGEST}", "args": ["action"]}
    assert IMAGE in git(origin, "tag", "-l", "--format=%(contents)", "v1.2.3")

    again = run_step("Refuse a version released already", work, env)  # a re-run of the same tag push
    assert again.returncode == 1 and "no longer points at" in again.stdout
    dispatched = run_step("Refuse a version released already", work, {**env, "GITHUB_EVENT_NAME": "workflow_dispatch"})
    assert dispatched.returncode == 1 and "v1.2.3 exists already" in dispatched.stdout


def test_a_backport_or_a_prerelease_leaves_the_major_tag_alone(project):
    origin, work = project
    run = run_step("Release commit and tags", work, release_env(work, "v1.2.3"))
    assert run.returncode == 0, run.stderr
    v1 = git(origin, "rev-parse", "v1^{commit}")
    git(work, "checkout", "--quiet", "v1.1.0")  # a fix on the 1.1 line, released after 1.2.3
    git(work, "tag", "v1.1.1")
    git(work, "push", "--quiet", "origin", "v1.1.1")
    run = run_step("Release commit and tags", work, release_env(work, "v1.1.1"))
    assert run.returncode == 0, run.stderr
    assert git(origin, "rev-parse", "v1^{commit}") == v1
    assert git(origin, "rev-parse", "v1.1.1^{commit}") != git(origin, "rev-parse", "v1.1.0^{commit}")
    git(work, "checkout", "--quiet", "main")
    run = run_step("Release commit and tags", work, {**release_env(work, "v1.3.0-rc.1"), "DIGEST": OTHER})
    assert run.returncode == 0, run.stderr
    assert git(origin, "rev-parse", "v1^{commit}") == v1


# -- pin_image.py --------------------------------------------------------------------------------

def pin(action: Path, image: str = IMAGE, digest: str = DIGEST) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PIN), "--action", str(action), image, digest],
                          capture_output=True, text=True)


@pytest.fixture
def action(tmp_path):
    path = tmp_path / "action.yml"
    shutil.copy(REPO / "action.yml", path)
    return path


def test_pin_rewrites_only_the_image_line_and_is_idempotent(action):
    before = action.read_text()
    run = pin(action)
    assert run.returncode == 0, run.stderr
    after = action.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [("  image: Dockerfile", f"  image: docker://{IMAGE}@{DIGEST}")]
    assert len(before.splitlines()) == len(after.splitlines())
    original, pinned = yaml.safe_load(before), yaml.safe_load(after)
    assert pinned["runs"]["image"] == f"docker://{IMAGE}@{DIGEST}"
    pinned["runs"]["image"] = "Dockerfile"
    assert pinned == original
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(action))

    again = pin(action)
    assert again.returncode == 0 and "already pinned" in again.stdout
    assert action.read_text() == after
    repinned = pin(action, digest=OTHER)
    assert repinned.returncode == 0 and action.read_text() == after.replace(DIGEST, OTHER)


@pytest.mark.parametrize("image, digest, message", [
    ("ghcr.io/MLgate/mlgate", DIGEST, "image 'ghcr.io/MLgate/mlgate'"),
    ("ghcr.io/mlgate/mlgate:v1", DIGEST, "without a tag or digest"),
    (f"ghcr.io/mlgate/mlgate@{DIGEST}", DIGEST, "without a tag or digest"),
    ("docker.io/mlgate/mlgate", DIGEST, "expected ghcr.io/<owner>/<repo>"),
    ("ghcr.io/mlgate", DIGEST, "image 'ghcr.io/mlgate'"),
    ("ghcr.io/-mlgate/mlgate", DIGEST, "image 'ghcr.io/-mlgate/mlgate'"),
    ("ghcr.io/mlgate/mlgate\n  args: [x]", DIGEST, "expected ghcr.io"),
    (IMAGE, "sha256:" + "0" * 63, "digest 'sha256:000"),
    (IMAGE, DIGEST.upper().replace("SHA256", "sha256"), "64 lower-case hexadecimal digits"),
    (IMAGE, "sha512:" + "0" * 128, "expected sha256:"),
    (IMAGE, "0" * 64, "expected sha256:"),
    (IMAGE, DIGEST + "\n", "expected sha256:"),
])
def test_pin_refuses_a_bad_image_or_digest_and_writes_nothing(action, image, digest, message):
    before = action.read_text()
    run = pin(action, image, digest)
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert run.stderr.startswith("pin_image: error: ")
    assert action.read_text() == before


@pytest.mark.parametrize("edit, message", [
    (("image: Dockerfile", "image: docker://alpine:3"), "runs.image is 'docker://alpine:3'"),
    (("using: docker", "using: node24"), "runs.using must be docker, found ['node24']"),
    (("  image: Dockerfile\n", ""), "expected one runs.image, found 0"),
    (("  image: Dockerfile\n", "  image: Dockerfile\n  image: Dockerfile\n"), "expected one runs.image, found 2"),
    (("runs:\n", "steps:\n"), "expected one top-level 'runs:' mapping, found 0"),
])
def test_pin_refuses_an_action_it_does_not_recognise(action, edit, message):
    text = action.read_text()
    assert edit[0] in text
    action.write_text(text.replace(edit[0], edit[1], 1))
    before = action.read_text()
    run = pin(action)
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert action.read_text() == before


def test_pin_names_a_missing_file(tmp_path):
    run = pin(tmp_path / "nope.yml")
    assert run.returncode == 2 and "nope.yml" in run.stderr
