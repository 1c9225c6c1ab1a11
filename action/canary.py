"""The canary judge in a workflow: ``command: canary`` on ``schedule`` or ``workflow_dispatch``.

A privileged job on the default branch's checkout: it reads the prediction log, loads no
model and runs no code from a pull request. It applies the verdict to the registry by default
(input ``apply``), writes ``mlgate-canary/`` and the job summary, sets the ``verdict`` output,
and keeps one sticky comment on the pull request that introduced the candidate (the registry
version's ``pr``), marked apart from the gate's report comment.
"""

from __future__ import annotations

import os
from typing import Callable

from ..gates.canary.judge import apply_verdict, judge_canary
from ..gates.canary.report import MARKER, render_markdown, write_canary_outputs
from ..gates.errors import ConfigError, InfrastructureError
from ..gates.report import COMMENT_LIMIT, trim_markdown

from .cli_canary import EXIT_BY_VERDICT
from .events import Trigger
from .forge import Forbidden, Forge
from .publish import Publication
from .registries import open_registry
from .drift import drift_job
from .retrain import on_retrain
from .settings import Settings
from .trust import workspace_policy

CANARY_DIR = "mlgate-canary"


def on_schedule(settings: Settings, trigger: Trigger, forge_factory: Callable[[Settings], Forge],
                pub: Publication) -> int:
    if settings.command == "retrain":  # on drift: train, gate, open or update the retrain pull request
        return on_retrain(settings, trigger, forge_factory, pub)
    if settings.command == "drift":  # the watch alone: report, no training
        return drift_job(settings, pub)
    if settings.command != "canary":
        pub.say("mlgate: nothing to do: a scheduled run acts only with command: canary (the canary judge), drift "
                "or retrain")
        return 0
    return judge_job(settings, trigger, forge_factory(settings), pub)


def judge_job(settings: Settings, trigger: Trigger, forge: Forge, pub: Publication) -> int:
    from .. import __version__

    policy = workspace_policy(settings)
    out = settings.workspace / CANARY_DIR
    if out.is_symlink() or (out.exists() and not out.is_dir()):  # checked before anything moves
        raise ConfigError(f"{CANARY_DIR}: is a symbolic link or not a directory; mlgate writes only into a real "
                          "directory of the workspace")
    registry = open_registry(policy, settings.workspace, settings)
    # The log's database URL may name ${MLGATE_*} variables (the reader looks up no others).
    result = judge_canary(policy, settings.workspace, registry, env=dict(os.environ))
    if settings.apply:
        result = apply_verdict(result, registry, by=trigger.actor or "schedule", alias=policy.production.alias)
    written = write_canary_outputs(result, out, mlgate_version=__version__)
    body = render_markdown(result)
    pub.summary.append(body)
    pub.outputs.update(verdict=result.verdict, report_path=str(written["canary.md"]),
                       result_path=str(written["canary.json"]))
    if result.applied and result.applied["action"] == "promote" and not result.applied.get("skipped"):
        pub.outputs["promoted_version"] = str(result.applied["production"])
    pr = (result.candidate or {}).get("pr")
    if settings.comment and isinstance(pr, int) and result.verdict != "none":
        try:
            ref = sticky_canary_comment(forge, pr, trim_markdown(body, COMMENT_LIMIT), settings.bot_login)
            pub.outputs["comment_url"] = ref.url
        except Forbidden as exc:
            pub.warn_unpublished("comment on the candidate's pull request", exc)
        except InfrastructureError as exc:  # the registry may have moved already: say so, do not fail
            pub.warn(f"could not comment on #{pr} ({exc}); the verdict is in the job summary and outputs")
    pub.say(f"mlgate: canary {result.verdict}: {result.reasons[0] if result.reasons else ''}")
    code = EXIT_BY_VERDICT[result.verdict]
    return code if settings.fail_on_block else 0


def sticky_canary_comment(forge: Forge, pr: int, body: str, bot_login: str):
    """One canary comment per pull request, edited in place on every run: the bot's comment
    that *starts* with the marker (the gate's report may quote the marker inside a fence)."""
    found = [c for c in forge.find_comments(pr, MARKER, bot_login) if c.body.startswith(MARKER)]
    existing = min(found, key=lambda c: c.id) if found else None
    return forge.edit_comment(existing.id, body) if existing else forge.create_comment(pr, body)
