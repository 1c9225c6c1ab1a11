"""Rows that come in groups (``data.group_column``), end to end through the engine.

The statistics themselves are checked against independent references in
``tests/stats/test_grouped.py``; here: the policy key, the survey's checks, per-group evidence
merged exactly across chunks that split groups, the grouped tests deciding every relative gate,
and what result.json and the report say about the groups.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlgate.gates.result import schema_path

FEATURES = ["x0", "x1", "x2"]
POLICY = """\
version: 1
task: classification
data: {{holdout: data/holdout.csv, target: label, positive_label: 1{group}}}
candidate: {{path: build/candidate.skops}}
production: {{path: models/production.skops}}
gates:
  - {{metric: accuracy, rule: non_inferior, margin: 0.02}}
  - {{metric: roc_auc, rule: non_inferior, margin: 0.02}}
  - {{metric: log_loss, rule: non_inferior, margin: 0.05}}
stats: {{bootstrap: {{resamples: 1000, seed: 0}}}}
{engine}"""


def grouped_frame(groups: int, rows: int, seed: int, rho: float = 0.4) -> pd.DataFrame:
    """``groups`` × ``rows`` rows; a shared group effect makes rows of a group alike."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), rows)
    effect = rng.normal(0, np.sqrt(rho / (1 - rho)), groups)[g]
    x = rng.normal(size=(len(g), 3)) + effect[:, None] * 0.8
    x[:, 2] += rng.normal(0, 1.5, groups)[g]  # the candidate's extra feature moves by group: so do its wins
    logit = x @ np.array([1.2, -0.8, 0.5]) + effect
    y = (rng.random(len(g)) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"user": [f"u{i:04d}" for i in g], **{f: x[:, i] for i, f in enumerate(FEATURES)}, "label": y})


@pytest.fixture(scope="module")
def models():
    train = grouped_frame(300, 5, seed=1)
    cand = LogisticRegression(max_iter=1000).fit(train[FEATURES], train["label"])
    prod = LogisticRegression(max_iter=1000).fit(train[FEATURES[:2]], train["label"])
    return cand, prod


def _setup(ws, models, holdout: pd.DataFrame, *, group: bool = True, engine: str = "") -> None:
    cand, prod = models
    ws.model("build/candidate.skops", cand)
    ws.model("models/production.skops", prod)
    ws.table("data/holdout.csv", holdout)
    ws.policy(POLICY.format(group=", group_column: user" if group else "", engine=engine))


def _evaluate(run_cli, ws, name: str) -> dict:
    out = ws.root / name
    r = run_cli("evaluate", "--workspace", ws.root, "--out", out, "--quiet")
    assert r.code in (0, 1), r.err
    return json.loads((out / "result.json").read_text())


def test_grouped_gates_report_the_groups_and_use_the_clustered_tests(workspace, models, run_cli):
    jsonschema = pytest.importorskip("jsonschema")
    _setup(workspace, models, grouped_frame(80, 10, seed=2))
    result = _evaluate(run_cli, workspace, "out")
    jsonschema.validate(result, json.loads(schema_path().read_text()))
    assert result["groups"]["column"] == "user" and result["groups"]["count"] == 80
    assert result["groups"]["rows_per_group"] == pytest.approx(10.0)
    by_metric = {g["metric"]: g for g in result["gates"]}
    for metric, gate in by_metric.items():
        assert gate["groups"]["count"] == 80, metric
        assert gate["groups"]["design_effect"] > 1.0, metric  # the rows of a group are alike
        assert gate["groups"]["effective_n"] < 800, metric
    assert "cluster" in by_metric["accuracy"]["method"]
    assert "row_tests" not in by_metric["log_loss"]["supplementary"]  # rows are not independent
    assert by_metric["accuracy"]["supplementary"]["mcnemar"]["method"] != "midp"
    report = (workspace.root / "out" / "report.md").read_text()
    assert "grouped by user: 80 groups" in report


def test_grouping_widens_the_interval(workspace, models, run_cli):
    holdout = grouped_frame(80, 10, seed=3)
    _setup(workspace, models, holdout, group=False)
    plain = _evaluate(run_cli, workspace, "plain")
    _setup(workspace, models, holdout)
    grouped = _evaluate(run_cli, workspace, "grouped")
    for a, b in zip(plain["gates"], grouped["gates"]):
        assert a["estimate"] == pytest.approx(b["estimate"], abs=1e-9), a["metric"]
        width = lambda g: g["confidence_interval"][1] - g["confidence_interval"][0]  # noqa: E731
        assert width(b) > width(a), a["metric"]


def test_one_row_per_group_is_the_ungrouped_result(workspace, models, run_cli):
    holdout = grouped_frame(400, 1, seed=4)
    _setup(workspace, models, holdout, group=False)
    plain = _evaluate(run_cli, workspace, "plain")
    _setup(workspace, models, holdout)
    grouped = _evaluate(run_cli, workspace, "grouped")
    assert grouped["decision"] == plain["decision"]
    for a, b in zip(plain["gates"], grouped["gates"]):
        for key in ("estimate", "p_value"):
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), (a["metric"], key)
        assert b["confidence_interval"] == pytest.approx(a["confidence_interval"], rel=1e-9, abs=1e-12)
        assert b["groups"]["design_effect"] == pytest.approx(1.0)


def test_groups_split_across_chunks_merge_exactly(workspace, models, run_cli):
    holdout = grouped_frame(60, 8, seed=5).sample(frac=1.0, random_state=0)  # a group's rows scattered
    _setup(workspace, models, holdout)
    whole = _evaluate(run_cli, workspace, "whole")
    _setup(workspace, models, holdout, engine="engine: {chunk_rows: 37}\n")
    chunked = _evaluate(run_cli, workspace, "chunked")
    assert chunked["groups"]["count"] == whole["groups"]["count"] == 60
    for a, b in zip(whole["gates"], chunked["gates"]):
        for key in ("estimate", "p_value"):
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), (a["metric"], key)
        assert b["confidence_interval"] == pytest.approx(a["confidence_interval"], rel=1e-9, abs=1e-12)


def test_few_groups_are_warned_about(workspace, models, run_cli):
    _setup(workspace, models, grouped_frame(12, 30, seed=6))
    result = _evaluate(run_cli, workspace, "out")
    assert result["groups"]["count"] == 12
    assert any("Only 12 groups" in n for n in result["notes"])
    assert all(g["groups"]["warning"] for g in result["gates"])


@pytest.mark.parametrize("case, message", [
    ("missing", r"group column 'user' \(data.group_column\) has 1 missing value\(s\) \(first at data row 4\)"),
    ("absent", r"column 'user' \(data.group_column\) not found"),
    ("target", r"data.group_column: expected a column other than data.target"),
])
def test_bad_group_columns_exit_2_naming_them(workspace, models, run_cli, case, message):
    import re

    holdout = grouped_frame(20, 5, seed=7)
    if case == "missing":
        holdout.loc[3, "user"] = None
    if case == "absent":
        holdout = holdout.drop(columns="user")
    _setup(workspace, models, holdout)
    if case == "target":
        workspace.policy(POLICY.format(group=", group_column: label", engine=""))
    r = run_cli("evaluate", "--workspace", workspace.root, "--out", workspace.root / "out", "--quiet")
    assert r.code == 2 and re.search(message, r.err), r.err


def test_the_group_column_may_be_a_feature(workspace, run_cli):
    """Grouping by a store or a hospital the models also read: the column is not held out."""
    train = grouped_frame(100, 5, seed=8).assign(store=lambda f: f["user"].str[1:].astype(int) % 7)
    holdout = grouped_frame(50, 8, seed=9).assign(store=lambda f: f["user"].str[1:].astype(int) % 7)
    cand = LogisticRegression(max_iter=1000).fit(train[FEATURES + ["store"]], train["label"])
    prod = LogisticRegression(max_iter=1000).fit(train[FEATURES[:2] + ["store"]], train["label"])
    _setup(workspace, (cand, prod), holdout.drop(columns="user"), group=False)
    workspace.policy(POLICY.format(group=", group_column: store", engine=""))
    result = _evaluate(run_cli, workspace, "out")
    assert result["groups"]["column"] == "store" and result["groups"]["count"] == 7
