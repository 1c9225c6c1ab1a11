"""The canary alias lifecycle end to end: with ``promotion: {to: canary}`` a promotion (merge,
``/mlgate promote`` or ``mlgate promote``) sets ``canary`` after judging the candidate against
production; the canary judge's end then promotes it (production ← canary, previous ← the old
production, canary cleared) or rolls it back (canary cleared, production untouched).

Through ``gates.promotion.promote`` on the file registry and MLflow, and through the action's
merge promotion (a subprocess, real HTTP) on GitHub Releases over the fake GitHub.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fake_github import FakeGitHub
from mlgate.gates.config.parse import parse_policy
from mlgate.gates.demo import POLICY, build
from mlgate.gates.engine import Overrides
from mlgate.gates.errors import Blocked
from mlgate.gates.promotion import promote
from mlgate.gates.registry.base import CanaryEnd
from mlgate.gates.registry.file import FileRegistry
from test_action import BASE_SHA, BOT, HEAD, PR_REPO, TOKEN, Action, artifact_from, merged_event
from workspaces import CANCER_POLICY

TO_CANARY = "promotion: {when: merge, to: canary}\n"


@pytest.fixture(params=["file", "mlflow"])
def canary_workspace(request, cancer_workspace, cancer_models, tmp_path):
    """The cancer workspace (good candidate, medium production as version 1) with its registry
    on the backend under test and ``promotion: {to: canary}``."""
    ws = cancer_workspace
    if request.param == "file":
        ws.policy(CANCER_POLICY + TO_CANARY)
        return ws, FileRegistry(ws.root / "models" / "registry", label="models/registry")
    pytest.importorskip("mlflow", reason="the MLflow backend needs the mlflow extra")
    from mlgate.gates.registry.mlflow import MlflowRegistry

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = MlflowRegistry("cancer", uri, artifact_location=(tmp_path / "artifacts").as_uri(),
                              cache=tmp_path / "cache")
    shutil.rmtree(ws.root / "models" / "registry")
    ws.model("seed/production.skops", cancer_models["medium"])
    registry.promote(ws.root / "seed" / "production.skops", source="seed", by="tests")
    ws.policy(CANCER_POLICY.replace("  registry: models/registry\n",
                                    f"  registry: {{kind: mlflow, model_name: cancer, tracking_uri: '{uri}'}}\n")
              + TO_CANARY)
    return ws, registry


def _promote(ws, registry, **kw):
    policy = parse_policy((ws.root / ".github" / "mlgate.yml").read_text(), ".github/mlgate.yml")
    return promote(policy, ws.root, registry, Overrides(), by="merge", pr=5, reason="merged #5", **kw)


def test_merge_to_canary_then_the_judge_promotes(canary_workspace):
    ws, registry = canary_workspace
    out = _promote(ws, registry)
    assert (out.alias, out.version.version, out.unchanged) == ("canary", 2, False)
    assert out.result["decision"] == "approve" and out.result["production"]["version"] == 1, \
        "judged against production, as any promotion"
    assert registry.aliases() == {"production": 1, "canary": 2}
    assert registry.get(2).pr == 5

    again = _promote(ws, registry)
    assert again.unchanged and (again.alias, again.version.version) == ("canary", 2), "already the canary"

    end = registry.end_canary(2, promote=True, by="judge", reason="better on live traffic", action="canary-promote")
    assert end == CanaryEnd(changed=True, production=2, previous=1, canary=None)
    assert registry.aliases() == {"production": 2, "previous": 1}
    assert registry.end_canary(2, promote=True, by="judge", reason="rerun", action="canary-promote").changed is False

    after = _promote(ws, registry)
    assert after.unchanged and (after.alias, after.version.version) == ("production", 2), "already production"


def test_merge_to_canary_then_the_judge_rolls_back(canary_workspace):
    ws, registry = canary_workspace
    assert _promote(ws, registry).version.version == 2
    end = registry.end_canary(2, promote=False, by="judge", reason="worse on live traffic", action="canary-rollback")
    assert end == CanaryEnd(changed=True, production=1, previous=None, canary=None)
    assert registry.aliases() == {"production": 1} and registry.resolve("canary") is None
    assert registry.end_canary(2, promote=False, by="judge", reason="rerun", action="canary-rollback") == \
        CanaryEnd(changed=False, production=1, previous=None, canary=None)
    assert [v.version for v in registry.versions()] == [1, 2]


def test_a_blocked_candidate_never_becomes_the_canary(canary_workspace, cancer_models):
    ws, registry = canary_workspace
    ws.model("build/model.skops", cancer_models["weak"])
    with pytest.raises(Blocked, match="refusing to promote: the gate blocks"):
        _promote(ws, registry)
    assert registry.aliases() == {"production": 1}


def test_a_first_model_goes_straight_to_production(cancer_workspace):
    """With no production model there is nothing to judge a canary against on live traffic,
    and a registry holding only a canary must not read as 'no production' (a typo-safe
    registry refuses that): the first model is promoted to production, as without a canary."""
    ws = cancer_workspace
    ws.policy(CANCER_POLICY + TO_CANARY)
    shutil.rmtree(ws.root / "models" / "registry")
    registry = FileRegistry(ws.root / "models" / "registry", label="models/registry", create=True)
    out = _promote(ws, registry)
    assert (out.alias, out.version.version) == ("production", 1) and out.result["decision"] == "first-model"
    assert registry.aliases() == {"production": 1}


def test_cli_promote_names_the_canary(cancer_workspace, run_cli, tmp_path):
    cancer_workspace.policy(CANCER_POLICY + TO_CANARY)
    r = run_cli("promote", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--by", "alice")
    assert r.code == 0, r.err
    assert "promoted version 2 to canary" in r.out
    r = run_cli("registry", "list", "--workspace", cancer_workspace.root)
    assert [line.split("\t")[4] for line in r.out.splitlines()] == ["production", "canary"]
    r = run_cli("promote", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--by", "alice")
    assert r.code == 0 and "nothing changed: the candidate already is version 2, canary" in r.out


# ----------------------------------------------------------------------------- GitHub Releases, the action


RELEASES_POLICY = POLICY.replace("  registry: models/registry\n", "  registry: {kind: github-releases}\n") + TO_CANARY


@pytest.fixture(scope="module")
def demo_templates(tmp_path_factory):
    root = tmp_path_factory.mktemp("canary-demos")
    return {s: build(root / s, s) for s in ("better",)}


@pytest.fixture
def releases(tmp_path, demo_templates):
    """The fake GitHub with PR #2 merged, its gate run's candidate, a base policy promoting to
    canary on GitHub Releases, and the demo's production model as release model-v1."""
    from mlgate.action.github_api import GitHubForge
    from mlgate.action.registry_github import GitHubReleasesRegistry
    from mlgate.action.settings import from_environment

    with FakeGitHub() as gh:
        gh.add_token(TOKEN, login=BOT)
        gh.add_repo(PR_REPO, default_branch="master")
        gh.add_pull(PR_REPO, 2, HEAD, base_ref="master", base_sha=BASE_SHA, user="Codertocat")
        gh.set_pull_files(PR_REPO, 2, ["train.py"])
        gh.set_file(PR_REPO, ".github/mlgate.yml", RELEASES_POLICY, ref=BASE_SHA)
        action = Action(tmp_path, gh, demo_templates)
        ws = action.workspace("better")
        (ws / ".github" / "mlgate.yml").write_text(RELEASES_POLICY)
        run = gh.add_workflow_run(PR_REPO, HEAD, workflow_file="mlgate.yml", event="pull_request")
        gh.add_artifact(run["id"], "mlgate-report", artifact_from(ws))
        settings = from_environment({"GITHUB_REPOSITORY": PR_REPO, "GITHUB_API_URL": gh.url,
                                     "INPUT_GITHUB_TOKEN": TOKEN, "MLGATE_WRITE_INTERVAL": "0"})
        registry = GitHubReleasesRegistry(GitHubForge(settings), cache=tmp_path / "cache")
        production = FileRegistry(ws / "models" / "registry").resolve("production")
        registry.promote(ws / "models" / "registry" / production.path, source="demo", by="tests")
        yield action, ws, registry


def _merge_to_canary(action, ws, registry):
    run = action(ws, "pull_request_target", merged_event())
    assert run.code == 0, run.stderr
    assert run.output("promoted_version") == "2"
    reply = [c for c in action.gh.issue_comments(PR_REPO, 2) if c["user"] == BOT][-1]["body"]
    assert "promoted this PR's candidate as version 2 to `canary`" in reply
    assert "the canary judge decides from here" in reply
    assert registry.aliases() == {"production": 1, "canary": 2}
    with action.gh.lock:
        [release] = [r for r in action.gh.releases.values() if r["tag_name"] == "model-v2"]
        assert release["prerelease"] and not release["draft"]


def test_action_merge_to_a_canary_release_then_the_judge_promotes(releases):
    action, ws, registry = releases
    _merge_to_canary(action, ws, registry)
    end = registry.end_canary(2, promote=True, by="judge", reason="better on live traffic", action="canary-promote")
    assert end == CanaryEnd(changed=True, production=2, previous=1, canary=None)
    assert registry.aliases() == {"production": 2, "previous": 1}
    with action.gh.lock:
        [release] = [r for r in action.gh.releases.values() if r["tag_name"] == "model-v2"]
        assert not release["prerelease"], "a release again: GitHub's latest, which is production"
    # A second merge event (a rerun of the job) finds the candidate already production.
    rerun = action(ws, "pull_request_target", merged_event())
    assert rerun.code == 0 and "already is version 2, `production`" in rerun.stdout


def test_action_merge_to_a_canary_release_then_the_judge_rolls_back(releases):
    action, ws, registry = releases
    _merge_to_canary(action, ws, registry)
    end = registry.end_canary(2, promote=False, by="judge", reason="worse on live traffic", action="canary-rollback")
    assert end == CanaryEnd(changed=True, production=1, previous=None, canary=None)
    assert registry.aliases() == {"production": 1}
    history = [(e["action"], e["alias"], e["by"], e["reason"]) for e in registry.audit() if e["version"] == 2]
    assert history == [("promote", "canary", "Codertocat", "merged #2"),
                       ("canary-rollback", "canary", "judge", "worse on live traffic")]
