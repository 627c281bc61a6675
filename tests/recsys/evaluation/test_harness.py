"""The harness: exact metrics for a scorer with fixed scores, candidates, shuffling, registry."""
import numpy as np
import pandas as pd
import pytest

from recsys.data.vocabulary import Vocabulary
from recsys.evaluation import harness as evaluation
from recsys.evaluation import metrics, tables


def frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])


class FixedScorer:
    """Scores movie m as -m (so lower ids rank first) and predicts 4 stars everywhere."""

    predicts_ratings = True

    def __init__(self, ids, nan=False):
        self.items = Vocabulary(ids)
        self.nan = nan

    def fit(self, train):
        return self

    def score(self, *, user_id, history):
        scores = -self.items.ids.astype(np.float32)
        if self.nan:
            scores[0] = np.nan
        return scores

    def predict_ratings(self, *, user_id, history, movie_ids):
        return np.full(len(movie_ids), 4.0, dtype=np.float32)


def test_evaluate_scorer_masks_history_and_matches_hand_metrics():
    catalog = np.arange(1, 21)
    # user 7 rated 1 and 2 (history); test: 3 (5 stars), 12 (4 stars), 5 (2 stars), 99 (unknown movie)
    case = evaluation._Case({7: {1: 4.0, 2: 3.0}}, frame([(7, 3, 5.0, 9), (7, 12, 4.0, 9), (7, 5, 2.0, 9),
                                                          (7, 99, 4.0, 9)]), warm=True)
    result = evaluation.evaluate_scorer(FixedScorer(catalog), case, catalog=catalog, genres=None, k=10)
    strict = result[evaluation.STRICT]
    # ranked list: 3, 4, ..., 12 -> hits at positions 1 (movie 3) and 10 (movie 12); 99 is no candidate
    assert strict["precision@10"] == pytest.approx(0.2)
    assert strict["recall@10"] == pytest.approx(1.0)
    assert strict["ndcg@10"] == pytest.approx((1 + 1 / np.log2(11)) / (1 + 1 / np.log2(3)))
    assert strict["mrr@10"] == 1.0 and strict["hit_rate@10"] == 1.0
    assert strict["coverage@10"] == pytest.approx(10 / 20)
    # ratings of known movies only: 5, 4, 2 against 4 everywhere
    assert strict["rmse"] == pytest.approx(np.sqrt((1 + 0 + 4) / 3))
    assert strict["users"] == 1
    assert evaluation.SHUFFLED not in result


def test_shuffled_list_draws_ten_of_the_top_thirty_with_a_seed():
    catalog = np.arange(1, 101)
    case = evaluation._Case({1: {}}, frame([(1, 50, 5.0, 0)]), warm=True)
    scorer = FixedScorer(catalog)
    a = evaluation.evaluate_scorer(scorer, case, catalog=catalog, genres=None, seed=3, shuffled=True)
    b = evaluation.evaluate_scorer(scorer, case, catalog=catalog, genres=None, seed=3, shuffled=True)
    assert a == b
    assert a[evaluation.SHUFFLED]["coverage@10"] == pytest.approx(0.10)
    ranked = evaluation.rank_candidates(-catalog.astype(float), np.zeros(100, bool), 30)
    shuffled = np.random.default_rng([3, 1]).permutation(ranked)[:10]
    assert set(shuffled) <= set(range(30))


def test_nan_scores_raise():
    catalog = np.arange(1, 5)
    case = evaluation._Case({1: {}}, frame([(1, 2, 5.0, 0)]), warm=True)
    with pytest.raises(metrics.MissingPredictionError):
        evaluation.evaluate_scorer(FixedScorer(catalog, nan=True), case, catalog=catalog, genres=None)


def test_rank_candidates_breaks_ties_by_catalog_order_and_drops_non_candidates():
    scores = np.array([1.0, 3.0, 3.0, -np.inf, 2.0])
    excluded = np.array([False, False, True, False, False])
    np.testing.assert_array_equal(evaluation.rank_candidates(scores, excluded, 10), [1, 4, 0])


def test_genre_matrix_ignores_no_genres_listed():
    movies = pd.DataFrame({"movie_id": [1, 2], "genres": ["Comedy|Drama", "(no genres listed)"]})
    np.testing.assert_array_equal(evaluation.genre_matrix(movies, np.array([2, 1, 3])),
                                  [[False, False], [True, True], [False, False]])


def _synthetic(n_users=30, n_movies=40, per_user=15, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(u, int(m), float(rng.integers(1, 6)), t) for u in range(1, n_users + 1)
            for t, m in enumerate(rng.choice(np.arange(1, n_movies + 1), size=per_user, replace=False))]
    return frame(rows)


def test_run_evaluation_reports_every_model_protocol_and_k():
    report = evaluation.run_evaluation(_synthetic(), models=["popularity", "damped-mean"], ks=(5, 10), seed=1)
    keys = [(r["model"], r["protocol"], r["k"]) for r in report.rows]
    assert keys == [("popularity", "warm", None), ("damped-mean", "warm", None),
                    ("popularity", "cold", 5), ("popularity", "cold", 10),
                    ("damped-mean", "cold", 5), ("damped-mean", "cold", 10)]
    assert report.rows[0]["rmse"] is None and report.rows[1]["rmse"] > 0
    assert report.protocols["cold"]["n_cold_users"] == 6
    assert "first k ratings" in report.protocols["cold"]["description"]
    again = evaluation.run_evaluation(_synthetic(), models=["popularity", "damped-mean"], ks=(5, 10), seed=1)
    assert [r["ndcg@10"] for r in again.rows] == [r["ndcg@10"] for r in report.rows]


def test_unknown_models_are_refused():
    with pytest.raises(KeyError, match="unknown model"):
        evaluation.run_evaluation(_synthetic(), models=["nope"])


def test_only_the_served_ranker_is_marked_as_the_product():
    assert [name for name, spec in evaluation.REGISTRY.items() if spec.product] == ["product"]


def test_the_product_serves_its_gate_unless_the_options_replace_it():
    from recsys.ranking.ranker import PRODUCT_CONTENT_GATE, PRODUCT_WEIGHTS, ContentGate, WeightSchedule

    make = evaluation.REGISTRY["product"].factory
    served = make({})
    assert served.content_gate == PRODUCT_CONTENT_GATE and served.weights == PRODUCT_WEIGHTS
    assert make({"product_content_gate": None}).content_gate is None
    gate, weights = ContentGate(centre=1.0, width=0.5), WeightSchedule((1, 0, 0), (0, 1, 0), 5, 30)
    tuned = make({"product_content_gate": gate, "product_weights": weights})
    assert (tuned.content_gate, tuned.weights) == (gate, weights)


def test_leave_one_out_ranks_the_test_movie_among_its_negatives_only():
    catalog = np.arange(1, 21)
    # user 3 held out movie 15 (1 star: relevant all the same); negatives 2, 9, 18; history 1
    case = evaluation._Case({3: {1: 4.0}}, frame([(3, 15, 1.0, 9)]), warm=True,
                            candidates={3: np.array([2, 9, 18])})
    information = np.arange(20, dtype=float)  # position p carries p bits
    result = evaluation.evaluate_scorer(FixedScorer(catalog), case, catalog=catalog, genres=None, k=10,
                                        information=information)[evaluation.STRICT]
    # lower ids first: 2, 9, 15, 18 -> the test movie third
    assert result["hit_rate@10"] == 1.0
    assert result["ndcg@10"] == pytest.approx(1 / np.log2(4))
    assert result["mrr@10"] == pytest.approx(1 / 3)
    assert result["distinct@10"] == 4 and result["coverage@10"] == pytest.approx(4 / 20)
    assert result["novelty@10"] == pytest.approx(np.mean([1, 8, 14, 17]))  # positions of 2, 9, 15, 18
    assert result["rmse"] == pytest.approx(3.0)  # 4 stars predicted, 1 given


def test_leave_one_out_hit_rate_at_ten_counts_only_the_first_ten_of_the_101():
    catalog = np.arange(1, 201)
    case = evaluation._Case({1: {}}, frame([(1, 150, 5.0, 0)]), warm=True,
                            candidates={1: np.arange(1, 101)})
    result = evaluation.evaluate_scorer(FixedScorer(catalog), case, catalog=catalog, genres=None)[evaluation.STRICT]
    assert result["hit_rate@10"] == 0.0 and result["ndcg@10"] == 0.0 and result["users"] == 1


def test_run_evaluation_adds_leave_one_out_and_novelty_and_reuses_unseeded_fits():
    cache, lines = {}, []
    first = evaluation.run_evaluation(_synthetic(), models=["popularity", "biased-mf"], protocols=("loo",),
                                      seed=1, n_negatives=5, cache=cache, progress=lines.append)
    assert [(r["model"], r["protocol"]) for r in first.rows] == [("popularity", "loo"), ("biased-mf", "loo")]
    assert first.protocols["loo"]["test_users"] == 30 and first.rows[0]["novelty@10"] > 0
    assert first.rows[0]["users"] == 30  # every held-out movie is relevant
    second = evaluation.run_evaluation(_synthetic(), models=["popularity", "biased-mf"], protocols=("loo",),
                                       seed=2, n_negatives=5, cache=cache, progress=lines.append)
    assert any("popularity: fitted earlier" in line for line in lines)
    assert not any("biased-mf: fitted earlier" in line for line in lines)  # seeded: refitted per seed
    summary = tables.summarize([first, second])
    pop = summary[0]
    values = [first.rows[0]["ndcg@10"], second.rows[0]["ndcg@10"]]
    assert pop["seeds"] == 2 and pop["ndcg@10"]["mean"] == pytest.approx(np.mean(values))
    assert pop["ndcg@10"]["std"] == pytest.approx(np.std(values, ddof=1))
    assert pop["rmse"] is None
    assert "±" in tables.format_summary(summary)


class TimedScorer(FixedScorer):
    """A FixedScorer that reads time: it records the time it is asked at, per person (by history)."""

    predicts_ratings = False
    reads_time = True

    def __init__(self, ids):
        super().__init__(ids)
        self.asked = []

    def score(self, *, user_id, history, at=None):
        self.asked.append((user_id, tuple(history), at))
        return super().score(user_id=user_id, history=history)


def test_a_scorer_that_reads_time_is_asked_at_the_latest_rating_of_each_history():
    from recsys.data.splits import warm_split

    rows = [(u, int(m), 4.0, u * 1000 + t) for u in range(1, 31)
            for t, m in enumerate(np.random.default_rng(u).choice(np.arange(1, 41), size=15, replace=False))]
    ratings = frame(rows)
    scorers = []

    def make(_options):
        scorers.append(TimedScorer(np.arange(1, 41)))
        return scorers[-1]

    registry = {"timed": evaluation.ModelSpec(make)}
    evaluation.run_evaluation(ratings, models=["timed"], protocols=("warm", "cold", "loo"), ks=(5,), seed=3,
                              registry=registry, n_negatives=10)
    warm, cold, loo = scorers
    last_train = warm_split(ratings).train.groupby("user_id")["timestamp"].max()
    assert len(warm.asked) == 30 and all(at == last_train[user] for user, _, at in warm.asked)
    # Cold people are anonymous; each is asked at their own 5th rating's time.
    first_five = {tuple(group.sort_values("timestamp")["movie_id"].head(5)): user
                  for user, group in ratings.groupby("user_id")}
    assert len(cold.asked) == 6  # 20% of 30 people
    assert all(user is None and at == first_five[history] * 1000 + 4 for user, history, at in cold.asked)
    # Leave-one-out: the latest rating is the test one, so the time asked is the one before it.
    assert sorted((user, len(history), at) for user, history, at in loo.asked) == [
        (user, 14, user * 1000 + 13) for user in range(1, 31)]


def test_release_years_come_from_a_year_column_or_the_titles():
    titled = pd.DataFrame({"movie_id": [1, 2, 3], "title": ["Heat (1995)", "Babylon 5", "Up (2009) "]})
    assert evaluation.release_years(titled) == {1: 1995, 3: 2009}
    dated = pd.DataFrame({"movie_id": [1, 2], "year": [1995, None]})
    assert evaluation.release_years(dated) == {1: 1995}
    assert evaluation.release_years(None) is None
    assert evaluation.release_years(pd.DataFrame({"movie_id": [1], "genres": ["Drama"]})) is None
    report = evaluation.run_evaluation(_synthetic(), titled.assign(genres="Drama"), models=["popularity"], ks=(5,))
    assert "release_years" not in report.settings["options"]
    served = evaluation.REGISTRY["product"].factory({"release_years": {1: 1995}})
    assert served.release_years == {1: 1995}


def test_the_next_previous_baseline_also_counts_the_films_rated_just_before():
    # Three people rate movie 1, then movie 2, then movie 3 (an hour apart).
    train = frame([(u, m, 4.0, 3600 * m) for u in (1, 2, 3) for m in (1, 2, 3)])
    history = {2: 4.0}  # someone whose latest film is 2
    successors = evaluation.REGISTRY["next-movies"].factory({}).fit(train)
    around = evaluation.REGISTRY["next-previous"].factory({}).fit(train)
    one, three = successors.items.index(1), successors.items.index(3)
    assert successors.score(user_id=None, history=history)[one] == 0.0  # 1 never came after 2
    # Window 30, decay 0.9, smoothing 5: P(3 | 2) = 3 / (3 + 5); Q(1 | 2) = 3 / (3 + 5), weighted 0.5.
    scores = around.score(user_id=None, history=history)
    assert scores[around.items.index(1)] == pytest.approx(0.5 * 3 / 8)
    assert scores[around.items.index(3)] == pytest.approx(3 / 8)
    assert successors.score(user_id=None, history=history)[three] == pytest.approx(3 / 8)
    # Two steps on: 3 follows 1 at step 2, weighted 0.9 here (0.8 for next-movies); 1's total is
    # 3 (step 1) + 3 * 0.9, and 3's predecessors total 3 * 0.9 (from 1) + 3 (from 2).
    assert around.score(user_id=None, history={1: 4.0})[around.items.index(3)] == pytest.approx(2.7 / 10.7)
    assert successors.score(user_id=None, history={1: 4.0})[three] == pytest.approx(2.4 / 10.4)
    assert around.score(user_id=None, history={3: 4.0})[around.items.index(1)] == pytest.approx(0.5 * 2.7 / 10.7)
    assert "next-previous" in evaluation.BASELINES
