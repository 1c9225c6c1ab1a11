"""Promotion and rollback from the terminal, train commands, and crash safety of the registry."""

from __future__ import annotations

import json
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from mlgate.gates.registry.file import FileRegistry
from mlgate.gates.result import schema_path

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(tmp_path, run_cli):
    def make(scenario="better"):
        ws = tmp_path / scenario
        assert run_cli("demo", "--out", ws, "--scenario", scenario, "--quiet").code in (0, 1)
        return ws

    return make


def registry_state(ws: Path) -> dict:
    return json.loads((ws / "models" / "registry" / "registry.json").read_text())


def test_promote_then_evaluate_compares_against_the_new_production_then_rollback(demo, run_cli):
    ws = demo("better")
    out = ws / "mlgate-report"
    promoted = run_cli("promote", "--workspace", ws, "--out", out, "--by", "alice", "--reason", "better AUC")
    assert promoted.code == 0, promoted.err
    assert "promoted version 2" in promoted.out and "reused the matching result.json" in promoted.out
    state = registry_state(ws)
    assert state["aliases"] == {"production": 2, "previous": 1}
    assert state["versions"][1]["promoted_by"] == "alice" and state["versions"][1]["reason"] == "better AUC"
    assert (ws / "models" / "registry" / "versions" / "2" / "result.json").is_file()

    evaluated = run_cli("evaluate", "--workspace", ws, "--out", ws / "again", "--json")
    result = json.loads(evaluated.out)
    assert result["production"]["version"] == 2
    assert result["production"]["sha256"] == result["candidate"]["sha256"], "production is now the candidate"

    listed = run_cli("registry", "list", "--workspace", ws)
    lines = listed.out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "2"]
    assert lines[0].split("\t")[4] == "previous" and lines[1].split("\t")[4] == "production"
    shown = json.loads(run_cli("registry", "show", "2", "--workspace", ws).out)
    assert shown["aliases"] == ["production"] and shown["metrics"]["accuracy min"] > 0.9

    rolled = run_cli("rollback", "--workspace", ws, "--by", "bob", "--reason", "regression")
    assert rolled.code == 0 and "production is now version 1 (was 2)" in rolled.out
    assert "it is the start of the production history" in rolled.out
    assert registry_state(ws)["aliases"] == {"production": 1}, "version 2 was rolled away from: not previous"
    again = run_cli("rollback", "--workspace", ws, "--by", "bob")
    assert again.code == 2 and "no earlier production version: version 1 is the start" in again.err, again.err
    assert registry_state(ws)["aliases"] == {"production": 1}
    jumped = run_cli("rollback", "--workspace", ws, "--to", "2", "--by", "bob")
    assert jumped.code == 0 and "production is now version 2 (was 1)" in jumped.out
    assert "the next rollback goes to version 1" in jumped.out
    same = run_cli("rollback", "--workspace", ws, "--to", "2", "--by", "bob")
    assert same.code == 0 and "nothing changed: production already is version 2" in same.out


def test_promote_refuses_a_block_unless_forced_with_a_reason(demo, run_cli):
    ws = demo("worse")
    refused = run_cli("promote", "--workspace", ws, "--out", ws / "mlgate-report")
    assert refused.code == 1 and "refusing to promote: the gate blocks" in refused.err
    assert registry_state(ws)["aliases"] == {"production": 1}
    no_reason = run_cli("promote", "--workspace", ws, "--force")
    assert no_reason.code == 2 and "--force needs --reason" in no_reason.err
    forced = run_cli("promote", "--workspace", ws, "--force", "--reason", "hotfix approved by the board", "--by", "cto")
    assert forced.code == 0 and "(forced)" in forced.out
    state = registry_state(ws)
    assert state["aliases"]["production"] == 2
    assert state["versions"][1]["reason"] == "forced: hotfix approved by the board"
    # The result stored with the version, and the one written to --out, record the force.
    stored = (ws / "models" / "registry" / "versions" / "2" / "result.json").read_bytes()
    assert (ws / "mlgate-report" / "result.json").read_bytes() == stored
    result = json.loads(stored)
    assert result["decision"] == "block" and result["overridden"] is None
    assert (result["forced"]["by"], result["forced"]["reason"]) == ("cto", "hotfix approved by the board")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["forced"]["at"])
    jsonschema.validate(result, json.loads(schema_path().read_text()))


def test_promote_evaluates_when_the_stored_result_does_not_match(demo, run_cli):
    ws = demo("better")
    result_path = ws / "mlgate-report" / "result.json"
    data = json.loads(result_path.read_text())
    data["config_sha256"] = "0" * 64  # describes another policy: must not be trusted
    data["decision"] = "block"
    result_path.write_text(json.dumps(data))
    (ws / "mlgate-report" / "report.md").unlink()
    promoted = run_cli("promote", "--workspace", ws, "--out", ws / "mlgate-report", "--by", "alice")
    assert promoted.code == 0 and "evaluated first" in promoted.out
    # --out receives the new result (the one the registry stored) and its reports, as its help says.
    assert f"result: {result_path}" in promoted.out
    written = json.loads(result_path.read_text())
    assert written["config_sha256"] != "0" * 64 and written["decision"] == "approve"
    assert result_path.read_bytes() == (ws / "models" / "registry" / "versions" / "2" / "result.json").read_bytes()
    assert "forced" not in written, "an approved promotion records no force"
    assert (ws / "mlgate-report" / "report.md").is_file(), "evaluated here: its reports are written beside it"


def test_identical_artifact_is_not_stored_twice(demo, run_cli):
    ws = demo("better")
    assert run_cli("promote", "--workspace", ws, "--by", "a").code == 0
    before = registry_state(ws)
    written = (ws / "mlgate-report" / "result.json").read_bytes()
    again = run_cli("promote", "--workspace", ws, "--by", "a")
    assert again.code == 0 and again.out.startswith("mlgate: nothing changed: the candidate already is version 2, "
                                                    "production"), again.out
    assert registry_state(ws) == before, "no new version, no audit entry"
    assert (ws / "mlgate-report" / "result.json").read_bytes() == written, "nothing written"


def test_evaluate_and_promote_default_to_a_report_folder_inside_the_workspace(demo, run_cli, tmp_path, monkeypatch):
    """`mlgate evaluate --workspace W` writes W/mlgate-report (not the current directory), and
    `mlgate promote --workspace W` reuses the result found there."""
    ws = demo("better")
    shutil.rmtree(ws / "mlgate-report")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_cli("evaluate", "--workspace", ws, "--quiet").code == 0
    assert (ws / "mlgate-report" / "result.json").is_file() and list(elsewhere.iterdir()) == []
    promoted = run_cli("promote", "--workspace", ws, "--by", "alice")
    assert promoted.code == 0 and "reused the matching result.json" in promoted.out, promoted.out
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("command, message", [
    ("exit 3", "exited 3"),
    ("sleep 5", "timed out after 0.5 s"),
    ("true", "did not write build/new.skops"),
    ("echo building; echo 'ValueError: bad feature' >&2; exit 1", "ValueError: bad feature"),
])
def test_train_command_failures_are_clear(demo, run_cli, command, message):
    ws = demo("better")
    policy = (ws / ".github" / "mlgate.yml").read_text().replace(
        "  path: build/model.skops\n", f'  train: {{command: "{command}", output: build/new.skops, timeout_s: 0.5}}\n')
    (ws / ".github" / "mlgate.yml").write_text(policy)
    result = run_cli("evaluate", "--workspace", ws, "--quiet")
    assert result.code == 2 and message in result.err, result.err


def test_train_command_builds_the_candidate(demo, run_cli):
    ws = demo("better")
    policy = (ws / ".github" / "mlgate.yml").read_text().replace(
        "  path: build/model.skops\n",
        f'  train: {{command: "{sys.executable} train.py --scenario better --out {{output}}", output: build/new.skops}}\n')
    (ws / ".github" / "mlgate.yml").write_text(policy)
    result = run_cli("evaluate", "--workspace", ws, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["candidate"]["source"] == "build/new.skops"


CRASHER = """
import sys, itertools
from pathlib import Path
from mlgate.gates.registry import FileRegistry
registry = FileRegistry(Path(sys.argv[1]))
models = [Path(p) for p in sys.argv[2:]]
for i in itertools.count():
    m = models[i % len(models)]
    registry.promote(m, source=m.name, by="crasher", reason=str(i))
    if i % 3 == 2:
        registry.rollback(by="crasher")
"""


def test_sigkill_at_random_points_never_corrupts_the_registry(tmp_path):
    """A promoting process killed at random moments leaves a readable registry whose aliases
    point at versions whose artifacts exist and match their SHA-256."""
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    models = []
    for i in range(4):
        path = tmp_path / f"m{i}.skops"
        sio.dump(LogisticRegression(C=10.0 ** (i - 2)).fit(X, y), path)
        models.append(str(path))
    root = tmp_path / "registry"
    FileRegistry(root, create=True)
    chooser = random.Random(1)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(root), *models], cwd=REPO,
                                env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
        time.sleep(0.4 + chooser.random() * 0.6)  # after the imports, somewhere inside the loop
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        registry = FileRegistry(root)
        index = registry.index()  # parses: never half-written
        numbers = {v["version"] for v in index["versions"]}
        for alias, number in index["aliases"].items():
            assert number in numbers, f"{alias} points at missing version {number}"
            registry.fetch(registry.get(number))  # exists and matches its SHA-256
    assert len(numbers) == 4, "identical artifacts are never stored twice"


def test_promote_reads_a_sealed_holdout_with_the_key_from_the_environment(cancer_workspace, run_cli, tmp_path, monkeypatch):
    """The result.json being reused names the decrypted holdout's SHA-256: promote can only match
    it by decrypting with the key the CLI hands over from the environment, and without the key
    it stops (exit 2) before touching the registry."""
    import hashlib

    from mlgate.gates.config.parse import load_policy
    from mlgate.gates.paths import sha256_file
    from mlgate.gates.holdout.sealing import new_key, seal_file
    from workspaces import CANCER_POLICY

    ws = cancer_workspace.root
    key = new_key()
    plain = ws / "data" / "holdout.csv"
    seal_file(plain, ws / "data" / "holdout.csv.sealed", key)
    cancer_workspace.policy(CANCER_POLICY.replace(
        "holdout: data/holdout.csv", 'holdout: data/holdout.csv.sealed\n  key: "${MLGATE_HOLDOUT_KEY}"'))
    policy = load_policy(ws / ".github" / "mlgate.yml")
    registry = FileRegistry(ws / "models" / "registry")
    result = {"decision": "approve", "reasons": [], "gates": [], "overridden": None, "config_sha256": policy.sha256,
              "candidate": {"sha256": sha256_file(ws / "build" / "model.skops")},
              "production": {"sha256": registry.resolve("production").sha256},
              "data": {"sha256": hashlib.sha256(plain.read_bytes()).hexdigest(), "sealed": True}}
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "result.json").write_text(json.dumps(result))
    before = (ws / "models" / "registry" / "registry.json").read_bytes()

    monkeypatch.delenv("MLGATE_HOLDOUT_KEY", raising=False)
    refused = run_cli("promote", "--workspace", ws, "--out", tmp_path / "o", "--by", "alice")
    assert refused.code == 2 and "data.key: environment variable MLGATE_HOLDOUT_KEY is not set" in refused.err
    assert (ws / "models" / "registry" / "registry.json").read_bytes() == before

    monkeypatch.setenv("MLGATE_HOLDOUT_KEY", key)
    promoted = run_cli("promote", "--workspace", ws, "--out", tmp_path / "o", "--by", "alice")
    assert promoted.code == 0, promoted.err
    assert "reused the matching result.json" in promoted.out and key not in promoted.out + promoted.err
