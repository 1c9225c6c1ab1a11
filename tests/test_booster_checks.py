"""Hostile XGBoost and LightGBM files, rebuilt from tiny real models as the cold attack built them:
each must be refused (exit 2, naming the file) by the Python checks before the library reads a
byte — the libraries' own readers corrupt memory, crash or hang on them, so a case the checks
missed would kill pytest rather than fail quietly. Honest variants (random forests, linear
boosters, one-leaf trees, UBJSON) must still load and score as the library scores them."""

from __future__ import annotations

import copy
import json
import re

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from mlgate.gates.errors import ModelError
from mlgate.gates.models import load_model_bytes
from mlgate.gates.models.booster_checks import UBJReader

LABEL = "build/candidate"


def _data(n=300, k=2):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"f{i}" for i in range(4)])
    y = (X["f0"] + 0.5 * X["f1"] > 0).astype(int) + (k > 2) * (X["f2"] > 0.5)
    return X, y


@pytest.fixture(scope="module")
def xgb_doc():
    X, y = _data()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, y), 5)
    return json.loads(booster.save_raw("json"))


@pytest.fixture(scope="module")
def lgb_text():
    X, y = _data()
    return lgb.LGBMClassifier(n_estimators=4, num_leaves=4, verbose=-1).fit(X, y).booster_.model_to_string()


def _refused(data: bytes, suffix: str, message: str):
    with pytest.raises(ModelError) as err:
        load_model_bytes(data, suffix=suffix, role="candidate", label=LABEL + suffix)
    assert str(err.value).startswith(LABEL + suffix + ":") and message in str(err.value), str(err.value)


def _xgb(doc, edit):
    doc = copy.deepcopy(doc)
    learner = doc["learner"]
    edit(learner, learner["gradient_booster"]["model"], learner["gradient_booster"]["model"]["trees"][0])
    return json.dumps(doc).encode()


XGB_CASES = {
    # name: (edit(learner, model, tree 0), what the refusal says)
    "tree_info past the outputs (heap write)": (lambda L, m, t: m["tree_info"].__setitem__(0, 1), "tree_info names output 1"),
    "tree_info negative": (lambda L, m, t: m["tree_info"].__setitem__(0, -1), "tree_info names output -1"),
    "split feature past num_feature": (lambda L, m, t: t["split_indices"].__setitem__(0, 5000), "splits on feature 5000"),
    "split feature negative": (lambda L, m, t: t["split_indices"].__setitem__(0, -7), "splits on feature -7"),
    "child pointing to the root": (lambda L, m, t: t["left_children"].__setitem__(1, 0), "child index"),
    "child out of range": (lambda L, m, t: t["left_children"].__setitem__(0, 99999), "child index"),
    "two parents for one node": (lambda L, m, t: t["right_children"].__setitem__(0, t["left_children"][0]),
                                 "child of two nodes"),
    "num_nodes lie": (lambda L, m, t: t["tree_param"].__setitem__("num_nodes", "70000000"), "num_nodes"),
    "short arrays": (lambda L, m, t: t.__setitem__("split_conditions", [0.1]), "1 split_conditions for"),
    "iteration_indptr lie": (lambda L, m, t: m.__setitem__("iteration_indptr", [0, 5, 2, 3, 4, 5]), "iteration_indptr"),
    "num_trees lie": (lambda L, m, t: m["gbtree_model_param"].__setitem__("num_trees", "500"), "num_trees says 500"),
    "num_class huge": (lambda L, m, t: L["learner_model_param"].__setitem__("num_class", "1000000000"), "num_class"),
    "best_iteration short of the trees": (lambda L, m, t: L["attributes"].__setitem__("best_iteration", "1"),
                                          "booster[: best_iteration + 1]"),
    "best_iteration not an integer": (lambda L, m, t: L["attributes"].__setitem__("best_iteration", "abc"),
                                      "best_iteration is 'abc'"),
    "dart": (lambda L, m, t: L["gradient_booster"].__setitem__("name", "dart"), "'dart'"),
    "bogus gblinear": (lambda L, m, t: L.__setitem__("gradient_booster", {"name": "gblinear", "model": {"weights": [1.0]}}),
                       "'gblinear'"),
    "categorical split": (lambda L, m, t: t.__setitem__("split_type", [1] + t["split_type"][1:]), "categorical"),
    "two targets": (lambda L, m, t: L["learner_model_param"].__setitem__("num_target", "2"), "2 targets"),
}


@pytest.mark.parametrize("case", list(XGB_CASES))
def test_a_hostile_xgboost_file_is_refused_before_xgboost_reads_it(xgb_doc, case):
    edit, message = XGB_CASES[case]
    _refused(_xgb(xgb_doc, edit), ".json", message)


def test_deep_nesting_is_a_clean_refusal():
    _refused(b'{"learner":' + b"[" * 200_000 + b"]" * 200_000 + b"}", ".json", "nests too deep")
    _refused(b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner" + b"[" * 5000, ".ubj", "nesting deeper than 32")


@pytest.mark.parametrize("blob, message", [
    (b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner[#L\x10\x00\x00\x00\x00\x00\x00\x00", "a count of"),
    (b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner[$d#L\x00\x00\x00\x00\x10\x00\x00\x00", "a count of"),
    (b"{L\x00\x00\x00\x00\x00\x00\x00\x07learnerSL\x40\x00\x00\x00\x00\x00\x00\x00", "a count of"),
])
def test_a_ubjson_count_past_the_file_is_refused_before_allocating(blob, message):
    _refused(blob, ".ubj", message)


def test_the_ubjson_reader_reads_what_xgboost_writes_as_its_json(xgb_doc):
    X, y = _data()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, y), 3)
    ubj, js = UBJReader(bytes(booster.save_raw("ubj")), LABEL).document(), json.loads(booster.save_raw("json"))
    tree_u, tree_j = ubj["learner"]["gradient_booster"]["model"]["trees"][0], js["learner"]["gradient_booster"]["model"]["trees"][0]
    assert list(tree_u["left_children"]) == tree_j["left_children"]
    np.testing.assert_allclose(tree_u["split_conditions"], tree_j["split_conditions"], rtol=1e-7)
    assert ubj["learner"]["learner_model_param"] == js["learner"]["learner_model_param"]


@pytest.mark.parametrize("params, rounds", [({"num_parallel_tree": 3, "max_depth": 2}, 2),
                                            ({"max_depth": 0, "min_child_weight": 1e9}, 2)],
                         ids=["random forest", "one-leaf trees"])
def test_honest_xgboost_variants_load_and_score_as_xgboost_does(params, rounds):
    X, y = _data()
    booster = xgb.train({"objective": "binary:logistic", **params}, xgb.DMatrix(X, y), rounds)
    model = load_model_bytes(bytes(booster.save_raw("ubj")), suffix=".ubj", role="candidate", label=LABEL)
    np.testing.assert_allclose(model.estimator.predict_proba(X)[:, 1], booster.predict(xgb.DMatrix(X)), rtol=1e-6)


def _fix_sizes(text: str) -> str:
    starts = [m.start() for m in re.finditer(r"(?m)^Tree=\d+", text)] + [text.index("end of trees")]
    return re.sub(r"tree_sizes=.*", "tree_sizes=" + " ".join(str(b - a) for a, b in zip(starts, starts[1:])), text, count=1)


def _tree0(text: str, key: str, value: str) -> str:
    start, end = text.index("Tree=0"), text.index("Tree=1")
    block = re.sub(rf"(?m)^{key}=.*$", f"{key}={value}", text[start:end], count=1)
    return _fix_sizes(text[:start] + block + text[end:])


def _header(text: str, key: str, value: str) -> str:
    return re.sub(rf"(?m)^{key}=.*$", f"{key}={value}", text, count=1)


LGB_CASES = {
    "num_tree_per_iteration past num_class (heap write)": (lambda t: _header(t, "num_tree_per_iteration", "2"),
                                                           "num_tree_per_iteration is 2 but num_class is 1"),
    "num_tree_per_iteration 0 (SIGFPE)": (lambda t: _header(t, "num_tree_per_iteration", "0"), "is 0, outside"),
    "num_class huge": (lambda t: _header(_header(t, "num_class", "1000000000"), "num_tree_per_iteration", "1000000000"),
                       "num_class is 1000000000"),
    "split feature past max_feature_idx": (lambda t: _tree0(t, "split_feature", "0 0 100000000"), "splits on feature"),
    "child cycle (endless loop)": (lambda t: _tree0(t, "left_child", "1 0 -3"), "cycle"),
    "leaf out of range": (lambda t: _tree0(t, "left_child", "1 -1 -99999"), "child index"),
    "num_leaves lie": (lambda t: _tree0(t, "num_leaves", "2"), "leaf_value values"),
    "tree_sizes lie": (lambda t: t.replace("tree_sizes=", "tree_sizes=9999999 ", 1), "tree_sizes"),
    "a second objective before the trees": (lambda t: t.replace("\nTree=0", "\nobjective=regression\n\nTree=0", 1),
                                            "sets objective twice"),
    "categorical split": (lambda t: _tree0(t, "decision_type", "1 1 1"), "decision_type"),
    "linear tree": (lambda t: _tree0(t, "is_linear", "1"), "is_linear"),
    "deep pandas_categorical": (lambda t: re.sub(r"pandas_categorical:.*", "pandas_categorical:" + "[" * 100_000, t),
                                "pandas categorical"),
}


def test_a_loop_cut_off_from_the_root_is_refused(lgb_text):
    """Children all in range, none shared, yet node 2 is its own child and hangs under no node:
    only reachability from the root sees it (LightGBM has no parents to cross-check)."""
    text = _tree0(_tree0(lgb_text, "left_child", "1 -1 2"), "right_child", "-3 -2 -4")
    _refused(text.encode(), ".txt", "not reached from the root")


@pytest.mark.parametrize("case", list(LGB_CASES))
def test_a_hostile_lightgbm_file_is_refused_before_lightgbm_reads_it(lgb_text, case):
    edit, message = LGB_CASES[case]
    text = edit(lgb_text)
    assert text != lgb_text
    _refused(text.encode(), ".txt", message)


def test_honest_lightgbm_variants_load_and_score_as_lightgbm_does():
    """A one-leaf tree (nothing to split on) and a Windows file's CRLF lines."""
    X, y = _data(k=3)
    X["f3"] = 1.0
    booster = lgb.LGBMClassifier(n_estimators=3, num_leaves=4, min_child_samples=200, verbose=-1).fit(X, y).booster_
    text = booster.model_to_string()
    assert "num_leaves=1\n" in text
    for variant in (text, text.replace("\n", "\r\n")):
        model = load_model_bytes(variant.encode(), suffix=".txt", role="candidate", label=LABEL)
        np.testing.assert_allclose(model.estimator.predict_proba(X), booster.predict(X), rtol=1e-9)
