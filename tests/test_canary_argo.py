"""The Argo Rollouts analysis template's job script, run for real against canary workspaces:
a job-provider measurement succeeds on exit 0 and fails otherwise, so the script must wait out
``continue`` and exit 0 only on promote."""

from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from canary_logs import RECENT, shadow_rows, workspace, write_log

TEMPLATE = Path(__file__).resolve().parents[1] / "examples" / "argo" / "analysis-template.yaml"


def job_script(tmp: Path, ws: Path) -> tuple[str, dict]:
    spec = yaml.safe_load(TEMPLATE.read_text())
    container = spec["spec"]["metrics"][0]["provider"]["job"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "-c"]
    script = container["args"][0].replace("/tmp/", f"{tmp}/").replace("/policy", str(ws))
    bin_dir = Path(sys.executable).parent  # mlgate and python, as in the image
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "MLGATE_POLL_S": "0"}
    return script, env




@pytest.mark.parametrize("candidate, code", [("same", 0), ("worse", 1)])
def test_the_job_exits_by_the_verdict(tmp_path, fitted, live, candidate, code):
    if shutil.which("sh") is None:
        pytest.skip("no POSIX shell")
    ws = workspace(tmp_path / "ws", set_at=RECENT - pd.Timedelta(hours=1), candidate=candidate, fitted=fitted)
    write_log(ws, shadow_rows(live, candidate, seconds=1, t0=RECENT))
    script, env = job_script(tmp_path, ws)
    done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stderr
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert verdict["verdict"] == ("promote" if code == 0 else "rollback")
    assert verdict["applied"] is None  # Argo moves the traffic: the registry is left alone


def test_the_job_waits_out_continue(tmp_path, fitted, live):
    """Below min_rows the judge says continue; the script looks again (here: after a log is
    appended by a second process) instead of passing the measurement."""
    ws = workspace(tmp_path / "ws", set_at=RECENT - pd.Timedelta(hours=1), fitted=fitted, min_rows=1000)
    write_log(ws, shadow_rows(live, "same", stop=200, seconds=1, t0=RECENT))
    script, env = job_script(tmp_path, ws)
    env["MLGATE_POLL_S"] = "1"
    job = subprocess.Popen(["/bin/sh", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            job.wait(timeout=4)  # still looking
        write_log(ws, shadow_rows(live, "same", start=200, seconds=1, t0=RECENT), "part-001.csv")
        assert job.wait(timeout=60) == 0
    finally:
        job.kill()
