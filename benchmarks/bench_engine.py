"""Streaming and Dask engines: rows per second, peak memory, and the gate's overhead.

    python benchmarks/bench_engine.py [--rows 10000000 50000000] [--default-max 10000000]
                                      [--dask-rows 10000000] [--chunk-rows 1000000] [--dir /tmp]
                                      [--models lr hgb] [--gates auc counts] [--groups 1000000]

For each size it writes a Parquet holdout of generated rows (5 float features, a binary label,
row groups of 1M rows) and two models of each kind in ``--models``: ``lr`` LogisticRegression
on 5 and on 3 features (the small model, whose predict is nearly free, so the floor is nearly
all reading), ``hgb`` HistGradientBoostingClassifier with 50 trees on the same features (a
model whose predict costs about what a production model's does). Then it times, each in a
fresh process whose peak RSS is read with ``wait4``:

- ``floor``     what every gate pays: read the holdout in the same chunks and run both models'
                ``predict`` on every row (nothing else);
- ``streamed``  ``mlgate`` with ``engine.chunk_rows`` set to ``--chunk-rows``;
- ``default``   ``mlgate`` with no ``engine`` section at all, what a user who sets nothing gets
                (only up to ``--default-max`` rows). There is one scoring path, so the two
                differ only in chunk size; the table ends with default ÷ streamed (target ≤ 1.1);
- ``dask``      the Dask engine on a 2-worker ``LocalCluster`` (processes) on this machine.

Gate sets (``--gates``): ``auc`` is roc_auc non_inferior (DeLong), accuracy superior
(bootstrap over joint cells) and log_loss non_inferior (paired t on moments); ``counts`` is
the same without roc_auc — no rank statistic, so nothing needs sorting all rows. Overhead =
engine time / floor time (target ≤ 1.15 for the streaming engine). Only the first model kind
and gate set run the default and Dask engines. The files are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# mlgate is imported as installed (pip install -e . for this checkout), here and in the cluster's workers
FEATURES = [f"x{i}" for i in range(5)]
COEF = [1.0, -0.5, 0.25, 0.1, 0.8]
GATES = {
    "auc": ("  - {metric: roc_auc, rule: non_inferior, margin: 0.005}\n"
            "  - {metric: accuracy, rule: superior}\n"
            "  - {metric: log_loss, rule: non_inferior, margin: 0.01}\n"),
    "counts": ("  - {metric: accuracy, rule: superior}\n"
               "  - {metric: log_loss, rule: non_inferior, margin: 0.01}\n"),
}
POLICY = """\
version: 1
data: {{holdout: holdout.parquet, target: label{group}}}
candidate: {{path: cand_{model}.skops}}
production: {{path: prod_{model}.skops}}
gates:
{gates}stats: {{bootstrap: {{resamples: 2000, seed: 0}}}}
{engine}{security}"""
TRUSTED = {"hgb": "security: {trusted_types: [sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor]}\n"}


def make_model(kind: str):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if kind == "hgb":
        return HistGradientBoostingClassifier(max_iter=50, early_stopping=False, random_state=0)
    return LogisticRegression()


def generate(ws: Path, rows: int, kinds: list[str], groups: int = 0) -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import skops.io as sio
    ws.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    writer = None
    block = 1_000_000
    for start in range(0, rows, block):
        n = min(block, rows - start)
        X = rng.normal(size=(n, 5))
        y = (X @ np.array(COEF) + rng.logistic(size=n) > 0).astype(np.int64)
        frame = pd.DataFrame(X, columns=FEATURES).assign(label=y)
        if groups:  # a group's rows scattered over the whole file
            frame["user"] = rng.integers(0, groups, n)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(ws / "holdout.parquet", table.schema)
            train = frame.iloc[:20_000]
            for kind in kinds:
                sio.dump(make_model(kind).fit(train[FEATURES], train["label"]), ws / f"cand_{kind}.skops")
                sio.dump(make_model(kind).fit(train[FEATURES[:3]], train["label"]), ws / f"prod_{kind}.skops")
        writer.write_table(table)
    writer.close()


# ----------------------------------------------------------------------------- one measurement


def run_floor(ws: Path, chunk_rows: int, model: str) -> dict:
    import pyarrow.parquet as pq
    import skops.io as sio

    start = time.perf_counter()
    models = []
    for name in (f"cand_{model}.skops", f"prod_{model}.skops"):
        models.append(sio.load(ws / name, trusted=sio.get_untrusted_types(file=ws / name)))
    rows = 0
    for batch in pq.ParquetFile(ws / "holdout.parquet").iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        for m in models:
            m.predict(frame[list(m.feature_names_in_)])
        rows += len(frame)
    return {"rows": rows, "seconds": time.perf_counter() - start}


def run_engine(ws: Path, mode: str, chunk_rows: int, scheduler: str | None, model: str, gates: str) -> dict:
    from mlgate.gates.config import load_policy
    from mlgate.gates.engine import Overrides, evaluate

    engine = "" if mode == "default" else f"engine: {{kind: local, chunk_rows: {chunk_rows}}}\n"
    group = ", group_column: user" if os.environ.get("BENCH_GROUPS", "0") != "0" else ""
    (ws / "policy.yml").write_text(POLICY.format(engine=engine, model=model, gates=GATES[gates], group=group,
                                                 security=TRUSTED.get(model, "")))
    policy = load_policy(ws / "policy.yml", source="policy.yml")
    overrides = Overrides(engine="dask", scheduler=scheduler) if mode == "dask" else Overrides()
    if mode == "dask":
        import distributed  # noqa: F401  (imports are not timed, for any mode)
    start = time.perf_counter()
    result = evaluate(policy, ws, overrides)
    return {"rows": result.data["rows"], "decision": result.decision.decision, "seconds": time.perf_counter() - start,
            "gates": [(g.name, g.passed, g.estimate, g.p_value) for g in result.gates]}


def measure(ws: Path, mode: str, chunk_rows: int, model: str, gates: str, scheduler: str | None = None) -> dict:
    """Run one mode in a fresh interpreter: its wall time (imports excluded) and peak RSS."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, "--ws", str(ws), "--chunk-rows",
                             str(chunk_rows), "--models", model, "--gates", gates]
                            + (["--scheduler", scheduler] if scheduler else []),
                            stdout=subprocess.PIPE, cwd=ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{mode} failed with status {status}")
    info = json.loads(out)
    info.update(peak_mb=usage.ru_maxrss / 1024)
    return info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 50_000_000])
    ap.add_argument("--default-max", type=int, default=10_000_000)
    ap.add_argument("--groups", type=int, default=0,
                    help="add a group column with this many groups (rows scattered) and set data.group_column")
    ap.add_argument("--dask-rows", type=int, default=10_000_000)
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--child")
    ap.add_argument("--ws")
    ap.add_argument("--scheduler")
    ap.add_argument("--models", nargs="+", default=["lr", "hgb"], choices=["lr", "hgb"])
    ap.add_argument("--gates", nargs="+", default=["auc", "counts"], choices=sorted(GATES))
    args = ap.parse_args()
    if args.child:
        import skops.io  # noqa: F401  (imports are not timed)
        import sklearn.ensemble  # noqa: F401
        import sklearn.linear_model  # noqa: F401
        import pyarrow.parquet  # noqa: F401
        ws = Path(args.ws)
        model, gates = args.models[0], args.gates[0]
        info = run_floor(ws, args.chunk_rows, model) if args.child == "floor" else \
            run_engine(ws, args.child, args.chunk_rows, args.scheduler, model, gates)
        print(json.dumps(info))
        return

    print(f"{'rows':>12} {'model':>5} {'gates':>6} {'engine':>10} {'seconds':>9} {'rows/s':>12} {'peak MB':>9} "
          f"{'÷ floor':>8}  decision")
    findings = []
    for rows in args.rows:
        ws = Path(args.dir) / f"mlgate-bench-{rows}"
        try:
            t = time.perf_counter()
            os.environ["BENCH_GROUPS"] = str(args.groups)  # read by the child processes
            generate(ws, rows, args.models, args.groups)
            size = (ws / "holdout.parquet").stat().st_size / 1e6
            print(f"# {rows:,} rows generated in {time.perf_counter() - t:.1f} s ({size:,.0f} MB Parquet)", flush=True)
            for mi, model in enumerate(args.models):
                floor = measure(ws, "floor", args.chunk_rows, model, args.gates[0])
                _row(rows, model, "", "floor", floor, floor)
                for gi, gates in enumerate(args.gates):
                    first = mi == 0 and gi == 0
                    modes = ["streamed"] + (["default"] if first and rows <= args.default_max else [])
                    runs = {}
                    for mode in modes:
                        runs[mode] = measure(ws, mode, args.chunk_rows, model, gates)
                        _row(rows, model, gates, mode, runs[mode], floor)
                    if first and rows <= args.dask_rows:
                        from distributed import LocalCluster

                        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                          silence_logs=50) as cluster:
                            runs["dask"] = measure(ws, "dask", args.chunk_rows, model, gates, cluster.scheduler_address)
                        _row(rows, model, gates, "dask", runs["dask"], floor)
                    findings.append((rows, model, gates, {m: r["gates"] for m, r in runs.items()}))
                    if "default" in runs:
                        d, s = runs["default"], runs["streamed"]
                        print(f"# {rows:,} {model} {gates}: default ÷ streamed = {d['seconds'] / s['seconds']:.2f}× time, "
                              f"{d['peak_mb'] / s['peak_mb']:.2f}× peak memory", flush=True)
        finally:
            shutil.rmtree(ws, ignore_errors=True)
    for rows, model, gates, decided in findings:
        for mode, found in decided.items():
            print(f"# {rows:,} {model} {gates} {mode}: " + "; ".join(
                f"{n} passed={p} Δ={e:.6g} p={pv if pv is None else f'{pv:.3g}'}" for n, p, e, pv in found))


def _row(rows: int, model: str, gates: str, mode: str, r: dict, floor: dict) -> None:
    print(f"{rows:>12,} {model:>5} {gates:>6} {mode:>10} {r['seconds']:>9.2f} {rows / r['seconds']:>12,.0f} "
          f"{r['peak_mb']:>9,.0f} {r['seconds'] / floor['seconds']:>8.2f}  {r.get('decision', '')}", flush=True)


if __name__ == "__main__":
    main()
