"""Which columns a model receives: its own names, else data.features, else all but mlgate's own.

Before ``data.features``, a model fitted on an array was handed the slice and group columns too
(and failed), and a holdout whose columns were reordered was scored silently in the wrong order.
Every test runs the real ``mlgate evaluate`` on the breast-cancer workspace.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from workspaces import CANCER_POLICY

FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst area"]


def _array_model(train, columns):
    """Fitted on a NumPy array: no feature names, only a width."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(train[columns].to_numpy(), train["label"])


def _evaluate(run_cli, workspace, out):
    r = run_cli("evaluate", "--workspace", workspace.root, "--out", out, "--json")
    return r, (json.loads((out / "result.json").read_text()) if (out / "result.json").exists() else None)


def _gates(result):
    return {g["name"]: (g["candidate"], g["production"], g["estimate"]) for g in result["gates"]}


def test_an_array_model_is_not_handed_the_slice_and_group_columns(workspace, cancer, run_cli, tmp_path):
    train, test = cancer
    test = test.assign(patient=np.arange(len(test)) // 2)
    workspace.table("data/holdout.csv", test[FEATURES + ["size", "patient", "label"]])
    workspace.model("build/model.skops", _array_model(train, FEATURES))
    workspace.registry(production=_array_model(train, FEATURES[:2] + FEATURES[3:] + FEATURES[2:3]))
    workspace.edit_policy("  slices: [size]\n", "  slices: [size]\n  group_column: patient\n")
    r, result = _evaluate(run_cli, workspace, tmp_path / "out")
    assert r.code in (0, 1), r.err
    assert result["data"]["rows"] == len(test)


def test_a_reordered_holdout_gives_a_named_model_its_own_order(cancer_workspace, cancer, run_cli, tmp_path):
    _, test = cancer
    first, first_result = _evaluate(run_cli, cancer_workspace, tmp_path / "a")
    cancer_workspace.table("data/holdout.csv", test[list(reversed(test.columns))])
    again, again_result = _evaluate(run_cli, cancer_workspace, tmp_path / "b")
    assert first.code == again.code
    assert _gates(first_result) == _gates(again_result)


def test_data_features_orders_an_array_models_columns(workspace, cancer, run_cli, tmp_path):
    train, test = cancer
    workspace.model("build/model.skops", _array_model(train, FEATURES))
    workspace.registry(production=_array_model(train, FEATURES))
    listed = "  features: [" + ", ".join(f'"{f}"' for f in FEATURES) + "]\n"
    workspace.edit_policy("  slices: [size]\n", "  slices: [size]\n" + listed)
    workspace.table("data/holdout.csv", test[FEATURES + ["size", "label"]])
    in_order, in_order_result = _evaluate(run_cli, workspace, tmp_path / "a")
    assert in_order.code in (0, 1), in_order.err
    shuffled = [FEATURES[2], "label", FEATURES[0], "size", FEATURES[3], FEATURES[1]]
    workspace.table("data/holdout.csv", test[shuffled])
    reordered, reordered_result = _evaluate(run_cli, workspace, tmp_path / "b")
    assert _gates(reordered_result) == _gates(in_order_result)
    # Without data.features the shuffled holdout is given in its own order, and the numbers move:
    # the reason to list them.
    workspace.policy(CANCER_POLICY)
    unlisted, unlisted_result = _evaluate(run_cli, workspace, tmp_path / "c")
    assert unlisted.code in (0, 1), unlisted.err
    assert _gates(unlisted_result) != _gates(in_order_result)


def test_data_features_must_match_what_a_named_model_reads(cancer_workspace, run_cli, tmp_path):
    cancer_workspace.edit_policy("  slices: [size]\n", '  slices: [size]\n  features: ["mean radius", "no such"]\n')
    r, _ = _evaluate(run_cli, cancer_workspace, tmp_path / "o")
    assert r.code == 2
    assert "data.features lists ['no such'], which the model was not fitted on" in r.err
    assert "omits" in r.err and "build/model.skops" in r.err


def test_data_features_naming_a_missing_column_names_it(workspace, cancer, run_cli, tmp_path):
    train, test = cancer
    workspace.model("build/model.skops", _array_model(train, FEATURES))
    workspace.registry(production=_array_model(train, FEATURES))
    workspace.table("data/holdout.csv", test[FEATURES + ["size", "label"]])
    workspace.edit_policy("  slices: [size]\n", '  slices: [size]\n  features: ["mean radius", "mean texture", '
                          '"mean smoothness", "worst areas"]\n')
    r, _ = _evaluate(run_cli, workspace, tmp_path / "o")
    assert r.code == 2
    assert "data.features lists column(s) ['worst areas'] that the holdout data/holdout.csv lacks" in r.err


def test_a_width_mismatch_says_to_set_data_features(workspace, cancer, run_cli, tmp_path):
    train, test = cancer
    workspace.model("build/model.skops", _array_model(train, FEATURES))
    workspace.registry(production=_array_model(train, FEATURES))
    workspace.table("data/holdout.csv", test[FEATURES + ["mean area", "size", "label"]])
    workspace.policy(CANCER_POLICY)
    r, _ = _evaluate(run_cli, workspace, tmp_path / "o")
    assert r.code == 2
    assert "expects 4 feature columns" in r.err and "set data.features" in r.err


def test_data_features_may_not_feed_the_label(cancer_workspace, run_cli, tmp_path):
    cancer_workspace.edit_policy("  slices: [size]\n", '  slices: [size]\n  features: ["mean radius", label]\n')
    r, _ = _evaluate(run_cli, cancer_workspace, tmp_path / "o")
    assert r.code == 2
    assert "data.features[1]: expected a column other than data.target" in r.err


def test_a_booster_fitted_on_names_with_spaces_is_told_why_its_columns_are_missing(workspace, cancer, run_cli, tmp_path):
    lightgbm = __import__("pytest").importorskip("lightgbm")
    train, test = cancer
    booster = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(train[FEATURES], train["label"])
    workspace.write("build/model.txt", booster.booster_.model_to_string())
    workspace.registry(production=_array_model(train, FEATURES))
    workspace.table("data/holdout.csv", test[FEATURES + ["size", "label"]])
    workspace.edit_policy("build/model.skops", "build/model.txt")
    r, _ = _evaluate(run_cli, workspace, tmp_path / "o")
    assert r.code == 2
    assert "'mean_radius' is 'mean radius'" in r.err, r.err
