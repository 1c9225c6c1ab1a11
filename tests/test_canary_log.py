"""The canary's prediction log and late labels, read from real files and real databases.

Files are written by the tests (CSV, gzipped CSV, Parquet, JSON lines, a glob of two); the
databases are a SQLite file and a real PostgreSQL server (``postgres_server``). Every bad input
is pinned by its exception class and by a message naming the source, the column and the row.
"""

from __future__ import annotations

import gzip
import socket
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from mlgate.gates.canary.log import PredictionLog, read_log
from mlgate.gates.config import parse_policy
from mlgate.gates.errors import ConfigError, InfrastructureError, InputError

# A shadow log: requests a, b, c scored by versions 1 and 2, one row of version 7 (ignored).
LOG = pd.DataFrame({
    "request_id": ["a", "a", "b", "b", "c", "c", "z"],
    "model_version": [1, 2, 1, 2, 1, 2, 7],
    "ts": ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01T11:00:00+02:00",
           "2024-05-01T09:00:00", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z", "2024-05-01T00:00:00Z"],
    "prediction": [1, 0, 0, 0, 1, 1, 1],
    "score": [0.9, 0.2, 0.1, 0.3, 0.8, 0.6, 0.5],
    "label": [1, 1, None, None, 0, 0, None],
})


def canary(log, *, labels=None, mode="shadow", columns=None):
    """The policy's canary section, parsed as a user's policy would be."""
    section = {"log": log, "mode": mode, "gates": [{"metric": "accuracy", "rule": "non_inferior", "margin": 0.01}]}
    if labels is not None:
        section["labels"] = labels
    if columns is not None:
        section["columns"] = columns
    text = yaml.safe_dump({"version": 1, "data": {"holdout": "data/holdout.csv", "target": "label"},
                           "gates": [{"metric": "accuracy", "rule": "min", "threshold": 0.5}], "canary": section})
    return parse_policy(text, "mlgate.yml").canary


def write(root, rel, frame: pd.DataFrame):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if rel.endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False)
    elif rel.endswith((".jsonl", ".ndjson")):
        frame.to_json(path, orient="records", lines=True)
    elif rel.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            frame.to_csv(fh, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def read(root, log, versions=(1, 2), **kw) -> PredictionLog:
    env = kw.pop("env", None)
    return read_log(canary(log, **kw), root, versions=versions, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- files


def test_a_csv_log_becomes_one_checked_frame_in_time_order(tmp_path):
    write(tmp_path, "logs/p.csv", LOG)
    log = read(tmp_path, "logs/p.csv")
    f = log.frame
    assert list(f.columns) == ["request_id", "model", "time", "prediction", "score", "label", "where"]
    assert str(f["model"].dtype) == "int64" and str(f["time"].dtype) == "datetime64[ns, UTC]"
    assert str(f["score"].dtype) == "float64" and f["label"].dtype == object
    # b's 11:00+02:00 is 09:00 UTC, and a naive time is UTC: b sorts first, then a, then c.
    assert f["request_id"].tolist() == ["b", "b", "a", "a", "c", "c"]
    assert f["model"].tolist() == [1, 2, 1, 2, 1, 2]
    assert f["time"].iloc[0] == pd.Timestamp("2024-05-01T09:00:00Z")
    assert f["where"].tolist()[:3] == ["logs/p.csv line 4", "logs/p.csv line 5", "logs/p.csv line 2"]
    assert f["label"].tolist() == [None, None, 1, 1, 0, 0]
    assert log.has_score and log.ignored_rows == 1
    assert log.sources == ("logs/p.csv: 1 file, 7 rows",)


@pytest.mark.parametrize("name, where", [("p.csv.gz", "logs/p.csv.gz line 2"), ("p.parquet", "logs/p.parquet row 1"),
                                         ("p.pq", "logs/p.pq row 1"), ("p.jsonl", "logs/p.jsonl line 1"),
                                         ("p.ndjson", "logs/p.ndjson line 1")])
def test_every_format_reads_to_the_same_frame(tmp_path, name, where):
    write(tmp_path, "csv/p.csv", LOG)
    write(tmp_path, f"logs/{name}", LOG)
    expected, got = read(tmp_path, "csv/p.csv").frame, read(tmp_path, f"logs/{name}").frame
    pd.testing.assert_frame_equal(got.drop(columns="where"), expected.drop(columns="where"))
    assert got.loc[(got["request_id"] == "a") & (got["model"] == 1), "where"].item() == where


def test_a_glob_reads_every_file_in_sorted_order_and_names_each_row_by_file(tmp_path):
    write(tmp_path, "logs/day2.csv", LOG.iloc[4:])
    write(tmp_path, "logs/day1.csv", LOG.iloc[:4])
    log = read(tmp_path, "logs/day*.csv")
    assert log.sources == ("logs/day*.csv: 2 files, 7 rows",)
    assert log.frame["where"].tolist() == ["logs/day1.csv line 4", "logs/day1.csv line 5", "logs/day1.csv line 2",
                                           "logs/day1.csv line 3", "logs/day2.csv line 2", "logs/day2.csv line 3"]


def test_lines_are_the_file_lines_even_with_blank_lines_and_quoted_line_breaks(tmp_path):
    (tmp_path / "p.csv").write_text('request_id,model_version,ts,prediction\n\n"a\nb",1,2024-05-01,x\n'
                                    "c,1,2024-05-02,y\n")
    assert read(tmp_path, "p.csv").frame["where"].tolist() == ["p.csv line 3", "p.csv line 5"]
    (tmp_path / "p.jsonl").write_text('{"request_id": "a", "model_version": 1, "ts": 0, "prediction": 1}\n\n'
                                      '{"request_id": "b", "model_version": 1, "ts": 1, "prediction": 1}\n')
    assert read(tmp_path, "p.jsonl").frame["where"].tolist() == ["p.jsonl line 1", "p.jsonl line 3"]


def test_score_and_label_columns_are_optional(tmp_path):
    write(tmp_path, "p.parquet", LOG.drop(columns=["score", "label"]))
    log = read(tmp_path, "p.parquet")
    assert not log.has_score and log.frame["score"].isna().all() and log.frame["label"].isna().all()


def test_times_as_unix_seconds_naive_and_offset_text_are_utc(tmp_path):
    frame = LOG.iloc[:4].assign(ts=[1714557600, 1714557600.5, 1714561200, 1714561200])
    write(tmp_path, "s.parquet", frame)
    times = read(tmp_path, "s.parquet").frame["time"]
    assert times.iloc[0] == pd.Timestamp("2024-05-01T10:00:00Z")
    assert times.iloc[1] == pd.Timestamp("2024-05-01T10:00:00.5Z")
    mixed = LOG.iloc[:4].assign(ts=["2024-05-01 10:00", 1714557600, "2024-05-01T13:00:00+03:00", "2024-05-01"])
    write(tmp_path, "m.jsonl", mixed)
    assert read(tmp_path, "m.jsonl").frame["time"].tolist() == [pd.Timestamp(t) for t in (
        "2024-05-01T00:00Z", "2024-05-01T10:00Z", "2024-05-01T10:00Z", "2024-05-01T10:00Z")]


def test_columns_are_named_by_the_policy_and_split_mode_keeps_one_row_per_request(tmp_path):
    frame = LOG.iloc[[0, 3, 4]].rename(columns={"request_id": "rid", "model_version": "v", "ts": "at"})
    write(tmp_path, "p.csv", frame)
    log = read(tmp_path, "p.csv", mode="split", columns={"request_id": "rid", "model": "v", "time": "at"})
    assert log.frame["request_id"].tolist() == ["b", "a", "c"]


def test_a_label_source_labels_both_rows_of_a_shadow_pair(tmp_path):
    write(tmp_path, "p.csv", LOG)
    write(tmp_path, "late/labels.csv", pd.DataFrame({"request_id": ["b", "x"], "label": [1, 0]}))
    log = read(tmp_path, "p.csv", labels="late/labels.csv")
    assert log.frame.set_index(["request_id", "model"])["label"].to_dict() == {
        ("b", 1): 1, ("b", 2): 1, ("a", 1): 1, ("a", 2): 1, ("c", 1): 0, ("c", 2): 0}
    assert log.sources == ("p.csv: 1 file, 7 rows", "labels: late/labels.csv: 1 file, 2 rows")


def test_numbers_from_text_and_from_numbers_compare_equal(tmp_path):
    # The log's labels are text ("1"), the label source's numbers (1.0): the same label, no conflict.
    write(tmp_path, "p.jsonl", LOG.assign(label=["1", "1", None, None, "0", "0", None]))
    write(tmp_path, "labels.parquet", pd.DataFrame({"request_id": ["a", "b"], "label": [1.0, 0.0]}))
    f = read(tmp_path, "p.jsonl", labels="labels.parquet").frame
    assert f["label"].tolist() == [0, 0, 1, 1, 0, 0] and all(type(v) is int for v in f["label"])
    assert (f["prediction"] == f["label"]).tolist() == [True, True, True, False, False, False]
    # Text classes: a numeric label beside text predictions becomes text, 1.0 as "1".
    write(tmp_path, "t.csv", LOG.assign(prediction=["cat", "1", "dog", "cat", "1", "dog", "cat"],
                                        label=[1.0, 1.0, None, None, None, None, None]))
    f = read(tmp_path, "t.csv").frame
    assert f["label"].tolist()[2:4] == ["1", "1"] and f["prediction"].tolist()[2:4] == ["cat", "1"]


def test_reading_twice_gives_the_same_frame_and_an_appended_log_just_more_rows(tmp_path):
    write(tmp_path, "p.csv", LOG.iloc[:4])
    first = read(tmp_path, "p.csv").frame
    pd.testing.assert_frame_equal(read(tmp_path, "p.csv").frame, first)
    with open(tmp_path / "p.csv", "a") as fh:
        LOG.iloc[4:].to_csv(fh, header=False, index=False)
    second = read(tmp_path, "p.csv").frame
    assert len(second) == 6
    pd.testing.assert_frame_equal(second.iloc[:4], first)


# ----------------------------------------------------------------------------- bad inputs


def _log(changes: dict):
    """LOG with cells changed: {(row, column): value}."""
    frame = LOG.copy()
    for (row, column), value in changes.items():
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    return frame


BAD = [  # (name, log frame, read options, error class, message)
    ("missing column", LOG.drop(columns="ts"), {}, InputError,
     r"^canary\.log: p\.csv has no column 'ts' \(canary\.columns\.time\); its columns are \['request_id', "
     r"'model_version', 'prediction', 'score', 'label'\]$"),
    ("model not a version", _log({(3, "model_version"): "v2"}), {}, InputError,
     r"^canary\.log: column 'model_version' at p\.csv line 5 holds 'v2', not an integer model version$"),
    ("model a fraction", _log({(6, "model_version"): 1.5}), {}, InputError,
     r"^canary\.log: column 'model_version' at p\.csv line 8 holds '?1\.5'?, not an integer model version$"),
    ("time unparseable", _log({(2, "ts"): "yesterday"}), {}, InputError,
     r"^canary\.log: column 'ts' at p\.csv line 4 holds 'yesterday', not a time \(ISO 8601 text, or Unix seconds\)$"),
    ("request id empty", _log({(1, "request_id"): None}), {}, InputError,
     r"^canary\.log: column 'request_id' is empty at p\.csv line 3$"),
    ("score above one", _log({(4, "score"): 1.5}), {}, InputError,
     r"^canary\.log: column 'score' at p\.csv line 6 holds 1\.5, not a number in \[0, 1\]$"),
    ("score not a number", _log({(5, "score"): "high"}), {}, InputError,
     r"^canary\.log: column 'score' at p\.csv line 7 holds 'high', not a number in \[0, 1\]$"),
    ("shadow duplicate", _log({(4, "request_id"): "a"}), {}, InputError,
     r"^canary\.log: request 'a' of model 1 appears twice, at p\.csv line 2 and p\.csv line 6 \(column "
     r"'request_id'; in shadow mode each model scores a request once\)$"),
    ("split duplicate", LOG, {"mode": "split"}, InputError,
     r"^canary\.log: request 'a' appears twice, at p\.csv line 2 \(model 1\) and p\.csv line 3 \(model 2\) "
     r"\(column 'request_id'; in split mode one model serves each request\)$"),
]


@pytest.mark.parametrize("frame, options, error, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_bad_log_is_named_by_source_column_row_and_value(tmp_path, frame, options, error, message):
    write(tmp_path, "p.csv", frame)
    with pytest.raises(error, match=message):
        read(tmp_path, "p.csv", **options)


def test_rows_of_other_versions_are_not_checked_beyond_their_version(tmp_path):
    write(tmp_path, "p.csv", _log({(6, "ts"): "never", (6, "score"): 7}))
    assert read(tmp_path, "p.csv").ignored_rows == 1


def test_a_bad_label_source_is_named(tmp_path):
    write(tmp_path, "p.csv", LOG)
    write(tmp_path, "l.csv", pd.DataFrame({"request_id": ["a", "b", "a"], "label": [1, 0, 1]}))
    with pytest.raises(InputError, match=r"^canary\.labels: request 'a' appears twice, at l\.csv line 2 and "
                                         r"l\.csv line 4 \(column 'request_id'; one label per request\)$"):
        read(tmp_path, "p.csv", labels="l.csv")
    write(tmp_path, "l.csv", pd.DataFrame({"request_id": ["c"], "label": [1]}))
    with pytest.raises(InputError, match=r"^canary\.labels: request 'c' is labelled 1 at l\.csv line 2, but 0 in "
                                         r"canary\.log at p\.csv line 6 \(column 'label'\)$"):
        read(tmp_path, "p.csv", labels="l.csv")
    write(tmp_path, "l.csv", pd.DataFrame({"request_id": ["c"], "outcome": [1]}))
    with pytest.raises(InputError, match=r"^canary\.labels: l\.csv has no column 'label' \(canary\.columns\.label\)"):
        read(tmp_path, "p.csv", labels="l.csv")


def test_files_must_match_and_stay_in_the_workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(InputError, match=r"^canary\.log: no file matches 'logs/\*\.csv' in the workspace"):
        read(ws, "logs/*.csv")
    write(tmp_path, "outside.csv", LOG)
    (ws / "logs").mkdir()
    (ws / "logs" / "p.csv").symlink_to(tmp_path / "outside.csv")
    with pytest.raises(ConfigError, match=r"^canary\.log: 'logs/p\.csv' points outside the workspace"):
        read(ws, "logs/*.csv")
    with pytest.raises(ConfigError, match=r"^canary\.log: '\.\./\*\.csv' points outside the workspace"):
        read(ws, "../*.csv")
    write(ws, "logs/p.txt", LOG)
    with pytest.raises(InputError, match=r"^canary\.log: 'p\.txt' is not a log file mlgate reads"):
        read(ws, "logs/p.txt")
    (ws / "empty.csv").write_text("")
    with pytest.raises(InputError, match=r"^canary\.log: empty\.csv is empty"):
        read(ws, "empty.csv")


# ----------------------------------------------------------------------------- SQLite


def sqlite_log(tmp_path, frame=LOG, table="predictions"):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'logs.db'}")
    with engine.begin() as conn:
        frame.to_sql(table, conn, if_exists="replace", index=False)
    engine.dispose()


def test_a_sqlite_table_and_query_read_like_the_csv(tmp_path):
    write(tmp_path, "p.csv", LOG)
    sqlite_log(tmp_path)
    expected = read(tmp_path, "p.csv").frame.drop(columns="where")
    by_table = read(tmp_path, {"url": "sqlite:///logs.db", "table": "predictions"})  # relative: in the workspace
    pd.testing.assert_frame_equal(by_table.frame.drop(columns="where"), expected)
    assert by_table.frame["where"].iloc[0] == "table predictions, row 3"
    assert by_table.sources == ("table predictions at sqlite:///logs.db: 7 rows",)  # as the policy wrote it
    query = "SELECT * FROM predictions WHERE model_version IN (1, 2)"
    by_query = read(tmp_path, {"url": "sqlite:///logs.db", "query": query})
    pd.testing.assert_frame_equal(by_query.frame.drop(columns="where"), expected)
    assert by_query.ignored_rows == 0 and by_query.frame["where"].iloc[0] == "query, row 3"


def test_a_table_is_a_quoted_name_and_a_result_is_read_in_chunks(tmp_path, monkeypatch):
    import mlgate.gates.canary.sql as sql

    name = 'odd "name"; DROP TABLE predictions; --'
    sqlite_log(tmp_path)
    sqlite_log(tmp_path, table=name)
    monkeypatch.setattr(sql, "CHUNK_ROWS", 3)
    log = read(tmp_path, {"url": "sqlite:///logs.db", "table": name})
    assert sorted(log.frame["where"].str.rpartition(" ")[2].astype(int)) == [1, 2, 3, 4, 5, 6]
    assert len(read(tmp_path, {"url": "sqlite:///logs.db", "table": "predictions"}).frame) == 6  # still there


def test_a_url_from_the_environment_and_an_unset_variable(tmp_path):
    sqlite_log(tmp_path)
    env = {"MLGATE_DB_URL": f"sqlite:///{tmp_path / 'logs.db'}"}
    assert len(read(tmp_path, {"url": "${MLGATE_DB_URL}", "table": "predictions"}, env=env).frame) == 6
    with pytest.raises(ConfigError, match=r"^canary\.log\.url: environment variable MLGATE_DB_URL is not set"):
        read(tmp_path, {"url": "${MLGATE_DB_URL}", "table": "predictions"}, env={})


def test_a_missing_table_or_column_in_sqlite_is_bad_input(tmp_path):
    sqlite_log(tmp_path, LOG.drop(columns="prediction"))
    with pytest.raises(InputError, match=r"^canary\.log: table 'nope' not found in the database sqlite:///"):
        read(tmp_path, {"url": "sqlite:///logs.db", "table": "nope"})
    with pytest.raises(InputError, match=r"^canary\.log: table predictions has no column 'prediction' "
                                         r"\(canary\.columns\.prediction\); its columns are \['request_id'"):
        read(tmp_path, {"url": "sqlite:///logs.db", "table": "predictions"})
    with pytest.raises(InputError, match=r"^canary\.log: the database refused the query: no such column: absent$"):
        read(tmp_path, {"url": "sqlite:///logs.db", "query": "SELECT absent FROM predictions"})
    with pytest.raises(InputError, match=r"^canary\.log: the database refused the query: near \"SELEC\": syntax error$"):
        read(tmp_path, {"url": "sqlite:///logs.db", "query": "SELEC 1"})
    with pytest.raises(ConfigError, match=r"^canary\.log\.url: database file 'absent\.db' not found"):
        read(tmp_path, {"url": "sqlite:///absent.db", "table": "predictions"})


def test_a_labels_table_and_a_bad_value_in_sqlite_are_named_by_row(tmp_path):
    sqlite_log(tmp_path, LOG.drop(columns="label"))
    sqlite_log(tmp_path, pd.DataFrame({"request_id": ["a", "c"], "label": ["1", "0"]}), table="labels")
    write(tmp_path, "p.csv", LOG)
    log = read(tmp_path, {"url": "sqlite:///logs.db", "table": "predictions"},
               labels={"url": "sqlite:///logs.db", "table": "labels"})
    assert log.frame["label"].tolist() == read(tmp_path, "p.csv").frame["label"].tolist()
    sqlite_log(tmp_path, _log({(3, "score"): -0.5}))
    with pytest.raises(InputError, match=r"^canary\.log: column 'score' at table predictions, row 4 holds -0\.5, "
                                         r"not a number in \[0, 1\]$"):
        read(tmp_path, {"url": "sqlite:///logs.db", "table": "predictions"})


# ----------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg(postgres_url):
    """The server's engine and a fresh table-name suffix, so tests never see each other's rows."""
    engine = sa.create_engine(postgres_url)
    yield engine, uuid.uuid4().hex[:8]
    engine.dispose()


def test_postgres_table_and_labels_table_joined_by_request_id(tmp_path, pg, postgres_url):
    engine, tag = pg
    timed = LOG.drop(columns="label").assign(ts=pd.to_datetime(LOG["ts"], utc=True, format="ISO8601"))
    with engine.begin() as conn:
        timed.to_sql(f"predictions_{tag}", conn, index=False)  # a timestamptz column
        pd.DataFrame({"request_id": ["a", "c"], "label": [1, 0]}).to_sql(f"labels_{tag}", conn, index=False)
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # psycopg 3 is chosen for it
    log = read(tmp_path, {"url": url, "table": f"predictions_{tag}"}, labels={"url": url, "table": f"labels_{tag}"})
    write(tmp_path, "p.csv", LOG)
    expected = read(tmp_path, "p.csv").frame.drop(columns="where")
    pd.testing.assert_frame_equal(log.frame.drop(columns="where"), expected)
    assert log.sources[1] == f"labels: table labels_{tag} at {url}: 2 rows"  # the URL as the policy wrote it


def test_postgres_query_and_a_log_appended_between_two_reads(tmp_path, pg, postgres_url):
    engine, tag = pg
    table = f"log_{tag}"
    with engine.begin() as conn:
        LOG.iloc[:4].to_sql(table, conn, index=False)
    source = {"url": postgres_url, "query": f"SELECT * FROM {table} WHERE ts <> ''"}
    first = read(tmp_path, source).frame
    assert first["where"].str.startswith("query, row ").all() and len(first) == 4
    with engine.begin() as conn:
        LOG.iloc[4:].to_sql(table, conn, index=False, if_exists="append")
    second = read(tmp_path, source).frame
    assert len(second) == 6
    pd.testing.assert_frame_equal(second.iloc[:4], first)


def test_postgres_password_from_the_environment_is_quoted_and_never_shown(tmp_path, pg, postgres_url):
    engine, tag = pg
    with engine.begin() as conn:
        LOG.to_sql(f"p_{tag}", conn, index=False)
    url = postgres_url.replace("mlgate@", "mlgate:${MLGATE_PG_PASSWORD}@")
    env = {"MLGATE_PG_PASSWORD": "s3cret/with@odd:chars"}  # trust authentication accepts any password
    log = read(tmp_path, {"url": url, "table": f"public.p_{tag}"}, env=env)  # schema.table
    assert len(log.frame) == 6 and "s3cret" not in log.sources[0] and ":${MLGATE_PG_PASSWORD}@" in log.sources[0]
    with pytest.raises(InputError, match=r"^canary\.log: table 'absent' not found in the database "
                                         r"postgresql\+psycopg://mlgate:\$\{MLGATE_PG_PASSWORD\}@127\.0\.0\.1"):
        read(tmp_path, {"url": url, "table": "absent"}, env=env)
    with pytest.raises(InputError, match=r"^canary\.log: the database refused the query: column \"nothing\" does "
                                         r"not exist$"):
        read(tmp_path, {"url": url, "query": f"SELECT nothing FROM p_{tag}"}, env=env)


def test_a_password_in_the_query_string_is_never_shown(tmp_path, pg, postgres_url):
    """libpq reads ?password= too: the sources line (which reaches the PR comment) shows the
    policy's reference, never the value it expanded to (found by a cold attack)."""
    engine, tag = pg
    with engine.begin() as conn:
        LOG.to_sql(f"q_{tag}", conn, index=False)
    url = postgres_url + "?password=${MLGATE_PG_PASSWORD}"
    log = read(tmp_path, {"url": url, "table": f"q_{tag}"}, env={"MLGATE_PG_PASSWORD": "Sup3r-Secret-DB-pw"})
    assert len(log.frame) == 6 and "Sup3r" not in " ".join(log.sources)
    assert "?password=${MLGATE_PG_PASSWORD}" in log.sources[0]
    with pytest.raises(InputError, match="not found") as caught:
        read(tmp_path, {"url": url, "table": "absent"}, env={"MLGATE_PG_PASSWORD": "Sup3r-Secret-DB-pw"})
    assert "Sup3r" not in str(caught.value)


def test_a_database_that_is_down_is_infrastructure_one_line_without_the_password(tmp_path):
    port = free_port()  # nothing listens there
    env = {"MLGATE_PG_PASSWORD": "hunter2-secret"}
    with pytest.raises(InfrastructureError) as caught:
        read(tmp_path, {"url": f"postgresql://mlgate:${{MLGATE_PG_PASSWORD}}@127.0.0.1:{port}/postgres",
                        "table": "predictions"}, env=env)
    message = str(caught.value)
    assert message.startswith(f"canary.log: cannot connect to the database at 127.0.0.1:{port}: ")
    assert "\n" not in message and "hunter2" not in message and caught.value.exit_code == 3
