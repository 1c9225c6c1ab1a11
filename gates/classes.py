"""Per-class results for a multiclass report: both models' confusion matrices and each class's
precision, recall and F1.

A macro F1 that barely moves can hide a class the candidate no longer finds; the report shows
the classes so a reader sees where two models differ. Everything comes from the joint cells the
gates already counted (their margins are both confusion matrices), so it costs nothing per row
and is the same for a streamed holdout. A class's precision with no predictions of it, or
recall with no rows of it, is undefined: ``None``, shown as such, never a silent 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stats import JointCells

MAX_MATRIX_CLASSES = 30  # confusion matrices are kept (and drawn) up to this many classes


@dataclass(frozen=True)
class ClassScores:
    """One model's per-class precision, recall and F1 (``None`` where undefined)."""

    precision: tuple[float | None, ...]
    recall: tuple[float | None, ...]
    f1: tuple[float | None, ...]


@dataclass(frozen=True)
class Classes:
    labels: tuple[str, ...]  # as text, in the label order of the cells
    support: tuple[int, ...]  # rows whose true label is each class
    scores: dict[str, ClassScores]  # "candidate", and "production" when there is one
    # role -> rows true, columns predicted; None beyond MAX_MATRIX_CLASSES classes
    confusion: dict[str, tuple[tuple[int, ...], ...]] | None

    def to_dict(self) -> dict:
        return {
            "labels": list(self.labels), "support": list(self.support),
            "scores": {role: {"precision": list(s.precision), "recall": list(s.recall), "f1": list(s.f1)}
                       for role, s in self.scores.items()},
            "confusion": None if self.confusion is None
            else {role: [list(row) for row in m] for role, m in self.confusion.items()},
        }


def class_scores(matrix: np.ndarray) -> ClassScores:
    """Per-class precision, recall and F1 of one (K, K) confusion matrix (rows true)."""
    matrix = np.asarray(matrix, dtype=np.int64)
    hits = np.diag(matrix)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = tuple(float(h / p) if p else None for h, p in zip(hits, predicted))
    recall = tuple(float(h / a) if a else None for h, a in zip(hits, actual))
    # F1 = 2·TP / (2·TP + FP + FN): defined whenever the class was predicted or present.
    f1 = tuple(float(2 * h / (p + a)) if p + a else None for h, p, a in zip(hits, predicted, actual))
    return ClassScores(precision, recall, f1)


def summarize_classes(cells: JointCells | None, *, has_production: bool) -> Classes | None:
    """Per-class results of a task with more than two classes; None otherwise."""
    if cells is None or len(cells.labels) <= 2:
        return None
    roles = ["candidate"] + (["production"] if has_production else [])
    matrices = {role: cells.confusion(role) for role in roles}
    keep = len(cells.labels) <= MAX_MATRIX_CLASSES
    return Classes(
        labels=tuple(str(label) for label in cells.labels),
        support=tuple(int(v) for v in matrices["candidate"].sum(axis=1)),
        scores={role: class_scores(m) for role, m in matrices.items()},
        confusion={role: tuple(tuple(int(v) for v in row) for row in m) for role, m in matrices.items()} if keep else None,
    )
