"""``mlgate demo``: a complete example workspace built from data bundled with scikit-learn.

The workspace is a real one — policy, holdout, train script, a skops candidate and a file
registry — so the demo exercises exactly the code path of ``mlgate evaluate`` and is a valid
``GITHUB_WORKSPACE`` for ``mlgate action``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import demo_train
from .errors import InputError
from .registry.file import FileRegistry

SCENARIOS = ("better", "worse", "first")

POLICY = """\
# mlgate policy for the demo: may the candidate replace production?
version: 1
task: classification
data:
  holdout: data/holdout.csv
  target: malignant
  positive_label: 1
  slices: [tumour_size]
candidate:
  path: build/model.skops
  # or retrain in CI:
  # train: {command: "python train.py --scenario better --out {output}", output: build/model.skops}
production:
  registry: models/registry
  alias: production
gates:
  - {metric: roc_auc, rule: non_inferior, margin: 0.01}
  - {metric: accuracy, rule: min, threshold: 0.90}
  - {metric: f1, rule: non_inferior, margin: 0.02}
  - {metric: log_loss, rule: non_inferior, margin: 0.02}
  - {metric: recall, rule: slice_max_drop, max_drop: 0.05, min_support: 50}
  # The candidate reads 30 measurements instead of 4: 5-10x the predict time per row (both
  # are tiny, so the ratio moves with the machine's load), which this team accepts up to 25x.
  - {metric: latency_ms_per_1k, rule: max_ratio, threshold: 25}
  - {metric: model_size_mb, rule: max, threshold: 50}
stats: {alpha: 0.05, bootstrap: {resamples: 10000, seed: 0}}
"""


def build(out: Path, scenario: str) -> Path:
    """Write the demo workspace into ``out`` (which must be empty or absent); return it."""
    if scenario not in SCENARIOS:
        raise InputError(f"--scenario: expected one of {', '.join(SCENARIOS)}, got {scenario!r}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--out: {out} exists and is not empty; choose a new directory")
    import skops.io as sio

    out.mkdir(parents=True, exist_ok=True)
    (out / ".github").mkdir()
    (out / ".github" / "mlgate.yml").write_text(POLICY, encoding="utf-8")
    train, holdout = demo_train.dataset()
    (out / "data").mkdir()
    holdout.to_csv(out / "data" / "holdout.csv", index=False)
    shutil.copyfile(demo_train.__file__, out / "train.py")

    (out / "build").mkdir()
    kind = "better" if scenario == "first" else scenario
    sio.dump(demo_train.fit(kind, train), out / "build" / "model.skops")

    registry = FileRegistry(out / "models" / "registry", label="models/registry", create=True)
    if scenario != "first":
        with tempfile.TemporaryDirectory() as tmp:
            production = Path(tmp) / "model.skops"
            sio.dump(demo_train.fit("production", train), production)
            registry.promote(production, source="demo: train.py --scenario production", by="mlgate-demo",
                         reason="initial production model", alias="production")
    return out
