"""The engine: how an evaluation runs, from the policy to the Result.

- ``evaluation``: the story (read this first): check the holdout, resolve both models, score in
  chunks, apply the gates, decide.
- ``overrides``: what a caller may set instead of the policy (trusted paths, the engine).
- ``resolve``: the candidate (file, predictions file or train command), production (file or
  registry version) and the labels both are judged on.
- ``chunks``: the one score → evidence path for a chunk of rows, and the running merge.
- ``local`` and ``dask``: where chunks are scored (threads here, or a Dask cluster).
"""

from .evaluation import evaluate
from .overrides import Overrides
from .resolve import candidate_only

__all__ = ["Overrides", "candidate_only", "evaluate"]
