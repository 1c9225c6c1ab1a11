"""Train the mlgate demo's models on scikit-learn's bundled breast-cancer data.

This file is copied into the demo workspace as ``train.py``: it is what a user's own train
script looks like (fit, then save with skops, never pickle). It needs only scikit-learn and
skops, and downloads nothing.

    python train.py --scenario better --out build/model.skops
"""

import argparse

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "malignant"
SLICE = "tumour_size"
# Features each model sees: production is an older model on a few measurements; the better
# candidate uses them all; the worse one was (by mistake) trained on two weak features.
FEATURES = {
    "production": ["mean radius", "mean texture", "mean smoothness", "mean symmetry"],
    "worse": ["mean fractal dimension", "texture error"],
    "better": None,  # every measurement
}


def dataset():
    """The 569 tumours with a 1 = malignant target and a size slice; split 50/50, stratified."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": TARGET})
    frame[TARGET] = 1 - frame[TARGET]  # scikit-learn codes benign as 1; mlgate's positive is malignant
    edges = np.quantile(frame["mean area"], [1 / 3, 2 / 3])
    frame[SLICE] = np.select([frame["mean area"] <= edges[0], frame["mean area"] <= edges[1]], ["small", "medium"], "large")
    train, holdout = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame[TARGET])
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def fit(kind, train):
    columns = FEATURES[kind] or [c for c in train.columns if c not in (TARGET, SLICE)]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(train[columns], train[TARGET])


def main(argv=None):
    import skops.io as sio

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["better", "worse", "production"], default="better")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    train, _ = dataset()
    sio.dump(fit(args.scenario, train), args.out)


if __name__ == "__main__":
    main()
