"""``mlgate canary``: judge the canary on live traffic from a terminal, a cron job or an Argo
Rollouts analysis job. Exit 0 promote or continue (or nothing to judge), 1 rollback or expired,
2 bad input, 3 failure (a database that is down)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..gates.errors import InputError
from .cli_options import debug_option, who, workspace_options, workspace_policy

DEFAULT_CANARY_OUT = "mlgate-canary"
EXIT_BY_VERDICT = {"promote": 0, "continue": 0, "none": 0, "rollback": 1, "expired": 1}


def parse_now(text: str | None):
    """``--now``: the judge's clock, for reproducing a past run (max_days counts from it)."""
    from datetime import datetime, timezone

    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--now: {text!r} is not an ISO 8601 time (e.g. 2026-12-04T15:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@click.command("canary")
@workspace_options
@click.option("--out", type=click.Path(file_okay=False), default=DEFAULT_CANARY_OUT, show_default=True,
              help="Where canary.json and canary.md go.")
@click.option("--apply", "apply_", is_flag=True,
              help="Move the registry's aliases as the verdict says (promote: production ← canary; rollback or "
                   "expired: canary cleared).")
@click.option("--by", default=None, help="Who applies (default: the login name); recorded in the audit log.")
@click.option("--now", default=None, help="The judge's clock as ISO 8601 (default: now), to reproduce a past run.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print canary.json to standard output.")
@debug_option
def canary_command(config, workspace, out, apply_, by, now, quiet, as_json, debug) -> int:
    """Judge the canary on the prediction log with anytime-valid confidence sequences.

    Recomputes from the whole log on every run (no hidden state). The verdict is promote,
    rollback, continue or expired; exit 0 for promote and continue, 1 for rollback and expired.
    """
    from .. import __version__
    from ..gates.canary.judge import apply_verdict, judge_canary
    from ..gates.canary.report import to_dict, write_canary_outputs
    from ..gates.result import dumps
    from .registries import open_registry

    policy, workspace = workspace_policy(config, workspace)
    registry = open_registry(policy, workspace)
    result = judge_canary(policy, workspace, registry, env=dict(os.environ), now=parse_now(now))
    if apply_:
        result = apply_verdict(result, registry, by=who(by), alias=policy.production.alias)
    write_canary_outputs(result, Path(out), mlgate_version=__version__)
    if as_json:
        click.echo(dumps(to_dict(result, mlgate_version=__version__)), nl=False)
    elif not quiet:
        show(result, Path(out))
    return EXIT_BY_VERDICT[result.verdict]


def show(result, out: Path) -> None:
    from ..gates.escape import log_text
    from ..gates.report.numbers import fmt

    click.echo(f"mlgate canary: {result.verdict.upper()} ({result.mode}, {result.labelled:,} judged units)")
    for reason in result.reasons:
        click.echo(f"  - {log_text(reason)}")
    for g in result.gates:
        interval = "undefined" if g.lower is None else f"[{fmt(g.lower)}, {fmt(g.upper)}]"
        click.echo(f"  {log_text(g.name)}: Δ {fmt(g.estimate)}, interval {interval}, bound {fmt(g.bound)}: {g.outcome}")
    if result.applied and result.applied.get("skipped"):
        click.echo(f"  registry: not applied: {log_text(result.applied['skipped'])}")
    elif result.applied:
        click.echo(f"  registry: {result.applied['action']} "
                   f"{'applied' if result.applied['changed'] else 'already applied'}")
    elif result.action:
        click.echo(f"  not applied (pass --apply to {'roll back' if result.action == 'rollback' else 'promote'})")
    click.echo(f"  report: {out / 'canary.md'}")
