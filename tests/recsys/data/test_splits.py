"""Splits: exact test rows on hand-built frames, seeded determinism, no leakage."""
import numpy as np
import pandas as pd
import pytest

from recsys.data import splits


def frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])


@pytest.fixture
def ratings():
    rows = []
    # user 1: 5 ratings at times 1..5 -> the last one (movie 105) is the test set
    rows += [(1, 100 + t, 4.0, t) for t in range(1, 6)]
    # user 2: 10 ratings; the last two by time tie at t=50 with a third, broken by movie id
    rows += [(2, 200 + t, 3.0, t) for t in range(1, 8)]
    rows += [(2, 299, 5.0, 50), (2, 250, 2.0, 50), (2, 260, 1.0, 50)]
    # user 3: a single rating stays in training
    rows += [(3, 300, 3.5, 7)]
    return frame(rows).sample(frac=1.0, random_state=0)  # input order must not matter


def test_warm_split_holds_out_each_users_last_fifth_by_time(ratings):
    split = splits.warm_split(ratings)
    test = sorted(map(tuple, split.test[["user_id", "movie_id"]].to_numpy().tolist()))
    # user 2 at t=50 sorted by movie id: 250, 260, 299 -> the last two are 260 and 299
    assert test == [(1, 105), (2, 260), (2, 299)]
    assert len(split.train) + len(split.test) == len(ratings)
    merged = split.train.merge(split.test, on=["user_id", "movie_id"])
    assert merged.empty
    assert "last 20%" in split.description


def test_n_test_ratings_rounds_half_up_and_keeps_one_in_training():
    np.testing.assert_array_equal(splits.n_test_ratings([1, 2, 5, 7, 8, 20], 0.2), [0, 1, 1, 1, 2, 4])


def _many_users(n_users=20, per_user=12):
    rng = np.random.default_rng(0)
    rows = [(u, int(m), 3.0, int(t)) for u in range(1, n_users + 1)
            for t, m in enumerate(rng.choice(50, size=per_user, replace=False))]
    return frame(rows)


def test_cold_split_is_seeded_and_removes_cold_users_from_training():
    ratings = _many_users()
    a, b = splits.cold_split(ratings, seed=7), splits.cold_split(ratings, seed=7)
    np.testing.assert_array_equal(a.cold_users, b.cold_users)
    assert len(a.cold_users) == 4  # 20% of 20
    assert not set(a.train["user_id"]) & set(a.cold_users)
    assert set(a.cold_ratings["user_id"]) == set(a.cold_users)
    others = [tuple(splits.cold_split(ratings, seed=s).cold_users) for s in range(5)]
    assert len(set(others)) > 1


def test_reveal_gives_the_first_k_ratings_by_time_and_skips_short_users():
    ratings = frame([(1, 10, 4.0, 3), (1, 11, 3.0, 1), (1, 12, 5.0, 2), (1, 13, 2.0, 4),
                     (2, 20, 4.0, 1), (2, 21, 4.0, 2)] + [(9, 90 + i, 3.0, i) for i in range(5)])
    cold = splits.ColdSplit(train=ratings[ratings.user_id == 9], cold_ratings=splits._chronological(
        ratings[ratings.user_id < 9]), cold_users=np.array([1, 2]), description="")
    reveal = cold.reveal(2)
    assert reveal.history[["user_id", "movie_id"]].values.tolist() == [[1, 11], [1, 12]]
    assert reveal.test[["user_id", "movie_id"]].values.tolist() == [[1, 10], [1, 13]]
    np.testing.assert_array_equal(reveal.users, [1])
    np.testing.assert_array_equal(reveal.skipped_users, [2])  # 2 ratings < k + 1


def test_validation_split_uses_only_training_rows_and_is_seeded():
    train = _many_users()
    by_time = splits.validation_split(train, fraction=0.25)
    assert len(by_time.train) + len(by_time.test) == len(train)
    assert (by_time.test.groupby("user_id").size() == 3).all()
    first = splits.validation_split(train, fraction=0.25, by="random", seed=3)
    again = splits.validation_split(train, fraction=0.25, by="random", seed=3)
    pd.testing.assert_frame_equal(first.test, again.test)
    assert first.train.merge(first.test, on=["user_id", "movie_id"]).empty
    with pytest.raises(ValueError, match="explicit seed"):
        splits.validation_split(train, by="random")


def test_bad_fractions_are_refused(ratings):
    with pytest.raises(ValueError):
        splits.warm_split(ratings, test_fraction=1.0)
    with pytest.raises(ValueError):
        splits.cold_split(ratings, user_fraction=0.0)
    with pytest.raises(ValueError, match="lacks columns"):
        splits.warm_split(ratings.drop(columns="timestamp"))


def _loo_frame():
    # user 1: movies 10 (t=1), 20 (t=5), 30 (t=5): the latest time ties, so 30 (higher id) is held out.
    # user 2: 10 (t=1), 40 (t=2) -> 40 held out. user 3: a single rating -> kept in training, not tested.
    # user 4: 20 (t=1), 50 (t=9) -> 50 held out, but nobody else rated 50: skipped.
    rows = [(1, 10, 4.0, 1), (1, 20, 2.0, 5), (1, 30, 1.0, 5), (2, 10, 5.0, 1), (2, 40, 3.0, 2),
            (3, 60, 4.0, 1), (4, 20, 4.0, 1), (4, 50, 5.0, 9), (5, 30, 3.0, 1), (5, 40, 3.0, 1),
            (5, 60, 3.0, 1), (5, 80, 2.0, 0)]
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])


def test_leave_one_out_holds_out_the_latest_rating_whatever_its_stars():
    split = splits.leave_one_out_split(_loo_frame(), n_negatives=2, seed=3)
    held = dict(zip(split.test["user_id"], split.test["movie_id"]))
    assert held == {1: 30, 2: 40, 5: 60}  # user 5: three at t=1 -> the highest id, 60
    assert split.test.set_index("user_id").loc[1, "rating"] == 1.0  # a 1-star rating is still the test item
    assert split.skipped_users.tolist() == [3, 4]
    assert len(split.train) == 12 - 4  # the held-out rows of users 1, 2, 4, 5 leave training
    assert not ((split.train["user_id"] == 4) & (split.train["movie_id"] == 50)).any()


def test_leave_one_out_negatives_are_never_rated_seeded_per_person():
    split = splits.leave_one_out_split(_loo_frame(), n_negatives=2, seed=3)
    catalog = set(split.train["movie_id"])  # 10, 20, 30, 40, 60, 80 (50 only in user 4's test)
    assert catalog == {10, 20, 30, 40, 60, 80}
    rated = _loo_frame().groupby("user_id")["movie_id"].apply(set)
    for user, negatives in split.negatives.items():
        assert len(set(negatives)) == 2 and set(negatives) <= catalog - rated[user]
    # user 1 never rated 40, 60, 80: the draw is default_rng([3, 1]).choice of them
    expected = np.sort(np.random.default_rng([3, 1]).choice(np.array([40, 60, 80]), size=2, replace=False))
    np.testing.assert_array_equal(split.negatives[1], expected)
    again = splits.leave_one_out_split(_loo_frame(), n_negatives=2, seed=3)
    assert all(np.array_equal(again.negatives[u], split.negatives[u]) for u in split.negatives)
    other = splits.leave_one_out_split(_loo_frame().query("user_id != 2"), n_negatives=2, seed=3)
    np.testing.assert_array_equal(other.negatives[1], split.negatives[1])  # independent of other people


def test_leave_one_out_skips_people_with_too_few_unrated_movies():
    split = splits.leave_one_out_split(_loo_frame(), n_negatives=4, seed=3)
    # user 2 never rated 20, 30, 60, 80 (4): kept; user 1 only 40, 60, 80 (3): skipped
    assert 2 in split.negatives and 1 not in split.negatives
    assert 1 in split.skipped_users
