"""Multiclass roc_auc (one-vs-rest, macro and weighted): the paired test's coverage and its error at the margin.

    python benchmarks/bench_multiclass_auc.py [--sims 2000] [--truth-rows 1000000] [--only NAME]

Each regime draws ``--sims`` holdouts of n rows, each row's class from the regime's
prevalences, and two correlated models' probabilities (softmax of a shared logit noise plus
each model's own, the true class's logit raised by the model's gain; the candidate's gain is
below production's, so the true Δ is negative, as at a non-inferiority margin). The true Δ of
each average is the difference of the one-vs-rest AUCs on ``--truth-rows`` fresh rows.

Per regime and average the table prints:

* ``cover``: the share of 90 % two-sided intervals (the gate's, alpha = 0.05) that hold the true Δ;
* ``err@m``: the share of holdouts a non_inferior gate with its margin exactly at the true Δ
  would pass (``compare_auc_ovr`` with null = true Δ: lower end above it and not insufficient)
  — the one-sided error, which must be ≤ alpha = 0.05 within Monte Carlo error (``mc se``);
  ``raw`` is the same share ignoring the minimum-information rule;
* ``short``: the share the minimum-information rule made inconclusive (the regimes named by
  production's AUC probe it: near AUC 1 the raw error grows and the rule must catch it);
* ``deff``: the mean design effect (grouped regime only).

Not a test: it measures, it does not assert (tests/test_multiclass_auc.py checks coverage and
the margin error on 300 holdouts of two regimes).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from mlgate.gates.stats import compare_auc_ovr, ovr_roc_auc  # noqa: E402

ALPHA = 0.05
LEVEL = 1 - 2 * ALPHA


@dataclass(frozen=True)
class Regime:
    name: str
    n: int
    prevalence: tuple
    gain_candidate: float = 1.0
    gain_production: float = 1.15
    noise: float = 0.7
    rows_per_group: int = 1  # > 1: rows come in groups sharing a random effect

    @property
    def k(self) -> int:
        return len(self.prevalence)


def _balanced(k):
    return tuple(np.full(k, 1.0 / k))


def _rare(k, share):
    return tuple(np.r_[np.full(k - 1, (1 - share) / (k - 1)), share])


REGIMES = [
    Regime("K=3 small", 150, _balanced(3)),
    Regime("K=3 large", 3000, _balanced(3)),
    Regime("K=3 rare 3% small", 400, _rare(3, 0.03)),
    Regime("K=3 rare 3% large", 4000, _rare(3, 0.03)),
    Regime("K=10 small", 300, _balanced(10)),
    Regime("K=10 large", 5000, _balanced(10)),
    Regime("K=10 rare 1% small", 1000, _rare(10, 0.01)),
    Regime("K=10 rare 1% large", 10000, _rare(10, 0.01)),
    Regime("K=3 AUC 0.97", 600, _balanced(3), gain_candidate=2.1, gain_production=2.3, noise=0.5),
    Regime("K=3 AUC 0.996", 600, _balanced(3), gain_candidate=3.0, gain_production=3.2, noise=0.5),
    Regime("K=3 near-perfect", 600, _balanced(3), gain_candidate=4.3, gain_production=4.5, noise=0.5),
    Regime("K=10 near-perfect", 2000, _balanced(10), gain_candidate=4.3, gain_production=4.5, noise=0.5),
    Regime("K=10 AUC 0.975 rare 2%", 3000, _rare(10, 0.02), gain_candidate=2.5, gain_production=2.7, noise=0.5),
    Regime("K=4 grouped 5/group", 1000, _balanced(4), rows_per_group=5),
]


def draw(regime: Regime, n: int, rng):
    """(class per row, candidate proba, production proba, group per row or None)."""
    y = rng.choice(regime.k, n, p=np.asarray(regime.prevalence))
    shared = rng.normal(size=(n, regime.k))
    groups = None
    if regime.rows_per_group > 1:
        groups = np.arange(n) // regime.rows_per_group
        n_groups = int(groups[-1]) + 1
        # a group's rows are alike (hard or easy together) and lean to one class
        shared += 1.2 * rng.normal(size=(n_groups, regime.k))[groups]
        lean = rng.integers(0, regime.k, n_groups)[groups]
        y = np.where(rng.random(n) < 0.5, lean, y)
    out = []
    for gain in (regime.gain_candidate, regime.gain_production):
        logits = shared + regime.noise * rng.normal(size=(n, regime.k))
        if groups is not None:
            logits += 0.5 * rng.normal(size=(int(groups[-1]) + 1, regime.k))[groups]
        logits[np.arange(n), y] += gain
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        out.append(e / e.sum(axis=1, keepdims=True))
    return y, out[0], out[1], groups


def true_deltas(regime: Regime, rows: int, rng) -> dict:
    y, pc, pp, _ = draw(regime, rows, rng)
    return {a: ovr_roc_auc(y, pc, average=a) - ovr_roc_auc(y, pp, average=a) for a in ("macro", "weighted")}


def run(regime: Regime, sims: int, truth_rows: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    truth = true_deltas(regime, truth_rows, rng)
    tallies = {a: dict(cover=0, err=0, raw=0, short=0, used=0, deff=[]) for a in truth}
    start = time.perf_counter()
    for _ in range(sims):
        y, pc, pp, groups = draw(regime, regime.n, rng)
        if np.bincount(y, minlength=regime.k).min() < 2:
            continue  # undefined (a class with fewer than 2 rows): no interval to judge
        for average, true in truth.items():
            cmp = compare_auc_ovr(y, pc, pp, average=average, groups=groups, null=true, confidence_level=LEVEL)
            if cmp.undefined:
                continue
            t = tallies[average]
            t["used"] += 1
            low, high = cmp.confidence_interval
            t["cover"] += low <= true <= high
            t["raw"] += low > true
            t["err"] += low > true and not cmp.insufficient
            t["short"] += cmp.insufficient
            if groups is not None:
                t["deff"].append(cmp.groups.design_effect)
    seconds = time.perf_counter() - start
    lines = []
    for average, t in tallies.items():
        used = max(t["used"], 1)
        mc = math.sqrt(ALPHA * (1 - ALPHA) / used)
        deff = f"{np.nanmean(t['deff']):5.2f}" if t["deff"] else "    -"
        lines.append(f"{regime.name:<22} {regime.n:>6} {average:<8} {truth[average]:+.4f} {t['cover'] / used:6.3f} "
                     f"{t['err'] / used:6.3f} {t['raw'] / used:6.3f} {mc:6.4f} {t['short'] / used:6.3f} {deff} "
                     f"{t['used']:>5} {seconds / max(sims, 1) * 1e3:7.1f}")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--truth-rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="run the regimes whose name contains this text")
    args = ap.parse_args(argv)
    print(f"alpha {ALPHA} (90 % two-sided intervals), {args.sims} holdouts per regime, truth from "
          f"{args.truth_rows:,} rows")
    print(f"{'regime':<22} {'n':>6} {'average':<8} {'true Δ':>7} {'cover':>6} {'err@m':>6} {'raw':>6} {'mc se':>6} "
          f"{'short':>6} {'deff':>5} {'used':>5} {'ms/sim':>7}")
    for i, regime in enumerate(REGIMES):
        if args.only and args.only not in regime.name:
            continue
        for line in run(regime, args.sims, args.truth_rows, args.seed + i):
            print(line, flush=True)


if __name__ == "__main__":
    main()
