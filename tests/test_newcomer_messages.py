"""The mistakes newcomers make get a clear answer (issue 19): one row per message.

Every case writes real files into a real workspace and runs the real CLI; a bad input exits 2
with a message that says what is wrong and what to do. Predictions-file errors name the
file's own row (its ``row_id`` and line), never the row's position in the holdout.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mlgate.gates.config.parse import load_policy
from mlgate.gates.errors import ConfigError
from workspaces import CANCER_POLICY, cancer_predictions

# ----------------------------------------------------------------------------- helpers


def _by_id_policy(ws):
    """The candidate is a predictions file joined to the holdout by id (column uid)."""
    ws.policy(CANCER_POLICY.replace("target: label", "target: label\n  id_column: uid")
              .replace("path: build/model.skops", "predictions: build/candidate.csv"))


def _reversed_predictions(ws, cancer, models, change=None):
    """The good model's predictions in reverse row order, with ids: the file's line 5 holds the
    holdout's row n - 3 (row_id n - 4), so a message quoting the holdout position is wrong."""
    _, test = cancer
    X = test.drop(columns=["label", "size"])
    m = models["good"]
    ws.table("data/holdout.csv", test.assign(uid=range(len(test))))
    preds = pd.DataFrame({"row_id": range(len(test)), "prediction": m.predict(X), "score": m.predict_proba(X)[:, 1]})
    preds = preds.iloc[::-1].reset_index(drop=True)
    if change is not None:
        preds = change(preds)
    ws.table("build/candidate.csv", preds)
    _by_id_policy(ws)
    return len(test)


# ----------------------------------------------------------------------------- item 1: predictions files


def nan_score_by_id(ws, cancer, models):
    def change(p):
        p.loc[3, "score"] = np.nan  # line 5 of the file (header is line 1)
        return p

    _reversed_predictions(ws, cancer, models, change)


def nan_prediction_by_id(ws, cancer, models):
    def change(p):
        p["prediction"] = p["prediction"].astype(float)
        p.loc[3, "prediction"] = np.nan
        return p

    _reversed_predictions(ws, cancer, models, change)


def proba_not_summing_by_id(ws, cancer, models):
    def change(p):
        p = p.assign(proba_0=1 - p["score"], proba_1=p["score"]).drop(columns=["score"])
        p.loc[3, "proba_0"] = 0.9
        p.loc[3, "proba_1"] = 0.9
        return p

    _reversed_predictions(ws, cancer, models, change)


def nan_score_by_order(ws, cancer, models):
    preds = cancer_predictions(cancer, models)
    preds.loc[3, "score"] = np.nan
    ws.table("build/candidate.csv", preds)
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv")


def extra_prediction_rows(ws, cancer, models):
    def change(p):
        extra = pd.DataFrame({"row_id": [9999], "prediction": [0], "score": [0.5]})
        return pd.concat([p, extra], ignore_index=True)  # the extra row is the file's last line

    _reversed_predictions(ws, cancer, models, change)


def duplicated_prediction_ids(ws, cancer, models):
    def change(p):
        p.loc[3, "row_id"] = p.loc[1, "row_id"]
        return p

    _reversed_predictions(ws, cancer, models, change)


# ----------------------------------------------------------------------------- item 2: rules that read backwards


def min_on_a_loss(ws, cancer, models):
    ws.edit_policy("metric: accuracy, rule: min, threshold: 0.85", "metric: log_loss, rule: min, threshold: 0.3")


def max_on_a_score(ws, cancer, models):
    ws.edit_policy("metric: accuracy, rule: min, threshold: 0.85", "metric: accuracy, rule: max, threshold: 0.85")


def min_on_a_size(ws, cancer, models):
    ws.edit_policy("metric: accuracy, rule: min, threshold: 0.85", "metric: model_size_mb, rule: min, threshold: 1")


def latency_gate_with_predictions(ws, cancer, models):
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv",  # refused before it is read
            base=CANCER_POLICY.replace("stats:", "  - {metric: latency_ms_per_1k, rule: max_ratio, threshold: 2}\nstats:"))


def size_ratio_with_production_predictions(ws, cancer, models):
    ws.edit_policy("production:\n  registry: models/registry",
            "production:\n  predictions: build/production.csv",
            base=CANCER_POLICY.replace("stats:", "  - {metric: model_size_mb, rule: max_ratio, threshold: 2}\nstats:"))


# ----------------------------------------------------------------------------- item 4: messages


def semicolon_holdout(ws, cancer, models):
    _, test = cancer
    test.to_csv(ws.root / "data" / "holdout.csv", sep=";", index=False)


def semicolon_predictions(ws, cancer, models):
    preds = cancer_predictions(cancer, models)
    preds.to_csv(ws.root / "build" / "candidate.csv", sep=";", index=False)
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv")


def target_typo(ws, cancer, models):
    ws.edit_policy("target: label", "target: lable")


def slice_typo(ws, cancer, models):
    ws.edit_policy("slices: [size]", "slices: [Size]")


def prediction_column_typo(ws, cancer, models):
    _, test = cancer
    ws.table("build/candidate.csv", pd.DataFrame({"predicton": [0] * len(test), "score": 0.5}))
    ws.edit_policy("path: build/model.skops", "predictions: build/candidate.csv")


def empty_policy(ws, cancer, models):
    ws.policy("")


def comments_only_policy(ws, cancer, models):
    ws.policy("# mlgate policy: to do\n")


def tab_in_yaml(ws, cancer, models):
    ws.write(".github/mlgate.yml", CANCER_POLICY.replace("  target: label", "\ttarget: label"))


def non_numeric_feature(ws, cancer, models):
    _, test = cancer
    frame = test.copy()
    frame["mean texture"] = frame["mean texture"].astype(object)
    frame.loc[7, "mean texture"] = "twelve"
    ws.table("data/holdout.csv", frame)


def untrusted_model_type(ws, cancer, models):
    from custom_estimator import ShiftedRegressor

    train, _ = cancer
    ws.model("build/model.skops", ShiftedRegressor().fit(train.drop(columns=["label", "size"]), train["label"]))


CASES = [
    # 1. predictions files: the file's row_id and line, never the holdout's row 282
    (nan_score_by_id, r"build/candidate\.csv: column 'score' must hold probabilities in \[0, 1\]; "
                      r"row_id 281 holds nan \(line 5\)$"),
    (nan_prediction_by_id, r"build/candidate\.csv: column 'prediction' has missing values \(first at row_id 281, line 5\)$"),
    (proba_not_summing_by_id, r"build/candidate\.csv: columns proba_<label> returned probabilities that do not sum "
                              r"to 1 \(first at row_id 281, line 5\)$"),
    (nan_score_by_order, r"column 'score' must hold probabilities in \[0, 1\]; data row 4 holds nan \(line 5\)$"),
    (extra_prediction_rows, r"rows do not match the holdout by 'row_id': 1 extra row\(s\) not in the holdout "
                            r"\(e\.g\. row_id 9999, line 287\)$"),
    (duplicated_prediction_ids, r"column 'row_id' has duplicated ids, e\.g\. 283 \(lines 3 and 5\)$"),
    # 2. rules that read backwards; cost gates without a model
    (min_on_a_loss, r"gates\[1\]\.rule: min on log_loss reads backwards: log_loss is lower-is-better, so min would "
                    r"pass only models at least this bad; use rule: max \(the highest log_loss you accept\)$"),
    (max_on_a_score, r"gates\[1\]\.rule: max on accuracy reads backwards: accuracy is higher-is-better, so max would "
                     r"block every model better than the threshold; use rule: min \(the lowest accuracy you accept\)$"),
    (min_on_a_size, r"gates\[1\]\.rule: min on model_size_mb reads backwards: model_size_mb is lower-is-better"),
    (latency_gate_with_predictions, r"gates\[4\]\.metric: latency_ms_per_1k needs a model to time or weigh, but "
                                    r"candidate\.predictions is a predictions file; remove the gate or give "
                                    r"candidate\.path$"),
    (size_ratio_with_production_predictions, r"gates\[4\]\.metric: model_size_mb needs a model to time or weigh, but "
                                             r"production\.predictions is a predictions file"),
    # 4. messages
    (semicolon_holdout, r"data/holdout\.csv: looks ';'-separated \(the header reads as one column\); mlgate reads "
                        r"comma-separated CSV: convert it"),
    (semicolon_predictions, r"build/candidate\.csv: looks ';'-separated \(the header reads as one column\); mlgate "
                            r"reads comma-separated CSV: convert it"),
    (target_typo, r"target column 'lable' \(data\.target\) not found \(did you mean 'label'\?\); columns are \["),
    (slice_typo, r"column 'Size' \(data\.slices\[0\]\) not found \(did you mean 'size'\?\); columns are \["),
    (prediction_column_typo, r"build/candidate\.csv: column 'prediction' not found \(did you mean 'predicton'\?\); "
                             r"columns are \['predicton', 'score'\]"),
    (empty_policy, r"\.github/mlgate\.yml: expected a mapping, got None \(the file is empty\): a policy needs at least "
                   r"version: 1, data: \{holdout: FILE, target: COLUMN\} and gates: \[\.\.\.\]; see the README's "
                   r"Configuration section$"),
    (comments_only_policy, r"\.github/mlgate\.yml: expected a mapping, got None \(the file is empty\)"),
    (tab_in_yaml, r"\.github/mlgate\.yml: invalid YAML at line 4: YAML does not allow tabs for indentation; use spaces$"),
    (non_numeric_feature, r"build/model\.skops: the candidate model failed to predict on data/holdout\.csv: column "
                          r"'mean texture' holds a non-numeric value \('twelve'\)"),
    # a local run has no base branch: the message names the policy file it read
    (untrusted_model_type, r"build/model\.skops: refusing to load untrusted types \['custom_estimator\.ShiftedRegressor'\]; "
                           r"if you trust them, list them under security\.trusted_types in \.github/mlgate\.yml$"),
]


@pytest.mark.parametrize("mutate, message", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_newcomer_mistake_exits_2_with_a_clear_message(mutate, message, cancer_workspace, cancer, cancer_models,
                                                         run_cli, tmp_path):
    mutate(cancer_workspace, cancer, cancer_models)
    result = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "out", "--quiet")
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlgate: error: "), result.err
    assert re.search(message, lines[0]), result.err
    assert not (tmp_path / "out" / "result.json").exists()


def test_the_holdout_position_is_never_quoted_for_a_predictions_file(cancer_workspace, cancer, cancer_models, run_cli,
                                                                      tmp_path):
    n = _reversed_predictions(cancer_workspace, cancer, cancer_models,
                              lambda p: p.assign(score=p["score"].where(p.index != 3, np.nan)))
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
    assert r.code == 2
    assert f"row {n - 3}" not in r.err, "the holdout's position of that row means nothing in the file"


def test_streamed_predictions_name_the_same_row(cancer_workspace, cancer, cancer_models, run_cli, tmp_path):
    nan_score_by_id(cancer_workspace, cancer, cancer_models)
    cancer_workspace.policy((cancer_workspace.root / ".github" / "mlgate.yml").read_text() + "engine: {chunk_rows: 50}\n")
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
    assert r.code == 2 and "row_id 281 holds nan (line 5)" in r.err, r.err


# ----------------------------------------------------------------------------- item 2 at load: load_policy


BASE = """\
version: 1
data: {holdout: data/holdout.csv, target: label}
gates:
"""


@pytest.mark.parametrize("gate, message", [
    ("{metric: brier, rule: min, threshold: 0.1}", "min on brier reads backwards: brier is lower-is-better"),
    ("{metric: mae, rule: min, threshold: 10}", "min on mae reads backwards: mae is lower-is-better"),
    ("{metric: mse, rule: min, threshold: 10}", "min on mse reads backwards"),
    ("{metric: roc_auc, rule: max, threshold: 0.9}", "max on roc_auc reads backwards: roc_auc is higher-is-better"),
    ("{metric: f1, rule: max, threshold: 0.9}", "max on f1 reads backwards"),
    ("{metric: r2, rule: max, threshold: 0.5}", "max on r2 reads backwards: r2 is higher-is-better"),
    ("{metric: latency_ms_per_1k, rule: min, threshold: 1}", "min on latency_ms_per_1k reads backwards"),
], ids=["brier-min", "mae-min", "mse-min", "auc-max", "f1-max", "r2-max", "latency-min"])
def test_a_rule_that_reads_backwards_is_refused_at_load(gate, message, tmp_path):
    path = tmp_path / "p.yml"
    path.write_text(BASE + f"  - {gate}\n")
    with pytest.raises(ConfigError) as exc:
        load_policy(path, source="p.yml")
    assert str(exc.value).startswith(f"p.yml: gates[0].rule: {message}")
    assert ConfigError.exit_code == 2


@pytest.mark.parametrize("gate", [
    "{metric: log_loss, rule: max, threshold: 0.3}",
    "{metric: accuracy, rule: min, threshold: 0.9}",
    "{metric: r2, rule: min, threshold: 0.3}",
    "{metric: model_size_mb, rule: max, threshold: 100}",
])
def test_a_rule_in_the_metric_s_direction_loads(gate, tmp_path):
    path = tmp_path / "p.yml"
    path.write_text(BASE + f"  - {gate}\n")
    assert load_policy(path).gates[0].metric in gate


def test_a_size_max_with_production_predictions_loads(tmp_path):
    """An absolute size gate reads only the candidate: production's predictions file is fine."""
    path = tmp_path / "p.yml"
    path.write_text(BASE.replace("gates:", "production: {predictions: p.csv}\ngates:")
                    + "  - {metric: model_size_mb, rule: max, threshold: 100}\n")
    assert load_policy(path).gates[0].rule == "max"


# ----------------------------------------------------------------------------- item 3: task inference says why


def _integer_target_workspace(ws, cancer, distinct: int, task: str | None = None):
    """A holdout whose integer target has ``distinct`` values; predictions files on both sides."""
    _, test = cancer
    n = len(test)
    target = np.arange(n) % distinct
    ws.table("data/holdout.csv", pd.DataFrame({"x": np.arange(n), "y": target}))
    ws.table("build/candidate.csv", pd.DataFrame({"prediction": target}))
    ws.policy(("version: 1\n" + (f"task: {task}\n" if task else "")
               + "data: {holdout: data/holdout.csv, target: y}\n"
               "candidate: {predictions: build/candidate.csv}\n"
               "gates: [{metric: accuracy, rule: min, threshold: 0.5}]\n"
               "stats: {bootstrap: {resamples: 1000}}\n"))


def test_an_integer_target_with_many_values_says_the_task_was_inferred(cancer_workspace, cancer, run_cli, tmp_path):
    _integer_target_workspace(cancer_workspace, cancer, 214)
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--production", "none",
                "--json")
    assert r.code == 0, r.err
    notes = json.loads(r.out)["notes"]
    assert ("task inferred as classification from an integer target with 214 distinct values; set task: regression "
            "if that is wrong") in notes
    assert "task inferred as classification" in (tmp_path / "o" / "report.md").read_text()


@pytest.mark.parametrize("distinct, task", [(2, None), (20, None), (214, "classification")],
                         ids=["binary", "at-the-cut-off", "task-set"])
def test_no_inference_note_when_nothing_is_surprising(distinct, task, cancer_workspace, cancer, run_cli, tmp_path):
    _integer_target_workspace(cancer_workspace, cancer, distinct, task)
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--production", "none",
                "--json")
    assert r.code == 0, r.err
    assert not any("task inferred" in n for n in json.loads(r.out)["notes"])


# ----------------------------------------------------------------------------- the demo's hint


def test_the_demo_hint_pastes_into_a_shell(tmp_path, run_cli):
    """The command the demo prints next is shell-quoted: a path with a space or a quote pastes."""
    import shlex

    ws = tmp_path / "my team's demo"
    r = run_cli("demo", "--out", ws)
    assert r.code == 0, r.err
    hint = r.out.strip().splitlines()[-1]
    assert hint.startswith("try: ") and shlex.split(hint[len("try: "):]) == ["mlgate", "evaluate", "--workspace", str(ws)]


def test_the_untrusted_types_message_names_the_base_branch_where_there_is_one(cancer_workspace, cancer, cancer_models):
    """In a pull request the policy is the base branch's (the action reads it as '<file> (base
    branch)'): the allowlist to edit is there, not in the PR."""
    from mlgate.gates.config.parse import parse_policy
    from mlgate.gates.engine import evaluate
    from mlgate.gates.errors import ModelError

    untrusted_model_type(cancer_workspace, cancer, cancer_models)
    policy = parse_policy(CANCER_POLICY, ".github/mlgate.yml (base branch)")
    with pytest.raises(ModelError, match=r"list them under security\.trusted_types in \.github/mlgate\.yml "
                                         r"\(base branch\)$"):
        evaluate(policy, cancer_workspace.root)


# ----------------------------------------------------------------------------- the trust check comes first


def test_a_blocked_pull_request_is_not_read_unless_a_maintainer_overrides(cancer_workspace):
    """The trust check's blockers decide before the holdout is read: this holdout would fail to
    read (it would be an error, exit 2), yet the result is the block, with the candidate and
    production named. A verified override needs the gates' numbers, so then the holdout is read."""
    from mlgate.gates.engine import evaluate
    from mlgate.gates.errors import DataError

    ws = cancer_workspace.root
    (ws / "data" / "holdout.csv").write_bytes(b"\x00\xff not a table\n" * 100)
    policy = load_policy(ws / ".github" / "mlgate.yml")
    blocker = "the holdout data/holdout.csv is changed by this PR"
    asked = []
    result = evaluate(policy, ws, blockers=(blocker,), verify_override=lambda sha: asked.append(sha))
    assert (result.decision.decision, result.decision.reasons) == ("block", (blocker,))
    assert result.data == {"source": "data/holdout.csv", "sha256": None, "rows": None, "read": False}
    assert asked == [result.candidate["sha256"]] and result.production["version"] == 1
    assert all(g.outcome == "skipped" and g.detail.startswith("not evaluated") for g in result.gates)
    with pytest.raises(DataError):
        evaluate(policy, ws, blockers=(blocker,), verify_override=lambda sha: {"by": "maintainer"})
    with pytest.raises(DataError):
        evaluate(policy, ws)  # no blocker: read as always


def test_a_promotion_under_a_verified_override_records_the_gates_numbers(cancer_workspace):
    """A merge whose PR changed the holdout, promoted under a maintainer's override: the override
    lets the gates run, so the stored result and the registry version carry real numbers."""
    from mlgate.gates.engine.overrides import Overrides
    from mlgate.gates.promotion import promote
    from mlgate.gates.registry.file import FileRegistry

    ws = cancer_workspace.root
    policy = load_policy(ws / ".github" / "mlgate.yml")
    registry = FileRegistry(ws / "models" / "registry", label="models/registry")
    override = {"by": "maintainer", "reason": "new holdout reviewed", "at": "2026-12-04T00:00:00Z",
                "commit": "0" * 40, "comment_url": "https://example.invalid/c/1"}
    done = promote(policy, ws, registry, Overrides(), by="maintainer", override=override,
                   blockers=("the holdout data/holdout.csv is changed by this PR",))
    assert done.result["data"]["rows"] and done.result["data"]["sha256"]
    assert all(g["outcome"] != "skipped" for g in done.result["gates"])
    assert done.result["overridden"]["by"] == "maintainer"
