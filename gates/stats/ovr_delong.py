"""Multiclass ROC AUC, one-vs-rest, and a paired DeLong-type test of two models' difference.

The point value is scikit-learn's ``roc_auc_score(y, proba, multi_class="ovr", average=…)``:
for class k, A_k is the binary AUC of column k with the n_k rows of class k as positives and
the m_k = n − n_k others as negatives; ``macro`` averages them with w_k = 1/K, ``weighted``
with the prevalence w_k = n_k / n (fixed by y, so both models share the weights). A class with
no rows has no A_k: scikit-learn raises, and here the comparison is undefined with the reason.

The test. Δ = Σ_k w_k (A_k⁽ᶜ⁾ − A_k⁽ᵖ⁾) is a linear combination of 2K correlated two-sample
U-statistics, and DeLong, DeLong & Clarke-Pearson (1988, Biometrics 44:837) linearise each one
through its structural components: V10_k(i) for a row of class k (the share of k's negatives
it outranks, ties ½) and V01_k(i) for any other row (the share of k's positives outranking it),
read off midranks in O(n log n) per class and model (Sun & Xu 2014; :mod:`gates.stats.delong`).
A row is a positive for its own class and a negative for every other, so its influence on Δ is
summed across the classes before anything is squared. With D = component(candidate) −
component(production) and Δ_k = A_k⁽ᶜ⁾ − A_k⁽ᵖ⁾:

    ψ_i = w_y (D10_y(i) − Δ_y) / n_y + Σ_{k ≠ y} w_k (D01_k(i) − Δ_k) / m_k      (y = y_i)

    var(Δ̂) = Σ_c n_c / (n_c − 1) · Σ_{i: y_i = c} ψ_i²

Each ψ_i is the row's empirical influence (the delta method for a ratio of row means, so the
class counts may vary as they do when rows are drawn at random); ψ is centred at each A_k's own
Δ_k, not within the row's class, so the varying mix of classes among k's negatives is part of
the variance as it is part of the estimator. With K = 2 the two classes' components mirror each
other and this is DeLong's variance exactly (S10/n₁ + S01/n₀).

With groups (Obuchowski 1997, Biometrics 53:567) the influences are summed per group and class,
u_gc = Σ_{i ∈ g, y_i = c} ψ_i, before squaring; with I_c the groups holding class c and G groups,

    var(Δ̂) = Σ_c I_c / (I_c − 1) Σ_g u_gc² + G / (G − 1) Σ_g Σ_{c ≠ d} u_gc u_gd,

which for K = 2 is Obuchowski's clustered DeLong (the cross terms are his S11) and with one row
per group the ungrouped form. Everything is computed from each row's class and the two
probability matrices, which the engines merge by concatenation, so local, streaming and Dask
evidence give the same test. Coverage and the error at a non-inferiority margin are measured
by simulation in benchmarks/bench_multiclass_auc.py.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

import numpy as np

from ._inference import wald_test
from ._validation import as_1d, check_alternative, check_choice, check_confidence_level, check_null
from .compare import MIN_INFORMATIVE_ROWS, MIN_MISORDERED
from .delong import row_components
from .group_cells import group_codes
from .grouped_compare import GroupedComparison, group_summary
from .results import NAN_INTERVAL, Comparison, ConfidenceInterval

OVR_AVERAGES = ("macro", "weighted")
_THREADED_ROWS = 1 << 18  # from here the two models' sorts of a class run on two threads


@dataclass(frozen=True)
class OvRDeLongResult:
    """The one-vs-rest comparison; the ``*_by_class`` tuples are the A_k, ``weights`` the w_k.

    ``informative`` takes the binary rule's count for each class's one-vs-rest problem —
    min(positives some negative outranks, negatives outranking some positive) under production
    — and adds up every class's but the largest: for K = 2 (two views of one problem) that is
    the binary count itself. ``misordered`` is Σ_k w_k min(n_k, m_k)(1 − production's A_k), the
    binary rule's count averaged as Δ is. With groups both are in effective rows (rows / design
    effect, a class's informative rows at most the groups holding them). ``variance_iid``
    ignores the groups (the design effect's denominator); ``groups`` is None without them.
    Why these counts: benchmarks/bench_multiclass_auc.py (near AUC 1 the raw test passes up to
    0.20 at the margin; every such holdout falls below them, and none of the others did)."""

    average: str
    auc_candidate: float
    auc_production: float
    estimate: float
    se: float
    statistic: float
    pvalue: float
    confidence_interval: ConfidenceInterval
    confidence_level: float
    alternative: str
    class_counts: tuple
    weights: tuple
    auc_candidate_by_class: tuple
    auc_production_by_class: tuple
    informative: float
    misordered: float
    variance_iid: float
    groups: int | None = None


def ovr_roc_auc(y_true, proba, *, average: str = "macro") -> float:
    """The one-vs-rest ROC AUC of one model (``y_true``: class indices 0…K−1 into the columns of
    ``proba``); NaN when a class has no rows."""
    check_choice("average", average, OVR_AVERAGES)
    y, (p,) = _checked(y_true, proba)
    counts = np.bincount(y, minlength=p.shape[1])
    if (counts == 0).any():
        return math.nan
    weights = _weights(counts, average)
    total = 0.0
    for k in range(p.shape[1]):
        pos = y == k
        total += weights[k] * float(row_components(pos, p[:, k], int(counts[k]), y.size - int(counts[k]))[pos].mean())
    return total


def _arguments(y_true, proba_candidate, proba_production, average, null, alternative, confidence_level):
    """The checks both comparisons make first, and each class's row count."""
    check_choice("average", average, OVR_AVERAGES)
    null = check_null(null)
    check_alternative(alternative)
    confidence_level = check_confidence_level(confidence_level)
    y, (pc, pp) = _checked(y_true, proba_candidate, proba_production)
    return null, confidence_level, y, pc, pp, np.bincount(y, minlength=pc.shape[1])


def ovr_delong(y_true, proba_candidate, proba_production, *, average: str = "macro", groups=None,
               null: float = 0.0, alternative: str = "two-sided", confidence_level: float = 0.95) -> OvRDeLongResult:
    """Compare two models' one-vs-rest AUCs on the same rows (module docstring); z = (Δ − null)/se.
    Needs 2 rows of every class (with ``groups``, every class in 2 groups), else ``ValueError``
    naming the counts."""
    null, confidence_level, y, pc, pp, counts = _arguments(y_true, proba_candidate, proba_production, average, null,
                                                           alternative, confidence_level)
    n, k = pc.shape
    if counts.min() < 2:
        raise ValueError(f"every class needs at least 2 rows for DeLong; got class counts {counts.tolist()}")
    codes = n_groups = None
    if groups is not None:
        _, codes = group_codes(as_1d("groups", groups))
        if codes.size != n:
            raise ValueError(f"groups must have one label per row; got {codes.size} for {n} rows")
        n_groups = int(codes.max()) + 1
        holding = _groups_per_class(codes, y, k, n_groups)
        if holding.min() < 2:
            raise ValueError(f"every class must fall in at least 2 groups for a clustered DeLong; got {holding.tolist()}")
    weights = _weights(counts, average)
    parts = _influences(y, pc, pp, counts, weights, codes, n_groups)
    estimate = float(weights @ (parts.auc_c - parts.auc_p))
    var_iid = _variance(parts.psi, y, counts)
    var = var_iid if codes is None else _clustered_variance(parts.psi, y, codes, k, n_groups)
    se = math.sqrt(max(var, 0.0))
    informative = parts.informative.min(axis=1)
    misordered = np.minimum(counts, n - counts) * (1.0 - parts.auc_p)
    if codes is not None:
        deff = var / var_iid if var_iid > 0 else math.nan
        scale = max(deff, 1.0) if math.isfinite(deff) else 1.0
        informative = np.minimum(parts.informative / scale, parts.informative_groups).min(axis=1)
        misordered = misordered / scale
    statistic, pvalue, ci = wald_test(estimate, se, null, alternative, confidence_level)
    return OvRDeLongResult(
        average=average, auc_candidate=float(weights @ parts.auc_c), auc_production=float(weights @ parts.auc_p),
        estimate=estimate, se=se, statistic=statistic, pvalue=pvalue, confidence_interval=ci,
        confidence_level=confidence_level, alternative=alternative, class_counts=tuple(int(c) for c in counts),
        weights=tuple(float(w) for w in weights), auc_candidate_by_class=tuple(map(float, parts.auc_c)),
        auc_production_by_class=tuple(map(float, parts.auc_p)),
        informative=float(informative.sum() - informative.max()),
        misordered=float(weights @ misordered), variance_iid=var_iid, groups=n_groups,
    )


def compare_auc_ovr(y_true, proba_candidate, proba_production, *, average: str = "macro", groups=None,
                    labels=None, null: float = 0.0, alternative: str = "greater",
                    confidence_level: float = 0.90) -> Comparison:
    """What a multiclass roc_auc gate consumes (a :class:`GroupedComparison` with ``groups``).

    Undefined, with the reason, when a class has no rows (no A_k: scikit-learn raises) or fewer
    than 2 (or, grouped, sits in fewer than 2 groups); insufficient (never a pass) when the
    informative rows or the misordered share (:class:`OvRDeLongResult`) fall below the binary
    DeLong rules of :mod:`gates.stats.compare`, to which they reduce for K = 2. ``labels`` name
    the classes in messages. With one row per group the ungrouped comparison decides, field for
    field."""
    null, confidence_level, y, pc, pp, counts = _arguments(y_true, proba_candidate, proba_production, average, null,
                                                           alternative, confidence_level)
    n, k = pc.shape
    names = list(labels) if labels is not None and len(labels) == k else list(range(k))
    codes = n_groups = None
    if groups is not None:
        _, codes = group_codes(as_1d("groups", groups))
        n_groups = int(codes.max()) + 1 if codes.size else 0
    summary = None if codes is None else group_summary(n_groups, n, math.nan, math.nan, "clustered DeLong")
    if (counts == 0).any():
        absent = [str(names[i]) for i in np.flatnonzero(counts == 0)]
        return _undefined(n, confidence_level, summary, (
            f"roc_auc ({average}, one-vs-rest) is undefined: class(es) {', '.join(absent[:10])} have no rows on "
            "these rows, so their one-vs-rest AUC does not exist"))
    cand, prod = (ovr_roc_auc(y, p, average=average) for p in (pc, pp))
    if counts.min() < 2:
        few = [f"{names[i]} ({counts[i]})" for i in np.flatnonzero(counts < 2)]
        return _undefined(n, confidence_level, summary, (
            f"roc_auc comparison is undefined: class(es) {', '.join(few[:10])} have fewer than 2 rows "
            "(DeLong needs at least 2 of each)"), cand, prod)
    if codes is not None and n_groups == n:  # one row per group: not clustered
        plain = compare_auc_ovr(y, pc, pp, average=average, labels=labels, null=null, alternative=alternative,
                                confidence_level=confidence_level)
        return _with_groups(plain, group_summary(n, n, math.nan, math.nan, ""))
    if codes is not None:
        holding = _groups_per_class(codes, y, k, n_groups)
        if holding.min() < 2:
            few = [f"{names[i]} ({holding[i]})" for i in np.flatnonzero(holding < 2)]
            return _undefined(n, confidence_level, summary, (
                f"roc_auc comparison is undefined: class(es) {', '.join(few[:10])} fall in fewer than 2 groups "
                "(a clustered DeLong needs at least 2 of each)"), cand, prod)
    res = ovr_delong(y, pc, pp, average=average, groups=codes, null=null, alternative=alternative,
                     confidence_level=confidence_level)
    short = ""
    effective = "" if codes is None else "effective "
    if res.informative < MIN_INFORMATIVE_ROWS:
        short = (f"roc_auc: production ranks wrongly about {res.informative:.3g} {effective}rows on the rarer side of "
                 f"the one-vs-rest problems (summed over the classes but the largest); DeLong needs "
                 f"{MIN_INFORMATIVE_ROWS} to hold its level (near AUC 1 the rare misorderings carry all the information)")
    elif res.misordered < MIN_MISORDERED:
        short = (f"roc_auc: {effective}min(positives, negatives) × (1 - production's AUC), {average} over the classes, "
                 f"is {res.misordered:.2g}; near AUC 1 DeLong needs {MIN_MISORDERED} (more rows of the rarer classes) "
                 "to hold its level")
    cmp = Comparison(estimate=res.estimate, confidence_interval=res.confidence_interval,
                     confidence_level=confidence_level, p_value=res.pvalue,
                     method="delong-ovr" if codes is None else "clustered-delong-ovr", n=n,
                     candidate=res.auc_candidate, production=res.auc_production, se=res.se, se_equal=res.se,
                     insufficient=bool(short), detail=short)
    if codes is None:
        return cmp
    return _with_groups(cmp, group_summary(n_groups, n, res.se ** 2, res.variance_iid, "clustered DeLong"))


@dataclass(frozen=True)
class _Parts:
    psi: np.ndarray  # each row's influence on Δ̂
    auc_c: np.ndarray
    auc_p: np.ndarray
    # per class: positives and negatives production ranks wrongly, and the groups holding them
    informative: np.ndarray
    informative_groups: np.ndarray | None


def _influences(y, pc, pp, counts, weights, codes, n_groups) -> _Parts:
    """One pass over the classes: both models' components of class k, folded into ψ at once
    (so only one class's components are alive at a time)."""
    n, k = pc.shape
    psi = np.zeros(n)
    auc_c, auc_p = np.empty(k), np.empty(k)
    informative = np.empty((k, 2))
    informative_groups = None if codes is None else np.empty((k, 2))
    for c in range(k):
        pos = y == c
        n_pos = int(counts[c])
        comp_c, comp_p = _both(pos, pc[:, c], pp[:, c], n_pos, n - n_pos)
        auc_c[c], auc_p[c] = float(comp_c[pos].mean()), float(comp_p[pos].mean())
        wrong = comp_p < 1.0  # production misorders a pair this row is in (as delong.py counts)
        for side, rows in enumerate((wrong & pos, wrong & ~pos)):
            informative[c, side] = np.count_nonzero(rows)
            if codes is not None:
                informative_groups[c, side] = _holding(codes[rows], n_groups)
        d = np.subtract(comp_c, comp_p, out=comp_c)
        del comp_p, wrong
        d -= auc_c[c] - auc_p[c]
        d *= np.where(pos, weights[c] / n_pos, weights[c] / (n - n_pos))
        psi += d
    return _Parts(psi, auc_c, auc_p, informative, informative_groups)


def _both(pos, sc, sp, n_pos, n_neg):
    """Both models' components of one class; the two sorts on two threads for large inputs."""
    if pos.size < _THREADED_ROWS:
        return [row_components(pos, s, n_pos, n_neg) for s in (sc, sp)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda s: row_components(pos, s, n_pos, n_neg), (sc, sp)))


def _variance(psi, y, counts) -> float:
    """Σ_c n_c/(n_c − 1) Σ_{y_i = c} ψ_i² (DeLong's per-class sample variances for K = 2)."""
    squares = np.bincount(y, weights=psi * psi, minlength=counts.size)
    return float(np.sum(counts / (counts - 1.0) * squares))


def _clustered_variance(psi, y, codes, k, n_groups) -> float:
    """Obuchowski's form over per-group, per-class sums of ψ (module docstring). The cross terms
    are accumulated as 2 Σ_c u_c · (u_1 + … + u_{c−1}), not as a difference of large sums."""
    diagonal = cross = 0.0
    before = np.zeros(n_groups)
    for c in range(k):
        rows = y == c
        u = np.bincount(codes[rows], weights=psi[rows], minlength=n_groups)
        held = _holding(codes[rows], n_groups)
        diagonal += held / (held - 1.0) * float(u @ u)
        cross += 2.0 * float(u @ before)
        before += u
    return diagonal + n_groups / (n_groups - 1.0) * cross


def _groups_per_class(codes, y, k, n_groups) -> np.ndarray:
    return np.array([_holding(codes[y == c], n_groups) for c in range(k)])


def _holding(codes: np.ndarray, n_groups: int) -> int:
    """How many distinct groups the dense codes name (a count, no sort)."""
    return int(np.count_nonzero(np.bincount(codes, minlength=n_groups)))


def _weights(counts: np.ndarray, average: str) -> np.ndarray:
    if average == "macro":
        return np.full(counts.size, 1.0 / counts.size)
    return counts / float(counts.sum())


def _checked(y_true, *probas):
    """Class indices and (n, K) finite probability matrices, K ≥ 2, every one of n rows."""
    y = as_1d("y_true", y_true)
    if y.dtype.kind not in "iu":
        raise ValueError(f"y_true must hold integer class indices; got dtype {y.dtype}")
    out = []
    for name, p in zip(("proba_candidate", "proba_production") if len(probas) == 2 else ("proba",), probas):
        arr = np.asarray(p)
        if arr.ndim != 2 or arr.shape[1] < 2 or arr.dtype.kind not in "iuf":
            raise ValueError(f"{name} must be a numeric (rows, classes) matrix with at least 2 classes; "
                             f"got shape {arr.shape} and dtype {arr.dtype}")
        if arr.dtype != np.float32:  # float32 stays compact (streamed evidence)
            arr = arr.astype(np.float64, copy=False)
        if arr.shape != (y.size, (out[0] if out else arr).shape[1]):
            raise ValueError(f"{name} must have shape ({y.size}, {(out[0] if out else arr).shape[1]}); got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} must be finite; got {int(np.count_nonzero(~np.isfinite(arr)))} non-finite value(s)")
        out.append(arr)
    k = out[0].shape[1]
    if y.size and (int(y.min()) < 0 or int(y.max()) >= k):
        raise ValueError(f"y_true must hold class indices in 0…{k - 1} (one per column); got {int(y.min())}…{int(y.max())}")
    return y, out


def _undefined(n, level, summary, detail, cand=math.nan, prod=math.nan) -> Comparison:
    method = "delong-ovr" if summary is None else "clustered-delong-ovr"
    cmp = Comparison(estimate=cand - prod, confidence_interval=NAN_INTERVAL, confidence_level=level,
                     p_value=math.nan, method=method, n=n, undefined=True, detail=detail, candidate=cand,
                     production=prod)
    return cmp if summary is None else _with_groups(cmp, summary)


def _with_groups(cmp: Comparison, summary) -> GroupedComparison:
    """``cmp`` with its group summary (the summary's warning joins the detail)."""
    values = {f.name: getattr(cmp, f.name) for f in fields(Comparison)}
    values["detail"] = "; ".join(part for part in (cmp.detail, summary.warning) if part)
    return GroupedComparison(**values, groups=summary)
