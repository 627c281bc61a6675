"""Labels from the stars (seed 000) and sampled unrated movies."""
import numpy as np
import pytest

from recsys.ncf.sampling import build_examples, popularity_probs, rated_pair_keys, sample_unrated, seed_labels


def test_seed_labels_follow_seed_000_thresholds():
    label, weight = seed_labels(np.array([5, 4, 3.5, 3, 2.5, 2, 1.5, 1, 0.5]))
    assert label.tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert weight.tolist() == [1, 1, 0.5, 0.5, 0.5, 0.5, 1, 1, 1]


def test_sample_unrated_never_returns_a_rated_pair_and_is_reproducible():
    users = np.array([0, 0, 1, 1, 1])
    items = np.array([0, 1, 1, 2, 3])
    keys = rated_pair_keys(users, items, n_items=6)
    draws = np.repeat([0, 1], 500)
    a = sample_unrated(draws, 6, keys, np.random.default_rng(3))
    b = sample_unrated(draws, 6, keys, np.random.default_rng(3))
    assert np.array_equal(a, b)
    assert set(a[:500]) == {2, 3, 4, 5}
    assert set(a[500:]) == {0, 4, 5}


def test_implicit_examples_add_four_negatives_per_rating():
    ex = build_examples(np.array([0, 0, 1]), np.array([0, 1, 2]), np.array([5.0, 1.0, 3.0]), n_items=50,
                        mode="implicit", negatives_per_positive=4, rng=np.random.default_rng(0))
    assert len(ex) == 3 + 12
    assert ex.rank_label.tolist() == [1, 1, 1] + [0] * 12
    assert ex.rating_weight.tolist() == [1, 1, 1] + [0] * 12
    assert sorted(ex.users[3:].tolist()) == [0] * 8 + [1] * 4


def test_hard_negative_examples_sample_only_for_positives():
    ex = build_examples(np.array([0, 0, 1]), np.array([0, 1, 2]), np.array([5.0, 1.0, 3.0]), n_items=50,
                        mode="hard-negatives", negatives_per_positive=4, rng=np.random.default_rng(0))
    assert len(ex) == 3 + 8
    assert ex.rank_label[:3].tolist() == [1, 0, 1]
    assert ex.rank_weight[:3].tolist() == [1, 1, 0.5]
    assert ex.targets().shape == (11, 4)


def test_regression_examples_train_only_the_rating_head():
    ex = build_examples(np.array([0, 1]), np.array([0, 1]), np.array([4.0, 2.0]), n_items=5,
                        mode="regression", negatives_per_positive=4, rng=np.random.default_rng(0))
    assert len(ex) == 2 and ex.rank_weight.tolist() == [0, 0] and ex.rating.tolist() == [4, 2]


def test_popularity_probs():
    assert popularity_probs(np.array([0, 0, 1]), 3, 0.0) is None
    probs = popularity_probs(np.array([0, 0, 0, 1]), 3, 1.0)
    assert probs == pytest.approx([4 / 7, 2 / 7, 1 / 7])
