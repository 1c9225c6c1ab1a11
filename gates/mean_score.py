"""Per-example scores: the ``mean_score`` metric for any system judged example by example.

An LLM graded 0–1 by a judge, a test case passed (1) or failed (0): a predictions file carries
each example's ``example_score`` and the gate compares the two systems' mean scores on the same
examples, Δ = mean candidate − mean production (positive = better; with ``greater_is_better:
false`` the scores are costs and Δ = production − candidate).

The evidence is mergeable like every other gate's: the moments of four columns per row, and
with ``data.group_column`` their per-group sums — (score_candidate, score_production, both,
not_binary), where both = s_c·s_p and not_binary is 1 on a row where either score is other than
0 or 1. The first two are what the paired t of per-row losses reads; the other two recognise
0/1 scores and rebuild their 2×2 table (both 1, candidate only, production only, neither)
exactly from the merged statistics, per group too, so the streaming and Dask engines decide as
the local one does.

Which test decides (benchmarks/bench_mean_score.py measures it):

* graded scores: the paired t on the moments (Hall's skewness correction as for mean losses;
  the cluster-robust t on group sums with groups), with two guards for the few-differing-
  examples case a lattice of grades makes common (:func:`null_variance`, ``_information_rule``);
  Wilcoxon and a row bootstrap beside when the rows are in memory;
* 0/1 scores: the accuracy machinery — Tango's score interval for a paired difference of
  proportions (a cluster bootstrap with groups) — with McNemar (mid-p, Newcombe's interval)
  beside. The paired t does not hold its level there: its variance is estimated from the
  discordant pairs it is testing, and with few of them it approved up to 0.36 (n = 50,
  margin 0.02, 2 % discordant) and 0.12 (n = 200, margin 0.05, 5 % discordant) of candidates
  exactly at the margin at alpha 0.05, where Tango's approved at most 0.058 (exact sizes).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import stats

MEAN_SCORE = "mean_score"

# The columns of the evidence, in order; the statistics read the first two as a paired loss.
COLUMNS = ("score_candidate", "score_production", "both", "not_binary")
_ORIENT = np.array([-1.0, -1.0, 1.0, 1.0])  # higher-is-better scores as losses: the scores negated


def score_columns(candidate: np.ndarray, production: np.ndarray) -> tuple[np.ndarray, ...]:
    """The four per-row columns whose moments (and group sums) are the evidence."""
    sc = np.asarray(candidate, dtype=float)
    sp = np.asarray(production, dtype=float)
    not_binary = ~(((sc == 0) | (sc == 1)) & ((sp == 0) | (sp == 1)))
    return sc, sp, sc * sp, not_binary.astype(float)


def is_binary(moments: stats.PairedMoments) -> bool:
    """Every score of both systems on these rows is 0 or 1 (the indicator's mean is ≥ 1/n otherwise)."""
    return moments.n > 0 and float(moments.mean[3]) * moments.n < 0.5


def compare_mean_score(moments: stats.PairedMoments, group_sums: stats.GroupSums | None = None, *,
                       greater_is_better: bool = True, null: float, alternative: str, confidence_level: float,
                       n_resamples: int = 10_000, seed=0) -> stats.Comparison:
    """Δ of the mean scores with the test the module docstring assigns; ``candidate`` and
    ``production`` are the mean scores themselves, whatever the direction."""
    if is_binary(moments):
        options = dict(null=null, alternative=alternative, confidence_level=confidence_level,
                       n_resamples=n_resamples, seed=seed)
        if group_sums is not None:
            cmp = stats.compare_confusion_grouped(_group_cells(group_sums, greater_is_better), "accuracy", **options)
        else:
            cmp = stats.compare_confusion(_cells(moments, greater_is_better), "accuracy", **options)
        # The "accuracy" of a 0/1 score is its mean, or one minus it when 1 is the bad outcome.
        flip = (lambda v: v) if greater_is_better else (lambda v: 1.0 - v)
        return dataclasses.replace(cmp, candidate=flip(cmp.candidate), production=flip(cmp.production),
                                   detail=cmp.detail.replace("accuracy", MEAN_SCORE))
    floor = null_variance(moments, null)
    if greater_is_better:
        moments = _as_losses(moments)
        group_sums = None if group_sums is None else stats.GroupSums(
            group_sums.keys, group_sums.n, group_sums.sums * _ORIENT, moments)
    if group_sums is not None:
        cmp = stats.compare_loss_grouped(group_sums, MEAN_SCORE, null=null, alternative=alternative,
                                         confidence_level=confidence_level, min_variance=floor)
    else:
        cmp = stats.compare_loss(moments, MEAN_SCORE, null=null, alternative=alternative,
                                 confidence_level=confidence_level, min_variance=floor)
    if greater_is_better:
        cmp = dataclasses.replace(cmp, candidate=-cmp.candidate, production=-cmp.production)
    return _information_rule(cmp, moments, null)


# The paired t is not a score test: its variance comes from the examples that differ, and on
# few of them (a lattice of grades) it approved 0.06–0.075 at the margin with 10–20 differing
# examples where the bound demanded fewer than 10 (quarters, 50–100 examples, margin 0.02;
# benchmarks/bench_mean_score.py). Below both counts the gate says the eval set cannot tell
# (Tango's rule for accuracy, in the t's terms); a bound demanding 20 or more differing
# examples keeps near-identical systems passing on a few hundred examples.
MIN_DIFFERING = 20
MIN_DEMANDED = 10


def _information_rule(cmp: stats.Comparison, moments: stats.PairedMoments, null: float) -> stats.Comparison:
    """Inconclusive, never pass, when few examples differ and the bound demands few to differ:
    ``nonzero`` is the effective count of differing examples, (Σ|d|)²/Σd², and a bound −m
    demands about n·m/s of them, s = Σd²/Σ|d| the typical size of a difference."""
    if cmp.undefined or cmp.insufficient or moments.nonzero is None:
        return cmp
    if not moments.abs_sum:  # identical scores: at a bound −m, P(no example differs) ≤ (1 − m)^n ≈ e^(−n·m)
        alpha = (1.0 - cmp.confidence_level) / 2.0  # (a difference is at most 1 on a 0–1 scale)
        if moments.n * abs(null) < math.log(1.0 / alpha):
            return dataclasses.replace(cmp, insufficient=True, detail=(
                f"{MEAN_SCORE}: the two systems' scores are identical on all {moments.n} examples; at a bound this "
                f"close to 0 (n·margin = {moments.n * abs(null):.2g}) even a system that much worse would often "
                f"score the same, so it takes n·margin ≥ {math.log(1.0 / alpha):.2g}"))
        return cmp
    demanded = moments.n * abs(null) * moments.abs_sum / moments.sq_sum
    if moments.nonzero >= MIN_DIFFERING or demanded >= MIN_DEMANDED:
        return cmp
    detail = (f"{MEAN_SCORE}: the two systems' scores differ on about {moments.nonzero:.3g} example(s) and a bound "
              f"this close to 0 demands about {demanded:.2g} to differ; the paired t needs {MIN_DIFFERING} differing "
              f"examples or a bound demanding {MIN_DEMANDED} to hold its level")
    return dataclasses.replace(cmp, insufficient=True, detail=detail)


def null_variance(moments: stats.PairedMoments, null: float) -> float:
    """The least per-example variance of the difference at a bound below 0 (a margin m).

    Graded scores move in steps (a judge's quarters): a difference whose mean is −m, made of
    steps of size s, has variance at least m·(s − m) — that of a drop of s on a share m/s of
    the examples. The paired t estimates the variance from the examples it sees, and when few
    of them differ it sees almost none: a candidate that drops one step on a few examples and
    never gains looks precise, and the t approved 0.08–0.10 of such candidates exactly at the
    margin (50–100 examples, benchmarks/bench_mean_score.py); with this floor (and the
    information rule) 0–0.048. The step is the typical size of a
    difference, Σd²/Σ|d| (the step itself when every difference is one step), from sums that
    merge across chunks."""
    if null >= 0 or not moments.abs_sum or not moments.sq_sum:
        return 0.0
    step, margin = moments.sq_sum / moments.abs_sum, -null
    return margin * (step - margin) if step > margin else 0.0


def mean_score_extras(moments: stats.PairedMoments, group_sums: stats.GroupSums | None,
                      differences: np.ndarray | None, *, greater_is_better: bool, confidence_level: float,
                      seed=0) -> dict:
    """The tests shown beside the deciding one (they never decide), as result objects: McNemar
    for 0/1 scores, and Wilcoxon with a row bootstrap of Δ while the rows are in memory and
    ungrouped.

    ``differences`` are the per-row score_production − score_candidate (as the engines keep
    them for losses); they are oriented here so that positive means the candidate is better."""
    out = {}
    if is_binary(moments):
        if group_sums is not None:
            mc = stats.mcnemar_from_group_cells(_group_cells(group_sums, greater_is_better), method="auto",
                                                confidence_level=confidence_level)
        else:
            mc = stats.mcnemar_from_cells(_cells(moments, greater_is_better), method="midp",
                                          confidence_level=confidence_level)
        out["mcnemar"] = mc
    if differences is not None and group_sums is None and len(differences) >= 2:
        d = -differences if greater_is_better else differences
        out["row_tests"] = stats.loss_row_tests(d, confidence_level=confidence_level, seed=seed)
    return out


def _as_losses(moments: stats.PairedMoments) -> stats.PairedMoments:
    """The moments of (−s_c, −s_p, both, not_binary): higher-is-better scores as losses."""
    return stats.PairedMoments(moments.n, moments.mean * _ORIENT, moments.m2 * np.outer(_ORIENT, _ORIENT),
                               None if moments.m3 is None else -moments.m3, moments.abs_sum, moments.sq_sum)


def _table(n, sums) -> np.ndarray:
    """Counts (both 1, candidate only 1, production only 1, neither) from row counts and the
    sums of (s_c, s_p, s_c·s_p); exact for 0/1 scores (sums of 0/1 values, rounded)."""
    n = np.asarray(n, dtype=np.int64)
    sc, sp, both = (np.rint(np.asarray(sums[..., j], dtype=float)).astype(np.int64) for j in range(3))
    return np.stack([both, sc - both, sp - both, n - sc - sp + both], axis=-1)


def _counts(table: np.ndarray, greater_is_better: bool) -> np.ndarray:
    """Joint cells over labels (0, 1) with every true label "good": a model is right on a row
    when its score is 1 (or 0, when lower is better), so accuracy is the mean score (or 1 − it)."""
    counts = np.zeros(table.shape[:-1] + (2, 2, 2), np.int64)
    good = 1 if greater_is_better else 0
    for j, (c, p) in enumerate(((1, 1), (1, 0), (0, 1), (0, 0))):
        counts[..., good, c, p] = table[..., j]
    return counts


def _cells(moments: stats.PairedMoments, greater_is_better: bool) -> stats.JointCells:
    table = _table(moments.n, moments.mean[:3] * moments.n)
    return stats.JointCells((0, 1), _counts(table, greater_is_better))


def _group_cells(sums: stats.GroupSums, greater_is_better: bool) -> stats.GroupCells:
    table = _table(sums.n, sums.sums[:, :3])
    return stats.GroupCells((0, 1), sums.keys, _counts(table, greater_is_better))
