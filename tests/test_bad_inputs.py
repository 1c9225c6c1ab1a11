"""Every bad input exits 2 with a message naming the culprit — never a traceback, never exit 1."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from workspaces import CANCER_POLICY, cancer_predictions


def _holdout(ws, change):
    path = ws.root / "data" / "holdout.csv"
    frame = pd.read_csv(path)
    ws.table("data/holdout.csv", change(frame))


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def missing_config(ws, cancer, models):
    (ws.root / ".github" / "mlgate.yml").unlink()


def unknown_key(ws, cancer, models):
    ws.edit_policy("  slices: [size]", "  slices: [size]\n  slcies: [size]")


def misspelled_rule(ws, cancer, models):
    ws.edit_policy("rule: non_inferior, margin: 0.01", "rule: non_inferiour, margin: 0.01")


def misspelled_metric(ws, cancer, models):
    ws.edit_policy("metric: roc_auc", "metric: roc-auc")


def wrong_type(ws, cancer, models):
    ws.edit_policy("margin: 0.01", "margin: one percent")


def negative_margin(ws, cancer, models):
    ws.edit_policy("margin: 0.01", "margin: -0.01")


def rule_parameter_missing(ws, cancer, models):
    ws.edit_policy("rule: min, threshold: 0.85", "rule: min")


def bad_yaml(ws, cancer, models):
    ws.policy("version: 1\ngates: [\n")


def yaml_alias(ws, cancer, models):
    ws.policy(CANCER_POLICY + "x: &a [1]\ny: *a\n")


def missing_target(ws, cancer, models):
    ws.edit_policy("target: label", "target: outcome")


def missing_slice_column(ws, cancer, models):
    ws.edit_policy("slices: [size]", "slices: [region]")


def empty_holdout(ws, cancer, models):
    _holdout(ws, lambda f: f.iloc[:0])


def nan_target(ws, cancer, models):
    def change(f):
        f.loc[3, "label"] = np.nan
        return f

    _holdout(ws, change)


def missing_model(ws, cancer, models):
    (ws.root / "build" / "model.skops").unlink()


def model_needs_missing_columns(ws, cancer, models):
    _holdout(ws, lambda f: f.drop(columns=["mean radius"]))


def truncated_skops(ws, cancer, models):
    path = ws.root / "build" / "model.skops"
    path.write_bytes(path.read_bytes()[:200])


def wrong_model_type(ws, cancer, models):
    ws.write("build/model.h5", b"not a model")
    ws.edit_policy("path: build/model.skops", "path: build/model.h5")


def pickle_without_trust(ws, cancer, models):
    ws.write("build/model.pkl", pickle.dumps(_Evil()))
    ws.edit_policy("path: build/model.skops", "path: build/model.pkl")


def path_escape(ws, cancer, models):
    ws.edit_policy("holdout: data/holdout.csv", "holdout: ../outside.csv")


def absolute_path(ws, cancer, models):
    ws.edit_policy("holdout: data/holdout.csv", "holdout: /etc/passwd")


def symlink_escape(ws, cancer, models):
    outside = ws.root.parent / "secret.csv"
    outside.write_text("label\n1\n")
    (ws.root / "data" / "link.csv").symlink_to(outside)
    ws.edit_policy("holdout: data/holdout.csv", "holdout: data/link.csv")


def predictions_fewer_rows(ws, cancer, models):
    _, test = cancer
    preds = pd.DataFrame({"prediction": models["good"].predict(test.drop(columns=["label", "size"]))[:-5]})
    ws.table("build/candidate.csv", preds)
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv")


def predictions_no_scores(ws, cancer, models):
    _, test = cancer
    preds = pd.DataFrame({"prediction": models["good"].predict(test.drop(columns=["label", "size"]))})
    ws.table("build/candidate.csv", preds)
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv")


def registry_missing(ws, cancer, models):
    ws.edit_policy("registry: models/registry", "registry: models/regsitry")


def registry_corrupt(ws, cancer, models):
    ws.write("models/registry/registry.json", "{not json")


def string_labels_without_positive(ws, cancer, models):
    from workspaces import fit_logistic

    names = {0: "benign", 1: "malignant"}
    train = cancer[0].assign(label=cancer[0]["label"].map(names))
    _holdout(ws, lambda f: f.assign(label=f["label"].map(names)))
    ws.model("build/model.skops", fit_logistic(train, ["mean radius", "mean texture"]))
    ws.registry("models/registry").promote(ws.model("p.skops", fit_logistic(train, ["mean radius"])), source="t", by="t",
                                        alias="production")
    ws.edit_policy("  - {metric: roc_auc, rule: non_inferior, margin: 0.01}\n", "")


def model_trained_on_other_labels(ws, cancer, models):
    _holdout(ws, lambda f: f.assign(label=f["label"].map({0: "benign", 1: "malignant"})))


def _regression_policy(ws):
    """A regression policy on the cancer holdout's label column (the cases below break the label)."""
    ws.policy("""\
        version: 1
        task: regression
        data: {holdout: data/holdout.csv, target: label}
        production: {registry: models/registry}
        gates: [{metric: mae, rule: non_inferior, margin: 0.1}]
        """)


def regression_non_numeric_target(ws, cancer, models):
    _holdout(ws, lambda f: f.assign(label=f["label"].map({0: "low", 1: "high"})))
    _regression_policy(ws)


def regression_metric_on_classification(ws, cancer, models):
    ws.policy(CANCER_POLICY.replace("version: 1\n", "version: 1\ntask: classification\n")
              .replace("metric: accuracy, rule: min, threshold: 0.85", "metric: mae, rule: max, threshold: 0.85"))


def regression_metric_on_inferred_classification(ws, cancer, models):
    ws.edit_policy("metric: accuracy, rule: min, threshold: 0.85", "metric: mae, rule: max, threshold: 0.85")


def slice_gate_without_slices(ws, cancer, models):
    ws.edit_policy("  slices: [size]\n", "")


def duplicated_ids(ws, cancer, models):
    _holdout(ws, lambda f: f.assign(uid=[1, 1] + list(range(2, len(f)))))
    ws.edit_policy("target: label", "target: label\n  id_column: uid")


def bad_alpha(ws, cancer, models):
    ws.edit_policy("stats: {bootstrap: {resamples: 2000}}", "stats: {alpha: 0.7}")


def two_model_sources(ws, cancer, models):
    ws.edit_policy("path: build/model.skops", "path: build/model.skops\n  predictions: build/c.csv")


def unsupported_holdout_format(ws, cancer, models):
    ws.write("data/holdout.xlsx", b"PK")
    ws.edit_policy("holdout: data/holdout.csv", "holdout: data/holdout.xlsx")


def ragged_csv(ws, cancer, models):
    ws.write("data/holdout.csv", "label,a,size\n1,2,3\n0,1,2,3,4,5\n")  # the columns the policy names


def huge_config(ws, cancer, models):
    ws.policy(CANCER_POLICY + "# " + "x" * 1_100_000 + "\n")


def latin1_config(ws, cancer, models):
    ws.write(".github/mlgate.yml", CANCER_POLICY.replace("version: 1", "# caf\xe9\nversion: 1").encode("latin-1"))


def config_not_a_mapping(ws, cancer, models):
    ws.policy("- version: 1\n")


def empty_config(ws, cancer, models):
    ws.policy("")


def wrong_version(ws, cancer, models):
    ws.edit_policy("version: 1", "version: 2")


def nan_score_in_predictions(ws, cancer, models):
    preds = cancer_predictions(cancer, models)
    preds.loc[5, "score"] = np.nan
    ws.table("build/candidate.csv", preds)
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv")


def inf_regression_target(ws, cancer, models):
    _holdout(ws, lambda f: f.assign(label=f["label"].astype(float).where(f.index != 7, np.inf)))
    _regression_policy(ws)


def duplicated_prediction_ids(ws, cancer, models):
    _, test = cancer
    _holdout(ws, lambda f: f.assign(uid=range(len(f))))
    preds = pd.DataFrame({"row_id": [0] + list(range(len(test) - 1)), "prediction": 0, "score": 0.5})
    ws.table("build/candidate.csv", preds)
    ws.policy(CANCER_POLICY.replace("target: label", "target: label\n  id_column: uid")
              .replace("path: build/model.skops", "predictions: build/candidate.csv"))


def predictions_missing_ids(ws, cancer, models):
    _, test = cancer
    _holdout(ws, lambda f: f.assign(uid=range(len(f))))
    preds = pd.DataFrame({"row_id": range(3, len(test) + 3), "prediction": 0, "score": 0.5})
    ws.table("build/candidate.csv", preds)
    ws.policy(CANCER_POLICY.replace("target: label", "target: label\n  id_column: uid")
              .replace("path: build/model.skops", "predictions: build/candidate.csv"))


def predictions_with_ids_but_no_id_column(ws, cancer, models):
    _, test = cancer
    preds = pd.DataFrame({"row_id": range(len(test)), "prediction": 0, "score": 0.5})
    ws.table("build/candidate.csv", preds)
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv")


def million_column_header(ws, cancer, models):
    ws.write("data/holdout.csv", ",".join(f"c{i}" for i in range(1_000_000)) + "\n")


def binary_garbage_holdout(ws, cancer, models):
    ws.write("data/holdout.csv", bytes(range(256)) * 50)


def score_out_of_range(ws, cancer, models):
    _, test = cancer
    preds = pd.DataFrame({"prediction": 0, "score": np.linspace(0, 2, len(test))})
    ws.table("build/candidate.csv", preds)
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv")


def corrupt_parquet(ws, cancer, models):
    ws.write("data/holdout.parquet", b"PAR1" + b"\0" * 100)
    ws.edit_policy("holdout: data/holdout.csv", "holdout: data/holdout.parquet")


CASES = [
    (missing_config, r"\.github/mlgate\.yml: config file not found"),
    (unknown_key, r"data\.slcies: unknown key \(did you mean 'slices'\?\)"),
    (misspelled_rule, r"gates\[0\]\.rule: expected one of .*got 'non_inferiour' \(did you mean 'non_inferior'\?\)"),
    (misspelled_metric, r"gates\[0\]\.metric: expected one of .*got 'roc-auc'"),
    (wrong_type, r"gates\[0\]\.margin: expected a number, got 'one percent'"),
    (negative_margin, r"gates\[0\]\.margin: expected a number ≥ 0, got -0\.01"),
    (rule_parameter_missing, r"gates\[1\]\.threshold: expected a value \(rule min needs it\)"),
    (bad_yaml, r"mlgate\.yml: invalid YAML at line \d+"),
    (yaml_alias, r"invalid YAML .*aliases"),
    (missing_target, r"data/holdout\.csv: target column 'outcome' \(data\.target\) not found"),
    (missing_slice_column, r"column 'region' \(data\.slices\[0\]\) not found"),
    (empty_holdout, r"data/holdout\.csv: the holdout has no rows"),
    (nan_target, r"target column 'label' has 1 missing value\(s\) \(first at data row 4\)"),
    (missing_model, r"build/model\.skops: candidate model file not found"),
    (model_needs_missing_columns, r"expects column\(s\) \['mean radius'\] that the holdout data/holdout\.csv lacks"),
    (truncated_skops, r"build/model\.skops: not a readable skops file"),
    (wrong_model_type, r"build/model\.h5: unsupported model file type .\.h5."),
    (pickle_without_trust, r"build/model\.pkl: refusing to unpickle"),
    (path_escape, r"\.github/mlgate\.yml: data\.holdout: '\.\./outside\.csv' points outside the workspace"),
    (absolute_path, r"data\.holdout: '/etc/passwd' is an absolute path"),
    (symlink_escape, r"data\.holdout: 'data/link\.csv' points outside the workspace"),
    (predictions_fewer_rows, r"build/candidate\.csv: has \d+ rows but the holdout data/holdout\.csv has \d+"),
    (predictions_no_scores, r"build/candidate\.csv: the gates need scores"),
    (registry_missing, r"\.github/mlgate\.yml: production\.registry: registry directory 'models/regsitry' does not exist"),
    (registry_corrupt, r"models/registry/registry\.json: not valid JSON"),
    (string_labels_without_positive, r"\.github/mlgate\.yml: data\.positive_label: f1 \(gates\[1\]\) needs the positive label, which cannot be inferred from the labels \['benign', 'malignant'\]"),
    (regression_non_numeric_target, r"target column 'label' must be numeric and finite for regression; data row 1 holds '(low|high)'"),
    (regression_metric_on_classification, r"gates\[1\]\.metric: expected a classification metric, got 'mae'"),
    (regression_metric_on_inferred_classification, r"gates\[1\]\.metric: mae is a regression metric but the task is classification"),
    (model_trained_on_other_labels, r"build/model\.skops: the candidate model's classes \[0, 1\] do not match the labels of data/holdout\.csv column 'label'"),
    (slice_gate_without_slices, r"data\.slices: the slice_max_drop gate needs at least one slice column"),
    (duplicated_ids, r"id column 'uid' \(data\.id_column\) has duplicated ids, e\.g\. 1"),
    (bad_alpha, r"stats\.alpha: expected a number < 0\.5, got 0\.7"),
    (two_model_sources, r"candidate: expected exactly one of path or predictions or train"),
    (unsupported_holdout_format, r"data\.holdout: 'holdout\.xlsx' is neither CSV"),
    (ragged_csv, r"data/holdout\.csv: cannot read as CSV"),
    (huge_config, r"\.github/mlgate\.yml: config file is larger than 1000000 bytes"),
    (latin1_config, r"\.github/mlgate\.yml: not UTF-8 text \(byte \d+\)"),
    (config_not_a_mapping, r"\.github/mlgate\.yml: expected a mapping, got \["),
    (empty_config, r"\.github/mlgate\.yml: expected a mapping, got None"),
    (wrong_version, r"\.github/mlgate\.yml: version: expected 1, got 2"),
    (nan_score_in_predictions, r"build/candidate\.csv: column 'score' must hold probabilities in \[0, 1\]; data row 6 holds nan"),
    (inf_regression_target, r"target column 'label' must be numeric and finite for regression; data row 8 holds inf"),
    (duplicated_prediction_ids, r"build/candidate\.csv: column 'row_id' has duplicated ids, e\.g\. 0"),
    (predictions_missing_ids, r"rows do not match the holdout by 'row_id': 3 holdout row\(s\) missing \(e\.g\. id 0\); 3 extra row\(s\)"),
    (predictions_with_ids_but_no_id_column, r"build/candidate\.csv: has a 'row_id' column but data\.id_column is unset; set data\.id_column"),
    (million_column_header, r"data/holdout\.csv: more than 100000 columns in the header"),
    (binary_garbage_holdout, r"data/holdout\.csv: (cannot read as CSV|target column 'label' \(data\.target\) not found)"),
    (score_out_of_range, r"build/candidate\.csv: column 'score' must hold probabilities in \[0, 1\]"),
    (corrupt_parquet, r"data/holdout\.parquet: cannot read as PARQUET"),
]


@pytest.mark.parametrize("mutate, message", CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_input_exits_2_naming_the_culprit(mutate, message, cancer_workspace, cancer, cancer_models, run_cli, tmp_path):
    mutate(cancer_workspace, cancer, cancer_models)
    result = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "out", "--quiet")
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert lines[0].startswith("mlgate: error: "), result.err
    import re

    assert re.search(message, result.err), result.err
    assert not (cancer_workspace.root / "pwned").exists()
    assert not (tmp_path / "out" / "result.json").exists(), "no result may be written for bad input"


def test_usage_error_exits_2(run_cli):
    result = run_cli("evaluate", "--no-such-flag")
    assert result.code == 2
    assert "No such option '--no-such-flag'" in result.err


def test_internal_errors_exit_3_with_one_line(run_cli, cancer_workspace, tmp_path, monkeypatch):
    """A bug must never look like 'blocked' (exit 1): one line, exit 3, traceback only with --debug."""
    import mlgate.gates.engine.evaluation

    def boom(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(mlgate.gates.engine.evaluation, "evaluate_gate", boom)
    args = ("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o")
    result = run_cli(*args)
    assert result.code == 3
    assert "internal error: RuntimeError: simulated bug" in result.err
    assert "Traceback" not in result.err
    debug = run_cli(*args, "--debug")
    assert debug.code == 3 and "Traceback" in debug.err
