"""Models: load them without running code from the artifact, score them, time them.

- ``load``: one suffix dispatch for files and bytes (skops, and pickles only when trusted),
  and predictions files. New formats (ONNX, XGBoost, LightGBM) are loaders here.
- ``score``: labels from ``predict``, checked probabilities, predictions files aligned by id.
- ``latency``: both models timed alike. ``train``: a policy's train command, contained.
"""

from .load import Model, load_model_bytes, load_model_file, load_predictions_file
from .score import Scores, score_model

__all__ = ["Model", "Scores", "load_model_bytes", "load_model_file", "load_predictions_file", "score_model"]
