"""An alias typo must never read as "no production model".

`production.alias: prodution` on a registry that holds versions used to mean "no production
model": every comparison gate was skipped, a worse candidate was approved as the first model,
and `mlgate promote` then created the misspelled alias. An alias the registry never held is a
configuration error naming the aliases it has; only an empty registry, or an alias that was
cleared, means "no production model".
"""

from __future__ import annotations

import json

from workspaces import CANCER_POLICY

TYPO = CANCER_POLICY.replace("  registry: models/registry\n", "  registry: models/registry\n  alias: prodution\n")


def _worse_candidate(ws, cancer_models):
    """Production is the good model; the candidate is worse (the gate blocks it) but passes
    the absolute gate, so without a production model it would be approved."""
    import shutil

    shutil.rmtree(ws.root / "models" / "registry")
    ws.registry(production=cancer_models["good"])
    ws.model("build/model.skops", cancer_models["medium"])


def test_the_gate_blocks_the_worse_candidate_under_the_right_alias(cancer_workspace, cancer_models, run_cli, tmp_path):
    _worse_candidate(cancer_workspace, cancer_models)
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--json")
    assert r.code == 1 and json.loads(r.out)["decision"] == "block"


def test_a_misspelled_alias_is_a_config_error_not_a_first_model(cancer_workspace, cancer_models, run_cli, tmp_path):
    _worse_candidate(cancer_workspace, cancer_models)
    cancer_workspace.policy(TYPO)
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
    assert r.code == 2, (r.code, r.err)
    assert r.err.strip() == (
        "mlgate: error: .github/mlgate.yml: production.alias: file registry models/registry has never held the "
        "alias 'prodution'; it has production (v1). Only an empty registry, or an alias that was cleared, "
        "means 'no production model'")
    assert not (tmp_path / "o" / "result.json").exists()


def test_a_misspelled_production_option_names_the_option(cancer_workspace, run_cli, tmp_path):
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet",
                "--production", "prodution")
    assert r.code == 2
    assert r.err.startswith("mlgate: error: --production: file registry models/registry has never held the alias "
                            "'prodution'"), r.err


def test_promote_never_creates_a_misspelled_alias(cancer_workspace, run_cli, tmp_path):
    cancer_workspace.policy(TYPO)
    index = cancer_workspace.root / "models" / "registry" / "registry.json"
    before = index.read_bytes()
    r = run_cli("promote", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--by", "alice")
    assert r.code == 2, (r.code, r.err)
    assert "production.alias: file registry models/registry has never held the alias 'prodution'" in r.err
    assert index.read_bytes() == before, "nothing was promoted, no alias created"


def test_an_empty_registry_is_still_a_first_model(cancer_workspace, run_cli, tmp_path):
    """The legitimate 'no production model': a registry with no versions at all."""
    import shutil

    shutil.rmtree(cancer_workspace.root / "models" / "registry")
    cancer_workspace.registry()
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--json")
    assert r.code == 0 and json.loads(r.out)["decision"] == "first-model"
