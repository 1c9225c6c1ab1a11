"""Reports: displayed numbers never contradict the verdict; templates ship with the package."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mlgate.gates.config.parse import parse_policy
from mlgate.gates.report import fmt_against

REPO = Path(__file__).resolve().parents[1]

finite = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False)


@given(finite, finite)
def test_displayed_value_and_bound_order_like_the_real_numbers(value, bound):
    shown_value, shown_bound = fmt_against(value, bound)
    a, b = float(shown_value), float(shown_bound)
    if value > bound:
        assert a > b, (value, bound, shown_value, shown_bound)
    elif value < bound:
        assert a < b, (value, bound, shown_value, shown_bound)
    else:
        assert a == b


def test_the_classic_contradiction_is_avoided():
    assert fmt_against(0.8996, 0.9) == ("0.8996", "0.9000")


def test_readme_configuration_example_is_a_valid_policy():
    text = (REPO / "README.md").read_text()
    block = re.search(r"## Configuration.*?```yaml\n(.*?)```", text, re.S).group(1)
    policy = parse_policy(block, "README.md")
    assert [g.rule for g in policy.gates][:3] == ["non_inferior", "min", "superior"]


def test_templates_ship_with_a_non_editable_install(tmp_path):
    """The installed ``mlgate`` (CI installs it with a plain ``pip install .``) renders reports
    from outside the checkout, so its templates must have been packaged."""
    import json
    import shutil

    import pytest

    exe = shutil.which("mlgate")
    if exe is None:
        pytest.skip("the mlgate console script is not installed (run: pip install .)")
    probe = subprocess.run([str(Path(exe).parent / "python"), "-c", "import gates.report as r; print(r.template_dir())"],
                           cwd=tmp_path, capture_output=True, text=True)
    if probe.returncode == 0 and Path(probe.stdout.strip()).resolve() == (REPO / "templates").resolve():
        pytest.skip("mlgate is installed in editable mode; this test is about a packaged install")
    run = subprocess.run([exe, "demo", "--out", str(tmp_path / "demo"), "--scenario", "first", "--quiet"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "demo" / "mlgate-report" / "report.md").read_text().startswith("<!-- mlgate:report -->")
    assert json.loads((tmp_path / "demo" / "mlgate-report" / "result.json").read_text())["decision"] == "first-model"


# ----------------------------------------------------------------------------- view models and budget

import dataclasses  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlgate.gates import curves as curves_module  # noqa: E402
from mlgate.gates.decision import Decision  # noqa: E402
from mlgate.gates.result import Result
from mlgate.gates.report import (COMMENT_LIMIT, MARKER, SUMMARY_LIMIT, gate_row, render_html,  # noqa: E402
                          render_junit, render_markdown, render_summary, trim_markdown)
from mlgate.gates.result import schema_path, to_dict  # noqa: E402
from mlgate.gates.rules import GateResult, SliceResult  # noqa: E402

SHA = "ab" * 32


def gate(name="roc_auc non_inferior", **kw) -> GateResult:
    base = dict(name=name, metric="roc_auc", rule="non_inferior", candidate=0.91, production=0.90, estimate=0.01,
                confidence_interval=(-0.002, 0.021), confidence_level=0.9, p_value=0.03, method="delong", n=1200,
                passed=True, undefined=False, detail="lower end of the 90% interval -0.002 > margin −0.005",
                margin=0.005)
    base.update(kw)
    return GateResult(**base)


def slice_gate(name: str, n_slices: int, *, failed: int = 2, seed: int = 0) -> GateResult:
    rng = np.random.default_rng(seed)
    slices = []
    for i in range(n_slices):
        label = f"customer_segment=a-rather-long-segment-name-{i:04d}"
        if i % 25 == 3:
            slices.append(SliceResult(label, 12, None, None, None, None, None, None, False, True,
                                      "not gated: 12 rows < min_support 50"))
            continue
        if i % 25 == 7:
            slices.append(SliceResult(label, 80, None, 0.5, None, None, None, None, False, True,
                                      "not gated: recall is undefined in 900 of 10000 resamples (more than 1%)"))
            continue
        est = float(rng.normal(-0.01, 0.02)) - (0.2 if i < failed else 0.0)
        slices.append(SliceResult(label, 300, 0.8 + est, 0.8, est, (est - 0.03, est + 0.03), 0.5, 0.9 if i >= failed else 0.001,
                                  True, i >= failed))
    worst = slices[0]
    return GateResult(name=name, metric="recall", rule="slice_max_drop", candidate=0.8, production=0.81, estimate=worst.estimate,
                      confidence_interval=worst.confidence_interval, confidence_level=0.9, p_value=0.001,
                      method="paired-bootstrap-percentile", n=100_000, passed=failed == 0, undefined=False,
                      detail=f"{failed} of {n_slices} gated slices dropped by more than 0.05: " +
                      ", ".join(s.slice for s in slices[:failed]), max_drop=0.05, average="binary", slices=slices)


def result(gates, *, decision=None, production=True, notes=(), curves=None, overridden=None) -> Result:
    failed = [g for g in gates if g.passed is False]
    decision = decision or (Decision("block", tuple(f"{g.name}: {g.detail}" for g in failed)) if failed
                            else Decision("approve", (f"all {len(gates)} gate(s) passed",)))
    return Result(decision=decision, gates=gates, task="classification", labels=[0, 1], positive_label=1, alpha=0.05,
                  candidate={"source": "build/model.skops", "sha256": SHA, "kind": "model", "size_mb": 0.5},
                  production={"source": "registry v3", "sha256": "cd" * 32, "kind": "model", "version": 3} if production else None,
                  data={"source": "data/holdout.csv", "sha256": "ef" * 32, "rows": 100_000}, config_sha256="01" * 32,
                  policy_source="base", notes=list(notes), curves=curves, overridden=overridden)


def huge_result() -> Result:
    """40 gates, of which 4 slice gates with 500 slices each, a long policy diff: far over GitHub's limits."""
    gates = [slice_gate(f"recall slice_max_drop {k}", 500, seed=k) for k in range(4)]
    gates += [gate(f"gate number {k:02d} with a descriptive name", passed=k % 7 != 0,
                   detail=("x" * 300) if k % 7 == 0 else "ok") for k in range(36)]
    diff = "\n".join(f"+  - {{metric: m{i}, rule: min, threshold: 0.{i}}}" for i in range(4000))
    note = f"This PR changes .github/mlgate.yml; the change applies after merge.\n```diff\n{diff}\n```"
    return result(gates, notes=[note])


def test_a_report_for_500_slices_and_40_gates_fits_and_keeps_the_verdict_and_every_gate():
    res = huge_result()
    full = render_markdown(res)
    assert len(full) > 5 * COMMENT_LIMIT
    comment = render_markdown(res, limit=COMMENT_LIMIT)
    summary = render_summary(res)
    assert len(comment) <= COMMENT_LIMIT and len(summary) <= SUMMARY_LIMIT
    for text in (comment, summary):
        assert "Blocked: the candidate may not replace production" in text
        assert all(f"| {g.name} |" in text for g in res.gates)
        assert "report trimmed" in text and "the policy diff" in text
        assert text.count("<details>") == text.count("</details>") and text.count("```") % 2 == 0
        assert "## ❌ mlgate:" in text.split("| Gate |")[0]
    assert comment.startswith(MARKER + "\n") and MARKER not in summary
    # Detail is dropped before the charts, and the worst slice of each slice gate survives.
    assert "a-rather-long-segment-name-0000" in comment


def test_the_budget_drops_the_least_important_detail_first():
    res = huge_result()
    sizes = {}
    for limit in (10**7, 400_000, 200_000, 60_000):
        sizes[limit] = render_markdown(res, limit=limit)
    assert "report trimmed" not in sizes[10**7]
    assert "the policy diff" in sizes[400_000] and "```mermaid" in sizes[400_000]
    assert "```diff" not in sizes[60_000]
    small = render_markdown(result([gate()]), limit=COMMENT_LIMIT)
    assert "report trimmed" not in small and "<details><summary>🔎 Gate details" in small


def test_trim_markdown_is_a_safety_net_that_closes_what_it_cuts():
    text = "head\n<details>\n\n```mermaid\n" + "line\n" * 20_000 + "```\n</details>\n"
    out = trim_markdown(text, 5_000)
    assert len(out) <= 5_000 and out.count("```") % 2 == 0 and out.count("<details>") == out.count("</details>")


@pytest.mark.parametrize("value, threshold, rule, passed", [(0.8996, 0.9, "min", False), (0.90004, 0.9, "min", True),
                                                          (0.2001, 0.2, "max", False)])
def test_gate_rows_never_contradict_the_verdict(value, threshold, rule, passed):
    g = gate(f"accuracy {rule}", metric="accuracy", rule=rule, candidate=value, threshold=threshold, estimate=None,
             confidence_interval=None, confidence_level=None, p_value=None, method="point", passed=passed)
    row = gate_row(g)
    shown = float(row.candidate)
    assert (shown >= threshold if rule == "min" else shown <= threshold) == passed
    assert row.state == ("pass" if passed else "fail")


def test_the_decisive_interval_is_shown_with_its_level_and_rounded_against_the_margin():
    # Lower end -0.00496 passes margin 0.005: at three decimals it would print as -0.005. Both
    # ends (and Δ) share the precision the lower end needs.
    row = gate_row(gate(confidence_interval=(-0.00496, 0.02), passed=True))
    assert row.interval == "90% [-0.00496, 0.02000]" and row.difference == "+0.01000"
    low = float(row.interval.split("[")[1].split(",")[0])
    assert low > -0.005
    p_row = gate_row(gate(p_value=0.04996))
    assert float(p_row.p_value) < 0.05


def test_slices_are_worst_first_and_small_or_undefined_slices_are_marked():
    g = slice_gate("recall slice_max_drop", 30, failed=2)
    text = render_markdown(result([g]))
    table = text.split("Slices of")[1]
    rows = [line for line in table.splitlines() if line.startswith("| customer_segment")]
    assert "❌ drop" in rows[0] and "❌ drop" in rows[1]
    assert rows[-1].endswith("➖ small: 12 rows &lt; min_support 50 |")  # "<" as an entity: it renders the same
    assert any("➖ undefined: recall is undefined" in r for r in rows)
    assert ("recall fell by more than 0.05 in 2 of 27 slices tested (significant after Holm at α = 0.05); "
            "not tested: 1 with recall undefined, 2 below min_support") in text


def test_names_with_pipes_do_not_break_the_tables():
    g = gate("auc | weird name")
    text = render_markdown(result([g]))
    assert "| auc \\| weird name |" in text


def test_first_model_and_overridden_headlines():
    first = result([gate(passed=None, skipped=True, production=None, estimate=None, confidence_interval=None,
                         method="none", detail="skipped: no production model to compare with")],
                   decision=Decision("first-model", ("no production model: 0 absolute gate(s) passed, 1 comparison gate(s) skipped",)),
                   production=False)
    text = render_markdown(first)
    assert "🆕 mlgate: First model" in text and "| **Production** | none | — |" in text and "➖ skipped" in text
    blocked = result([gate(passed=False, detail="lower end ≤ margin")],
                     overridden={"by": "octocat", "reason": "known shift", "at": "2024-01-01T00:00:00Z"})
    text = render_markdown(blocked)
    assert "⚠️ mlgate: Overridden" in text and "@octocat" in text and "known shift" in text


def test_policy_changes_are_named_at_the_top_and_the_diff_is_collapsed():
    note = "This PR changes .github/mlgate.yml; the change applies after merge.\n```diff\n-a\n+b\n```"
    text = render_markdown(result([gate()], notes=[note]))
    head, _, tail = text.partition("<details>")
    assert "> ℹ️ This PR changes .github/mlgate.yml" in head and "```diff" not in head
    assert "```diff\n-a\n+b\n```" in tail


def test_run_link_points_at_the_full_report():
    text = render_markdown(result([gate()]), run_url="https://github.com/o/r/actions/runs/1")
    assert "[Full report](https://github.com/o/r/actions/runs/1#artifacts)" in text
    assert "[workflow run](https://github.com/o/r/actions/runs/1)" in text and "mlgate-report" not in text


def test_junit_has_one_case_per_gate_and_parses_with_junitparser(tmp_path):
    from junitparser import Failure, JUnitXml, Skipped

    gates = [gate(), gate("bad", passed=False, detail="lower end ≤ margin <&>"),
             gate("skip", passed=None, skipped=True, detail="skipped: no production"),
             gate("undef", passed=False, undefined=True, detail="undefined, fails closed: one class")]
    path = tmp_path / "junit.xml"
    path.write_text(render_junit(result(gates)), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    cases = {case.name: case for suite in xml for case in suite}
    assert list(cases) == ["roc_auc non_inferior", "bad", "skip", "undef"]
    assert cases["roc_auc non_inferior"].is_passed
    assert isinstance(cases["bad"].result[0], Failure) and cases["bad"].result[0].message == "lower end ≤ margin <&>"
    assert isinstance(cases["skip"].result[0], Skipped)
    assert cases["undef"].result[0].type == "undefined"
    suite = next(iter(xml))
    assert (suite.tests, suite.failures, suite.skipped) == (4, 2, 1)


def test_curves_match_scikit_learn_and_stay_small():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.random(200_000) < 0.2
    s1 = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1)
    s2 = np.round(np.clip(rng.normal(0.35 + 0.2 * y, 0.2), 0, 1), 2)  # many ties
    c = curves_module.summarize(y, s1, s2)
    assert c.roc["candidate"].auc == pytest.approx(roc_auc_score(y, s1), abs=1e-9)
    assert c.roc["production"].auc == pytest.approx(roc_auc_score(y, s2), abs=1e-9)
    for roc in c.roc.values():
        assert len(roc.fpr) <= 50 and (roc.fpr[0], roc.tpr[0]) == (0, 0) and (roc.fpr[-1], roc.tpr[-1]) == (1, 1)
        assert list(roc.fpr) == sorted(roc.fpr) and list(roc.tpr) == sorted(roc.tpr)
    cal = c.calibration["candidate"]
    assert sum(cal.count) == 200_000 and len(cal.count) == 10
    assert len(json.dumps(c.to_dict())) < 6_000
    assert curves_module.summarize(np.ones(5, bool), s1[:5], None) is None  # one class: no ROC
    assert curves_module.summarize(y, s1, None).roc.keys() == {"candidate"}


def test_result_json_with_curves_matches_the_schema():
    import jsonschema

    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.4
    res = result([gate(), slice_gate("s", 10)], curves=curves_module.summarize(y, rng.random(500), rng.random(500)))
    data = json.loads(json.dumps(to_dict(res)))
    jsonschema.validate(data, json.loads(schema_path().read_text()))
    assert set(data["curves"]["roc"]) == {"candidate", "production"}
    assert "curves" not in to_dict(dataclasses.replace(res, curves=None))


def test_html_is_self_contained():
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.4
    html = render_html(result([gate(), slice_gate("s", 10)], curves=curves_module.summarize(y, rng.random(500), rng.random(500))))
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", html)
    assert html.count('<figure class="plot"') == 4  # differences, ROC, calibration, slices


def test_html_escapes_what_it_shows():
    html = render_html(result([gate("<script>alert(1)</script>")]))
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
