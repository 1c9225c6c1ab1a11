"""What the caller may set instead of the policy: trusted paths from the command line or a
workflow's inputs, never from the policy a pull request can edit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Overrides:
    """Trusted paths given on the command line or as workflow inputs (not from the policy)."""

    candidate: Path | None = None
    production: str | None = None  # "none", a registry version or alias, or a path
    data: Path | None = None
    trust_pickle: bool = False
    allow_train: bool = True  # False under privileged triggers: never run PR code there
    train_refusal: str = "train commands never run in a privileged job; evaluate the uploaded artifact"
    # The environment a train command runs with (None: inherit). The action passes one without
    # its token, so PR code run for training can never act as the bot.
    train_env: dict | None = None
    engine: str | None = None  # local | dask (None: the policy's engine.kind)
    scheduler: str | None = None  # Dask scheduler address (None: the policy's engine.scheduler)
    chunk_rows: int | None = None  # stream the holdout in chunks (None: the policy's engine.chunk_rows)
    # Where ``${VAR}`` in the policy's holdout headers and key are looked up (a sealed holdout's
    # credential). The edge passes the process environment; ``gates`` never reads it itself.
    env: dict | None = None

    def with_candidate(self, path: Path) -> "Overrides":
        return dataclasses.replace(self, candidate=path)
