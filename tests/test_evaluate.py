"""The engine end to end on real models and real files: decisions, sources, tasks, safety."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from junitparser import JUnitXml

from workspaces import CANCER_POLICY
from custom_estimator import ShiftedRegressor


def _result(run, tmp_path, ws, *extra):
    out = tmp_path / "out"
    r = run("evaluate", "--workspace", ws.root, "--out", out, "--quiet", *extra)
    assert r.code in (0, 1), r.err
    return r.code, json.loads((out / "result.json").read_text())


def _gate(data, name):
    return next(g for g in data["gates"] if g["name"] == name)


def test_better_candidate_approves_and_worse_blocks(cancer_workspace, cancer_models, run_cli, tmp_path):
    code, data = _result(run_cli, tmp_path, cancer_workspace)
    assert (code, data["decision"]) == (0, "approve"), data["reasons"]
    assert data["policy_source"] == "local" and data["production"]["version"] == 1

    cancer_workspace.model("build/model.skops", cancer_models["weak"])
    code, data = _result(run_cli, tmp_path, cancer_workspace)
    assert (code, data["decision"]) == (1, "block")
    assert any(r.startswith("roc_auc non_inferior:") for r in data["reasons"])


def test_identical_models_pass_non_inferiority_never_superiority(cancer_workspace, cancer_models, run_cli, tmp_path):
    cancer_workspace.model("build/model.skops", cancer_models["medium"])
    cancer_workspace.policy(CANCER_POLICY.replace(
        "  - {metric: accuracy, rule: min, threshold: 0.85}\n",
        "  - {metric: accuracy, rule: superior}\n  - {metric: log_loss, rule: non_inferior, margin: 0.01}\n"
        "  - {metric: roc_auc, rule: superior, name: auc better}\n",
    ))
    code, data = _result(run_cli, tmp_path, cancer_workspace)
    assert code == 1
    for g in data["gates"]:
        assert g["estimate"] == 0 or g["rule"] == "slice_max_drop"
        if g["rule"] == "non_inferior":
            assert g["passed"] is True, g
        if g["rule"] == "superior":
            assert g["passed"] is False, g


def test_predictions_files_give_the_same_numbers_as_the_models(cancer_workspace, cancer, cancer_models, run_cli, tmp_path):
    _, test = cancer
    X = test.drop(columns=["label", "size"])
    _, from_models = _result(run_cli, tmp_path, cancer_workspace)
    for role, model in (("candidate", cancer_models["good"]), ("production", cancer_models["medium"])):
        cols = list(model.feature_names_in_)
        frame = pd.DataFrame({"row_id": np.arange(len(test)), "prediction": model.predict(X[cols]),
                              "score": model.predict_proba(X[cols])[:, 1]})
        # Shuffled rows joined back by id must not change a number.
        cancer_workspace.table(f"preds/{role}.parquet", frame.sample(frac=1.0, random_state=3))
    holdout = test.assign(uid=np.arange(len(test)))
    cancer_workspace.table("data/holdout.csv", holdout)
    cancer_workspace.policy(CANCER_POLICY.replace("target: label", "target: label\n  id_column: uid")
                            .replace("path: build/model.skops", "predictions: preds/candidate.parquet")
                            .replace("registry: models/registry", "predictions: {path: preds/production.parquet}"))
    _, from_files = _result(run_cli, tmp_path, cancer_workspace)
    assert from_files["candidate"]["kind"] == "predictions"
    for a, b in zip(from_models["gates"], from_files["gates"]):
        assert a["passed"] == b["passed"]
        assert a["estimate"] == pytest.approx(b["estimate"], abs=1e-12)
        assert a["confidence_interval"] == pytest.approx(b["confidence_interval"], abs=1e-12)


def test_parquet_holdout_equals_csv(cancer_workspace, cancer, run_cli, tmp_path):
    _, csv_data = _result(run_cli, tmp_path, cancer_workspace)
    cancer_workspace.table("data/holdout.parquet", cancer[1])
    cancer_workspace.policy(CANCER_POLICY.replace("holdout.csv", "holdout.parquet"))
    _, pq_data = _result(run_cli, tmp_path, cancer_workspace)
    assert [g["estimate"] for g in csv_data["gates"]] == [g["estimate"] for g in pq_data["gates"]]


def test_production_none_and_empty_registry_give_first_model(cancer_workspace, cancer_models, run_cli, tmp_path):
    code, data = _result(run_cli, tmp_path, cancer_workspace, "--production", "none")
    assert (code, data["decision"], data["production"]) == (0, "first-model", None)
    assert _gate(data, "accuracy min")["passed"] is True
    assert _gate(data, "roc_auc non_inferior")["skipped"] is True

    # An existing, empty registry means the same; a failing absolute gate still blocks.
    import shutil

    shutil.rmtree(cancer_workspace.root / "models" / "registry")
    cancer_workspace.registry()
    cancer_workspace.model("build/model.skops", cancer_models["weak"])
    code, data = _result(run_cli, tmp_path, cancer_workspace)
    assert (code, data["decision"]) == (1, "block")
    assert data["reasons"] == [r for r in data["reasons"] if r.startswith("accuracy min:")]


def test_production_from_registry_version_or_path(cancer_workspace, cancer_models, run_cli, tmp_path):
    _, by_alias = _result(run_cli, tmp_path, cancer_workspace)
    _, by_version = _result(run_cli, tmp_path, cancer_workspace, "--production", "1")
    path = cancer_workspace.write("other/prod.skops",
                                  (cancer_workspace.root / "models/registry/versions/1/model.skops").read_bytes())
    _, by_path = _result(run_cli, tmp_path, cancer_workspace, "--production", path)
    assert by_alias["production"]["sha256"] == by_version["production"]["sha256"] == by_path["production"]["sha256"]
    missing = run_cli("evaluate", "--workspace", cancer_workspace.root, "--production", "7", "--quiet")
    assert missing.code == 2 and "no version 7" in missing.err


def test_tampered_registry_artifact_is_refused(cancer_workspace, run_cli, tmp_path):
    artifact = cancer_workspace.root / "models" / "registry" / "versions" / "1" / "model.skops"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
    assert r.code == 2 and "tampered or corrupt" in r.err


def test_single_class_holdout_blocks_auc_with_reason_not_bad_input(cancer_workspace, cancer, run_cli, tmp_path):
    _, test = cancer
    cancer_workspace.table("data/holdout.csv", test[test["label"] == 0])
    code, data = _result(run_cli, tmp_path, cancer_workspace)
    auc = _gate(data, "roc_auc non_inferior")
    assert code == 1 and auc["passed"] is False and auc["undefined"] is True
    assert "fails closed" in auc["detail"]


def test_regression_gates(workspace, diabetes_split, diabetes_models, run_cli, tmp_path):
    _, test = diabetes_split
    workspace.table("data/holdout.csv", test)
    workspace.model("build/model.skops", diabetes_models["full"])
    workspace.registry(production=diabetes_models["bmi_only"])
    workspace.policy("""\
        version: 1
        data: {holdout: data/holdout.csv, target: progression, slices: [sex_group]}
        gates:
          - {metric: mae, rule: non_inferior, margin: 1.0}
          - {metric: rmse, rule: non_inferior, margin: 1.0}
          - {metric: r2, rule: min, threshold: 0.3}
          - {metric: r2, rule: max_drop, max_drop: 0.01, name: r2 drop}
          - {metric: mse, rule: slice_max_drop, max_drop: 100, min_support: 50}
        """)
    code, data = _result(run_cli, tmp_path, workspace)
    assert data["task"] == "regression" and (code, data["decision"]) == (0, "approve"), data["reasons"]
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    X = test.drop(columns=["progression", "sex_group"])
    y = test["progression"]
    full, bmi = diabetes_models["full"].predict(X), diabetes_models["bmi_only"].predict(X[["bmi"]])
    mae = _gate(data, "mae non_inferior")
    assert mae["candidate"] == pytest.approx(mean_absolute_error(y, full))
    assert mae["estimate"] == pytest.approx(mean_absolute_error(y, bmi) - mean_absolute_error(y, full))
    assert _gate(data, "rmse non_inferior")["candidate"] == pytest.approx(root_mean_squared_error(y, full))
    assert _gate(data, "r2 min")["candidate"] == pytest.approx(r2_score(y, full))
    assert _gate(data, "r2 drop")["estimate"] == pytest.approx(r2_score(y, full) - r2_score(y, bmi))

    workspace.model("build/model.skops", diabetes_models["bmi_only"])
    workspace.registry("models/registry").promote(workspace.model("tmp.skops", diabetes_models["full"]), source="t", by="t",
                                               alias="production")
    code, data = _result(run_cli, tmp_path, workspace)
    assert (code, data["decision"]) == (1, "block")


def test_multiclass_string_labels(workspace, iris_split, run_cli, tmp_path):
    from sklearn.linear_model import LogisticRegression

    train, test = iris_split
    X = train.drop(columns=["species"])
    workspace.table("data/holdout.csv", test)
    workspace.model("build/model.skops", LogisticRegression(max_iter=1000).fit(X, train["species"]))
    workspace.registry(production=LogisticRegression(max_iter=1000).fit(X[["sepal width (cm)"]], train["species"]))
    workspace.policy("""\
        version: 1
        data: {holdout: data/holdout.csv, target: species}
        gates:
          - {metric: accuracy, rule: superior}
          - {metric: f1, rule: non_inferior, margin: 0.02}
          - {metric: mcc, rule: min, threshold: 0.8}
          - {metric: log_loss, rule: non_inferior, margin: 0.05}
        """)
    code, data = _result(run_cli, tmp_path, workspace)
    assert data["labels"] == ["setosa", "versicolor", "virginica"]
    assert _gate(data, "f1 non_inferior")["average"] == "macro"
    assert (code, data["decision"]) == (0, "approve"), data["reasons"]
    assert "mcnemar" in _gate(data, "accuracy superior")["supplementary"]


def test_untrusted_skops_types_are_refused_then_allowed_by_policy(workspace, diabetes_split, diabetes_models, run_cli, tmp_path):
    train, test = diabetes_split
    cols = [c for c in train.columns if c not in ("progression", "sex_group")]
    workspace.table("data/holdout.csv", test)
    workspace.model("build/model.skops", ShiftedRegressor(shift=0.0).fit(train[cols], train["progression"]))
    workspace.model("prod.skops", diabetes_models["full"])
    policy = """\
        version: 1
        data: {holdout: data/holdout.csv, target: progression}
        production: {path: prod.skops}
        gates: [{metric: mae, rule: non_inferior, margin: 1.0}]
        """
    workspace.policy(policy)
    refused = run_cli("evaluate", "--workspace", workspace.root, "--out", tmp_path / "o", "--quiet")
    assert refused.code == 2 and "refusing to load untrusted types ['custom_estimator.ShiftedRegressor']" in refused.err
    workspace.policy(policy.rstrip(" ") + "        security: {trusted_types: [custom_estimator.ShiftedRegressor]}\n")
    code, data = _result(run_cli, tmp_path, workspace)
    assert code == 0 and data["decision"] == "approve"


def test_pickle_loads_only_with_trust(workspace, diabetes_split, diabetes_models, run_cli, tmp_path):
    _, test = diabetes_split
    workspace.table("data/holdout.csv", test)
    joblib.dump(diabetes_models["full"], workspace.root / "model.joblib")
    workspace.policy("""\
        version: 1
        data: {holdout: data/holdout.csv, target: progression}
        candidate: {path: model.joblib}
        production: {registry: models/registry}
        gates: [{metric: r2, rule: min, threshold: 0.3}]
        """)
    workspace.registry()
    refused = run_cli("evaluate", "--workspace", workspace.root, "--quiet")
    assert refused.code == 2 and "refusing to unpickle" in refused.err
    code, data = _result(run_cli, tmp_path, workspace, "--trust-pickle")
    assert (code, data["decision"]) == (0, "first-model")


def test_latency_and_size_gates_measure_both_models(cancer_workspace, run_cli, tmp_path):
    cancer_workspace.policy(CANCER_POLICY.replace("stats:", "  - {metric: latency_ms_per_1k, rule: max_ratio, threshold: 1000}\n"
                            "  - {metric: model_size_mb, rule: max, threshold: 0.000001, name: tiny}\nstats:"))
    code, data = _result(run_cli, tmp_path, cancer_workspace)
    latency = _gate(data, "latency_ms_per_1k max_ratio")
    assert latency["candidate"] > 0 and latency["production"] > 0 and latency["passed"] is True
    size = _gate(data, "tiny")
    assert size["passed"] is False and size["candidate"] == pytest.approx(
        (cancer_workspace.root / "build" / "model.skops").stat().st_size / 1e6)
    assert code == 1


def test_outputs_junit_and_schema(cancer_workspace, run_cli, tmp_path):
    import jsonschema

    from mlgate.gates.result import schema_path

    code, data = _result(run_cli, tmp_path, cancer_workspace)
    jsonschema.validate(data, json.loads(schema_path().read_text()))
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml"))))
    assert suite.tests == len(data["gates"])
    assert suite.failures == sum(1 for g in data["gates"] if g["passed"] is False)
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.startswith("<!doctype html>") and "roc_auc non_inferior" in html
