"""``mlgate retrain``: the scheduled retrain from a terminal. On drift (or ``--force``) it trains
with the policy's train command, gates the new model, pushes a branch and opens — or updates —
the retrain pull request, with the gate's comment and check on it. It talks to GitHub, so it
needs GITHUB_REPOSITORY, GITHUB_TOKEN and (off github.com) GITHUB_API_URL. Exit 0 approved,
first model or no drift, 1 blocked or inconclusive (the pull request is still opened), 2 bad
input or a repository that does not let the token open pull requests, 3 failure."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path

import click

from ..gates.errors import InputError
from .cli_options import DEFAULT_CONFIG, debug_option, who, workspace_options

DEFAULT_RETRAIN_OUT = "mlgate-report"
COPIED = ("result.json", "report.md", "report.html", "junit.xml", "pull-request.md", "drift.md")


@click.command("retrain")
@workspace_options
@click.option("--out", type=click.Path(file_okay=False), default=DEFAULT_RETRAIN_OUT, show_default=True,
              help="Where result.json, report.md, report.html, junit.xml and pull-request.md go (they are "
                   "written under the workspace's mlgate-report/ first).")
@click.option("--force", is_flag=True, help="Retrain without running the drift watch.")
@click.option("--reason", default="", help="Why (with --force); shown in the pull request.")
@click.option("--by", default=None, help="Who asks (with --force; default: the login name).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@debug_option
def retrain_command(config, workspace, out, force, reason, by, quiet, debug) -> int:
    """On drift (or --force), retrain and propose the model as a pull request.

    Runs the policy's train command (without GitHub tokens in its environment), evaluates the
    new model against production, pushes it as one commit on mlgate/retrain-<date> on top of
    the default branch and opens the pull request (or updates the open one) with the drift
    report and the verdict, then posts the gate's report comment and check on it. Run it on the
    default branch's checkout: its train command is the code that is trusted.
    """
    from .github_api import GitHubForge
    from .cli_options import DEFAULT_OUT
    from .publish import Publication
    from .retrain import retrain
    from .settings import from_environment

    if reason and not force:
        raise InputError("--reason: only with --force (without it the drift watch decides)")
    missing = [name for name in ("GITHUB_REPOSITORY",) if not os.environ.get(name, "").strip()]
    if not (os.environ.get("GITHUB_TOKEN", "").strip() or os.environ.get("INPUT_GITHUB_TOKEN", "").strip()):
        missing.append("GITHUB_TOKEN")
    if missing:
        raise InputError(f"{' and '.join(missing)}: not set; mlgate retrain pushes a branch and opens a pull request, "
                         "so it needs GITHUB_REPOSITORY=owner/name, GITHUB_TOKEN (contents and pull-requests write) "
                         "and, off github.com, GITHUB_API_URL")
    workspace = Path(workspace)
    if not workspace.is_dir():
        raise InputError(f"--workspace: directory {str(workspace)!r} not found")
    settings = dataclasses.replace(from_environment(), workspace=workspace, command="retrain",
                                   config=str(Path(config).resolve()) if config else DEFAULT_CONFIG)
    pub = Publication(settings, log=(lambda _line: None) if quiet else click.echo)
    started = time.time()
    try:
        return retrain(settings, GitHubForge(settings), pub, force=force, reason=reason, actor=who(by))
    finally:
        pub.flush()
        copy_report(workspace / DEFAULT_OUT, Path(out), since=started)


def copy_report(written: Path, out: Path, *, since: float) -> None:
    """The report files this run wrote, where ``--out`` asks for them (when that is not where
    they were written); none when the run stopped before the gate (no drift, a failed train)."""
    fresh = [written / name for name in COPIED if (written / name).is_file() and (written / name).stat().st_mtime >= since]
    if not fresh or (out.exists() and out.resolve() == written.resolve()):
        return
    out.mkdir(parents=True, exist_ok=True)
    for path in fresh:
        shutil.copyfile(path, out / path.name)
