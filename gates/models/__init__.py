"""Models: load them without running code from the artifact, score them, time them.

- ``load``: one suffix dispatch for files and bytes (skops, ONNX, XGBoost's and LightGBM's
  native files, and pickles only when trusted; ``SAFE_SUFFIXES`` is what a privileged job may
  take from a pull request), and predictions files.
- ``onnx_model`` and ``boosters``: the non-scikit-learn formats, each read by its own library
  (imported only when a file needs it) into an adapter with the scikit-learn surface the scorer
  uses: ``predict``, ``predict_proba``, ``classes_``, ``feature_names_in_`` or ``n_features_in_``.
- ``columns``: which holdout columns a model is given, in which order.
- ``score``: labels from ``predict``, checked probabilities, predictions files aligned by id.
- ``latency``: both models timed alike. ``train``: a policy's train command, contained.
"""

from .load import Model, load_model_bytes, load_model_file, load_predictions_file
from .score import Scores, score_model

__all__ = ["Model", "Scores", "load_model_bytes", "load_model_file", "load_predictions_file", "score_model"]
