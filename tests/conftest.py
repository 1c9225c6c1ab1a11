"""Shared fixtures: real scikit-learn models on scikit-learn's bundled datasets, real files.

Nothing is mocked: a workspace is a directory with a policy, a holdout and skops models, and
the CLI is driven through its real entry point (``action.cli.main``) so exit codes are the ones
users see.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from action.cli import main
from gates.registry import FileRegistry


@dataclass
class CliRun:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys):
    """Run ``mlgate ARGS`` through the real error boundary; return exit code and output."""

    def run(*args: str) -> CliRun:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliRun(int(exc.value.code), captured.out, captured.err)

    return run


# ----------------------------------------------------------------------------- datasets


@pytest.fixture(scope="session")
def cancer():
    """Breast-cancer data: 1 = malignant, a size slice, 50/50 stratified split."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "label"})
    frame["label"] = 1 - frame["label"]
    frame["size"] = pd.qcut(frame["mean area"], 3, labels=["small", "medium", "large"]).astype(str)
    train, test = train_test_split(frame, test_size=0.5, random_state=1, stratify=frame["label"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def fit_logistic(train: pd.DataFrame, columns: list[str], target: str = "label", **kw):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, **kw)).fit(train[columns], train[target])


@pytest.fixture(scope="session")
def cancer_models(cancer):
    train, _ = cancer
    everything = [c for c in train.columns if c not in ("label", "size")]
    return {
        "good": fit_logistic(train, everything),
        "weak": fit_logistic(train, ["mean fractal dimension", "texture error"]),
        "medium": fit_logistic(train, ["mean radius", "mean texture", "mean smoothness", "mean symmetry"]),
    }


@pytest.fixture(scope="session")
def iris_split():
    data = load_iris(as_frame=True)
    frame = data.frame.rename(columns={"target": "species"})
    frame["species"] = frame["species"].map(dict(enumerate(data.target_names)))
    train, test = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame["species"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


@pytest.fixture(scope="session")
def diabetes_split():
    data = load_diabetes(as_frame=True)
    frame = data.frame.rename(columns={"target": "progression"})
    frame["progression"] = frame["progression"].astype(float)
    frame["sex_group"] = np.where(frame["sex"] > 0, "a", "b")
    train, test = train_test_split(frame, test_size=0.5, random_state=0)
    return train.reset_index(drop=True), test.reset_index(drop=True)


# ----------------------------------------------------------------------------- workspaces


class Workspace:
    """A real workspace directory with helpers to write its files."""

    def __init__(self, root: Path):
        self.root = root

    def policy(self, text: str) -> Path:
        path = self.root / ".github" / "mlgate.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

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
            registry.add(tmp, source="test", by="tests", alias="production")
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


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace(root)


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


@pytest.fixture
def cancer_workspace(workspace, cancer, cancer_models):
    """A valid binary workspace: good candidate, medium production, one policy."""
    _, test = cancer
    workspace.policy(CANCER_POLICY)
    workspace.table("data/holdout.csv", test)
    workspace.model("build/model.skops", cancer_models["good"])
    workspace.registry(production=cancer_models["medium"])
    return workspace


@pytest.fixture(scope="session")
def diabetes_models(diabetes_split):
    train, _ = diabetes_split
    cols = [c for c in train.columns if c not in ("progression", "sex_group")]
    return {
        "full": LinearRegression().fit(train[cols], train["progression"]),
        "ridge": Ridge(alpha=1.0).fit(train[cols], train["progression"]),
        "bmi_only": LinearRegression().fit(train[["bmi"]], train["progression"]),
    }
