"""Load models safely: one suffix dispatch for files and for bytes shipped to workers.

A model file may come from a pull request, so it is loaded by a reader that runs no code from
it: skops with an explicit type allowlist, ONNX through onnxruntime (``onnx_model``), XGBoost's
and LightGBM's own native formats (``boosters``); pickles (which run code on load) only when
the caller says it trusts them. Each format's library is imported when a file needs it, and
a missing one is an error naming the extra to install. Models that need other libraries take
part through predictions files instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
import zipfile

import pandas as pd

from ..errors import DataError, ModelError
from ..holdout.read import read_table
from ..paths import sha256_file
from .sklearn_types import SKLEARN_TRUSTED_TYPES, check_loaded, check_schema

SKOPS_SUFFIXES = {".skops"}


PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib"}


ONNX_SUFFIXES = {".onnx"}


XGBOOST_SUFFIXES = {".json", ".ubj"}  # a .json is XGBoost's only if it starts as its models do


LIGHTGBM_SUFFIXES = {".txt"}  # likewise: LightGBM's text model starts with a "tree" line


# What a privileged job may load from a pull request: every format but pickles.
SAFE_SUFFIXES = SKOPS_SUFFIXES | ONNX_SUFFIXES | XGBOOST_SUFFIXES | LIGHTGBM_SUFFIXES


PREDICTION_COLUMN = "prediction"


SCORE_COLUMN = "score"


PROBA_PREFIX = "proba_"


ROW_ID_COLUMN = "row_id"


EXAMPLE_SCORE_COLUMN = "example_score"  # a per-example score (an LLM judge's grade, 1/0 pass/fail)


@dataclass
class Model:
    """One side of the comparison: an estimator or a file of its predictions."""

    role: str  # candidate | production
    source: str
    sha256: str
    path: Path | None = None
    estimator: Any = None
    predictions: pd.DataFrame | None = None
    extra: dict = field(default_factory=dict)

    @property
    def size_mb(self) -> float | None:
        """On-disk size of the artifact in MB (10^6 bytes); None for a predictions file."""
        if self.estimator is None or self.path is None:
            return None
        # Measured when loaded: a train command that runs later cannot resize what was judged.
        return self.extra.get("size_bytes", self.path.stat().st_size) / 1e6

    @property
    def kind(self) -> str:
        return "predictions" if self.estimator is None else "model"


def load_model_file(path: Path, *, role: str, label: str, trusted_types=(), trust_pickle: bool = False,
                    policy_file: str = "") -> Model:
    """Load ``path`` as a model; ``label`` is how the user named it (for messages)."""
    if not path.is_file():
        raise ModelError(f"{label}: {role} model file not found")
    suffix = path.suffix.lower()
    estimator = load_estimator({"file": path}, suffix, label, tuple(trusted_types), trust_pickle, policy_file)
    return Model(role=role, source=label, sha256=sha256_file(path), path=path, estimator=estimator,
                 extra={"size_bytes": _unpacked_size(path, suffix)})


def load_model_bytes(data: bytes, *, suffix: str, role: str, label: str, trusted_types=(),
                     trust_pickle: bool = False) -> Model:
    """Load a model shipped as bytes (to a Dask worker) with the same checks as a file.

    ``suffix`` is the original file's (one of ``SAFE_SUFFIXES``, or a pickle suffix that needs
    ``trust_pickle``).
    """
    import hashlib

    estimator = load_estimator({"data": data}, suffix.lower(), label, tuple(trusted_types), trust_pickle)
    return Model(role=role, source=label, sha256=hashlib.sha256(data).hexdigest(), estimator=estimator)


def load_estimator(source: dict, suffix: str, label: str, trusted: tuple[str, ...], trust_pickle: bool,
                   policy_file: str = ""):
    """The one suffix dispatch, for a file (``{"file": path}``) or bytes (``{"data": b}``), so
    files and bytes shipped to workers always load alike. The native formats' readers take
    bytes (onnxruntime is never given a path), imported here so that scikit-learn users never
    import them.
    """
    if suffix in XGBOOST_SUFFIXES | LIGHTGBM_SUFFIXES and "file" in source and source["file"].is_file():
        from .booster_checks import check_size

        check_size(source["file"].stat().st_size, label)  # before the bytes are read
    if suffix in SKOPS_SUFFIXES:
        estimator = _load_skops_source(source, label, trusted, policy_file)
    elif suffix in ONNX_SUFFIXES:
        from .onnx_model import load_onnx

        estimator = load_onnx(source_bytes(source, label), label)
    elif suffix in XGBOOST_SUFFIXES:
        from .boosters import load_xgboost

        estimator = load_xgboost(source_bytes(source, label), suffix, label)
    elif suffix in LIGHTGBM_SUFFIXES:
        from .boosters import load_lightgbm

        estimator = load_lightgbm(source_bytes(source, label), label)
    elif suffix in PICKLE_SUFFIXES:
        if not trust_pickle:
            raise ModelError(
                f"{label}: refusing to unpickle a {suffix} file, since unpickling can run arbitrary code; "
                "save the model with skops (.skops), or pass --trust-pickle (action input trust_pickle) "
                "if this file comes from a trusted source"
            )
        estimator = _load_pickle(source, label)
    else:
        raise ModelError(f"{label}: unsupported model file type {suffix or '(none)'!r}; expected .skops, .onnx, "
                         "XGBoost's .json/.ubj, LightGBM's .txt (or .joblib/.pkl with --trust-pickle)")
    if not hasattr(estimator, "predict"):
        raise ModelError(f"{label}: the loaded object ({type(estimator).__name__}) has no predict method")
    return estimator


def source_bytes(source: dict, label: str) -> bytes:
    if "data" in source:
        return source["data"]
    try:
        return source["file"].read_bytes()
    except OSError as exc:
        raise ModelError(f"{label}: cannot read the model file ({type(exc).__name__}: {first_line(exc)})") from None


def _load_pickle(source: dict, label: str):
    import io

    import joblib

    try:
        return joblib.load(source["file"] if "file" in source else io.BytesIO(source["data"]))
    except Exception as exc:
        raise ModelError(f"{label}: cannot unpickle ({type(exc).__name__}: {first_line(exc)})") from None


def _unpacked_size(path: Path, suffix: str) -> int:
    """What the model weighs once loaded: a skops file is a zip, and a model recompressed with
    DEFLATE would otherwise pass a size gate at a thousandth of its size."""
    if suffix in SKOPS_SUFFIXES:
        try:
            with zipfile.ZipFile(path) as zf:
                return max(sum(info.file_size for info in zf.infolist()), path.stat().st_size)
        except (zipfile.BadZipFile, OSError):
            pass
    return path.stat().st_size


def _load_skops_source(source: dict, label: str, trusted: tuple[str, ...], policy_file: str = ""):
    """``source`` is ``{"file": path}`` or ``{"data": bytes}`` (the two ways skops reads).
    ``policy_file`` is where the allowlist comes from, as the policy names its source (in a pull
    request, the base branch's file: the PR cannot trust types for itself)."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(**source)
    except RecursionError:
        raise ModelError(f"{label}: not a readable skops file (its schema nests too deeply)") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, RuntimeError, NotImplementedError,
            TypeError, AttributeError) as exc:
        # zipfile raises RuntimeError for an encrypted member, NotImplementedError for an
        # unknown compression; a hand-made schema can surface as TypeError/AttributeError.
        raise ModelError(f"{label}: not a readable skops file ({type(exc).__name__}: {first_line(exc)})") from None
    refused = sorted(t for t in untrusted if t not in trusted and t not in SKLEARN_TRUSTED_TYPES)
    if refused:
        raise ModelError(
            f"{label}: refusing to load untrusted types {refused}; if you trust them, list them under "
            f"security.trusted_types in {policy_file or 'the policy'}"
        )
    check_schema(source, label)
    try:
        if "file" in source:
            estimator = sio.load(source["file"], trusted=list(untrusted))
        else:
            estimator = sio.loads(source["data"], trusted=list(untrusted))
    except Exception as exc:  # skops surfaces many error types for a corrupt archive
        raise ModelError(f"{label}: cannot load skops file ({type(exc).__name__}: {first_line(exc)})") from None
    check_loaded(estimator, label)
    return estimator


def load_predictions_file(path: Path, *, role: str, label: str) -> Model:
    if not path.is_file():
        raise DataError(f"{label}: {role} predictions file not found")
    frame = read_table(path, label, f"{role}.predictions")
    # Which columns it needs depends on the gates (a file of per-example scores alone serves
    # mean_score gates): scoring checks them and names the one missing.
    return Model(role=role, source=label, sha256=sha256_file(path), path=path, predictions=frame)


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""
