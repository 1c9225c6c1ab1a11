"""Multiclass roc_auc: one-vs-rest AUCs averaged macro or weighted, and their paired DeLong test.

Point values are checked against scikit-learn; the test's construction against the binary
DeLong (K = 2), the clustered form with one row per group, a direct O(n²) reading of the
structural components and a leave-one-out jackknife; its level by a small simulation (the full
one is benchmarks/bench_multiclass_auc.py); the engines by a real multiclass model scored whole
and in chunks; the gate end to end through ``mlgate evaluate``.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import GaussianNB

from workspaces import fit_logistic

from mlgate.gates.evidence import Comparands, build_evidence, merge_evidence
from mlgate.gates.stats import (
    Comparison,
    compare_auc,
    compare_auc_ovr,
    delong,
    delong_grouped,
    ovr_delong,
    ovr_roc_auc,
)


@pytest.fixture
def rng():
    return np.random.default_rng(18)


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def two_models(rng, n, k, *, prevalence=None, step=None, gain=1.2):
    """Rows of k classes and two correlated models' probabilities (the candidate sharper);
    ``step`` rounds the logits, which makes tied probabilities."""
    y = rng.choice(k, n, p=prevalence)
    shared = rng.normal(size=(n, k))
    out = []
    for g in (gain, 1.0):
        logits = shared + 0.7 * rng.normal(size=(n, k))
        logits[np.arange(n), y] += g
        out.append(softmax(np.round(logits / step) * step if step else logits))
    return y, out[0], out[1]


def fields_of(cmp):
    return {f.name: getattr(cmp, f.name) for f in dataclasses.fields(Comparison)}


# ----------------------------------------------------------------------------- point values


@pytest.mark.parametrize("k", [3, 4, 7])
@pytest.mark.parametrize("average", ["macro", "weighted"])
@pytest.mark.parametrize("step", [None, 0.5])
def test_point_values_equal_scikit_learn(rng, k, average, step):
    prevalence = np.r_[0.05, np.full(k - 1, 0.95 / (k - 1))]  # one rare class
    y, pc, pp = two_models(rng, 400, k, prevalence=prevalence, step=step)
    for proba in (pc, pp):
        expected = roc_auc_score(y, proba, multi_class="ovr", average=average)
        assert ovr_roc_auc(y, proba, average=average) == pytest.approx(expected, abs=1e-12)
    res = ovr_delong(y, pc, pp, average=average)
    assert res.auc_candidate == pytest.approx(roc_auc_score(y, pc, multi_class="ovr", average=average), abs=1e-12)
    assert res.estimate == pytest.approx(res.auc_candidate - res.auc_production, abs=1e-15)
    # float32 probabilities (what the streaming engines keep) rank as scikit-learn ranks them
    p32 = pc.astype(np.float32)
    assert ovr_roc_auc(y, p32, average=average) == pytest.approx(
        roc_auc_score(y, p32.astype(float), multi_class="ovr", average=average), abs=1e-12)


def test_a_class_without_rows_is_undefined_with_its_name(rng):
    y, pc, pp = two_models(rng, 300, 4)
    y = np.where(y == 2, 1, y)  # class 2 never occurs
    with pytest.raises(ValueError, match="Number of classes"):  # scikit-learn refuses too
        roc_auc_score(y, pc, multi_class="ovr")
    assert np.isnan(ovr_roc_auc(y, pc))
    cmp = compare_auc_ovr(y, pc, pp, labels=("ant", "bee", "cat", "dog"), null=-0.01)
    assert cmp.undefined and np.isnan(cmp.estimate) and "class(es) cat have no rows" in cmp.detail
    one = compare_auc_ovr(np.r_[y, 2], np.r_[pc, pc[:1]], np.r_[pp, pp[:1]], null=-0.01)
    assert one.undefined and "2 (1) have fewer than 2 rows" in one.detail and np.isfinite(one.estimate)


# ----------------------------------------------------------------------------- the construction


@pytest.mark.parametrize("average", ["macro", "weighted"])
@pytest.mark.parametrize("signal", [1.0, 6.0])  # 6: near AUC 1, where the minimum-information rules act
def test_two_classes_reduce_to_binary_delong(rng, average, signal):
    """Class 0's components mirror class 1's, so the average is the binary AUC and the variance
    DeLong's (S10/n₁ + S01/n₀); with groups, Obuchowski's; and the minimum-information rules
    are the binary ones. Ties included (rounded scores)."""
    n = 400
    y = rng.integers(0, 2, n)
    p1, q1 = (np.round(1 / (1 + np.exp(-(rng.normal(size=n) + g * signal * y))), 2) for g in (1.3, 1.0))
    pc, pp = np.c_[1 - p1, p1], np.c_[1 - q1, q1]
    ovr, binary = ovr_delong(y, pc, pp, average=average, null=-0.02), delong(y, p1, q1)
    assert ovr.estimate == pytest.approx(binary.estimate, abs=1e-12)
    assert ovr.se == pytest.approx(binary.se, rel=1e-12)
    groups = rng.integers(0, 80, n)
    assert ovr_delong(y, pc, pp, average=average, groups=groups).se == pytest.approx(
        delong_grouped(y, p1, q1, groups).se, rel=1e-12)
    a = compare_auc_ovr(y, pc, pp, average=average, null=-0.02)
    b = compare_auc(y, p1, q1, null=-0.02)
    assert b.insufficient == (signal > 1)
    for name, value in fields_of(b).items():
        if name not in ("method", "detail"):
            assert getattr(a, name) == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_near_auc_one_the_test_is_insufficient_never_a_pass(rng):
    """Production ranks all but a handful of pairs right: DeLong cannot hold its level there
    (benchmarks/bench_multiclass_auc.py: up to 0.27 approved at the margin), so the comparison
    says so and a gate can only be inconclusive, however the interval falls."""
    y = rng.integers(0, 3, 600)
    logits = [rng.normal(size=(600, 3)) for _ in range(2)]
    for lg in logits:
        lg[np.arange(600), y] += 6.0
    cmp = compare_auc_ovr(y, softmax(logits[0]), softmax(logits[1]), null=-0.01)
    assert cmp.production > 0.999 and cmp.insufficient and not cmp.undefined
    assert "near AUC 1" in cmp.detail and cmp.confidence_interval.low > -0.01  # the interval alone would pass


def test_one_row_per_group_equals_ungrouped(rng):
    y, pc, pp = two_models(rng, 300, 4, step=0.5)
    plain = compare_auc_ovr(y, pc, pp, null=-0.01)
    grouped = compare_auc_ovr(y, pc, pp, groups=np.arange(300)[::-1], null=-0.01)
    assert fields_of(grouped) == fields_of(plain) and grouped.groups.design_effect == 1.0
    # groups of several rows: the clustered form, wider here (each group holds near-copies of one row)
    rows = np.repeat(np.arange(300), 3)
    clustered = compare_auc_ovr(y[rows], pc[rows], pp[rows], groups=rows, null=-0.01)
    assert clustered.method == "clustered-delong-ovr" and clustered.se == pytest.approx(plain.se, rel=0.02)
    assert clustered.groups.design_effect == pytest.approx(3.0, rel=0.02)


def test_variance_against_pairwise_components_and_the_jackknife(rng):
    """ψ from the O(n²) definition of the structural components (every positive against every
    negative, ties ½), and the leave-one-out jackknife of Δ with scikit-learn's AUC: two
    references that share no code with the midrank construction."""
    k, n = 3, 150
    y, pc, pp = two_models(rng, n, k, prevalence=[0.5, 0.3, 0.2], step=0.25)
    counts = np.bincount(y, minlength=k)
    w = np.full(k, 1 / k)
    psi = np.zeros(n)
    for c in range(k):
        pos = y == c
        deltas, comps = [], []
        for p in (pc, pp):
            s = p[:, c]
            above = (s[:, None] > s[None, :]) + 0.5 * (s[:, None] == s[None, :])  # row i outranks j (ties ½)
            v = np.where(pos, (above * ~pos[None, :]).sum(1) / (~pos).sum(), ((1 - above) * pos[None, :]).sum(1) / pos.sum())
            comps.append(v)
            deltas.append(v[pos].mean())
        d = comps[0] - comps[1] - (deltas[0] - deltas[1])
        psi += w[c] * np.where(pos, d / counts[c], d / (n - counts[c]))
    variance = sum(counts[c] / (counts[c] - 1) * (psi[y == c] ** 2).sum() for c in range(k))
    res = ovr_delong(y, pc, pp)
    assert res.se ** 2 == pytest.approx(variance, rel=1e-9)

    def delta(idx):
        return (roc_auc_score(y[idx], pc[idx], multi_class="ovr")
                - roc_auc_score(y[idx], pp[idx], multi_class="ovr"))

    loo = np.array([delta(np.delete(np.arange(n), i)) for i in range(n)])
    jackknife = (n - 1) / n * ((loo - loo.mean()) ** 2).sum()
    assert res.se ** 2 == pytest.approx(jackknife, rel=0.03)  # ratios 0.986–0.993 over five seeds


@pytest.mark.parametrize("average,k,prevalence", [("macro", 3, [0.5, 0.3, 0.2]), ("weighted", 4, [0.4, 0.3, 0.2, 0.1])])
def test_interval_covers_the_true_difference_and_the_margin_error_holds(average, k, prevalence):
    """300 holdouts of 300 rows (the full-scale run, with small and large n, K = 10 and rare
    classes, is benchmarks/bench_multiclass_auc.py): the 90 % interval covers the true Δ near
    90 % of the time, and a gate whose margin sits exactly at the true Δ passes at most
    alpha = 0.05 plus Monte-Carlo slack (3 standard errors)."""
    rng = np.random.default_rng(7)
    y, pc, pp = two_models(rng, 400_000, k, prevalence=prevalence)
    true = ovr_roc_auc(y, pc, average=average) - ovr_roc_auc(y, pp, average=average)
    reps, covered, passed = 300, 0, 0
    for _ in range(reps):
        y, pc, pp = two_models(rng, 300, k, prevalence=prevalence)
        cmp = compare_auc_ovr(y, pc, pp, average=average, null=true, confidence_level=0.90)
        low, high = cmp.confidence_interval
        covered += low <= true <= high
        passed += low > true and not cmp.insufficient
    slack = 3 * np.sqrt(0.05 * 0.95 / reps)
    assert abs(covered / reps - 0.90) < 3 * np.sqrt(0.9 * 0.1 / reps), covered / reps
    assert passed / reps <= 0.05 + slack, passed / reps


# ----------------------------------------------------------------------------- evidence and engines


def test_streamed_float32_evidence_merges_to_the_whole(rng):
    """Chunks keep each row's class and both probability matrices as float32; merged, they are
    the whole holdout's evidence, and every number of the comparison follows."""
    y, pc, pp = two_models(rng, 900, 5)
    labels = tuple(range(5))

    def evidence(rows):
        c = Comparands(task="classification", labels=labels, pos_index=None, y=y[rows], pred_candidate=pc[rows].argmax(1),
                       pred_production=pp[rows].argmax(1), proba_candidate=pc[rows], proba_production=pp[rows])
        return build_evidence(c, set(), keep_rows=False, score_dtype=np.float32, keep_proba=True)

    whole = evidence(np.arange(900))
    merged = merge_evidence(evidence(part) for part in np.array_split(np.arange(900), 7))
    assert merged.proba_candidate.dtype == np.float32 and merged.proba_candidate.shape == (900, 5)
    assert merged.classes.dtype == np.uint8 and np.array_equal(merged.classes, y)
    a = compare_auc_ovr(merged.classes, merged.proba_candidate, merged.proba_production, null=-0.01)
    b = compare_auc_ovr(whole.classes, whole.proba_candidate, whole.proba_production, null=-0.01)
    assert fields_of(a) == fields_of(b)
    assert a.candidate == pytest.approx(roc_auc_score(y, pc.astype(np.float32).astype(float), multi_class="ovr"),
                                        abs=1e-12)
    no_proba = build_evidence(Comparands(task="classification", labels=labels, pos_index=None, y=y,
                                         pred_candidate=y, pred_production=y, proba_candidate=pc, proba_production=pp),
                              set())
    assert no_proba.classes is None and no_proba.proba_candidate is None  # kept only for such a gate


def _result(run_cli, tmp_path, ws, name="out"):
    out = tmp_path / name
    run = run_cli("evaluate", "--workspace", ws.root, "--out", out, "--quiet")
    assert run.code in (0, 1), run.err
    return run.code, json.loads((out / "result.json").read_text())


def _gates(data):
    return {g["name"]: g for g in data["gates"]}


WINE_POLICY = """\
version: 1
data: {holdout: data/holdout.csv, target: cultivar, slices: [strength]}
production: {path: prod.skops}
gates:
  - {metric: roc_auc, rule: non_inferior, margin: 0.02}
  - {metric: roc_auc, rule: superior, average: weighted}
  - {metric: roc_auc, rule: slice_max_drop, max_drop: 0.05, min_support: 20}
"""


def test_streaming_equals_the_whole_holdout_on_a_real_multiclass_model(workspace, run_cli, tmp_path):
    """Wine (three cultivars), two scikit-learn models: scored in chunks of 13 rows, every gate's
    numbers — overall and per slice — are those of the holdout scored at once, and the point
    values are scikit-learn's."""
    data = load_wine(as_frame=True)
    frame = data.frame.rename(columns={"target": "cultivar"})
    frame["cultivar"] = frame["cultivar"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    frame["strength"] = np.where(frame["alcohol"] > frame["alcohol"].median(), "strong", "light")
    features = list(data.feature_names)
    train, test = frame.iloc[::2].reset_index(drop=True), frame.iloc[1::2].reset_index(drop=True)
    candidate = fit_logistic(train, features, "cultivar")
    production = GaussianNB().fit(train[["hue", "proline"]], train["cultivar"])
    workspace.table("data/holdout.csv", test)
    workspace.model("build/model.skops", candidate)
    workspace.model("prod.skops", production)
    workspace.policy(WINE_POLICY.replace("production:", "candidate: {path: build/model.skops}\nproduction:"))
    _, whole = _result(run_cli, tmp_path, workspace, "whole")
    workspace.policy(WINE_POLICY.replace("production:", "candidate: {path: build/model.skops}\nproduction:")
                     + "engine: {kind: local, chunk_rows: 13}\n")
    _, streamed = _result(run_cli, tmp_path, workspace, "streamed")
    assert any("chunks of 13 rows" in note for note in streamed["notes"])
    assert whole["gates"] == streamed["gates"]
    gates = _gates(whole)
    for name, average in (("roc_auc non_inferior", "macro"), ("roc_auc[weighted] superior", "weighted")):
        g = gates[name]
        assert g["average"] == average and g["method"] == "delong-ovr"
        assert g["candidate"] == pytest.approx(
            roc_auc_score(test["cultivar"], candidate.predict_proba(test[features]), multi_class="ovr", average=average),
            abs=1e-12)
        assert g["production"] == pytest.approx(roc_auc_score(
            test["cultivar"], production.predict_proba(test[["hue", "proline"]]), multi_class="ovr", average=average),
            abs=1e-12)
    assert [s["slice"] for s in gates["roc_auc slice_max_drop"]["slices"]] == ["strength=light", "strength=strong"]
    assert whole.get("curves") is None  # ROC curves are drawn for binary tasks only


def _blobs(seed=3):
    X, y = make_classification(n_samples=3000, n_features=8, n_informative=5, n_redundant=0, n_classes=4,
                               n_clusters_per_class=1, class_sep=0.8, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["kind"] = np.array(["ash", "birch", "cedar", "doum"])[y]
    return frame.iloc[:1500].reset_index(drop=True), frame.iloc[1500:].reset_index(drop=True)


AUC_POLICY = """\
version: 1
data: {holdout: data/holdout.csv, target: kind}
gates:
  - {metric: roc_auc, rule: non_inferior, margin: 0.01}
  - {metric: roc_auc, rule: min, threshold: 0.7, name: auc floor, average: weighted}
"""


def test_evaluate_gates_a_multiclass_holdout_on_roc_auc(workspace, run_cli, tmp_path):
    train, test = _blobs()
    every, few = [f"x{i}" for i in range(8)], ["x0", "x1", "x2"]
    strong = LogisticRegression(max_iter=2000).fit(train[every], train["kind"])
    weak = LogisticRegression(max_iter=2000).fit(train[few], train["kind"])
    workspace.table("data/holdout.csv", test)
    workspace.policy(AUC_POLICY)
    workspace.model("build/model.skops", strong)
    workspace.registry(production=weak)
    code, data = _result(run_cli, tmp_path, workspace)
    gate = _gates(data)["roc_auc non_inferior"]
    assert (code, data["decision"], gate["outcome"]) == (0, "approve", "pass"), gate["detail"]
    assert gate["average"] == "macro" and gate["confidence_level"] == 0.90
    expected = roc_auc_score(test["kind"], strong.predict_proba(test[every]), multi_class="ovr")
    assert gate["candidate"] == pytest.approx(expected, abs=1e-12)
    assert gate["estimate"] == pytest.approx(gate["candidate"] - gate["production"], abs=1e-12)
    assert _gates(data)["auc floor"]["candidate"] == pytest.approx(roc_auc_score(
        test["kind"], strong.predict_proba(test[every]), multi_class="ovr", average="weighted"), abs=1e-12)

    workspace.model("build/model.skops", weak)  # the weak model against the strong one: harm
    workspace.registry(production=strong)
    code, data = _result(run_cli, tmp_path, workspace)
    gate = _gates(data)["roc_auc non_inferior"]
    assert (code, data["decision"], gate["outcome"]) == (1, "block", "fail")
    assert gate["confidence_interval"][1] < -0.01


def test_a_class_the_holdout_lacks_fails_closed_with_the_reason(workspace, run_cli, tmp_path):
    """Both models know four kinds; the holdout holds three: the fourth kind's one-vs-rest AUC
    does not exist (scikit-learn raises), so the gates fail closed and say which class."""
    train, test = _blobs()
    every = [f"x{i}" for i in range(8)]
    workspace.table("data/holdout.csv", test[test["kind"] != "cedar"])
    workspace.model("build/model.skops", LogisticRegression(max_iter=2000).fit(train[every], train["kind"]))
    workspace.registry(production=LogisticRegression(max_iter=2000).fit(train[every[:3]], train["kind"]))
    workspace.policy(AUC_POLICY)
    code, data = _result(run_cli, tmp_path, workspace)
    assert (code, data["decision"]) == (1, "block")
    for gate in data["gates"]:
        assert gate["outcome"] == "undefined" and gate["passed"] is False
        assert "class(es) cedar have no rows" in gate["detail"], gate["detail"]


@pytest.mark.parametrize("gate,message", [
    ("{metric: roc_auc, rule: non_inferior, margin: 0.01, average: micro}",
     "gates[0].average: expected one of binary, macro, weighted for roc_auc"),
    ("{metric: roc_auc, rule: non_inferior, margin: 0.01, average: binary}",
     "gates[0]: roc_auc with average binary needs two classes, the holdout and models have 4; "
     "set gates[0].average to macro or weighted"),
])
def test_averages_roc_auc_cannot_take_are_configuration_errors(workspace, run_cli, tmp_path, gate, message):
    train, test = _blobs()
    workspace.table("data/holdout.csv", test)
    model = LogisticRegression(max_iter=2000).fit(train[["x0", "x1"]], train["kind"])
    workspace.model("build/model.skops", model)
    workspace.registry(production=model)
    workspace.policy(AUC_POLICY.replace(AUC_POLICY.split("gates:\n")[1], f"  - {gate}\n"))
    run = run_cli("evaluate", "--workspace", workspace.root, "--out", tmp_path / "out", "--quiet")
    assert run.code == 2 and message in run.err, run.err
    if "micro" in gate:
        assert "got 'micro'" in run.err
