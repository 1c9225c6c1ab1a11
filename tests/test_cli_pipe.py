"""A reader that closes the pipe early (``mlgate evaluate | head -1``) must not change the exit
code: it is the verdict's, never 1 ("blocked") or a crash's."""

from __future__ import annotations

import subprocess
import sys

from mlgate.gates.demo import build


def test_a_closed_pipe_keeps_the_verdicts_exit_code(tmp_path):
    ws = build(tmp_path / "demo", "better")
    command = [sys.executable, "-m", "mlgate", "evaluate", "--workspace", str(ws), "--out", str(tmp_path / "out"),
               "--production", "none"]  # first-model: exit 0; progress and the verdict table on stdout
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # the reader is gone before mlgate writes a line (head -1 after its line)
    code = reader.wait(timeout=120)
    stderr = reader.stderr.read().decode()
    assert code == 0, stderr
    assert "BrokenPipe" not in stderr and "internal error" not in stderr
    assert (tmp_path / "out" / "result.json").is_file()
