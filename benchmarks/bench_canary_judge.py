"""The canary judge's time and memory on a large prediction log, against the floor.

    python benchmarks/bench_canary_judge.py [--rows 10000000] [--mode shadow|split]

Writes a Parquet log of ``--rows`` rows (shadow: rows/2 requests, each scored by production
and the canary; split: one row per request), with labels on 80 % of requests, into a temporary
workspace with a file registry, then runs ``mlgate canary`` end to end in a fresh process
(read, check, pair, two gates' confidence sequences, the guardrail, canary.json/canary.md).
The floor is what no judge can skip: reading the same columns of the same file with pyarrow
and turning them into pandas. Peak memory is each process's maximum resident set size.

Not a test: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import subprocess
import sys
import tempfile
import time

import numpy as np

FLOOR = """
import sys, time, resource
import pyarrow.parquet as pq
t = time.perf_counter()
frame = pq.read_table(sys.argv[1], columns=["request_id", "model_version", "ts", "prediction", "score", "label"]).to_pandas()
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

JUDGE = """
import sys, time, resource
from mlgate.action.cli import main
t = time.perf_counter()
try:
    main(["canary", "--workspace", sys.argv[1], "--out", sys.argv[2], "--quiet", "--now", "2026-12-01T00:00:00Z"])
except SystemExit as e:
    code = e.code
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, code)
"""

POLICY = """\
version: 1
data: {holdout: data/holdout.csv, target: y}
gates: [{metric: accuracy, rule: min, threshold: 0.5}]
production: {registry: models/registry}
canary:
  log: logs/log.parquet
  mode: %s
  gates:
    - {metric: log_loss, rule: non_inferior, margin: 0.01}
    - {metric: accuracy, rule: non_inferior, margin: 0.01}
  min_rows: 1000
  max_rows: 100000000
  max_days: 30
%s"""


def write_workspace(root: Path, rows: int, mode: str) -> Path:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlgate.gates.registry.file import FileRegistry

    (root / ".github").mkdir(parents=True)
    guard = "  guardrails: {disagreement: 0.3}\n" if mode == "shadow" else ""
    (root / ".github" / "mlgate.yml").write_text(POLICY % (mode, guard))
    registry = FileRegistry(root / "models" / "registry", create=True)
    for name, alias in (("production", "production"), ("candidate", "canary")):
        (root / f"{name}.bin").write_bytes(name.encode())
        registry.promote(root / f"{name}.bin", source=name, by="bench", alias=alias)
    rng = np.random.default_rng(0)
    requests = rows // 2 if mode == "shadow" else rows
    y = rng.integers(0, 2, requests)
    start = pd.Timestamp("2026-11-20T00:00:00Z").value
    times = pd.to_datetime(start + np.arange(requests) * 100_000_000, utc=True)  # 0.1 s apart
    labelled = rng.random(requests) < 0.8
    label = pd.array(np.where(labelled, y, 0), dtype="Int64")
    label[~labelled] = pd.NA
    ids = pd.array(np.char.add("r", np.arange(requests).astype(str)), dtype="string")

    def scores(noise):
        return np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, noise, requests), 0.001, 0.999)

    (root / "logs").mkdir()
    if mode == "shadow":
        parts = []
        for version, noise in ((1, 0.25), (2, 0.26)):
            s = scores(noise)
            parts.append(pd.DataFrame({"request_id": ids, "model_version": version, "ts": times,
                                       "prediction": (s >= 0.5).astype("int64"), "score": s, "label": label}))
        frame = pd.concat(parts, ignore_index=True)
    else:
        s = scores(0.25)
        frame = pd.DataFrame({"request_id": ids, "model_version": np.where(rng.random(requests) < 0.5, 2, 1),
                              "ts": times, "prediction": (s >= 0.5).astype("int64"), "score": s, "label": label})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), root / "logs" / "log.parquet",
                   row_group_size=1_000_000)
    return root


def run(code: str, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if done.returncode not in (0,):
        raise SystemExit(done.stderr)
    return done.stdout.strip().splitlines()[-1].split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--mode", choices=("shadow", "split"), default="shadow")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ws = write_workspace(Path(tmp) / "ws", args.rows, args.mode)
        size = (ws / "logs" / "log.parquet").stat().st_size / 2**20
        print(f"{args.rows:,}-row {args.mode} log written ({size:,.0f} MiB Parquet) in {time.perf_counter() - t:.1f} s")
        floor_s, floor_mb = map(float, run(FLOOR, str(ws / "logs" / "log.parquet")))
        judge_s, judge_mb, code = run(JUDGE, str(ws), str(ws / "out"))
        judge_s, judge_mb = float(judge_s), float(judge_mb)
        data = json.loads((ws / "out" / "canary.json").read_text())
    print(f"{'':28}{'seconds':>10}{'peak MiB':>10}")
    print(f"{'floor: pyarrow read':28}{floor_s:>10.2f}{floor_mb:>10.0f}")
    print(f"{'mlgate canary':28}{judge_s:>10.2f}{judge_mb:>10.0f}")
    print(f"{'ratio':28}{judge_s / floor_s:>10.2f}{judge_mb / floor_mb:>10.2f}")
    print(f"verdict {data['verdict']} (exit {code}) on {data['labelled']:,} judged units; "
          + "; ".join(f"{g['name']}: Δ {g['estimate']:.4f} [{g['lower']:.4f}, {g['upper']:.4f}]" for g in data["gates"]))


if __name__ == "__main__":
    main()
