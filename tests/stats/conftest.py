import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "stats",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("stats")

# pROC's aSAH data, vendored with its source and licence (tests/fixtures/proc/README.md)
ASAH = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "proc" / "aSAH.csv"


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


@pytest.fixture(scope="session")
def asah():
    import pandas as pd

    return pd.read_csv(ASAH)


@pytest.fixture
def noisy():
    return noisy_predictions


def noisy_predictions(rng, y, accuracy, labels):
    """Predictions that equal y with probability ``accuracy``, else a random other label."""
    labels = np.asarray(labels)
    wrong = rng.random(len(y)) >= accuracy
    shift = rng.integers(1, len(labels), size=len(y))
    idx = np.searchsorted(labels, y)
    return np.where(wrong, labels[(idx + shift) % len(labels)], y)
