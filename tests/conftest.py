"""Shared fixtures: real scikit-learn models on scikit-learn's bundled datasets, real files.

Nothing is mocked: a workspace is a directory with a policy, a holdout and skops models, and
the CLI is driven through its real entry point (``mlgate.action.cli.main``) so exit codes are the ones
users see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import train_test_split

from mlgate.action.cli import main
from postgres_server import postgres_url  # noqa: F401  (a real PostgreSQL server, session-scoped)
from workspaces import CANCER_POLICY, Workspace, fit_logistic  # noqa: F401

pytest_plugins = ["canary_logs"]  # fitted and live: the canary tests' real models and their traffic


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


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace(root)


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
