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
