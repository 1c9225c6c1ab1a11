"""Hostile ONNX graphs, each rebuilt here from a tiny real skl2onnx model, through the real
``mlgate evaluate``: every one is a clean exit 2 naming the file.

What the loader refuses before onnxruntime reads the graph runs in-process; a graph that
onnxruntime itself must be trusted to refuse (the second wall) runs in a child process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import AttributeProto, TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

FEATURES = ["f0", "f1", "f2", "f3"]


POLICY = """\
version: 1
data: {holdout: data/holdout.csv, target: label}
candidate: {path: build/model.onnx}
production: {registry: models/registry}
gates:
  - {metric: accuracy, rule: min, threshold: 0.0}
  - {metric: roc_auc, rule: min, threshold: 0.0}
"""


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=240, n_features=4, n_informative=3, n_redundant=0, random_state=3)
    frame = pd.DataFrame(X.astype(np.float32), columns=FEATURES).assign(label=y)
    return frame.iloc[:120].reset_index(drop=True), frame.iloc[120:].reset_index(drop=True)


@pytest.fixture(scope="module")
def graph(data) -> onnx.ModelProto:
    """A logistic regression as skl2onnx writes it: label and probability outputs, no ZipMap."""
    train, _ = data
    model = LogisticRegression().fit(train[FEATURES], train["label"])
    options = {id(model): {"zipmap": False}}
    return convert_sklearn(model, initial_types=[("X", FloatTensorType([None, 4]))], options=options)


def external(name: str = "W", location: str = "weights.bin") -> TensorProto:
    tensor = TensorProto(name=name, data_type=TensorProto.UINT8, dims=[4, 2], data_location=TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", "0"), ("length", "8")):
        tensor.external_data.add(key=key, value=value)
    return tensor


def with_function_default(graph: onnx.ModelProto, kind: str) -> onnx.ModelProto:
    """The graph, plus a model-local function whose DEFAULT attribute value (FunctionProto.
    attribute_proto) holds an external tensor, directly or in a subgraph; a node calls it with
    the attribute unset, so onnxruntime inlines the default."""
    hostile = onnx.ModelProto()
    hostile.CopyFrom(graph)
    const = helper.make_node("Constant", [], ["C8"])
    ref = const.attribute.add(name="value", ref_attr_name="w", type=AttributeProto.TENSOR)
    assert ref.ref_attr_name == "w"
    body = [const, helper.make_node("Cast", ["C8"], ["C"], to=TensorProto.FLOAT),
            helper.make_node("MatMul", ["x", "C"], ["y"])]
    function = helper.make_function("local", "F", ["x"], ["y"], body, [helper.make_opsetid("", 17)])
    default = function.attribute_proto.add(name="w")
    if kind == "tensor":
        default.type = AttributeProto.TENSOR
        default.t.CopyFrom(external())
    else:
        default.type = AttributeProto.GRAPH
        out = helper.make_tensor_value_info("o", TensorProto.UINT8, None)
        default.g.CopyFrom(helper.make_graph([helper.make_node("Identity", ["W"], ["o"])], "sub", [], [out],
                                             initializer=[external()]))
    hostile.functions.append(function)
    hostile.opset_import.append(helper.make_opsetid("local", 1))
    hostile.graph.node.append(helper.make_node("F", ["X"], ["read"], domain="local"))
    hostile.graph.output.append(helper.make_tensor_value_info("read", TensorProto.FLOAT, [None, 2]))
    return hostile


def evaluate(workspace, run_cli, monkeypatch, holdout: pd.DataFrame, graph: onnx.ModelProto):
    workspace.write("weights.bin", bytes(range(8)))  # what external data would read
    monkeypatch.chdir(workspace.root)
    workspace.table("data/holdout.csv", holdout)
    workspace.write("build/model.onnx", graph.SerializeToString())
    workspace.policy(POLICY)
    return run_cli("evaluate", "--workspace", workspace.root, "--out", workspace.root / "out", "--quiet",
                   "--production", "none")


def refused(r, message: str) -> None:
    assert r.code == 2, (r.code, r.err)
    assert "build/model.onnx" in r.err and message in r.err, r.err
    assert "Traceback" not in r.err


@pytest.mark.parametrize("kind", ["tensor", "graph"])
def test_external_data_in_a_function_default_attribute_is_refused(data, graph, workspace, run_cli, monkeypatch,
                                                                  kind):
    r = evaluate(workspace, run_cli, monkeypatch, data[1], with_function_default(graph, kind))
    refused(r, "external data")


def test_the_honest_graph_passes(data, graph, workspace, run_cli, monkeypatch):
    r = evaluate(workspace, run_cli, monkeypatch, data[1], graph)
    assert r.code == 0, r.err


SECOND_WALL = textwrap.dedent("""
    import os, sys
    import onnx, onnxruntime
    from mlgate.gates.errors import ModelError
    from mlgate.gates.models.onnx_model import open_session
    os.chdir(sys.argv[1])
    data = open("model.onnx", "rb").read()
    try:
        open_session(onnxruntime, data, "model.onnx")
    except ModelError as exc:
        print("REFUSED", exc)
    else:
        print("LOADED")
""")


def test_onnxruntime_resolves_missed_external_data_only_in_an_empty_directory(graph, tmp_path):
    """Were the walk ever to miss a tensor, onnxruntime (handed the graph directly, no walk)
    must not read the working directory's file: a child process, as onnxruntime parses it."""
    (tmp_path / "weights.bin").write_bytes(bytes(range(8)))
    (tmp_path / "model.onnx").write_bytes(with_function_default(graph, "tensor").SerializeToString())
    child = subprocess.run([sys.executable, "-c", SECOND_WALL, str(tmp_path)], capture_output=True, text=True,
                           timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith("REFUSED model.onnx: onnxruntime cannot load"), child.stdout


def rewired(graph: onnx.ModelProto, nodes, initializers) -> onnx.ModelProto:
    """The graph with its label and probability outputs renamed ``*_honest`` inside, and
    ``nodes`` computing the outputs the service reads from them."""
    hostile = onnx.ModelProto()
    hostile.CopyFrom(graph)
    g = hostile.graph
    outputs = [o.name for o in g.output]
    for node in g.node:
        node.output[:] = [o + "_honest" if o in outputs else o for o in node.output]
    g.initializer.extend(onnx.numpy_helper.from_array(np.array(v, np.int64), name) for name, v in initializers.items())
    g.node.extend(nodes)
    onnx.checker.check_model(hostile)
    return hostile


def test_a_label_output_that_is_not_the_argmax_of_the_probabilities_is_refused(data, graph, workspace, run_cli,
                                                                               monkeypatch):
    """Probabilities honest, labels inverted: a roc_auc gate would pass what serves wrong labels."""
    label, proba = (o.name for o in graph.graph.output)
    hostile = rewired(graph, [helper.make_node("Sub", ["one", label + "_honest"], [label]),
                              helper.make_node("Identity", [proba + "_honest"], [proba])], {"one": [1]})
    r = evaluate(workspace, run_cli, monkeypatch, data[1], hostile)
    refused(r, "not the argmax of its probabilities")
    assert "data row 1 " in r.err


def test_a_class_listed_twice_is_refused(data, graph, workspace, run_cli, monkeypatch):
    hostile = onnx.ModelProto()
    hostile.CopyFrom(graph)
    (node,) = [n for n in hostile.graph.node if n.op_type == "LinearClassifier"]
    (classes,) = [a for a in node.attribute if a.name == "classlabels_ints"]
    classes.ints[:] = [1, 1]
    r = evaluate(workspace, run_cli, monkeypatch, data[1], hostile)
    refused(r, "lists class 1 twice")


def batch_switch(graph: onnx.ModelProto, threshold: int = 8) -> onnx.ModelProto:
    """Honest for batches of more than ``threshold`` rows (the gate's), inverted for smaller
    ones (a service's requests): Where(Shape(X)[0] > threshold, honest, inverted)."""
    label, proba = (o.name for o in graph.graph.output)
    nodes = [
        helper.make_node("Shape", ["X"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["n"], axis=0),
        helper.make_node("Greater", ["n", "threshold"], ["big"]),
        helper.make_node("Sub", ["one", label + "_honest"], ["inverted_label"]),
        helper.make_node("Gather", [proba + "_honest", "flip"], ["inverted_proba"], axis=1),
        helper.make_node("Where", ["big", label + "_honest", "inverted_label"], [label]),
        helper.make_node("Unsqueeze", ["big", "one"], ["big2"]),
        helper.make_node("Where", ["big2", proba + "_honest", "inverted_proba"], [proba]),
    ]
    return rewired(graph, nodes, {"zero": [0], "one": [1], "threshold": [threshold], "flip": [1, 0]})


def test_a_graph_that_answers_by_its_batch_size_is_refused(data, graph, workspace, run_cli, monkeypatch):
    r = evaluate(workspace, run_cli, monkeypatch, data[1], batch_switch(graph))
    refused(r, "depends on the batch it is scored in")
    assert "alone" in r.err


def test_a_graph_switching_only_for_tiny_batches_is_caught_by_the_shuffled_batch(data, graph, workspace, run_cli,
                                                                                 monkeypatch):
    """Honest alone and in the big batch, inverted for 2..16 rows: the sample's own batch sees it."""
    label, proba = (o.name for o in graph.graph.output)
    hostile = batch_switch(graph, threshold=16)
    small = [n for n in hostile.graph.node if n.op_type == "Greater"][0]
    alone = helper.make_node("Equal", ["n", "one"], ["alone"])
    either = helper.make_node("Or", ["big_or", "alone"], ["big_final"])
    small.output[:] = ["big_or"]
    hostile.graph.node.insert(list(hostile.graph.node).index(small) + 1, alone)
    hostile.graph.node.insert(list(hostile.graph.node).index(alone) + 1, either)
    for node in hostile.graph.node:
        node.input[:] = ["big_final" if i == "big" else i for i in node.input]
        node.output[:] = ["big_final" if o == "big" else o for o in node.output]
    small.output[:] = ["big_or"]
    onnx.checker.check_model(hostile)
    r = evaluate(workspace, run_cli, monkeypatch, data[1], hostile)
    refused(r, "in a shuffled batch of 16")
