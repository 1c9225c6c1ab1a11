"""Canary workspaces for the tests: a file registry holding a real production model and a real
canary model (scikit-learn, saved with skops), and prediction logs those models wrote.

The judge loads no model; the logs are what the two models really predicted on generated
traffic, written the way a serving system would (one row per request and model).
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
import skops.io as sio

from mlgate.gates.registry.file import FileRegistry

T0 = pd.Timestamp("2026-11-20T00:00:00Z")
RECENT = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(days=1)  # for judges that read the wall clock

POLICY = """\
version: 1
data: {{holdout: data/holdout.csv, target: y}}
gates: [{{metric: accuracy, rule: min, threshold: 0.5}}]
production: {{registry: models/registry}}
promotion: {{to: canary}}
canary:
  log: logs/*.csv
  mode: {mode}
  gates:
    - {{metric: log_loss, rule: non_inferior, margin: 0.02}}
    - {{metric: accuracy, rule: non_inferior, margin: 0.02}}
  min_rows: {min_rows}
  max_rows: {max_rows}
  max_days: {max_days}
{extra}"""


@dataclass
class Traffic:
    """Live requests and what each model answers: ``proba[name]`` is P(y = 1)."""

    X: np.ndarray
    y: np.ndarray
    proba: dict[str, np.ndarray]


def models(seed: int = 0):
    """production, an equally good twin, and a clearly worse model (two uninformative columns)."""
    X, y = _population(seed)
    X, y = X[:4000], y[:4000]
    good = LogisticRegression(max_iter=1000).fit(X, y)
    worse = LogisticRegression(max_iter=1000).fit(X[:, 6:], y)
    return {"production": good, "same": good, "worse": worse}


def _population(seed: int):
    """One population for training and for live traffic (rows 4,000 on are never trained on)."""
    return make_classification(n_samples=40_000, n_features=8, n_informative=5, random_state=seed)


def traffic(n: int, fitted: dict, seed: int = 1) -> Traffic:
    X, y = _population(0)
    X, y = X[4000:4000 + n], y[4000:4000 + n]
    proba = {"production": fitted["production"].predict_proba(X)[:, 1],
             "same": fitted["same"].predict_proba(X)[:, 1],
             "worse": fitted["worse"].predict_proba(X[:, 6:])[:, 1]}
    return Traffic(X, y, proba)


def workspace(root: Path, *, mode: str = "shadow", min_rows: int = 500, max_rows: int = 50_000, max_days: float = 14,
              extra: str = "", candidate: str = "same", fitted=None, set_at: pd.Timestamp | None = None) -> Path:
    """A workspace whose registry has production (v1) and the canary (v2) set — at ``set_at``
    (default: an hour before ``T0``, when the logs start): the judge reads rows from then on."""
    fitted = fitted or models()
    (root / ".github").mkdir(parents=True)
    (root / ".github" / "mlgate.yml").write_text(POLICY.format(mode=mode, min_rows=min_rows, max_rows=max_rows,
                                                               max_days=max_days, extra=extra))
    (root / "logs").mkdir()
    registry = FileRegistry(root / "models" / "registry", create=True)
    for name, alias in (("production", "production"), (candidate, "canary")):
        path = root / f"{name}.skops"
        model = fitted[name]
        if name == "same":  # the twin: the same coefficients in a distinct artifact
            model = LogisticRegression(max_iter=1000)
            model.__dict__.update(fitted["production"].__dict__)
            model.tol = 1.0001e-4  # a byte-level difference only, so the registry stores a second version
        sio.dump(model, path)
        registry.promote(path, source=name, by="test", alias=alias, pr=7 if alias == "canary" else None)
    # The registry was written just now; say it was written before the traffic the logs hold.
    index = root / "models" / "registry" / "registry.json"
    data = json.loads(index.read_text())
    at = ((set_at if set_at is not None else T0 - pd.Timedelta(hours=1)).tz_convert("UTC")
          .strftime("%Y-%m-%dT%H:%M:%SZ"))
    for entry in data["audit"] + data["versions"]:
        entry["at" if "at" in entry else "created_at"] = at
    index.write_text(json.dumps(data, indent=2) + "\n")
    return root


def shadow_rows(t: Traffic, candidate: str, *, start: int = 0, stop: int | None = None, labelled: bool = True,
                versions=(1, 2), seconds: float = 60.0, t0: pd.Timestamp = T0) -> pd.DataFrame:
    """Both models' rows for requests start..stop, a request every ``seconds``."""
    stop = len(t.y) if stop is None else stop
    idx = np.arange(start, stop)
    frames = []
    for version, name in zip(versions, ("production", candidate)):
        p = t.proba[name][idx]
        frames.append(pd.DataFrame({
            "request_id": [f"r{i}" for i in idx], "model_version": version,
            "ts": [(t0 + pd.Timedelta(seconds=seconds * i)).isoformat() for i in idx],
            "prediction": (p >= 0.5).astype(int), "score": p.round(6),
            "label": t.y[idx] if labelled else np.full(len(idx), np.nan),
        }))
    return pd.concat(frames, ignore_index=True)


def split_rows(t: Traffic, candidate: str, *, share: float = 0.5, seed: int = 3, stop: int | None = None) -> pd.DataFrame:
    """Each request served by one model: the candidate with probability ``share``."""
    stop = len(t.y) if stop is None else stop
    rng = np.random.default_rng(seed)
    idx = np.arange(stop)
    canary = rng.random(stop) < share
    p = np.where(canary, t.proba[candidate][idx], t.proba["production"][idx])
    return pd.DataFrame({
        "request_id": [f"r{i}" for i in idx], "model_version": np.where(canary, 2, 1),
        "ts": [(T0 + pd.Timedelta(seconds=60 * i)).isoformat() for i in idx],
        "prediction": (p >= 0.5).astype(int), "score": p.round(6), "label": t.y[idx],
    })


def write_log(root: Path, frame: pd.DataFrame, name: str = "part-000.csv") -> Path:
    path = root / "logs" / name
    frame.to_csv(path, index=False)
    return path


# Fixtures the canary tests share (imported by name into each test module).


@pytest.fixture(scope="session")
def fitted():
    return models()


@pytest.fixture(scope="module")
def live(fitted):
    return traffic(3000, fitted)
