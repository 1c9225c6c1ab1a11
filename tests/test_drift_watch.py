"""The drift watch end to end on the demo workspace: a real holdout as the reference, the real
production model from the file registry, and windows of production inputs written as files."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.action.cli import main
from mlgate.gates.config.parse import load_policy
from mlgate.gates.demo import build
from mlgate.gates.drift.watch import watch_drift
from mlgate.gates.errors import InputError

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
DRIFT = """
drift:
  current: {path: logs/features/*.csv, time_column: ts, window: 7d}
  max_drop: 0.05
  resamples: 400
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build(tmp_path_factory.mktemp("drift") / "demo", "better")


@pytest.fixture
def ws(tmp_path, demo):
    import shutil

    root = Path(shutil.copytree(demo, tmp_path / "ws"))
    policy = root / ".github" / "mlgate.yml"
    policy.write_text(policy.read_text() + DRIFT)
    (root / "logs" / "features").mkdir(parents=True)
    return root


def window(ws: Path, *, rows: int = 2000, seed: int = 0, days_ago: float = 2.0, labels: bool = False,
           change=None, name: str = "w.csv") -> pd.DataFrame:
    """``rows`` production requests drawn from the holdout's rows (the reference distribution)."""
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    rng = np.random.default_rng(seed)
    frame = holdout.iloc[rng.integers(0, len(holdout), rows)].reset_index(drop=True)
    if not labels:
        frame = frame.drop(columns=["malignant"])
    frame["ts"] = [(pd.Timestamp(NOW) - pd.Timedelta(days=days_ago) + pd.Timedelta(seconds=i)).isoformat()
                   for i in range(rows)]
    if change is not None:
        frame = change(frame)
    frame.to_csv(ws / "logs" / "features" / name, index=False)
    return frame


def watch(ws: Path):
    return watch_drift(load_policy(ws / ".github" / "mlgate.yml"), ws, now=NOW)


def cli(ws: Path) -> tuple[int, dict | None]:
    with pytest.raises(SystemExit) as exit_:
        main(["drift", "--workspace", str(ws), "--out", str(ws / "out"), "--now", NOW.isoformat(), "--quiet"])
    path = ws / "out" / "drift.json"
    return exit_.value.code, json.loads(path.read_text()) if path.exists() else None


def test_a_window_from_the_reference_distribution_shows_no_drift(ws):
    window(ws)
    code, data = cli(ws)
    assert code == 0 and data["drift"] is False
    names = {f["name"] for f in data["features"]}
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    assert names == set(holdout.columns) - {"malignant"}  # every column but the target
    assert data["prediction"]["kind"] == "numeric" and data["prediction"]["drifted"] is False
    # The basic bootstrap corrects the plug-in distance's upward bias, so with no drift an
    # interval may sit below the point estimate; it never reaches the threshold.
    assert all(0 <= f["interval"][0] <= f["interval"][1] and f["interval"][0] < f["threshold"] for f in data["features"])
    assert (ws / "out" / "drift.md").read_text().startswith("<!-- mlgate:drift -->")
    assert "<svg" in (ws / "out" / "drift.html").read_text()


def test_a_shift_in_one_feature_is_found_and_named(ws):
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    column = "mean radius" if "mean radius" in holdout.columns else holdout.columns[0]
    sd = holdout[column].std()
    window(ws, change=lambda f: f.assign(**{column: f[column] + 1.0 * sd}))
    code, data = cli(ws)
    assert code == 1 and data["drift"] is True
    flagged = [f["name"] for f in data["features"] if f["drifted"]]
    assert flagged == [column] and data["features"][0]["name"] == column  # worst first
    assert data["features"][0]["interval"][0] > 0.1
    from scipy.stats import wasserstein_distance

    current = pd.read_csv(ws / "logs" / "features" / "w.csv")
    exact = wasserstein_distance(holdout[column], current[column]) / holdout[column].std(ddof=0)
    assert data["features"][0]["distance"] == pytest.approx(exact, rel=0.02)


def test_a_column_whose_type_changed_is_drift_not_a_crash(ws):
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    column = [c for c in holdout.columns if c != "malignant" and pd.api.types.is_numeric_dtype(holdout[c])][1]
    window(ws, change=lambda f: f.assign(**{column: np.where(np.arange(len(f)) % 2 == 0, "unknown", f[column])}))
    result = watch(ws)
    changed = [f for f in result.features if f.kind == "type changed"]
    assert result.drift and [f.name for f in changed] == [column] and "'unknown'" in changed[0].note
    assert "1,000 of 2,000 values are not numbers" in changed[0].note
    # The model cannot read text either: that is an alarm of its own, never a quiet note.
    assert any("the production model could not score the window" in r for r in result.reasons)


def test_a_column_with_no_values_in_the_window_is_drift(ws):
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    column = [c for c in holdout.columns if c != "malignant" and pd.api.types.is_numeric_dtype(holdout[c])][3]
    window(ws, change=lambda f: f.assign(**{column: "n/a"}))  # read as missing values
    result = watch(ws)
    [gone] = [f for f in result.features if f.kind == "all missing"]
    assert gone.name == column and gone.drifted and "no values in the window (2,000 missing)" in gone.note


def test_missing_features_and_an_empty_window_are_exit_2(ws):
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    column = holdout.columns[2]
    window(ws, change=lambda f: f.drop(columns=[column]))
    code, _ = cli(ws)
    assert code == 2
    with pytest.raises(InputError, match=f"feature column.*{column}.*missing from the current data"):
        watch(ws)
    window(ws, days_ago=30)  # every row older than the 7-day window
    with pytest.raises(InputError, match="no rows in the last 7d before 2026-12-01"):
        watch(ws)


def test_labels_in_the_window_check_the_production_models_metrics(ws):
    flipped = lambda f: f.assign(malignant=np.where(np.arange(len(f)) % 3 == 0, 1 - f["malignant"], f["malignant"]))  # noqa: E731
    window(ws, labels=True, change=flipped)
    result = watch(ws)
    perf = {p.metric: p for p in result.performance}
    assert set(perf) == {"accuracy", "log_loss"}
    acc = perf["accuracy"]
    assert acc.drop > 0.2 and acc.drifted and acc.interval[0] > 0.05
    assert result.drift and any("accuracy dropped" in r for r in result.reasons)


def test_labels_from_the_same_distribution_show_no_performance_drift(ws):
    window(ws, labels=True)
    result = watch(ws)
    assert result.performance and not any(p.drifted for p in result.performance)


def test_chunks_of_any_size_give_the_same_numbers(ws, monkeypatch):
    """Windows larger than memory stream: sketches merge exactly (counts bit for bit; sums up to
    the order of addition), so 37-row chunks give what one chunk gives."""
    from mlgate.gates.drift import window as window_module

    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    column = holdout.columns[0]
    window(ws, change=lambda f: f.assign(**{column: f[column] * 1.1}))
    whole = watch(ws)
    monkeypatch.setattr(window_module, "CHUNK_ROWS", 37)
    chunked = watch(ws)
    assert [(f.name, f.drifted) for f in chunked.features] == [(f.name, f.drifted) for f in whole.features]
    for a, b in zip(chunked.features + (chunked.prediction,), whole.features + (whole.prediction,)):
        assert a.distance.distance == pytest.approx(b.distance.distance, rel=1e-12)
        assert a.distance.interval == pytest.approx(b.distance.interval, rel=1e-12)
        assert a.distance.p_value == b.distance.p_value


def test_the_window_from_a_sqlite_table(ws):
    import sqlalchemy as sa

    frame = window(ws, name="unused.csv")
    (ws / "logs" / "features" / "unused.csv").unlink()
    engine = sa.create_engine(f"sqlite:///{ws / 'live.db'}")
    with engine.begin() as conn:
        frame.to_sql("features", conn, index=False)
    engine.dispose()
    policy = ws / ".github" / "mlgate.yml"
    policy.write_text(policy.read_text().replace("{path: logs/features/*.csv, time_column: ts, window: 7d}",
                                                 "{url: 'sqlite:///live.db', table: features, time_column: ts, window: 7d}"))
    result = watch(ws)
    assert not result.drift and result.current["rows"] == len(frame)
    assert result.current["source"] == "table features at sqlite:///live.db: 2,000 rows"


def test_the_action_runs_the_watch_on_schedule(ws, tmp_path, monkeypatch):
    """``command: drift`` on schedule: drift.json, the job summary and the ``verdict`` output."""
    from memory_forge import MemoryForge
    from mlgate.action.runner import run
    from mlgate.action.settings import from_environment

    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    column = holdout.columns[0]
    recent = datetime.now(timezone.utc)
    frame = window(ws, change=lambda f: f.assign(**{column: f[column] + 2 * holdout[column].std()}))
    frame["ts"] = [(pd.Timestamp(recent) - pd.Timedelta(hours=1) + pd.Timedelta(seconds=i)).isoformat()
                   for i in range(len(frame))]
    frame.to_csv(ws / "logs" / "features" / "w.csv", index=False)
    monkeypatch.setenv("MLGATE_SUPERVISED", "1")
    files = {n: tmp_path / n for n in ("event.json", "output", "summary")}
    files["event.json"].write_text(json.dumps({"schedule": "17 5 * * *"}))
    for n in ("output", "summary"):
        files[n].write_text("")
    env = {"GITHUB_REPOSITORY": "octo/models", "GITHUB_EVENT_NAME": "schedule", "GITHUB_EVENT_PATH": str(files["event.json"]),
           "GITHUB_WORKSPACE": str(ws), "GITHUB_OUTPUT": str(files["output"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
           "INPUT_GITHUB_TOKEN": "ghs_x", "INPUT_COMMAND": "drift"}
    code = run(from_environment(env), lambda s: MemoryForge(repository="octo/models"), log=lambda line: None)
    outputs = files["output"].read_text()
    assert code == 1 and "verdict=drift" in outputs
    assert "mlgate drift: 🔶 **drift**" in files["summary"].read_text()
    data = json.loads((ws / "mlgate-drift" / "drift.json").read_text())
    assert data["drift"] and data["features"][0]["name"] == column


# ------------------------------------------------------------------ what a cold attack found


def test_one_missing_value_does_not_switch_off_the_performance_check(ws):
    """Rows the model cannot score (a gap in an input) are left out and counted; the rest are
    still checked, so a collapse in accuracy is still found."""
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    column = holdout.columns[1]

    def flipped_with_a_gap(f):
        f = f.assign(malignant=np.where(np.arange(len(f)) % 3 == 0, 1 - f["malignant"], f["malignant"]))
        f.loc[7, column] = np.nan
        return f

    window(ws, labels=True, change=flipped_with_a_gap)
    result = watch(ws)
    assert result.drift and any("accuracy dropped" in r for r in result.reasons)
    assert any("1 window rows with a missing model input were not scored" in n for n in result.notes)


def test_a_spread_inside_one_reference_bin_is_seen(ws):
    """A 0/1 reference column binned by its two values is blind to a spread around them unless the
    window's own values place edges too."""
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    ws_policy = ws / ".github" / "mlgate.yml"
    flag = (holdout[holdout.columns[0]] > holdout[holdout.columns[0]].median()).astype(int)
    holdout.assign(flag=flag).to_csv(ws / "data" / "holdout.csv", index=False)
    rng = np.random.default_rng(1)
    window(ws, change=lambda f: f.assign(flag=rng.integers(0, 2, len(f)) + rng.uniform(-0.45, 0.45, len(f))))
    ws_policy.write_text(ws_policy.read_text())
    result = watch(ws)
    flagged = {f.name: f for f in result.features}
    assert flagged["flag"].drifted and flagged["flag"].distance.distance > 0.3


def test_a_change_in_the_share_of_missing_values_is_drift(ws):
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    column = holdout.columns[4]
    window(ws, change=lambda f: f.assign(**{column: np.where(np.arange(len(f)) % 2 == 0, np.nan, f[column])}))
    result = watch(ws)
    shares = [f for f in result.features if f.kind == "missing share"]
    assert [f.name for f in shares if f.drifted] == [column]
    assert shares[0].distance.distance == pytest.approx(0.5)


def test_stray_values_do_not_stop_or_force_the_watch(ws):
    """An infinite cell, a time that is not a time and one non-number are counted, not fatal;
    none of them alone is drift."""
    holdout = pd.read_csv(ws / "data" / "holdout.csv")
    a, b = holdout.columns[5], holdout.columns[6]

    def strays(f):
        f = f.astype({a: object, b: object})
        f.loc[3, a] = "1e400"  # parsed as inf
        f.loc[4, b] = "?"
        f.loc[5, "ts"] = "garbage"
        return f

    window(ws, change=strays)
    result = watch(ws)
    assert not result.drift, result.reasons
    assert any("1 rows with a time that is not a time" in n for n in result.notes)
    assert any(n.startswith(f"{b}: 1 of 1,999 values are not numbers") for n in result.notes)
