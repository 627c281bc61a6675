"""recsys.ranking.tuning: validation cases, the weight grid, the NDCG of a weight mix, tune_product."""
import numpy as np
import pandas as pd
import pytest

from recsys.data.vocabulary import Vocabulary
from recsys.ncf.scorer import NCFScorer
from recsys.ranking.ranker import WeightSchedule
from recsys.ranking.tuning import (
    TuningCase,
    _choose,
    _Prepared,
    cold_cases,
    coverage,
    loo_cases,
    mean_ndcg,
    prepare,
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


def test_loo_cases_hold_the_next_rating_against_never_rated_negatives():
    fit = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [10, 11, 10], "rating": [4.0, 2.0, 3.0],
                        "timestamp": [1, 2, 1]})
    # user 1's held-out ratings: 13 and 12 at the same time -> the lower id, 12, whatever its stars
    held = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [13, 12, 14], "rating": [5.0, 1.0, 2.0],
                         "timestamp": [7, 7, 3]})
    catalog = np.array([10, 11, 12, 13, 14, 15, 16])
    cases = loo_cases(fit, held, catalog, n_negatives=2, seed=5)
    assert [(c.user_id, c.relevant) for c in cases] == [(1, {12}), (2, {14})]
    assert cases[0].history == {10: 4.0, 11: 2.0}
    # user 1 rated neither 14, 15 nor 16: two of them, drawn with default_rng([5, 1])
    expected = np.sort(np.random.default_rng([5, 1]).choice(np.array([14, 15, 16]), size=2, replace=False))
    np.testing.assert_array_equal(cases[0].candidates, expected)
    assert loo_cases(fit, held, catalog, n_negatives=4, seed=5)[0].user_id == 2  # user 1 has only 3 unrated


def test_prepared_loo_case_ranks_only_its_candidates():
    # part 0 ranks 1, 3, 4, 5; the case allows only 4 (negative) and 5 (relevant)
    ranker = FixedParts([1, 3, 4, 5], [[4, 3, 2, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    prepared = prepare(ranker, [TuningCase({}, {5}, candidates=np.array([4]))])
    assert prepared[0].allowed.tolist() == [2, 3]
    # 4 then 5: NDCG@10 = 1 / log2(3); coverage = 2 of 4 movies
    assert mean_ndcg(prepared, ranker.items, lambda _n: (1, 0, 0)) == pytest.approx(1 / np.log2(3))
    assert coverage(prepared, ranker.items, lambda _n: (1, 0, 0)) == 0.5


def test_choose_sums_objectives_relative_to_their_best_and_honours_a_floor():
    results = [{"weights": "a", "warm": 0.10, "loo": 0.50, "cov": 0.01},
               {"weights": "b", "warm": 0.08, "loo": 0.60, "cov": 0.05},
               {"weights": "c", "warm": 0.05, "loo": 0.60, "cov": 0.09}]
    # relative sums: a 1 + 0.833 = 1.833, b 0.8 + 1 = 1.8, c 0.5 + 1 = 1.5
    assert _choose(results, ["warm", "loo"])["weights"] == "a"
    assert _choose(results, ["warm", "loo"], floor_key="cov", floor=0.03)["weights"] == "b"
    assert _choose(results, ["warm"], floor_key="cov", floor=0.5)["weights"] == "a"  # nobody reaches it


@pytest.mark.slow
def test_tune_product_picks_weights_and_schedule_from_the_grids(structured_frame):
    grid = [(0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.5, 0.5)]
    schedule = [(5, 10), (10, 20)]
    weights, results = tune_product(structured_frame, None, lambda: NCFScorer(tiny_config(epochs=2)), grid=grid,
                                    schedule_grid=schedule, min_regular_ratings=1)
    assert isinstance(weights, WeightSchedule)
    assert [r["weights"] for r in results["new"]] == grid
    assert weights.new == _choose(results["new"], ["ndcg"], floor_key="coverage", floor=0.03)["weights"]
    assert weights.regular == _choose(results["regular"], ["warm", "loo"])["weights"]
    assert [(r["new_until"], r["regular_from"]) for r in results["schedule"]] == schedule
    best = _choose(results["schedule"], ["warm", "cold", "loo"])
    assert (weights.new_until, weights.regular_from) == (best["new_until"], best["regular_from"])
