"""Drift watch: false alarms and detection against Evidently's default, and the cost at 10M rows.

    python benchmarks/bench_drift.py [--windows 500] [--sizes 20000 500] [--quick] [--resamples 1000]
                                     [--alpha 0.05] [--evidently-python /tmp/evd-venv/bin/python]
                                     [--rows 10000000] [--chunk 1000000] [--seed 20240617]

Every window is a fresh reference and a fresh current window of the same size, drawn from one
distribution: 10 numeric features (normal, lognormal, exponential, uniform, t₃, Poisson(3), gamma,
a two-normal mixture, rounded integers, beta(½, ½)) and 5 categorical ones (3, 5, 10 and 30 levels
with skewed shares, and a binary one).

mlgate's rule: per feature the distance's basic-bootstrap p-value against its threshold (0.1
normalised Wasserstein, 0.1 Jensen–Shannon), Holm across the 15 features at ``--alpha``; the
watch says drift when any feature drifts. Numbers are binned on 1000 reference-quantile bins
(``numeric_edges``), ``--resamples`` bootstrap resamples.

Evidently's default: ``DataDriftPreset()`` of Evidently 0.7 run in a subprocess (its own venv, by
default /tmp/evd-venv, made with ``python -m venv /tmp/evd-venv --system-site-packages &&
/tmp/evd-venv/bin/pip install evidently==0.7 'pandas<3'``), on the same windows passed as .npz
files. Its per-column rule depends on the *reference* size: above 1000 rows normed Wasserstein
≥ 0.1 (numbers with > 5 values) or Jensen–Shannon ≥ 0.1; up to 1000 rows K-S p ≤ 0.05, chi-squared
p < 0.05, or a Z-test for two values; dataset drift when ≥ 50 % of the columns drift. The same rule
is also re-implemented here from Evidently's source and the per-column agreement printed; when
the venv is missing or Evidently fails, the re-implementation stands in, and the header says so.

(a) False alarms: windows with no drift at all. The share of windows with any feature alarm,
    with a dataset-level drift verdict (mlgate: any feature; Evidently: ≥ 50 % of columns), and
    the per-column alarm rate by kind.
(b) Detection: the same windows with the normal feature shifted by 0.05 and 0.2 sd (its true
    normalised W1 is 0.5× and 2× the threshold): that feature flagged, any feature flagged, and
    the dataset verdict. Per-column decisions are per column in both tools, so the shifted
    column is judged alone and combined with the other 14 columns' decisions from (a).
(c) Cost at scale: 20 features (16 numeric, 4 categorical), a 1M-row reference and a 10M-row
    window streamed in 1M-row chunks, each in a fresh process whose peak RSS is read with
    ``wait4``: ``source`` only makes the chunks (what any reader hands over), ``floor`` adds one
    ``np.histogram`` (numbers, on the same edges) or ``np.bincount`` (categories) per column and
    chunk, ``mlgate`` sketches (edges from the first 200,000 reference rows, as the watch) and
    computes the 20 distances.

Not a test: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlgate.gates.drift.distances import categorical_distance, drifted, numeric_distance
from mlgate.gates.drift.sketches import CategoricalSketch, NumericSketch, numeric_edges

THRESHOLD = 0.1
NUMERIC = ["normal", "lognormal", "exponential", "uniform", "t3", "poisson3", "gamma2", "mixture", "integers", "beta"]
CATEGORICAL = {"cat3": [0.6, 0.3, 0.1], "cat5": [0.3, 0.25, 0.2, 0.15, 0.1],
               "cat10": list(1 / np.arange(1, 11) / np.sum(1 / np.arange(1, 11))),
               "cat30": list(1 / np.arange(1, 31) ** 1.1 / np.sum(1 / np.arange(1, 31) ** 1.1)), "binary": [0.8, 0.2]}
SHIFTS = (0.05, 0.2)  # sd of the normal feature: 0.5× and 2× the threshold


def numeric_column(name: str, rng, n: int) -> np.ndarray:
    if name == "normal":
        return rng.normal(0, 1, n)
    if name == "lognormal":
        return rng.lognormal(0, 0.75, n)
    if name == "exponential":
        return rng.exponential(1, n)
    if name == "uniform":
        return rng.uniform(0, 1, n)
    if name == "t3":
        return rng.standard_t(3, n)
    if name == "poisson3":
        return rng.poisson(3, n).astype(np.float64)
    if name == "gamma2":
        return rng.gamma(2, 1, n)
    if name == "mixture":
        return np.where(rng.random(n) < 0.7, rng.normal(0, 1, n), rng.normal(4, 0.5, n))
    if name == "integers":
        return np.round(rng.normal(100, 15, n))
    return rng.beta(0.5, 0.5, n)


def draw(rng, n: int) -> dict[str, np.ndarray]:
    out = {name: numeric_column(name, rng, n) for name in NUMERIC}
    out.update({name: rng.choice(len(p), n, p=p) for name, p in CATEGORICAL.items()})
    return out


# ---- mlgate's rule


def mlgate_distance(name: str, ref: np.ndarray, cur: np.ndarray, seed: int, s) -> object:
    if name in CATEGORICAL:
        r, c = CategoricalSketch(), CategoricalSketch()
        r.add(ref)
        c.add(cur)
        return categorical_distance(r, c, threshold=THRESHOLD, alpha=s.alpha, resamples=s.resamples, seed=seed)
    edges = numeric_edges(ref)
    r, c = NumericSketch(edges), NumericSketch(edges)
    r.add(ref)
    c.add(cur)
    return numeric_distance(r, c, threshold=THRESHOLD, alpha=s.alpha, resamples=s.resamples, seed=seed)


# ---- Evidently's default rule, re-implemented from its source (evidently/legacy/calculations/stattests)


def evidently_rule(name: str, ref: np.ndarray, cur: np.ndarray) -> tuple[bool, str]:
    values = np.unique(np.concatenate([ref, cur]))
    numeric = name not in CATEGORICAL
    if ref.size <= 1000:
        if numeric and values.size > 5:
            return bool(stats.ks_2samp(ref, cur).pvalue <= 0.05), "K-S"
        if values.size > 2:
            r = np.array([np.sum(ref == v) for v in values])
            c = np.array([np.sum(cur == v) for v in values])
            with np.errstate(divide="ignore", invalid="ignore"):
                p = stats.chisquare(c, r * (cur.size / ref.size)).pvalue
            return bool(p < 0.05), "chi-squared"
        if values.size == 1:
            return False, "Z-test"
        p1, p2 = np.mean(ref != values[0]), np.mean(cur != values[0])
        pooled = (p1 * ref.size + p2 * cur.size) / (ref.size + cur.size)
        z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / ref.size + 1 / cur.size))
        return bool(2 * (1 - stats.norm.cdf(abs(z))) < 0.05), "Z-test"
    if numeric and values.size > 5:
        return bool(stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001) >= THRESHOLD), "Wasserstein (normed)"
    r = np.array([np.sum(ref == v) for v in values]) / ref.size
    c = np.array([np.sum(cur == v) for v in values]) / cur.size
    return bool(jensenshannon(r, c) >= THRESHOLD), "Jensen-Shannon"


# ---- Evidently itself, in its own interpreter

WORKER = r"""
import json, os, re, sys, warnings
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # Evidently's prints must not reach the protocol
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
import evidently
out.write(json.dumps({"version": evidently.__version__}) + "\n"); out.flush()

def run(ref, cur, numeric, categorical):
    dd = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snap = Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(cur, data_definition=dd), Dataset.from_pandas(ref, data_definition=dd))
    d = snap.dict()
    cols = {}
    for t in d["tests"]:
        m = re.match(r"Value Drift for column (.+)$", t["name"])
        if m:
            method = re.search(r"method is (.+?)\. The drift threshold", t["description"])
            cols[m.group(1)] = [str(t["status"]).endswith("FAIL"), method.group(1) if method else "?"]
    share = [m["value"]["share"] for m in d["metrics"] if m["metric_id"].startswith("DriftedColumnsCount")][0]
    return cols, float(share)

for line in sys.stdin:
    req = json.loads(line)
    data = np.load(req["path"])
    def frame(side, names):
        return pd.DataFrame({n: (data[f"{side}:{n}"].astype(float) if n in req["numeric"]
                                 else np.char.add("v", data[f"{side}:{n}"].astype(str)).astype(object)) for n in names})
    names = req["numeric"] + req["categorical"]
    cols, share = run(frame("ref", names), frame("cur", names), req["numeric"], req["categorical"])
    shifted = {}
    for key in req["shifted"]:
        r = pd.DataFrame({"normal": data["ref:normal"]})
        c = pd.DataFrame({"normal": data[f"cur:{key}"]})
        shifted[key] = run(r, c, ["normal"], [])[0]["normal"][0]
    os.remove(req["path"])
    out.write(json.dumps({"columns": cols, "share": share, "shifted": shifted}) + "\n"); out.flush()
"""


class Evidently:
    """Evidently 0.7 in a subprocess; None-like when it cannot start (the re-implementation stands in)."""

    def __init__(self, python: str):
        self.proc, self.version, self.why = None, None, ""
        if not Path(python).exists():
            self.why = f"{python} not found"
            return
        self.proc = subprocess.Popen([python, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        hello = self.proc.stdout.readline()
        if not hello:
            self.proc, self.why = None, "the worker did not start (import failed)"
            return
        self.version = json.loads(hello)["version"]

    def send(self, path: str, shifted: list[str]) -> None:
        self.proc.stdin.write(json.dumps({"path": path, "numeric": NUMERIC, "categorical": list(CATEGORICAL),
                                          "shifted": shifted}) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the Evidently worker died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc:
            self.proc.stdin.close()
            self.proc.wait()


# ---- (a) and (b)


def simulate(n: int, s, evidently: Evidently, rng_seed) -> dict:
    """Per window: every tool's per-column flags on the null window and the shifted column's flags."""
    names = NUMERIC + list(CATEGORICAL)
    keys = [f"normal+{d:g}" for d in SHIFTS]
    rec = {k: [] for k in ("ml", "ml_shift", "ev", "ev_shift", "ev_share", "re", "re_shift", "ev_methods")}
    tmp = tempfile.mkdtemp(prefix="bench-drift-")
    for w, seed in enumerate(np.random.SeedSequence(rng_seed).spawn(s.windows)):
        rng = np.random.default_rng(seed)
        ref, cur = draw(rng, n), draw(rng, n)
        moved = {k: cur["normal"] + d for k, d in zip(keys, SHIFTS)}  # the same rows, shifted
        if evidently.proc:
            path = os.path.join(tmp, f"w{w}.npz")
            np.savez(path, **{f"ref:{k}": v for k, v in ref.items()}, **{f"cur:{k}": v for k, v in cur.items()},
                     **{f"cur:{k}": v for k, v in moved.items()})
            evidently.send(path, keys)  # Evidently works while mlgate does
        ds = [mlgate_distance(name, ref[name], cur[name], i, s) for i, name in enumerate(names)]
        rec["ml"].append(drifted(ds, s.alpha))
        rec["ml_shift"].append([drifted([mlgate_distance("normal", ref["normal"], moved[k], 0, s), *ds[1:]], s.alpha)
                                for k in keys])
        rules = [evidently_rule(name, ref[name], cur[name]) for name in names]
        rec["re"].append([f for f, _ in rules])
        rec["re_shift"].append([evidently_rule("normal", ref["normal"], moved[k])[0] for k in keys])
        if evidently.proc:
            got = evidently.receive()
            rec["ev"].append([got["columns"][name][0] for name in names])
            rec["ev_methods"].append(sorted({m for _, m in got["columns"].values()}))
            rec["ev_share"].append(got["share"])
            rec["ev_shift"].append([got["shifted"][k] for k in keys])
        if (w + 1) % 50 == 0:
            print(f"  {n:,} rows: {w + 1} windows", file=sys.stderr, flush=True)
    os.rmdir(tmp)
    return {k: np.array(v, dtype=object if k == "ev_methods" else None) for k, v in rec.items()}


def rate(x) -> str:
    x = np.asarray(x, dtype=float)
    r = x.mean()
    return f"{r:.4f} ± {math.sqrt(max(r * (1 - r), 1e-12) / x.size):.4f}"


def report(n: int, rec: dict, have_evidently: bool) -> None:
    numeric = np.arange(len(NUMERIC))
    cats = np.arange(len(NUMERIC), len(NUMERIC) + len(CATEGORICAL))
    tools = [("mlgate (Holm, lower > τ)", rec["ml"], rec["ml"].any(axis=1), rec["ml_shift"])]
    if have_evidently:
        tools.append(("Evidently DataDriftPreset", rec["ev"], np.array(rec["ev_share"]) >= 0.5, rec["ev_shift"]))
    tools.append(("Evidently rule, re-implemented", rec["re"], rec["re"].mean(axis=1) >= 0.5, rec["re_shift"]))
    print(f"\n(a) {n:,} rows a window, {len(rec['ml']):,} windows without drift: false alarms")
    print(f"{'rule':<31} {'any feature':>17} {'dataset verdict':>17} {'per numeric col':>17} {'per categ. col':>17}")
    for name, flags, verdict, _ in tools:
        flags = np.asarray(flags, dtype=bool)
        verdict = flags.any(axis=1) if name.startswith("mlgate") else verdict
        print(f"{name:<31} {rate(flags.any(axis=1)):>17} {rate(verdict):>17} {rate(flags[:, numeric].ravel()):>17} "
              f"{rate(flags[:, cats].ravel()):>17}")
    if have_evidently:
        agree = np.mean(np.asarray(rec["ev"], bool) == np.asarray(rec["re"], bool))
        methods = sorted({m for ms in rec["ev_methods"] for m in ms})
        print(f"  Evidently's methods here: {', '.join(methods)}; the re-implementation agrees on {agree:.2%} "
              f"of column decisions")
    print(f"\n(b) {n:,} rows: the normal feature shifted (true normalised W1 = shift in sd); threshold {THRESHOLD}")
    print(f"{'rule':<31} {'shift':>6} {'that feature':>17} {'any feature':>17} {'dataset verdict':>17}")
    for name, flags, _, shifted in tools:
        flags = np.asarray(flags, dtype=bool)
        for j, d in enumerate(SHIFTS):
            if name.startswith("mlgate"):
                fam = np.array([row[j] for row in shifted], dtype=bool)
                col, anyf, verdict = fam[:, 0], fam.any(axis=1), fam.any(axis=1)
            else:
                col = np.array([row[j] for row in shifted], dtype=bool)
                others = flags[:, 1:]
                anyf = col | others.any(axis=1)
                verdict = (col + others.sum(axis=1)) / flags.shape[1] >= 0.5
            print(f"{name:<31} {d:>6g} {rate(col):>17} {rate(anyf):>17} {rate(verdict):>17}")


# ---- (c) cost at scale

SCALE_NUMERIC, SCALE_CATEGORICAL = 16, 4


def scale_chunk(seed: int, rows: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    nums = [numeric_column(NUMERIC[j % len(NUMERIC)], rng, rows) for j in range(SCALE_NUMERIC)]
    cats = [rng.choice(len(p), rows, p=p) for p in list(CATEGORICAL.values())[:SCALE_CATEGORICAL]]
    return nums, cats


def scale_child(mode: str, rows: int, chunk: int, ref_rows: int, resamples: int) -> dict:
    import pandas as pd

    timing = {"source": 0.0, "work": 0.0, "distances": 0.0}
    starts = [(1, i, min(chunk, ref_rows - i)) for i in range(0, ref_rows, chunk)]
    starts += [(2, i, min(chunk, rows - i)) for i in range(0, rows, chunk)]
    edges, sketches = None, None
    for side, start, size in starts:
        t = time.perf_counter()
        nums, cats = scale_chunk(side * 1_000_003 + start, size)
        if mode == "mlgate":
            cats = [pd.Series(pd.Categorical.from_codes(c, [f"v{k}" for k in range(c.max() + 1)])) for c in cats]
        timing["source"] += time.perf_counter() - t
        t = time.perf_counter()
        if mode == "source":
            pass
        elif edges is None:  # the first reference chunk places the edges
            edges = [numeric_edges(x[:200_000]) for x in nums]
        if mode == "floor":
            for x, e in zip(nums, edges):
                np.histogram(x, np.concatenate(([-np.inf], e, [np.inf])))
            for c in cats:
                np.bincount(c)
        elif mode == "mlgate":
            if sketches is None:
                sketches = {k: ([NumericSketch(e) for e in edges], [CategoricalSketch() for _ in cats]) for k in (1, 2)}
            for sk, x in zip(sketches[side][0], nums):
                sk.add(x)
            for sk, c in zip(sketches[side][1], cats):
                sk.add(c)
        timing["work"] += time.perf_counter() - t
    if mode == "mlgate":
        t = time.perf_counter()
        ds = [numeric_distance(r, c, threshold=THRESHOLD, resamples=resamples, seed=i)
              for i, (r, c) in enumerate(zip(sketches[1][0], sketches[2][0]))]
        ds += [categorical_distance(r, c, threshold=THRESHOLD, resamples=resamples, seed=i)
               for i, (r, c) in enumerate(zip(sketches[1][1], sketches[2][1]))]
        drifted(ds, 0.05)
        timing["distances"] = time.perf_counter() - t
        timing["n"] = sketches[2][0][0].n
    return timing


def measure(mode: str, s) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, "--rows", str(s.rows), "--chunk",
                             str(s.chunk), "--resamples", str(s.resamples)], stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{mode} failed with status {status}")
    info = json.loads(out)
    info["peak_mb"] = usage.ru_maxrss / 1024
    return info


def scale(s) -> None:
    ref_rows = min(1_000_000, s.rows // 10)
    print(f"\n(c) {SCALE_NUMERIC + SCALE_CATEGORICAL} features ({SCALE_NUMERIC} numeric, {SCALE_CATEGORICAL} "
          f"categorical): a {ref_rows:,}-row reference and a {s.rows:,}-row window in {s.chunk:,}-row chunks, "
          f"{s.resamples} resamples; each in a fresh process")
    print(f"{'process':<8} {'make chunks s':>14} {'bin/sketch s':>13} {'distances s':>12} {'total s':>8} "
          f"{'rows/s binned':>14} {'peak MB':>8}")
    floor = None
    for mode in ("source", "floor", "mlgate"):
        info = measure(mode, s)
        total = info["source"] + info["work"] + info["distances"]
        binned = f"{(s.rows + ref_rows) / info['work']:,.0f}" if mode != "source" else "-"
        print(f"{mode:<8} {info['source']:>14.2f} {info['work']:>13.2f} {info['distances']:>12.2f} {total:>8.2f} "
              f"{binned:>14} {info['peak_mb']:>8.0f}", flush=True)
        if mode == "floor":
            floor = info
    print(f"  mlgate's sketching ÷ the floor's one histogram pass: {info['work'] / floor['work']:.2f}; sketches + "
          f"distances {info['work'] + info['distances']:.2f} s against the floor's {floor['work']:.2f} s; peak RSS "
          f"{info['peak_mb'] - floor['peak_mb']:+.0f} MB against the floor")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=500)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 500])
    ap.add_argument("--quick", action="store_true", help="30 windows, a 1M-row window for (c)")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--evidently-python", default="/tmp/evd-venv/bin/python")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--chunk", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20240617)
    ap.add_argument("--child", choices=["source", "floor", "mlgate"])
    s = ap.parse_args(argv)
    if s.child:
        print(json.dumps(scale_child(s.child, s.rows, s.chunk, min(1_000_000, s.rows // 10), s.resamples)))
        return
    if s.quick:
        s.windows, s.rows, s.chunk = 30, 1_000_000, 100_000
    start = time.perf_counter()
    evidently = Evidently(s.evidently_python)
    source = (f"Evidently {evidently.version} DataDriftPreset() in {s.evidently_python}" if evidently.proc else
              f"Evidently could not run ({evidently.why}): its documented default rule, re-implemented, stands in")
    print(f"{s.windows:,} windows a size; 10 numeric + 5 categorical features; mlgate at alpha {s.alpha}, "
          f"{s.resamples} resamples, 1000 bins; against {source}")
    try:
        for i, n in enumerate(s.sizes):
            t = time.perf_counter()
            rec = simulate(n, s, evidently, [s.seed, i])
            report(n, rec, evidently.proc is not None)
            print(f"  ({time.perf_counter() - t:.0f} s)", flush=True)
    finally:
        evidently.close()
    scale(s)
    print(f"\n{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
