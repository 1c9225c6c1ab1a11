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
    target: str | None  # None only when every gate is mean_score (the holdout lists the examples)
    sha256: str | None = None
    id_column: str | None = None
    # Rows come in groups (user, patient, session): the group, not the row, is the independent
    # unit of every relative comparison, overall and per slice.
    group_column: str | None = None
    slices: tuple[str, ...] = ()
    # The columns the models receive, in order (None: the model's own names, else every column
    # but the target, id, group and slices).
    features: tuple[str, ...] | None = None
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
    greater_is_better: bool | None = None  # mean_score only: the scores' direction (None for other metrics)


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
    # Model formats a privileged job loads from a pull request (read from the base branch): the
    # native readers of ONNX, XGBoost and LightGBM are larger attack surfaces than skops, so a
    # project opts in to the ones it ships.
    formats: tuple[str, ...] = ("skops",)
    engine: str = "local"
    scheduler: str | None = None
    chunk_rows: int | None = None
    promotion_when: str = "merge"
    promotion_to: str = "production"  # production | canary: merge promotion sets this alias
    evaluate_s: float = 1800.0  # limits.evaluate_s: a privileged evaluation past this fails (exit 3)
    source: str = ""
    sha256: str = ""
    canary: "CanarySpec | None" = None
    drift: "DriftSpec | None" = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


CANARY_RULES = ("non_inferior", "superior")


@dataclass(frozen=True)
class LogSource:
    """Where rows come from: workspace files (a path or glob of CSV / Parquet / JSONL), or a SQL
    table or query read through SQLAlchemy. ``url`` may hold ``${MLGATE_*}`` references,
    expanded from the environment the caller passes (credentials stay out of the policy)."""

    where: str  # the policy key, for messages: "canary.log" or "canary.labels"
    path: str | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class CanaryColumns:
    request_id: str = "request_id"
    model: str = "model_version"
    time: str = "ts"
    prediction: str = "prediction"
    score: str = "score"
    label: str = "label"


@dataclass(frozen=True)
class CanaryGate:
    metric: str
    rule: str  # non_inferior | superior
    name: str
    margin: float = 0.0


@dataclass(frozen=True)
class CanarySpec:
    log: LogSource
    gates: tuple[CanaryGate, ...]
    labels: LogSource | None = None
    columns: CanaryColumns = CanaryColumns()
    mode: str = "shadow"  # shadow: both models score each request | split: one model each
    candidate: str | int = "canary"  # a registry alias, or a version number
    disagreement: float | None = None  # guardrail (shadow): roll back when the rate is shown above it
    # guardrail (shadow): roll back when the share of production's requests the candidate also
    # scored is shown below it (a canary that fails on hard requests must not be judged on easy ones)
    coverage: float | None = None
    min_rows: int = 1000
    max_rows: int = 200_000
    max_days: float = 14.0
    on_expired: str = "rollback"  # rollback | promote
    # Where the confidence sequence is tightest (its mixing parameter is chosen for this many
    # rows); GrowthBook's default. Any value keeps the guarantee; it only moves the power.
    tuning_rows: int = 5000
    classes: tuple | None = None  # the labels a classification log may hold; default: those predicted


@dataclass(frozen=True)
class DriftSpec:
    """``drift:`` — the scheduled drift watch: a recent window of production inputs against the
    reference (the holdout by default), per feature an effect size with an interval."""

    current: LogSource  # files or a SQL source, as the canary's log
    time_column: str | None = None
    window_s: float | None = None  # "7d" → 604800; None: every row of the source
    reference: str | None = None  # a workspace file; None: data.holdout
    features: tuple[str, ...] | None = None  # None: every reference column but target, id and group
    numeric_threshold: float = 0.1  # normalised Wasserstein distance that matters (Evidently's default)
    categorical_threshold: float = 0.1  # Jensen–Shannon distance that matters (Evidently's default)
    missing_threshold: float = 0.1  # a change in a feature's share of missing values that matters
    max_drop: float | None = None  # with labels in the window: the drop of each per-row metric that matters
    resamples: int = 1000  # bootstrap resamples of each distance's interval


# Model file formats by name (security.formats) and the suffixes each is read from.
MODEL_FORMATS = {"skops": (".skops",), "onnx": (".onnx",), "xgboost": (".json", ".ubj"), "lightgbm": (".txt",)}
