"""Paired statistics that decide whether a candidate model may replace production.

Everything that decides a gate is computed from mergeable sufficient statistics —
:class:`JointCells` (joint counts of y and both models' predictions), :class:`PairedMoments`
(per-row loss moments) and, for the AUC, the score arrays (one-vs-rest: each row's class and the
probability matrices) — so the local, streaming and Dask
engines all call the same functions on merged statistics. The array functions (``mcnemar``,
``paired_bootstrap``, ``delong``) are thin wrappers for direct use.

Rows in groups (users, patients, sessions): the group is the independent unit. Per-group
statistics — :class:`GroupCells`, :class:`GroupSums` — merge by group key, and the grouped
comparisons (``compare_confusion_grouped``, ``compare_auc_grouped``, ``compare_loss_grouped``)
return a :class:`GroupedComparison` carrying a :class:`GroupSummary`; the array functions take
``groups=``.

Live traffic (the canary judge) is decided sequentially: ``confidence_sequence`` (shadow mode's
per-request differences) and ``two_sample_confidence_sequence`` (split mode's two arms) return a
:class:`ConfidenceSequence` — an interval after every row that holds (asymptotically) at all rows
at once, so the judge may look on every run and stop at will.

Only numpy and scipy are needed at run time.
"""

from .bootstrap import BootstrapResult, bootstrap_cells, paired_bootstrap
from .cells import JointCells, PairedMoments, label_codes
from .cluster_bootstrap import bootstrap_group_cells
from .cluster_delong import delong_grouped
from .cluster_mcnemar import mcnemar_from_group_cells
from .compare import compare_auc, compare_confusion, compare_loss
from .confusion import confusion_metric
from .delong import delong, roc_auc
from .group_cells import GroupCells, GroupSums
from .grouped_compare import (
    GroupedComparison,
    GroupSummary,
    compare_auc_grouped,
    compare_confusion_grouped,
    compare_loss_grouped,
)
from .losses import loss_row_tests
from .mcnemar import mcnemar, mcnemar_from_cells
from .multiple import holm
from .ovr_delong import OVR_AVERAGES, OvRDeLongResult, compare_auc_ovr, ovr_delong, ovr_roc_auc
from .results import (
    Comparison,
    ConfidenceInterval,
    DeLongResult,
    HolmResult,
    LossRowTests,
    McNemarResult,
)
from .sequential import ConfidenceSequence, confidence_sequence, two_sample_confidence_sequence

__all__ = [
    "OVR_AVERAGES",
    "OvRDeLongResult",
    "BootstrapResult",
    "Comparison",
    "ConfidenceInterval",
    "ConfidenceSequence",
    "DeLongResult",
    "GroupCells",
    "GroupSums",
    "GroupSummary",
    "GroupedComparison",
    "HolmResult",
    "JointCells",
    "LossRowTests",
    "McNemarResult",
    "PairedMoments",
    "bootstrap_cells",
    "bootstrap_group_cells",
    "compare_auc",
    "compare_auc_grouped",
    "compare_auc_ovr",
    "compare_confusion",
    "compare_confusion_grouped",
    "compare_loss",
    "compare_loss_grouped",
    "confidence_sequence",
    "confusion_metric",
    "delong",
    "delong_grouped",
    "holm",
    "label_codes",
    "loss_row_tests",
    "mcnemar",
    "mcnemar_from_cells",
    "mcnemar_from_group_cells",
    "ovr_delong",
    "ovr_roc_auc",
    "paired_bootstrap",
    "roc_auc",
    "two_sample_confidence_sequence",
]
