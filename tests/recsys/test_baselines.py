"""Baselines on tiny data: closed forms against hand math or a direct NumPy inverse."""
import numpy as np
import pandas as pd
import pytest

from recsys import baselines
from recsys.protocol import Scorer


def frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])


@pytest.fixture
def small():
    # users 1..3 x movies 10, 20, 30
    return frame([(1, 10, 5.0, 1), (1, 20, 4.0, 2), (2, 10, 4.0, 3), (2, 30, 1.0, 4),
                  (3, 10, 3.0, 5), (3, 20, 5.0, 6)])


ALL = [baselines.PopularityScorer, baselines.RecentPopularityScorer, baselines.DampedMeanScorer, baselines.ItemKNNScorer,
       baselines.EASEScorer, lambda: baselines.BiasedMFScorer(factors=2, iterations=3)]


@pytest.mark.parametrize("make", ALL)
def test_every_baseline_follows_the_scorer_contract(make, small):
    scorer = make()
    with pytest.raises(RuntimeError, match="not fitted"):
        scorer.score(user_id=None, history={})
    scorer.fit(small)
    assert isinstance(scorer, Scorer)
    scores = scorer.score(user_id=None, history={10: 4.0, 999: 5.0})  # unknown movie ignored
    assert scores.shape == (3,) and scores.dtype == np.float32 and np.isfinite(scores).all()
    stars = scorer.predict_ratings(user_id=1, history={10: 5.0}, movie_ids=[20, 999])
    assert np.isnan(stars[1])  # unknown movie
    assert np.isnan(stars[0]) != scorer.predicts_ratings


def test_popularity_orders_by_number_of_ratings(small):
    scorer = baselines.PopularityScorer().fit(small)
    np.testing.assert_array_equal(scorer.items.ids, [10, 20, 30])
    np.testing.assert_array_equal(scorer.score(user_id=1, history={}), [3.0, 2.0, 1.0])


def test_recent_popularity_counts_the_likes_before_the_time_asked_and_only_released_films():
    day = 86_400
    ratings = frame([(1, 10, 5.0, 0), (2, 10, 4.0, 365 * day), (1, 20, 4.5, 730 * day), (2, 20, 2.0, 730 * day),
                     (3, 30, 4.0, 1000 * day)])
    scorer = baselines.RecentPopularityScorer(days=365.0, release_years={30: 1972}).fit(ratings)
    tie = np.log1p([2.0, 1.0, 0.0]) / (np.log1p(2.0) + 1.0) * 1e-3  # liked counts up to then break ties
    # Asked at day 730 (1972): 10's likes are 730 and 365 days old, 20's is new, 30's not yet made.
    np.testing.assert_allclose(scorer.score(user_id=None, history={}, at=730 * day),
                               np.log1p([np.exp(-2) + np.exp(-1), 1.0, 0.0]) + tie, rtol=1e-6)
    # At day 10 (1970) film 30 (1972) is not released: never ranked.
    early = scorer.score(user_id=None, history={}, at=10 * day)
    assert np.isneginf(early[2]) and early[0] > 0 and early[1] == 0  # 20 is liked only later
    # At day 400 films 20 and 30 have no like yet: nothing made later lifts either.
    np.testing.assert_array_equal(baselines.RecentPopularityScorer().fit(ratings).score(
        user_id=None, history={}, at=400 * day)[1:], [0.0, 0.0])
    # None: the end of the data.
    np.testing.assert_array_equal(scorer.score(user_id=None, history={}),
                                  scorer.score(user_id=None, history={}, at=1000 * day))


def test_damped_mean_matches_hand_computation(small):
    scorer = baselines.DampedMeanScorer(damping=1.0).fit(small)
    mu = 22.0 / 6
    b10 = (5 + 4 + 3 - 3 * mu) / (3 + 1)
    b20 = (4 + 5 - 2 * mu) / (2 + 1)
    np.testing.assert_allclose(scorer.score(user_id=None, history={})[:2], [mu + b10, mu + b20], rtol=1e-6)
    bu = (5 - mu - b10) / (1 + 1)  # one rating in the history
    np.testing.assert_allclose(scorer.predict_ratings(user_id=None, history={10: 5.0}, movie_ids=[20]),
                               [mu + bu + b20], rtol=1e-6)


def test_ease_matches_the_closed_form_with_a_direct_inverse(small):
    l2 = 2.0
    scorer = baselines.EASEScorer(l2=l2).fit(small)
    x = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0]], dtype=float)
    p = np.linalg.inv(x.T @ x + l2 * np.eye(3))
    expected = np.eye(3) - p / np.diag(p)[None, :]
    np.testing.assert_allclose(scorer.weights, expected, atol=1e-6)
    assert np.all(np.diag(scorer.weights) == 0)
    np.testing.assert_allclose(scorer.score(user_id=None, history={10: 1.0, 30: 2.0}),
                               expected[0] + expected[2], atol=1e-6)


def test_ease_built_in_blocks_matches_the_closed_form(monkeypatch):
    # Blocks of 3 rows over 8 movies: the Gram matrix, the mirror of the inverse's triangle and
    # the scaling all cross block edges (and the last block is short).
    monkeypatch.setattr(baselines, "_EASE_BLOCK", 3)
    rng = np.random.default_rng(4)
    x = (rng.random((30, 8)) < 0.4).astype(float)
    x[0] = 1.0  # every movie rated at least once, so all 8 are kept
    ratings = frame([(u, m + 1, 4.0, 0) for u, m in zip(*np.nonzero(x))])
    scorer = baselines.EASEScorer(l2=3.0).fit(ratings)
    p = np.linalg.inv(x.T @ x + 3.0 * np.eye(8))
    expected = np.eye(8) - p / np.diag(p)[None, :]
    np.testing.assert_allclose(scorer.weights, expected, atol=1e-5)
    assert scorer.weights.dtype == np.float32 and scorer.weights.flags.c_contiguous


def test_mirror_upper_to_lower_makes_the_matrix_symmetric_across_blocks():
    upper = np.triu(np.arange(49, dtype=np.float32).reshape(7, 7))
    matrix = upper + np.tril(np.full((7, 7), -1.0, np.float32), -1)  # garbage below the diagonal
    baselines._mirror_upper_to_lower(matrix, block=3)
    np.testing.assert_array_equal(matrix, upper + np.triu(upper, 1).T)


def test_item_knn_prefers_movies_co_rated_with_the_history():
    ratings = frame([(u, m, 4.0, 0) for u in range(1, 5) for m in (1, 2)] + [(5, 3, 4.0, 0), (5, 4, 4.0, 0)])
    scorer = baselines.ItemKNNScorer(neighbours=2, shrinkage=0.0).fit(ratings)
    scores = scorer.score(user_id=None, history={1: 5.0})
    assert scores[1] == pytest.approx(1.0)  # movies 1 and 2 have the same raters: cosine 1
    assert scores[2] == scores[3] == 0.0


def test_biased_mf_fits_a_low_rank_matrix_and_folds_in_new_people():
    rng = np.random.default_rng(0)
    users, items = rng.normal(0, 0.5, (40, 2)), rng.normal(0, 0.5, (25, 2))
    truth = 3.0 + users @ items.T
    ratings = frame([(u, i, truth[u, i], 0) for u in range(40) for i in range(25)])
    mf = baselines.BiasedMFScorer(factors=2, reg=1e-4, bias_reg=1e-4, iterations=25, seed=1).fit(ratings)
    predicted = np.stack([mf.predict_ratings(user_id=u, history={}, movie_ids=range(25)) for u in range(40)])
    assert np.sqrt(np.mean((predicted - truth) ** 2)) < 0.02
    # a new person with user 0's ratings, folded in, predicts user 0's row
    history = {i: float(truth[0, i]) for i in range(25)}
    folded = mf.predict_ratings(user_id=None, history=history, movie_ids=range(25))
    np.testing.assert_allclose(folded, truth[0], atol=0.05)


def test_fold_in_solves_the_ridge_problem_exactly(small):
    mf = baselines.BiasedMFScorer(factors=2, reg=0.3, bias_reg=2.0, iterations=3, seed=0).fit(small)
    history = {10: 5.0, 30: 2.0}
    vector, bias = mf.fold_in(history)
    rows = mf.items.indices(list(history))
    f = np.hstack([mf.item_factors[rows], np.ones((2, 1))])
    t = np.array(list(history.values())) - mf.mean - mf.item_bias[rows]
    a = f.T @ f + np.diag([0.3 * 2, 0.3 * 2, 2.0])
    expected = np.linalg.solve(a, f.T @ t)
    np.testing.assert_allclose(np.append(vector, bias), expected, atol=1e-6)


def test_an_als_half_step_solves_each_groups_ridge_problem():
    rng = np.random.default_rng(4)
    groups, others = rng.integers(0, 6, 80), rng.integers(0, 9, 80)
    features, targets = rng.normal(size=(9, 4)), rng.normal(size=80)
    reg, const_reg = np.array([0.2, 0.2, 0.2, 0.0]), np.array([0.0, 0.0, 0.0, 3.0])
    solved = baselines._ridge_step(baselines._Links(groups, others, 7, 9), features, targets, reg, const_reg)
    for group in range(6):
        mine = groups == group
        f = features[others[mine]]
        a = f.T @ f + np.diag(mine.sum() * reg + const_reg + 1e-8)
        np.testing.assert_allclose(solved[group], np.linalg.solve(a, f.T @ targets[mine]), rtol=1e-10, atol=1e-12)
    assert solved.shape == (7, 4) and not solved[6].any()  # group 6 has no ratings


def test_a_biased_mf_rebuilt_from_its_item_side_folds_people_in_identically(small):
    fitted = baselines.BiasedMFScorer(factors=3, reg=0.3, bias_reg=2.0, iterations=3, seed=0).fit(small)
    side = fitted.item_side()
    assert sorted(side) == ["item_bias", "item_factors", "movie_ids", "params"]
    loaded = baselines.BiasedMFScorer.from_item_side(side["movie_ids"], side["item_factors"], side["item_bias"],
                                                     side["params"])
    history, movies = {10: 5.0, 30: 2.0, 999: 4.0}, [10, 20, 30, 999]
    expected = fitted.predict_ratings(user_id=None, history=history, movie_ids=movies)
    # float32 item side: the stars agree to float32 precision; an unknown movie stays NaN
    np.testing.assert_allclose(loaded.predict_ratings(user_id=None, history=history, movie_ids=movies), expected,
                               rtol=1e-5)
    assert np.isnan(expected[3])
    # It knows no training user: everybody is folded in.
    user = int(small["user_id"].iloc[0])
    np.testing.assert_array_equal(loaded.predict_ratings(user_id=user, history=history, movie_ids=movies),
                                  loaded.predict_ratings(user_id=None, history=history, movie_ids=movies))


@pytest.mark.parametrize("change, message", [
    (lambda s: {**s, "item_bias": s["item_bias"][:-1]}, "biases"),
    (lambda s: {**s, "movie_ids": s["movie_ids"][::-1]}, "increasing"),
    (lambda s: {**s, "params": np.array([3.5, np.nan, 1.0])}, "params"),
])
def test_a_broken_item_side_is_refused(small, change, message):
    side = change(baselines.BiasedMFScorer(factors=2, iterations=1).fit(small).item_side())
    with pytest.raises(ValueError, match=message):
        baselines.BiasedMFScorer.from_item_side(side["movie_ids"], side["item_factors"], side["item_bias"],
                                                side["params"])


def test_capped_ease_keeps_the_most_rated_movies_only():
    # Movie 1: 4 ratings, 2: 3, 3: 2, 4: 2, 5: 1.
    rows = [(u, m, 4.0, 0) for m, users in {1: [1, 2, 3, 4], 2: [1, 2, 3], 3: [1, 2], 4: [3, 4], 5: [1]}.items()
            for u in users]
    ease = baselines.EASEScorer(l2=1.0, max_items=3, min_ratings=2).fit(frame(rows))
    # Three of the four movies with >= 2 ratings; the tie between 3 and 4 goes to the lower id.
    assert sorted(ease.items.ids.tolist()) == [1, 2, 3]
    assert ease.weights.shape == (3, 3)
    assert baselines.EASEScorer(l2=1.0, min_ratings=2).fit(frame(rows)).items.ids.tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="no movie has enough ratings"):
        baselines.EASEScorer(min_ratings=10).fit(frame(rows))


def test_ease_from_saved_weights_scores_like_the_fitted_one(structured_frame):
    fitted = baselines.EASEScorer(l2=10.0).fit(structured_frame)
    loaded = baselines.EASEScorer.from_weights(fitted.items.ids, fitted.weights)
    history = {1: 5.0, 7: 4.0, 30: 1.0}
    np.testing.assert_array_equal(loaded.score(user_id=None, history=history),
                                  fitted.score(user_id=None, history=history))
    with pytest.raises(ValueError, match="do not match"):
        baselines.EASEScorer.from_weights(fitted.items.ids[:-1], fitted.weights)


def test_ials_follows_the_scorer_contract_and_folds_in_by_the_closed_form(small):
    scorer = baselines.IALSScorer(factors=2, reg=0.5, unobserved_weight=0.2, iterations=3, seed=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        scorer.score(user_id=None, history={})
    scorer.fit(small)
    assert isinstance(scorer, Scorer) and not scorer.predicts_ratings
    h = scorer.item_factors
    rows = scorer.items.indices([10, 30])
    # (H_u^T H_u + alpha0 H^T H + lam (|I_u| + alpha0 |I|) I) w = H_u^T 1, with |I_u| = 2, |I| = 3
    a = h[rows].T @ h[rows] + 0.2 * h.T @ h + 0.5 * (2 + 0.2 * 3) * np.eye(2)
    w = np.linalg.solve(a, h[rows].sum(axis=0))
    scores = scorer.score(user_id=None, history={10: 1.0, 30: 5.0, 999: 4.0})  # stars and unknown movies ignored
    np.testing.assert_allclose(scores, h @ w, rtol=1e-5)
    assert scores.dtype == np.float32
    np.testing.assert_array_equal(scorer.score(user_id=None, history={}), np.zeros(3, np.float32))


def test_ials_recovers_two_camps(structured_frame):
    scorer = baselines.IALSScorer(factors=4, reg=0.01, unobserved_weight=0.1, iterations=8, seed=0)
    scorer.fit(structured_frame[structured_frame["rating"] >= 4])  # who liked what: two blocks
    scores = scorer.score(user_id=None, history={1: 5.0, 2: 5.0, 3: 5.0})
    order = scorer.items.ids[np.argsort(-scores)]
    assert set(order[:10]) <= set(range(1, 21))  # camp one's movies first
