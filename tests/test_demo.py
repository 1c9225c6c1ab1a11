"""The demo is the embedded default: three scenarios, three decisions, three exit codes."""

from __future__ import annotations

import json

import jsonschema
import pytest

from mlgate.gates.result import schema_path


@pytest.mark.parametrize(
    "scenario, decision, code",
    [("better", "approve", 0), ("worse", "block", 1), ("first", "first-model", 0)],
)
def test_demo_scenarios(scenario, decision, code, tmp_path, run_cli):
    out = tmp_path / scenario
    result = run_cli("demo", "--out", out, "--scenario", scenario)
    assert result.code == code, result.err
    report = out / "mlgate-report"
    data = json.loads((report / "result.json").read_text())
    jsonschema.validate(data, json.loads(schema_path().read_text()))
    assert data["decision"] == decision
    assert (report / "report.md").read_text().startswith("<!-- mlgate:report -->")
    assert (report / "candidate.skops").is_file()
    assert (out / "train.py").is_file() and (out / ".github" / "mlgate.yml").is_file()
    if scenario == "first":
        assert data["production"] is None
        assert all(g["skipped"] for g in data["gates"] if g["rule"] not in ("min", "max"))
    else:
        assert data["production"]["version"] == 1
    if scenario == "worse":
        failed = {g["name"] for g in data["gates"] if g["passed"] is False}
        assert "roc_auc non_inferior" in failed
        # The decisive interval lies wholly below the margin and its p-value agrees.
        auc = next(g for g in data["gates"] if g["metric"] == "roc_auc")
        assert auc["confidence_interval"][1] < -auc["margin"] and auc["p_value"] > 0.05


def test_demo_workspace_evaluates_again_with_evaluate(tmp_path, run_cli):
    """The demo leaves a real workspace: `mlgate evaluate` on it gives the same verdict and numbers."""
    ws = tmp_path / "ws"
    assert run_cli("demo", "--out", ws, "--quiet").code == 0
    again = run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "again", "--json")
    assert again.code == 0, again.err
    first = json.loads((ws / "mlgate-report" / "result.json").read_text())
    second = json.loads(again.out)
    for a, b in zip(first["gates"], second["gates"]):
        if a["metric"] != "latency_ms_per_1k":  # measured time differs run to run
            assert a["estimate"] == b["estimate"] and a["confidence_interval"] == b["confidence_interval"]


def test_demo_refuses_a_non_empty_directory(tmp_path, run_cli):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    result = run_cli("demo", "--out", tmp_path / "x")
    assert result.code == 2 and "exists and is not empty" in result.err
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_every_command_has_help(run_cli):
    for command in ([], ["evaluate"], ["demo"]):
        result = run_cli(*command, "--help")
        assert result.code == 0 and "Usage: mlgate" in result.out
