"""The holdout: where it comes from, how it is read, and the one set of checks it passes.

- ``source``: the holdout as a local file (a workspace path, a URL, or a sealed file decrypted).
- ``download`` and ``sealing``: the URL fetch and the encrypted-at-rest holdout.
- ``read``: file formats and whole-table reads (predictions files), the task and label rules.
- ``read_chunks``: the holdout in chunks, hashed as it is parsed.
- ``survey``: the checks every evaluation runs before any model does.

Grouped rows (``data.group_column``) are checked in ``survey`` beside the id column.
"""

from .read import Holdout, infer_task, resolve_positive_label, table_format
from .survey import Survey, survey

__all__ = ["Holdout", "Survey", "infer_task", "resolve_positive_label", "survey", "table_format"]
