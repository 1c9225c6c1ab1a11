"""Boundary table for every rule: exactly at a threshold, a margin, a max_drop, and one ulp either side.

The boundaries asserted are the documented ones (README "What a gate means", DESIGN.md "Rules
and their statistics"):

* ``min`` / ``max``: the candidate's value ≥ / ≤ ``threshold`` passes (inclusive), else fails.
* ``non_inferior`` / ``superior``: pass when the lower end of the interval is *above* the bound
  (−margin, or 0); fail when the whole interval lies *below* it; an interval that touches the
  bound is inconclusive. Identical models never pass ``superior`` and never fail
  ``non_inferior``.
* ``max_drop``: the point estimate Δ ≥ −max_drop passes (inclusive); the interval is reported only.
* ``max_ratio``: candidate / production ≤ threshold passes (inclusive); a production value of 0
  (or an unmeasured one) makes the ratio undefined, which fails closed.
* ``slice_max_drop``: a slice with ≥ ``min_support`` rows is gated; Holm's step-down rejects
  p_(i) ≤ alpha / (m − i + 1) (Holm 1979).
* No production model: relative rules are skipped, absolute ones still decide, and the verdict
  is ``first-model`` when nothing fails — also when every gate was skipped.

Relative rules are driven through ``evaluate_gate`` with hand-made ``Comparison`` objects in
place of the statistics (``rules.compare`` is replaced), so each boundary is hit to the bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlgate.gates import rules
from mlgate.gates.config.spec import GateSpec
from mlgate.gates.decision import APPROVE, BLOCK, FIRST_MODEL, INCONCLUSIVE, decide
from mlgate.gates.evidence import Evidence
from mlgate.gates.stats import Comparison, ConfidenceInterval, JointCells, PairedMoments

ALPHA = 0.05
SETTINGS = rules.StatSettings(alpha=ALPHA, resamples=1000, seed=0, positive_label=1, average_default="binary")
TINY = 5e-324  # the smallest positive double


def up(x: float) -> float:
    return math.nextafter(x, math.inf)


def down(x: float) -> float:
    return math.nextafter(x, -math.inf)


def comparison(low=math.nan, high=math.nan, *, estimate=None, p_value=0.5, insufficient=False,
               undefined=False, candidate=0.80, production=None) -> Comparison:
    """A Comparison with the interval the case needs (level 0.90, as for alpha 0.05)."""
    if estimate is None:
        estimate = math.nan if undefined else (low + high) / 2
    return Comparison(
        estimate=estimate, confidence_interval=ConfidenceInterval(low, high), confidence_level=1 - 2 * ALPHA,
        p_value=math.nan if undefined else p_value, method="hand-made", n=1000, undefined=undefined,
        detail="hand-made detail", candidate=candidate,
        production=(candidate - estimate) if production is None else production,
        se=0.01, se_equal=0.01, insufficient=insufficient,
    )


class FakeCompare:
    """Stands in for ``rules.compare``: answers with a chosen Comparison per Evidence and
    records the null and alternative each call asked for."""

    def __init__(self, answers: list[tuple[Evidence, Comparison]]):
        self.answers = answers
        self.calls: list[tuple[float, str]] = []

    def __call__(self, gate, ev, *args, null, alternative, **kwargs):
        self.calls.append((null, alternative))
        for known, cmp in self.answers:
            if known is ev:
                return cmp
        raise AssertionError(f"compare called on evidence the case did not set up: {ev!r}")


@pytest.fixture
def answer(monkeypatch):
    """``answer(cmp)`` (overall) or ``answer([(ev, cmp), …])`` (slices) installs a FakeCompare."""

    def install(answers) -> FakeCompare:
        if isinstance(answers, Comparison):
            answers = [(OVERALL, answers)]
        fake = FakeCompare(answers)
        monkeypatch.setattr(rules, "compare", fake)
        return fake

    return install


OVERALL = Evidence(n=1000)


def gate(metric, rule, **params) -> GateSpec:
    return GateSpec(metric=metric, rule=rule, name=f"{metric} {rule}", **params)


def evaluate(spec, *, overall=OVERALL, slices=None, costs=None, has_production=True):
    return rules.evaluate_gate(spec, overall, slices or {}, costs or {}, SETTINGS, has_production=has_production)


def assert_outcome(result, outcome):
    assert result.outcome == outcome, result.detail
    assert result.passed is (outcome == "pass")
    assert result.undefined is (outcome == "undefined")
    if outcome == "undefined":
        assert "fails closed" in result.detail


# ----------------------------------------------------------------------------- non_inferior, superior

M = 0.01  # the margin of the non_inferior rows

RELATIVE = [
    # rule, margin, low, high, outcome
    pytest.param("non_inferior", M, -M, 0.03, "inconclusive", id="ni-low-exactly-at-minus-margin"),
    pytest.param("non_inferior", M, up(-M), 0.03, "pass", id="ni-low-one-ulp-above-minus-margin"),
    pytest.param("non_inferior", M, down(-M), 0.03, "inconclusive", id="ni-low-one-ulp-below-minus-margin"),
    pytest.param("non_inferior", M, -0.05, -M, "inconclusive", id="ni-high-exactly-at-minus-margin"),
    pytest.param("non_inferior", M, -0.05, down(-M), "fail", id="ni-high-one-ulp-below-minus-margin"),
    pytest.param("non_inferior", M, -M, -M, "inconclusive", id="ni-degenerate-interval-at-minus-margin"),
    pytest.param("non_inferior", M, 0.0, 0.0, "pass", id="ni-identical-models-se-0"),
    pytest.param("non_inferior", 0.0, 0.0, 0.02, "inconclusive", id="ni-margin-0-low-exactly-0"),
    pytest.param("non_inferior", 0.0, TINY, 0.02, "pass", id="ni-margin-0-low-just-above-0"),
    pytest.param("superior", None, 0.0, 0.02, "inconclusive", id="sup-low-exactly-0"),
    pytest.param("superior", None, TINY, 0.02, "pass", id="sup-low-just-above-0"),
    pytest.param("superior", None, -TINY, 0.02, "inconclusive", id="sup-low-just-below-0"),
    pytest.param("superior", None, -0.02, 0.0, "inconclusive", id="sup-high-exactly-0"),
    pytest.param("superior", None, -0.02, -TINY, "fail", id="sup-high-just-below-0"),
    pytest.param("superior", None, 0.0, 0.0, "inconclusive", id="sup-identical-models-never-pass"),
]


# The rule does not depend on the family that made the comparison: one metric of each.
@pytest.mark.parametrize("metric", ["f1", "roc_auc", "log_loss"])
@pytest.mark.parametrize("rule, margin, low, high, outcome", RELATIVE)
def test_relative_rule_boundaries(answer, metric, rule, margin, low, high, outcome):
    fake = answer(comparison(low, high))
    result = evaluate(gate(metric, rule, margin=margin))
    assert_outcome(result, outcome)
    bound = -margin if rule == "non_inferior" else 0.0
    assert fake.calls == [(bound, "greater")]
    assert result.confidence_interval == (low, high)  # the interval that decided, as it was
    assert result.confidence_level == pytest.approx(0.90)


@pytest.mark.parametrize("rule, margin", [("non_inferior", M), ("superior", None)])
@pytest.mark.parametrize(
    "low, high, flags, outcome",
    [
        pytest.param(0.02, 0.05, {"insufficient": True}, "inconclusive", id="thin-evidence-never-passes"),
        pytest.param(-0.09, -0.05, {"insufficient": True}, "fail", id="thin-evidence-still-shows-harm"),
        pytest.param(math.nan, math.nan, {"undefined": True}, "undefined", id="undefined-fails-closed"),
    ],
)
def test_relative_rule_without_enough_evidence(answer, rule, margin, low, high, flags, outcome):
    answer(comparison(low, high, **flags))
    assert_outcome(evaluate(gate("roc_auc", rule, margin=margin)), outcome)


# ----------------------------------------------------------------------------- max_drop (statistical)

D = 0.02


@pytest.mark.parametrize(
    "max_drop, estimate, low, high, flags, outcome",
    [
        pytest.param(D, -D, -0.05, 0.01, {}, "pass", id="estimate-exactly-at-minus-max_drop"),
        pytest.param(D, down(-D), -0.05, 0.01, {}, "fail", id="estimate-one-ulp-below"),
        pytest.param(D, up(-D), -0.05, 0.01, {}, "pass", id="estimate-one-ulp-above"),
        pytest.param(D, -0.015, -0.05, 0.02, {}, "pass", id="interval-straddles-point-decides-pass"),
        pytest.param(D, -0.025, -0.03, 0.01, {}, "fail", id="interval-reaches-above-point-decides-fail"),
        pytest.param(0.0, 0.0, -0.01, 0.01, {}, "pass", id="max_drop-0-estimate-exactly-0"),
        pytest.param(0.0, -TINY, -0.01, 0.01, {}, "fail", id="max_drop-0-estimate-just-below-0"),
        pytest.param(D, -D, -0.05, 0.01, {"insufficient": True}, "pass", id="thin-evidence-point-still-decides"),
        pytest.param(D, None, math.nan, math.nan, {"undefined": True}, "undefined", id="undefined-fails-closed"),
    ],
)
def test_max_drop_boundaries(answer, max_drop, estimate, low, high, flags, outcome):
    fake = answer(comparison(low, high, estimate=estimate, **flags))
    result = evaluate(gate("roc_auc", "max_drop", max_drop=max_drop))
    assert_outcome(result, outcome)
    assert fake.calls == [(-max_drop, "greater")]
    if outcome != "undefined":
        assert result.estimate == estimate
        assert result.p_value is None  # decided by the point estimate: no p-value claimed
        assert result.confidence_interval == (low, high)  # reported beside it


# ----------------------------------------------------------------------------- min / max

@pytest.mark.parametrize("has_production", [True, False], ids=["with-production", "first-model"])
@pytest.mark.parametrize(
    "rule, value, outcome",
    [
        pytest.param("min", 200.0, "pass", id="min-exactly-at-threshold"),
        pytest.param("min", down(200.0), "fail", id="min-one-ulp-below"),
        pytest.param("min", up(200.0), "pass", id="min-one-ulp-above"),
        pytest.param("max", 200.0, "pass", id="max-exactly-at-threshold"),
        pytest.param("max", up(200.0), "fail", id="max-one-ulp-above"),
        pytest.param("max", down(200.0), "pass", id="max-one-ulp-below"),
        pytest.param("max", None, "undefined", id="unmeasured-fails-closed"),
    ],
)
def test_min_max_on_a_measured_cost(rule, value, outcome, has_production):
    """Absolute rules apply with or without a production model."""
    result = evaluate(gate("model_size_mb", rule, threshold=200.0), costs={"model_size_mb": (value, 150.0)},
                      has_production=has_production)
    assert_outcome(result, outcome)
    assert result.candidate == value


def _accuracy_evidence() -> Evidence:
    # 6 of 8 rows right: accuracy exactly 0.75 (production: 4 of 8)
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    cand = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    prod = np.array([1, 1, 0, 0, 0, 1, 1, 0])
    return Evidence(n=8, cells=JointCells.from_arrays(y, cand, prod))


def _loss_evidence() -> Evidence:
    # candidate's absolute errors 0, 0.5, 0.25, 0.25: mae exactly 0.25;
    # squared errors all 0.25: mse 0.25, rmse exactly 0.5
    y = np.array([1.0, 2.0, 3.0, 4.0])
    abs_c, abs_p = np.array([0.0, 0.5, 0.25, 0.25]), np.array([1.0, 1.0, 1.0, 1.0])
    sq_c, sq_p = np.full(4, 0.25), np.ones(4)
    return Evidence(n=4, moments={
        "mae": PairedMoments.from_columns(abs_c, abs_p, y, y * y),
        "rmse": PairedMoments.from_columns(sq_c, sq_p, y, y * y),
    })


@pytest.mark.parametrize("has_production", [True, False], ids=["with-production", "first-model"])
@pytest.mark.parametrize(
    "metric, rule, threshold, outcome",
    [
        pytest.param("accuracy", "min", 0.75, "pass", id="accuracy-min-exactly-at-threshold"),
        pytest.param("accuracy", "min", up(0.75), "fail", id="accuracy-min-threshold-one-ulp-above"),
        pytest.param("accuracy", "max", 0.75, "pass", id="accuracy-max-exactly-at-threshold"),
        pytest.param("accuracy", "max", down(0.75), "fail", id="accuracy-max-threshold-one-ulp-below"),
        pytest.param("mae", "max", 0.25, "pass", id="mae-max-exactly-at-threshold"),
        pytest.param("mae", "max", down(0.25), "fail", id="mae-max-threshold-one-ulp-below"),
        pytest.param("rmse", "max", 0.5, "pass", id="rmse-max-exactly-at-threshold"),
        pytest.param("rmse", "max", down(0.5), "fail", id="rmse-max-threshold-one-ulp-below"),
        pytest.param("rmse", "min", up(0.5), "fail", id="rmse-min-threshold-one-ulp-above"),
    ],
)
def test_min_max_on_a_statistical_metric(metric, rule, threshold, outcome, has_production):
    ev = _accuracy_evidence() if metric == "accuracy" else _loss_evidence()
    result = evaluate(gate(metric, rule, threshold=threshold), overall=ev, has_production=has_production)
    assert_outcome(result, outcome)
    assert result.p_value is None and result.confidence_interval is None  # a point, no test


@pytest.mark.parametrize("rule", ["min", "max"])
def test_min_max_on_a_metric_undefined_for_the_candidate(rule):
    """Only positives in the holdout: roc_auc does not exist, and the gate fails closed."""
    ev = Evidence(n=4, positive=np.ones(4, bool), score_candidate=np.linspace(0.1, 0.9, 4),
                  score_production=np.linspace(0.2, 0.8, 4))
    assert_outcome(evaluate(gate("roc_auc", rule, threshold=0.5), overall=ev), "undefined")


# ----------------------------------------------------------------------------- max_ratio, cost max_drop

@pytest.mark.parametrize(
    "candidate, production, outcome",
    [
        pytest.param(3.0, 2.0, "pass", id="ratio-exactly-at-threshold"),
        pytest.param(up(3.0), 2.0, "fail", id="ratio-one-ulp-above"),
        pytest.param(down(3.0), 2.0, "pass", id="ratio-one-ulp-below"),
        pytest.param(0.0, 2.0, "pass", id="zero-candidate"),
        pytest.param(1.0, 0.0, "undefined", id="zero-production"),
        pytest.param(0.0, 0.0, "undefined", id="zero-over-zero"),
        pytest.param(1.0, -0.0, "undefined", id="negative-zero-production"),
        pytest.param(1.0, -1.0, "undefined", id="negative-production"),
        pytest.param(1.0, None, "undefined", id="production-unmeasured"),
        pytest.param(None, 2.0, "undefined", id="candidate-unmeasured"),
    ],
)
def test_max_ratio_boundaries(candidate, production, outcome):
    result = evaluate(gate("latency_ms_per_1k", "max_ratio", threshold=1.5),
                      costs={"latency_ms_per_1k": (candidate, production)})
    assert_outcome(result, outcome)
    if outcome != "undefined":
        assert result.supplementary["ratio"] == candidate / production


@pytest.mark.parametrize("metric", ["latency_ms_per_1k", "model_size_mb"])
@pytest.mark.parametrize(
    "candidate, production, outcome",
    [
        pytest.param(1.25, 1.0, "pass", id="grew-by-exactly-max_drop"),
        pytest.param(up(1.25), 1.0, "fail", id="grew-one-ulp-more"),
        pytest.param(0.5, 1.0, "pass", id="shrank"),
        pytest.param(1.0, None, "undefined", id="production-unmeasured"),
    ],
)
def test_max_drop_on_a_cost(metric, candidate, production, outcome):
    """Smaller is better for latency and size, so Δ = production − candidate."""
    result = evaluate(gate(metric, "max_drop", max_drop=0.25), costs={metric: (candidate, production)})
    assert_outcome(result, outcome)
    if outcome != "undefined":
        assert result.estimate == production - candidate


# ----------------------------------------------------------------------------- slice_max_drop

def _slices(*specs):
    """(n, Comparison or None) per slice → (slices dict, the fake's answers)."""
    slices, answers = {}, []
    for i, (n, cmp) in enumerate(specs):
        ev = Evidence(n=n)
        slices[f"s{i}"] = ev
        if cmp is not None:
            answers.append((ev, cmp))
    return slices, answers


def drop(p_value):
    """A slice's comparison for the one-sided test of a drop beyond max_drop, with ``p_value``."""
    return comparison(-0.06, -0.01, p_value=p_value)


BOTH_UNDEFINED = comparison(undefined=True, candidate=math.nan, production=math.nan)
CANDIDATE_UNDEFINED = comparison(undefined=True, candidate=math.nan, production=0.8)


@pytest.mark.parametrize(
    "specs, outcome, gated, failing",
    [
        pytest.param([(50, drop(ALPHA))], "fail", [True], ["s0"], id="n-at-min_support-p-exactly-alpha-rejects"),
        pytest.param([(50, drop(up(ALPHA)))], "pass", [True], [], id="p-one-ulp-above-alpha"),
        pytest.param([(49, None)], "inconclusive", [False], [], id="n-one-below-min_support-not-gated"),
        pytest.param([(49, None), (50, drop(0.5))], "pass", [False, True], [], id="one-gated-one-not"),
        pytest.param([(60, drop(ALPHA / 2)), (60, drop(0.9))], "fail", [True, True], ["s0"],
                     id="holm-first-step-exactly-alpha-over-2"),
        pytest.param([(60, drop(up(ALPHA / 2))), (60, drop(0.9))], "pass", [True, True], [],
                     id="holm-first-step-one-ulp-above"),
        pytest.param([(60, drop(0.04)), (60, drop(0.05))], "pass", [True, True], [],
                     id="holm-stops-at-first-acceptance"),
        pytest.param([(60, drop(0.02)), (60, drop(ALPHA))], "fail", [True, True], ["s0", "s1"],
                     id="holm-second-step-exactly-alpha"),
        pytest.param([(60, CANDIDATE_UNDEFINED), (60, drop(0.9))], "fail", [True, True], ["s0"],
                     id="undefined-for-the-candidate-alone-fails"),
        pytest.param([(60, BOTH_UNDEFINED)], "inconclusive", [False], [], id="undefined-for-both-not-gated"),
        pytest.param([(60, comparison(-0.06, -0.01, p_value=0.5, insufficient=True))], "pass", [True], [],
                     id="thin-slice-still-tested"),
    ],
)
def test_slice_max_drop_boundaries(answer, specs, outcome, gated, failing):
    slices, answers = _slices(*specs)
    fake = answer(answers)
    result = evaluate(gate("roc_auc", "slice_max_drop", max_drop=D, min_support=50), slices=slices)
    assert_outcome(result, outcome)
    assert [s.gated for s in result.slices] == gated
    assert [s.slice for s in result.slices if not s.passed] == failing
    assert fake.calls == [(-D, "less")] * len(answers)


# ----------------------------------------------------------------------------- skipped, and the decision

def _holdout() -> Evidence:
    """The 8 rows of ``_accuracy_evidence`` with scores (roc_auc 1.0) and log_loss moments (0.5)."""
    ev = _accuracy_evidence()
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    ev.positive, ev.score_candidate, ev.score_production = y, np.where(y, 0.9, 0.1), np.full(8, 0.5)
    ev.moments["log_loss"] = PairedMoments.from_columns(np.full(8, 0.5), np.ones(8), y * 1.0, y * 1.0)
    return ev


@pytest.mark.parametrize(
    "spec, candidate",
    [
        pytest.param(gate("roc_auc", "non_inferior", margin=0.01), 1.0, id="non_inferior"),
        pytest.param(gate("f1", "superior"), 0.75, id="superior"),
        pytest.param(gate("log_loss", "max_drop", max_drop=0.01), 0.5, id="max_drop"),
        pytest.param(gate("recall", "slice_max_drop", max_drop=0.02, min_support=2), 0.75, id="slice_max_drop"),
        pytest.param(gate("latency_ms_per_1k", "max_ratio", threshold=1.5), 1.0, id="max_ratio"),
        pytest.param(gate("model_size_mb", "max_drop", max_drop=1.0), 1.0, id="cost-max_drop"),
    ],
)
def test_relative_rules_are_skipped_without_production(answer, spec, candidate):
    """Nothing is compared; the candidate's own value is still reported."""
    fake = answer([])
    holdout = _holdout()
    result = evaluate(spec, overall=holdout, slices={"s0": holdout}, has_production=False,
                      costs={spec.metric: (1.0, None)})
    assert result.outcome == "skipped" and result.skipped
    assert result.passed is None
    assert result.candidate == candidate
    assert fake.calls == []


def _gate_of(kind: str, i: int, has_production: bool):
    """A real GateResult of the given outcome, made by evaluate_gate."""
    name = f"{kind}-{i}"
    if kind in ("pass", "fail", "undefined"):
        value = {"pass": 100.0, "fail": 300.0, "undefined": None}[kind]
        spec = GateSpec("model_size_mb", "max", name, threshold=200.0)
        return rules.evaluate_gate(spec, OVERALL, {}, {"model_size_mb": (value, 150.0)}, SETTINGS,
                                   has_production=has_production)
    # inconclusive (an interval straddling −margin) or skipped (no production model)
    spec = GateSpec("roc_auc", "non_inferior", name, margin=0.01)
    return rules.evaluate_gate(spec, OVERALL, {}, {}, SETTINGS, has_production=has_production)


DECISIONS = [
    # kinds of gates, has_production, blockers, decision, gates named in the reasons
    pytest.param(("pass", "pass"), True, (), APPROVE, [], id="all-pass-approve"),
    pytest.param(("pass", "inconclusive"), True, (), INCONCLUSIVE, ["inconclusive-1"], id="one-inconclusive"),
    pytest.param(("pass", "fail"), True, (), BLOCK, ["fail-1"], id="one-fail-blocks"),
    pytest.param(("inconclusive", "fail"), True, (), BLOCK, ["fail-1"], id="fail-outranks-inconclusive"),
    pytest.param(("pass", "undefined"), True, (), BLOCK, ["undefined-1"], id="undefined-blocks"),
    pytest.param(("pass", "pass"), True, ("the holdout changed",), BLOCK, [], id="blocker-with-all-pass"),
    pytest.param(("skipped", "skipped"), False, (), FIRST_MODEL, [], id="all-skipped-first-model"),
    pytest.param(("pass", "skipped"), False, (), FIRST_MODEL, [], id="absolute-pass-first-model"),
    pytest.param(("fail", "skipped"), False, (), BLOCK, ["fail-0"], id="absolute-fail-no-production-blocks"),
    pytest.param(("undefined", "skipped"), False, (), BLOCK, ["undefined-0"], id="absolute-undefined-no-production"),
    pytest.param(("skipped",), False, ("the holdout changed",), BLOCK, [], id="blocker-first-model"),
]


@pytest.mark.parametrize("kinds, has_production, blockers, decision, named", DECISIONS)
def test_decision_table(answer, kinds, has_production, blockers, decision, named):
    answer(comparison(-0.02, 0.03))  # what an inconclusive non_inferior gate sees
    gates = [_gate_of(kind, i, has_production) for i, kind in enumerate(kinds)]
    assert [g.outcome for g in gates] == list(kinds)
    result = decide(gates, has_production=has_production, blockers=blockers)
    assert result.decision == decision
    assert result.exit_code == (0 if decision in (APPROVE, FIRST_MODEL) else 1)  # DESIGN.md, "Exit codes"
    if decision in (APPROVE, FIRST_MODEL):
        assert len(result.reasons) == 1  # one summary line
    else:  # the blockers first, then each gate that failed (or, if none, could not tell)
        assert result.reasons[: len(blockers)] == blockers
        assert [r.split(": ", 1)[0] for r in result.reasons[len(blockers):]] == named


def test_first_model_reason_counts_what_was_checked_and_skipped(answer):
    answer([])
    gates = [_gate_of(kind, i, False) for i, kind in enumerate(("pass", "skipped", "skipped"))]
    (reason,) = decide(gates, has_production=False).reasons
    assert "1 absolute gate(s) passed" in reason and "2 comparison gate(s) skipped" in reason
