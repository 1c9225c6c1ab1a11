"""The report reads right (issue 19): one number format, Δ explained for losses, the slice
gate's row, the full report's real location, verdicts without emoji in HTML, per-class results
for multiclass, residuals for regression, and whether the holdout was streamed.

Everything runs on real models (scikit-learn on its bundled wine and diabetes data) through the
real engine; per-class numbers are checked against scikit-learn's own metrics.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import textwrap
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import LinearRegression
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import train_test_split

from mlgate.gates import stats
from mlgate.gates.classes import class_scores
from mlgate.gates.config.parse import load_policy
from mlgate.gates.engine import Overrides, evaluate
from mlgate.gates.outputs import write_outputs
from mlgate.gates.report import gate_row, render_html, render_junit, render_markdown, render_summary
from mlgate.gates.report.numbers import fmt_p
from mlgate.gates.residuals import SAMPLE_ROWS, residual_sample
from mlgate.gates.result import schema_path, to_dict

sys.path.insert(0, str(Path(__file__).parent))
from test_report import gate, result, slice_gate  # noqa: E402
from workspaces import Workspace, fit_logistic  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MINUS = "\u2212"
# Emoji and the variation selector that asks for emoji presentation: without an emoji font
# each is an empty box.
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u2139\u2049\u203C]")


# ----------------------------------------------------------------------------- real evaluations


def _evaluate(root: Path, out: str = "out", **overrides):
    res = evaluate(load_policy(root / ".github" / "mlgate.yml"), root, Overrides(**overrides) if overrides else None)
    return res, write_outputs(res, root / out, candidate_path=res.candidate_file)


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """Three wine classes; the candidate sees every feature, production three of them."""
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "label"})
    frame["label"] = frame["label"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    train, test = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame["label"])
    root = tmp_path_factory.mktemp("wine") / "ws"
    ws = Workspace(root)
    root.mkdir()
    columns = [c for c in frame.columns if c != "label"]
    models = {"candidate": fit_logistic(train, columns), "production": fit_logistic(train, columns[:3])}
    ws.model("build/model.skops", models["candidate"])
    ws.registry(production=models["production"])
    ws.table("data/holdout.csv", test)
    ws.policy("""\
    version: 1
    data: {holdout: data/holdout.csv, target: label}
    candidate: {path: build/model.skops}
    production: {registry: models/registry}
    gates:
      - {metric: f1, rule: non_inferior, margin: 0.02, average: macro}
      - {metric: log_loss, rule: non_inferior, margin: 0.05}
    """)
    res, files = _evaluate(root)
    return res, files, models, test.reset_index(drop=True)


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    train, test = train_test_split(frame, test_size=0.5, random_state=0)
    root = tmp_path_factory.mktemp("diabetes") / "ws"
    ws = Workspace(root)
    root.mkdir()
    columns = [c for c in frame.columns if c != "progression"]
    models = {"candidate": LinearRegression().fit(train[columns], train["progression"]),
              "production": LinearRegression().fit(train[["bmi"]], train["progression"])}
    ws.model("build/model.skops", models["candidate"])
    ws.registry(production=models["production"])
    ws.table("data/holdout.csv", test)
    ws.policy("""\
    version: 1
    data: {holdout: data/holdout.csv, target: progression}
    candidate: {path: build/model.skops}
    production: {registry: models/registry}
    gates:
      - {metric: mae, rule: non_inferior, margin: 2}
      - {metric: r2, rule: min, threshold: 0.3}
    """)
    res, files = _evaluate(root)
    return res, files, models, test.reset_index(drop=True), root


# ----------------------------------------------------------------------------- 1. one number format


@pytest.mark.parametrize("p, resamples, shown", [
    (0.0, 1_000, "<0.001"),      # no resample at or below the null, of 1,000: below 1/B, not 0
    (0.0, 2_000, "<0.0005"),
    (0.0, 3_000, "<0.0004"),     # 1/3000 rounded up: the bound stays true
    (0.0, 10_000, "<0.0001"),
    (0.0, 100_000, "<0.0001"),   # below the display resolution, whatever B
    (0.001, 1_000, "0.001"),     # one resample of 1,000 is a number
    (3e-9, None, "<0.0001"),     # an analytic p-value below the resolution
    (0.00025, None, "0.0003"),   # never "0.000"
    (0.04996, None, "0.04996"),  # never rounds across alpha
])
def test_p_values_read_below_their_floor_and_never_as_zero(p, resamples, shown):
    assert fmt_p(p, 0.05, resamples) == shown


@given(st.floats(min_value=0, max_value=1), st.sampled_from([None, 200, 1_000, 2_000, 10_000]))
def test_a_shown_p_value_is_never_zero_nor_below_the_floor_and_keeps_its_side_of_alpha(p, resamples):
    shown = fmt_p(p, 0.05, resamples)
    floor = max(1e-4, 1 / resamples) if resamples else 1e-4
    if shown.startswith("<"):
        assert float(shown[1:]) >= floor - 1e-15 and p < floor
    else:
        assert float(shown) > 0 and (float(shown) < 0.05) == (p < 0.05)


def test_a_bootstrap_gate_with_no_resample_below_the_null_shows_below_1_over_b():
    """A real bootstrap p-value of 0 (the candidate far better), in a gate row decided by it."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    cand = np.where(rng.random(400) < 0.95, y, 1 - y)
    prod = np.where(rng.random(400) < 0.60, y, 1 - y)
    cmp = stats.compare_confusion(stats.JointCells.from_arrays(y, cand, prod), "f1", method="bootstrap", null=-0.02,
                                  alternative="greater", n_resamples=1_000, seed=0, pos_label=1)
    assert cmp.p_value == 0.0 and cmp.method.startswith("paired-bootstrap")
    g = gate("f1 non_inferior", metric="f1", estimate=cmp.estimate, confidence_interval=tuple(cmp.confidence_interval),
             p_value=cmp.p_value, method=cmp.method)
    assert gate_row(g, resamples=1_000).p_value == "<0.001"
    assert gate_row(g, resamples=10_000).p_value == "<0.0001"
    assert gate_row(gate(p_value=0.0), resamples=1_000).p_value == "<0.0001"  # DeLong: no resamples, no 1/B floor


def test_an_interval_shows_its_width_at_large_n_and_delta_shares_its_precision():
    row = gate_row(gate(estimate=0.00125, confidence_interval=(0.0012, 0.0013), margin=0.0))
    low, high = re.fullmatch(r"90% \[(\S+), (\S+)\]", row.interval).groups()
    assert float(low) < float(high)
    assert row.interval == "90% [0.00120, 0.00130]" and row.difference == "+0.00125"


@given(st.floats(-1, 1), st.floats(1e-7, 0.5), st.sampled_from([0.0, 1e-4, 0.001, 0.005, 0.01, 0.02, 0.05]))
def test_interval_ends_differ_share_decimals_with_delta_and_keep_their_side_of_the_bound(low, width, margin):
    assume(abs(low + margin) > 1e-10)  # (a report shows at most 12 decimals)
    high = low + width
    row = gate_row(gate(estimate=low + width / 2, confidence_interval=(low, high), margin=margin))
    shown_low, shown_high = re.fullmatch(r"90% \[(\S+), (\S+)\]", row.interval).groups()
    assert float(shown_low) < float(shown_high)
    decimals = {len(t.split(".")[1]) if "." in t else 0 for t in (shown_low, shown_high, row.difference)}
    assert len(decimals) == 1, row
    assert (float(shown_low) > -margin) == (low > -margin)


def test_one_quantity_has_one_precision_in_a_table():
    g = slice_gate("recall slice_max_drop", 30, failed=2)
    text = render_markdown(result([g]))
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| customer_segment")]
    tested = [r for r in rows if r[3] != "—"]

    def places(cells):
        return {len(c.split(".")[1]) for c in cells if c not in ("—",) and not c.startswith("<")}

    assert len(places([r[2] for r in tested] + [r[3] for r in tested])) == 1  # production and candidate values
    assert len(places([r[4] for r in tested] + [e for r in tested for e in r[5].strip("[]").split(", ")])) == 1
    assert len(places([r[6] for r in tested] + [r[7] for r in tested])) == 1  # p and Holm p
    row = gate_row(gate(candidate=0.91, production=0.8965432))
    assert (row.candidate, row.production) == ("0.9100", "0.8965")  # one row: one precision for both models


def _string_constants(path: Path):
    """Every string literal of a module but its docstrings (which no reader of a report sees)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    docs |= {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


def test_one_minus_sign_everywhere_people_read():
    """ASCII '-' in every human-facing string (Python writes numbers with it; a number copied
    from a report parses), never U+2212 beside it."""
    found = [f"{path.relative_to(REPO)}:{line}: {text[:60]!r}"
             for folder in ("gates", "action", "package") for path in sorted((REPO / folder).rglob("*.py"))
             for line, text in _string_constants(path) if MINUS in text]
    found += [f"{path.relative_to(REPO)}" for path in sorted((REPO / "templates").glob("*.j2"))
              if MINUS in path.read_text(encoding="utf-8")]
    assert not found, "\n".join(found)


def test_a_rendered_report_has_one_minus_sign(wine, diabetes):
    for res in (wine[0], diabetes[0]):
        for text in (render_markdown(res), render_summary(res), render_html(res), render_junit(res)):
            assert MINUS not in text
            assert re.search(r"-\d", text)  # the ASCII minus is there


# ----------------------------------------------------------------------------- 2. Δ footnote for losses


def test_the_delta_footnote_says_how_delta_is_oriented_for_the_tables_metrics(wine, diabetes):
    loss = render_markdown(diabetes[0])
    assert "Δ = production - candidate (mae: lower is better), so + means the candidate is better." in loss
    mixed = render_markdown(wine[0])
    assert ("candidate - production for f1; production - candidate for log_loss (lower is better)") in mixed
    scores = render_markdown(result([gate()]))
    assert "Δ = candidate - production, so + means the candidate is better." in scores
    assert "production - candidate" not in scores


# ----------------------------------------------------------------------------- 3. the slice gate's row


def test_the_slice_gate_row_shows_the_worst_slices_values_beside_its_delta():
    g = slice_gate("recall slice_max_drop", 10, failed=2)
    worst = next(s for s in g.slices if s.estimate == g.estimate)
    row = gate_row(g)
    assert float(row.production) == pytest.approx(worst.production, abs=5e-5)
    assert float(row.candidate) == pytest.approx(worst.candidate, abs=5e-5)
    assert row.difference.endswith(f" in {worst.slice}")
    assert float(row.candidate) - float(row.production) == pytest.approx(float(row.difference.split()[0]), abs=2e-3)
    assert any("on all rows: production 0.8100, candidate 0.8000" in e for e in row.extras)


def test_the_slice_summary_reads_as_a_sentence():
    text = render_markdown(result([slice_gate("recall slice_max_drop", 30, failed=2)]))
    summary = re.search(r"<summary>🧩 Slices of <code>recall slice_max_drop</code>: (.*?); worst first</summary>", text)
    assert summary.group(1) == ("recall fell by more than 0.05 in 2 of 27 slices tested (significant after Holm at "
                                "α = 0.05); not tested: 1 with recall undefined, 2 below min_support")
    clean = render_markdown(result([slice_gate("recall slice_max_drop", 5, failed=0)]))
    assert "no slice's recall fell significantly by more than 0.05 (4 slices tested)" in clean


# ----------------------------------------------------------------------------- 4. the full report's link


def test_the_full_report_line_names_the_real_output_directory(wine, tmp_path):
    res = wine[0]
    files = write_outputs(res, tmp_path / "reports" / "wine-run")
    for name in ("report.md", "summary.md", "report.html"):
        text = files[name].read_text(encoding="utf-8")
        assert str(tmp_path / "reports" / "wine-run") in text and "mlgate-report" not in text, name
    github = render_markdown(res, run_url="https://github.com/o/r/actions/runs/7", report_dir=tmp_path)
    assert "[Full report](https://github.com/o/r/actions/runs/7#artifacts)" in github and str(tmp_path) not in github
    assert 'href="https://github.com/o/r/actions/runs/7#artifacts"' in render_html(res, run_url="https://github.com/o/r/actions/runs/7")
    assert "Full report" not in render_markdown(res)  # nowhere known: no link that points nowhere


def test_the_judge_workflow_uploads_the_report_its_comment_links_to():
    judge = (REPO / "examples" / "workflows" / "mlgate-judge.yml").read_text(encoding="utf-8")
    assert "actions/upload-artifact" in judge and "path: mlgate-report/" in judge


# ----------------------------------------------------------------------------- 5. HTML without emoji


def every_state_result():
    """One gate in each state, slices of each kind, an override, notes, an unsealed holdout."""
    gates = [gate("ok"), gate("bad", passed=False, outcome="fail", detail="lower end ≤ margin"),
             gate("thin", passed=False, outcome="inconclusive", detail="inconclusive: straddles"),
             gate("undef", passed=False, undefined=True, outcome="undefined", detail="undefined, fails closed"),
             gate("skip", passed=None, skipped=True, outcome="skipped", detail="skipped: no production"),
             slice_gate("recall slice_max_drop", 30, failed=2)]
    return result(gates, notes=["This PR changes .github/mlgate.yml\n```diff\n-a\n+b\n```"],
                  overridden={"by": "octocat", "reason": "known shift", "at": "2024-01-01T00:00:00Z"})


def test_the_html_report_has_no_emoji_and_every_character_is_in_dejavu(wine, diabetes):
    pages = [render_html(every_state_result()), render_html(wine[0]), render_html(diabetes[0])]
    for page in pages:
        assert not EMOJI.findall(page), sorted(set(EMOJI.findall(page)))
    assert pages[0].count('<svg class="mark"') >= 30  # the verdicts are drawn instead
    for word in ("pass", "fail", "inconclusive", "undefined", "skipped", "drop", "no drop", "small"):
        assert f"</svg> {word}" in pages[0], word
    assert EMOJI.search(render_markdown(every_state_result()))  # the comment keeps GitHub's emoji
    ttf = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not ttf.is_file():
        pytest.skip("DejaVu Sans is not installed (Debian: fonts-dejavu-core)")
    ttlib = pytest.importorskip("fontTools.ttLib")
    covered = set(ttlib.TTFont(ttf).getBestCmap())
    for page in pages:
        text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", page, flags=re.S)
        missing = {c for c in text if ord(c) not in covered and not c.isspace()}
        assert not missing, sorted(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in missing)


# ----------------------------------------------------------------------------- 6. multiclass and regression


def test_multiclass_per_class_scores_and_confusion_matrices_match_scikit_learn(wine):
    res, _, models, test = wine
    X, y = test.drop(columns=["label"]), test["label"]
    labels = list(res.classes.labels)
    assert sorted(labels) == sorted(y.unique())
    for role, model in models.items():
        pred = model.predict(X[model.feature_names_in_])
        assert np.array_equal(np.array(res.classes.confusion[role]), confusion_matrix(y, pred, labels=labels))
        p, r, f, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=np.nan)
        scores = res.classes.scores[role]
        np.testing.assert_allclose(np.array(scores.precision, float), p, rtol=1e-12)
        np.testing.assert_allclose(np.array(scores.recall, float), r, rtol=1e-12)
        np.testing.assert_allclose(np.array(scores.f1, float), f, rtol=1e-12)
        assert list(res.classes.support) == list(support)


def test_a_class_never_predicted_has_an_undefined_precision_not_zero():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 1, 1])  # class 2 never predicted
    scores = class_scores(confusion_matrix(y, pred))
    p, r, f, _ = precision_recall_fscore_support(y, pred, zero_division=np.nan)
    assert scores.precision[2] is None and np.isnan(p[2])
    assert scores.recall[2] == r[2] == 0.0 and scores.f1[2] == f[2] == 0.0
    np.testing.assert_allclose(np.array(scores.precision[:2]), p[:2])


def test_the_multiclass_report_shows_classes_in_a_details_block_and_heatmaps(wine):
    res, files, _, _ = wine
    comment = files["report.md"].read_text(encoding="utf-8")
    block = comment.split("<details><summary>🎯 Per class (3 classes)")[1].split("</details>")[0]
    c, p = res.classes.scores["candidate"], res.classes.scores["production"]
    i = res.classes.labels.index("barbera")
    assert f"| barbera | {res.classes.support[i]} | {c.precision[i]:.3f} ({p.precision[i]:.3f}) |" in block
    m, n = res.classes.confusion["candidate"], res.classes.confusion["production"]
    assert f"| barbera | {m[i][0]} ({n[i][0]}) |" in block
    page = files["report.html"].read_text(encoding="utf-8")
    assert 'id="plot-confusion-candidate"' in page and 'id="plot-confusion-production"' in page
    assert '<table id="classes">' in page


def test_regression_residuals_are_the_models_residuals_and_are_plotted(diabetes):
    res, files, models, test, _ = diabetes
    X, y = test.drop(columns=["progression"]), test["progression"].to_numpy()
    assert (res.residuals.rows, res.residuals.sampled) == (len(test), len(test))  # small: every row
    for role, model in models.items():
        pred = model.predict(X[model.feature_names_in_])
        # Every row is drawn (221 rows, fewer than the points drawn): the same (prediction, residual) pairs.
        np.testing.assert_allclose(np.array(sorted(res.residuals.points[role])), np.array(sorted(zip(pred, y - pred))),
                                   rtol=1e-9, atol=1e-9)
        assert sum(b.count for b in res.residuals.bins[role]) == len(test)
        assert np.median([r for _, r in res.residuals.points[role]]) == pytest.approx(np.median(y - pred), abs=15)
    page = files["report.html"].read_text(encoding="utf-8")
    assert 'id="plot-residuals"' in page and page.count('class="pt candidate"') == len(test)


def test_the_residual_sample_is_bounded_and_the_same_however_the_rows_are_chunked():
    rng = np.random.default_rng(1)
    y = rng.normal(100, 30, 60_000)
    cand, prod = y + rng.normal(0, 5, y.size), y + rng.normal(0, 9, y.size)
    whole = residual_sample(y, cand, prod)
    assert len(whole.y) == SAMPLE_ROWS and whole.n == y.size
    cuts = np.sort(rng.choice(np.arange(1, y.size), 7, replace=False))
    order = rng.permutation(8)  # chunks merged in any order
    parts = [residual_sample(a, b, c) for a, b, c in zip(*(np.split(v, cuts) for v in (y, cand, prod)))]
    merged = sum((parts[i] for i in order[1:]), parts[order[0]])
    for name in ("keys", "y", "candidate", "production"):
        assert np.array_equal(getattr(merged, name), getattr(whole, name)), name
    assert merged.n == y.size
    # A uniform sample: its mean residual is the holdout's, within sampling error.
    assert np.mean(whole.y - whole.candidate) == pytest.approx(np.mean(y - cand), abs=4 * 5 / np.sqrt(SAMPLE_ROWS))


def test_the_residual_plot_stays_small_for_a_large_holdout(tmp_path):
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(30_000, 3)), columns=["a", "b", "c"])
    frame = X.assign(y=X["a"] * 3 + X["b"] + rng.normal(0, 1, len(X)))
    ws = Workspace(tmp_path / "ws")
    (tmp_path / "ws").mkdir()
    ws.model("build/model.skops", LinearRegression().fit(frame[["a", "b", "c"]], frame["y"]))
    ws.registry(production=LinearRegression().fit(frame[["a"]], frame["y"]))
    ws.table("data/holdout.csv", frame)
    ws.policy(textwrap.dedent("""\
    version: 1
    data: {holdout: data/holdout.csv, target: y}
    candidate: {path: build/model.skops}
    production: {registry: models/registry}
    gates: [{metric: mse, rule: non_inferior, margin: 0.1}]
    """))
    streamed, files = _evaluate(tmp_path / "ws", chunk_rows=4_000)
    whole, _ = _evaluate(tmp_path / "ws", out="whole")
    assert streamed.residuals.sampled == SAMPLE_ROWS and streamed.residuals.rows == 30_000
    assert streamed.residuals.to_dict() == whole.residuals.to_dict()  # chunking changes nothing
    assert files["report.html"].stat().st_size < 150_000
    # 7. result.json says whether the holdout was streamed
    for res, expected in ((streamed, True), (whole, False)):
        assert to_dict(res)["data"]["streamed"] is expected


# ----------------------------------------------------------------------------- 7. result.json


def test_result_json_says_whether_streamed_and_validates_with_classes_and_residuals(wine, diabetes):
    import jsonschema

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    for res, files in ((wine[0], wine[1]), (diabetes[0], diabetes[1])):
        data = json.loads(files["result.json"].read_text(encoding="utf-8"))
        jsonschema.validate(data, schema)
        assert data["data"]["streamed"] is False
    wine_data = json.loads(wine[1]["result.json"].read_text(encoding="utf-8"))
    assert wine_data["classes"]["labels"] == list(wine[0].classes.labels) and "residuals" not in wine_data
    diabetes_data = json.loads(diabetes[1]["result.json"].read_text(encoding="utf-8"))
    assert len(diabetes_data["residuals"]["bins"]["production"]) == 10 and "classes" not in diabetes_data
