"""The Dask engine on a real ``distributed.LocalCluster`` (two worker processes): the same
result as the local engine, clear failures, and a worker killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from test_engine import STREAM_GATES, _same_numbers
from test_model_formats import features, fit_sklearn, tasks, to_onnx_bytes, write_policy  # noqa: F401 (tasks: a fixture)

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as c:
        with distributed.Client(c.scheduler_address, set_as_default=False) as client:
            yield c.scheduler_address, client


def _run(run, ws, out, *extra):
    r = run("evaluate", "--workspace", ws.root, "--out", out, "--quiet", *extra)
    return r


def _result(run, ws, out, *extra):
    r = _run(run, ws, out, *extra)
    assert r.code in (0, 1), r.err
    return json.loads((out / "result.json").read_text())


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_dask_engine_gives_the_local_engines_result(cluster, cancer_workspace, cancer, run_cli, tmp_path, fmt):
    address, _ = cluster
    _, test = cancer
    cancer_workspace.table("data/holdout.parquet", test)
    policy = STREAM_GATES.replace("holdout.csv", f"holdout.{fmt}")
    cancer_workspace.policy(policy)
    local = _result(run_cli, cancer_workspace, tmp_path / "local")
    on_dask = _result(run_cli, cancer_workspace, tmp_path / "dask", "--engine", "dask", "--scheduler", address)
    assert (local["engine"], on_dask["engine"]) == ("local", "dask")
    _same_numbers(local, on_dask)
    # against the streaming local engine everything but the loss moments' rounding is bit-equal
    cancer_workspace.policy(policy + "engine: {chunk_rows: 64}\n")
    streamed = _result(run_cli, cancer_workspace, tmp_path / "streamed")
    for a, b in zip(streamed["gates"], on_dask["gates"]):
        if a["metric"] != "log_loss":
            assert a == b
    assert streamed["curves"] == on_dask["curves"] and streamed["data"] == on_dask["data"]


def test_an_onnx_model_on_dask_workers_gives_the_local_result(cluster, tasks, workspace, run_cli, tmp_path):
    """Workers load the graph from the bytes the client read, through the same dispatch."""
    address, _ = cluster
    train, holdout, target = tasks["binary"]
    model = fit_sklearn("logistic", train, target)
    workspace.table("data/holdout.csv", holdout)
    workspace.write("build/model.onnx", to_onnx_bytes(model, features(train, target), per_column=True))
    workspace.model("build/production.skops", fit_sklearn("forest", train, target))
    write_policy(workspace, "binary", ".onnx", "{path: build/production.skops}", "engine: {chunk_rows: 100}\n")
    local = _result(run_cli, workspace, tmp_path / "local")
    on_dask = _result(run_cli, workspace, tmp_path / "dask", "--engine", "dask", "--scheduler", address)
    assert on_dask["engine"] == "dask" and on_dask["candidate"]["sha256"] == local["candidate"]["sha256"]
    _same_numbers(local, on_dask)


def test_dask_engine_from_the_policy_and_its_failures(cluster, cancer_workspace, run_cli, tmp_path, monkeypatch):
    address, _ = cluster
    cancer_workspace.policy(STREAM_GATES + f"engine: {{kind: dask, scheduler: '{address}', chunk_rows: 100}}\n")
    assert _result(run_cli, cancer_workspace, tmp_path / "a")["engine"] == "dask"
    # --engine local overrides the policy's engine
    assert _result(run_cli, cancer_workspace, tmp_path / "b", "--engine", "local")["engine"] == "local"

    cancer_workspace.policy(STREAM_GATES)
    r = _run(run_cli, cancer_workspace, tmp_path / "c", "--engine", "dask")
    assert r.code == 2 and "needs a scheduler address" in r.err

    import mlgate.gates.engine.dask

    monkeypatch.setattr(mlgate.gates.engine.dask, "CONNECT_TIMEOUT_S", 1)
    r = _run(run_cli, cancer_workspace, tmp_path / "d", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert r.code == 3 and "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in r.err
    assert len(r.err.strip().splitlines()) == 1

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    r = _run(run_cli, cancer_workspace, tmp_path / "e", "--engine", "dask", "--scheduler", address)
    assert r.code == 2 and "pip install 'mlgate[dask]'" in r.err


def test_worker_killed_mid_run_is_retried_or_fails_with_exit_3(cluster, workspace, run_cli, tmp_path):
    address, client = cluster
    rng = np.random.default_rng(0)
    n = 400_000
    X = rng.normal(size=(n, 5))
    y = (X @ np.array([1.0, -0.5, 0.25, 0.0, 0.8]) + rng.logistic(size=n) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(label=y)
    path = workspace.root / "data" / "holdout.parquet"
    path.parent.mkdir(parents=True)
    frame.to_parquet(path, index=False, row_group_size=10_000)  # 40 partitions
    head = frame.iloc[:5000]
    workspace.model("build/cand.skops", LogisticRegression().fit(head[["x0", "x1", "x2", "x3", "x4"]], head["label"]))
    workspace.model("build/prod.skops", LogisticRegression().fit(head[["x0", "x1", "x2"]], head["label"]))
    workspace.policy("""\
version: 1
data: {holdout: data/holdout.parquet, target: label}
candidate: {path: build/cand.skops}
production: {path: build/prod.skops}
gates:
  - {metric: roc_auc, rule: non_inferior, margin: 0.01}
  - {metric: accuracy, rule: superior}
engine: {chunk_rows: 10000}
""")
    expected = _result(run_cli, workspace, tmp_path / "local")

    pids = client.run(os.getpid)
    killed = []

    def killer():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if any("score_partition" in str(k) for k in keys)]
            if busy and busy[0] in pids:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.005)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    r = _run(run_cli, workspace, tmp_path / "dask", "--engine", "dask", "--scheduler", address)
    thread.join(timeout=30)
    assert killed, "the test never saw a partition being scored"
    if r.code == 3:
        assert "Dask engine" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    else:
        assert r.code in (0, 1), r.err
        got = json.loads((tmp_path / "dask" / "result.json").read_text())
        _same_numbers(expected, got)
    client.wait_for_workers(2, timeout=60)


def test_dask_merges_groups_split_across_partitions(cluster, workspace, run_cli, tmp_path):
    """A group's rows scattered over partitions: per-group statistics merged on the client."""
    from sklearn.linear_model import LogisticRegression
    from test_grouped_rows import _setup, grouped_frame

    train = grouped_frame(200, 5, seed=11)
    models = (LogisticRegression(max_iter=1000).fit(train[["x0", "x1", "x2"]], train["label"]),
              LogisticRegression(max_iter=1000).fit(train[["x0", "x1"]], train["label"]))
    holdout = grouped_frame(60, 8, seed=12).sample(frac=1.0, random_state=1)
    _setup(workspace, models, holdout, engine="engine: {chunk_rows: 100}\n")
    address, _ = cluster
    local = _result(run_cli, workspace, tmp_path / "local")
    on_dask = _result(run_cli, workspace, tmp_path / "dask", "--engine", "dask", "--scheduler", address)
    assert local["groups"]["count"] == on_dask["groups"]["count"] == 60
    for a, b in zip(local["gates"], on_dask["gates"]):
        assert b["groups"]["count"] == 60
        for key in ("estimate", "p_value"):
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), (a["metric"], key)
        assert b["confidence_interval"] == pytest.approx(a["confidence_interval"], rel=1e-9, abs=1e-12)
