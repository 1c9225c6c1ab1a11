"""``result.json``: the machine-readable verdict (schema in DESIGN.md and result.schema.json).

Promotion reuses a result only when every SHA-256 in it matches, so the identities of the
models, the data and the policy are always written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .classes import Classes
from .curves import Curves
from .decision import Decision
from .residuals import Residuals
from .rules import GateResult

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Result:
    """One evaluation's verdict and everything that decided it, built once and never patched:
    what the caller knows (the commit, its notes, a verified override) goes into ``evaluate``."""

    decision: Decision
    gates: tuple[GateResult, ...]
    task: str
    labels: tuple | None
    positive_label: object
    alpha: float
    candidate: dict
    production: dict | None
    data: dict
    config_sha256: str
    policy_source: str
    engine: str = "local"
    overridden: dict | None = None
    forced: dict | None = None  # promoted though not approved: {"by", "reason", "at"} (promotion.py)
    commit: str | None = None  # the commit evaluated (in GitHub): the override command names it
    notes: tuple[str, ...] = ()
    mlgate_version: str = __version__
    curves: Curves | None = None  # ROC and calibration of both models, for the report
    candidate_file: Path | None = field(default=None, repr=False)  # copied next to the report
    # data.group_column: {"column", "count", "rows_per_group", "design_effect", "effective_n"}
    groups: dict | None = None
    # In a pull request: which distinct candidate this is, the luck of k tries, the level tested
    attempt: dict | None = None
    # The registry versions this holdout already decided, and how many it supports (attempts.py)
    holdout_reuse: dict | None = None
    # B, the bootstrap's resamples (stats.bootstrap.resamples): a bootstrap p-value of 0 means
    # below 1/B, and the report never shows one finer than that.
    resamples: int | None = None
    classes: Classes | None = None  # more than two classes: confusion matrices, per-class scores
    residuals: Residuals | None = None  # regression: residuals against predictions, from a sample


def to_dict(result: Result) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "decision": result.decision.decision,
        "reasons": list(result.decision.reasons),
        "gates": [_gate(g) for g in result.gates],
        "candidate": result.candidate,
        "production": result.production,
        "data": result.data,
        "config_sha256": result.config_sha256,
        "policy_source": result.policy_source,
        "engine": result.engine,
        "mlgate_version": result.mlgate_version,
        "overridden": result.overridden,
        **({"forced": result.forced} if result.forced is not None else {}),
        "commit": result.commit,
        "task": result.task,
        "labels": None if result.labels is None else list(result.labels),
        "positive_label": result.positive_label,
        "alpha": result.alpha,
        "notes": list(result.notes),
        **({"groups": _finite(result.groups)} if result.groups is not None else {}),
        **({"attempt": _finite(result.attempt)} if result.attempt is not None else {}),
        **({"holdout_reuse": result.holdout_reuse} if result.holdout_reuse is not None else {}),
        **({"curves": result.curves.to_dict()} if result.curves is not None else {}),
        **({"classes": _finite(result.classes.to_dict())} if result.classes is not None else {}),
        **({"residuals": _finite(result.residuals.to_dict())} if result.residuals is not None else {}),
    }


def _gate(g) -> dict:
    out = dataclasses.asdict(g)
    ci = out.pop("confidence_interval")
    out["confidence_interval"] = None if ci is None else [ci[0], ci[1]]
    for s in out["slices"]:
        sci = s["confidence_interval"]
        s["confidence_interval"] = None if sci is None else [sci[0], sci[1]]
    return _finite(out)


def _finite(obj):
    """JSON has no NaN: undefined numbers are null (and the gate says why)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps(data: dict) -> str:
    """The one JSON form of mlgate's files (result.json, canary.json, drift.json): UTF-8, no
    NaN or infinity; a NumPy scalar is written as the number it is."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=float) + "\n"


def result_sha256(data: dict) -> str:
    return hashlib.sha256(dumps(data).encode("utf-8")).hexdigest()


def schema_path() -> Path:
    return Path(__file__).with_name("result.schema.json")
