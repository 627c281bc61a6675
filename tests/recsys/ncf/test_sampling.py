"""Labels from the stars (seed 000) and sampled unrated movies."""
import numpy as np
import pytest

from recsys.ncf.sampling import (
    build_examples,
    epoch_blocks,
    epoch_chunks,
    epoch_size,
    popularity_probs,
    rated_pair_keys,
    sample_unrated,
    seed_labels,
)


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


def test_sample_unrated_draws_what_redrawing_every_hit_draws():
    """Only redrawn samples are checked again: the draws are those of checking them all each round."""
    rng = np.random.default_rng(5)
    users, items = rng.integers(0, 30, 300), rng.integers(0, 50, 300)
    keys = rated_pair_keys(users, items, n_items=50)
    draws = rng.integers(0, 30, 3000).astype(np.int64)
    reference_rng = np.random.default_rng(9)
    expected = reference_rng.integers(0, 50, size=len(draws))
    while (hit := np.isin(draws * 50 + expected, keys)).any():
        expected[hit] = reference_rng.integers(0, 50, size=int(hit.sum()))
    assert np.array_equal(sample_unrated(draws, 50, keys, np.random.default_rng(9)), expected)


@pytest.mark.parametrize("mode", ["implicit", "hard-negatives", "regression"])
def test_an_epoch_streams_every_rating_once_with_fresh_unrated_negatives(mode):
    rng = np.random.default_rng(2)
    users, items = rng.integers(0, 40, 1000), rng.integers(0, 60, 1000)
    pairs = np.unique(users * 60 + items)
    users, items = (pairs // 60).astype(np.int32), (pairs % 60).astype(np.int32)
    stars = rng.choice(np.arange(1, 11) / 2, len(users)).astype(np.float32)
    keys = rated_pair_keys(users, items, 60)

    def epoch(seed):
        return list(epoch_chunks(users, items, stars, n_items=60, mode=mode, negatives_per_positive=3,
                                 rng=np.random.default_rng(seed), rated_keys=keys, chunk_ratings=128))

    chunks = epoch(7)
    assert max(len(chunk) for chunk in chunks) <= 128 * 4  # a chunk, never the epoch
    rows = [np.concatenate([getattr(chunk, name) for chunk in chunks]) for name in ("users", "items", "rating_weight")]
    assert len(rows[0]) == epoch_size(stars, mode=mode, negatives_per_positive=3)
    rated = rows[2] == 1
    assert sorted((rows[0][rated].astype(np.int64) * 60 + rows[1][rated]).tolist()) == pairs.tolist()
    assert not np.isin(rows[0][~rated].astype(np.int64) * 60 + rows[1][~rated], keys).any()
    assert all(np.array_equal(a.items, b.items) for a, b in zip(chunks, epoch(7), strict=True))
    assert not np.array_equal(rows[1], np.concatenate([chunk.items for chunk in epoch(8)]))


def test_blocks_are_whole_batches_cut_across_chunks():
    rng = np.random.default_rng(0)
    chunks = [build_examples(rng.integers(0, 9, n), rng.integers(0, 9, n), np.full(n, 4.0), n_items=500,
                             mode="implicit", negatives_per_positive=1, rng=rng) for n in (7, 30, 2, 11)]
    blocks = list(epoch_blocks(iter(chunks), block_rows=8))
    assert [len(users) for users, _, _ in blocks] == [8] * 12 + [4]
    for got, name in zip(zip(*blocks), ("users", "items")):
        assert np.array_equal(np.concatenate(got), np.concatenate([getattr(chunk, name) for chunk in chunks]))
    assert np.array_equal(np.concatenate([t for _, _, t in blocks]), np.concatenate([c.targets() for c in chunks]))


def test_a_person_who_rated_almost_everything_gets_the_few_unrated_movies():
    """Redraws rarely find the one unrated movie in 100: the rest are drawn from the person's unrated ones."""
    users = np.concatenate([np.zeros(99, np.int64), np.ones(100, np.int64)])
    items = np.concatenate([np.arange(1, 100), np.arange(100)])  # user 0 lacks movie 0; user 1 rated all
    keys = rated_pair_keys(users, items, n_items=100)
    got = sample_unrated(np.repeat([0, 1], 300), 100, keys, np.random.default_rng(4))
    assert set(got[:300].tolist()) == {0}
    assert len(got) == 600  # user 1 keeps draws: there is nothing unrated to give
