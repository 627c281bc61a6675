"""The visitor-learning bench's split: disjoint pools, visitor ids above MovieLens, nested shares."""
import numpy as np
import pandas as pd

from bench.visitor_learning_bench import VISITOR_USER_ID_BASE, people_to_measure, split_visitors


def ratings(n_users=60, n_movies=30, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(user, movie, float(rng.integers(1, 6)), int(rng.integers(0, 10**6)))
            for user in range(1, n_users + 1) for movie in rng.choice(np.arange(1, n_movies + 1), 12, replace=False)]
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"]).astype(
        {"user_id": np.int32, "movie_id": np.int32, "rating": np.float32, "timestamp": np.int64})


def test_split_gives_disjoint_groups_and_visitor_ids_from_the_base():
    frame = ratings()
    split = split_visitors(frame, seed=3)
    movielens = set(split.movielens["user_id"])
    test = set(split.test["user_id"])
    assert len(movielens) == 42 and len(test) == 6 and len(split.pool_order) == 12  # 70% / 30% x (1/3, 2/3)
    assert not movielens & test
    assert sorted(split.pool_order) == list(range(VISITOR_USER_ID_BASE, VISITOR_USER_ID_BASE + 12))
    assert split.pool["user_id"].min() >= VISITOR_USER_ID_BASE > frame["user_id"].max()
    assert len(split.movielens) + len(split.pool) + len(split.test) == len(frame)


def test_shares_are_nested_and_zero_is_movielens_only():
    split = split_visitors(ratings(), seed=3)
    assert split.training_frame(0.0) is split.movielens
    visitors = [set(split.training_frame(share)["user_id"]) - set(split.movielens["user_id"])
                for share in (0.25, 0.5, 1.0)]
    assert [len(v) for v in visitors] == [3, 6, 12]
    assert visitors[0] <= visitors[1] <= visitors[2]


def test_test_people_reveal_the_first_ratings_by_time():
    split = split_visitors(ratings(), seed=3)
    for history, relevant in people_to_measure(split.test, 5):
        assert len(history) == 5 and relevant and not relevant & set(history)


def test_the_base_is_the_sites():
    from movies.engine.visitor_ratings import VISITOR_USER_ID_BASE as SITE_BASE

    assert VISITOR_USER_ID_BASE == SITE_BASE
