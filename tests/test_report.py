"""Reports: displayed numbers never contradict the verdict; templates ship with the package."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gates.config import parse_policy
from gates.report import fmt_against

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
