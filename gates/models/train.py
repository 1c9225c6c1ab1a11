"""Run a policy's train command: PR code, so it gets a fixed time, a clean slate, and no heirs.

* The output file is removed first, so a command that writes nothing cannot leave an earlier
  run's model to be evaluated (and approved) in its place.
* The command runs in its own session with the environment the caller gives (the action passes
  one without tokens; it also refuses to train at all where a token is reachable).
* When it ends — normally, by failing or by timing out — every process it started is killed:
  its session's group, and any descendant that left the group (a ``setsid`` daemon) and was
  handed to us as an orphan (mlgate is made a child subreaper on Linux). Nothing it leaves
  behind can rewrite the holdout, the registry or the report while the gate reads them.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
import shlex
import signal
import subprocess
import tempfile
import time

from ..errors import ModelError

PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37


TAIL_LINES = 20


def run_train(command: str, output: Path, output_label: str, *, cwd: Path, timeout_s: float,
              env: dict | None) -> None:
    """Run ``command`` (``{output}`` replaced by the quoted ``output_label``) to write ``output``."""
    _remove_stale(output, output_label)
    text = command.replace("{output}", shlex.quote(output_label))
    before = _children()
    was_subreaper = _set_subreaper(True)
    with tempfile.TemporaryFile() as log:
        try:
            proc = subprocess.Popen(text, shell=True, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                _kill_everything_from(proc, keep=before)
        finally:
            if not was_subreaper:
                _set_subreaper(False)
        log.seek(0)
        tail = "\n".join(log.read().decode("utf-8", "replace").strip().splitlines()[-TAIL_LINES:])
    if code is None:
        raise ModelError(f"candidate.train.command: timed out after {timeout_s:g} s: {text}")
    if code != 0:
        raise ModelError(f"candidate.train.command: exited {code}: {text}\n{tail}")
    if not output.is_file():
        raise ModelError(f"candidate.train.output: the train command did not write {output_label}")


def _remove_stale(output: Path, label: str) -> None:
    try:
        if output.is_symlink() or output.is_file():
            output.unlink()
    except OSError as exc:
        raise ModelError(f"candidate.train.output: cannot remove the previous {label} before training ({exc})") from None
    if output.exists():
        raise ModelError(f"candidate.train.output: {label} exists and is not a file")


def _set_subreaper(on: bool) -> bool:
    """While training, orphans of the train command are re-parented to us instead of init, so
    we can find them. Returns whether we already were a subreaper (then it stays on)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        state = ctypes.c_int(0)
        libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(state), 0, 0, 0)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)
        return bool(state.value)
    except (OSError, AttributeError):  # not Linux: the session's group is still killed
        return False


def _kill_everything_from(proc: subprocess.Popen, *, keep: set[int]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    # Descendants that made their own session are orphans now, re-parented to us: kill and reap
    # them until none is left (each one killed can orphan its own children to us in turn).
    for _ in range(50):
        strays = _children() - keep
        if not strays:
            return
        for pid in strays:
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
        deadline = time.monotonic() + 2
        for pid in strays:
            while time.monotonic() < deadline:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if done:
                    break
                time.sleep(0.01)


def _children() -> set[int]:
    """Our direct children that are not threads of ours, from /proc (Linux); empty elsewhere."""
    me = os.getpid()
    found = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(me):
            found.add(int(entry))
    return found
