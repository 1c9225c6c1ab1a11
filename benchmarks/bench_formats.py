"""Scoring cost per model format: mlgate's scorer against the framework's own calls, same rows.

    python benchmarks/bench_formats.py [--rows 300000] [--features 20] [--repeats 5]

One binary task on generated data (``--features`` Gaussian columns, a logistic target), models
fitted on 20,000 rows and saved in each format the gate reads: skops (a scaled logistic
regression and a HistGradientBoosting of 50 iterations), ONNX from skl2onnx (the logistic one,
with skl2onnx's default ZipMap output and with a plain tensor; skl2onnx 1.20 fails to convert
the HistGradientBoosting with this NumPy), XGBoost's JSON
and LightGBM's text file (100 trees of depth 6 / 31 leaves). For each, on the same ``--rows``
rows:

* ``mlgate``: the file loaded as the gate loads it (``load_model_file``), then the gate's scorer
  (``score_model``): labels, probabilities, their checks and alignment, as one chunk;
* ``own``: what a user of that framework calls to get labels and probabilities: scikit-learn's
  ``predict`` and ``predict_proba``; one ``InferenceSession.run`` of the same graph, the float32
  conversion included (ZipMap's Python dicts too, when the graph has them); XGBClassifier's and
  LGBMClassifier's ``predict_proba`` (their ``predict`` is a threshold on it).

Each figure is seconds per 1M rows, the minimum over ``--repeats`` interleaved runs (the machine
is shared: load from a neighbour only ever adds time), and the ratio mlgate / own.

Not a test: it measures, it does not assert (tests/test_model_formats.py checks the numbers).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mlgate.gates.holdout.read import Holdout  # noqa: E402
from mlgate.gates.models.load import load_model_file  # noqa: E402
from mlgate.gates.models.score import score_model  # noqa: E402


def data(rows: int, features: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    w = rng.normal(size=features) / np.sqrt(features)
    logit = X @ w + 0.5 * np.sin(3 * X[:, 0]) * X[:, 1]
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(features)])
    frame["y"] = (rng.random(rows) < 1 / (1 + np.exp(-2 * logit))).astype(np.int64)
    return frame


def build(folder: Path, train: pd.DataFrame) -> list[tuple[str, Path, object]]:
    """(name, saved file, what the framework's own call runs) per format."""
    import lightgbm as lgb
    import onnxruntime as ort
    import skops.io as sio
    import xgboost as xgb
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = train.drop(columns=["y"]), train["y"]
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    hgb = HistGradientBoostingClassifier(max_iter=50, early_stopping=False, random_state=0).fit(X, y)
    out = []
    for name, model in (("logistic", logistic), ("hist gradient boosting", hgb)):
        path = folder / f"{name.replace(' ', '_')}.skops"
        sio.dump(model, path)
        out.append((f"skops, {name}", path, lambda X, m=model: (m.predict(X), m.predict_proba(X))))
    width = X.shape[1]
    for name, model, zipmap in (("logistic, ZipMap", logistic, True), ("logistic, tensor", logistic, False)):
        final = model.steps[-1][1] if hasattr(model, "steps") else model
        options = None if zipmap else {id(final): {"zipmap": False}}
        graph = convert_sklearn(model, initial_types=[("X", FloatTensorType([None, width]))], options=options)
        path = folder / f"{name.replace(', ', '_').replace(' ', '_')}.onnx"
        path.write_bytes(graph.SerializeToString())
        session = ort.InferenceSession(path.read_bytes(), providers=["CPUExecutionProvider"])
        out.append((f"ONNX, {name}", path, lambda X, s=session: s.run(None, {"X": X.to_numpy(np.float32)})))
    booster = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1).fit(X, y)
    booster.save_model(folder / "xgboost.json")
    out.append(("XGBoost .json", folder / "xgboost.json", booster.predict_proba))
    light = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, verbose=-1).fit(X, y)
    light.booster_.save_model(str(folder / "lightgbm.txt"))
    out.append(("LightGBM .txt", folder / "lightgbm.txt", light.predict_proba))
    return out


def mlgate_scoring(path: Path, holdout: Holdout):
    model = load_model_file(path, role="candidate", label=path.name, trusted_types=())
    return lambda: score_model(model, holdout, labels=(0, 1), positive_label=1, id_column=None, exclude={"y"},
                               want_proba=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    frame = data(args.rows, args.features, seed=1)
    holdout = Holdout(frame=frame, source="generated", sha256="", target="y", task="classification")
    X = frame.drop(columns=["y"])
    with tempfile.TemporaryDirectory() as tmp:
        formats = build(Path(tmp), data(20_000, args.features, seed=0))
        runs = [(name, mlgate_scoring(path, holdout), lambda own=own: own(X)) for name, path, own in formats]
        best = {name: [float("inf"), float("inf")] for name, _, _ in runs}
        for repeat in range(args.repeats):
            for name, ours, theirs in runs:
                pair = [(0, ours), (1, theirs)] if repeat % 2 == 0 else [(1, theirs), (0, ours)]
                for which, call in pair:
                    start = time.perf_counter()
                    call()
                    best[name][which] = min(best[name][which], time.perf_counter() - start)
    per_million = 1e6 / args.rows
    print(f"Scoring {args.rows:,} rows × {args.features} features, binary; best of {args.repeats}; "
          f"{os.cpu_count()} CPU(s)\n")
    print(f"{'format':<36} {'mlgate s/1M':>12} {'own s/1M':>10} {'ratio':>7}")
    for name, (ours, theirs) in best.items():
        print(f"{name:<36} {ours * per_million:>12.3f} {theirs * per_million:>10.3f} {ours / theirs:>7.2f}")


if __name__ == "__main__":
    main()
