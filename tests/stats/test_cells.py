import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix

from mlgate.gates.stats import JointCells, PairedMoments


def naive_counts(y, c, p, labels):
    pos = {lab: i for i, lab in enumerate(labels)}
    out = np.zeros((len(labels),) * 3, np.int64)
    for a, b, d in zip(y, c, p):
        out[pos[a], pos[b], pos[d]] += 1
    return out


@pytest.mark.parametrize(
    "values",
    [[0, 1], [3, -2, 7], ["cat", "dog", "eel"], [False, True], [0.0, 1.5]],
    ids=["binary", "negative-ints", "strings", "bools", "floats"],
)
def test_from_arrays_counts_every_row(rng, values):
    values = np.array(values)
    y, c, p = (values[rng.integers(0, len(values), 200)] for _ in range(3))
    cells = JointCells.from_arrays(y, c, p)
    labels = tuple(sorted(set(y.tolist()) | set(c.tolist()) | set(p.tolist())))
    assert cells.labels == labels
    np.testing.assert_array_equal(cells.counts, naive_counts(y, c, p, labels))
    assert cells.n == 200


def test_margins_are_the_confusion_matrices(rng):
    y, c, p = (rng.integers(0, 3, 500) for _ in range(3))
    cells = JointCells.from_arrays(y, c, p)
    np.testing.assert_array_equal(cells.confusion("candidate"), confusion_matrix(y, c, labels=[0, 1, 2]))
    np.testing.assert_array_equal(cells.confusion("production"), confusion_matrix(y, p, labels=[0, 1, 2]))


def test_explicit_labels_fix_the_order_and_reject_strangers():
    cells = JointCells.from_arrays(["b", "a"], ["a", "a"], ["b", "b"], labels=("b", "a", "z"))
    assert cells.labels == ("b", "a", "z")
    assert cells.counts[0, 1, 0] == 1 and cells.counts[1, 1, 0] == 1
    with pytest.raises(ValueError, match=r"pred_production holds values not in labels .*'q'"):
        JointCells.from_arrays(["a"], ["a"], ["q"], labels=("a", "b"))


def test_lengths_must_match():
    with pytest.raises(ValueError, match=r"y_true=3, pred_candidate=2, pred_production=3"):
        JointCells.from_arrays([0, 1, 1], [0, 1], [0, 1, 0])


def test_constructor_checks_shape_and_sign():
    with pytest.raises(ValueError, match=r"counts must have shape \(K, K, K\) with K = len\(labels\) = 2"):
        JointCells((0, 1), np.zeros((3, 3, 3), int))
    with pytest.raises(ValueError, match="non-negative integers"):
        JointCells((0,), -np.ones((1, 1, 1), int))
    with pytest.raises(ValueError, match="labels must be unique"):
        JointCells((0, 0), np.zeros((2, 2, 2), int))


def test_confusion_names_the_model():
    cells = JointCells.from_arrays([0], [0], [0])
    with pytest.raises(ValueError, match="which must be 'candidate' or 'production'; got 'prod'"):
        cells.confusion("prod")


def test_shards_with_different_labels_merge():
    a = JointCells.from_arrays([0, 1], [0, 1], [1, 1])
    b = JointCells.from_arrays([2, 2], [2, 0], [2, 2])
    whole = JointCells.from_arrays([0, 1, 2, 2], [0, 1, 2, 0], [1, 1, 2, 2])
    assert a + b == whole
    assert sum([a, b]) == whole
    assert b + a == whole
    with pytest.raises(ValueError, match="missing"):
        whole.aligned((0, 1))


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60),
    st.lists(st.integers(1, 59), max_size=4),
)
def test_merging_random_chunks_equals_the_whole(rows, cuts):
    rows = np.array(rows)
    cuts = sorted({c for c in cuts if c < len(rows)})
    chunks = np.split(rows, cuts)
    merged = sum(JointCells.from_arrays(*chunk.T) for chunk in chunks)
    assert merged == JointCells.from_arrays(*rows.T)


def test_moments_match_numpy(rng):
    X = rng.normal(size=(1000, 4)) * [1, 2, 3, 4] + [5, -1, 0, 2]
    m = PairedMoments.from_rows(X)
    assert m.n == 1000
    np.testing.assert_allclose(m.mean, X.mean(axis=0))
    np.testing.assert_allclose(m.cov, np.cov(X, rowvar=False))


def test_moments_are_stable_far_from_zero(rng):
    X = 1e9 + rng.normal(size=(10_000, 2))
    chunks = [PairedMoments.from_rows(c) for c in np.array_split(X, 7)]
    np.testing.assert_allclose(sum(chunks).cov, np.cov(X - 1e9, rowvar=False), rtol=1e-6)


@given(
    st.lists(st.tuples(*[st.floats(-1e3, 1e3) for _ in range(3)]), min_size=2, max_size=50),
    st.lists(st.integers(1, 49), max_size=4),
)
def test_merging_moments_equals_the_whole(rows, cuts):
    X = np.array(rows)
    cuts = sorted({c for c in cuts if c < len(X)})
    merged = sum(PairedMoments.from_rows(c) for c in np.split(X, cuts))
    whole = PairedMoments.from_rows(X)
    assert merged.n == whole.n
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-9, atol=1e-6)


def test_moments_validation():
    with pytest.raises(ValueError, match=r"X must be finite"):
        PairedMoments.from_rows([[1.0, np.nan]])
    with pytest.raises(ValueError, match=r"n must be a non-negative integer; got -1"):
        PairedMoments(-1, [0.0], [[0.0]])
    with pytest.raises(ValueError, match=r"cannot merge moments of 2 and 3 columns"):
        PairedMoments.from_rows(np.ones((2, 2))) + PairedMoments.from_rows(np.ones((2, 3)))


def test_too_many_labels_is_refused():
    values = np.arange(300)
    with pytest.raises(ValueError, match=r"labels must number at most 256 .*; got 300"):
        JointCells.from_arrays(values, values, values)
