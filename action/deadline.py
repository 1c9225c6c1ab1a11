"""A time limit on privileged jobs (``limits.evaluate_s``), enforced from outside.

A candidate is PR-made: a tiny artifact (a 1-nearest-neighbour model over millions of rows)
can keep the privileged job busy for hours. A timer inside the process cannot stop a model
that is inside one long C call, so the privileged work runs in a child process (the same
``mlgate action``, marked as supervised) in its own process group, and this parent — which
never loads a PR file — kills the whole group at the deadline, then says so where the job was
asked (a reply, the check, the PR) and exits 3.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Callable

from gates.errors import MlgateError

from .events import Trigger
from .forge import Forge
from .settings import Settings

SUPERVISED = "MLGATE_SUPERVISED"
DEFAULT_LIMIT_S = 1800.0
SUPERVISED_KINDS = ("publish", "merge", "comment", "dispatch")


def needs_supervision(trigger: Trigger) -> bool:
    return trigger.kind in SUPERVISED_KINDS and os.environ.get(SUPERVISED) != "1"


def limit_for(settings: Settings) -> float:
    """The base branch's ``limits.evaluate_s`` (privileged jobs check out the base branch);
    the default when the policy cannot be read — the child will report why."""
    from gates.config import load_policy

    try:
        policy = load_policy(settings.workspace / settings.config, source=settings.config)
    except MlgateError:
        return DEFAULT_LIMIT_S
    return float(getattr(policy, "evaluate_s", None) or DEFAULT_LIMIT_S)


def supervise(settings: Settings, trigger: Trigger, forge_factory: Callable[[Settings], Forge],
              log: Callable[[str], None], *, debug: bool = False) -> int:
    limit = limit_for(settings)
    argv = [sys.executable, "-m", "action", "action"] + (["--debug"] if debug else [])
    sys.stdout.flush()
    sys.stderr.flush()
    child = subprocess.Popen(argv, env={**os.environ, SUPERVISED: "1"}, cwd=os.getcwd(), start_new_session=True)
    try:
        return child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(child)
    except BaseException:
        _kill_group(child)
        raise
    message = (f"the privileged evaluation did not finish within limits.evaluate_s = {limit:g} s and was stopped "
               "(a candidate that is too slow to score, or a limit too low for this holdout)")
    _say_timed_out(settings, trigger, forge_factory, message, log)
    from gates.errors import InfrastructureError

    raise InfrastructureError(message)


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    child.wait()


def _say_timed_out(settings: Settings, trigger: Trigger, forge_factory, message: str, log) -> None:
    """Best effort: the job fails with exit 3 whatever GitHub answers."""
    try:
        forge = forge_factory(settings)
        if trigger.kind == "comment" and trigger.command is not None:
            forge.create_comment(trigger.pr, f"@{trigger.actor} `/mlgate {trigger.command.name}` failed: {message}.")
            forge.react(trigger.comment_id, "confused")
            return
        if trigger.kind == "publish" and trigger.head_sha:
            check = forge.find_check(settings.check_name, trigger.head_sha)
            forge.publish_check(settings.check_name, trigger.head_sha, conclusion="failure",
                                title="mlgate: evaluation timed out", summary=f"mlgate: {message}.", existing=check)
        pr = trigger.pr
        if pr is None and trigger.kind == "publish" and trigger.head_label and trigger.head_sha:
            pr = forge.find_pull(trigger.head_label, trigger.head_sha)
        if pr is not None:
            forge.create_comment(pr, f"mlgate: {message}.")
    except MlgateError as exc:
        log(f"mlgate: could not report the time-out on GitHub ({settings.redact(str(exc))[:200]})")
