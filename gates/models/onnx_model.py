"""ONNX graphs, run by onnxruntime's own operators and by nothing the file brings.

Why a pull request's graph is safe to load: its bytes are parsed with ``onnx`` first and a graph
that keeps a tensor outside the file (external data: a path chosen by the graph, which would
let it read files on the runner) is refused, wherever in the model the tensor sits; onnxruntime
then gets bytes, never a path, is told they are ONNX (not its own flatbuffer format), resolves
external data (were any missed) only in an empty private directory, and has no custom-operator
library registered. A graph that loops or allocates without end is stopped by the judge's
``limits.evaluate_s`` and the runner's memory, not here.

Inputs are mapped from holdout columns by name, as the graph declares them:
- one 2-D input whose width is not 1 is one tensor of all features, in the order the caller's
  feature selection gives; its declared width is ``n_features_in_``;
- otherwise each input is one column of the same name (``feature_names_in_``), fed with its
  declared element type as [N, 1] or [N]. (A one-feature model therefore names its input after
  its column.)

Outputs: a classifier's label and probability outputs (skl2onnx's ZipMap is read as the
tensor it wraps: same numbers, no million Python dicts), classes from the graph's
classifier node; a single (N, K) probability output (classes 0..K-1, labels its argmax); or a
regressor's single (N,) or (N, 1) value output. Anything else is refused naming the outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
import tempfile

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..holdout.read import plain
from .load import first_line
from .shared_run import SharedRun

INSTALL = 'pip install "mlgate[onnx]"'


# Element types a holdout column can be fed as; a graph wanting another is refused at load.
ELEMENT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
                 "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(string)": np.object_}


LABEL_TYPES = {"tensor(int64)", "tensor(int32)", "tensor(string)"}


FLOAT_TYPES = {"tensor(float)", "tensor(double)"}


@dataclass(frozen=True)
class Feed:
    """One graph input: its name, the NumPy type it is fed as, and its rank (1 or 2)."""

    name: str
    dtype: type
    rank: int


def load_onnx(data: bytes, label: str):
    """The graph in ``data`` as a scikit-learn-like estimator; ``label`` names the file."""
    onnx, ort = _libraries(label)
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError, whichever implementation is installed
        raise ModelError(f"{label}: not an ONNX model ({type(exc).__name__}: {first_line(exc)})") from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise ModelError(f"{label}: not an ONNX model (no graph of operators in the file)")
    refuse_external_data(onnx, proto, label)
    classes = declared_classes(proto.graph)
    zipmap_classes = unwrap_zipmap(onnx, proto)
    if zipmap_classes is not None:
        classes, data = zipmap_classes, proto.SerializeToString()
    session = open_session(ort, data, label)
    feeds, one_tensor, width = graph_feeds(session, label)
    return _adapter(session, Inputs(feeds, one_tensor, width), classes, label)


def _libraries(label: str):
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"{label}: an ONNX model needs onnxruntime and onnx, and {exc.name or 'one'} is not "
                         f"installed: {INSTALL}") from None
    return onnx, onnxruntime


def refuse_external_data(onnx, proto, label: str) -> None:
    """Every tensor anywhere in the model must live inside the file.

    Found by protobuf reflection over every set message field, not from a list of the places
    tensors may sit: such a list missed a function's default attribute values
    (``FunctionProto.attribute_proto``), which onnxruntime inlines and reads. Iterative, so a
    deeply nested graph cannot exhaust Python's recursion limit."""
    stack = [proto]
    while stack:
        message = stack.pop()
        if isinstance(message, onnx.TensorProto) and (
                message.data_location == onnx.TensorProto.EXTERNAL or len(message.external_data)):
            raise ModelError(
                f"{label}: refusing an ONNX graph that keeps tensor {message.name[:80]!r} outside the file "
                "(external data): a path inside the model could read files from the runner; save the model "
                "with every tensor inside the .onnx file"
            )
        for field, value in message.ListFields():
            if field.type != field.TYPE_MESSAGE:
                continue
            if _repeated(field):
                stack.extend(value)
            else:
                stack.append(value)


def _repeated(field) -> bool:
    # protobuf 5+ has is_repeated; older ones only the label
    return field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED


def declared_classes(graph) -> list | None:
    """Class labels as the graph declares them: ZipMap's, else the last classifier node's (the
    one nearest the outputs, nodes being in topological order)."""
    found = None
    for node in graph.node:
        if node.domain != "ai.onnx.ml" or not (node.op_type == "ZipMap" or node.op_type.endswith("Classifier")):
            continue
        classes = _class_labels(node)
        if classes and node.op_type == "ZipMap":
            return classes
        found = classes or found
    return found


def _class_labels(node) -> list | None:
    for attribute in node.attribute:
        if attribute.name in ("classlabels_int64s", "classlabels_ints") and len(attribute.ints):
            return [int(v) for v in attribute.ints]
        if attribute.name == "classlabels_strings" and len(attribute.strings):
            return [v.decode("utf-8", "replace") for v in attribute.strings]
    return None


def unwrap_zipmap(onnx, proto) -> list | None:
    """Make the probability output ZipMap's input tensor (columns in ZipMap's class order, which
    is what ZipMap turns into one dict per row); return those classes, or None if no ZipMap
    ends the graph."""
    graph = proto.graph
    outputs = [o.name for o in graph.output]
    zipmaps = [n for n in graph.node if n.op_type == "ZipMap" and n.domain == "ai.onnx.ml" and n.output[0] in outputs]
    if len(zipmaps) != 1 or zipmaps[0].input[0] in outputs:
        return None
    node = zipmaps[0]
    classes = _class_labels(node)
    if classes is None:
        return None
    graph.node.remove(node)
    wrapped = onnx.helper.make_tensor_value_info(node.input[0], onnx.TensorProto.FLOAT, [None, len(classes)])
    graph.output[outputs.index(node.output[0])].CopyFrom(wrapped)
    return classes


def open_session(ort, data: bytes, label: str):
    options = ort.SessionOptions()
    options.add_session_config_entry("session.load_model_format", "ONNX")
    options.log_severity_level = 3  # errors only: the message below says what went wrong
    # A second wall behind refuse_external_data: were a tensor with external data ever missed,
    # onnxruntime would resolve it in this empty private directory (and refuse any path that
    # escapes it), never in the working directory, which is the judge's workspace.
    with tempfile.TemporaryDirectory(prefix="mlgate-onnx-nothing-") as nothing:
        options.add_session_config_entry("session.model_external_initializers_file_folder_path", nothing)
        try:
            return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's Fail, InvalidGraph, InvalidProtobuf, NotImplemented…
            raise ModelError(f"{label}: onnxruntime cannot load the ONNX graph ({type(exc).__name__}: "
                             f"{first_line(exc)})") from None


def _shape(shape) -> str:
    return "[" + ", ".join("N" if not isinstance(d, int) else str(d) for d in shape) + "]"


def graph_feeds(session, label: str) -> tuple[list[Feed], bool, int | None]:
    """The inputs as feeds; whether they are one tensor of all features, and its declared
    width (None when the graph leaves it free)."""
    inputs = session.get_inputs()
    if not inputs:
        raise ModelError(f"{label}: the ONNX graph has no inputs")
    feeds = []
    for i in inputs:
        dtype = ELEMENT_TYPES.get(i.type)
        if dtype is None:
            raise ModelError(f"{label}: the ONNX graph's input {i.name!r} is {i.type}; mlgate feeds holdout columns "
                             f"as {', '.join(ELEMENT_TYPES)}")
        if len(i.shape) not in (1, 2) or isinstance(i.shape[0], int):
            raise ModelError(f"{label}: the ONNX graph's input {i.name!r} has shape {_shape(i.shape)}; mlgate feeds "
                             "[N, features], [N, 1] or [N] with a free first (batch) axis")
        feeds.append(Feed(i.name, dtype, len(i.shape)))
    one = inputs[0].shape
    if len(inputs) == 1 and len(one) == 2 and one[1] != 1:
        return feeds, True, one[1] if isinstance(one[1], int) else None
    wide = [i.name for i in inputs if len(i.shape) == 2 and i.shape[1] != 1]
    if wide:
        raise ModelError(f"{label}: the ONNX graph has {len(inputs)} inputs and {wide[0]!r} is wider than one column; "
                         "mlgate feeds either one tensor of all features or one input per column")
    return feeds, False, None


@dataclass(frozen=True)
class Inputs:
    """How holdout columns reach the graph: ``feeds``, one tensor or one per column, and the
    tensor's declared width."""

    feeds: list
    one_tensor: bool
    width: int | None


def _adapter(session, inputs: Inputs, classes: list | None, label: str):
    outputs = session.get_outputs()
    labels = [o for o in outputs if o.type in LABEL_TYPES and _is_column(o.shape)]
    probas = [o for o in outputs if o.type in FLOAT_TYPES and len(o.shape) == 2 and o.shape[1] != 1]
    values = [o for o in outputs if o.type in FLOAT_TYPES and _is_column(o.shape)]
    if len(labels) == 1 and len(probas) == 1:
        k = probas[0].shape[1]
        if classes is None and labels[0].type != "tensor(string)" and isinstance(k, int):
            classes = list(range(k))
        if classes is None:
            raise ModelError(f"{label}: the ONNX graph's label output {labels[0].name!r} gives {labels[0].type} "
                             "labels, and no ZipMap or classifier node declares their classes (classlabels_*)")
        if isinstance(k, int) and len(classes) != k:
            raise ModelError(f"{label}: the ONNX graph's probability output {probas[0].name!r} has {k} columns but "
                             f"the graph declares {len(classes)} classes {classes[:10]}")
        return OnnxClassifier(session, inputs, label, [labels[0].name, probas[0].name], classes)
    if len(outputs) == 1 and probas and isinstance(probas[0].shape[1], int):
        return OnnxClassifier(session, inputs, label, [probas[0].name], list(range(probas[0].shape[1])))
    if len(outputs) == 1 and values:
        return OnnxRegressor(session, inputs, label, [values[0].name])
    described = ", ".join(f"{o.name!r} {o.type} {_shape(o.shape)}" for o in outputs)
    raise ModelError(f"{label}: mlgate cannot read the ONNX graph's outputs ({described}); it reads a classifier's "
                     "label and probability outputs, one [N, K] probability output, or one [N] or [N, 1] value output")


def _is_column(shape) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


class OnnxGraph:
    """What both kinds share: feeding holdout columns to the graph and running it."""

    def __init__(self, session, inputs: Inputs, label: str, outputs: list[str]):
        self.session, self.feeds, self.label, self.outputs = session, inputs.feeds, label, outputs
        self.one_tensor = inputs.one_tensor
        if not self.one_tensor:
            self.feature_names_in_ = np.array([f.name for f in self.feeds], dtype=object)
        elif inputs.width is not None:
            self.n_features_in_ = inputs.width

    def run(self, X: pd.DataFrame) -> list:
        if self.one_tensor:
            feed = self.feeds[0]
            inputs = {feed.name: _array(X, feed, self.label)}
        else:
            inputs = {f.name: _array(X[f.name], f, self.label) for f in self.feeds}
        return self.session.run(self.outputs, inputs)


def _array(values, feed: Feed, label: str) -> np.ndarray:
    """A column (or the whole frame) as the graph's element type: text as str objects, and
    integers or booleans only when nothing is missing (a NaN has no int64 to become)."""
    if feed.dtype is np.object_:
        return values.astype(str).to_numpy(dtype=object)
    if not np.issubdtype(feed.dtype, np.floating) and values.isna().to_numpy().any():
        raise ModelError(f"{label}: the ONNX graph's input {feed.name!r} takes {np.dtype(feed.dtype).name} and the "
                         "holdout has missing values there")
    array = values.to_numpy(dtype=feed.dtype)
    return array.reshape(-1, 1) if feed.rank == 2 and array.ndim == 1 else array


class OnnxClassifier(OnnxGraph, SharedRun):
    """Labels from the graph's label output (its own decision), or the argmax of a graph that
    outputs only probabilities; probabilities in ``classes_`` order."""

    def __init__(self, session, inputs: Inputs, label: str, outputs: list[str], classes: list):
        super().__init__(session, inputs, label, outputs)
        self.classes_ = np.array(classes)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        out = self.run(X)
        proba = np.asarray(out[-1])
        if len(self.outputs) == 1:
            labels = self.classes_[np.argmax(proba, axis=1)]
        else:
            labels = np.asarray(out[0]).reshape(-1)
            stray = ~np.isin(labels, self.classes_)
            if stray.any():
                raise ModelError(f"{self.label}: the ONNX graph's label output gave {labels[stray][0]!r}, which is not "
                                 f"one of its classes {list(self.classes_)[:10]}")
            self._labels_follow_probabilities(labels, proba)
        self.keep(X, proba)
        return labels

    def _labels_follow_probabilities(self, labels: np.ndarray, proba: np.ndarray) -> None:
        """A graph is a program with two outputs, and a service may read either: a label output
        that is not the argmax of the probabilities (say, inverted while the probabilities stay
        honest) would pass a roc_auc or log_loss gate and serve other labels. A label whose
        probability ties the row's maximum (within a few float ulps) is the graph's to choose."""
        if proba.ndim != 2 or proba.shape != (len(labels), len(self.classes_)) or not len(labels):
            return  # the scorer names a wrong shape
        values = np.asarray(proba, dtype=float)
        column = pd.Index(self.classes_).get_indexer(labels)
        chosen = values[np.arange(len(labels)), column]
        eps = float(np.finfo(proba.dtype).eps) if np.issubdtype(proba.dtype, np.floating) else 0.0
        bad = chosen < values.max(axis=1) - 8 * eps
        if bad.any():
            row = int(np.argmax(bad))
            favoured = self.classes_[int(np.argmax(values[row]))]
            raise ModelError(f"{self.label}: the ONNX graph's label output says {plain(labels[row])!r} at data row "
                             f"{row + 1} where its probabilities favour {plain(favoured)!r} ({int(bad.sum())} such "
                             "row(s)); mlgate refuses a graph whose label output is not the argmax of its probabilities")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        kept = self.kept(X)
        return kept if kept is not None else np.asarray(self.run(X)[-1])


class OnnxRegressor(OnnxGraph):
    """Values from the graph's one value output."""

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        values = np.asarray(self.run(X)[0])
        if values.size != len(X):
            raise ModelError(f"{self.label}: the ONNX graph's output {self.outputs[0]!r} gave {values.shape} for "
                             f"{len(X)} rows")
        return values.reshape(-1)
