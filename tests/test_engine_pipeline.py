"""The fast paths of a streamed evaluation give the answers of the plain ones.

Each shortcut taken to cut the gate's overhead on large holdouts — integer labels encoded by a
lookup table, loss moments from columns, DeLong on float32 keys, binned curves, chunks read
ahead on a thread, a slice gate that no longer runs a discarded whole-holdout test — is
checked here against the slower computation it replaced or an independent reference.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from mlgate.gates import curves
from mlgate.gates.config.spec import GateSpec
from mlgate.gates.engine.local import _read_ahead
from mlgate.gates.errors import DataError
from mlgate.gates.evidence import Comparands, build_evidence
from mlgate.gates.rules import StatSettings, evaluate_gate
from mlgate.gates.stats import JointCells, PairedMoments, delong, label_codes
from mlgate.gates.stats.delong import _argsort_scores, _sort_scores, structural_components


# ----------------------------------------------------------------------------- label codes


@settings(max_examples=150, deadline=None)
@given(
    labels=st.lists(st.integers(-5, 40), min_size=1, max_size=6, unique=True),
    picks=st.lists(st.integers(0, 5), min_size=0, max_size=60),
    dtype=st.sampled_from([np.int64, np.int32, np.uint8, np.int8]),
)
def test_label_codes_by_lookup_table_match_a_dictionary(labels, picks, dtype):
    info = np.iinfo(dtype)
    labels = [v for v in labels if info.min <= v <= info.max] or [0]
    values = np.array([labels[i % len(labels)] for i in picks], dtype=dtype)
    expected = [labels.index(int(v)) for v in values]
    assert label_codes("y", values, tuple(labels)).tolist() == expected


def test_label_codes_name_a_value_outside_the_labels():
    with pytest.raises(ValueError, match=r"pred_candidate holds values not in labels \(0, 1\): \[7\]"):
        label_codes("pred_candidate", np.array([0, 1, 7, 1]), (0, 1))
    with pytest.raises(ValueError, match=r"\[-3\]"):
        label_codes("y", np.array([0, -3]), (0, 1))


def test_label_codes_for_bools_and_strings():
    assert label_codes("y", np.array([True, False, True]), (False, True)).tolist() == [1, 0, 1]
    assert label_codes("y", np.array([True, False]), (True, False)).tolist() == [0, 1]
    assert label_codes("y", np.array(["b", "a"], dtype=object), ("a", "b")).tolist() == [1, 0]


def test_joint_cells_agree_with_a_crosstab_for_unsorted_integer_labels():
    rng = np.random.default_rng(3)
    labels = (7, 2, 5)
    y, c, p = (np.asarray(labels)[rng.integers(0, 3, 5000)] for _ in range(3))
    cells = JointCells.from_arrays(y, c, p, labels=labels)
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            for k, d in enumerate(labels):
                assert cells.counts[i, j, k] == np.sum((y == a) & (c == b) & (p == d))


# ----------------------------------------------------------------------------- moments


@pytest.mark.parametrize("n", [1, 2, 999, (1 << 20) + 17])
def test_moments_from_columns_equal_moments_from_rows(n):
    rng = np.random.default_rng(n)
    cols = [rng.gamma(2.0, size=n), rng.normal(size=n) * 1e3, rng.integers(0, 2, n).astype(float)]
    cols.append(cols[2] ** 2)
    a = PairedMoments.from_columns(*cols)
    b = PairedMoments.from_rows(np.column_stack(cols))
    assert a.n == b.n == n
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.m2, b.m2, rtol=1e-10, atol=1e-8)
    ref = np.cov(np.column_stack(cols), rowvar=False, ddof=0) * n if n > 1 else np.zeros((4, 4))
    np.testing.assert_allclose(a.m2, ref, rtol=1e-9, atol=1e-8)


def test_moments_from_columns_refuse_non_finite_values_and_ragged_columns():
    with pytest.raises(ValueError, match="finite"):
        PairedMoments.from_columns(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="same length"):
        PairedMoments.from_columns(np.array([1.0, 2.0]), np.array([1.0]))


# ----------------------------------------------------------------------------- DeLong on float32


@settings(max_examples=120, deadline=None)
@given(
    n=st.integers(4, 400),
    seed=st.integers(0, 2**31 - 1),
    levels=st.sampled_from([3, 50, 0]),  # few distinct scores (heavy ties), some, all distinct
)
def test_delong_on_float32_scores_is_bit_identical_to_float64(n, seed, levels):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    y[:2], y[2:4] = True, False
    raw = [rng.normal(size=n) + y * s for s in (0.8, 0.4)]
    if levels:
        raw = [np.round(r * levels) / levels for r in raw]
    sc, sp = (r.astype(np.float32) for r in raw)
    sc[rng.random(n) < 0.1] = np.float32(-0.0)
    sp[rng.random(n) < 0.1] = np.float32(0.0)
    fast = delong(y, sc, sp)
    plain = delong(y, sc.astype(np.float64), sp.astype(np.float64))
    assert fast == plain
    assert fast.auc_candidate == pytest.approx(roc_auc_score(y, sc), abs=1e-12)
    assert fast.auc_production == pytest.approx(roc_auc_score(y, sp), abs=1e-12)


def test_float32_sort_groups_ties_exactly_like_an_argsort():
    rng = np.random.default_rng(5)
    score = np.round(rng.normal(size=20_000) * 4).astype(np.float32)
    score[::7] = np.float32(-0.0)
    order, tie_at, _ = _sort_scores(score)
    ref_order, ref_ties, _ = _argsort_scores(score.astype(np.float64))
    np.testing.assert_array_equal(score[order], score[ref_order])
    np.testing.assert_array_equal(tie_at, ref_ties)
    pos = rng.random(score.size) < 0.3
    a = structural_components(pos, score, int(pos.sum()), int((~pos).sum()))
    b = structural_components(pos, score.astype(np.float64), int(pos.sum()), int((~pos).sum()))
    for x, z in zip(a, b):
        np.testing.assert_array_equal(x, z)


# ----------------------------------------------------------------------------- curves


def test_binned_roc_curve_stays_on_the_exact_one():
    rng = np.random.default_rng(11)
    n = curves.EXACT_ROWS + 50_000
    positive = rng.random(n) < 0.3
    score = (rng.normal(size=n) + positive).astype(np.float32)
    binned = curves.roc_curve(positive, score)
    assert binned.auc == pytest.approx(roc_auc_score(positive, score), abs=2e-4)
    # every drawn vertex is a point of the exact curve at a threshold inside its bin
    exact_tpr = np.interp(binned.fpr, *_exact_roc(positive, score))
    np.testing.assert_allclose(binned.tpr, exact_tpr, atol=2e-3)


def _exact_roc(positive, score):
    order = np.argsort(-score.astype(float), kind="stable")
    tp = np.cumsum(positive[order])
    fp = np.cumsum(~positive[order])
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def test_calibration_table_counts_every_row_across_blocks():
    rng = np.random.default_rng(2)
    n = (1 << 20) + 333
    score = rng.random(n).astype(np.float32)
    score[:5] = [0.0, 1.0, 0.1, 0.7, 1.0]
    positive = rng.random(n) < score
    table = curves.calibration(positive, score)
    which = np.minimum((score.astype(float) * 10).astype(int), 9)
    for b in range(10):
        in_bin = which == b
        assert table.count[b] == int(in_bin.sum())
        assert table.observed[b] == pytest.approx(positive[in_bin].mean(), abs=1e-12)
        assert table.mean_predicted[b] == pytest.approx(score[in_bin].astype(float).mean(), rel=1e-9)


# ----------------------------------------------------------------------------- read-ahead


def test_read_ahead_keeps_order_and_hands_over_the_readers_error():
    def chunks():
        for i in range(5):
            yield i
        raise DataError("holdout.csv: cannot read as CSV: line 9 has 3 fields")

    seen = []
    with pytest.raises(DataError, match="line 9 has 3 fields"):
        for value in _read_ahead(chunks()):
            seen.append(value)
    assert seen == [0, 1, 2, 3, 4]


def test_closing_the_read_ahead_stops_the_reader():
    produced = []

    def chunks():
        for i in range(1000):
            produced.append(i)
            yield i

    before = {t.ident for t in threading.enumerate()}
    reader = _read_ahead(chunks())
    assert next(reader) == 0
    reader.close()
    assert len(produced) <= 3  # one handed over, at most one queued and one in hand
    assert not [t for t in threading.enumerate() if t.ident not in before and t.name == "mlgate-read"]


# ----------------------------------------------------------------------------- slice gate


def test_slice_gate_reports_overall_points_and_the_deciding_slice():
    rng = np.random.default_rng(8)
    n = 3000
    y = rng.integers(0, 2, n)
    region = np.where(rng.random(n) < 0.5, "north", "south")
    good = rng.normal(size=n) + 1.2 * y
    worse = np.where(region == "south", rng.normal(size=n) + 0.2 * y, good + rng.normal(size=n) * 0.1)
    to_proba = lambda s: np.column_stack([1 / (1 + np.exp(s)), 1 / (1 + np.exp(-s))])  # noqa: E731
    pc, pp = to_proba(worse), to_proba(good)
    c = Comparands(task="classification", labels=(0, 1), pos_index=1, y=y,
                   pred_candidate=pc.argmax(axis=1), pred_production=pp.argmax(axis=1),
                   proba_candidate=pc, proba_production=pp)
    overall = build_evidence(c, set())
    slices = {f"region={r}": build_evidence(c, set(), region == r) for r in ("north", "south")}
    gate = GateSpec(metric="roc_auc", rule="slice_max_drop", name="roc_auc by region", max_drop=0.02,
                    min_support=30)
    settings_ = StatSettings(alpha=0.05, resamples=200, seed=0, positive_label=1, average_default="binary")
    result = evaluate_gate(gate, overall, slices, {}, settings_, has_production=True)
    assert result.candidate == pytest.approx(roc_auc_score(y, pc[:, 1]), abs=1e-12)
    assert result.production == pytest.approx(roc_auc_score(y, pp[:, 1]), abs=1e-12)
    south = next(s for s in result.slices if s.slice == "region=south")
    assert result.passed is False and south.passed is False
    assert result.estimate == south.estimate
    assert result.confidence_interval == south.confidence_interval
    assert result.p_value == south.p_value_adjusted
    assert result.method == "delong" and result.n == n
    assert "region=south" in result.detail


def test_slice_gate_with_no_gated_slice_is_inconclusive():
    """Issue 13: a slice gate that could gate no slice cannot tell; that is not a pass."""
    rng = np.random.default_rng(9)
    n = 100
    y = rng.integers(0, 2, n)
    p = np.clip(rng.random(n), 0.01, 0.99)
    proba = np.column_stack([1 - p, p])
    c = Comparands(task="classification", labels=(0, 1), pos_index=1, y=y, pred_candidate=proba.argmax(1),
                   pred_production=proba.argmax(1), proba_candidate=proba, proba_production=proba)
    overall = build_evidence(c, set())
    slices = {"g=a": build_evidence(c, set(), np.arange(n) < 10)}
    gate = GateSpec(metric="accuracy", rule="slice_max_drop", name="acc by g", max_drop=0.02, min_support=30)
    settings_ = StatSettings(alpha=0.05, resamples=200, seed=0, positive_label=1, average_default="binary")
    result = evaluate_gate(gate, overall, slices, {}, settings_, has_production=True)
    assert result.outcome == "inconclusive" and result.passed is False and result.p_value is None
    assert result.candidate == result.production == pytest.approx((proba.argmax(1) == y).mean())
    assert "none gated" in result.detail and result.detail.startswith("inconclusive")


def test_streamed_frame_to_pandas_roundtrip_keeps_row_order(tmp_path):
    """The read-ahead thread hands chunks over in file order (global row numbers depend on it)."""
    from mlgate.gates.holdout.read_chunks import iter_chunks

    frame = pd.DataFrame({"x": np.arange(10_000), "label": np.arange(10_000) % 2})
    frame.to_parquet(tmp_path / "h.parquet", row_group_size=999)
    got = pd.concat(list(_read_ahead(iter_chunks(tmp_path / "h.parquet", "h.parquet", chunk_rows=700))))
    np.testing.assert_array_equal(got["x"].to_numpy(), frame["x"].to_numpy())


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), seed=st.integers(0, 2**31 - 1), decimals=st.integers(0, 3))
def test_roc_auc_from_deLong_components_matches_scikit_learn(n, seed, decimals):
    from mlgate.gates.stats import roc_auc

    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.5
    score = np.round(rng.normal(size=n) + y, decimals)  # ties at every rounding
    if y.all() or not y.any():
        assert np.isnan(roc_auc(y, score))
    else:
        assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
        assert roc_auc(y, score.astype(np.float32)) == pytest.approx(roc_auc_score(y, score.astype(np.float32)), abs=1e-12)


def test_curves_counted_while_streaming_equal_the_in_memory_curves(tmp_path):
    """Beyond EXACT_ROWS both engines draw from the same fixed bins; streamed, each chunk is
    counted as it is reduced and the counts are added."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from mlgate.gates.config.parse import load_policy
    from mlgate.gates.engine import Overrides, evaluate

    rng = np.random.default_rng(4)
    n = curves.EXACT_ROWS + 30_001
    X = rng.normal(size=(n, 3))
    y = (X @ np.array([1.0, -0.7, 0.3]) + rng.logistic(size=n) > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    frame.to_parquet(tmp_path / "holdout.parquet", row_group_size=50_000)
    train = frame.iloc[:5000]
    sio.dump(LogisticRegression().fit(train[["a", "b", "c"]], train["label"]), tmp_path / "cand.skops")
    sio.dump(LogisticRegression().fit(train[["a"]], train["label"]), tmp_path / "prod.skops")
    base = ("version: 1\ndata: {holdout: holdout.parquet, target: label}\ncandidate: {path: cand.skops}\n"
            "production: {path: prod.skops}\ngates:\n  - {metric: log_loss, rule: non_inferior, margin: 0.01}\n")
    (tmp_path / "whole.yml").write_text(base)
    (tmp_path / "stream.yml").write_text(base + "engine: {kind: local, chunk_rows: 40000}\n")
    whole = evaluate(load_policy(tmp_path / "whole.yml", source="whole.yml"), tmp_path, Overrides())
    streamed = evaluate(load_policy(tmp_path / "stream.yml", source="stream.yml"), tmp_path, Overrides())
    assert whole.curves is not None and whole.curves.n == n
    assert streamed.curves.to_dict() == whole.curves.to_dict()
    assert streamed.curves.calibration["candidate"].count == whole.curves.calibration["candidate"].count
    assert sum(streamed.curves.calibration["production"].count) == n
    exact = roc_auc_score(y, streamed_scores := LogisticRegression().fit(train[["a", "b", "c"]], train["label"])
                          .predict_proba(frame[["a", "b", "c"]])[:, 1])
    assert streamed.curves.roc["candidate"].auc == pytest.approx(exact, abs=2e-4)
    assert len(streamed_scores) == n


def test_score_bins_refuse_scores_outside_the_unit_interval():
    assert curves.score_bins(np.array([True, False]), np.array([0.2, 1.5])) is None
    assert curves.score_bins(np.array([True, False]), np.array([0.2, np.nan])) is None
    b = curves.score_bins(np.array([True, False, True]), np.array([0.0, 0.5, 1.0], np.float32))
    assert b.count.tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1] and b.hits.tolist()[-1] == 1
    assert (b + b).roc.sum() == 6 and (0 + b) is b


def test_columns_of_a_parquet_file_written_by_pandas_with_its_index(tmp_path):
    """pandas stores a RangeIndex as metadata (a dict) and a named index as a column: streaming
    such a file once failed with "unhashable type: 'dict'"."""
    from mlgate.gates.holdout.read_chunks import read_columns

    frame = pd.DataFrame({"x": [1.0, 2.0], "label": [0, 1]})
    frame.to_parquet(tmp_path / "range.parquet")
    frame.set_index(pd.Index(["a", "b"], name="key")).to_parquet(tmp_path / "named.parquet")
    assert read_columns(tmp_path / "range.parquet", "range.parquet") == ["x", "label"]
    assert read_columns(tmp_path / "named.parquet", "named.parquet") == ["x", "label"]


# ----------------------------------------------------------------------------- regression far from 0


def _regression_evidence(y, pred_c, pred_p, mask=None):
    from mlgate.gates.evidence import first_target

    c = Comparands(task="regression", labels=None, pos_index=None, y=y, pred_candidate=pred_c,
                   pred_production=pred_p, proba_candidate=None, proba_production=None,
                   y_center=first_target("regression", y))
    return build_evidence(c, {"r2", "rmse", "mse"}, mask)


@pytest.mark.parametrize("metric", ["r2", "rmse"])
def test_loss_gates_do_not_depend_on_where_the_target_sits(metric):
    """r2 and rmse are unchanged by shifting the target and both predictions: so must be every
    number the gate reports (y ≈ 1e8 once lost every digit of r2 to E[y²] − E[y]²)."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mean_squared_error, r2_score

    X, y = load_diabetes(return_X_y=True)
    good = LinearRegression().fit(X[:300], y[:300]).predict(X)
    weak = LinearRegression().fit(X[:300, :2], y[:300]).predict(X[:, :2])
    region = np.where(X[:, 1] > 0, "a", "b")
    settings_ = StatSettings(alpha=0.05, resamples=200, seed=0, positive_label=None, average_default="macro")
    gates = [GateSpec(metric=metric, rule="non_inferior", name="overall", margin=0.01),
             GateSpec(metric=metric, rule="slice_max_drop", name="by region", max_drop=0.01, min_support=30)]
    results = {}
    for shift in (0.0, 1e8):
        yy, pc, pp = y + shift, good + shift, weak + shift
        overall = _regression_evidence(yy, pc, pp)
        slices = {f"region={r}": _regression_evidence(yy, pc, pp, region == r) for r in ("a", "b")}
        results[shift] = [evaluate_gate(g, overall, slices, {}, settings_, has_production=True) for g in gates]
    reference = r2_score if metric == "r2" else (lambda t, p: mean_squared_error(t, p) ** 0.5)
    for at_zero, far in zip(results[0.0], results[1e8]):
        assert far.candidate == pytest.approx(reference(y, good), rel=1e-6)
        assert far.production == pytest.approx(reference(y, weak), rel=1e-6)
        assert far.estimate == pytest.approx(at_zero.estimate, rel=1e-6, abs=1e-9)
        assert far.confidence_interval == pytest.approx(at_zero.confidence_interval, rel=1e-5, abs=1e-8)
        assert far.p_value == pytest.approx(at_zero.p_value, rel=1e-4, abs=1e-12)
        assert far.passed == at_zero.passed


def test_label_codes_of_uint64_values_beyond_intp():
    big = np.array([2**63, 2**63 + 1, 2**63], np.uint64)
    assert label_codes("y", big, (2**63, 2**63 + 1)).tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="not in labels"):  # once wrapped round to label -1
        label_codes("y", np.array([0, 1, 2**64 - 1], np.uint64), (-1, 0, 1))


# ----------------------------------------------------------------------------- failures mid-stream


def test_a_model_failing_mid_stream_stops_every_stage(tmp_path):
    """A chunk the model cannot score (NaN features in the 4th chunk) ends the evaluation with
    the model's error, and the reader and reducer threads are gone afterwards."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from mlgate.gates.config.parse import load_policy
    from mlgate.gates.errors import ModelError
    from mlgate.gates.engine import Overrides, evaluate

    rng = np.random.default_rng(0)
    n = 5000
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["label"] = (frame["a"] + rng.logistic(size=n) > 0).astype(int)
    sio.dump(LogisticRegression().fit(frame[["a", "b"]], frame["label"]), tmp_path / "m.skops")
    frame.loc[3 * 1000 + 17, "b"] = np.nan
    frame.to_parquet(tmp_path / "h.parquet", index=False)
    (tmp_path / "p.yml").write_text(
        "version: 1\ndata: {holdout: h.parquet, target: label}\ncandidate: {path: m.skops}\n"
        "production: {path: m.skops}\ngates:\n  - {metric: accuracy, rule: non_inferior, margin: 0.01}\n"
        "engine: {kind: local, chunk_rows: 1000}\n")
    with pytest.raises(ModelError, match="failed to predict"):
        evaluate(load_policy(tmp_path / "p.yml", source="p.yml"), tmp_path, Overrides())
    alive = [t.name for t in threading.enumerate() if t.name.startswith(("mlgate-read", "mlgate-reduce"))]
    assert alive == []


def test_joint_cells_find_uint64_labels_beyond_intp():
    big = np.array([2**64 - 1, 2**64 - 2, 2**64 - 1], np.uint64)
    cells = JointCells.from_arrays(big, big, big[::-1])
    assert cells.labels == (2**64 - 2, 2**64 - 1)
    assert int(cells.counts[1, 1, 1]) == 2 and int(cells.counts[0, 0, 0]) == 1 and cells.n == 3
