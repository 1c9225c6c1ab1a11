"""Paired statistics that decide whether a candidate model may replace production.

Everything that decides a gate is computed from mergeable sufficient statistics —
:class:`JointCells` (joint counts of y and both models' predictions), :class:`PairedMoments`
(per-row loss moments) and, for the AUC, the score arrays — so the local, streaming and Dask
engines all call the same functions on merged statistics. The array functions (``mcnemar``,
``paired_bootstrap``, ``delong``) are thin wrappers for direct use.

Only numpy and scipy are needed at run time.
"""

from .bootstrap import BootstrapResult, bootstrap_cells, paired_bootstrap
from .cells import JointCells, PairedMoments, label_codes
from .compare import compare_auc, compare_confusion, compare_loss
from .confusion import confusion_metric
from .delong import delong, roc_auc
from .losses import loss_row_tests
from .mcnemar import mcnemar, mcnemar_from_cells
from .multiple import holm
from .results import (
    Comparison,
    ConfidenceInterval,
    DeLongResult,
    HolmResult,
    LossRowTests,
    McNemarResult,
)

__all__ = [
    "BootstrapResult",
    "Comparison",
    "ConfidenceInterval",
    "DeLongResult",
    "HolmResult",
    "JointCells",
    "LossRowTests",
    "McNemarResult",
    "PairedMoments",
    "bootstrap_cells",
    "compare_auc",
    "compare_confusion",
    "compare_loss",
    "confusion_metric",
    "delong",
    "holm",
    "label_codes",
    "loss_row_tests",
    "mcnemar",
    "mcnemar_from_cells",
    "paired_bootstrap",
    "roc_auc",
]
