"""A time limit on privileged jobs (``limits.evaluate_s``), enforced from outside.

A candidate is PR-made: a tiny artifact (a 1-nearest-neighbour model over millions of rows)
can keep the privileged job busy for hours. The limit covers the whole privileged job —
downloading the artifact, scoring, publishing — so set it with room for all of it. A timer inside the process cannot stop a model
that is inside one long C call, so the privileged work runs in a child process (the same
``mlgate action``, marked as supervised) in its own process group, and this parent — which
never loads a PR file — kills the whole group at the deadline, then says so where the job was
asked (a reply, the check, the PR) and exits 3.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Callable

from ..gates.errors import MlgateError

from .events import Trigger
from .forge import Forge
from .settings import Settings

SUPERVISED = "MLGATE_SUPERVISED"
DEFAULT_LIMIT_S = 1800.0
SUPERVISED_KINDS = ("publish", "merge", "comment", "dispatch", "schedule")


def needs_supervision(trigger: Trigger) -> bool:
    return trigger.kind in SUPERVISED_KINDS and os.environ.get(SUPERVISED) != "1"


def limit_for(settings: Settings, trigger: Trigger, forge_factory) -> float:
    """The base branch's ``limits.evaluate_s``: privileged jobs check out the base branch,
    except after a merge, whose checkout holds the PR's own policy — then the policy as it was
    before the merge (``base.sha``), as promotion reads it. The default when it cannot be read
    (the child will report why)."""
    from ..gates.config.parse import load_policy, parse_policy

    try:
        if trigger.kind == "merge" and trigger.base_sha:
            text = forge_factory(settings).file_at(settings.config, trigger.base_sha)
            if text is not None:
                return parse_policy(text, settings.config).evaluate_s
        policy = load_policy(settings.workspace / settings.config, source=settings.config)
        train = policy.candidate.train
        if settings.command == "retrain" and train is not None:
            return policy.evaluate_s + train.timeout_s  # retrain trains (trusted code), then evaluates
        return policy.evaluate_s
    except MlgateError:
        return DEFAULT_LIMIT_S


def supervise(settings: Settings, trigger: Trigger, forge_factory: Callable[[Settings], Forge],
              log: Callable[[str], None], *, debug: bool = False) -> int:
    limit = limit_for(settings, trigger, forge_factory)
    # -P: the working directory (the repository) is not put on sys.path, so a `gates/` or
    # `action/` folder in it can neither shadow mlgate nor run inside this privileged job.
    argv = [sys.executable, "-P", "-m", "mlgate", "action"] + (["--debug"] if debug else [])
    # Everything the child writes to the temporary directory (a sealed holdout's plaintext)
    # lives in a directory of its own, removed here however the child ends, even when killed.
    private = tempfile.mkdtemp(prefix="mlgate-job-")
    sys.stdout.flush()
    sys.stderr.flush()
    child = subprocess.Popen(argv, env={**os.environ, SUPERVISED: "1", "TMPDIR": private}, cwd=os.getcwd(),
                             start_new_session=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: (_kill_group(child), sys.exit(3)))  # a cancelled job
    try:
        code = child.wait(timeout=limit)
        if code >= 0:
            return code
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        # Killed outright (out of memory, a segfault in a model's native code): the child could
        # not say so itself, and its check is still "in progress".
        message = f"the privileged job died from signal {name} (out of memory, or a crash in a model's native code)"
    except subprocess.TimeoutExpired:
        _kill_group(child)
        message = (f"the privileged job did not finish within limits.evaluate_s = {limit:g} s and was stopped "
                   "(a candidate that is too slow to score, or a limit too low for this holdout)")
    except BaseException:
        _kill_group(child)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(private, ignore_errors=True)
    _say_failed(settings, trigger, forge_factory, message, log)
    from ..gates.errors import InfrastructureError

    raise InfrastructureError(message)


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    child.wait()


def _say_failed(settings: Settings, trigger: Trigger, forge_factory, message: str, log) -> None:
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
                                title="mlgate could not evaluate", summary=f"mlgate: {message}.", existing=check)
        pr = trigger.pr
        if pr is None and trigger.kind == "publish" and trigger.head_label and trigger.head_sha:
            pr = forge.find_pull(trigger.head_label, trigger.head_sha)
        if pr is not None:
            forge.create_comment(pr, f"mlgate: {message}.")
    except MlgateError as exc:
        log(f"mlgate: could not report the failure on GitHub ({settings.redact(str(exc))[:200]})")
