"""recsys.sequence: successor counts over time-ordered ratings, and the order histories are read in."""
import numpy as np
import pandas as pd
import pytest

from recsys.protocol import Scorer
from recsys.sequence import NextMoviesScorer, chronological, histories_in_time_order, recency_weights


def _frame(sequences):
    """Ratings from {user: [movie, ...]} in time order (timestamps 0, 1, 2, ... per user)."""
    rows = [(user, movie, 4.0, t) for user, movies in sequences.items() for t, movie in enumerate(movies)]
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])


def test_successor_probabilities_count_later_ratings_with_decay_and_smoothing():
    # User 1 rates 10, 20, 30; user 2 rates 10, 30. With window 2 and decay 0.5:
    # from 10: 20 once at step 1 (1.0) and 30 at step 2 (0.5) for user 1, 30 at step 1 (1.0) for user 2.
    frame = _frame({1: [10, 20, 30], 2: [10, 30]})
    model = NextMoviesScorer(window=2, decay=0.5, smoothing=1.0, min_ratings=1).fit(frame)
    p = model.successors.toarray()
    row = model.items.index(10)
    total = 1.0 + 0.5 + 1.0 + 1.0  # the counts plus the smoothing
    assert p[row, model.items.index(20)] == pytest.approx(1.0 / total)
    assert p[row, model.items.index(30)] == pytest.approx(1.5 / total)
    assert p[row, model.items.index(10)] == 0.0
    # 30 is nobody's predecessor: an empty row. 20 -> 30 once (user 1, step 1).
    assert p[model.items.index(30)].sum() == 0.0
    assert p[model.items.index(20), model.items.index(30)] == pytest.approx(1.0 / 2.0)


def test_successors_never_cross_from_one_person_to_the_next():
    frame = _frame({1: [10, 20], 2: [30, 40]})
    model = NextMoviesScorer(window=5, min_ratings=1).fit(frame)
    p = model.successors.toarray()
    assert p[model.items.index(20), model.items.index(30)] == 0.0
    assert np.count_nonzero(p) == 2  # 10 -> 20 and 30 -> 40 only


def test_the_order_comes_from_timestamps_not_from_the_frame():
    frame = _frame({1: [10, 20]}).iloc[::-1].reset_index(drop=True)  # rows newest first
    model = NextMoviesScorer(min_ratings=1).fit(frame)
    p = model.successors.toarray()
    assert p[model.items.index(10), model.items.index(20)] > 0
    assert p[model.items.index(20), model.items.index(10)] == 0.0


def test_each_movie_keeps_only_its_most_frequent_successors():
    # 10 is followed by 20 (three people), 30 (two) and 40 (one).
    frame = _frame({1: [10, 20], 2: [10, 20], 3: [10, 20], 4: [10, 30], 5: [10, 30], 6: [10, 40]})
    model = NextMoviesScorer(window=1, min_ratings=1, max_successors=2, smoothing=0.0).fit(frame)
    p = model.successors.toarray()
    row = model.items.index(10)
    assert p[row, model.items.index(20)] == pytest.approx(3 / 6)
    assert p[row, model.items.index(30)] == pytest.approx(2 / 6)
    assert p[row, model.items.index(40)] == 0.0  # pruned; the probabilities keep the whole row's total


def test_a_person_is_scored_from_their_latest_ratings_the_latest_counting_most():
    frame = _frame({1: [10, 20], 2: [10, 20], 3: [30, 40], 4: [30, 40]})
    model = NextMoviesScorer(window=1, min_ratings=1, smoothing=0.0, recent=2, recent_decay=0.5).fit(frame)
    assert isinstance(model, Scorer)
    scores = model.score(user_id=None, history={30: 4.0, 10: 5.0})  # 10 is the latest
    assert scores[model.items.index(20)] == pytest.approx(1.0)  # P(20 | 10) = 1, weight 1
    assert scores[model.items.index(40)] == pytest.approx(0.5)  # P(40 | 30) = 1, weight 0.5
    only_latest = NextMoviesScorer(window=1, min_ratings=1, smoothing=0.0, recent=1).fit(frame)
    scores = only_latest.score(user_id=None, history={30: 4.0, 10: 5.0})
    assert scores[only_latest.items.index(40)] == 0.0
    assert model.score(user_id=None, history={}).tolist() == [0.0] * len(model.items)
    assert model.score(user_id=None, history={999: 3.0}).tolist() == [0.0] * len(model.items)


def test_most_rated_movies_are_kept_and_rare_ones_left_out():
    frame = _frame({1: [10, 20, 30], 2: [10, 20], 3: [10]})
    model = NextMoviesScorer(min_ratings=2, max_items=1).fit(frame)
    assert model.items.ids.tolist() == [10]
    with pytest.raises(ValueError, match="enough ratings"):
        NextMoviesScorer(min_ratings=5).fit(frame)


def test_arrays_round_trip_and_bad_arrays_are_refused():
    frame = _frame({1: [10, 20, 30], 2: [20, 30, 10]})
    model = NextMoviesScorer(min_ratings=1).fit(frame)
    back = NextMoviesScorer.from_arrays(*model.arrays().values())
    history = {20: 4.0, 30: 2.0}
    assert back.score(user_id=None, history=history).tolist() == model.score(user_id=None, history=history).tolist()
    arrays = model.arrays()
    with pytest.raises(ValueError, match="do not describe"):
        NextMoviesScorer.from_arrays(arrays["movie_ids"][:2], arrays["indptr"], arrays["indices"], arrays["data"])
    with pytest.raises(RuntimeError, match="not fitted"):
        NextMoviesScorer().score(user_id=None, history=history)


def test_histories_are_oldest_first_with_ties_by_movie_id():
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2], "movie_id": [30, 10, 20, 5], "rating": [1.0, 2.0, 3.0, 4.0],
                          "timestamp": [5, 9, 5, 1]})
    assert [list(h) for h in histories_in_time_order(frame).values()] == [[20, 30, 10], [5]]
    assert chronological(frame)["movie_id"].tolist() == [20, 30, 10, 5]


def test_recency_weights_give_the_latest_rating_the_boost():
    weights = recency_weights(3, boost=3.0, span=1.0)
    assert weights.tolist() == pytest.approx([1 + 3 * np.exp(-2), 1 + 3 * np.exp(-1), 4.0])


def test_predecessors_add_the_films_rated_just_before_with_their_own_normalisation():
    # User 1 rates 10, 20, 30; user 2 rates 10, 30 (window 2, decay 0.5, smoothing 1).
    # Counts (i -> j later): 10->20 1, 10->30 0.5 + 1, 20->30 1.
    frame = _frame({1: [10, 20, 30], 2: [10, 30]})
    plain = NextMoviesScorer(window=2, decay=0.5, smoothing=1.0, min_ratings=1).fit(frame)
    model = NextMoviesScorer(window=2, decay=0.5, smoothing=1.0, min_ratings=1, predecessors=0.5).fit(frame)
    p, q = model.successors.toarray(), plain.successors.toarray()
    at = model.items.index
    # Rated before 30: 10 (1.5) and 20 (1), a total of 2.5, + 1 smoothing.
    assert p[at(30), at(10)] == pytest.approx(0.5 * 1.5 / 3.5)
    assert p[at(30), at(20)] == pytest.approx(0.5 * 1.0 / 3.5)
    # 20: after it 30 (1 / (1 + 1)); before it 10 (1 / (1 + 1)).
    assert p[at(20), at(30)] == pytest.approx(1.0 / 2.0)
    assert p[at(20), at(10)] == pytest.approx(0.5 * 1.0 / 2.0)
    # Nothing is rated before 10: its row is the successors' alone.
    np.testing.assert_allclose(p[at(10)], q[at(10)])
    assert p[at(10), at(10)] == 0.0


def test_predecessors_zero_is_the_successor_model_and_a_negative_weight_is_refused():
    frame = _frame({1: [10, 20, 30, 40], 2: [40, 10, 30], 3: [20, 40]})
    plain = NextMoviesScorer(window=3, min_ratings=1).fit(frame)
    zero = NextMoviesScorer(window=3, min_ratings=1, predecessors=0.0).fit(frame)
    np.testing.assert_array_equal(plain.successors.toarray(), zero.successors.toarray())
    with pytest.raises(ValueError, match="predecessors"):
        NextMoviesScorer(predecessors=-1.0)


def test_predecessors_keep_the_pruning_bound():
    # 10 is followed by 20 and 30 and preceded by 40 and 50: four links, two kept, the largest.
    frame = _frame({1: [40, 10, 20], 2: [40, 10, 20], 3: [50, 10, 30]})
    model = NextMoviesScorer(window=1, min_ratings=1, max_successors=2, smoothing=0.0, predecessors=1.0).fit(frame)
    row = model.successors.toarray()[model.items.index(10)]
    at = model.items.index
    assert np.count_nonzero(row) == 2
    assert row[at(20)] == pytest.approx(2 / 3) and row[at(40)] == pytest.approx(2 / 3)
