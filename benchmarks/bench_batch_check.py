"""What the batch-consistency check costs, per model format, next to scoring the holdout.

    python benchmarks/bench_batch_check.py [--rows 100000] [--repeats 3]

The models and data of bench_formats.py (skops logistic and HistGradientBoosting, ONNX with
and without ZipMap, XGBoost JSON, LightGBM text). Per format: ``score`` is the gate's scorer
on ``--rows`` rows with the check already done (as on every chunk after the first);
``check`` is the check alone (16 rows scored one at a time and as one batch, labels and
probabilities); both in milliseconds, the minimum over ``--repeats`` runs.

Not a test: it measures, it does not assert (tests/test_onnx_hostile.py checks the check).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_formats import build, data  # noqa: E402

from mlgate.gates.holdout.read import Holdout  # noqa: E402
from mlgate.gates.models.consistency import check_batch_consistency  # noqa: E402
from mlgate.gates.models.load import load_model_file  # noqa: E402
from mlgate.gates.models.score import BATCH_CHECKED, score_model  # noqa: E402


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    frame = data(args.rows, args.features, seed=2)
    holdout = Holdout(frame=frame, source="holdout", sha256="", target="y", task="classification")
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'format':32s} {'score ms':>10s} {'check ms':>10s}  ({args.rows} rows)")
        for name, path, _ in build(Path(folder), data(20_000, args.features, seed=1)):
            model = load_model_file(path, role="candidate", label=path.name)
            model.extra[BATCH_CHECKED] = True
            X = frame.drop(columns=["y"])
            scores = score_model(model, holdout, labels=(0, 1), positive_label=1, id_column=None, exclude={"y"},
                                 want_proba=True)
            score = best(lambda: score_model(model, holdout, labels=(0, 1), positive_label=1, id_column=None,
                                             exclude={"y"}, want_proba=True), args.repeats)
            raw = model.estimator.predict_proba(X)
            check = best(lambda: check_batch_consistency(model.estimator, X, scores.predicted, raw, path.name),
                         args.repeats)
            print(f"{name:32s} {score:10.1f} {check:10.1f}")


if __name__ == "__main__":
    main()
