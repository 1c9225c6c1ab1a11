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

from typing import Callable

from .canary import on_schedule
from .comments import on_comment
from .deadline import needs_supervision, supervise
from .dispatch import on_dispatch
from .events import Trigger, load_payload, parse_trigger
from .forge import Forge
from .promoting import on_merge
from .publish import Publication
from .pulls import on_gate_run, on_pull_request
from .settings import Settings

ForgeFactory = Callable[[Settings], Forge]
Handler = Callable[[Settings, Trigger, ForgeFactory, Publication], int]


def ignore(settings: Settings, trigger: Trigger, forge_factory: ForgeFactory, pub: Publication) -> int:
    """An event mlgate does not act on: say why, touch nothing on GitHub, exit 0."""
    pub.say(f"mlgate: nothing to do: {trigger.why_ignored}")
    return 0


HANDLERS: dict[str, Handler] = {
    "ignore": ignore,
    "evaluate": on_pull_request,  # pull_request: the build job, or the one-job setup with a token
    "publish": on_gate_run,  # workflow_run after the build: the judge
    "comment": on_comment,  # issue_comment with /mlgate on a pull request
    "merge": on_merge,  # pull_request_target closed and merged: promotion
    "dispatch": on_dispatch,  # workflow_dispatch
    "schedule": on_schedule,  # schedule: the canary judge (command: canary)
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
