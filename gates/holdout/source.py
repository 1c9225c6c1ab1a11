"""Where the holdout's bytes are: a workspace file, an https URL, or a sealed holdout.

A sealed holdout is one a pull request's own code cannot read: an https source fetched with
headers whose ``${NAME}`` references are looked up in ``env``, or a file sealed by
``mlgate seal`` whose key is the variable ``data.key`` names. The secret lives in a GitHub
environment restricted to the default branch, so only the judge job has it.

``gates`` reads no environment variables: the caller passes ``env`` (the action and the CLI
pass the process environment). Secrets never appear in a message: every error raised while
reading a sealed holdout is checked for them, and they are replaced if found.

Where a sealed holdout's plaintext lives: never in the workspace and never in a cache a later
job could open (on a self-hosted runner the next job, maybe a pull request's build, runs as
the same user in the same directories). It is written to a fresh private directory (mode
0700, the file 0600) under the system temporary directory and removed when the process exits
(or by :meth:`HoldoutLocation.discard`). A sealed https download is therefore fetched again on
every run; an unsealed one is cached by its SHA-256 in ``cache_dir`` as before.
"""

from __future__ import annotations

import atexit
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
import shutil
import tempfile
from typing import Mapping

from ..config.spec import VARIABLE, VARIABLE_PREFIX, Policy
from ..errors import InfrastructureError, InputError, MlgateError
from ..paths import inside

SEALED_SUFFIX = ".sealed"


_JUDGE_ONLY = ("sealed holdouts are readable only in the judge job (a GitHub environment restricted "
               "to the default branch); a pull request's build job never has it")


@dataclass(frozen=True)
class HoldoutLocation:
    path: Path  # a local file to read
    label: str  # how the policy (or --data) names it, for messages and the result
    sealed: bool  # a credential from the environment was needed to read it
    private: bool = False  # ``path`` is a private copy that :meth:`discard` removes

    def discard(self) -> None:
        """Remove a private copy now rather than at process exit (no-op otherwise)."""
        if self.private:
            shutil.rmtree(self.path.parent, ignore_errors=True)


CACHE_DIR = ".mlgate-cache"  # under the workspace: downloaded holdouts, by SHA-256


def locate_holdout(policy: Policy, workspace: Path, *, data_override: Path | None,
                   env: Mapping[str, str] | None, cache_dir: Path | None = None) -> HoldoutLocation:
    """The holdout as a local file: ``--data`` as given, a workspace file, a downloaded URL,
    or the decrypted copy of a sealed file (see the module docstring for where it lives).

    Evaluation and promotion both find the holdout here, so the file a promotion checks a
    stored result against is the file an evaluation would read.
    """
    cache_dir = Path(workspace) / CACHE_DIR if cache_dir is None else cache_dir
    if data_override is not None:
        path = Path(data_override)
        if not path.is_file():
            raise InputError(f"--data: holdout file {str(data_override)!r} not found")
        return HoldoutLocation(path, str(data_override), sealed=False)
    spec = policy.data
    env = env or {}
    secrets: list[str] = []
    with _scrubbed(secrets):
        if spec.holdout.startswith("https://"):
            from .download import fetch

            headers = {name: _expand(text, env, f"data.headers.{name}", secrets) for name, text in spec.headers}
            if not secrets:
                return HoldoutLocation(fetch(spec.holdout, spec.sha256, Path(cache_dir), headers=headers),
                                       spec.holdout, sealed=False)
            with _private_dir() as folder:
                path = fetch(spec.holdout, spec.sha256, folder, headers=headers)
            return HoldoutLocation(path, spec.holdout, sealed=True, private=True)
        path = inside(workspace, spec.holdout, "data.holdout", what="holdout file")
        if spec.key_env is None:
            return HoldoutLocation(path, spec.holdout, sealed=False)
        from .sealing import unseal_file

        key = _variable(env, spec.key_env, "data.key", secrets)
        with _private_dir() as folder:
            plain = folder / _plain_name(path)
            unseal_file(path, plain, key, label=spec.holdout, key_source=f"${{{spec.key_env}}} (data.key)")
        return HoldoutLocation(plain, spec.holdout, sealed=True, private=True)


def _expand(text: str, env: Mapping[str, str], key: str, secrets: list[str]) -> str:
    """Replace each ``${NAME}`` in a header value; nothing else is expanded."""
    def value(match) -> str:
        found = _variable(env, match.group(1), key, secrets)
        if any(ord(c) < 32 or ord(c) == 127 for c in found) or not found.isascii():
            raise InputError(f"{key}: environment variable {match.group(1)} holds characters a header "
                             "cannot carry (a line break, or non-ASCII)")
        return found

    return VARIABLE.sub(value, text)


def _variable(env: Mapping[str, str], name: str, key: str, secrets: list[str]) -> str:
    if not name.startswith(VARIABLE_PREFIX):  # the policy check, again: never hand out another secret
        raise InputError(f"{key}: only {VARIABLE_PREFIX}* environment variables are looked up, not {name}")
    found = env.get(name)
    # GitHub expands a secret the job cannot see to the empty string: the same as unset.
    if found is None or not found.strip():
        raise InputError(f"{key}: environment variable {name} is not set; {_JUDGE_ONLY}")
    secrets.extend({found, found.strip()})
    return found


def _plain_name(sealed: Path) -> str:
    """``holdout.csv.sealed`` decrypts to ``holdout.csv`` (the inner suffix says the format)."""
    name = sealed.name
    return name[: -len(SEALED_SUFFIX)] if name.lower().endswith(SEALED_SUFFIX) and name != SEALED_SUFFIX else name


@contextmanager
def _private_dir():
    """A fresh directory only this user can enter, removed when the process exits, or at once
    if filling it fails."""
    folder = Path(tempfile.mkdtemp(prefix="mlgate-sealed-"))  # mode 0700
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@contextmanager
def _scrubbed(secrets: list[str]):
    """No secret leaves in an error message, whatever raised it."""
    try:
        yield
    except Exception as exc:
        text = str(exc)
        if not any(s and s in text for s in secrets):
            raise
        for s in sorted(secrets, key=len, reverse=True):
            text = text.replace(s, "***")
        kind = type(exc) if isinstance(exc, MlgateError) else InfrastructureError
        raise kind(text) from None
