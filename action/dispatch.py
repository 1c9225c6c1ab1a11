"""``workflow_dispatch``: a maintainer's button, in a privileged job.

``command: evaluate`` (or ``auto``) evaluates what was checked out — never training, never
unpickling — and publishes only outputs and the job summary. Any other command runs as its
comment would, with the dispatching user as the actor and the ``pr``, ``reason`` and
``version`` inputs as its arguments; its reply goes to the PR when there is one, and the
job's exit code is the reply's.
"""

from __future__ import annotations

from typing import Callable

from ..gates.engine import evaluate
from ..gates.errors import ConfigError

from . import commands
from .canary import judge_job
from .comments import execute
from .events import Trigger
from .forge import Forge
from .publish import Publication, publish
from .registries import production_registry
from .drift import drift_job
from .retrain import on_retrain
from .settings import Settings
from .trust import job_overrides, workspace_policy


def on_dispatch(settings: Settings, trigger: Trigger, forge_factory: Callable[[Settings], Forge],
                pub: Publication) -> int:
    command = settings.command
    if command in ("auto", "evaluate"):
        # A privileged job: evaluate what was checked out, never train, never unpickle.
        policy = workspace_policy(settings)
        result = evaluate(policy, settings.workspace, job_overrides(settings, allow_train=False, trust_pickle=False),
                          registry=production_registry(policy, settings.workspace, settings, production=settings.production or None))
        return publish(settings, None, None, result, None, pub)
    if command == "drift":
        return drift_job(settings, pub)
    if command == "retrain":  # train, gate, open or update the retrain pull request (forced by a reason)
        return on_retrain(settings, trigger, forge_factory, pub)
    forge = forge_factory(settings)
    if command == "canary":
        return judge_job(settings, trigger, forge, pub)
    argument = settings.version if command == "rollback" else settings.reason if command == "override" else ""
    if trigger.pr is None and command != "rollback":
        raise ConfigError(f"input pr: command {command} on workflow_dispatch needs the pull request number")
    parsed = commands.parse(f"/mlgate {command} {argument}".strip())
    if command == "override" and parsed.error:
        raise ConfigError("input reason: a dispatched override takes the commit it overrides, then the reason "
                          "(`<sha> <reason>`, as in the comment command)")
    if command == "override":
        outcome = execute(settings, forge, trigger.pr, trigger.actor, parsed, pub.outputs, via="dispatch")
    else:
        outcome = execute(settings, forge, trigger.pr, trigger.actor, parsed, pub.outputs,
                          request=f"run {settings.run_id}" if settings.run_id else None)  # a re-run: the same id
    if trigger.pr is not None:
        forge.create_comment(trigger.pr, outcome.text)
    pub.say(f"mlgate: {command}: {outcome.text}")
    return outcome.code
