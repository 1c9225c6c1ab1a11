"""``mlgate drift``: the drift watch from a terminal or a scheduled job. Exit 0 no drift,
1 drift, 2 bad input, 3 failure."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .cli_canary import parse_now
from .cli_options import debug_option, workspace_options, workspace_policy

DEFAULT_DRIFT_OUT = "mlgate-drift"


@click.command("drift")
@workspace_options
@click.option("--out", type=click.Path(file_okay=False), default=DEFAULT_DRIFT_OUT, show_default=True,
              help="Where drift.json, drift.md and drift.html go.")
@click.option("--now", default=None, help="The window's end as ISO 8601 (default: now).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print drift.json to standard output.")
@debug_option
def drift_command(config, workspace, out, now, quiet, as_json, debug) -> int:
    """Compare a recent window of production inputs with the reference (the holdout).

    Per feature a distance with an interval; a feature drifts when the interval's lower end is
    above the threshold (Holm across features). Exit 0 no drift, 1 drift.
    """
    from .. import __version__
    from ..gates.drift.report import to_dict, write_drift_outputs
    from ..gates.result import dumps
    from ..gates.drift.watch import watch_drift
    from .registries import production_registry

    policy, workspace = workspace_policy(config, workspace)
    target = Path(out)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        from ..gates.errors import InputError

        raise InputError(f"--out: {out} is a symbolic link or not a directory; mlgate writes only into a real "
                         "directory")
    registry = production_registry(policy, workspace)
    result = watch_drift(policy, workspace, registry=registry, env=dict(os.environ), now=parse_now(now))
    written = write_drift_outputs(result, Path(out), mlgate_version=__version__)
    if as_json:
        click.echo(dumps(to_dict(result, mlgate_version=__version__)), nl=False)
    elif not quiet:
        from ..gates.escape import log_text

        click.echo(f"mlgate drift: {'DRIFT' if result.drift else 'no drift'} "
                   f"({result.current['rows']:,} current rows against {result.reference['rows']:,})")
        for reason in result.reasons:
            click.echo(f"  - {log_text(reason)}")
        click.echo(f"  report: {written['drift.md']} and {written['drift.html']}")
    return 1 if result.drift else 0
