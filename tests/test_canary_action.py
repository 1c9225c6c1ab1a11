"""``command: canary`` in the action, in-process against the in-memory forge: the scheduled
judge applies its verdict to the registry, writes the job summary and the ``verdict`` output,
and keeps one sticky canary comment on the pull request that introduced the candidate."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from canary_logs import RECENT, shadow_rows, workspace, write_log
from memory_forge import BOT, MemoryForge
from mlgate.action.runner import run
from mlgate.action.settings import from_environment
from mlgate.gates.canary.report import MARKER
from mlgate.gates.report import MARKER as REPORT_MARKER

REPO = "octo/models"
PR = 7  # the canary's registry version records it (canary_logs.workspace)




@pytest.fixture
def forge():
    forge = MemoryForge(repository=REPO)
    forge.add_pull(PR, "a" * 40, base_sha="b" * 40)
    return forge


def action(tmp: Path, ws: Path, forge: MemoryForge, event: str, payload: dict, monkeypatch, **inputs: str):
    monkeypatch.setenv("MLGATE_SUPERVISED", "1")  # be the supervised child the parent would start
    paths = {n: tmp / f"{n}-{len(list(tmp.iterdir()))}" for n in ("event", "output", "summary")}
    paths["event"].write_text(json.dumps(payload))
    paths["output"].write_text("")
    paths["summary"].write_text("")
    env = {"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(paths["event"]),
           "GITHUB_WORKSPACE": str(ws), "GITHUB_OUTPUT": str(paths["output"]),
           "GITHUB_STEP_SUMMARY": str(paths["summary"]), "INPUT_GITHUB_TOKEN": "ghs_secret_token",
           **{f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
    log: list[str] = []
    code = run(from_environment(env), lambda settings: forge, log=log.append)
    outputs = dict(line.split("=", 1) for line in paths["output"].read_text().splitlines() if "=" in line)
    return code, outputs, paths["summary"].read_text(), log


def aliases(ws: Path) -> dict:
    return json.loads((ws / "models" / "registry" / "registry.json").read_text())["aliases"]


def test_a_scheduled_judge_promotes_comments_once_and_a_rerun_changes_nothing(tmp_path, forge, fitted, live, monkeypatch):
    ws = workspace(tmp_path / "ws", set_at=RECENT - pd.Timedelta(hours=1), fitted=fitted)
    write_log(ws, shadow_rows(live, "same", seconds=1, t0=RECENT))
    code, outputs, summary, log = action(tmp_path, ws, forge, "schedule", {"schedule": "*/30 * * * *"}, monkeypatch,
                                         command="canary")
    assert code == 0 and outputs["verdict"] == "promote" and outputs["promoted_version"] == "2"
    assert aliases(ws) == {"production": 2, "previous": 1}
    assert "**promote**" in summary and (ws / "mlgate-canary" / "canary.json").is_file()
    comments = forge.comments_by(BOT, PR)
    assert len(comments) == 1 and comments[0].body.startswith(MARKER) and REPORT_MARKER not in comments[0].body
    assert "Registry: promote applied; production is version 2, previous 1." in comments[0].body
    # The canary alias is gone now: the next scheduled run has nothing to judge and touches nothing.
    code, outputs, _, _ = action(tmp_path, ws, forge, "schedule", {"schedule": "*/30 * * * *"}, monkeypatch,
                                 command="canary")
    assert (code, outputs["verdict"]) == (0, "none") and aliases(ws) == {"production": 2, "previous": 1}
    assert len(forge.comments_by(BOT, PR)) == 1


def test_a_worse_canary_is_rolled_back_and_the_comment_is_edited_in_place(tmp_path, forge, fitted, live, monkeypatch):
    ws = workspace(tmp_path / "ws", set_at=RECENT - pd.Timedelta(hours=1), candidate="worse", fitted=fitted, min_rows=1000)
    write_log(ws, shadow_rows(live, "worse", stop=400, seconds=1, t0=RECENT))
    code, outputs, _, _ = action(tmp_path, ws, forge, "schedule", {}, monkeypatch, command="canary")
    assert (code, outputs["verdict"]) == (0, "continue") and aliases(ws) == {"production": 1, "canary": 2}
    write_log(ws, shadow_rows(live, "worse", start=400, seconds=1, t0=RECENT), "part-001.csv")
    code, outputs, _, _ = action(tmp_path, ws, forge, "schedule", {}, monkeypatch, command="canary")
    assert (code, outputs["verdict"]) == (1, "rollback") and aliases(ws) == {"production": 1}
    comments = forge.comments_by(BOT, PR)
    assert len(comments) == 1 and "**rollback**" in comments[0].body and forge.edits == 1


def test_fail_on_block_false_keeps_the_job_green_on_rollback(tmp_path, forge, fitted, live, monkeypatch):
    ws = workspace(tmp_path / "ws", set_at=RECENT - pd.Timedelta(hours=1), candidate="worse", fitted=fitted)
    write_log(ws, shadow_rows(live, "worse", seconds=1, t0=RECENT))
    code, outputs, _, _ = action(tmp_path, ws, forge, "schedule", {}, monkeypatch, command="canary",
                                 fail_on_block="false", apply="false", comment="false")
    assert (code, outputs["verdict"]) == (0, "rollback")
    assert aliases(ws) == {"production": 1, "canary": 2} and not forge.comments_by(BOT)


def test_a_schedule_without_command_canary_does_nothing(tmp_path, forge, fitted, live, monkeypatch):
    ws = workspace(tmp_path / "ws", set_at=RECENT - pd.Timedelta(hours=1), fitted=fitted)
    write_log(ws, shadow_rows(live, "same", seconds=1, t0=RECENT))
    code, outputs, _, log = action(tmp_path, ws, forge, "schedule", {}, monkeypatch)
    assert code == 0 and "verdict" not in outputs and aliases(ws) == {"production": 1, "canary": 2}
    assert any("command: canary" in line for line in log)


def test_dispatch_command_canary_judges_as_the_dispatching_user(tmp_path, forge, fitted, live, monkeypatch):
    ws = workspace(tmp_path / "ws", set_at=RECENT - pd.Timedelta(hours=1), fitted=fitted)
    write_log(ws, shadow_rows(live, "same", seconds=1, t0=RECENT))
    payload = json.loads((Path(__file__).parent / "fixtures" / "github-events" / "workflow_dispatch.json").read_text())
    code, outputs, _, log = action(tmp_path, ws, forge, "workflow_dispatch", payload, monkeypatch, command="canary")
    assert (code, outputs["verdict"]) == (0, "promote")
    audit = json.loads((ws / "models" / "registry" / "registry.json").read_text())["audit"]
    assert audit[-1]["by"] == payload["sender"]["login"] and audit[-1]["action"] == "canary-promote"
    assert not any("ghs_secret_token" in line for line in log)


def test_the_canary_comment_is_never_one_that_merely_quotes_its_marker(tmp_path, forge, fitted, live, monkeypatch):
    """The gate's report fences a PR's policy diff verbatim, so it can contain the canary's
    marker: only a bot comment that starts with it is the canary comment (found by a cold attack)."""
    ws = workspace(tmp_path / "ws", set_at=RECENT - pd.Timedelta(hours=1), fitted=fitted)
    write_log(ws, shadow_rows(live, "same", seconds=1, t0=RECENT))
    report = forge.create_comment(PR, f"{REPORT_MARKER}\n```diff\n+# {MARKER}\n```\n")
    code, outputs, _, _ = action(tmp_path, ws, forge, "schedule", {}, monkeypatch, command="canary")
    assert code == 0
    assert forge.posted[report.id].body.startswith(REPORT_MARKER)  # the gate's report untouched
    canary = [c for c in forge.comments_by(BOT, PR) if c.body.startswith(MARKER)]
    assert len(canary) == 1 and outputs["comment_url"] == canary[0].url
