"""Structural checks of XGBoost and LightGBM model files, in Python, before either library sees them.

Why: both libraries' readers trust the file. A cold attack showed that XGBoost takes a tree's
output group (``tree_info``), a split's feature and a child's index without a range check, and
LightGBM a ``num_tree_per_iteration`` larger than ``num_class``, a split feature past
``max_feature_idx`` and children that loop: out-of-bounds heap writes and reads, endless loops and
stack overflows in the process that scores the file — the judge's. So every index the predictors
follow is checked here against the sizes it indexes, every tree must be a tree (each node reached
once from the root), and anything not validated (DART, categorical splits, linear trees,
multi-target leaves) is refused. The checks are vectorised with numpy: a tree costs a few array
operations, not a Python loop over its nodes.
"""

from __future__ import annotations

import json
import re

import numpy as np

from ..errors import ModelError

MAX_BYTES = 1 << 30  # a booster file above this is refused before it is read
MAX_DEPTH = 32  # XGBoost's model JSON nests 7 deep; a deeper file is no model (and overflows its parser's stack)
MAX_CLASSES = 10_000
MAX_FEATURES = 10_000_000
MAX_NODES = 1 << 26
ROOT_PARENT = 2147483647  # XGBoost's parent of the root


def check_size(size: int, label: str) -> None:
    if size > MAX_BYTES:
        raise ModelError(f"{label}: the model file is {size / 2**30:.1f} GiB, over the {MAX_BYTES >> 30} GiB mlgate reads "
                         "for an XGBoost or LightGBM model; fewer or shallower trees make a smaller file")


def _int(value, what: str, label: str, low: int = 0, high: int = 2**31 - 1) -> int:
    """An integer field, as the libraries write it (a number or a decimal string), within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, str, np.integer)) or \
            (isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,19}", value)):
        raise ModelError(f"{label}: {what} is {str(value)[:40]!r}, not an integer")
    number = int(value)
    if not low <= number <= high:
        raise ModelError(f"{label}: {what} is {number}, outside [{low}, {high}]")
    return number


def _ints(values, what: str, label: str) -> np.ndarray:
    array = np.asarray(values) if isinstance(values, (list, np.ndarray)) else None
    if array is None or array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ModelError(f"{label}: {what} is not a list of integers")
    return array.astype(np.int64)


def _numbers(values, what: str, label: str) -> np.ndarray:
    array = np.asarray(values) if isinstance(values, (list, np.ndarray)) else None
    if array is None or array.ndim != 1 or (array.size and array.dtype.kind not in "iuf"):
        raise ModelError(f"{label}: {what} is not a list of numbers")
    return array


def _each_reached_once(left: np.ndarray, right: np.ndarray, internal: np.ndarray, nodes: int, leaves: int,
                       what: str, label: str) -> None:
    """From the root (internal node 0), follow children level by level: every internal node and
    every leaf must be reached exactly once — no node shared, none on a cycle, none cut off.
    ``internal(child)`` says which children are internal nodes; leaves are numbered by ``~child``
    (LightGBM) or are themselves nodes (XGBoost, where ``leaves`` is 0)."""
    seen_nodes = np.zeros(nodes, dtype=bool)
    seen_leaves = np.zeros(max(leaves, 0), dtype=bool)
    frontier = np.array([0], dtype=np.int64)
    seen_nodes[0] = True
    while frontier.size:
        frontier = frontier if leaves else frontier[left[frontier] != -1]  # XGBoost's leaves have -1 children
        children = np.concatenate([left[frontier], right[frontier]])
        inner = internal(children)
        nxt, ends = children[inner], ~children[~inner]
        for ids, seen in ((nxt, seen_nodes), (ends, seen_leaves)):
            if ids.size and (np.unique(ids).size != ids.size or seen[ids].any()):
                raise ModelError(f"{label}: {what}: a node is the child of two nodes or of itself (a cycle), "
                                 "which is not a tree")
            seen[ids] = True
        frontier = nxt
    if not seen_nodes.all() or not seen_leaves.all():
        raise ModelError(f"{label}: {what}: some nodes are not reached from the root, which is not a tree")


# ----------------------------------------------------------------------------- XGBoost


def parse_xgboost(data: bytes, suffix: str, label: str) -> dict:
    """The model document, from JSON or from XGBoost's UBJSON, with the nesting bounded."""
    if suffix == ".ubj":
        return UBJReader(data, label).document()
    try:
        doc = json.loads(data)
    except RecursionError:
        raise ModelError(f"{label}: the JSON nests too deep to be an XGBoost model") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{label}: not readable JSON ({exc})") from None
    _depth(doc, label)
    return doc


def _depth(doc, label: str) -> None:
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelError(f"{label}: the model nests deeper than {MAX_DEPTH} levels, which no XGBoost model does")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (list, dict)))


def _field(obj, key: str, kind, label: str, where: str):
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind):
        raise ModelError(f"{label}: {where}{key} is missing or not a{'n object' if kind is dict else ' list'}")
    return value


def check_xgboost(doc, label: str) -> dict:
    """What the predictor will index, checked against what it indexes; returns the figures the
    loader compares with the loaded booster's own."""
    learner = _field(doc, "learner", dict, label, "")
    params = _field(learner, "learner_model_param", dict, label, "learner.")
    num_feature = _int(params.get("num_feature"), "num_feature", label, 1, MAX_FEATURES)
    num_class = _int(params.get("num_class", "0"), "num_class", label, 0, MAX_CLASSES)
    num_target = _int(params.get("num_target", "1"), "num_target", label, 1, MAX_CLASSES)
    if num_target > 1:
        raise ModelError(f"{label}: an XGBoost model with {num_target} targets; mlgate scores one target")
    groups = max(num_class, 1)
    for key in ("feature_names", "feature_types"):
        values = learner.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values) or \
                len(values) not in (0, num_feature):
            raise ModelError(f"{label}: learner.{key} is not a list of {num_feature} strings")
    if set(learner.get("feature_types", [])) - {"float", "int", "i", "q"}:
        raise ModelError(f"{label}: the model has categorical features, which mlgate does not validate; "
                         "encode them as numbers before training")
    attributes = learner.get("attributes", {})
    if not isinstance(attributes, dict):
        raise ModelError(f"{label}: learner.attributes is not an object")
    booster = _field(learner, "gradient_booster", dict, label, "learner.")
    name = booster.get("name")
    if name != "gbtree":
        raise ModelError(f"{label}: XGBoost booster {name!r} is not one mlgate reads; it reads gbtree models "
                         "(a gblinear booster has no in-place predict, DART's tree weights are not validated)")
    model = _field(booster, "model", dict, label, "gradient_booster.")
    tree_param = _field(model, "gbtree_model_param", dict, label, "gradient_booster.model.")
    num_trees = _int(tree_param.get("num_trees"), "num_trees", label, 0, MAX_NODES)
    parallel = _int(tree_param.get("num_parallel_tree", "1"), "num_parallel_tree", label, 1, 100_000)
    trees = _field(model, "trees", list, label, "gradient_booster.model.")
    info = _ints(_field(model, "tree_info", (list, np.ndarray), label, "gradient_booster.model."), "tree_info", label)
    if len(trees) != num_trees or info.size != num_trees:
        raise ModelError(f"{label}: num_trees says {num_trees}, the model holds {len(trees)} trees and "
                         f"{info.size} tree_info entries")
    if info.size and (info.min() < 0 or info.max() >= groups):
        raise ModelError(f"{label}: tree_info names output {int(info.max() if info.max() >= groups else info.min())}; "
                         f"the model has {groups} output(s) (num_class {num_class})")
    step = groups * parallel
    if num_trees % step:
        raise ModelError(f"{label}: {num_trees} trees are not whole iterations of {step} trees")
    if "iteration_indptr" in model:
        indptr = _ints(model["iteration_indptr"], "iteration_indptr", label)
        if not np.array_equal(indptr, np.arange(0, num_trees + 1, step)):
            raise ModelError(f"{label}: iteration_indptr does not split {num_trees} trees into iterations of {step}")
    cats = model.get("cats", {})
    if not isinstance(cats, dict) or any(len(v) for v in cats.values() if isinstance(v, (list, np.ndarray))):
        raise ModelError(f"{label}: the model has categorical splits, which mlgate does not validate")
    for k, tree in enumerate(trees):
        _check_xgboost_tree(tree, k, num_feature, label)
    iterations = num_trees // step
    if "best_iteration" in attributes:
        best = _int(attributes["best_iteration"], "attribute best_iteration", label, 0, MAX_NODES)
        if best + 1 != iterations:
            raise ModelError(f"{label}: the model holds {iterations} iterations but its best_iteration is {best}: "
                             "the gate would score one model and Booster.predict serve another; save "
                             "booster[: best_iteration + 1] (model.get_booster()[: model.best_iteration + 1])")
    return {"num_feature": num_feature, "num_class": num_class, "iterations": iterations}


XGBOOST_NODE_ARRAYS = ("left_children", "right_children", "parents", "split_indices", "split_conditions",
                       "default_left", "base_weights", "loss_changes", "sum_hessian")


def _check_xgboost_tree(tree, k: int, num_feature: int, label: str) -> None:
    where = f"tree {k}"
    if not isinstance(tree, dict):
        raise ModelError(f"{label}: {where} is not an object")
    param = _field(tree, "tree_param", dict, label, f"{where}: ")
    nodes = _int(param.get("num_nodes"), f"{where} num_nodes", label, 1, MAX_NODES)
    _int(param.get("num_deleted", "0"), f"{where} num_deleted", label, 0, 0)
    _int(param.get("size_leaf_vector", "1"), f"{where} size_leaf_vector", label, 0, 1)
    arrays = {}
    for key in XGBOOST_NODE_ARRAYS + ("split_type",):
        if key == "split_type" and key not in tree:
            continue
        convert = _numbers if key in ("split_conditions", "base_weights", "loss_changes", "sum_hessian") else _ints
        arrays[key] = convert(tree.get(key), f"{where} {key}", label)
        if arrays[key].size != nodes:
            raise ModelError(f"{label}: {where} has {arrays[key].size} {key} for {nodes} nodes")
    if "split_type" in arrays and arrays["split_type"].any() or any(
            len(tree.get(key, ())) for key in ("categories", "categories_nodes")):
        raise ModelError(f"{label}: {where} has categorical splits, which mlgate does not validate")
    left, right, parents = arrays["left_children"], arrays["right_children"], arrays["parents"]
    leaf = left == -1
    if not np.array_equal(leaf, right == -1):
        raise ModelError(f"{label}: {where}: a node has one child")
    inner = ~leaf
    for child in (left[inner], right[inner]):
        if child.size and (child.min() < 1 or child.max() >= nodes):
            raise ModelError(f"{label}: {where}: a child index is outside 1..{nodes - 1}")
    ids = np.flatnonzero(inner)
    if parents[0] != ROOT_PARENT or not (np.array_equal(parents[left[ids]], ids)
                                         and np.array_equal(parents[right[ids]], ids)):
        raise ModelError(f"{label}: {where}: parents do not match children")
    split = arrays["split_indices"]
    bad = split[(split < 0) | (inner & (split >= num_feature))]
    if bad.size:
        raise ModelError(f"{label}: {where} splits on feature {int(bad[0])}; the model has {num_feature} features")
    if arrays["default_left"].size and (arrays["default_left"].min() < 0 or arrays["default_left"].max() > 1):
        raise ModelError(f"{label}: {where}: default_left holds values other than 0 and 1")
    _each_reached_once(left, right, lambda c: np.ones(c.size, dtype=bool), nodes, 0, where, label)


class UBJReader:
    """The UBJSON subset XGBoost's ``save_model`` writes (big-endian; containers optionally typed
    and counted), with the nesting bounded and every count checked against the bytes left, so
    that a hostile count cannot allocate. Numeric typed arrays become numpy arrays without a
    per-element Python object."""

    SCALARS = {b"i": ">i1", b"U": ">u1", b"I": ">i2", b"l": ">i4", b"L": ">i8", b"d": ">f4", b"D": ">f8"}

    def __init__(self, data: bytes, label: str):
        self.data, self.pos, self.label = memoryview(data), 0, label

    def fail(self, why: str):
        raise ModelError(f"{self.label}: not a readable XGBoost UBJSON model ({why} at byte {self.pos})")

    def document(self):
        doc = self.value(self.marker(), 1)
        if self.pos != len(self.data):
            self.fail("bytes after the model")
        return doc

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            self.fail("truncated")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def marker(self) -> bytes:
        return bytes(self.take(1))

    def number(self, marker: bytes):
        fmt = self.SCALARS.get(marker)
        if fmt is None:
            self.fail(f"unexpected marker {marker!r}")
        size = int(fmt[-1])
        value = np.frombuffer(self.take(size), dtype=fmt)[0]
        return float(value) if fmt[1] == "f" else int(value)

    def count(self) -> int:
        n = self.number(self.marker())
        if not isinstance(n, int) or n < 0 or n > len(self.data) - self.pos:
            self.fail(f"a count of {n}")
        return n

    def string(self) -> str:
        try:
            return str(self.take(self.count()), "utf-8")
        except UnicodeDecodeError:
            self.fail("a string that is not UTF-8")

    def value(self, marker: bytes, depth: int):
        if depth > MAX_DEPTH:
            self.fail(f"nesting deeper than {MAX_DEPTH}")
        if marker in self.SCALARS:
            return self.number(marker)
        if marker == b"S":
            return self.string()
        if marker in (b"T", b"F"):
            return marker == b"T"
        if marker == b"Z":
            return None
        if marker == b"C":
            return chr(self.take(1)[0])
        if marker == b"[":
            return self.array(depth)
        if marker == b"{":
            return self.object(depth)
        self.fail(f"unexpected marker {marker!r}")

    def header(self) -> tuple[bytes | None, int | None]:
        kind = count = None
        if self.data[self.pos:self.pos + 1] == b"$":
            self.pos += 1
            kind = self.marker()
            if self.data[self.pos:self.pos + 1] != b"#":
                self.fail("a typed container without a count")
        if self.data[self.pos:self.pos + 1] == b"#":
            self.pos += 1
            count = self.count()
        return kind, count

    def array(self, depth: int):
        kind, count = self.header()
        if kind is not None and kind in self.SCALARS:
            fmt = self.SCALARS[kind]
            return np.frombuffer(self.take(count * int(fmt[-1])), dtype=fmt).astype(fmt[1:])
        items = []
        while count is None or len(items) < count:
            marker = kind or self.marker()
            if count is None and marker == b"]":
                return items
            items.append(self.value(marker, depth + 1))
        return items

    def object(self, depth: int) -> dict:
        kind, count = self.header()
        obj = {}
        while count is None or len(obj) < count:
            if count is None and self.data[self.pos:self.pos + 1] == b"}":
                self.pos += 1
                return obj
            key = self.string()
            if key in obj:
                self.fail(f"the key {key!r} twice")
            obj[key] = self.value(kind or self.marker(), depth + 1)
        return obj



# ----------------------------------------------------------------------------- LightGBM

LIGHTGBM_TREE_KEYS = {"num_leaves", "num_cat", "split_feature", "split_gain", "threshold", "decision_type",
                      "left_child", "right_child", "leaf_value", "leaf_weight", "leaf_count", "internal_value",
                      "internal_weight", "internal_count", "is_linear", "shrinkage", "cat_boundaries",
                      "cat_threshold"}
LIGHTGBM_BARE_LINES = {"tree", "average_output"}
KEY_VALUE = re.compile(r"([a-z_]+)=(.*)")


def check_lightgbm(text: str, label: str) -> dict:
    """The header as LightGBM reads it (every line before the first ``Tree=``, where a repeated key
    would let LightGBM and a reader disagree — refused), and every tree block checked against it.
    Returns the figures the loader compares with the loaded booster's, and the objective."""
    if "\r" in text:
        raise ModelError(f"{label}: the LightGBM model has carriage returns; save it with save_model as written")
    first = re.search(r"(?m)^Tree=", text)
    end = text.find("\nend of trees")
    if first is None or end < first.start():
        raise ModelError(f"{label}: the LightGBM model has no trees (no 'Tree=' block before 'end of trees')")
    header = _key_values(text[:first.start()].split("\n"), "the header", LIGHTGBM_BARE_LINES, label)
    num_class = _int(header.get("num_class"), "num_class", label, 1, MAX_CLASSES)
    per_iteration = _int(header.get("num_tree_per_iteration"), "num_tree_per_iteration", label, 1, MAX_CLASSES)
    if per_iteration != num_class:
        raise ModelError(f"{label}: num_tree_per_iteration is {per_iteration} but num_class is {num_class}; "
                         "LightGBM writes one tree per class per iteration")
    max_feature = _int(header.get("max_feature_idx"), "max_feature_idx", label, 0, MAX_FEATURES)
    objective = header.get("objective", "").split()
    claimed = [int(w.split(":")[1]) for w in objective[1:] if re.fullmatch(r"num_class:[0-9]{1,9}", w)]
    if any(c != num_class for c in claimed):
        raise ModelError(f"{label}: the objective says num_class {claimed[0]} but the header num_class {num_class}")
    names = header.get("feature_names")
    if names is not None and len(names.split(" ")) != max_feature + 1:
        raise ModelError(f"{label}: {len(names.split(' '))} feature_names for max_feature_idx {max_feature}")
    body = text[first.start():end + 1]
    starts = [m.start() for m in re.finditer(r"(?m)^Tree=", body)] + [len(body)]
    blocks = [body[a:b] for a, b in zip(starts, starts[1:])]
    if len(blocks) % per_iteration:
        raise ModelError(f"{label}: {len(blocks)} trees are not whole iterations of {per_iteration}")
    if "tree_sizes" in header:
        sizes = header["tree_sizes"].split(" ")
        actual = [str(len(b.encode("utf-8"))) for b in blocks]
        if sizes != actual:
            raise ModelError(f"{label}: tree_sizes does not match the tree blocks (save the model as written)")
    for k, block in enumerate(blocks):
        if not block.startswith(f"Tree={k}\n"):
            raise ModelError(f"{label}: tree block {k} is headed {block.split(chr(10), 1)[0][:40]!r}")
        _check_lightgbm_tree(block.split("\n")[1:], f"tree {k}", max_feature, label)
    tail = text[end:]
    pandas = re.search(r"(?m)^pandas_categorical:(.*)$", tail)
    if pandas and pandas.group(1).strip() not in ("null", "[]"):
        raise ModelError(f"{label}: the model has pandas categorical features, which mlgate does not validate")
    return {"objective": objective[0] if objective else "(none)", "num_class": num_class,
            "trees": len(blocks), "per_iteration": per_iteration, "num_feature": max_feature + 1}


def _key_values(lines: list[str], where: str, bare: set, label: str) -> dict:
    found = {}
    for line in lines:
        if not line or line in bare:
            continue
        match = KEY_VALUE.fullmatch(line)
        if match is None:
            raise ModelError(f"{label}: {where} has a line mlgate does not read: {line[:60]!r}")
        if match.group(1) in found:
            raise ModelError(f"{label}: {where} sets {match.group(1)} twice")
        found[match.group(1)] = match.group(2)
    return found


def _numbers_line(values: dict, key: str, count: int, where: str, label: str, kind=float) -> np.ndarray:
    raw = values.get(key, "")
    words = raw.split(" ") if raw else []
    if len(words) != count:
        raise ModelError(f"{label}: {where} has {len(words)} {key} values; it needs {count}")
    try:
        return np.array([kind(w) for w in words], dtype=np.int64 if kind is int else np.float64)
    except ValueError:
        raise ModelError(f"{label}: {where}: {key} holds a value that is not a number") from None


def _check_lightgbm_tree(lines: list[str], where: str, max_feature: int, label: str) -> None:
    values = _key_values(lines, where, set(), label)
    unknown = set(values) - LIGHTGBM_TREE_KEYS
    if unknown:
        raise ModelError(f"{label}: {where} has {sorted(unknown)[0]}, which mlgate does not validate")
    leaves = _int(values.get("num_leaves"), f"{where} num_leaves", label, 1, MAX_NODES)
    _int(values.get("num_cat", "0"), f"{where} num_cat (categorical splits are not validated)", label, 0, 0)
    _int(values.get("is_linear", "0"), f"{where} is_linear (linear trees are not validated)", label, 0, 0)
    _numbers_line(values, "leaf_value", leaves, where, label)
    if leaves == 1:
        return
    inner = leaves - 1
    feature = _numbers_line(values, "split_feature", inner, where, label, int)
    _numbers_line(values, "threshold", inner, where, label)
    decision = _numbers_line(values, "decision_type", inner, where, label, int)
    left = _numbers_line(values, "left_child", inner, where, label, int)
    right = _numbers_line(values, "right_child", inner, where, label, int)
    bad = feature[(feature < 0) | (feature > max_feature)]
    if bad.size:
        raise ModelError(f"{label}: {where} splits on feature {int(bad[0])}; max_feature_idx is {max_feature}")
    if ((decision < 0) | (decision > 15) | (decision & 1 == 1) | ((decision >> 2) & 3 == 3)).any():
        raise ModelError(f"{label}: {where} has a decision_type mlgate does not validate (categorical or unknown)")
    for child in (left, right):
        if child.min() < -leaves or child.max() >= inner:
            raise ModelError(f"{label}: {where}: a child index is outside [-{leaves}, {inner - 1}]")
    _each_reached_once(left, right, lambda c: c >= 0, inner, leaves, where, label)
