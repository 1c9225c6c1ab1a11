"""The policy file is strict: a typo or a silent default must never approve.

Each test is written as the mistake or attack it guards against.
"""

from __future__ import annotations

import textwrap

import pytest

from mlgate.gates.config.parse import load_policy, parse_policy
from mlgate.gates.errors import ConfigError

SOURCE = ".github/mlgate.yml"

BASE = """\
version: 1
data:
  holdout: data/holdout.csv
  target: label
gates:
  - metric: roc_auc
    rule: non_inferior
    margin: 0.005
"""


def parse(text: str):
    return parse_policy(textwrap.dedent(text), SOURCE)


# ----------------------------------------------------------------------------- duplicate keys


@pytest.mark.parametrize("text, message", [
    # A margin written twice: YAML keeps the last one silently, so a reviewer reads 0.005 and
    # the gate runs with 0.5.
    (BASE + "    margin: 0.5\n", "gates[0].margin: duplicate key (lines 8 and 9)"),
    # Two `gates:` lists: the first (a strict gate list) would silently vanish.
    (BASE + "gates:\n  - {metric: model_size_mb, rule: max, threshold: 1000}\n", "gates: duplicate key (lines 5 and 9)"),
    # Deep inside a flow mapping.
    (BASE + "stats: {bootstrap: {resamples: 2000, seed: 1, resamples: 1000}}\n",
     "stats.bootstrap.resamples: duplicate key (line 9, columns 21 and 47)"),
    # In the data section, quoted and unquoted spellings are the same key.
    (BASE.replace("  target: label\n", "  target: label\n  \"target\": outcome\n"),
     "data.target: duplicate key (lines 4 and 5)"),
    # A second gate in the list, nested two levels down.
    (BASE + "  - metric: accuracy\n    rule: min\n    threshold: 0.9\n    threshold: 0.1\n",
     "gates[1].threshold: duplicate key (lines 11 and 12)"),
], ids=["margin-twice", "gates-twice", "flow-mapping", "quoted-spelling", "second-gate"])
def test_a_duplicate_key_is_an_error_naming_the_file_path_and_both_lines(text, message):
    with pytest.raises(ConfigError) as exc:
        parse(text)
    assert str(exc.value) == f"{SOURCE}: {message}"


def test_a_merge_key_cannot_override_a_gate_silently():
    """`<<:` merges a mapping under the explicit keys; an explicit key then silently wins."""
    text = BASE + "  - {<<: {metric: accuracy, rule: min, threshold: 0.0}, threshold: 0.9}\n"
    with pytest.raises(ConfigError, match=r"gates\[1\]\.<<: YAML merge keys \(<<\) are not allowed \(line 9\)"):
        parse(text)


def test_duplicate_keys_in_a_policy_file_exit_2(cancer_workspace, run_cli, tmp_path):
    from workspaces import CANCER_POLICY

    cancer_workspace.policy(CANCER_POLICY + "gates:\n  - {metric: model_size_mb, rule: max, threshold: 1000}\n")
    r = run_cli("evaluate", "--workspace", cancer_workspace.root, "--out", tmp_path / "o", "--quiet")
    assert r.code == 2, r.err
    assert r.err.strip() == "mlgate: error: .github/mlgate.yml: gates: duplicate key (lines 10 and 16)"
    assert not (tmp_path / "o" / "result.json").exists()


def test_the_same_key_in_different_mappings_is_fine():
    policy = parse(BASE + "  - {metric: accuracy, rule: min, threshold: 0.9}\n"
                          "stats: {bootstrap: {seed: 1}}\nengine: {kind: local}\n")
    assert [g.metric for g in policy.gates] == ["roc_auc", "accuracy"]


# ----------------------------------------------------------------------------- limits


def test_evaluate_s_defaults_to_half_an_hour():
    assert parse(BASE).evaluate_s == 1800.0


def test_evaluate_s_is_read_as_seconds():
    policy = parse(BASE + "limits: {evaluate_s: 600}\n")
    assert policy.evaluate_s == 600.0 and isinstance(policy.evaluate_s, float)


@pytest.mark.parametrize("value, message", [
    ("0", r"limits\.evaluate_s: expected a positive number of seconds, got 0"),  # no limit at all
    ("-5", r"limits\.evaluate_s: expected a positive number of seconds, got -5"),
    (".inf", r"limits\.evaluate_s: expected a positive number of seconds, got inf"),  # "never time out"
    ("30m", r"limits\.evaluate_s: expected a positive number of seconds, got '30m'"),
    ("true", r"limits\.evaluate_s: expected a positive number of seconds, got True"),
], ids=["zero", "negative", "infinite", "unit-suffix", "boolean"])
def test_evaluate_s_must_be_a_positive_number(value, message):
    with pytest.raises(ConfigError, match=message):
        parse(BASE + f"limits: {{evaluate_s: {value}}}\n")


def test_a_misspelled_limit_is_refused_not_ignored():
    """`evaluate_sec` would leave the default in place while the author thinks it changed."""
    with pytest.raises(ConfigError, match=r"limits\.evaluate_sec: unknown key \(did you mean 'evaluate_s'\?\)"):
        parse(BASE + "limits: {evaluate_sec: 60}\n")


def test_limits_must_be_a_mapping():
    with pytest.raises(ConfigError, match=r"limits: expected a mapping, got 60"):
        parse(BASE + "limits: 60\n")
