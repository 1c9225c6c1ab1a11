"""The ``mlgate`` command line.

One error boundary (``main``) maps every failure to the exit codes of DESIGN.md: mlgate's own
errors carry their code, click's usage errors are 2, anything else is a bug and exits 3 with
one line (the traceback only with ``--debug``). Exit 1 means "blocked" or "inconclusive" and
nothing else.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import shlex
import sys
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import __version__
from ..gates.errors import InputError, MlgateError
from ..gates.escape import log_text

from .cli_options import DEFAULT_CONFIG, DEFAULT_OUT, debug_option, report_dir, who, workspace_options, workspace_policy

if TYPE_CHECKING:
    from ..gates.result import Result

# The interpreter's last collections at exit walk every object the imports made (numpy, pandas,
# scipy, scikit-learn): 0.3-0.4 s of CPU after the work is done. Frozen, they are skipped.
atexit.register(gc.freeze)

# Heavy imports (numpy, pandas, scipy, scikit-learn) happen inside the commands that need them,
# so that `mlgate --help` and `mlgate <command> --help` start at once.

EXIT_OK, EXIT_BLOCK, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings can quote what a model file says about itself (scikit-learn's version warning
    quotes the artifact's recorded version verbatim): in a workflow log a line of it could be
    read as a workflow command, so every warning is printed as one escaped line."""
    text = log_text(f"{category.__name__}: {message}")
    try:
        (file or sys.stderr).write(f"mlgate: warning: {text}\n")
    except (OSError, ValueError):
        pass


class _EscapedLastResort(logging.Handler):
    """Library log records that reach Python's last-resort handler, escaped the same way."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(log_text(self.format(record)) + "\n")
        except (OSError, ValueError):
            pass


class _PipeSafe:
    """Standard output that a reader may close early (``mlgate evaluate | head -1``): the first
    EPIPE points the descriptor at /dev/null and the rest is dropped, so the exit code stays the
    verdict's — a closed pipe never turns an approval into a failure."""

    def __init__(self, stream):
        self._stream = stream

    def _closed(self) -> None:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._closed()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._closed()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    shown, last_resort, stdout = warnings.showwarning, logging.lastResort, sys.stdout
    warnings.showwarning = _show_warning
    logging.lastResort = _EscapedLastResort(logging.WARNING)
    if stdout is not None and not isinstance(stdout, _PipeSafe):
        sys.stdout = _PipeSafe(stdout)
    try:
        code = _run(argv, debug)
        sys.stdout.flush()
    finally:
        warnings.showwarning, logging.lastResort = shown, last_resort
        sys.stdout = stdout
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _run(argv: list[str], debug: bool) -> int:
    try:
        code = cli.main(args=argv, prog_name="mlgate", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("mlgate: aborted", err=True)
        code = EXIT_INTERNAL
    except click.UsageError as exc:
        exc.show()
        code = EXIT_INPUT
    except click.ClickException as exc:  # would exit 1 ("blocked") if left to click
        click.echo(f"mlgate: error: {exc.format_message()}", err=True)
        code = EXIT_INPUT
    except MlgateError as exc:
        if debug:
            traceback.print_exc()
        click.echo(_redact(f"mlgate: error: {exc}"), err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("mlgate: interrupted", err=True)
        code = EXIT_INTERNAL
    except Exception as exc:  # a bug: one line, never a bare traceback, never exit 1
        if debug:
            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        click.echo(_redact(f"mlgate: internal error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)"),
                   err=True)
        code = EXIT_INTERNAL
    return code


def _redact(text: str) -> str:
    """The token never appears in what mlgate prints, whatever the error carried, and no line of
    it can be read as a workflow command (an error may quote a PR's file or type names)."""
    from ..gates.escape import log_text

    for name in ("INPUT_GITHUB_TOKEN", "GITHUB_TOKEN"):
        token = os.environ.get(name, "").strip()
        if len(token) >= 4:
            text = text.replace(token, "***")
    return "\n".join(log_text(line) for line in text.splitlines())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlgate")
def cli() -> None:
    """Decide whether a candidate ML model may replace the production model.

    Both models are scored on the same holdout and compared with paired statistical tests;
    exit 0 approves (or first model), 1 blocks or is inconclusive, 2 is bad input, 3 an internal failure.
    """


@cli.command("evaluate")
@workspace_options
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help=f"Where result.json, report.md, report.html and junit.xml go [default: {DEFAULT_OUT} inside the "
                   "workspace].")
@click.option("--candidate", type=click.Path(dir_okay=False), default=None,
              help="Candidate model (.skops, .onnx, XGBoost .json/.ubj, LightGBM .txt) or predictions file, instead "
                   "of the policy's.")
@click.option("--production", default=None,
              help="Production model: a path, a registry version or alias, or 'none'.")
@click.option("--data", type=click.Path(dir_okay=False), default=None, help="Holdout file, instead of the policy's.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default=None, help="Where rows are scored.")
@click.option("--scheduler", default=None, help="Dask scheduler address (with --engine dask).")
@click.option("--trust-pickle", is_flag=True, help="Allow .pkl/.joblib models (they can run code when loaded).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print result.json to standard output.")
@debug_option
def evaluate_command(config, workspace, out, candidate, production, data, engine, scheduler, trust_pickle, quiet,
                     as_json, debug) -> int:
    """Score the candidate and production models on the holdout and apply the gates."""
    from ..gates.engine import Overrides, evaluate
    from ..gates.outputs import write_outputs
    from ..gates.result import dumps, to_dict

    policy, workspace = workspace_policy(config, workspace)
    if (engine or policy.engine) == "dask" and not (scheduler or policy.scheduler):
        raise InputError("--scheduler: the Dask engine needs a scheduler address (--scheduler ADDR or engine.scheduler)")
    from .settings import untrusted_environment

    if os.environ.get("GITHUB_ACTIONS") == "true" and policy.candidate.train is not None and not candidate:
        # In a workflow the same rule as the action's build job: PR code never beside a credential.
        from .trust import holdout_secret_variables
        from .safety import reachable_credentials

        found = reachable_credentials(workspace, dict(os.environ), holdout_secret_variables(policy))
        if found:
            raise InputError(f"candidate.train: the train command runs PR code, and this job could hand it a "
                             f"credential: {'; '.join(found)}. Train only in a job without them (README: the "
                             "build-then-judge split)")
    overrides = Overrides(
        candidate=Path(candidate) if candidate else None, production=production,
        data=Path(data) if data else None, trust_pickle=trust_pickle, train_env=untrusted_environment(), engine=engine, scheduler=scheduler,
        env=dict(os.environ),  # a sealed holdout's credential (only ${MLGATE_*} names are looked up)
    )
    progress = None if (quiet or as_json) else _progress
    from .registries import production_registry

    registry = production_registry(policy, workspace, production=production)  # None unless production is in one
    result = evaluate(policy, workspace, overrides, progress=progress, registry=registry)
    written = write_outputs(result, report_dir(out, workspace), candidate_path=result.candidate_file)
    if as_json:
        click.echo(dumps(to_dict(result)), nl=False)
    elif not quiet:
        print_verdict(result, written)
    return result.decision.exit_code


@cli.command("promote")
@workspace_options
@click.option("--candidate", type=click.Path(dir_okay=False), default=None, help="Model to promote (default: the policy's).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Where a matching result.json is reused from, and the promoted one (with the reports when "
                   f"evaluated here) is written [default: {DEFAULT_OUT} inside the workspace].")
@click.option("--force", is_flag=True, help="Promote even though the gate blocks (needs --reason).")
@click.option("--reason", default="", help="Why; recorded in the registry's audit log.")
@click.option("--by", default=None, help="Who promotes (default: the login name).")
@click.option("--trust-pickle", is_flag=True, help="Allow .pkl/.joblib models.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@debug_option
def promote_command(config, workspace, candidate, out, force, reason, by, trust_pickle, quiet, debug) -> int:
    """Promote the candidate into the registry if the gate approves (or --force --reason)."""
    from ..gates.engine import Overrides
    from ..gates.promotion import load_result, promote, write_promotion
    from .registries import open_registry

    policy, workspace = workspace_policy(config, workspace)
    registry = open_registry(policy, workspace)
    overrides = Overrides(candidate=Path(candidate) if candidate else None, trust_pickle=trust_pickle,
                          env=dict(os.environ))
    out = report_dir(out, workspace)
    outcome = promote(policy, workspace, registry, overrides, by=who(by), force=force, reason=reason,
                      previous_result=load_result(out / "result.json"),
                      progress=None if quiet else _progress)
    if outcome.unchanged:
        if not quiet:
            click.echo(f"mlgate: nothing changed: the candidate already is version {outcome.version.version}, "
                       f"{outcome.alias}, in {registry.describe()}")
        return 0
    written = write_promotion(outcome, out)
    if not quiet:
        how = "reused the matching result.json" if outcome.reused_result else "evaluated first"
        forced = " (forced)" if outcome.forced else ""
        click.echo(f"mlgate: promoted version {outcome.version.version} to {outcome.alias}{forced} "
                   f"in {registry.describe()} ({how}; decision {outcome.result['decision']}); "
                   f"result: {written['result.json']}")
    return 0


@cli.command("rollback")
@workspace_options
@click.option("--to", "to", type=int, default=None,
              help="Version to restore (default: one step back along the production history).")
@click.option("--reason", default="", help="Why; recorded in the audit log.")
@click.option("--by", default=None, help="Who rolls back (default: the login name).")
@debug_option
def rollback_command(config, workspace, to, reason, by, debug) -> int:
    """Move production one step back along its history, or to --to N.

    The history is the sequence of versions production held (promotions, canary promotions,
    rollbacks) that still stand: each rollback undoes one promotion and the version rolled
    away from leaves the history, so a second rollback goes one further back, never forward
    again. --to N jumps to version N (nothing changes if it already is production). At the
    start of the history there is no earlier version: exit 2.
    """
    from .registries import open_registry

    policy, workspace = workspace_policy(config, workspace)
    registry = open_registry(policy, workspace)
    done = registry.rollback(to, by=who(by), reason=reason)
    click.echo(f"mlgate: {done.summary(registry.describe())}")
    return 0


@cli.command("seal")
@click.argument("src", type=click.Path(dir_okay=False))
@click.option("--out", "dst", type=click.Path(dir_okay=False), required=True,
              help="The sealed file to write and commit, e.g. data/holdout.csv.sealed.")
@click.option("--new-key", is_flag=True, help="Make a fresh key, seal with it and print it on standard output.")
@click.option("--key-env", default="MLGATE_HOLDOUT_KEY", show_default=True,
              help="Environment variable holding the key (without --new-key).")
@debug_option
def seal_command(src, dst, new_key, key_env, debug) -> int:
    """Encrypt holdout SRC so that only a job holding the key can read it.

    \b
      mlgate seal holdout.csv --out data/holdout.csv.sealed --new-key
      MLGATE_HOLDOUT_KEY=... mlgate seal holdout.csv --out data/holdout.csv.sealed

    Store the key as a secret of a GitHub environment whose deployment branches are the default
    branch only, give it to the judge job as MLGATE_HOLDOUT_KEY, commit the sealed file (never
    SRC) and set `data: {holdout: data/holdout.csv.sealed, key: "${MLGATE_HOLDOUT_KEY}"}`.
    The key is printed only with --new-key, alone on standard output.
    """
    from ..gates.paths import sha256_file
    from ..gates.holdout.sealing import new_key as make_key, seal_file

    if new_key:
        key, where = make_key(), "the new key"
    else:
        key, where = os.environ.get(key_env, ""), f"${key_env}"
        if not key.strip():
            raise InputError(f"--key-env: environment variable {key_env} is not set; pass --new-key to make a key")
    seal_file(Path(src), Path(dst), key, key_source=where)
    click.echo(f"mlgate: sealed {src} into {dst}; pin it with data.sha256: {sha256_file(Path(src))}", err=True)
    if new_key:
        click.echo(key)
    return 0


@cli.command("demo")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="New directory for the demo workspace.")
@click.option("--scenario", type=click.Choice(["better", "worse", "first"]), default="better", show_default=True,
              help="better approves, worse blocks, first has no production model.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@debug_option
def demo_command(out, scenario, quiet, debug) -> int:
    """Build an example workspace from scikit-learn's bundled data and evaluate it."""
    from ..gates.config.parse import load_policy
    from ..gates.demo import build
    from ..gates.engine import evaluate
    from ..gates.outputs import write_outputs

    progress = None if quiet else _progress
    workspace = build(Path(out), scenario)
    if progress:
        progress(f"demo workspace ({scenario}) written to {workspace}")
    policy = load_policy(workspace / DEFAULT_CONFIG, source=DEFAULT_CONFIG)
    result = evaluate(policy, workspace, progress=progress)
    written = write_outputs(result, workspace / DEFAULT_OUT, candidate_path=result.candidate_file)
    if not quiet:
        print_verdict(result, written)
        click.echo(f"try: mlgate evaluate --workspace {shlex.quote(str(workspace))}")
    return result.decision.exit_code


@cli.command("action")
@debug_option
def action_command(debug) -> int:
    """Run as a GitHub Action: the event, inputs and token come from the environment.

    Pull requests are evaluated under the base branch's policy and get one sticky report
    comment and a check run; PR comments starting with /mlgate are commands.
    """
    if not os.environ.get("GITHUB_EVENT_NAME") and os.environ.get("GITHUB_ACTIONS") != "true":
        raise InputError("mlgate action runs inside a GitHub Actions job (it reads the event from GITHUB_EVENT_NAME "
                         "and GITHUB_EVENT_PATH); from a terminal use mlgate evaluate (or canary, drift, promote)")
    from .runner import run
    from .settings import from_environment

    return run(from_environment(), github_forge, log=click.echo, debug=debug)


def github_forge(settings):
    """PyGithub is imported when a job first talks to GitHub; an ignored event never does."""
    from .github_api import GitHubForge

    return GitHubForge(settings)


def _progress(message: str) -> None:
    from .terminal import progress

    progress(message)


def print_verdict(result: "Result", written: dict[str, Path]) -> None:
    from .terminal import print_verdict as show

    show(result, written)


from .cli_canary import canary_command  # noqa: E402  (registered on the group defined above)

cli.add_command(canary_command)

from .cli_retrain import retrain_command  # noqa: E402

cli.add_command(retrain_command)

from .cli_drift import drift_command  # noqa: E402
from .cli_registry import registry_group  # noqa: E402

cli.add_command(drift_command)
cli.add_command(registry_group)

if __name__ == "__main__":  # pragma: no cover
    main()
