"""The one scoring path: a chunk of holdout rows → both models' outputs → mergeable evidence.

Every evaluation, whatever the holdout's size, runs the survey (``holdout.survey``: the one set
of holdout checks, the task and the label set, before any model runs) and then scores the
holdout chunk by chunk; a small holdout is one chunk. Each chunk is scored by both models and
reduced to :class:`~gates.evidence.Evidence` (joint cells, loss moments, scores, with groups
their per-group statistics), merged into the running total by ``evidence.EvidenceSum`` in file
order; nothing else about the chunk is kept, except its first ``LATENCY_ROWS`` rows for the
latency gate. ``local`` overlaps reading, predicting and reducing on threads; ``dask`` maps
:func:`score_chunk` over a cluster's partitions.

What is kept per row depends on the size (``ROW_EXTRAS_MAX_ROWS``): up to a million rows,
float64 scores, exact curves and per-row loss differences (for the reported row tests);
beyond, only DeLong's float32 scores — 9 bytes per row (two scores and one bool), 9 more per
row per slice column when a roc_auc ``slice_max_drop`` gate needs slice scores (a multiclass
roc_auc keeps 8·K + 1 bytes per row instead: each row's class and both probability rows). A roc_auc
gate's DeLong needs O(n) temporaries on top (each model's sorted keys, permutation and
components), about 160 bytes per row at the peak (8.0 GB for 50 million rows, measured with
benchmarks/bench_engine.py): budget ~170 bytes per row of RAM with a roc_auc gate.

Predictions files are loaded whole (two or three columns) and matched once against the
survey's ids or row order; each chunk then takes its slice by global row offset. The
functions here are pure (no environment, no globals), so Dask workers run them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import stats
from ..errors import DataError, ModelError
from ..evidence import Comparands, Evidence, EvidenceSum, build_evidence
from ..mean_score import MEAN_SCORE
from ..holdout.read import Holdout
from ..holdout.read_chunks import iter_chunks
from ..holdout.survey import Survey
from ..models.columns import Columns
from ..models.load import Model
from ..models.score import Scores, score_model

# Without engine.chunk_rows the chunk is sized by the holdout's width: about CHUNK_BYTES of
# float64 per chunk (at most four chunks are alive at once), between MIN and MAX rows. Larger
# chunks cost less per row (fewer hand-offs between the threads, fewer merges); wider tables
# need smaller ones to stay within memory.
CHUNK_BYTES = 128 << 20
MIN_CHUNK_ROWS, MAX_CHUNK_ROWS = 10_000, 1_000_000


# Up to this many rows the engine keeps what only rows in memory allow: per-row loss
# differences for the reported Wilcoxon and row bootstrap, float64 scores and exact curves
# (8 bytes per row per loss metric and 8 per score). Beyond it, per-row state is the compact
# float32 scores DeLong needs and nothing else.
ROW_EXTRAS_MAX_ROWS = 1_000_000


LATENCY_ROWS = 10_000  # rows kept from the first chunk to time predict (as measure_latency does)


def default_chunk_rows(columns: int) -> int:
    """Rows per chunk when the policy sets none, for a holdout of ``columns`` columns."""
    return int(min(MAX_CHUNK_ROWS, max(MIN_CHUNK_ROWS, CHUNK_BYTES // (8 * max(columns, 1)))))


@dataclass(frozen=True)
class Plan:
    """Everything a chunk needs to be scored, decided before the scoring pass (picklable)."""

    source: str
    target: str | None  # None: a holdout that only lists examples (per-example scores)
    task: str
    labels: tuple | None
    positive_label: object
    pos_index: int | None
    id_column: str | None
    slices: tuple
    exclude: Columns  # what the models are given (gates.models.columns)
    want_proba: bool
    loss_metrics: frozenset
    slice_scores: bool  # keep per-slice score arrays (a roc_auc slice gate needs them)
    y_center: float = 0.0  # regression: the first target value (see Comparands.y_center)
    bin_scores: bool = True  # count the curves' score bins per chunk (2 MB of counts each)
    group_column: str | None = None  # data.group_column: the unit of every relative comparison
    keep_rows: bool = False  # keep per-row loss differences (holdouts up to ROW_EXTRAS_MAX_ROWS)
    score_dtype: str | None = "float32"  # DeLong's scores; None keeps the models' float64
    class_scores: bool = False  # keep classes and probability matrices (a multiclass roc_auc gate)
    want_predictions: bool = True  # False when every gate is mean_score (files need no prediction column)

    @property
    def want_example_scores(self) -> bool:
        return MEAN_SCORE in self.loss_metrics


def fixed_scores(model: Model, survey: Survey, plan: Plan) -> Scores:
    """A predictions file scored once against the whole holdout's ids or row count."""
    if survey.ids is not None:
        frame = pd.DataFrame({plan.id_column: survey.ids})
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(survey.rows))
    skeleton = Holdout(frame=frame, source=survey.source, sha256=survey.sha256, target=survey.target, task=survey.task)
    return score_model(model, skeleton, labels=plan.labels, positive_label=plan.positive_label,
                       id_column=plan.id_column, exclude=plan.exclude, want_proba=plan.want_proba,
                       want_predictions=plan.want_predictions, want_example_scores=plan.want_example_scores)


def slice_scores(scores: Scores | None, offset: int, n: int) -> Scores | None:
    if scores is None:
        return None
    def part(values):
        return None if values is None else values[offset:offset + n]

    return Scores(predicted=part(scores.predicted), proba=part(scores.proba), example_score=part(scores.example_score))


def score_chunk(frame: pd.DataFrame, plan: Plan, candidate: Model, production: Model | None,
                fixed: dict | None = None) -> tuple[Evidence, dict]:
    """Score one chunk with both models and reduce it to evidence, overall and per slice.

    ``fixed`` maps a role to that model's predictions for exactly these rows (predictions files).
    Slice evidence is keyed by ``(column, value as text)``, or ``(column, None)`` for missing.
    """
    return reduce_chunk(*predict_chunk(frame, plan, candidate, production, fixed), plan)


def predict_chunk(frame: pd.DataFrame, plan: Plan, candidate: Model, production: Model | None,
                  fixed: dict | None = None) -> tuple[pd.DataFrame, Comparands]:
    """Both models' outputs on one chunk (the half of :func:`score_chunk` that runs the models)."""
    fixed = fixed or {}
    frame = frame.reset_index(drop=True)
    if plan.task == "regression":
        frame[plan.target] = pd.to_numeric(frame[plan.target]).astype(float)
    chunk = Holdout(frame=frame, source=plan.source, sha256="", target=plan.target, task=plan.task)
    kwargs = dict(labels=plan.labels, positive_label=plan.positive_label, id_column=plan.id_column,
                  exclude=plan.exclude, want_proba=plan.want_proba)
    cand = fixed.get("candidate") or score_model(candidate, chunk, **kwargs)
    prod = cand
    if production is not None:
        prod = fixed.get("production") or score_model(production, chunk, **kwargs)
    if plan.labels is not None and cand.predicted is not None:
        unknown = set(pd.unique(cand.predicted)) - set(plan.labels)
        if unknown:
            raise ModelError(f"{candidate.source}: predicted label(s) {sorted(map(str, unknown))[:5]} not among the labels {list(plan.labels)}")
    c = Comparands(
        task=plan.task, labels=plan.labels, pos_index=plan.pos_index, y=None if plan.target is None else chunk.y,
        pred_candidate=cand.predicted, pred_production=prod.predicted,
        example_candidate=cand.example_score, example_production=prod.example_score,
        proba_candidate=cand.proba, proba_production=prod.proba, y_center=plan.y_center,
        groups=None if plan.group_column is None else frame[plan.group_column].to_numpy(),
    )
    return frame, c


def reduce_chunk(frame: pd.DataFrame, c: Comparands, plan: Plan) -> tuple[Evidence, dict]:
    """One chunk's model outputs reduced to evidence, overall and per slice (no model runs)."""
    metrics = set(plan.loss_metrics)
    dtype = None if plan.score_dtype is None else np.dtype(plan.score_dtype)
    overall = build_evidence(c, metrics, keep_rows=plan.keep_rows, score_dtype=dtype, bin_scores=plan.bin_scores,
                             keep_proba=plan.class_scores, sample_residuals=plan.task == "regression")
    slices: dict = {}
    for column in plan.slices:
        values = frame[column]
        missing = values.isna().to_numpy()
        keys = values.astype(str).to_numpy()
        for key in pd.unique(keys[~missing]):
            slices[(column, key)] = build_evidence(c, metrics, (keys == key) & ~missing, keep_rows=plan.keep_rows,
                                                   keep_scores=plan.slice_scores, score_dtype=dtype,
                                                   keep_proba=plan.class_scores)
        if missing.any():
            slices[(column, None)] = build_evidence(c, metrics, missing, keep_rows=plan.keep_rows,
                                                    keep_scores=plan.slice_scores, score_dtype=dtype,
                                                    keep_proba=plan.class_scores)
    return overall, slices


class StreamTotals:
    """Overall and per-slice running merges, in chunk order."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.rows = 0
        self.overall = EvidenceSum()
        self.slices: dict = {}

    def add(self, overall: Evidence, slices: dict) -> None:
        self.rows += overall.n
        self.overall.add(overall)
        for key, ev in slices.items():
            self.slices.setdefault(key, EvidenceSum()).add(ev)

    def result(self, labels: tuple | None) -> tuple[Evidence, dict[str, Evidence]]:
        overall = self.overall.result()
        if overall.cells is None and labels is not None:  # no rows at all: empty cells
            overall.cells = stats.JointCells(labels, np.zeros((len(labels),) * 3, np.int64))
        named: dict[str, Evidence] = {}
        for column in self.plan.slices:  # the in-memory order: sorted values, then missing
            keys = sorted(k for (col, k) in self.slices if col == column and k is not None)
            for key in keys:
                named[f"{column}={key}"] = self.slices[(column, key)].result()
            if (column, None) in self.slices:
                named[f"{column}=<missing>"] = self.slices[(column, None)].result()
        return overall, named


@dataclass
class Streamed:
    overall: Evidence
    slices: dict[str, Evidence]
    rows: int
    sha256: str
    sample: pd.DataFrame | None  # the first rows, to time predict


def check_rows(survey: Survey, rows: int) -> None:
    if rows != survey.rows:
        raise DataError(f"{survey.source}: read {rows} rows while scoring but {survey.rows} while checking; "
                        "did the file change during the evaluation?")


def sample_holdout(survey: Survey, sample: pd.DataFrame | None) -> Holdout:
    """The first rows as a Holdout, for ``measure_latency``."""
    if sample is None:
        sample = next(iter_chunks(survey.path, survey.source, chunk_rows=LATENCY_ROWS, dtypes=survey.dtypes))
    return Holdout(frame=sample, source=survey.source, sha256=survey.sha256, target=survey.target, task=survey.task)
