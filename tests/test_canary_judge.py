"""The canary judge end to end: real models' prediction logs in real files, a real file
registry, the CLI's exit codes, and the verdict's effect on the registry's aliases."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from canary_logs import shadow_rows, split_rows, traffic, workspace, write_log
from mlgate.action.cli import main
from mlgate.gates.canary.judge import apply_verdict, judge_canary
from mlgate.gates.canary.report import render_markdown, to_dict
from mlgate.gates.config.parse import load_policy
from mlgate.gates.errors import ConfigError, InputError
from mlgate.gates.registry.file import FileRegistry

NOW = datetime(2026, 11, 21, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def live(fitted):  # more traffic than canary_logs' own: the judge decides on it
    return traffic(6000, fitted)


def judge(ws: Path, now=NOW, apply=False):
    policy = load_policy(ws / ".github" / "mlgate.yml")
    registry = FileRegistry(ws / "models" / "registry")
    result = judge_canary(policy, ws, registry, now=now)
    return apply_verdict(result, registry, by="test") if apply else result


def cli(ws: Path, *args: str) -> tuple[int, dict | None]:
    with pytest.raises(SystemExit) as exit_:
        main(["canary", "--workspace", str(ws), "--out", str(ws / "out"), "--now", NOW.isoformat(), "--quiet", *args])
    path = ws / "out" / "canary.json"
    return exit_.value.code, json.loads(path.read_text()) if path.exists() else None


def test_an_equally_good_canary_is_promoted_in_shadow_mode(tmp_path, fitted, live):
    ws = workspace(tmp_path, fitted=fitted)
    write_log(ws, shadow_rows(live, "same"))
    result = judge(ws)
    assert result.verdict == "promote", result.reasons
    assert [g.outcome for g in result.gates] == ["pass", "pass"]
    assert result.labelled == 6000 and result.pairs == 6000 and result.rows == 12000
    for g in result.gates:  # identical predictions: Δ is exactly 0 on every request
        assert g.estimate == 0 and g.lower == 0 and g.upper == 0 and g.bound == -0.02


def test_a_clearly_worse_canary_is_rolled_back_and_the_cli_exits_1(tmp_path, fitted, live):
    ws = workspace(tmp_path, candidate="worse", fitted=fitted)
    write_log(ws, shadow_rows(live, "worse"))
    code, data = cli(ws)
    assert code == 1 and data["verdict"] == "rollback" and data["action"] == "rollback"
    gates = {g["metric"]: g for g in data["gates"]}
    assert gates["accuracy"]["outcome"] == "fail" and gates["accuracy"]["upper"] < -0.02
    # The estimate is the plain difference of the two models' accuracies on the labelled pairs.
    t = live
    acc = lambda p: float(((p >= 0.5).astype(int) == t.y).mean())  # noqa: E731
    assert gates["accuracy"]["estimate"] == pytest.approx(acc(t.proba["worse"].round(6)) - acc(t.proba["production"].round(6)))
    assert gates["accuracy"]["candidate"] == pytest.approx(acc(t.proba["worse"].round(6)))
    assert data["applied"] is None  # not asked to apply
    assert json.loads((ws / "models" / "registry" / "registry.json").read_text())["aliases"] == {"production": 1, "canary": 2}


def test_before_min_rows_the_judge_says_continue(tmp_path, fitted, live):
    ws = workspace(tmp_path, candidate="worse", min_rows=1000, fitted=fitted)
    write_log(ws, shadow_rows(live, "worse", stop=999))
    code, data = cli(ws)
    assert (code, data["verdict"]) == (0, "continue")
    assert "999 of the 1,000" in data["reasons"][0]


def test_a_log_appended_between_runs_moves_continue_to_promote_and_reruns_agree(tmp_path, fitted, live):
    ws = workspace(tmp_path, fitted=fitted)
    write_log(ws, shadow_rows(live, "same", stop=300))
    assert judge(ws).verdict == "continue"
    write_log(ws, shadow_rows(live, "same", start=300, stop=3000), "part-001.csv")
    first, second = judge(ws), judge(ws)
    assert first.verdict == "promote" and to_dict(first) == to_dict(second)


def test_unlabelled_requests_count_only_for_the_guardrail(tmp_path, fitted, live):
    ws = workspace(tmp_path, candidate="worse", fitted=fitted, extra="  guardrails: {disagreement: 0.05}\n")
    write_log(ws, shadow_rows(live, "worse", stop=2000, labelled=False))
    result = judge(ws)
    assert result.labelled == 0 and result.pairs == 2000
    guard = result.guardrails[0]
    rate = float(((live.proba["worse"][:2000].round(6) >= 0.5) != (live.proba["production"][:2000].round(6) >= 0.5)).mean())
    assert guard.rate == pytest.approx(rate) and rate > 0.2
    assert guard.tripped and result.verdict == "rollback" and "guardrail disagreement" in result.reasons[0]


def test_split_mode_compares_the_two_arms(tmp_path, fitted, live):
    ws = workspace(tmp_path, mode="split", candidate="worse", fitted=fitted)
    log = split_rows(live, "worse")
    write_log(ws, log)
    result = judge(ws)
    assert result.verdict == "rollback"
    acc = {v: float((g["prediction"] == g["label"]).mean()) for v, g in log.groupby("model_version")}
    gate = next(g for g in result.gates if g.metric == "accuracy")
    assert gate.estimate == pytest.approx(acc[2] - acc[1]) and gate.candidate == pytest.approx(acc[2])


def test_split_mode_with_an_equally_good_canary_never_rolls_back(tmp_path, fitted, live):
    ws = workspace(tmp_path, mode="split", fitted=fitted)
    write_log(ws, split_rows(live, "same"))
    assert judge(ws).verdict in ("promote", "continue")


def test_applying_moves_the_aliases_once(tmp_path, fitted, live):
    ws = workspace(tmp_path, fitted=fitted)
    write_log(ws, shadow_rows(live, "same"))
    first = judge(ws, apply=True)
    assert first.applied["changed"] and first.applied["production"] == 2
    index = json.loads((ws / "models" / "registry" / "registry.json").read_text())
    assert index["aliases"] == {"production": 2, "previous": 1}
    assert index["audit"][-1]["action"] == "canary-promote"
    again = judge(ws, apply=True)  # the canary alias is gone: nothing to judge, nothing moved
    assert again.verdict == "none" and again.applied is None
    assert json.loads((ws / "models" / "registry" / "registry.json").read_text()) == index


def test_expiry_rolls_back_unless_configured_otherwise(tmp_path, fitted, live):
    ws = workspace(tmp_path, fitted=fitted, min_rows=500, max_days=1)
    write_log(ws, shadow_rows(live, "same", stop=200))  # undecided: below min_rows
    later = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    result = judge(ws, now=later, apply=True)
    assert result.verdict == "expired" and result.action == "rollback"
    index = json.loads((ws / "models" / "registry" / "registry.json").read_text())
    assert index["aliases"] == {"production": 1}
    assert index["audit"][-1]["action"] == "canary-expired"


def test_expired_with_on_expired_promote(tmp_path, fitted, live):
    ws = workspace(tmp_path / "w", fitted=fitted, max_rows=600, extra="  on_expired: promote\n  guardrails: {}\n",
                   candidate="worse", min_rows=500)
    # Worse by a little in truth, but undecided at 600 rows? Use the twin with a superior gate instead.
    policy = (ws / ".github" / "mlgate.yml").read_text().replace(
        "- {metric: accuracy, rule: non_inferior, margin: 0.02}", "- {metric: accuracy, rule: superior}").replace(
        "- {metric: log_loss, rule: non_inferior, margin: 0.02}\n", "")
    (ws / ".github" / "mlgate.yml").write_text(policy)
    log = shadow_rows(live, "worse")
    log.loc[log["model_version"] == 2, ["prediction", "score"]] = log.loc[log["model_version"] == 1, ["prediction", "score"]].to_numpy()
    write_log(ws, log)
    code, data = cli(ws)
    assert data["verdict"] == "expired" and data["action"] == "promote" and code == 1
    assert data["labelled"] == 600  # judged at the budget, not past it


def test_the_report_shows_the_intervals_and_a_chart(tmp_path, fitted, live):
    ws = workspace(tmp_path, candidate="worse", fitted=fitted)
    write_log(ws, shadow_rows(live, "worse"))
    text = render_markdown(judge(ws))
    assert text.startswith("<!-- mlgate:canary -->") and "**rollback**" in text
    assert "candidate version 2 from #7 against production version 1" in text
    assert text.count("```mermaid") == 2 and "xychart-beta" in text
    assert "| accuracy non_inferior |" in text


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.assign(label=np.where(np.isin(np.arange(len(f)), [4, 5]), 7, f["label"])),
     "line 7: column label: 7 is not one of the classes"),
    (lambda f: f.assign(label=np.where(np.arange(len(f)) == 5, 7, f["label"])), "line 7 and .* line 6: the two rows of "
                                                                               "request 'r2' carry different labels"),
    (lambda f: f.assign(score=np.where(np.arange(len(f)) == 3, np.nan, f["score"])), "no score on a labelled row"),
])
def test_bad_rows_are_named(tmp_path, fitted, live, mutate, message):
    ws = workspace(tmp_path, fitted=fitted)
    frame = mutate(shadow_rows(live, "same", stop=800).sort_values(["ts", "model_version"], kind="stable")
                   .reset_index(drop=True))
    write_log(ws, frame)
    code, _ = cli(ws)
    assert code == 2
    with pytest.raises(InputError, match=message):
        judge(ws)


def test_without_a_canary_section_the_judge_says_how_to_add_one(tmp_path, fitted):
    ws = workspace(tmp_path, fitted=fitted)
    text = (ws / ".github" / "mlgate.yml").read_text()
    (ws / ".github" / "mlgate.yml").write_text(text[: text.index("canary:")])
    with pytest.raises(ConfigError, match="no canary section"):
        judge(ws)


def test_no_canary_under_test_exits_0_with_nothing_to_judge(tmp_path, fitted, live):
    ws = workspace(tmp_path, fitted=fitted)
    write_log(ws, shadow_rows(live, "same", stop=100))
    FileRegistry(ws / "models" / "registry").end_canary(2, promote=False, by="t", reason="", action="canary-rollback")
    code, data = cli(ws)
    assert (code, data["verdict"]) == (0, "none")


# ------------------------------------------------------------------ what a cold attack found


def test_split_mode_needs_min_rows_in_each_arm(tmp_path, fitted, live):
    """A canary served a handful of requests, all correct, has no variance to speak of: it is
    not promoted on them however many rows production served."""
    ws = workspace(tmp_path, mode="split", candidate="worse", fitted=fitted, min_rows=500)
    log = split_rows(live, "worse", share=0.0, stop=2000)
    log.loc[:4, "model_version"] = 2
    log.loc[:4, "prediction"] = log.loc[:4, "label"]  # the canary's five rows: all correct
    write_log(ws, log)
    result = judge(ws)
    assert result.verdict == "continue" and all(g.outcome == "undecided" for g in result.gates)


def test_only_rows_since_the_canary_was_set_count(tmp_path, fitted, live):
    """Production's history before the canary, and rows an earlier spell of the same version
    left, are no evidence about this canary: they neither decide nor use up the budget."""
    ws = workspace(tmp_path, mode="split", candidate="worse", fitted=fitted, max_rows=3000,
                   set_at=pd.Timestamp("2026-11-20T00:00:00Z") + pd.Timedelta(days=3))
    old = split_rows(live, "same", stop=3000)  # days 0-2: before the canary was set
    write_log(ws, old)
    result = judge(ws, now=datetime(2026, 11, 23, 12, tzinfo=timezone.utc))
    assert (result.verdict, result.labelled, result.rows) == ("continue", 0, 0)
    assert result.started_at == "2026-11-23T00:00:00Z"


def test_the_coverage_guardrail_rolls_back_a_canary_that_skips_requests(tmp_path, fitted, live):
    ws = workspace(tmp_path, fitted=fitted, extra="  guardrails: {coverage: 0.95}\n")
    log = shadow_rows(live, "same")
    skipped = (log["model_version"] == 2) & (log.index % 10 < 3)  # no candidate row for 30 % of requests
    write_log(ws, log[~skipped])
    result = judge(ws)
    guard = result.guardrails[0]
    assert guard.name == "coverage" and guard.rate == pytest.approx(0.7, abs=0.01) and guard.tripped
    assert result.verdict == "rollback" and "guardrail coverage" in result.reasons[0]


def test_a_verdict_is_not_applied_to_a_canary_that_changed_since(tmp_path, fitted, live):
    ws = workspace(tmp_path, fitted=fitted)
    write_log(ws, shadow_rows(live, "same"))
    policy = load_policy(ws / ".github" / "mlgate.yml")
    registry = FileRegistry(ws / "models" / "registry")
    result = judge_canary(policy, ws, registry, now=NOW)
    assert result.verdict == "promote"
    third = ws / "third.bin"
    third.write_bytes(b"another candidate, merged while the judge ran")
    registry.promote(third, source="pr", by="merge", alias="canary")
    applied = apply_verdict(result, registry, by="test")
    assert applied.applied["changed"] is False and "now holds version 3" in applied.applied["skipped"]
    assert json.loads((ws / "models" / "registry" / "registry.json").read_text())["aliases"] == {"production": 1, "canary": 3}
