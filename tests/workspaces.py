"""Test helpers shared across test modules: real workspaces, real models, one valid policy.

(A module with its own name: ``conftest`` is ambiguous once a test subfolder has one too.)
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlgate.gates.registry.file import FileRegistry


def fit_logistic(train: pd.DataFrame, columns: list[str], target: str = "label", **kw):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, **kw)).fit(train[columns], train[target])


class Workspace:
    """A real workspace directory with helpers to write its files."""

    def __init__(self, root: Path):
        self.root = root

    def policy(self, text: str) -> Path:
        path = self.root / ".github" / "mlgate.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def edit_policy(self, old: str, new: str, base: str | None = None) -> Path:
        """``base`` (the cancer policy) with ``old`` replaced by ``new``, which must be there."""
        base = CANCER_POLICY if base is None else base
        text = base.replace(old, new)
        assert text != base, f"test bug: {old!r} not in the policy"
        return self.policy(text)

    def table(self, rel: str, frame: pd.DataFrame) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        return path

    def model(self, rel: str, estimator) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump(estimator, path)
        return path

    def registry(self, rel: str = "models/registry", production=None) -> FileRegistry:
        registry = FileRegistry(self.root / rel, label=rel, create=True)
        if production is not None:
            tmp = self.root / ".prod.skops"
            sio.dump(production, tmp)
            registry.promote(tmp, source="test", by="tests", alias="production")
            tmp.unlink()
        return registry

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path


def cancer_predictions(cancer, models, name: str = "good") -> pd.DataFrame:
    """A cancer model's predictions file for the holdout, in its order: ``prediction`` and ``score``."""
    _, test = cancer
    X = test.drop(columns=["label", "size"])
    m = models[name]
    return pd.DataFrame({"prediction": m.predict(X), "score": m.predict_proba(X)[:, 1]})


CANCER_POLICY = """\
version: 1
data:
  holdout: data/holdout.csv
  target: label
  slices: [size]
candidate:
  path: build/model.skops
production:
  registry: models/registry
gates:
  - {metric: roc_auc, rule: non_inferior, margin: 0.01}
  - {metric: accuracy, rule: min, threshold: 0.85}
  - {metric: f1, rule: non_inferior, margin: 0.02}
  - {metric: recall, rule: slice_max_drop, max_drop: 0.05, min_support: 40}
stats: {bootstrap: {resamples: 2000}}
"""
