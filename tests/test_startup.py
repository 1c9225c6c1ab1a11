"""A job imports the numerical stack only when it scores something.

Every comment on a pull request starts the comment workflow, and most are no command; a
privileged job's parent only supervises the child that does the work (action/deadline.py).
Neither needs numpy's stack, which is about a second of CPU to import: each runs in a fresh
interpreter here and lists what it imported. (benchmarks/bench_startup.py has the timings.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "tests" / "fixtures" / "github-events"
HEAVY = ("pandas", "scipy", "sklearn", "pyarrow", "skops", "jinja2")

PROBE = """
import json, os, sys
sys.path.insert(0, {tests!r})
from fake_github import FakeGitHub
from mlgate.action.cli import main
with FakeGitHub() as gh:
    gh.add_token("ghs_startup_token", login="github-actions[bot]")
    gh.add_repo("chmouel/scratchmyback")
    gh.add_pull("chmouel/scratchmyback", 1, "1b2c3d4e5f60718293a4b5c6d7e8f90112233445", user="chmouel")
    gh.add_comment("chmouel/scratchmyback", 1, {body!r}, user="chmouel", id=840508083)
    os.environ["GITHUB_API_URL"] = gh.url
    try:
        main(["action"])
    except SystemExit as exc:
        code = exc.code
    replies = [c["body"] for c in gh.issue_comments("chmouel/scratchmyback", 1) if c["user"] == "github-actions[bot]"]
print(json.dumps({{"code": code, "replies": replies,
                  "loaded": sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))}}))
"""


def action_in_a_fresh_interpreter(tmp_path: Path, body: str, *, supervised: bool = False) -> dict:
    event = json.loads((EVENTS / "issue_comment.created.on-pull-request.json").read_text())
    event["comment"]["body"] = body
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    (tmp_path / "ws").mkdir()
    env = {**os.environ, "GITHUB_EVENT_NAME": "issue_comment", "GITHUB_EVENT_PATH": str(path),
           "GITHUB_REPOSITORY": "chmouel/scratchmyback", "GITHUB_WORKSPACE": str(tmp_path / "ws"),
           "INPUT_GITHUB_TOKEN": "ghs_startup_token", "MLGATE_WRITE_INTERVAL": "0"}
    env.pop("MLGATE_SUPERVISED", None)
    if supervised:  # as the child that a privileged job's parent starts
        env["MLGATE_SUPERVISED"] = "1"
    probe = PROBE.format(tests=str(REPO / "tests"), body=body, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_comment_that_is_no_command_imports_nothing_numerical(tmp_path):
    run = action_in_a_fresh_interpreter(tmp_path, "/retest")
    assert run["code"] == 0 and run["replies"] == []
    assert run["loaded"] == []


@pytest.mark.parametrize("supervised", [False, True], ids=["parent", "child"])
def test_mlgate_help_imports_nothing_numerical(tmp_path, supervised):
    """/mlgate help is a privileged kind: a parent supervises the child that replies."""
    run = action_in_a_fresh_interpreter(tmp_path, "/mlgate help", supervised=supervised)
    assert run["code"] == 0 and len(run["replies"]) == 1 and "/mlgate run" in run["replies"][0]
    assert run["loaded"] == []
