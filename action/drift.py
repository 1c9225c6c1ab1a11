"""The drift watch in a workflow: ``command: drift`` on ``schedule`` or ``workflow_dispatch``.

Reads the window and the reference, loads only the registry's production model (skops, the
policy's allowlist), writes ``mlgate-drift/`` and the job summary, and sets the ``verdict``
output (``drift`` or ``none``). ``command: retrain`` runs the same watch first and acts on it.
"""

from __future__ import annotations

import os

from ..gates.drift.report import render_markdown, write_drift_outputs
from ..gates.drift.watch import watch_drift
from ..gates.errors import ConfigError

from .publish import Publication
from .registries import production_registry
from .settings import Settings
from .trust import workspace_policy

DRIFT_DIR = "mlgate-drift"


def drift_job(settings: Settings, pub: Publication) -> int:
    from .. import __version__

    policy = workspace_policy(settings)
    out = settings.workspace / DRIFT_DIR
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ConfigError(f"{DRIFT_DIR}: is a symbolic link or not a directory; mlgate writes only into a real "
                          "directory of the workspace")
    registry = production_registry(policy, settings.workspace, settings)
    result = watch_drift(policy, settings.workspace, registry=registry, env=dict(os.environ))
    written = write_drift_outputs(result, out, mlgate_version=__version__)
    pub.summary.append(render_markdown(result))
    pub.outputs.update(verdict="drift" if result.drift else "none", report_path=str(written["drift.md"]),
                       result_path=str(written["drift.json"]))
    pub.say(f"mlgate: {'drift' if result.drift else 'no drift'}: {result.reasons[0]}")
    return 1 if result.drift and settings.fail_on_block else 0
