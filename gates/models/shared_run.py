"""One scoring run serves both of the scorer's calls on a frame: labels, then probabilities.

Adapters whose labels come from their own probabilities (ONNX graphs, boosters) would otherwise
run the model twice on every chunk.
"""

from __future__ import annotations


class SharedRun:
    _last = None  # (frame, probabilities) of the last predict, for the predict_proba after it

    def keep(self, X, proba) -> None:
        self._last = (X, proba)

    def kept(self, X):
        """The probabilities of the last ``predict`` when it was on this very frame, else None;
        taken once, so a later frame is never answered from an earlier one."""
        last, self._last = self._last, None
        return last[1] if last is not None and last[0] is X else None
