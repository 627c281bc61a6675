"""recsys.ranking.tuning: validation cases, the weight grid, the NDCG of a weight mix, tune_product."""
import numpy as np
import pandas as pd
import pytest

from recsys.data.vocabulary import Vocabulary
from recsys.ncf.scorer import NCFScorer
from recsys.ranking.ranker import WeightSchedule
from recsys.ranking.tuning import (
    TuningCase,
    _Prepared,
    cold_cases,
    mean_ndcg,
    tune_product,
    tune_weights,
    warm_cases,
    weight_grid,
)
from tests.recsys.conftest import tiny_config


class FixedParts:
    """A ranker stand-in whose parts are the same for everybody."""

    def __init__(self, ids, parts):
        self.items = Vocabulary(ids)
        self._parts = np.asarray(parts, np.float32)

    def parts(self, *, user_id, history):
        return self._parts.copy()


def test_weight_grid_sums_to_one():
    grid = weight_grid(0.5)
    assert sorted(grid) == sorted([(0, 0, 1), (0, 0.5, 0.5), (0, 1, 0), (0.5, 0, 0.5), (0.5, 0.5, 0), (1, 0, 0)])


def test_tuning_picks_the_part_that_finds_the_relevant_movie():
    # Part 1 ranks movie 5 first; people whose later favourite is 5 want it.
    ranker = FixedParts([1, 3, 4, 5], [[4, 3, 2, 1], [1, 2, 3, 4], [2, 4, 3, 1]])
    cases = [TuningCase({1: 5.0}, {5}), TuningCase({3: 4.0}, {5}), TuningCase({4: 4.0}, {99})]
    best, results = tune_weights(ranker, cases, grid=[(1, 0, 0), (0, 1, 0), (0, 0, 1)], k=1)
    assert best == (0.0, 1.0, 0.0)
    assert [r["ndcg"] for r in results] == [0.0, 1.0, 0.0]
    # No case with a findable relevant movie: no choice at all.
    assert tune_weights(ranker, [TuningCase({1: 5.0}, {99})], grid=[(1, 0, 0)])[0] is None


def test_mean_ndcg_mixes_each_person_by_their_count():
    items = Vocabulary([10, 20, 30])
    # Part 0 ranks movie 10 first, part 2 ranks movie 30 first.
    parts = np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]], np.float32)
    new_person = _Prepared(parts, np.array([], np.int64), {30}, n_ratings=2)
    regular_person = _Prepared(parts, np.array([], np.int64), {10}, n_ratings=50)
    weights = WeightSchedule(new=(0.0, 0.0, 1.0), regular=(1.0, 0.0, 0.0), new_until=5, regular_from=10)
    # Each person's relevant movie is first under their own weights: NDCG@1 = 1 for both.
    assert mean_ndcg([new_person, regular_person], items, weights.for_count, k=1) == 1.0
    swapped = WeightSchedule(new=(1.0, 0.0, 0.0), regular=(0.0, 0.0, 1.0), new_until=5, regular_from=10)
    assert mean_ndcg([new_person, regular_person], items, swapped.for_count, k=1) == 0.0


def test_cold_cases_reveal_first_k_by_time():
    ratings = pd.DataFrame({"user_id": [1, 1, 1, 2], "movie_id": [10, 11, 12, 10],
                            "rating": [4.0, 2.0, 5.0, 5.0], "timestamp": [3, 1, 2, 1]})
    cases = cold_cases(ratings, k=1)
    assert len(cases) == 1
    assert cases[0].history == {11: 2.0} and cases[0].relevant == {12, 10}


def test_warm_cases_pair_fitting_history_with_held_out_likes():
    fit = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [10, 11, 10], "rating": [4.0, 2.0, 3.0]})
    held = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [12, 13, 14], "rating": [5.0, 1.0, 2.0]})
    cases = warm_cases(fit, held)
    assert len(cases) == 1
    assert (cases[0].user_id, cases[0].history, cases[0].relevant) == (1, {10: 4.0, 11: 2.0}, {12})


@pytest.mark.slow
def test_tune_product_picks_weights_and_schedule_from_the_grids(structured_frame):
    grid = [(0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.5, 0.5)]
    schedule = [(5, 10), (10, 20)]
    weights, results = tune_product(structured_frame, None, lambda: NCFScorer(tiny_config(epochs=2)), grid=grid,
                                    schedule_grid=schedule, min_regular_ratings=1)
    assert isinstance(weights, WeightSchedule)
    assert [r["weights"] for r in results["new"]] == grid
    assert weights.new == max(results["new"], key=lambda r: (r["ndcg"], r["weights"]))["weights"]
    assert weights.regular == max(results["regular"], key=lambda r: (r["ndcg"], r["weights"]))["weights"]
    assert [(r["new_until"], r["regular_from"]) for r in results["schedule"]] == schedule
    best = max(results["schedule"], key=lambda r: (round(r["warm"] + r["cold"], 10), -r["new_until"]))
    assert (weights.new_until, weights.regular_from) == (best["new_until"], best["regular_from"])
