"""Every command explains itself, and asking for help is instant.

Help must not import numpy, pandas, scipy or scikit-learn: a user who types ``mlgate --help``
waits for nothing heavy, so the heavy imports live inside the commands that need them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from mlgate.action.cli import cli, main

HEAVY = ("numpy", "pandas", "scipy", "sklearn", "pyarrow", "skops", "github")


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


COMMANDS = list(_commands(cli))


def test_the_command_list_is_the_one_the_readme_documents():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"evaluate", "promote", "rollback", "registry", "registry list", "registry show", "seal", "demo",
            "action"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_has_help(path, capsys):
    command = dict(COMMANDS)[path]
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    summary = " ".join((command.help or "").strip().splitlines()[0].split())
    assert summary and summary in " ".join(out.split()), f"mlgate {' '.join(path)} --help does not show its summary"
    assert f"Usage: mlgate {' '.join(path)}" in out


def test_help_imports_nothing_heavy():
    """A fresh interpreter, so modules other tests imported cannot hide an import."""
    probe = (
        "import json, sys\n"
        "from mlgate.action.cli import main\n"
        "loaded = set()\n"
        f"for argv in ([\"--help\"], *[[*p, \"--help\"] for p in {[list(p) for p, _ in COMMANDS]!r}]):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, (argv, exc.code)\n"
        f"    loaded |= {{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})\n"
        "print(json.dumps(sorted(loaded)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
