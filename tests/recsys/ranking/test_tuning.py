"""recsys.ranking.tuning: validation cases, the weight grid, the NDCG of a weight mix, the content gate,
tune_product."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from recsys.baselines import BiasedMFScorer
from recsys.data.vocabulary import Vocabulary
from recsys.ncf.scorer import NCFScorer
from recsys.ranking.ranker import ContentGate, Ranker, WeightSchedule
from recsys.ranking.tuning import (
    GATE_GRID,
    STARS_SHARE_GRID,
    TuningCase,
    _Prepared,
    cold_cases,
    gated,
    loo_cases,
    mean_ndcg,
    prepare,
    tune_gate,
    tune_product,
    tune_stars_share,
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


def test_mean_ndcg_never_ranks_a_film_not_released_at_the_persons_time():
    items = Vocabulary([10, 20, 30])
    parts = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]], np.float32)
    weights = WeightSchedule(new=(0.0, 0.0, 1.0), regular=(0.0, 0.0, 1.0), new_until=5, regular_from=10)
    released = _Prepared(parts, np.array([], np.int64), {20}, n_ratings=2)
    assert mean_ndcg([released], items, weights.for_count, k=1) == 0.0  # 30 comes first
    later = _Prepared(parts, np.array([], np.int64), {20}, n_ratings=2, unavailable=np.array([2]))
    assert mean_ndcg([later], items, weights.for_count, k=1) == 1.0


class TimedParts(FixedParts):
    """A FixedParts that reads time: movie 30 is out only from time 100 on."""

    reads_time = True

    def parts(self, *, user_id, history, at=None):
        self.asked = at
        return self._parts.copy()

    def unavailable(self, at):
        return None if at is None or at >= 100 else np.array([2])


def test_prepare_asks_at_each_cases_time_and_keeps_out_what_was_not_released():
    ranker = TimedParts([10, 20, 30], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]])
    weights = WeightSchedule(new=(0.0, 0.0, 1.0), regular=(0.0, 0.0, 1.0), new_until=5, regular_from=10)
    early, late = (prepare(ranker, [TuningCase({10: 4.0}, {20}, at=at)]) for at in (50.0, 150.0))
    assert early[0].unavailable.tolist() == [2] and late[0].unavailable is None
    assert ranker.asked == 150.0
    # Early, 30 is out, so 20 is first; late, 30 comes first.
    assert mean_ndcg(early, ranker.items, weights.for_count, k=1) == 1.0
    assert mean_ndcg(late, ranker.items, weights.for_count, k=1) == 0.0


def test_cold_cases_reveal_first_k_by_time():
    ratings = pd.DataFrame({"user_id": [1, 1, 1, 2], "movie_id": [10, 11, 12, 10],
                            "rating": [4.0, 2.0, 5.0, 5.0], "timestamp": [3, 1, 2, 1]})
    cases = cold_cases(ratings, k=1)
    assert len(cases) == 1
    assert cases[0].history == {11: 2.0} and cases[0].relevant == {12, 10}
    assert cases[0].at == 1.0  # asked at the time of the last revealed rating
    assert cold_cases(ratings, k=2)[0].at == 2.0


def test_warm_cases_pair_fitting_history_with_held_out_likes():
    fit = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [10, 11, 10], "rating": [4.0, 2.0, 3.0],
                        "timestamp": [7, 3, 1]})
    held = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [12, 13, 14], "rating": [5.0, 1.0, 2.0]})
    cases = warm_cases(fit, held)
    assert len(cases) == 1
    assert (cases[0].user_id, cases[0].history, cases[0].relevant) == (1, {11: 2.0, 10: 4.0}, {12})
    assert list(cases[0].history) == [11, 10]  # oldest first: the ranker reads the latest ratings most
    assert cases[0].at == 7.0


def test_loo_cases_rank_the_next_rating_whatever_its_stars_against_never_rated_movies():
    fit = pd.DataFrame({"user_id": [1, 1, 2, 2, 2], "movie_id": [10, 11, 10, 12, 13],
                        "rating": [4.0, 2.0, 3.0, 5.0, 1.0], "timestamp": [1, 2, 1, 2, 3]})
    # Person 1's first held-out rating is movie 12 (time 5; 14 came later), 1 star: still the target.
    held = pd.DataFrame({"user_id": [1, 1, 2], "movie_id": [14, 12, 11], "rating": [5.0, 1.0, 4.0],
                         "timestamp": [6, 5, 4]})
    cases = loo_cases(fit, held, n_negatives=1, seed=0)
    # Person 2 rated every movie of the fitting catalog (11 held out): no negative to draw, skipped.
    assert [(c.user_id, c.history, c.relevant, c.at) for c in cases] == [(1, {10: 4.0, 11: 2.0}, {12}, 2.0)]
    # Negatives: movies of the fitting catalog the person never rated, fitting or held out.
    assert cases[0].candidates.tolist() == [13]
    assert loo_cases(fit, held, n_negatives=2) == []
    # Fixed per person and seed.
    many = pd.DataFrame({"user_id": [1] * 30, "movie_id": range(100, 130), "rating": 3.0, "timestamp": range(30)})
    fit_many = pd.concat([fit, many.assign(user_id=3)])
    draws = [loo_cases(fit_many, held, n_negatives=5, seed=s)[0].candidates.tolist() for s in (7, 7, 8)]
    assert draws[0] == draws[1] != draws[2] and len(set(draws[0])) == 5


def test_mean_ndcg_ranks_a_leave_one_out_case_among_its_candidates_only():
    ranker = FixedParts([1, 2, 3, 4], [[4, 3, 2, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    case = TuningCase({1: 5.0}, {3}, candidates=np.array([4]))
    # Among movies 3 and 4 only (1 is rated, 2 is not a candidate), part 0 puts 3 first.
    assert mean_ndcg(prepare(ranker, [case]), ranker.items, lambda _n: (1, 0, 0), k=1) == 1.0
    whole = TuningCase({1: 5.0}, {3})
    assert mean_ndcg(prepare(ranker, [whole]), ranker.items, lambda _n: (1, 0, 0), k=1) == 0.0


def _person(parts, relevant, ranked=None):
    return _Prepared(np.asarray(parts, np.float32), np.array([], np.int64), relevant, n_ratings=50,
                     ranked=None if ranked is None else np.asarray(ranked))


def test_gated_moves_only_the_content_part():
    person = _person([[2.0, -2.0], [1.5, -40.0], [0.0, 1.0]], {0})  # 50 ratings
    schedule = WeightSchedule(new=(0, 0, 1), regular=(1, 0, 0), new_until=5, regular_from=30)
    (out,) = gated([person], ContentGate(centre=1.5, width=0.25), schedule)
    np.testing.assert_allclose(out.parts, [[0.0, -2.0], [1.5, -40.0], [0.0, 1.0]], atol=1e-6)
    assert person.parts[0, 0] == 2.0  # the input is left alone
    assert gated([person], None, schedule)[0] is person
    # At 17.5 ratings, half-way to regular: half the gate (keeps 1 - 0.5 * 0.5 of row 0's score).
    halfway = replace(person, n_ratings=17.5)
    np.testing.assert_allclose(gated([halfway], ContentGate(centre=1.5, width=0.25), schedule)[0].parts[0],
                               [0.75 * 2.0 + 0.25 * -2.0, -2.0], atol=1e-6)


def test_tune_gate_takes_the_best_leave_one_out_gate_that_keeps_warm_and_cold():
    items = Vocabulary([1, 2, 3])
    # Row 0: strong content, implausible to the collaborative part; row 1 the reverse.
    parts = [[3.0, 0.0, -3.0], [-3.0, 2.0, 1.0], [0.0, 0.0, 0.0]]
    schedule = WeightSchedule(new=(0.6, 0.4, 0.0), regular=(0.6, 0.4, 0.0), new_until=5, regular_from=30)
    # Ungated scores 0.6, 0.8, -1.4. Gated at centre 1, row 0 keeps nothing (-3) and row 1 nearly all
    # of its content: scores -3.0, 0.77, -1.4.
    warm = [_person(parts, {1})]  # movie 1, row 0: second ungated (1 / log2 3), third gated (1 / 2)
    cold = [_person(parts, {2})]  # movie 2, row 1: first either way
    loo = [_person(parts, {3}, ranked=[0, 2])]  # movie 3 (row 2) against row 0: second ungated, first gated
    gates = [None, ContentGate(centre=1.0, width=0.25), ContentGate(centre=-10.0, width=0.25)]
    gate, results = tune_gate(warm, loo, cold, items_warm=items, items_cold=items, schedule=schedule, gates=gates)
    second = 1 / np.log2(3)
    assert [r["gate"] for r in results] == [None, (1.0, 0.25), (-10.0, 0.25)]
    np.testing.assert_allclose([[r["warm"], r["loo"], r["cold"]] for r in results],
                               [[second, second, 1.0], [0.5, 1.0, 1.0], [second, second, 1.0]], atol=1e-6)
    # The gate that wins leave-one-out costs warm 21%: not within 1%, so no gate (first among equals).
    assert gate is None
    # Allowed to cost warm a quarter, it is taken.
    assert tune_gate(warm, loo, cold, items_warm=items, items_cold=items, schedule=schedule, gates=gates,
                     tolerance=0.25)[0] == gates[1]
    assert GATE_GRID[0] is None and ContentGate(centre=1.5, width=0.25) in GATE_GRID


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
    # Without a content index there is no gate to tune.
    assert results["gate"] == [] and results["content_gate"] is None
    # The stars' share: the lowest validation RMSE of the grid.
    assert [r["share"] for r in results["stars"]] == list(STARS_SHARE_GRID)
    assert results["stars_ncf_share"] == min(results["stars"], key=lambda r: r["rmse"])["share"]


def test_the_stars_share_is_the_one_with_the_lowest_held_out_rmse(structured_frame):
    from recsys.data.splits import validation_split

    inner = validation_split(structured_frame, by="time")
    ranker = Ranker(NCFScorer(tiny_config(epochs=2)), ease=None, content=None,
                    stars_mf=BiasedMFScorer(factors=2, iterations=3)).fit(inner.train)
    share, results = tune_stars_share(ranker, inner.train, inner.test, shares=(0.0, 0.5, 1.0))
    histories = {u: dict(zip(g.movie_id, g.rating)) for u, g in inner.train.groupby("user_id")}
    for result in results:
        ranker.stars_ncf_share = result["share"]
        predicted = np.concatenate([ranker.predict_ratings(user_id=u, history=histories.get(u, {}),
                                                           movie_ids=g.movie_id.to_numpy())
                                    for u, g in inner.test.groupby("user_id")])
        actual = np.concatenate([g.rating.to_numpy() for _, g in inner.test.groupby("user_id")])
        known = ~np.isnan(predicted)  # a movie first rated in the held-out part has no stars
        assert 0 < known.sum() < known.size
        assert result["rmse"] == pytest.approx(np.sqrt(np.mean((predicted[known] - actual[known]) ** 2)), rel=1e-5)
    assert share == min(results, key=lambda r: r["rmse"])["share"]
    with pytest.raises(ValueError, match="stars MF"):
        tune_stars_share(Ranker(ranker.ncf, ease=None, content=None), inner.train, inner.test)
