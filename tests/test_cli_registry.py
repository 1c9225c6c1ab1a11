"""``mlgate registry audit`` prints every move the registry recorded; ``mlgate action`` outside
GitHub says what to run instead."""

from __future__ import annotations

import json

import pytest

from mlgate.action.cli import main
from mlgate.gates.demo import build
from mlgate.gates.registry.file import FileRegistry


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def test_registry_audit_prints_each_move_oldest_first(tmp_path, capsys):
    ws = build(tmp_path / "demo", "better")
    registry = FileRegistry(ws / "models" / "registry")
    registry.promote(ws / "build" / "model.skops", source="cli", by="alice", reason="better on the holdout")
    registry.rollback(by="bob", reason="paged at 3 am")
    code, out, _ = run(capsys, "registry", "audit", "--workspace", str(ws))
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(registry.audit()) == 5  # add 1, production 1, add 2, promote, rollback
    assert lines[-2].split("\t")[1:] == ["promote", "production 1 -> 2", "alice", "better on the holdout"]
    assert lines[-1].split("\t")[1:] == ["rollback", "production 2 -> 1", "bob", "paged at 3 am"]
    assert lines[0].split("\t")[1:3] == ["add", "version 1"]
    code, out, _ = run(capsys, "registry", "audit", "--workspace", str(ws), "--json")
    assert code == 0 and json.loads(out) == registry.audit()


def test_action_outside_github_says_to_use_evaluate(capsys, monkeypatch):
    for name in ("GITHUB_EVENT_NAME", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, "action")
    assert code == 2 and "from a terminal use mlgate evaluate" in err
