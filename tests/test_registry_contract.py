"""Every registry backend passes the same contract: versions, aliases, promotion, rollback,
hash verification and refusing a tampered artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from fake_github import FakeGitHub
from mlgate.gates.errors import InputError, RegistryError
from mlgate.gates.registry.file import FileRegistry
from mlgate.gates.registry.base import CanaryEnd, UnknownAlias

TOKEN = "ghs_registry_contract_token"


def _models(tmp_path: Path, n: int = 3) -> list[Path]:
    import numpy as np

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
    paths = []
    for i, c in enumerate((0.1, 1.0, 10.0, 0.01)[:n]):
        path = tmp_path / f"m{i}.skops"
        sio.dump(LogisticRegression(C=c).fit(X, y), path)
        paths.append(path)
    return paths


def _github_registry(gh: FakeGitHub, tmp_path: Path):
    """The GitHub Releases backend, through PyGithub, against the fake server's acme/models."""
    from mlgate.action.github_api import GitHubForge
    from mlgate.action.registry_github import GitHubReleasesRegistry
    from mlgate.action.settings import from_environment

    gh.add_token(TOKEN)
    gh.add_repo("acme/models")
    settings = from_environment({"GITHUB_REPOSITORY": "acme/models", "GITHUB_API_URL": gh.url,
                                 "INPUT_GITHUB_TOKEN": TOKEN, "MLGATE_WRITE_INTERVAL": "0"})
    return GitHubReleasesRegistry(GitHubForge(settings), cache=tmp_path / "cache")


def _tamper_file(registry, version):
    path = registry.root / version.path
    path.write_bytes(path.read_bytes() + b"x")


@pytest.fixture(params=["file", "github-releases", "mlflow"])
def backend(request, tmp_path):
    if request.param == "mlflow":
        pytest.importorskip("mlflow", reason="the MLflow backend needs the mlflow extra")
        from mlgate.gates.registry.mlflow import MlflowRegistry

        registry = MlflowRegistry("churn", f"sqlite:///{tmp_path / 'mlflow.db'}",
                                  artifact_location=(tmp_path / "artifacts").as_uri(), cache=tmp_path / "cache")

        def tamper_mlflow(version):
            import hashlib

            [stored] = [p for p in (tmp_path / "artifacts").rglob(version.path)
                        if hashlib.sha256(p.read_bytes()).hexdigest() == version.sha256]
            stored.write_bytes(stored.read_bytes() + b"x")

        yield registry, tamper_mlflow
        return
    if request.param == "file":
        registry = FileRegistry(tmp_path / "registry", create=True)
        yield registry, lambda v: _tamper_file(registry, v)
        return
    with FakeGitHub() as gh:
        registry = _github_registry(gh, tmp_path)

        def tamper(version):
            with gh.lock:
                asset = next(a for a in gh.assets.values() if a["name"] == version.path
                             and a["release_id"] == next(r["id"] for r in gh.releases.values()
                                                         if r["tag_name"] == f"model-v{version.version}"))
                asset["data"] = asset["data"] + b"x"

        yield registry, tamper


def test_contract(backend, tmp_path):
    registry, tamper = backend
    a, b, c = _models(tmp_path)
    assert registry.versions() == [] and registry.resolve("production") is None

    v1 = registry.promote(a, source="a", by="alice", reason="first", result_json=b'{"decision": "first-model"}')
    assert v1.version == 1 and registry.resolve("production").version == 1
    assert registry.resolve("previous") is None
    v2 = registry.promote(b, source="b", by="bob", reason="better", pr=7, holdout_sha256="d" * 64)
    assert (v2.version, v2.promoted_by, v2.pr, v2.reason) == (2, "bob", 7, "better")
    assert registry.get(2).holdout_sha256 == "d" * 64 and registry.get(1).holdout_sha256 is None
    assert registry.aliases() == {"production": 2, "previous": 1}

    # An identical artifact is not stored twice; promoting it moves production back to it.
    again = registry.promote(a, source="a again", by="carol")
    assert again.version == 1 and [v.version for v in registry.versions()] == [1, 2]
    assert registry.aliases() == {"production": 1, "previous": 2}

    # Rollback undoes the last promotion, then the one before (the history is 1, 2, 1).
    assert registry.rollback(by="dave").production.version == 2
    assert registry.aliases() == {"production": 2, "previous": 1}
    assert registry.rollback(by="dave").production.version == 1
    assert registry.rollback(to=2, by="erin").production.version == 2
    with pytest.raises(RegistryError, match="no version 9"):
        registry.rollback(to=9, by="erin")
    assert registry.rollback(to=2, by="erin").changed is False, "already production: nothing to do"

    v3 = registry.promote(c, source="c", by="frank")
    assert [v.version for v in registry.versions()] == [1, 2, 3], "list is newest last"
    fetched = registry.fetch(v3)
    assert fetched.read_bytes() == c.read_bytes()
    assert type(sio.load(fetched, trusted=sio.get_untrusted_types(file=fetched))).__name__ == "LogisticRegression"

    tamper(v3)
    with pytest.raises(RegistryError, match="tampered or corrupt"):
        registry.fetch(registry.get(3))


def test_rollback_walks_back_the_production_history(backend, tmp_path):
    """Each rollback undoes one promotion: production goes to the version it held before the
    current one became production, and the version rolled away from leaves the history, so
    the next rollback goes one further back (issue 19: it used to swap production and previous).
    ``previous`` always names where the next rollback goes."""
    registry, _ = backend
    a, b, c, d = _models(tmp_path, 4)
    with pytest.raises(RegistryError, match="no production version to roll back from"):
        registry.rollback(by="x")
    for model in (a, b, c, d):
        registry.promote(model, source=model.name, by="alice")
    assert registry.aliases() == {"production": 4, "previous": 3}

    first = registry.rollback(by="bob", reason="v4 regressed")
    assert (first.production.version, first.changed, first.rolled_from, first.previous) == (3, True, 4, 2)
    assert registry.aliases() == {"production": 3, "previous": 2}
    assert registry.rollback(by="bob").production.version == 2, "one further back, never forward to 4"
    last = registry.rollback(by="bob")
    assert (last.production.version, last.previous) == (1, None) and registry.aliases() == {"production": 1}
    with pytest.raises(RegistryError, match=r"no earlier production version: version 1 is the start of the "
                                            r"production history .*mlgate rollback --to N"):
        registry.rollback(by="bob")
    assert registry.aliases() == {"production": 1}, "a refused rollback moves nothing"

    # --to jumps; to a version rolled away from, it stands again like a promotion.
    jump = registry.rollback(to=3, by="carol")
    assert (jump.production.version, jump.changed, jump.rolled_from, jump.previous) == (3, True, 1, 1)
    assert registry.rollback(to=3, by="carol").changed is False, "--to N is idempotent"
    assert registry.rollback(by="carol").production.version == 1

    # Promotions after rollbacks: the next rollback undoes the newest promotion.
    registry.promote(b, source="b", by="dave")
    registry.promote(d, source="d", by="dave")
    assert registry.aliases() == {"production": 4, "previous": 2}
    assert registry.rollback(by="dave").production.version == 2

    # The same request (a comment, a workflow run) is done once: a re-run job changes nothing.
    once = registry.rollback(by="erin", request="comment 7")
    assert (once.production.version, once.changed) == (1, True)
    rerun = registry.rollback(by="erin", request="comment 7")
    assert (rerun.production.version, rerun.changed, rerun.previous) == (1, False, None)
    moves = sorted((e["from"], e["version"]) for e in registry.audit()
                   if e.get("action") == "rollback" and e.get("alias") == "production")
    assert moves == sorted([(4, 3), (3, 2), (2, 1), (1, 3), (3, 1), (4, 2), (2, 1)]), "one audit entry per move"


def test_an_alias_the_registry_never_held_is_a_typo_not_no_production_model(backend, tmp_path):
    """`production.alias: prodution` must not read as "no production model": every comparison
    gate would be skipped and the candidate approved as the first model."""
    registry, _ = backend
    a, b, _ = _models(tmp_path)
    assert registry.resolve("production") is None, "an empty registry: no production model yet"
    registry.promote(a, source="a", by="alice")
    registry.promote(b, source="b", by="bob")
    with pytest.raises(UnknownAlias) as exc:
        registry.resolve("prodution")
    message = str(exc.value)
    assert "never held the alias 'prodution'" in message or "cannot hold the alias 'prodution'" in message
    assert "production (v2)" in message and "previous (v1)" in message, message
    assert isinstance(exc.value, InputError) and exc.value.exit_code == 2
    assert "production" in registry.held_aliases() and "prodution" not in registry.held_aliases()
    # Names mlgate manages itself are not typos: unset, they mean "none".
    assert registry.resolve("canary") is None
    assert registry.resolve("production").version == 2 and registry.resolve("previous").version == 1


def test_file_registry_an_alias_that_was_cleared_means_none(tmp_path):
    """The audit log is the alias history: an alias cleared by hand was held, so it reads as
    'no model under it'; one that never appears there is a typo."""
    registry = FileRegistry(tmp_path / "r", create=True)
    a, _, _ = _models(tmp_path)
    registry.promote(a, source="a", by="alice", alias="champion")
    with registry.transaction() as data:
        del data["aliases"]["champion"]
    assert registry.aliases() == {} and registry.held_aliases() == {"champion"}
    assert registry.resolve("champion") is None
    with pytest.raises(UnknownAlias, match=r"never held the alias 'production'; it has no aliases now \(once: champion\)"):
        registry.resolve("production")


def test_mlflow_an_alias_that_was_cleared_means_none(tmp_path):
    """MLflow keeps no alias history, so mlgate records every alias it moves as a tag on the
    registered model; one cleared in MLflow's UI afterwards reads as 'none', a typo does not."""
    pytest.importorskip("mlflow", reason="the MLflow backend needs the mlflow extra")
    from mlgate.gates.registry.mlflow import MlflowRegistry

    registry = MlflowRegistry("churn", f"sqlite:///{tmp_path / 'mlflow.db'}",
                              artifact_location=(tmp_path / "artifacts").as_uri(), cache=tmp_path / "cache")
    a, b, _ = _models(tmp_path)
    registry.promote(a, source="a", by="alice")
    registry.promote(b, source="b", by="alice", alias="champion")
    registry.client.delete_registered_model_alias("churn", "champion")
    assert registry.aliases() == {"production": 1}
    assert registry.resolve("champion") is None
    with pytest.raises(UnknownAlias, match=r"never held the alias 'champoin'; it has production \(v1\) \(once: champion\)"):
        registry.resolve("champoin")


def test_github_releases_hold_only_production_and_previous(tmp_path):
    """On GitHub Releases `production` is the latest-release marker, `previous` lives in the
    release metadata and `canary` is a flagged pre-release; no other alias can ever exist there,
    so another name is refused even before the first release (promotion to it would fail anyway)."""
    a, _, _ = _models(tmp_path)
    with FakeGitHub() as gh:
        registry = _github_registry(gh, tmp_path)
        assert registry.held_aliases() == set()
        with pytest.raises(UnknownAlias, match=r"cannot hold the alias 'champion'; its aliases are production "
                                               r"\(the latest release\) and previous"):
            registry.resolve("champion")
        assert registry.resolve("production") is None and registry.resolve("previous") is None
        registry.promote(a, source="a", by="alice")
        assert registry.held_aliases() == {"production"}


def test_github_releases_with_no_latest_release_is_not_no_production_model(tmp_path):
    """Model releases exist but none is GitHub's latest (e.g. all turned into pre-releases):
    production is unknown, never 'none'."""
    a, _, _ = _models(tmp_path)
    with FakeGitHub() as gh:
        registry = _github_registry(gh, tmp_path)
        registry.promote(a, source="a", by="alice")
        with gh.lock:
            for release in gh.releases.values():
                release["prerelease"] = True
        with pytest.raises(RegistryError, match="no release is marked latest"):
            registry.resolve("production")


def test_file_registry_keeps_an_audit_log(tmp_path):
    registry = FileRegistry(tmp_path / "r", create=True)
    a, b, _ = _models(tmp_path)
    registry.promote(a, source="a", by="alice", reason="first")
    registry.promote(b, source="b", by="bob", reason="second", pr=3)
    registry.rollback(by="carol", reason="regression in EU")
    audit = json.loads((tmp_path / "r" / "registry.json").read_text())["audit"]
    assert [(e["action"], e["version"], e["by"]) for e in audit] == [
        ("add", 1, "alice"), ("promote", 1, "alice"), ("add", 2, "bob"), ("promote", 2, "bob"), ("rollback", 1, "carol")]
    assert audit[-1]["reason"] == "regression in EU" and audit[-1]["from"] == 2


def test_github_releases_refuse_to_guess_production_when_latest_is_not_a_model(tmp_path):
    """Another release marked latest must not read as 'no production model' (first-model)."""
    a, _, _ = _models(tmp_path)
    with FakeGitHub() as gh:
        registry = _github_registry(gh, tmp_path)
        registry.promote(a, source="a", by="alice")
        gh.add_release("acme/models", "v2.0-app", make_latest="true")
        with pytest.raises(RegistryError, match="the latest release 'v2.0-app' is not a model version"):
            registry.resolve("production")


def test_promotion_moves_the_configured_alias(tmp_path):
    import numpy as np

    from mlgate.gates.config.parse import parse_policy
    from mlgate.gates.engine.evaluation import Overrides
    from mlgate.gates.promotion import promote

    ws = tmp_path / "ws"
    registry = FileRegistry(ws / "models" / "registry", create=True)
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(40, 3))
    (ws / "data").mkdir()
    (ws / "data" / "h.csv").write_text("x0,x1,x2,y\n" + "".join(f"{a},{b},{c},{i % 2}\n" for i, (a, b, c) in enumerate(rows)))
    a, b, _ = _models(tmp_path)
    policy = parse_policy("version: 1\ndata: {holdout: data/h.csv, target: y}\nproduction: {registry: models/registry, "
                          "alias: champion}\ngates: [{metric: model_size_mb, rule: max, threshold: 100}]\n", "p.yml")
    registry.promote(a, source="seed", by="t", alias="champion")
    out = promote(policy, ws, registry, Overrides(candidate=b), by="t")
    assert out.result["decision"] == "approve" and out.result["production"]["version"] == 1
    assert out.version.version == 2 and registry.aliases() == {"champion": 2}, "the configured alias moves"


# ----------------------------------------------------------------------------- the canary alias


def _moves(registry) -> list[tuple[str, str]]:
    """Every audited alias move as (action, alias), whichever way the backend keeps its log."""
    entries = registry.index()["audit"] if isinstance(registry, FileRegistry) else registry.audit()
    return sorted((e["action"], e["alias"]) for e in entries if e.get("alias"))


def test_canary_then_promote(backend, tmp_path):
    registry, _ = backend
    a, b, c = _models(tmp_path)
    registry.promote(a, source="a", by="alice")
    registry.promote(b, source="b", by="bob")
    v3 = registry.promote(c, source="c", by="carol", reason="try c", pr=9, alias="canary")
    assert (v3.version, v3.pr, v3.reason) == (3, 9, "try c")
    assert registry.aliases() == {"production": 2, "previous": 1, "canary": 3}, "production and previous untouched"
    assert registry.resolve("canary").version == 3 and registry.resolve("production").version == 2
    assert {"production", "previous", "canary"} <= registry.held_aliases()
    assert ("promote", "canary") in _moves(registry)

    end = registry.end_canary(3, promote=True, by="judge", reason="better on live traffic", action="canary-promote")
    assert end == CanaryEnd(changed=True, production=3, previous=2, canary=None)
    assert registry.aliases() == {"production": 3, "previous": 2}
    assert registry.resolve("canary") is None and registry.resolve("production").version == 3
    moves = _moves(registry)
    assert ("canary-promote", "production") in moves and ("canary-promote", "canary") in moves

    again = registry.end_canary(3, promote=True, by="judge", reason="rerun", action="canary-promote")
    assert again == CanaryEnd(changed=False, production=3, previous=2, canary=None)
    assert _moves(registry) == moves, "a rerun records nothing"
    assert registry.rollback(by="dave").production.version == 2, "the promoted canary rolls back like any production"
    assert registry.rollback(by="dave").production.version == 1, "a canary promotion is one step of the history"


def test_canary_then_rollback(backend, tmp_path):
    registry, _ = backend
    a, b, _ = _models(tmp_path)
    registry.promote(a, source="a", by="alice")
    registry.promote(b, source="b", by="bob", alias="canary")
    assert registry.aliases() == {"production": 1, "canary": 2}
    moves = _moves(registry)

    # Ending a canary for a version that is not the canary changes nothing.
    assert registry.end_canary(1, promote=False, by="judge", reason="stale", action="canary-rollback") == \
        CanaryEnd(changed=False, production=1, previous=None, canary=2)
    assert registry.aliases() == {"production": 1, "canary": 2} and _moves(registry) == moves

    end = registry.end_canary(2, promote=False, by="judge", reason="worse on live traffic", action="canary-rollback")
    assert end == CanaryEnd(changed=True, production=1, previous=None, canary=None)
    assert registry.aliases() == {"production": 1} and registry.resolve("canary") is None
    assert _moves(registry) == sorted(moves + [("canary-rollback", "canary")])
    assert registry.end_canary(2, promote=False, by="judge", reason="rerun", action="canary-rollback") == CanaryEnd(
        changed=False, production=1, previous=None, canary=None)
    assert _moves(registry) == sorted(moves + [("canary-rollback", "canary")]), "a rerun records nothing"
    assert [v.version for v in registry.versions()] == [1, 2], "the rolled-back version stays, an old version"
    with pytest.raises(RegistryError, match="no version 9"):
        registry.end_canary(9, promote=False, by="judge", reason="", action="canary-expired")


def test_a_new_canary_replaces_the_old_and_an_identical_artifact_is_reused(backend, tmp_path):
    registry, _ = backend
    a, b, c = _models(tmp_path)
    registry.promote(a, source="a", by="alice")
    registry.promote(b, source="b", by="bob")
    registry.promote(c, source="c", by="carol", alias="canary")
    assert registry.aliases() == {"production": 2, "previous": 1, "canary": 3}
    # An old version as the canary: stored once, production untouched, the old canary replaced.
    assert registry.promote(a, source="a again", by="carol", alias="canary").version == 1
    assert registry.aliases() == {"production": 2, "previous": 1, "canary": 1}
    assert [v.version for v in registry.versions()] == [1, 2, 3]
    assert registry.promote(a, source="a again", by="carol", alias="canary").version == 1
    assert registry.end_canary(1, promote=True, by="judge", reason="ok", action="canary-promote") == \
        CanaryEnd(changed=True, production=1, previous=2, canary=None)
    assert registry.aliases() == {"production": 1, "previous": 2}


def test_a_registry_that_only_ever_held_a_canary_never_reads_as_no_production(backend, tmp_path):
    """Versions but never a production alias (only a canary): another tool may have moved that
    alias unseen (on GitHub, anyone with write access can unmark the latest release), so
    'production' is not read as 'none', which would approve any candidate as a first model.
    (Promotion never builds such a registry: a first model goes straight to production.)
    Promoting the canary makes it production."""
    registry, _ = backend
    a, _, _ = _models(tmp_path)
    registry.promote(a, source="a", by="alice", alias="canary")
    assert registry.aliases() == {"canary": 1}
    with pytest.raises(UnknownAlias):
        registry.resolve("production")
    assert registry.end_canary(1, promote=True, by="judge", reason="ok", action="canary-promote") == \
        CanaryEnd(changed=True, production=1, previous=None, canary=None)
    assert registry.aliases() == {"production": 1} and registry.resolve("production").version == 1


def test_github_releases_canary_is_a_flagged_prerelease_ended_in_one_update(tmp_path):
    """On GitHub the canary is a published pre-release flagged in its metadata (never latest);
    ending it is one PATCH of that release, so no half-moved state exists, and a rerun sends none."""
    from mlgate.action.registry_github import META

    a, b, c = _models(tmp_path)
    with FakeGitHub() as gh:
        registry = _github_registry(gh, tmp_path)

        def release(n):
            with gh.lock:
                found = next(r for r in gh.releases.values() if r["tag_name"] == f"model-v{n}")
                return dict(found), json.loads(META.findall(found["body"])[-1])

        def patches():
            return len(gh.calls("PATCH", r"/releases/\d+$"))

        registry.promote(a, source="a", by="alice")
        registry.promote(b, source="b", by="bob", alias="canary")
        rel, meta = release(2)
        assert rel["prerelease"] and not rel["draft"] and meta["canary"] is True
        assert registry.aliases() == {"production": 1, "canary": 2}, "a pre-release never becomes latest"

        before = patches()
        end = registry.end_canary(2, promote=True, by="judge", reason="better", action="canary-promote")
        assert end == CanaryEnd(changed=True, production=2, previous=1, canary=None)
        assert patches() == before + 1, "one update moves production, previous and the flag together"
        rel, meta = release(2)
        assert not rel["prerelease"] and meta["canary"] is False and meta["previous"] == 1
        assert [(h["action"], h["alias"], h["by"], h["reason"]) for h in meta["history"]] == [
            ("promote", "canary", "bob", ""), ("canary-promote", "production", "judge", "better"),
            ("canary-promote", "canary", "judge", "better")]
        registry.end_canary(2, promote=True, by="judge", reason="rerun", action="canary-promote")
        assert patches() == before + 1, "a rerun sends nothing"

        registry.promote(c, source="c", by="carol", alias="canary")
        before = patches()
        end = registry.end_canary(3, promote=False, by="judge", reason="too many days", action="canary-expired")
        assert end == CanaryEnd(changed=True, production=2, previous=1, canary=None) and patches() == before + 1
        rel, meta = release(3)
        assert rel["prerelease"] and meta["canary"] is False, "rolled back: an old version, still a pre-release"
        assert registry.rollback(to=3, by="dave").production.version == 3, "rollback to it makes it a release again"
        assert not release(3)[0]["prerelease"] and registry.aliases() == {"production": 3, "previous": 2}


def test_github_releases_rollback_is_one_update_of_the_release_it_marks_latest(tmp_path):
    """The history travels with the latest release: one PATCH marks the target latest and writes
    the history below it, so the marker and the history never disagree."""
    from mlgate.action.registry_github import META

    with FakeGitHub() as gh:
        registry = _github_registry(gh, tmp_path)
        for model in _models(tmp_path):
            registry.promote(model, source=model.name, by="alice")
        before = len(gh.calls("PATCH", r"/releases/\d+$"))
        assert registry.rollback(by="dave").production.version == 2
        assert len(gh.calls("PATCH", r"/releases/\d+$")) == before + 1
        with gh.lock:
            body = next(r["body"] for r in gh.releases.values() if r["tag_name"] == "model-v2")
        meta = json.loads(META.findall(body)[-1])
        assert (meta["production_before"], meta["previous"]) == ([1], 1)


def test_mlflow_an_interrupted_canary_end_is_safe_and_a_rerun_finishes_it(tmp_path, monkeypatch):
    """MLflow has no transactions: previous, then production, then the canary cleared. Cut short
    before the last call, production has moved and the canary still names it; the rerun clears it.
    The audit is one registered-model tag per entry, the last AUDIT_KEEP kept."""
    pytest.importorskip("mlflow", reason="the MLflow backend needs the mlflow extra")
    from mlgate.gates.registry import mlflow as backend

    registry = backend.MlflowRegistry("churn", f"sqlite:///{tmp_path / 'mlflow.db'}",
                                      artifact_location=(tmp_path / "artifacts").as_uri(), cache=tmp_path / "cache")
    a, b, _ = _models(tmp_path)
    registry.promote(a, source="a", by="alice")
    registry.promote(b, source="b", by="bob", alias="canary")

    def crash(*args):
        raise KeyboardInterrupt("the runner was cancelled")

    with monkeypatch.context() as m:
        m.setattr(registry.client, "delete_registered_model_alias", crash)
        with pytest.raises(KeyboardInterrupt):
            registry.end_canary(2, promote=True, by="judge", reason="better", action="canary-promote")
    assert registry.aliases() == {"production": 2, "previous": 1, "canary": 2}
    end = registry.end_canary(2, promote=True, by="judge", reason="better", action="canary-promote")
    assert end == CanaryEnd(changed=True, production=2, previous=1, canary=None)
    assert registry.end_canary(2, promote=True, by="judge", reason="", action="canary-promote").changed is False
    assert "canary" in json.loads(registry.client.get_registered_model("churn").tags[backend.HISTORY_TAG])

    monkeypatch.setattr(backend, "AUDIT_KEEP", 3)
    registry.rollback(by="dave", reason="last")
    audit = registry.audit()
    assert len(audit) == 3 and audit[-1]["action"] == "rollback" and audit[-1]["reason"] == "last"
    assert len([k for k in registry.client.get_registered_model("churn").tags if k.startswith(backend.AUDIT_TAG)]) == 3


def test_mlflow_an_interrupted_rollback_is_finished_by_its_rerun(tmp_path, monkeypatch):
    """MLflow writes the rollback's audit entry first, then previous, then production. Cut short
    before production moves, the entry names a move that never landed: the history leaves it
    out, so the rerun (the same request) makes that same move instead of finding it done, and
    a third run finds it done."""
    pytest.importorskip("mlflow", reason="the MLflow backend needs the mlflow extra")
    from mlgate.gates.registry.mlflow import MlflowRegistry

    registry = MlflowRegistry("churn", f"sqlite:///{tmp_path / 'mlflow.db'}",
                              artifact_location=(tmp_path / "artifacts").as_uri(), cache=tmp_path / "cache")
    for model in _models(tmp_path):
        registry.promote(model, source=model.name, by="alice")
    set_alias = registry.client.set_registered_model_alias

    def crash_on_production(name, alias, version):
        if alias == "production":
            raise KeyboardInterrupt("the runner was cancelled")
        set_alias(name, alias, version)

    with monkeypatch.context() as m:
        m.setattr(registry.client, "set_registered_model_alias", crash_on_production)
        with pytest.raises(KeyboardInterrupt):
            registry.rollback(by="dave", request="run 5")
    assert registry.aliases()["production"] == 3 and registry.audit()[-1]["request"] == "run 5"
    rerun = registry.rollback(by="dave", request="run 5")
    assert (rerun.production.version, rerun.changed, rerun.rolled_from) == (2, True, 3)
    assert registry.aliases() == {"production": 2, "previous": 1}
    assert registry.rollback(by="dave", request="run 5").changed is False
    assert registry.rollback(by="dave").production.version == 1


def test_an_edited_release_history_never_sends_a_rollback_to_a_rejected_canary(tmp_path):
    """Release text is editable with write access: a history naming a canary that never served
    is not followed (the rollback refuses rather than landing on it)."""
    import re

    a, b, c = _models(tmp_path)
    with FakeGitHub() as gh:
        reg = _github_registry(gh, tmp_path)
        reg.promote(a, source="a", by="alice")
        reg.promote(b, source="b", by="alice")
        reg.promote(c, source="c", by="alice", alias="canary")
        reg.end_canary(3, promote=False, by="judge", reason="worse", action="canary-rollback")
        with gh.lock:
            release = next(r for r in gh.releases.values() if r["tag_name"] == "model-v2")
            found = re.search(r"<!-- mlgate:version (\{.*?\}) -->", release["body"], re.S)
            meta = json.loads(found.group(1))
            meta.update(production_before=[3], previous=3)
            release["body"] = release["body"][:found.start()] + "<!-- mlgate:version " + json.dumps(meta) + " -->"
        with pytest.raises(RegistryError, match="no earlier production version"):
            reg.rollback(by="maint", request="comment 1")
        assert reg.aliases()["production"] == 2
