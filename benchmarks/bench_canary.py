"""Canary judge: wrong promotions at the margin and rows to rollback, confidence sequence against peeking.

    python benchmarks/bench_canary.py [--sims 2000] [--quick] [--max-rows 20000] [--batch 100]
                                      [--min-rows 1000] [--margin 0.01] [--alpha 0.05]
                                      [--tuning-rows 5000] [--block 200] [--seed 20240616]

Every simulated canary is a stream of labelled rows in time order; the judge looks after every
``--batch`` rows up to ``--max-rows``, gives no verdict before ``--min-rows``, and applies the
non_inferior rule with margin m: promote when the lower bound clears −m, roll back when the upper
bound falls below −m (Δ is oriented so that positive means the candidate is better). The judge's
interval is ``confidence_sequence`` / ``two_sample_confidence_sequence`` at alpha = 2·0.05
(DESIGN: "a confidence sequence at level 1 − 2·alpha"), so each side errs about 0.05. Against it:
the fixed-sample one-sided t-test at 0.05 re-run at every look (what peeking rollout tools do),
and the same test run once at ``--max-rows``.

(a) Shadow mode, candidate exactly at the margin (true Δ = −m): the share wrongly promoted
    (must be ≤ 0.05 within Monte Carlo error; its standard error is printed), and the share
    rolled back (also an error at exactly −m, the harmless one).
(b) Shadow mode, candidate harmful by m beyond the bound (true Δ = −2m): rows until rollback
    (median, 90th percentile; "never" when fewer than that share roll back by ``--max-rows``),
    the share rolled back by ``--max-rows``, and wrong promotions. For the sequence: its
    half-width at ``--max-rows`` at the true per-unit sd, and the rows at which that half-width
    reaches m (about where a candidate at −2m gets rolled back).
(c) Split mode (50/50 allocation, one model per request), the same two tables.

Per-request values: "log_loss-like" — shadow: Δ − 0.3·(E − 1) with E ~ Exp(1), continuous and
left-skewed (the candidate is now and then much worse); split: per-row log losses 0.35·E for
production and (0.35 − Δ)·E for the candidate, scored as −loss. "accuracy-like" — shadow: the
difference of two correctness flags in {−1, 0, 1}, the models disagreeing on 10 % of requests;
split: correctness flags with accuracy 0.85 for production and 0.85 + Δ for the candidate.

Canaries are simulated in blocks of ``--block`` (a block × rows matrix bounds the memory); the
data and the t-tests are vectorised over the block.

Not a test: it measures, it does not assert (tests/stats/test_sequential.py checks the coverage
at small scale).
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
from scipy import stats  # noqa: E402

from mlgate.gates.stats import confidence_sequence, two_sample_confidence_sequence  # noqa: E402

LEVEL_ALPHA = 0.05  # one-sided, per gate


@dataclass(frozen=True)
class Settings:
    sims: int
    max_rows: int
    batch: int
    min_rows: int
    margin: float
    alpha: float
    tuning_rows: int
    block: int

    @property
    def looks(self) -> np.ndarray:
        """Row counts at which the judge looks (the first at or after min_rows)."""
        first = math.ceil(self.min_rows / self.batch) * self.batch
        return np.arange(first, self.max_rows + 1, self.batch)


@dataclass(frozen=True)
class Outcome:
    """Per simulated canary: +1 promoted, −1 rolled back, 0 neither by max_rows; and at which rows."""

    decision: np.ndarray
    rows: np.ndarray


# ---- data


def shadow_values(kind: str, delta: float, rng, shape) -> np.ndarray:
    if kind == "log_loss-like":
        return delta - 0.3 * (rng.exponential(1.0, shape) - 1.0)
    u = rng.random(shape)
    up, down = (0.10 + delta) / 2, (0.10 - delta) / 2
    return np.where(u < up, 1.0, np.where(u < up + down, -1.0, 0.0))


def split_values(kind: str, delta: float, rng, shape) -> tuple[np.ndarray, np.ndarray]:
    treated = rng.random(shape) < 0.5
    if kind == "log_loss-like":
        loss = rng.exponential(1.0, shape) * np.where(treated, 0.35 - delta, 0.35)
        return -loss, treated
    return (rng.random(shape) < np.where(treated, 0.85 + delta, 0.85)).astype(np.float64), treated


def per_unit_sd(kind: str, mode: str, delta: float) -> float:
    """The sd the sequence's width scales with, at the true parameters (for the half-width column)."""
    if mode == "shadow":
        return 0.3 if kind == "log_loss-like" else math.sqrt(0.10 - delta * delta)
    if kind == "log_loss-like":
        var_c, var_p = (0.35 - delta) ** 2, 0.35 ** 2
    else:
        var_c, var_p = (0.85 + delta) * (0.15 - delta), 0.85 * 0.15
    return math.sqrt(2 * var_c + 2 * var_p)


# ---- the three deciders, each giving lower/upper at the looks for a block of canaries


def sequence_bounds(x, treated, s: Settings):
    """The library's own sequence, one canary at a time (each call is vectorised over rows), so the
    benchmark measures the code the judge runs rather than a copy of its formula."""
    idx = s.looks - 1
    lower = np.empty((len(x), len(idx)))
    upper = np.empty_like(lower)
    for i in range(len(x)):
        if treated is None:
            cs = confidence_sequence(x[i], alpha=2 * s.alpha, tuning_rows=s.tuning_rows)
        else:
            cs = two_sample_confidence_sequence(x[i], treated[i], alpha=2 * s.alpha, tuning_rows=s.tuning_rows)
        lower[i], upper[i] = cs.lower[idx], cs.upper[idx]
    return lower, upper


def t_bounds(x, treated, s: Settings):
    """One-sided t bounds at level 1 − alpha on each side, at every look (paired, or Welch)."""
    idx = s.looks - 1
    if treated is None:
        n = s.looks.astype(np.float64)
        mean, var = _moments_at(x, np.ones_like(x, dtype=bool), idx)[1:]
        se2, df = var / n, n - 1
    else:
        n_c, mean_c, var_c = _moments_at(x, treated, idx)
        n_p, mean_p, var_p = _moments_at(x, ~treated, idx)
        a, b = var_c / n_c, var_p / n_p
        mean, se2 = mean_c - mean_p, a + b
        with np.errstate(divide="ignore", invalid="ignore"):
            df = se2 ** 2 / (a * a / (n_c - 1) + b * b / (n_p - 1))
    half = stats.t.ppf(1 - s.alpha, df) * np.sqrt(se2)
    return mean - half, mean + half


def _moments_at(x, member, idx):
    """Count, mean and sample variance of x[member] over the first rows, at the given indices."""
    y = np.where(member, x, 0.0)
    n = np.cumsum(member, axis=1)[:, idx].astype(np.float64)
    s1 = np.cumsum(y, axis=1)[:, idx]
    s2 = np.cumsum(y * y, axis=1)[:, idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        return n, s1 / n, (s2 - s1 * s1 / n) / (n - 1)


def first_decision(lower, upper, looks, margin) -> Outcome:
    """The judge stops at the first look whose interval clears −m on either side."""
    promote, rollback = lower > -margin, upper < -margin
    decided = promote | rollback
    anywhere = decided.any(axis=1)
    first = np.argmax(decided, axis=1)
    rows_at = np.where(anywhere, looks[first], np.iinfo(np.int64).max)
    chosen = promote[np.arange(len(first)), first]
    decision = np.where(anywhere, np.where(chosen, 1, -1), 0)
    return Outcome(decision, rows_at)


# ---- one scenario


METHODS = ("confidence sequence", "t-test, every look", "t-test, once at max")


def scenario(kind: str, mode: str, delta: float, s: Settings, rng) -> dict[str, Outcome]:
    parts = {name: [] for name in METHODS}
    for start in range(0, s.sims, s.block):
        shape = (min(s.block, s.sims - start), s.max_rows)
        if mode == "shadow":
            x, treated = shadow_values(kind, delta, rng, shape), None
        else:
            x, treated = split_values(kind, delta, rng, shape)
        lower, upper = sequence_bounds(x, treated, s)
        parts[METHODS[0]].append(first_decision(lower, upper, s.looks, s.margin))
        lower, upper = t_bounds(x, treated, s)
        parts[METHODS[1]].append(first_decision(lower, upper, s.looks, s.margin))
        parts[METHODS[2]].append(first_decision(lower[:, -1:], upper[:, -1:], s.looks[-1:], s.margin))
    return {name: Outcome(np.concatenate([o.decision for o in outs]), np.concatenate([o.rows for o in outs]))
            for name, outs in parts.items()}


def _rate(hits: np.ndarray) -> tuple[float, float]:
    r = float(np.mean(hits))
    return r, math.sqrt(max(r * (1 - r), 1e-12) / len(hits))


def _rows(q: float, outcome: Outcome) -> str:
    rows = np.where(outcome.decision == -1, outcome.rows, np.iinfo(np.int64).max)
    value = np.quantile(rows, q, method="higher")
    return "never" if value == np.iinfo(np.int64).max else f"{int(value):,}"


def at_margin(mode: str, s: Settings, rng) -> None:
    print(f"{'values':<15} {'method':<21} {'promoted':>9} {'±se':>7} {'rolled back':>12}")
    for kind in ("log_loss-like", "accuracy-like"):
        out = scenario(kind, mode, -s.margin, s, rng)
        for name in METHODS:
            promoted, se = _rate(out[name].decision == 1)
            rolled, _ = _rate(out[name].decision == -1)
            print(f"{kind:<15} {name:<21} {promoted:>9.4f} {se:>7.4f} {rolled:>12.4f}")


def harmful(mode: str, s: Settings, rng) -> None:
    print(f"{'values':<15} {'method':<21} {'median rows':>11} {'p90 rows':>9} {'rolled back':>12} {'±se':>7} "
          f"{'promoted':>9} {'hw at max':>10} {'rows to hw=m':>13}")
    rows, unit = _unit_half_widths(s, 50 * s.max_rows)
    delta = -2 * s.margin
    for kind in ("log_loss-like", "accuracy-like"):
        out = scenario(kind, mode, delta, s, rng)
        sd = per_unit_sd(kind, mode, delta)
        for name in METHODS:
            rolled, se = _rate(out[name].decision == -1)
            promoted, _ = _rate(out[name].decision == 1)
            extra = ""
            if name == METHODS[0]:  # where the sequence's half-width at the true sd stands and reaches m
                at_max = sd * unit[np.searchsorted(rows, s.max_rows)]
                reach = rows[np.argmax(sd * unit <= s.margin)] if np.any(sd * unit <= s.margin) else None
                extra = f"{at_max:>10.4f} {f'{reach:,}' if reach else 'beyond':>13}"
            print(f"{kind:<15} {name:<21} {_rows(0.5, out[name]):>11} {_rows(0.9, out[name]):>9} {rolled:>12.4f} "
                  f"{se:>7.4f} {promoted:>9.4f} {extra}")


def _unit_half_widths(s: Settings, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The sequence's half-width per unit of sd at every even row, read off the library itself.

    Alternating ±1 has sample variance exactly t/(t − 1) after an even number t of rows.
    """
    x = np.tile([1.0, -1.0], length // 2)
    cs = confidence_sequence(x, alpha=2 * s.alpha, tuning_rows=s.tuning_rows)
    t = cs.rows[1::2]
    return t, (cs.upper - cs.estimate)[1::2] / np.sqrt(t / (t - 1))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="200 canaries per scenario (a smoke run)")
    ap.add_argument("--max-rows", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--min-rows", type=int, default=1000)
    ap.add_argument("--margin", type=float, default=0.01)
    ap.add_argument("--alpha", type=float, default=LEVEL_ALPHA)
    ap.add_argument("--tuning-rows", type=int, default=5000)
    ap.add_argument("--block", type=int, default=200, help="canaries simulated at once (memory)")
    ap.add_argument("--seed", type=int, default=20240616)
    args = ap.parse_args(argv)
    s = Settings(sims=200 if args.quick else args.sims, max_rows=args.max_rows, batch=args.batch,
                 min_rows=args.min_rows, margin=args.margin, alpha=args.alpha, tuning_rows=args.tuning_rows,
                 block=args.block)
    seeds = np.random.SeedSequence(args.seed).spawn(4)
    start = time.perf_counter()
    print(f"{s.sims:,} canaries per scenario; looks every {s.batch} rows from {s.looks[0]:,} to {s.max_rows:,} "
          f"({len(s.looks)} looks); margin m = {s.margin}; one-sided alpha {s.alpha} (the sequence at "
          f"alpha {2 * s.alpha:g}, tuned for {s.tuning_rows:,} rows)")
    for label, mode, seed in (("(a) shadow", "shadow", seeds[0]), ("(c) split, 50/50", "split", seeds[2])):
        t0 = time.perf_counter()
        print(f"\n{label}: candidate exactly at the margin (true Δ = −{s.margin}); promoting is wrong")
        at_margin(mode, s, np.random.default_rng(seed))
        print(f"{'':<15} ({time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        nxt = seeds[1] if mode == "shadow" else seeds[3]
        print(f"\n{'(b) shadow' if mode == 'shadow' else '(c) split, 50/50'}: candidate harmful "
              f"(true Δ = −{2 * s.margin:g}); rows until rollback")
        harmful(mode, s, np.random.default_rng(nxt))
        print(f"{'':<15} ({time.perf_counter() - t0:.1f} s)")
    print(f"\n{time.perf_counter() - start:.1f} s in all")


if __name__ == "__main__":
    main()
