"""Options and helpers every ``mlgate`` command shares, in a module of their own so commands
can live beside the code they drive (``cli_canary``) without importing ``cli``."""

from __future__ import annotations

from pathlib import Path

import click

from ..gates.errors import InputError

DEFAULT_CONFIG = ".github/mlgate.yml"


DEFAULT_OUT = "mlgate-report"  # inside the workspace


def report_dir(out: str | None, workspace: Path) -> Path:
    """``--out``, else ``mlgate-report`` inside the workspace: where ``evaluate`` writes and a
    later ``promote`` of the same workspace looks for the result to reuse."""
    return Path(out) if out else Path(workspace) / DEFAULT_OUT


def debug_option(f):
    return click.option("--debug", is_flag=True, help="Show tracebacks on errors.")(f)


def workspace_options(f):
    f = click.option("--workspace", type=click.Path(file_okay=False), default=".", show_default=True,
                     help="Directory the policy's paths are relative to.")(f)
    return click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
                        help=f"Policy file (default: {DEFAULT_CONFIG} under the workspace).")(f)


def workspace_policy(config, workspace):
    """The policy and the workspace a command runs on; a missing workspace is a usage error."""
    from ..gates.config.parse import load_policy

    workspace = Path(workspace)
    if not workspace.is_dir():
        raise InputError(f"--workspace: directory {str(workspace)!r} not found")
    path = Path(config) if config else workspace / DEFAULT_CONFIG
    return load_policy(path, source=str(config) if config else DEFAULT_CONFIG), workspace


def who(by: str | None) -> str:
    if by:
        return by
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "cli"
