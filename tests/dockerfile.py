"""The Dockerfile read as data, and its build stage run here, without a Docker engine.

tests/test_packaging.py checks the image's install with it; benchmarks/bench_image.py measures
the image's size with it. The build stage's RUN lines run as written, with ``sh``, in a copy of
what its COPY lines take, with ``MLGATE_PREFIX`` pointing into a scratch directory; a fresh venv
stands in for the image's /usr/local, and the prefix is laid over it as the final stage's
``COPY --from=build /install /usr/local`` does.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]


def stages(text: str) -> list[dict]:
    """The stages: base image, name, ENV and ARG defaults, COPY and RUN lines (continuation lines
    joined), ENTRYPOINT and CMD."""
    found: list[dict] = []
    for line in re.sub(r"\\\n\s*", "", text).splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if not instruction or instruction.startswith("#"):
            continue
        if instruction == "FROM":
            image, _, name = rest.partition(" AS ")
            found.append({"from": image, "name": name, "env": {}, "arg": {}, "copy": [], "run": []})
        elif instruction in ("ENV", "ARG"):
            found[-1][instruction.lower()].update(pair.split("=", 1) for pair in shlex.split(rest))
        elif instruction in ("COPY", "RUN"):
            found[-1][instruction.lower()].append(rest)
        elif instruction in ("ENTRYPOINT", "CMD"):
            found[-1][instruction.lower()] = json.loads(rest)
    return found


@dataclass(frozen=True)
class Built:
    venv: Path  # the image's /usr/local: a fresh venv with the prefix laid over it
    prefix: Path  # what the build stage installed (/install in the image)
    build: dict
    final: dict


def build_like_the_image(tmp: Path, *, extras: str | None = None,
                         after: Callable[[str, Path], None] | None = None) -> Built:
    """Run the build stage into ``tmp``; ``extras`` overrides the MLGATE_EXTRAS build argument.
    ``after(command, prefix)`` is called after each command of an ``&&`` chain (a benchmark
    measures the tree there)."""
    build, final = stages((REPO / "Dockerfile").read_text())
    context = tmp / "context"  # the build stage's WORKDIR, holding only what it copies
    for line in build["copy"]:
        *sources, target = line.split()
        for name in sources:
            path = REPO / name
            dest = context / target / name if target.endswith("/") else context / target
            if path.is_dir():
                shutil.copytree(path, dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, dest)
    venv, prefix = tmp / "venv", tmp / "install"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, **build["env"], **build["arg"], "MLGATE_PREFIX": str(prefix),
           "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp)}
    if extras is not None:
        env["MLGATE_EXTRAS"] = extras
    for command in (part for line in build["run"] for part in line.split(" && ")):
        step = subprocess.run(["sh", "-c", command], cwd=context, env=env, capture_output=True, text=True)
        if step.returncode != 0:
            raise AssertionError(f"the build stage's RUN failed:\n{command}\n{step.stderr[-2000:]}")
        if after is not None:
            after(command, prefix)
    shutil.copytree(prefix, venv, symlinks=True, dirs_exist_ok=True)  # COPY --from=build /install /usr/local
    return Built(venv=venv, prefix=prefix, build=build, final=final)
