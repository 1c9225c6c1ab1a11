"""``mlgate action``: one GitHub event, one handler, one publication.

The event is reduced to a ``Trigger`` (``events``); its kind picks the handler from
``HANDLERS``. Privileged kinds (a comment, a judge, a merge, a dispatch) first go through the
deadline: the parent starts the same ``mlgate action`` as a supervised child and kills it at
``limits.evaluate_s``, so the handler runs in the child. Whatever the handler does, the
outputs and the job summary are written once at the end.

Where each concern lives:

- ``pulls``: the build job, the one-job evaluation and the judge of a build (workflow_run);
- ``comments``: slash commands from PR comments (and their execution for dispatches);
- ``promoting``: promotion of a PR's candidate (on merge or by command) and rollback;
- ``dispatch``: workflow_dispatch;
- ``canary``: the canary judge on schedule or dispatch (``command: canary``);
- ``trust``: the base policy, protected files, what a PR changed, what a job hands PR code;
- ``publish`` and ``sticky``: outputs, the job summary, the check and the one report comment.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

from .deadline import needs_supervision, supervise
from .events import Trigger, load_payload, parse_trigger
from .forge import Forge
from .publish import Publication
from .settings import Settings

ForgeFactory = Callable[[Settings], Forge]
Handler = Callable[[Settings, Trigger, ForgeFactory, Publication], int]


def ignore(settings: Settings, trigger: Trigger, forge_factory: ForgeFactory, pub: Publication) -> int:
    """An event mlgate does not act on: say why, touch nothing on GitHub, exit 0."""
    pub.say(f"mlgate: nothing to do: {trigger.why_ignored}")
    return 0


def imported(module: str, name: str) -> Handler:
    """A handler imported when it runs. The handlers import numpy, pandas, scipy and scikit-learn
    (about a second of CPU); an ignored event, a comment that is no command, ``/mlgate help`` and
    the parent that only supervises a privileged child need none of them."""

    def handler(settings: Settings, trigger: Trigger, forge_factory: ForgeFactory, pub: Publication) -> int:
        return getattr(import_module(module, __package__), name)(settings, trigger, forge_factory, pub)

    handler.__name__ = handler.__qualname__ = name
    return handler


HANDLERS: dict[str, Handler] = {
    "ignore": ignore,
    "evaluate": imported(".pulls", "on_pull_request"),  # pull_request: the build job, or the one-job setup with a token
    "publish": imported(".pulls", "on_gate_run"),  # workflow_run after the build: the judge
    "comment": imported(".comments", "on_comment"),  # issue_comment with /mlgate on a pull request
    "merge": imported(".promoting", "on_merge"),  # pull_request_target closed and merged: promotion
    "dispatch": imported(".dispatch", "on_dispatch"),  # workflow_dispatch
    "schedule": imported(".canary", "on_schedule"),  # schedule: the canary judge (command: canary)
}


def run(settings: Settings, forge_factory: ForgeFactory, log: Callable[[str], None] = print, *,
        debug: bool = False) -> int:
    """Handle the event ``settings`` names; the exit code of ``mlgate action``."""
    payload = load_payload(settings.event_path)
    trigger = parse_trigger(settings.event_name, payload, bot_login=settings.bot_login, dispatch_pr=settings.pr)
    if needs_supervision(trigger):  # privileged work runs in a child killed at limits.evaluate_s
        return supervise(settings, trigger, forge_factory, log, debug=debug)
    handler = HANDLERS[trigger.kind]
    pub = Publication(settings, log=log)
    try:
        return handler(settings, trigger, forge_factory, pub)
    finally:
        pub.flush()
