"""The hybrid scorer: weight schedule, per-person normalisation, mixing, explanations, tuning."""
import numpy as np
import pandas as pd
import pytest

from ncf.base import Scorer
from ncf.content import ContentIndex
from ncf.hybrid import (
    COLLABORATIVE, CONTENT, POPULARITY, RANK, ZSCORE, ContentScorer, HybridScorer, HybridWeights, TuningCase,
    cold_cases, normalise_scores, tune_weights, warm_cases, weight_grid,
)
from ncf.vocabulary import Vocabulary


class FixedScorer:
    """A collaborative stand-in that always gives the same scores."""

    predicts_ratings = True

    def __init__(self, scores_by_movie):
        self.scores_by_movie = scores_by_movie
        self.fitted = False

    def fit(self, train):
        self.fitted = True
        self.items = Vocabulary(list(self.scores_by_movie))
        return self

    def score(self, *, user_id, history):
        return np.asarray([self.scores_by_movie[m] for m in self.items.ids], np.float32)

    def predict_ratings(self, *, user_id, history, movie_ids):
        return np.asarray([3.0 if m in self.scores_by_movie else np.nan for m in movie_ids], np.float32)


# Movies 1-2 are "space", 3-4 "romance", 5 is unlike both; embeddings make that exact.
EMB = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0], [0, 0, 1]], np.float32)
TRAIN = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 3], "movie_id": [1, 3, 3, 4, 3, 4, 5],
                      "rating": [5.0, 2.0, 4.0, 4.0, 5.0, 3.0, 4.0], "timestamp": range(7)})
TITLES = {1: "Star Battle", 2: "Star War", 3: "Paris Love", 4: "Rome Love", 5: "Quiet"}
GENRES = {1: ["Sci-Fi"], 2: ["Sci-Fi", "Action"], 3: ["Romance"], 4: ["Romance", "Comedy"], 5: ["Drama"]}


@pytest.fixture
def index():
    return ContentIndex([1, 2, 3, 4, 5], EMB)


def hybrid(index, weights=None, collab=None):
    collab = collab or FixedScorer({1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4, 5: 0.5})
    return HybridScorer(index, collab, weights=weights, titles=TITLES, genres=GENRES).fit(TRAIN)


def test_weight_schedule_interpolates_between_new_and_regular():
    w = HybridWeights(new=(0.7, 0.2, 0.1), regular=(0.3, 0.6, 0.1), new_until=10, regular_from=30)
    np.testing.assert_allclose(w.for_count(0), [0.7, 0.2, 0.1])
    np.testing.assert_allclose(w.for_count(10), [0.7, 0.2, 0.1])
    np.testing.assert_allclose(w.for_count(20), [0.5, 0.4, 0.1])
    np.testing.assert_allclose(w.for_count(500), [0.3, 0.6, 0.1])
    np.testing.assert_allclose(HybridWeights(new=(2, 1, 1)).for_count(0), [0.5, 0.25, 0.25])


def test_rank_normalisation_gives_percentiles_with_shared_ties():
    np.testing.assert_allclose(normalise_scores(np.array([10.0, -3.0, 5.0]), RANK), [1.0, 0.0, 0.5])
    np.testing.assert_allclose(normalise_scores(np.array([1.0, 1.0, 2.0]), RANK), [0.25, 0.25, 1.0])
    np.testing.assert_allclose(normalise_scores(np.array([7.0, 7.0]), RANK), [0.5, 0.5])
    np.testing.assert_allclose(normalise_scores(np.array([1.0, 3.0]), ZSCORE), [-1.0, 1.0])
    np.testing.assert_allclose(normalise_scores(np.array([2.0, 2.0]), ZSCORE), [0.0, 0.0])
    with pytest.raises(ValueError):
        normalise_scores(np.array([1.0]), "minmax")


def test_hybrid_follows_the_scorer_contract(index):
    scorer = hybrid(index)
    assert isinstance(scorer, Scorer)
    assert scorer.collaborative.fitted
    assert list(scorer.items.ids) == [1, 3, 4, 5]  # movies seen in training
    scores = scorer.score(user_id=None, history={})
    assert scores.dtype == np.float32 and scores.shape == (4,)
    np.testing.assert_array_equal(scorer.predict_ratings(user_id=1, history={}, movie_ids=[1, 99])[:1], [3.0])


def test_score_is_the_weighted_sum_of_normalised_components(index):
    scorer = hybrid(index, HybridWeights(new=(0.5, 0.3, 0.2), normalise=RANK))
    history = {1: 5.0, 3: 1.0}
    parts = scorer.components(user_id=None, history=history)
    np.testing.assert_allclose(scorer.score(user_id=None, history=history), 0.5 * parts[0] + 0.3 * parts[1] + 0.2 * parts[2],
                               rtol=1e-6)
    # Collaborative ranks 1 < 3 < 4 < 5; popularity counts 1:1, 3:3, 4:2, 5:1.
    np.testing.assert_allclose(parts[1], [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(parts[2], [1 / 6, 1, 2 / 3, 1 / 6])


def test_all_content_weight_ranks_by_content_alone(index):
    scorer = hybrid(index, HybridWeights(new=(1, 0, 0)))
    content_only = ContentScorer(index).fit(TRAIN)
    history = {1: 5.0, 3: 1.0}
    assert np.argsort(scorer.score(user_id=None, history=history)).tolist() == \
        np.argsort(content_only.score(user_id=None, history=history)).tolist()


def test_explanations_name_the_driving_component(index):
    history = {1: 5.0, 3: 1.0}
    content_driven = hybrid(index, HybridWeights(new=(1, 0, 0)))
    text = content_driven.explain(user_id=None, history=history, movie_id=1)
    assert text.driver == CONTENT and text.text == "similar to Star Battle, which you loved"
    collab_driven = hybrid(index, HybridWeights(new=(0, 1, 0)))
    assert collab_driven.explain(user_id=None, history=history, movie_id=5).driver == COLLABORATIVE
    popular = hybrid(index, HybridWeights(new=(0, 0, 1)))
    explanation = popular.explain(user_id=None, history={4: 5.0}, movie_id=3)
    assert (explanation.driver, explanation.text) == (POPULARITY, "popular with people who like Romance")
    assert set(explanation.contributions) == {CONTENT, COLLABORATIVE, POPULARITY}
    assert popular.explain(user_id=None, history={}, movie_id=999).text == "popular with everyone"


def test_weight_grid_sums_to_one():
    grid = weight_grid(0.5)
    assert sorted(grid) == sorted([(0, 0, 1), (0, 0.5, 0.5), (0, 1, 0), (0.5, 0, 0.5), (0.5, 0.5, 0), (1, 0, 0)])


def test_tuning_picks_the_component_that_finds_the_relevant_movie(index):
    # The collaborative stand-in ranks 5 first; people whose later favourite is 5 want it.
    scorer = hybrid(index)
    cases = [TuningCase({1: 5.0}, {5}), TuningCase({3: 4.0}, {5}), TuningCase({4: 4.0}, {99})]
    best, method, results = tune_weights(scorer, cases, grid=[(1, 0, 0), (0, 1, 0), (0, 0, 1)], k=1)
    assert best == (0.0, 1.0, 0.0)
    assert method in (RANK, ZSCORE)
    assert len(results) == 6 and max(r["ndcg"] for r in results) == 1.0


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
