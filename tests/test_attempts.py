"""Attempts: the luck of k tries, and spending alpha so that all tries together keep it."""

from __future__ import annotations

import numpy as np
import pytest

from mlgate.gates.attempts import attempt_note, attempt_record, luck, spent_alpha


def test_the_spent_levels_sum_to_alpha():
    levels = [spent_alpha(0.05, k) for k in range(1, 200_001)]
    assert sum(levels) == pytest.approx(0.05, rel=1e-5) and sum(levels) < 0.05
    assert levels[0] == pytest.approx(0.05 * 6 / np.pi ** 2)


def test_k_equivalent_candidates_pass_by_luck_as_claimed_and_spending_keeps_alpha():
    """Simulated: each attempt's p-value is uniform (an equivalent candidate), attempts independent."""
    rng = np.random.default_rng(0)
    k, sims = 8, 200_000
    p = rng.random((sims, k))
    unspent = (p < 0.05).any(axis=1).mean()
    spent = (p < np.array([spent_alpha(0.05, i) for i in range(1, k + 1)])).any(axis=1).mean()
    se = np.sqrt(0.34 * 0.66 / sims)
    assert unspent == pytest.approx(luck(0.05, k), abs=4 * se)  # 1 − 0.95^8 = 0.337
    assert spent <= 0.05 and unspent > 0.3


def test_the_note_says_the_luck_or_the_spent_level():
    assert attempt_note(attempt_record(0.05, 1, spend=False), 0.05) is None
    assert "chance that one of them passes by luck is 14%" in attempt_note(attempt_record(0.05, 3, spend=False), 0.05)
    assert "tested at alpha 0.00338" in attempt_note(attempt_record(0.05, 3, spend=True), 0.05)


def test_a_holdout_supports_the_promotions_ease_ml_ci_bounds():
    from mlgate.gates.attempts import REUSE_DELTA, REUSE_TOLERANCE, supported_promotions

    for rows in (569, 2_000, 10_000, 50_000, 1_000_000):
        h = supported_promotions(rows)
        need = lambda k: (k * np.log(2) + np.log(2 / REUSE_DELTA)) / (2 * REUSE_TOLERANCE ** 2)  # noqa: E731
        assert h == 0 and need(0) > rows or need(h) <= rows < need(h + 1), rows
    assert supported_promotions(10_000) == 6 and supported_promotions(569) == 0


def test_the_next_evaluation_says_how_many_promotions_its_holdout_decided(tmp_path, run_cli):
    import json

    from mlgate.gates.demo import build

    ws = build(tmp_path / "ws", "better")
    first = run_cli("evaluate", "--workspace", ws, "--out", ws / "out1", "--quiet")
    assert first.code == 0
    assert json.loads((ws / "out1" / "result.json").read_text())["holdout_reuse"]["promotions"] == 0
    assert run_cli("promote", "--workspace", ws, "--out", ws / "out1", "--by", "tester", "--quiet").code == 0
    again = run_cli("evaluate", "--workspace", ws, "--out", ws / "out2", "--quiet")
    result = json.loads((ws / "out2" / "result.json").read_text())
    assert result["holdout_reuse"]["promotions"] == 1 and result["holdout_reuse"]["supported"] == 0
    assert any("This holdout has already decided 1 promotion" in n and "fresh holdout" in n for n in result["notes"])
    assert again.code in (0, 1)
