"""Per-example scores (``example_score``) and the ``mean_score`` metric, end to end.

Numbers are checked against independent references: scipy's paired t (``ttest_rel``) with
Hall's skewness correction written out from the paper, scipy's Wilcoxon, statsmodels' McNemar,
and Tango's score statistic written out from its closed form. Then: grouped equals ungrouped
with one row per group, streamed chunks equal one pass, the direction key, the bad inputs (each
exit 2 with a message naming the culprit), and the size of the deciding test at the margin.
"""

from __future__ import annotations

import json
import math
import re
import runpy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from mlgate.gates.mean_score import compare_mean_score, score_columns
from mlgate.gates.result import schema_path
from mlgate.gates.stats import PairedMoments, compare_loss

REPO = Path(__file__).resolve().parents[1]
ALPHA = 0.05
POLICY = """\
version: 1
data: {{holdout: data/holdout.csv, id_column: example_id{data}}}
candidate: {{predictions: preds/candidate.csv}}
production: {{predictions: preds/production.csv}}
gates:
{gates}
{extra}"""
NON_INFERIOR = "  - {metric: mean_score, rule: non_inferior, margin: 0.05}"


def systems(n: int, seed: int, *, binary: bool = False, gain: float = 0.0, groups: int | None = None):
    """Two systems' scores on the same ``n`` examples: a shared difficulty pairs them."""
    rng = np.random.default_rng(seed)
    hard = rng.normal(0, 1, n)
    if groups is not None:
        hard += rng.normal(0, 0.8, groups)[np.arange(n) % groups]

    def scores(g):
        quality = 1 / (1 + np.exp(-(0.3 - hard + g + rng.normal(0, 0.7, n))))
        return (rng.random(n) < quality).astype(int) if binary else np.round(quality * 4) / 4

    return scores(gain), scores(0.0)


def workspace_with(ws, cand, prod, *, gates=NON_INFERIOR, data="", extra="", groups: int | None = None,
                   holdout_extra: dict | None = None):
    n = len(cand)
    ids = [f"q{i:04d}" for i in range(n)]
    holdout = {"example_id": ids, **(holdout_extra or {})}
    if groups is not None:
        holdout["topic"] = [f"t{i % groups:03d}" for i in range(n)]
    ws.table("data/holdout.csv", pd.DataFrame(holdout))
    for name, values in (("candidate", cand), ("production", prod)):
        frame = pd.DataFrame({"row_id": ids, "example_score": values})
        ws.table(f"preds/{name}.csv", frame.sample(frac=1, random_state=len(name)))  # a harness's order
    ws.policy(POLICY.format(data=data, gates=gates, extra=extra))


def evaluate(run_cli, ws, tmp_path, *args):
    r = run_cli("evaluate", "--workspace", ws.root, "--out", tmp_path / "out", "--json", *args)
    assert r.code in (0, 1), r.err
    return json.loads(r.out)


def hall_p(d: np.ndarray, null: float) -> float:
    """Hall's (1992) skew-corrected paired t, one-sided (greater), from scipy's paired t."""
    n = len(d)
    t0 = ss.ttest_rel(d, np.zeros(n)).statistic
    se = d.mean() / t0
    a = ss.skew(d, bias=True) / (6 * math.sqrt(n))
    t = (d.mean() - null) / se
    g = t + a * (1 + 2 * t * t) + 4 / 3 * a * a * t**3
    return float(ss.t.sf(g, n - 1))


def tango_p(b: int, c: int, n: int, delta: float) -> float:
    """Tango (1998, Stat Med 17:891): the score test of H0 Δ = delta for paired proportions,
    one-sided (greater); ``b`` counts rows only the candidate passes, ``c`` only production."""
    A, B, C = 2 * n, -b - c + (2 * n - b + c) * delta, -c * delta * (1 - delta)
    q21 = (-B + math.sqrt(B * B - 4 * A * C)) / (2 * A)
    return float(ss.norm.sf((b - c - n * delta) / math.sqrt(n * (2 * q21 + delta * (1 - delta)))))


# ----------------------------------------------------------------------------- against references


def test_graded_scores_are_decided_by_the_paired_t(workspace, run_cli, tmp_path):
    cand, prod = systems(300, seed=1, gain=0.3)
    workspace_with(workspace, cand, prod)
    gate = evaluate(run_cli, workspace, tmp_path)["gates"][0]
    d = cand - prod
    assert gate["method"] == "paired-t-hall" and gate["greater_is_better"] is True
    assert (gate["candidate"], gate["production"]) == pytest.approx((cand.mean(), prod.mean()), abs=1e-12)
    assert gate["estimate"] == pytest.approx(d.mean(), abs=1e-12)
    assert gate["p_value"] == pytest.approx(hall_p(d, -0.05), rel=1e-7)
    rows = gate["supplementary"]["row_tests"]
    assert rows["wilcoxon_pvalue"] == pytest.approx(ss.wilcoxon(d).pvalue, rel=1e-9)
    assert rows["estimate"] == pytest.approx(d.mean(), abs=1e-12)
    assert "mcnemar" not in gate["supplementary"]
    assert gate["outcome"] == "pass"


def test_pass_fail_scores_are_decided_by_tango_with_mcnemar_beside(workspace, run_cli, tmp_path):
    cand, prod = systems(400, seed=2, binary=True, gain=0.2)
    workspace_with(workspace, cand, prod)
    gate = evaluate(run_cli, workspace, tmp_path)["gates"][0]
    b, c = int(((cand == 1) & (prod == 0)).sum()), int(((cand == 0) & (prod == 1)).sum())
    both = int(((cand == 1) & (prod == 1)).sum())
    assert gate["method"] == "tango-score"
    assert (gate["candidate"], gate["production"]) == pytest.approx((cand.mean(), prod.mean()), abs=1e-12)
    assert gate["estimate"] == pytest.approx((b - c) / 400, abs=1e-12)
    assert gate["p_value"] == pytest.approx(tango_p(b, c, 400, -0.05), rel=1e-6)
    mc = gate["supplementary"]["mcnemar"]
    exact = sm_mcnemar([[both, b], [c, 400 - both - b - c]], exact=True).pvalue
    assert (mc["b"], mc["c"], mc["method"]) == (b, c, "midp")
    assert mc["p_value"] == pytest.approx(exact - ss.binom.pmf(min(b, c), b + c, 0.5), rel=1e-9)
    assert gate["supplementary"]["row_tests"]["wilcoxon_pvalue"] == pytest.approx(ss.wilcoxon(cand - prod).pvalue)


@pytest.mark.parametrize("binary", [False, True], ids=["graded", "pass-fail"])
def test_lower_is_better_scores_flip_delta_not_the_values(binary, workspace, run_cli, tmp_path):
    cost_c, cost_p = systems(300, seed=3, binary=binary, gain=-0.4)  # the candidate fails more: costs are lower
    gates = "  - {metric: mean_score, rule: non_inferior, margin: 0.05, greater_is_better: false}"
    workspace_with(workspace, cost_c, cost_p, gates=gates)
    gate = evaluate(run_cli, workspace, tmp_path)["gates"][0]
    assert gate["greater_is_better"] is False
    assert (gate["candidate"], gate["production"]) == pytest.approx((cost_c.mean(), cost_p.mean()), abs=1e-12)
    assert gate["estimate"] == pytest.approx(cost_p.mean() - cost_c.mean(), abs=1e-12)
    if binary:
        b, c = int(((cost_c == 0) & (cost_p == 1)).sum()), int(((cost_c == 1) & (cost_p == 0)).sum())
        assert gate["p_value"] == pytest.approx(tango_p(b, c, 300, -0.05), rel=1e-6)
        assert (gate["supplementary"]["mcnemar"]["b"], gate["supplementary"]["mcnemar"]["c"]) == (b, c)
    else:
        assert gate["p_value"] == pytest.approx(hall_p(cost_p - cost_c, -0.05), rel=1e-7)
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "non-inferior, margin 0.05; lower is better" in report
    assert "production - candidate (mean_score: lower is better)" in report


# ----------------------------------------------------------------------------- groups and engines


@pytest.mark.parametrize("binary", [False, True], ids=["graded", "pass-fail"])
def test_one_row_per_group_equals_ungrouped(binary, workspace, run_cli, tmp_path):
    cand, prod = systems(250, seed=4, binary=binary, gain=0.2)
    workspace_with(workspace, cand, prod, holdout_extra={"topic": [f"t{i}" for i in range(250)]})
    plain = evaluate(run_cli, workspace, tmp_path)["gates"][0]
    workspace.policy(POLICY.format(data=", group_column: topic", gates=NON_INFERIOR, extra=""))
    grouped = evaluate(run_cli, workspace, tmp_path)["gates"][0]
    for key in ("estimate", "p_value", "candidate", "production"):
        assert grouped[key] == pytest.approx(plain[key], rel=1e-9, abs=1e-12), key
    assert grouped["confidence_interval"] == pytest.approx(plain["confidence_interval"], rel=1e-9, abs=1e-12)
    assert grouped["groups"]["count"] == 250


def test_grouped_graded_scores_match_the_paired_t_on_group_sums(workspace, run_cli, tmp_path):
    cand, prod = systems(480, seed=5, gain=0.25, groups=40)
    workspace_with(workspace, cand, prod, data=", group_column: topic", groups=40)
    gate = evaluate(run_cli, workspace, tmp_path)["gates"][0]
    topic = np.arange(480) % 40
    sums_c, sums_p = (np.bincount(topic, weights=s) for s in (cand, prod))
    t = ss.ttest_rel(sums_c, sums_p)
    assert gate["method"] == "cluster-paired-t-hall"
    assert gate["estimate"] == pytest.approx((sums_c - sums_p).mean() / 12, abs=1e-12)
    assert gate["p_value"] == pytest.approx(hall_p((sums_c - sums_p) / 12, -0.05), rel=1e-7)
    assert t.df == 39 and gate["groups"]["count"] == 40
    assert "row_tests" not in gate["supplementary"]  # rows in a topic are not independent


@pytest.mark.parametrize("binary", [False, True], ids=["graded", "pass-fail"])
@pytest.mark.parametrize("grouped", [False, True], ids=["rows", "groups"])
def test_streamed_chunks_equal_one_pass(binary, grouped, workspace, run_cli, tmp_path):
    cand, prod = systems(360, seed=6, binary=binary, gain=0.1, groups=36)
    gates = NON_INFERIOR + "\n  - {metric: mean_score, rule: slice_max_drop, max_drop: 0.1, min_support: 20}"
    data = ", slices: [level]" + (", group_column: topic" if grouped else "")
    level = {"level": np.where(np.arange(360) % 3 == 0, "hard", "easy")}
    workspace_with(workspace, cand, prod, gates=gates, data=data, groups=36, holdout_extra=level)
    whole = evaluate(run_cli, workspace, tmp_path)["gates"]
    workspace.policy(POLICY.format(data=data, gates=gates, extra="engine: {chunk_rows: 47}"))
    streamed = evaluate(run_cli, workspace, tmp_path)["gates"]
    for a, b in zip(whole, streamed):
        for key in ("estimate", "p_value", "candidate", "production", "outcome", "method"):
            assert b[key] == (pytest.approx(a[key], rel=1e-9, abs=1e-12) if isinstance(a[key], float) else a[key])
        assert [s["estimate"] for s in b["slices"]] == pytest.approx([s["estimate"] for s in a["slices"]], abs=1e-12)


def test_no_production_model_leaves_the_absolute_rules(workspace, run_cli, tmp_path):
    cand, prod = systems(200, seed=7)
    gates = NON_INFERIOR + "\n  - {metric: mean_score, rule: min, threshold: 0.2}"
    workspace_with(workspace, cand, prod, gates=gates)
    result = evaluate(run_cli, workspace, tmp_path, "--production", "none")
    assert result["decision"] == "first-model"
    assert [g["outcome"] for g in result["gates"]] == ["skipped", "pass"]
    assert result["gates"][1]["candidate"] == pytest.approx(cand.mean())


def test_a_target_beside_the_scores_is_not_needed_by_them(workspace, run_cli, tmp_path):
    """With a target (here a label column) the task is inferred as usual, and files of scores
    alone (no prediction column) still serve mean_score gates."""
    cand, prod = systems(200, seed=8, gain=0.3)
    workspace_with(workspace, cand, prod, data=", target: label", holdout_extra={"label": np.arange(200) % 2})
    result = evaluate(run_cli, workspace, tmp_path)
    assert result["task"] == "classification"
    assert result["gates"][0]["estimate"] == pytest.approx((cand - prod).mean())
    import jsonschema

    jsonschema.validate(result, json.loads(schema_path().read_text()))


# ----------------------------------------------------------------------------- bad inputs


def _bad_missing_column(ws):
    frame = pd.read_csv(ws.root / "preds/candidate.csv")
    ws.table("preds/candidate.csv", frame.rename(columns={"example_score": "example_scores"}))


def _bad_nan(ws):
    frame = pd.read_csv(ws.root / "preds/candidate.csv")
    frame.loc[3, "example_score"] = np.nan
    ws.table("preds/candidate.csv", frame)
    return frame.loc[3, "row_id"]


BAD = [
    ("missing column", _bad_missing_column, None,
     r"preds/candidate\.csv: column 'example_score' \(each example's score, which a mean_score gate compares\) not "
     r"found \(did you mean 'example_scores'\?\); columns are \['row_id', 'example_scores'\]$"),
    ("nan score", _bad_nan, None,
     r"preds/candidate\.csv: column 'example_score' must hold a finite number per row; row_id '{id}' holds an empty "
     r"cell \(line 5\)$"),
    ("greater_is_better on accuracy", None,
     POLICY.format(data=", target: label", gates="  - {metric: accuracy, rule: min, threshold: 0.5, "
                                                   "greater_is_better: true}", extra=""),
     r"gates\[0\]\.greater_is_better: expected no greater_is_better for accuracy \(only for mean_score, whose "
     r"per-example scores may be costs; accuracy is higher-is-better\), got True$"),
    ("model file", None, POLICY.replace("candidate: {{predictions: preds/candidate.csv}}",
                                        "candidate: {{path: build/model.skops}}").format(data="", gates=NON_INFERIOR,
                                                                                           extra=""),
     r"gates\[0\]\.metric: mean_score compares each example's score in predictions files \(column 'example_score'\), "
     r"but candidate\.path gives a model, not a predictions file; give candidate\.predictions$"),
    ("backwards", None, POLICY.format(data="", gates="  - {metric: mean_score, rule: max, threshold: 0.9}", extra=""),
     r"gates\[0\]\.rule: max on mean_score reads backwards: .* \(or set greater_is_better: false if lower scores are "
     r"better\)$"),
    ("no target", None, POLICY.format(data="", gates=NON_INFERIOR + "\n  - {metric: accuracy, rule: min, threshold: 0.5}",
                                      extra=""),
     r"data\.target: expected a value \(required unless every gate is mean_score\)$"),
]


@pytest.mark.parametrize("name, break_files, policy, message", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs_exit_2_naming_the_culprit(name, break_files, policy, message, workspace, run_cli, tmp_path):
    cand, prod = systems(20, seed=9)
    workspace_with(workspace, cand, prod)
    row_id = break_files(workspace) if break_files else None
    if policy:
        workspace.policy(policy)
    r = run_cli("evaluate", "--workspace", workspace.root, "--out", tmp_path / "out", "--quiet")
    assert r.code == 2, r.err
    assert re.search(message.replace("{id}", str(row_id)), r.err.strip()), r.err


def test_a_model_file_on_the_command_line_is_refused_too(workspace, run_cli, tmp_path, cancer_models):
    cand, prod = systems(20, seed=10)
    workspace_with(workspace, cand, prod)
    model = workspace.model("other/model.skops", cancer_models["good"])
    r = run_cli("evaluate", "--workspace", workspace.root, "--out", tmp_path / "out", "--quiet", "--production", model)
    assert r.code == 2
    assert "mean_score compares each example's score in predictions files" in r.err
    assert f"the production (--production: {model}) is a model file" in r.err


# ----------------------------------------------------------------------------- the level at the margin


def _exact_size(decides, n: int, margin: float, discordant: float) -> float:
    """P(pass) for 0/1 scores exactly at the margin, summed over every (b, c) table."""
    p_c, p_p = (discordant - margin) / 2, (discordant + margin) / 2  # only-candidate, only-production
    total = 0.0
    for b in range(0, n + 1):
        for c in range(0, n + 1 - b):
            pr = ss.multinomial.pmf([b, c, n - b - c], n, [p_c, p_p, 1 - discordant])
            if pr > 1e-12 and decides(b, c, n, -margin):
                total += pr
    return total


def _table(b, c, n):
    cand = np.r_[np.ones(b), np.zeros(c), np.ones(n - b - c)]
    prod = np.r_[np.zeros(b), np.ones(c), np.ones(n - b - c)]
    return PairedMoments.from_columns(*score_columns(cand, prod))


def _passes(cmp, null):
    return not cmp.undefined and not cmp.insufficient and cmp.confidence_interval.low > null


def test_pass_fail_gate_holds_its_level_where_the_paired_t_does_not():
    """Few discordant pairs (n = 60, margin 0.05, 7 % discordant): the deciding test (Tango's)
    approves at most alpha of candidates exactly at the margin (exact sizes, no Monte Carlo);
    the paired t on the same moments would approve about twice as many (why it does not decide)."""
    def gate(b, c, n, null):
        return _passes(compare_mean_score(_table(b, c, n), null=null, alternative="greater", confidence_level=0.9), null)

    def paired_t(b, c, n, null):
        negated = PairedMoments.from_columns(*(-s for s in score_columns(
            np.r_[np.ones(b), np.zeros(c), np.ones(n - b - c)], np.r_[np.zeros(b), np.ones(c), np.ones(n - b - c)])[:2]))
        return _passes(compare_loss(negated, "mean_score", null=null, confidence_level=0.9), null)

    assert _exact_size(gate, 60, 0.05, 0.07) <= ALPHA
    assert _exact_size(paired_t, 60, 0.05, 0.07) > 2 * ALPHA


@pytest.mark.parametrize("n, margin, p_gain", [(200, 0.05, 0.1), (50, 0.05, 0.0), (100, 0.02, 0.05)],
                         ids=["200 examples", "never better (the variance floor)", "few differ (the information rule)"])
def test_graded_gate_holds_its_level_at_the_margin(n, margin, p_gain):
    """Judge grades in quarters, the candidate exactly ``margin`` worse on average: the gate
    approves at most alpha (+ three Monte Carlo standard errors). Without the variance floor the
    second regime approved 0.10, without the information rule the third 0.07
    (benchmarks/bench_mean_score.py)."""
    rng = np.random.default_rng(11)
    sims = 400
    grades, weights = np.array([0, 0.25, 0.5, 0.75, 1.0]), [0.1, 0.15, 0.25, 0.25, 0.25]
    # The candidate drops a quarter with probability p_drop where production is above 0, and
    # gains one with probability p_gain where it did not drop and production is below 1:
    # E[Δ] = −0.25·0.9·p_drop + 0.25·p_gain·(0.75 − 0.65·p_drop) = −margin.
    p_drop = (margin + 0.25 * p_gain * 0.75) / (0.25 * 0.9 + 0.25 * p_gain * 0.65)

    def pair(size):
        prod = rng.choice(grades, size, p=weights)
        drop = (rng.random(size) < p_drop) & (prod > 0)
        gain = ~drop & (prod < 1) & (rng.random(size) < p_gain)
        return prod - 0.25 * drop + 0.25 * gain, prod

    cand, prod = pair(1_000_000)
    assert (cand - prod).mean() == pytest.approx(-margin, abs=1e-3)  # the construction is at the margin
    approved = 0
    for _ in range(sims):
        cand, prod = pair(n)
        cmp = compare_mean_score(PairedMoments.from_columns(*score_columns(cand, prod)), null=-margin,
                                 alternative="greater", confidence_level=0.9)
        approved += _passes(cmp, -margin)
    assert approved / sims <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / sims)


def _graded(drops: int, gains: int, n: int = 100):
    prod = np.full(n, 0.5)
    return np.r_[np.full(drops, 0.25), np.full(gains, 0.75), np.full(n - drops - gains, 0.5)], prod


def test_few_differing_examples_near_the_bound_are_inconclusive():
    cand, prod = _graded(drops=3, gains=9)  # Δ = +0.015, 12 examples differ, a 0.02 bound demands 8
    cmp = compare_mean_score(PairedMoments.from_columns(*score_columns(cand, prod)), null=-0.02,
                             alternative="greater", confidence_level=0.9)
    assert cmp.insufficient and cmp.confidence_interval.low > -0.02  # the t alone would pass it
    assert "differ on about 12 example(s)" in cmp.detail and "demands about 8 to differ" in cmp.detail
    far = compare_mean_score(PairedMoments.from_columns(*score_columns(cand, prod)), null=-0.05,
                             alternative="greater", confidence_level=0.9)  # a 0.05 bound demands 20: it may pass
    assert _passes(far, -0.05)


@pytest.mark.parametrize("n, margin, passes", [(200, 0.01, False), (200, 0.02, True)])
def test_identical_scores_pass_a_margin_only_when_a_worse_system_would_show(n, margin, passes):
    scores = np.round(np.random.default_rng(12).random(n) * 4) / 4
    cmp = compare_mean_score(PairedMoments.from_columns(*score_columns(scores, scores)), null=-margin,
                             alternative="greater", confidence_level=0.9)
    assert _passes(cmp, -margin) is passes and cmp.insufficient is not passes  # n·m = 2 < ln 20 ≤ 4


# ----------------------------------------------------------------------------- the worked example


def test_the_llm_eval_example_end_to_end(tmp_path, run_cli):
    example = REPO / "examples" / "llm-eval"
    ws = tmp_path / "llm-eval"
    runpy.run_path(str(example / "generate.py"))["generate"](ws)
    shutil.copytree(example / ".github", ws / ".github")
    r = run_cli("evaluate", "--workspace", ws, "--out", tmp_path / "out", "--json")
    result = json.loads(r.out)
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    cand, prod = (pd.read_csv(ws / "predictions" / f"{s}.csv").set_index("row_id").loc[holdout["example_id"],
                                                                                       "example_score"].to_numpy()
                  for s in ("candidate", "production"))
    topic = pd.factorize(holdout["topic"])[0]
    sums_c, sums_p = (np.bincount(topic, weights=s) for s in (cand, prod))
    per_topic = np.bincount(topic)
    assert (per_topic == per_topic[0]).all()
    gate = result["gates"][0]
    assert gate["rule"] == "non_inferior" and gate["method"] == "cluster-paired-t-hall"
    assert gate["estimate"] == pytest.approx(cand.mean() - prod.mean(), abs=1e-12)
    assert gate["p_value"] == pytest.approx(hall_p((sums_c - sums_p) / per_topic[0], -gate["margin"]), rel=1e-7)
    assert ss.ttest_rel(sums_c, sums_p).df == result["groups"]["count"] - 1
    assert (r.code, result["decision"]) == (0, "approve")
