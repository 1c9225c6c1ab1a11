"""The model registry: versions, aliases and the audit log of every promotion.

- ``base``: the interface every backend implements and the alias rules they share.
- ``file``: the registry in a directory (``registry.json`` plus content-addressed models).
- ``mlflow``: MLflow's model registry. GitHub Releases is at the edge (``action``), since it
  needs the API and a token; ``action/registries.py`` opens whichever the policy names.
"""

from .base import MANAGED_ALIASES, Registry, UnknownAlias, Version
from .file import FileRegistry
from .open import open_registry

__all__ = ["MANAGED_ALIASES", "FileRegistry", "Registry", "UnknownAlias", "Version", "open_registry"]
