"""Which test should decide a mean_score gate? Its size exactly at the margin, measured.

    python benchmarks/bench_mean_score.py [--sims 2000] [--quick]

Two tables, each the share of candidates APPROVED when the candidate is exactly at the
non-inferiority margin (true Δ = −margin; superiority: Δ = 0), one-sided alpha = 0.05, decided
by the lower end of the 90 % interval; a gate that says "inconclusive" (too little evidence)
does not approve. It must stay ≤ 0.05 (up to the lattice of a discrete statistic).

1. 0/1 scores (pass/fail), EXACT sizes: every 2×2 table (b only-candidate, c only-production
   passes) is enumerated with its multinomial probability, so there is no Monte Carlo error.
   ``tango`` is what decides (the accuracy machinery: Tango's score interval, as
   gates.mean_score.compare_mean_score runs it), ``paired t`` the alternative it replaced (the
   per-row loss path on the same moments, Hall's correction included). ``discordant`` is the
   share of examples on which the two systems disagree: few discordant pairs is where a test
   that estimates its variance from them fails.
2. Graded scores (a judge's grade in quarters, and on a 1–10 scale rescaled to 0–1), Monte Carlo:
   the paired t on moments (Hall's correction) decides, with a floor under its variance at the
   margin and an information rule (gates.mean_score); beside it the paired t alone. The
   candidate drops one step on some examples and gains one on a share ``gains`` of the others;
   ``gains`` 0 (a candidate that is never better) is where the floor matters, few examples
   differing where the rule does. ± is one Monte Carlo standard error.

Measured (``--sims 2000``, 436 s on 2 shared cores): 0/1 scores, Tango at most 0.058 (n = 100,
margin 0.1, 10 % discordant) where the paired t reached 0.36 (n = 50, margin 0.02, 2 %
discordant) and 0.12 (n = 100–200, margin 0.05, 5 %); graded scores, the gate at most 0.0565 ±
0.005 from 100 examples on, 0.071 ± 0.006 at 50 (quarters, margin 0.05) — the paired t alone
reached 0.0995 (50 examples, a candidate never better) and 0.0745 (100, margin 0.02).

Not a test: it measures (tests/test_mean_score.py checks one cell of each at small scale).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy import stats as ss  # noqa: E402

from mlgate.gates.mean_score import compare_mean_score, score_columns  # noqa: E402
from mlgate.gates.stats import PairedMoments, compare_loss  # noqa: E402

ALPHA = 0.05
LEVEL = 1 - 2 * ALPHA


def _passes(cmp, null) -> bool:
    return not cmp.undefined and not cmp.insufficient and cmp.confidence_interval.low > null


def _moments(b: int, c: int, n: int) -> PairedMoments:
    cand = np.r_[np.ones(b), np.zeros(c), np.ones(n - b - c)]
    prod = np.r_[np.zeros(b), np.ones(c), np.ones(n - b - c)]
    return PairedMoments.from_columns(*score_columns(cand, prod))


def tango(b, c, n, null) -> bool:
    return _passes(compare_mean_score(_moments(b, c, n), null=null, alternative="greater", confidence_level=LEVEL), null)


def paired_t(b, c, n, null) -> bool:
    cand = np.r_[np.ones(b), np.zeros(c), np.ones(n - b - c)]
    prod = np.r_[np.zeros(b), np.ones(c), np.ones(n - b - c)]
    losses = PairedMoments.from_columns(-cand, -prod)  # higher-is-better scores as losses
    return _passes(compare_loss(losses, "mean_score", null=null, confidence_level=LEVEL), null)


def exact_size(decides, n: int, margin: float, discordant: float, tol: float = 1e-10) -> float:
    p_b, p_c = (discordant - margin) / 2, (discordant + margin) / 2
    b_max = int(ss.binom.isf(tol, n, p_b)) + 1 if p_b > 0 else 0
    c_max = int(ss.binom.isf(tol, n, p_c)) + 1
    total = 0.0
    for b in range(min(b_max, n) + 1):
        for c in range(min(c_max, n - b) + 1):
            pr = math.exp(ss.multinomial.logpmf([b, c, n - b - c], n, [p_b, p_c, 1 - discordant]))
            if pr >= tol and decides(b, c, n, -margin):
                total += pr
    return total


def binary_table(ns, margins) -> None:
    print("1. 0/1 scores: exact P(approve) at the margin (alpha 0.05)")
    print(f"{'n':>5} {'margin':>7} {'discordant':>10} {'tango':>8} {'paired t':>9}")
    worst = {"tango": 0.0, "paired t": 0.0}
    for n in ns:
        for m in margins:
            for psi in sorted({max(m, 0.02), m + 0.02, 0.1, 0.3}):
                a, t = exact_size(tango, n, m, psi), exact_size(paired_t, n, m, psi)
                worst["tango"], worst["paired t"] = max(worst["tango"], a), max(worst["paired t"], t)
                flag = "  <- paired t too liberal" if t > 0.07 else ""
                print(f"{n:>5} {m:>7.2f} {psi:>10.2f} {a:>8.4f} {t:>9.4f}{flag}", flush=True)
    print(f"worst: tango {worst['tango']:.4f}, paired t {worst['paired t']:.4f}\n")


def graded_pair(rng, size, scale, weights, p_drop, p_gain):
    """Production's grade on ``scale``; the candidate one step lower with p_drop (above the
    bottom), one step higher with p_gain (where it did not drop, below the top)."""
    step = scale[1] - scale[0]
    prod = rng.choice(scale, size, p=weights)
    drop = (rng.random(size) < p_drop) & (prod > scale[0])
    gain = ~drop & (prod < scale[-1]) & (rng.random(size) < p_gain)
    return prod - step * drop + step * gain, prod


def solve_drop(scale, weights, margin, p_gain) -> float:
    """p_drop that puts E[Δ] at −margin (see graded_pair): −s·P(>min)·d + s·g·(P(<max) − d·P(min<·<max))."""
    step = scale[1] - scale[0]
    w = np.asarray(weights)
    above, below, inner = w[1:].sum(), w[:-1].sum(), w[1:-1].sum()
    return (margin + step * p_gain * below) / (step * above + step * p_gain * inner)


def graded_table(sims: int, ns, seed: int = 0) -> None:
    print("2. graded scores: Monte Carlo P(approve) at the margin; the gate (paired t with Hall's correction, the")
    print("   variance floor and the information rule of gates.mean_score) beside the paired t alone")
    print(f"{'scale':>9} {'n':>5} {'margin':>7} {'gains':>6} {'gate':>16} {'paired t alone':>16}")
    rng = np.random.default_rng(seed)
    quarters = (np.linspace(0, 1, 5), [0.1, 0.15, 0.25, 0.25, 0.25])
    tenths = (np.linspace(0, 1, 10), [0.02, 0.03, 0.05, 0.08, 0.1, 0.12, 0.15, 0.17, 0.15, 0.13])
    worst = 0.0
    for name, (scale, weights) in (("quarters", quarters), ("1-10", tenths)):
        for n in ns:
            for margin, p_gain in ((0.0, 0.1), (0.02, 0.0), (0.02, 0.05), (0.05, 0.0), (0.05, 0.05)):
                p_drop = solve_drop(scale, weights, margin, p_gain)
                gate = plain = 0
                for _ in range(sims):
                    cand, prod = graded_pair(rng, n, scale, weights, p_drop, p_gain)
                    cmp = compare_mean_score(PairedMoments.from_columns(*score_columns(cand, prod)), null=-margin,
                                             alternative="greater", confidence_level=LEVEL)
                    gate += _passes(cmp, -margin)
                    losses = PairedMoments.from_columns(-cand, -prod)
                    plain += _passes(compare_loss(losses, "mean_score", null=-margin, confidence_level=LEVEL), -margin)
                rate, other = gate / sims, plain / sims
                worst = max(worst, rate)
                print(f"{name:>9} {n:>5} {margin:>7.2f} {p_gain:>6.2f} {_mc(rate, sims):>16} {_mc(other, sims):>16}",
                      flush=True)
    print(f"worst (gate): {worst:.4f}")


def _mc(rate: float, sims: int) -> str:
    return f"{rate:.4f} ± {math.sqrt(rate * (1 - rate) / sims):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000, help="Monte Carlo holdouts per graded cell")
    parser.add_argument("--quick", action="store_true", help="a smaller grid")
    args = parser.parse_args()
    start = time.perf_counter()
    ns = (50, 100, 200) if args.quick else (50, 100, 200, 500)
    binary_table(ns, (0.0, 0.02, 0.05, 0.1))
    graded_table(args.sims, ns)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
