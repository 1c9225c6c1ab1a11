"""The three verdicts at their boundaries: a relative gate passes when its deciding interval lies
above the bound, fails when it lies entirely below it (evidence of harm), and is inconclusive
when it straddles the bound or the holdout holds too little information; the decision blocks on
any failure, is inconclusive (exit 1, never an approval) when nothing fails but something cannot
tell, and approves only when every gate passes."""

from __future__ import annotations

import numpy as np
import pytest

from mlgate.gates.config.spec import GateSpec
from mlgate.gates.decision import APPROVE, BLOCK, INCONCLUSIVE, decide
from mlgate.gates.evidence import Evidence
from mlgate.gates.rules import StatSettings, evaluate_gate
from mlgate.gates.stats import JointCells, PairedMoments

SETTINGS = StatSettings(alpha=0.05, resamples=200, seed=0, positive_label=1, average_default="binary")


def accuracy_evidence(both_right: int, cand_only: int, prod_only: int, both_wrong: int) -> Evidence:
    """Binary joint cells (y, candidate, production) with the given concordance counts (all on
    positive rows, which is all accuracy looks at)."""
    counts = np.zeros((2, 2, 2), dtype=np.int64)
    counts[1, 1, 1], counts[1, 1, 0], counts[1, 0, 1], counts[1, 0, 0] = both_right, cand_only, prod_only, both_wrong
    counts[0, 0, 0] = 10
    return Evidence(n=int(counts.sum()), cells=JointCells((0, 1), counts))


def gate(rule="non_inferior", **kw) -> GateSpec:
    return GateSpec(metric="accuracy", rule=rule, name=f"accuracy {rule}", **kw)


def judge(ev: Evidence, spec: GateSpec):
    return evaluate_gate(spec, ev, {}, {}, SETTINGS, has_production=True)


def test_interval_above_the_margin_passes():
    r = judge(accuracy_evidence(9000, 40, 30, 900), gate(margin=0.01))
    assert r.outcome == "pass" and r.passed and r.confidence_interval[0] > -0.01


def test_interval_entirely_below_the_margin_fails_as_evidence_of_harm():
    r = judge(accuracy_evidence(9000, 10, 400, 500), gate(margin=0.01))
    assert r.outcome == "fail" and r.passed is False
    assert r.confidence_interval[1] < -0.01 and "evidence of harm" in r.detail


def test_interval_straddling_the_margin_is_inconclusive_and_says_what_would_settle_it():
    r = judge(accuracy_evidence(900, 8, 14, 90), gate(margin=0.01))
    low, high = r.confidence_interval
    assert low < -0.01 < high
    assert r.outcome == "inconclusive" and r.passed is False
    assert "straddles" in r.detail and "rows for 80%" in r.detail
    assert r.power["rows_needed"] > r.n


def test_the_boundary_itself_is_not_a_pass():
    """Δ̂ exactly at −margin (a margin that is a multiple of 1/n): z = 0, p = 0.5, never a pass,
    whatever the number of rows both models got right."""
    for n in (1000, 5000, 20_000):
        extra = n // 100  # production-only wins beyond the candidate's 10: Δ̂ = −extra/n = −0.01
        both_right = n - 10 - (10 + extra) - 10  # 10 negatives both got right
        ev = accuracy_evidence(both_right, 10, 10 + extra, 0)
        assert ev.n == n
        r = judge(ev, gate(margin=0.01))
        assert r.estimate == pytest.approx(-0.01, abs=1e-15)
        assert r.p_value == 0.5 and r.outcome == "inconclusive"


def test_superiority_from_a_handful_of_disagreements_is_inconclusive():
    r = judge(accuracy_evidence(500, 3, 0, 20), gate("superior"))
    assert r.outcome == "inconclusive" and "the test needs 10" in r.detail
    r = judge(accuracy_evidence(500, 30, 5, 20), gate("superior"))
    assert r.outcome == "pass"


def test_a_loss_gate_on_two_rows_with_equal_differences_is_inconclusive_not_superior():
    ev = Evidence(n=3, moments={"log_loss": PairedMoments.from_rows(np.array([[0.1, 0.3], [0.2, 0.4], [0.3, 0.5]]))})
    r = evaluate_gate(GateSpec(metric="log_loss", rule="superior", name="ll"), ev, {}, {}, SETTINGS, has_production=True)
    assert r.outcome == "inconclusive" and r.passed is False


def test_decision_table():
    good = judge(accuracy_evidence(9000, 40, 30, 900), gate(margin=0.01))
    unsure = judge(accuracy_evidence(900, 8, 14, 90), gate(margin=0.01))
    harm = judge(accuracy_evidence(9000, 10, 400, 500), gate(margin=0.01))
    assert decide([good, good], has_production=True).decision == APPROVE
    d = decide([good, unsure], has_production=True)
    assert d.decision == INCONCLUSIVE and d.exit_code == 1 and d.reasons[0].startswith("accuracy non_inferior")
    assert decide([unsure, harm], has_production=True).decision == BLOCK
    assert decide([good, unsure], has_production=True, blockers=("the holdout changed",)).decision == BLOCK
    assert decide([good], has_production=True).exit_code == 0


def test_too_little_information_never_hides_evidence_of_harm():
    """The candidate loses all nine disagreements: thin for a pass, but the interval lies below
    0 and the gate says so."""
    r = judge(accuracy_evidence(500, 0, 9, 20), gate("superior"))
    assert r.outcome == "fail" and "evidence of harm" in r.detail


def test_an_estimate_exactly_at_the_bound_still_has_a_standard_error_and_power():
    r = judge(accuracy_evidence(930, 20, 30, 10), gate(margin=0.01))  # n = 1000, Δ̂ = −10/1000 = −0.01
    assert r.outcome == "inconclusive" and r.p_value == 0.5
    assert 0.005 < r.power["mde"] < 0.05 and r.power["rows_needed"] > r.n


def _six_classes(cand_changes):
    y = np.arange(600) % 6
    prod = y.copy()
    prod[::10] = (y[::10] + 1) % 6
    cand = cand_changes(y, prod.copy())
    return Evidence(n=600, cells=JointCells.from_arrays(y, cand, prod, labels=tuple(range(6))))


MACRO = StatSettings(alpha=0.05, resamples=2000, seed=0, positive_label=None, average_default="macro")


def test_a_bootstrap_fallback_never_passes_where_a_kind_of_disagreement_is_missing():
    """A cold attack: at six classes a candidate with 8 extra errors and no wins made the score
    fit fail, and the percentile bootstrap (which never draws a cell it has not seen) passed
    it; and three wins and no losses passed a superiority gate."""
    def worse(y, cand):
        idx = np.arange(1, 600, 10)[:8]
        cand[idx] = (y[idx] + 2) % 6
        return cand

    def three_wins(y, cand):
        cand[[0, 10, 20]] = y[[0, 10, 20]]
        return cand

    for changes, spec in ((worse, GateSpec(metric="f1", rule="non_inferior", margin=0.02, name="f1", average="macro")),
                          (three_wins, GateSpec(metric="f1", rule="superior", name="f1", average="macro"))):
        r = evaluate_gate(spec, _six_classes(changes), {}, {}, MACRO, has_production=True)
        assert r.outcome != "pass", (r.method, r.detail)


def test_a_candidate_cannot_unlock_delong_with_decoy_misorderings():
    """Informative rows are production's: a candidate's own harmless misorderings (a positive
    just below one negative) do not count towards DeLong's minimum."""
    from mlgate.gates.stats import compare_auc

    y = np.r_[np.ones(200, bool), np.zeros(2000, bool)]
    neg = np.linspace(0, 0.5, 2000)
    pos = np.linspace(0.6, 1, 200)
    sp = np.r_[pos, neg]
    sp[:10] = neg[1600] - 1e-6
    sc = sp.copy()
    sc[:10] = neg[1480] - 1e-6
    assert compare_auc(y, sc, sp, null=-0.005).insufficient
    sc[10:40] = neg[-1] - 1e-6
    assert compare_auc(y, sc, sp, null=-0.005).insufficient
