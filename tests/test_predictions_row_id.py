"""A predictions file that carries row ids while `data.id_column` is unset is an error.

Joining it by row order silently pairs each prediction with another row: a candidate whose
AUC is 0.99 on its own rows is measured at 0.40 on the shuffled ones. Both engines (in
memory and streamed in chunks) refuse it and say to set data.id_column.
"""

from __future__ import annotations

import pandas as pd
import pytest

from workspaces import CANCER_POLICY

MESSAGE = ("mlgate: error: build/candidate.csv: has a 'row_id' column but data.id_column is unset; set data.id_column "
           "to the holdout's id column (a file with ids is never joined by row order)")


def _shuffled_predictions(ws, cancer, models):
    """The good model's predictions with the holdout's ids, in another row order."""
    _, test = cancer
    X = test.drop(columns=["label", "size"])
    m = models["good"]
    preds = pd.DataFrame({"row_id": range(len(test)), "prediction": m.predict(X), "score": m.predict_proba(X)[:, 1]})
    ws.table("data/holdout.csv", test.assign(uid=range(len(test))))
    ws.table("build/candidate.csv", preds.sample(frac=1, random_state=0))


@pytest.mark.parametrize("engine", ["", "engine: {chunk_rows: 100}\n"], ids=["in-memory", "streamed"])
def test_row_ids_without_an_id_column_are_refused(engine, cancer_workspace, cancer, cancer_models, run_cli, tmp_path):
    _shuffled_predictions(cancer_workspace, cancer, cancer_models)
    cancer_workspace.policy(CANCER_POLICY.replace("path: build/model.skops", "predictions: build/candidate.csv") + engine)
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
    assert (r.code, r.err.strip()) == (2, MESSAGE)
    assert not (tmp_path / "o" / "result.json").exists()


def test_row_ids_on_the_command_line_are_refused_too(cancer_workspace, cancer, cancer_models, run_cli, tmp_path):
    _shuffled_predictions(cancer_workspace, cancer, cancer_models)
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet",
                "--candidate", cancer_workspace.root / "build" / "candidate.csv")
    assert r.code == 2 and "has a 'row_id' column but data.id_column is unset" in r.err


def test_with_the_id_column_set_the_same_file_joins_by_id(cancer_workspace, cancer, cancer_models, run_cli, tmp_path):
    import json

    _shuffled_predictions(cancer_workspace, cancer, cancer_models)
    cancer_workspace.policy(CANCER_POLICY.replace("path: build/model.skops", "predictions: build/candidate.csv")
                            .replace("target: label", "target: label\n  id_column: uid"))
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--json")
    auc = next(g for g in json.loads(r.out)["gates"] if g["metric"] == "roc_auc")
    assert auc["candidate"] > 0.95, "joined by id, the good model's AUC is its own"
