"""The streaming engine: merged chunk statistics equal whole-data statistics, and a streamed
evaluation gives the in-memory engine's decision and numbers, with the same input checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.gates.engine.chunks import Plan, StreamTotals, score_chunk
from mlgate.gates.evidence import Comparands, build_evidence, merge_evidence, merge_slices
from mlgate.gates.models.load import Model
from mlgate.gates.models.score import Scores
from workspaces import CANCER_POLICY, fit_logistic


# ----------------------------------------------------------------------------- exactness


def _boundaries(draw, n):
    cuts = draw(st.lists(st.integers(0, n), max_size=8))
    return sorted({0, n, *cuts})


@st.composite
def problems(draw):
    task = draw(st.sampled_from(["classification", "regression"]))
    n = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    slice_values = np.array(["a", "b", "c", None], dtype=object)[rng.integers(0, 4, n)]
    frame = pd.DataFrame({"region": slice_values})
    if task == "classification":
        k = draw(st.integers(2, 4))
        labels = tuple(range(k))
        y = rng.integers(0, k, n)
        proba = [rng.dirichlet(np.ones(k), n) for _ in range(2)]
        # coarse probabilities make ties, which DeLong must keep exactly
        proba = [np.round(p, draw(st.integers(1, 6))) for p in proba]
        preds = [np.asarray(labels)[p.argmax(axis=1)] for p in proba]
        frame["y"] = y
        scores = [Scores(predicted=preds[i], proba=proba[i]) for i in range(2)]
        loss = frozenset({"log_loss", "brier"})
        pos = 1 if k == 2 else None
    else:
        labels = None
        y = rng.normal(size=n) * 10
        frame["y"] = y
        scores = [Scores(predicted=y + rng.normal(size=n) * s) for s in (1.0, 2.0)]
        loss = frozenset({"mae", "mse", "r2"})
        pos = None
    plan = Plan(source="holdout.csv", target="y", task=task, labels=labels, positive_label=pos,
                pos_index=None if pos is None else labels.index(pos), id_column=None, slices=("region",),
                exclude=frozenset({"y"}), want_proba=True, loss_metrics=loss, slice_scores=True)
    return plan, frame, scores, _boundaries(draw, n)


def _cut(scores, lo, hi):
    return Scores(predicted=scores.predicted[lo:hi], proba=None if scores.proba is None else scores.proba[lo:hi])


def _assert_same(a, b):
    assert a.n == b.n
    assert (a.cells is None) == (b.cells is None)
    if a.cells is not None:
        assert a.cells == b.cells  # exact integer counts
    for name in ("positive", "score_candidate", "score_production"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and np.array_equal(x, y), name  # exact, same order
    assert a.moments.keys() == b.moments.keys()
    for metric in a.moments:
        ma, mb = a.moments[metric], b.moments[metric]
        assert ma.n == mb.n
        # Chan's merge is exact in exact arithmetic; in floating point it agrees to rounding.
        np.testing.assert_allclose(ma.mean, mb.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ma.m2, mb.m2, rtol=1e-10, atol=1e-9)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_merged_chunks_equal_the_whole(problem):
    plan, frame, scores, bounds = problem
    cand, prod = Model("candidate", "c.skops", "0"), Model("production", "p.skops", "1")
    whole_overall, whole_slices = score_chunk(frame, plan, cand, prod, {"candidate": scores[0], "production": scores[1]})

    totals = StreamTotals(plan)
    parts, slice_parts = [], []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        fixed = {"candidate": _cut(scores[0], lo, hi), "production": _cut(scores[1], lo, hi)}
        ov, sl = score_chunk(frame.iloc[lo:hi], plan, cand, prod, fixed)
        totals.add(ov, sl)
        parts.append(ov)
        slice_parts.append(sl)
    merged, merged_slices = totals.result(plan.labels)
    _assert_same(merged, whole_overall)
    _assert_same(merge_evidence(parts), whole_overall)
    _assert_same(sum(parts[1:], parts[0]), whole_overall)
    keyed = merge_slices(slice_parts)
    assert keyed.keys() == whole_slices.keys()
    for key in whole_slices:
        _assert_same(keyed[key], whole_slices[key])
    # the named slices come out in the in-memory engine's order: sorted values, then missing
    names = [f"region={k}" for k in sorted(k for (_, k) in whole_slices if k is not None)]
    names += ["region=<missing>"] if ("region", None) in whole_slices else []
    assert list(merged_slices) == names


def test_float32_scores_and_no_row_differences_when_streaming():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    c = Comparands("classification", (0, 1), 1, y, y, y, proba, proba)
    kept = build_evidence(c, {"log_loss"})
    assert kept.score_candidate.dtype == np.float64 and "log_loss" in kept.loss_differences
    streamed = build_evidence(c, {"log_loss"}, keep_rows=False, score_dtype=np.float32)
    assert streamed.score_candidate.dtype == np.float32 and streamed.loss_differences == {}
    both = kept + kept
    assert both.n == 8 and both.score_candidate.dtype == np.float64  # a merge loses no precision
    assert len(both.loss_differences["log_loss"]) == 8  # both sides kept rows: still kept
    assert (streamed + streamed).score_candidate.dtype == np.float32
    mixed = kept + streamed
    assert mixed.loss_differences == {}  # one side did not keep rows: dropped, never partial
    assert mixed.score_candidate.dtype == np.float32  # no more precision than the coarsest part


def test_a_merge_never_misaligns_rows():
    """Per-row arrays come from every part or none: a part without scores is an error."""
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    c = Comparands("classification", (0, 1), 1, y, y, y, proba, proba)
    with_scores = build_evidence(c, set())
    without = build_evidence(c, set(), keep_scores=False)
    with pytest.raises(ValueError, match="with and without positive"):
        with_scores + without
    with pytest.raises(ValueError, match="with and without positive"):
        without + with_scores


# ----------------------------------------------------------------------------- end to end


def _result(run, tmp_path, ws, *extra, name="out"):
    out = tmp_path / name
    r = run("evaluate", "--workspace", ws.root, "--out", out, "--quiet", *extra)
    assert r.code in (0, 1), r.err
    return r.code, json.loads((out / "result.json").read_text())


def _close(a, b) -> bool:
    """Equal up to float noise; None (an undefined number) only matches None."""
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


def _same_numbers(a, b):
    assert a["decision"] == b["decision"] and a["reasons"] == b["reasons"]
    how = ("streamed",)  # how the holdout was read may differ; what was read may not
    assert {k: v for k, v in a["data"].items() if k not in how} == {k: v for k, v in b["data"].items() if k not in how}
    assert a["labels"] == b["labels"]
    for ga, gb in zip(a["gates"], b["gates"], strict=True):
        for key in ("name", "passed", "undefined", "method", "n"):  # exact (pytest 9.2's approx refuses strings)
            assert ga[key] == gb[key], (ga["name"], key)
        for key in ("candidate", "production", "estimate", "p_value", "confidence_interval"):
            assert _close(ga[key], gb[key]), (ga["name"], key, ga[key], gb[key])
        assert [s["slice"] for s in ga["slices"]] == [s["slice"] for s in gb["slices"]]
        for sa, sb in zip(ga["slices"], gb["slices"]):
            assert sa["n"] == sb["n"] and sa["passed"] == sb["passed"]
            assert _close(sa["estimate"], sb["estimate"]), (sa["slice"], sa["estimate"], sb["estimate"])
    assert a.get("curves") == b.get("curves")


STREAM_GATES = CANCER_POLICY.replace("gates:\n", (
    "gates:\n  - {metric: log_loss, rule: non_inferior, margin: 0.01}\n"
    "  - {metric: roc_auc, rule: slice_max_drop, max_drop: 0.05, min_support: 40}\n"
))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_streaming_gives_the_in_memory_decision_and_numbers(cancer_workspace, cancer, run_cli, tmp_path, fmt):
    _, test = cancer
    if fmt == "parquet":
        cancer_workspace.table("data/holdout.parquet", test)
    policy = STREAM_GATES.replace("holdout.csv", f"holdout.{fmt}")
    cancer_workspace.policy(policy)
    _, whole = _result(run_cli, tmp_path, cancer_workspace, name="whole")
    cancer_workspace.policy(policy + "engine: {kind: local, chunk_rows: 37}\n")
    _, streamed = _result(run_cli, tmp_path, cancer_workspace, name="streamed")
    _same_numbers(whole, streamed)
    assert streamed["engine"] == "local" and any("chunks of 37 rows" in n for n in streamed["notes"])
    assert (whole["data"]["streamed"], streamed["data"]["streamed"]) == (False, True)
    # one scoring path: a small holdout keeps its row tests however it is chunked
    loss = next(g for g in whole["gates"] if g["metric"] == "log_loss")
    assert "row_tests" in loss["supplementary"]
    assert next(g for g in streamed["gates"] if g["metric"] == "log_loss")["supplementary"] == loss["supplementary"]
    assert not any("engine:" in n for n in whole["notes"])  # the default says nothing about chunks


def test_beyond_the_row_extras_limit_only_the_deciding_statistics_are_kept(cancer_workspace, run_cli, tmp_path,
                                                                           monkeypatch):
    import mlgate.gates.engine.chunks

    cancer_workspace.policy(STREAM_GATES)
    _, small = _result(run_cli, tmp_path, cancer_workspace, name="small")
    monkeypatch.setattr(mlgate.gates.engine.chunks, "ROW_EXTRAS_MAX_ROWS", 100)  # the holdout now counts as large
    _, large = _result(run_cli, tmp_path, cancer_workspace, name="large")
    _same_numbers(small, large)
    assert "row_tests" not in next(g for g in large["gates"] if g["metric"] == "log_loss")["supplementary"]
    assert any("kept only up to 100 rows" in n for n in large["notes"])


def test_streamed_regression_and_predictions_files_by_id(workspace, diabetes_split, diabetes_models, run_cli, tmp_path):
    _, test = diabetes_split
    cols = [c for c in test.columns if c not in ("progression", "sex_group")]
    holdout = test.assign(uid=np.arange(len(test)) * 7)
    workspace.table("data/holdout.csv", holdout)
    for role, model in (("candidate", diabetes_models["full"]), ("production", diabetes_models["bmi_only"])):
        names = list(getattr(model, "feature_names_in_", cols))
        preds = pd.DataFrame({"row_id": holdout["uid"], "prediction": model.predict(holdout[names])})
        workspace.table(f"preds/{role}.csv", preds.sample(frac=1.0, random_state=4))
    policy = """\
version: 1
task: regression
data: {holdout: data/holdout.csv, target: progression, id_column: uid, slices: [sex_group]}
candidate: {predictions: preds/candidate.csv}
production: {predictions: {path: preds/production.csv}}
gates:
  - {metric: mse, rule: non_inferior, margin: 10}
  - {metric: mae, rule: slice_max_drop, max_drop: 5, min_support: 20}
  - {metric: r2, rule: min, threshold: 0.1}
"""
    workspace.policy(policy)
    _, whole = _result(run_cli, tmp_path, workspace, name="whole")
    workspace.policy(policy + "engine: {chunk_rows: 50}\n")
    _, streamed = _result(run_cli, tmp_path, workspace, name="streamed")
    _same_numbers(whole, streamed)


def _error(run, ws, policy):
    ws.policy(policy)
    r = run("evaluate", "--workspace", ws.root, "--out", ws.root / "out", "--quiet")
    return r.code, r.err.strip()


def test_checks_happen_per_chunk_with_the_same_messages_and_global_rows(cancer_workspace, cancer, run_cli):
    _, test = cancer
    broken = test.astype({"label": float})
    broken.loc[[130, 250], "label"] = np.nan
    cancer_workspace.table("data/holdout.csv", broken)
    whole = _error(run_cli, cancer_workspace, CANCER_POLICY)
    streamed = _error(run_cli, cancer_workspace, CANCER_POLICY + "engine: {chunk_rows: 40}\n")
    assert whole == streamed and whole[0] == 2 and "2 missing value(s) (first at data row 131)" in whole[1]

    dup = test.assign(uid=np.arange(len(test)))
    dup.loc[200, "uid"] = 3  # a duplicate of a row in an earlier chunk
    cancer_workspace.table("data/holdout.csv", dup)
    policy = CANCER_POLICY.replace("target: label", "target: label\n  id_column: uid")
    whole = _error(run_cli, cancer_workspace, policy)
    streamed = _error(run_cli, cancer_workspace, policy + "engine: {chunk_rows: 40}\n")
    assert whole == streamed and whole[0] == 2 and "duplicated ids, e.g. 3" in whole[1]

    cancer_workspace.table("data/holdout.csv", test.drop(columns=["size"]))
    whole = _error(run_cli, cancer_workspace, CANCER_POLICY)
    streamed = _error(run_cli, cancer_workspace, CANCER_POLICY + "engine: {chunk_rows: 40}\n")
    assert whole == streamed and "column 'size' (data.slices[0]) not found" in whole[1]


def test_regression_target_checked_with_global_row_numbers(workspace, diabetes_split, diabetes_models, run_cli):
    _, test = diabetes_split
    bad = test.astype({"progression": object})
    bad.loc[150, "progression"] = "high"
    workspace.table("data/holdout.csv", bad)
    workspace.model("build/model.skops", diabetes_models["full"])
    policy = """\
version: 1
task: regression
data: {holdout: data/holdout.csv, target: progression}
candidate: {path: build/model.skops}
production: {path: build/model.skops}
gates: [{metric: mse, rule: non_inferior, margin: 1}]
"""
    whole = _error(run_cli, workspace, policy)
    streamed = _error(run_cli, workspace, policy + "engine: {chunk_rows: 64}\n")
    assert whole == streamed and whole[0] == 2 and "data row 151 holds 'high'" in whole[1]


def test_csv_chunks_that_infer_different_dtypes_read_like_one_file(workspace, iris_split, run_cli, tmp_path):
    """Labels '1' and 'x': a chunk of only '1' reads as int, the whole file as text."""
    train, test = iris_split
    features = [c for c in train.columns if c != "species"]
    codes = {"setosa": "1", "versicolor": "2", "virginica": "x"}
    train = train.assign(species=train["species"].map(codes))
    test = test.sort_values("species").assign(species=lambda f: f["species"].map(codes)).reset_index(drop=True)
    workspace.table("data/holdout.csv", test)
    workspace.model("build/a.skops", fit_logistic(train, features[:1], target="species"))
    workspace.model("build/b.skops", fit_logistic(train, features, target="species"))
    policy = """\
version: 1
data: {holdout: data/holdout.csv, target: species}
candidate: {path: build/b.skops}
production: {path: build/a.skops}
gates: [{metric: accuracy, rule: non_inferior, margin: 0.05}]
"""
    workspace.policy(policy)
    _, whole = _result(run_cli, tmp_path, workspace, name="whole")
    workspace.policy(policy + "engine: {chunk_rows: 20}\n")
    _, streamed = _result(run_cli, tmp_path, workspace, name="streamed")
    assert whole["labels"] == ["1", "2", "x"]
    _same_numbers(whole, streamed)
