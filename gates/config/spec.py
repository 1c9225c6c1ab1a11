"""The policy as typed data: what every other module reads, frozen once parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re
from typing import Any

RULES = ("min", "max", "non_inferior", "superior", "max_drop", "max_ratio", "slice_max_drop")


# Rules that compare against the production model (skipped when there is none).
RELATIVE_RULES = {"non_inferior", "superior", "max_drop", "max_ratio", "slice_max_drop"}


MAX_CONFIG_BYTES = 1_000_000


# The one thing expanded in a policy: ``${NAME}`` in data.headers values and data.key, looked up
# in the environment the caller passes (the policy is public, so secrets live there). Only
# MLGATE_* names: a policy must not be able to send another secret of the job (GITHUB_TOKEN,
# cloud credentials) to a server it names.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


VARIABLE_PREFIX = "MLGATE_"


@dataclass(frozen=True)
class TrainSpec:
    command: str
    output: str
    timeout_s: float = 1800.0


@dataclass(frozen=True)
class RegistrySpec:
    kind: str  # file | github-releases | mlflow
    path: str | None = None
    tag_prefix: str = "model-v"
    model_name: str | None = None
    tracking_uri: str | None = None
    artifact_location: str | None = None  # mlflow: where new versions' artifacts go


@dataclass(frozen=True)
class ModelSpec:
    """Where a model comes from: exactly one of these is set."""

    path: str | None = None
    train: TrainSpec | None = None
    predictions: str | None = None
    registry: RegistrySpec | None = None
    alias: str = "production"


@dataclass(frozen=True)
class DataSpec:
    holdout: str
    target: str
    sha256: str | None = None
    id_column: str | None = None
    # Rows come in groups (user, patient, session): the group, not the row, is the independent
    # unit of every relative comparison, overall and per slice.
    group_column: str | None = None
    slices: tuple[str, ...] = ()
    positive_label: Any = None
    allow_changes_in_pr: bool = False
    # A sealed holdout (see holdout_source): request headers for an https holdout, values with
    # ``${NAME}`` references; or the environment variable holding an encrypted file's key. With
    # a key, data.sha256 pins the decrypted file (the rows the models are judged on).
    headers: tuple[tuple[str, str], ...] = ()
    key_env: str | None = None


@dataclass(frozen=True)
class GateSpec:
    metric: str
    rule: str
    name: str
    threshold: float | None = None
    margin: float | None = None
    max_drop: float | None = None
    min_support: int = 30
    average: str | None = None  # None: binary for two classes, macro otherwise


@dataclass(frozen=True)
class Policy:
    version: int
    task: str | None
    data: DataSpec
    candidate: ModelSpec
    production: ModelSpec
    gates: tuple[GateSpec, ...]
    alpha: float = 0.05
    power: float = 0.8  # the power each relative gate's detectable difference and rows needed are for
    # stats.attempts.spend: the k-th distinct candidate on one pull request is tested at
    # alpha·6/(π²k²), so the levels of all attempts sum to at most alpha.
    spend_attempts: bool = False
    resamples: int = 10_000
    seed: int = 0
    trusted_types: tuple[str, ...] = ()
    engine: str = "local"
    scheduler: str | None = None
    chunk_rows: int | None = None
    promotion_when: str = "merge"
    evaluate_s: float = 1800.0  # limits.evaluate_s: a privileged evaluation past this fails (exit 3)
    source: str = ""
    sha256: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)
