"""Model formats beyond scikit-learn — ONNX, XGBoost, LightGBM — through the real ``mlgate evaluate``.

Reference checks: an ONNX graph (skl2onnx) scores as the scikit-learn model it came from, saved
with skops, within float32 tolerance; a booster saved in its native format scores as the same
fitted wrapper's own ``predict`` and ``predict_proba`` (given to the gate as a predictions
file). Every bad file is exit 2 naming it; a privileged job takes these formats from a
pull request's artifact and still refuses pickles.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile

import lightgbm as lgb
import numpy as np
import onnx
import pandas as pd
import pytest
import skops.io as sio
import xgboost as xgb
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, mean_absolute_error, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlgate.action.artifacts import extract_candidate
from mlgate.gates.errors import ConfigError

# ----------------------------------------------------------------------------- data and models


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names as identifiers: skl2onnx and LightGBM write 'mean radius' as 'mean_radius'."""
    return frame.rename(columns=lambda c: re.sub(r"\W+", "_", str(c)).strip("_"))


@pytest.fixture(scope="session")
def tasks(cancer, iris_split, diabetes_split):
    """Per task: (train, holdout, target) with tidy names and no slice column."""
    species = {"setosa": 0, "versicolor": 1, "virginica": 2}
    # Features that leave errors to rank: DeLong is inconclusive near an AUC of 1.
    weak = ["mean_texture", "mean_smoothness", "mean_symmetry", "texture_error", "mean_fractal_dimension", "label"]
    return {
        "binary": tuple(tidy(f)[weak] for f in cancer) + ("label",),
        "multiclass": tuple(tidy(f) for f in iris_split) + ("species",),
        "multiclass_int": tuple(tidy(f).assign(species=f["species"].map(species)) for f in iris_split) + ("species",),
        "regression": tuple(tidy(f.drop(columns=["sex_group"])) for f in diabetes_split) + ("progression",),
    }


def features(frame: pd.DataFrame, target: str) -> list[str]:
    return [c for c in frame.columns if c != target]


def to_onnx_bytes(model, columns: list[str], *, per_column: bool, zipmap: bool = True) -> bytes:
    """skl2onnx's graph of ``model``: one float tensor of all features, or one input per column."""
    inputs = ([(c, FloatTensorType([None, 1])) for c in columns] if per_column
              else [("X", FloatTensorType([None, len(columns)]))])
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    options = None if zipmap or not hasattr(final, "predict_proba") else {id(final): {"zipmap": False}}
    return convert_sklearn(model, initial_types=inputs, options=options).SerializeToString()


POLICIES = {
    "classification": """\
version: 1
data: {{holdout: data/holdout.csv, target: {target}}}
candidate: {{path: build/model{suffix}}}
production: {production}
gates:
  - {{metric: accuracy, rule: non_inferior, margin: 0.15}}  # iris: 75 rows
  - {{metric: log_loss, rule: non_inferior, margin: 0.02}}
  - {{metric: brier, rule: non_inferior, margin: 0.02}}
  - {{metric: model_size_mb, rule: max, threshold: 50}}
stats: {{bootstrap: {{resamples: 1000}}}}
""",
    "regression": """\
version: 1
task: regression
data: {{holdout: data/holdout.csv, target: {target}}}
candidate: {{path: build/model{suffix}}}
production: {production}
gates:
  - {{metric: mae, rule: non_inferior, margin: 1.0}}
  - {{metric: rmse, rule: non_inferior, margin: 1.0}}
stats: {{bootstrap: {{resamples: 1000}}}}
""",
}


def write_policy(ws, task: str, suffix: str, production: str, extra: str = "") -> None:
    kind = "regression" if task == "regression" else "classification"
    target = "progression" if kind == "regression" else ("label" if task == "binary" else "species")
    text = POLICIES[kind].format(target=target, suffix=suffix, production=production) + extra
    if task == "binary":
        text = text.replace("gates:\n", "gates:\n  - {metric: roc_auc, rule: non_inferior, margin: 0.01}\n")
    ws.policy(text)


def evaluate(run_cli, ws, tmp_path) -> dict:
    out = tmp_path / "out"
    r = run_cli("evaluate", "--workspace", ws.root, "--out", out, "--quiet")
    assert r.code in (0, 1), r.err
    result = json.loads((out / "result.json").read_text())
    assert r.code == 0, result["reasons"]
    return result


def reference(task: str, y, predicted, proba) -> dict:
    """The gates' metrics as scikit-learn computes them from a model's own outputs."""
    if task == "regression":
        return {"mae": mean_absolute_error(y, predicted), "rmse": float(np.sqrt(np.mean((y - predicted) ** 2)))}
    values = {"accuracy": accuracy_score(y, predicted), "log_loss": log_loss(y, proba)}
    if task == "binary":
        values.update(roc_auc=roc_auc_score(y, proba[:, 1]), brier=brier_score_loss(y, proba[:, 1]))
    else:
        onehot = (np.asarray(y)[:, None] == np.unique(y)[None, :]).astype(float)
        values["brier"] = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    return values


def assert_matches(result: dict, ref: dict, tol: float) -> None:
    """The candidate's numbers are the reference's; it ties with production, so nothing blocks."""
    assert result["decision"] == "approve", result["reasons"]
    checked = set()
    for gate in result["gates"]:
        if gate["metric"] in ref:
            assert gate["candidate"] == pytest.approx(ref[gate["metric"]], abs=tol), gate["name"]
            assert gate["estimate"] == pytest.approx(0, abs=tol), gate["name"]
            checked.add(gate["metric"])
    assert checked == set(ref)


# ----------------------------------------------------------------------------- ONNX against scikit-learn


ONNX_CASES = {
    # name: (task, model, per_column, zipmap, extra policy)
    "logistic, ZipMap, one tensor": ("binary", "logistic", False, True, ""),
    "logistic, tensor, per column, streamed": ("binary", "logistic", True, False, "engine: {chunk_rows: 64}\n"),
    "forest, ZipMap, per column": ("binary", "forest", True, True, ""),
    "forest, tensor, one tensor": ("binary", "forest", False, False, ""),
    "logistic, tensor, one tensor, string labels": ("multiclass", "logistic", False, False, ""),
    "logistic, ZipMap, per column, string labels": ("multiclass", "logistic", True, True, ""),
    "ridge, one tensor": ("regression", "ridge", False, False, ""),
}


def fit_sklearn(kind: str, train: pd.DataFrame, target: str):
    X, y = train[features(train, target)], train[target]
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    if kind == "forest":  # in a pipeline: skl2onnx joins per-column inputs in the scaler
        return make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=25, max_depth=5, random_state=0)).fit(X, y)
    return Ridge(alpha=0.1).fit(X, y)


@pytest.mark.parametrize("case", list(ONNX_CASES))
def test_an_onnx_graph_scores_as_its_scikit_learn_original(tasks, workspace, run_cli, tmp_path, case):
    task, kind, per_column, zipmap, extra = ONNX_CASES[case]
    train, holdout, target = tasks[task]
    model = fit_sklearn(kind, train, target)
    columns = features(train, target)
    # The holdout's columns in another order: a per-column graph takes them by name.
    workspace.table("data/holdout.csv", holdout[[target] + columns[::-1]] if per_column else holdout)
    path = workspace.write("build/model.onnx", to_onnx_bytes(model, columns, per_column=per_column, zipmap=zipmap))
    workspace.model("build/production.skops", model)
    write_policy(workspace, task, ".onnx", "{path: build/production.skops}", extra)
    result = evaluate(run_cli, workspace, tmp_path)
    X = holdout[columns]
    proba = model.predict_proba(X) if task != "regression" else None
    # The graph runs in float32: probabilities agree to ~1e-7, metrics to well within 1e-5; a
    # forest's averaged leaves tie differently in float32, which moves its AUC by a pair or two.
    tol = 1e-3 if kind == "forest" else 1e-5
    assert_matches(result, reference(task, holdout[target].to_numpy(), model.predict(X), proba), tol=tol)
    assert result["candidate"]["size_mb"] == path.stat().st_size / 1e6
    if task == "multiclass":
        assert result["labels"] == ["setosa", "versicolor", "virginica"]


# ----------------------------------------------------------------------------- boosters against their wrappers


BOOSTER_CASES = {
    # name: (library, task, suffix, fitted on a DataFrame (named features))
    "xgboost binary .json, early stopping": ("xgboost", "binary", ".json", True),
    "xgboost multiclass .ubj, unnamed": ("xgboost", "multiclass_int", ".ubj", False),
    "xgboost regression .json": ("xgboost", "regression", ".json", True),
    "lightgbm binary": ("lightgbm", "binary", ".txt", True),
    "lightgbm multiclass, unnamed": ("lightgbm", "multiclass_int", ".txt", False),
    "lightgbm regression": ("lightgbm", "regression", ".txt", True),
}


def fit_booster(library: str, task: str, train: pd.DataFrame, target: str, named: bool):
    X, y = train[features(train, target)], train[target]
    X = X if named else X.to_numpy()
    kw = dict(n_estimators=30, max_depth=3, learning_rate=0.3)
    if library == "xgboost":
        if task == "regression":
            return xgb.XGBRegressor(**kw).fit(X, y)
        if task == "binary":  # the best iteration, not the last, is what XGBClassifier.predict uses
            # stopped early against flipped labels, so the last trees are not the best
            model = xgb.XGBClassifier(**kw, early_stopping_rounds=3).fit(X, y, eval_set=[(X[:100], 1 - y[:100])],
                                                                         verbose=False)
            assert model.best_iteration < model.get_booster().num_boosted_rounds() - 1
            return model
        return xgb.XGBClassifier(**kw).fit(X, y)
    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(**kw, min_child_samples=5, verbose=-1).fit(X, y)


@pytest.mark.parametrize("case", list(BOOSTER_CASES))
def test_a_native_booster_file_scores_as_the_fitted_wrapper(tasks, workspace, run_cli, tmp_path, case):
    library, task, suffix, named = BOOSTER_CASES[case]
    train, holdout, target = tasks[task]
    model = fit_booster(library, task, train, target, named)
    path = workspace.root / "build" / f"model{suffix}"
    path.parent.mkdir(parents=True)
    if library == "xgboost" and hasattr(model, "best_iteration"):  # what serves is what is judged
        model.get_booster()[: model.best_iteration + 1].save_model(str(path))
    else:
        (model.save_model if library == "xgboost" else model.booster_.save_model)(str(path))
    X = holdout[features(holdout, target)]
    X = X if named else X.to_numpy()
    predicted = model.predict(X)
    preds = pd.DataFrame({"prediction": predicted})
    proba = None
    if task != "regression":
        proba = model.predict_proba(X)
        preds = preds.assign(**{f"proba_{k}": proba[:, k] for k in range(proba.shape[1])})
    workspace.table("data/holdout.csv", holdout)
    workspace.table("build/production.csv", preds)
    write_policy(workspace, task, suffix, "{predictions: build/production.csv}")
    result = evaluate(run_cli, workspace, tmp_path)
    assert_matches(result, reference(task, holdout[target].to_numpy(), predicted, proba), tol=1e-6)
    assert result["candidate"]["kind"] == "model" and result["production"]["kind"] == "predictions"


# ----------------------------------------------------------------------------- bad files: exit 2 naming them


def _per_column_graph(tasks, rename: str | None = None) -> bytes:
    train, _, target = tasks["binary"]
    model = fit_sklearn("logistic", train, target)
    graph = onnx.load_from_string(to_onnx_bytes(model, features(train, target), per_column=True))
    if rename:
        old = graph.graph.input[0].name
        graph.graph.input[0].name = rename
        for node in graph.graph.node:
            node.input[:] = [rename if name == old else name for name in node.input]
    return graph.SerializeToString()


def _external_data_graph(where: str) -> bytes:
    """X @ W with W's 5x2 weights kept in another file, at a path the graph chooses: onnxruntime
    reads such a file from its working directory (it refuses only paths that escape it)."""
    weights = helper.make_tensor("W", TensorProto.FLOAT, [5, 2], np.zeros(10, np.float32))
    weights.data_location = TensorProto.EXTERNAL
    weights.ClearField("float_data")
    weights.ClearField("raw_data")
    location = "weights.bin" if where == "initializer" else "../../../../etc/hostname"
    for key, value in (("location", location), ("offset", "0"), ("length", "40")):
        weights.external_data.add(key=key, value=value)
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 5])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 2])
    if where == "initializer":
        graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "g", [x], [y], [weights])
    else:  # a Constant node's attribute, inside an If's branch: deeper than the initializers
        const = helper.make_node("Constant", [], ["W"], value=weights)
        branch = helper.make_graph([const], "b", [], [helper.make_tensor_value_info("W", TensorProto.FLOAT, [5, 2])])
        cond = helper.make_tensor("c", TensorProto.BOOL, [], [True])
        nodes = [helper.make_node("If", ["c"], ["W"], then_branch=branch, else_branch=branch),
                 helper.make_node("MatMul", ["X", "W"], ["Y"])]
        graph = helper.make_graph(nodes, "g", [x], [y], [cond])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _unreadable_outputs_graph() -> bytes:
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 5])
    y = helper.make_tensor_value_info("codes", TensorProto.INT64, [None, 5])
    graph = helper.make_graph([helper.make_node("Cast", ["X"], ["codes"], to=TensorProto.INT64)], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _ova_booster(tasks) -> bytes:
    train, _, target = tasks["multiclass_int"]
    model = lgb.LGBMClassifier(objective="multiclassova", n_estimators=3, verbose=-1)
    return model.fit(train[features(train, target)], train[target]).booster_.model_to_string().encode()


BAD_FILES = {
    # name: (suffix, contents, what the message says besides the file's name)
    "malformed ONNX": (".onnx", lambda t: b"\x08\x07 certainly not a graph", "not an ONNX model"),
    "truncated ONNX": (".onnx", lambda t: _per_column_graph(t)[:-200], "ONNX"),
    "ONNX input no column has": (".onnx", lambda t: _per_column_graph(t, "mean_textures"), "mean_textures"),
    "ONNX external data": (".onnx", lambda t: _external_data_graph("initializer"), "external data"),
    "ONNX external data in a branch": (".onnx", lambda t: _external_data_graph("branch"), "external data"),
    "ONNX outputs": (".onnx", lambda t: _unreadable_outputs_graph(), "'codes' tensor(int64) [N, 5]"),
    "XGBoost .json not a model": (".json", lambda t: b'{"name": "a config, not a model"}', "not an XGBoost model"),
    "XGBoost .json broken model": (".json", lambda t: b'{"learner": 3}', "learner is missing or not an object"),
    "XGBoost .ubj not a model": (".ubj", lambda t: b"\x00\x01\x02", "not an XGBoost UBJSON model"),
    "LightGBM not a model": (".txt", lambda t: b"hello\n", "not a LightGBM model"),
    "LightGBM broken model": (".txt", lambda t: b"tree\nversion=v4\n\nTree=0\n", "has no trees"),
    "LightGBM one-vs-rest": (".txt", _ova_booster, "'multiclassova' is not one mlgate scores"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_model_file_exits_2_naming_it(tasks, workspace, run_cli, monkeypatch, case):
    suffix, contents, message = BAD_FILES[case]
    workspace.write("weights.bin", np.ones(10, np.float32).tobytes())  # what external data would read
    monkeypatch.chdir(workspace.root)
    workspace.table("data/holdout.csv", tasks["binary"][1])
    workspace.write(f"build/model{suffix}", contents(tasks))
    write_policy(workspace, "binary", suffix, "{registry: models/registry}")
    r = run_cli("evaluate", "--workspace", workspace.root, "--out", workspace.root / "out", "--quiet",
                "--production", "none")
    assert r.code == 2, r.err
    assert f"build/model{suffix}" in r.err and message in r.err, r.err
    assert "Traceback" not in r.err


@pytest.mark.parametrize("module, extra, suffix", [("onnxruntime", "onnx", ".onnx"), ("xgboost", "xgboost", ".json"),
                                                   ("lightgbm", "lightgbm", ".txt")])
def test_a_missing_library_names_the_extra_to_install(tasks, workspace, run_cli, monkeypatch, module, extra, suffix):
    train, holdout, target = tasks["binary"]
    model = fit_booster("xgboost", "regression", train, target, True)
    data = {".onnx": lambda: _per_column_graph(tasks), ".json": lambda: bytes(model.get_booster().save_raw("json")),
            ".txt": lambda: lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(train[features(train, target)],
                                                                              train[target]).booster_.model_to_string().encode()}
    workspace.table("data/holdout.csv", holdout)
    workspace.write(f"build/model{suffix}", data[suffix]())
    write_policy(workspace, "binary", suffix, "{registry: models/registry}")
    monkeypatch.setitem(sys.modules, module, None)  # what `import` finds when the package is absent
    r = run_cli("evaluate", "--workspace", workspace.root, "--out", workspace.root / "out", "--quiet",
                "--production", "none")
    assert r.code == 2 and f'build/model{suffix}' in r.err and f'pip install "mlgate[{extra}]"' in r.err, r.err


# ----------------------------------------------------------------------------- the privileged job's artifact


def _artifact(tmp_path, members: dict) -> object:
    archive = tmp_path / "artifact.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return archive


@pytest.mark.parametrize("name", ["candidate.onnx", "candidate.json", "candidate.ubj", "candidate.txt",
                                  "report/candidate.ONNX"])
def test_the_judge_takes_a_safe_format_from_the_artifact(tmp_path, name):
    archive = _artifact(tmp_path, {name: b"model bytes", "result.json": b"{}"})
    target = extract_candidate(archive, tmp_path / "into", ("skops", "onnx", "xgboost", "lightgbm"))
    suffix = name.rsplit(".", 1)[1].lower()
    assert target == tmp_path / "into" / f"candidate.{suffix}" and target.read_bytes() == b"model bytes"
    assert not archive.exists()
    # By default (security.formats: [skops]) the judge leaves the other readers unexposed.
    archive = _artifact(tmp_path, {name: b"model bytes"})
    with pytest.raises(ConfigError, match="only the formats the base branch's policy lists under security.formats"):
        extract_candidate(archive, tmp_path / "again")


@pytest.mark.parametrize("name", ["candidate.pkl", "candidate.joblib", "candidate.pickle", "candidate.PKL",
                                  "candidate.onnx.pkl"])
def test_the_judge_still_refuses_pickles_from_the_artifact(tmp_path, name):
    archive = _artifact(tmp_path, {name: b"\x80\x04 a pickle"})
    with pytest.raises(ConfigError, match="never loads pickles"):
        extract_candidate(archive, tmp_path / "into")
    assert not (tmp_path / "into").exists() or not any((tmp_path / "into").iterdir())


def test_a_model_saved_by_skops_and_loaded_from_onnx_bytes_on_a_worker_is_the_same(tasks, tmp_path):
    """Workers load the bytes the client read, through the same dispatch."""
    from mlgate.gates.models.load import load_model_bytes, load_model_file

    train, holdout, target = tasks["binary"]
    data = _per_column_graph(tasks)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    on_file = load_model_file(path, role="candidate", label="m.onnx").estimator
    on_worker = load_model_bytes(data, suffix=".ONNX", role="candidate", label="m.onnx").estimator
    X = holdout[list(on_file.feature_names_in_)]
    assert np.array_equal(on_file.predict_proba(X), on_worker.predict_proba(X))
    sio.dump(fit_sklearn("logistic", train, target), tmp_path / "m.skops")  # the same dispatch reads skops
    assert load_model_file(tmp_path / "m.skops", role="candidate", label="m.skops").estimator is not None
