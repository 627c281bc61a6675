"""Metrics on hand-built cases with hand-computed expectations."""
import math

import numpy as np
import pytest

from recsys.evaluation import metrics


def test_perfect_predictions_give_zero_rmse_and_mae():
    assert metrics.rmse([4.0, 3.5, 1.0], [4.0, 3.5, 1.0]) == 0.0
    assert metrics.mae([4.0, 3.5, 1.0], [4.0, 3.5, 1.0]) == 0.0


def test_rmse_and_mae_match_hand_computation():
    # errors 0, 0, -2: RMSE = sqrt(4 / 3), MAE = 2 / 3
    assert metrics.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert metrics.mae([1, 2, 3], [1, 2, 5]) == pytest.approx(2 / 3)


def test_missing_predictions_raise_instead_of_being_dropped():
    with pytest.raises(metrics.MissingPredictionError, match="1 of 3 predictions are missing"):
        metrics.rmse([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(metrics.MissingPredictionError, match="2 predictions for 3 ratings"):
        metrics.mae([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(metrics.MissingPredictionError, match="no predictions"):
        metrics.rmse([], [])


def test_ranking_metrics_on_a_known_list():
    recommended, relevant = [10, 20, 30, 40], {20, 40, 99}
    # hits at positions 2 and 4; the ideal list has 3 hits at positions 1..3
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics.ndcg_at_k(recommended, relevant, 10) == pytest.approx(dcg / idcg)
    assert metrics.ndcg_at_k(recommended, relevant, 10) == pytest.approx(0.498189, abs=1e-6)
    assert metrics.precision_at_k(recommended, relevant, 10) == pytest.approx(0.2)
    assert metrics.recall_at_k(recommended, relevant, 10) == pytest.approx(2 / 3)
    assert metrics.reciprocal_rank_at_k(recommended, relevant, 10) == 0.5
    assert metrics.hit_at_k(recommended, relevant, 10) == 1.0


def test_only_the_first_k_count_and_the_ideal_list_scores_one():
    assert metrics.ndcg_at_k([1, 2, 3], {3}, k=2) == 0.0
    assert metrics.reciprocal_rank_at_k([1, 2, 3], {3}, k=2) == 0.0
    assert metrics.hit_at_k([1, 2, 3], {3}, k=2) == 0.0
    assert metrics.ndcg_at_k([5, 6, 1], {5, 6}, k=3) == pytest.approx(1.0)
    # more relevant movies than k: the ideal DCG uses k positions, so a full list of hits is 1
    assert metrics.ndcg_at_k([1, 2], {1, 2, 3, 4}, k=2) == pytest.approx(1.0)


def test_ranking_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="repeats"):
        metrics.ndcg_at_k([1, 1, 2], {1})
    with pytest.raises(ValueError, match="no relevant"):
        metrics.ndcg_at_k([1, 2], set())
    with pytest.raises(ValueError, match="no relevant"):
        metrics.recall_at_k([1, 2], set())


def test_catalog_coverage_counts_distinct_movies_in_the_first_k():
    assert metrics.catalog_coverage([[1, 2, 9], [2, 3, 8]], catalog_size=10, k=2) == pytest.approx(0.3)


def test_jaccard_gains():
    items = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=bool)
    liked = np.array([1, 1, 0], dtype=bool)
    np.testing.assert_allclose(metrics.jaccard_gains(items, liked), [0.5, 1.0, 0.0, 0.0])


def test_genre_ndcg_on_a_hand_built_case():
    genres = {1: {"A"}, 2: {"A", "B"}, 3: {"C"}, 4: {"B"}}
    # liked genres = genres of the relevant movie 2 = {A, B};
    # candidate gains: movie 1 -> 1/2, movie 3 -> 0, movie 4 -> 1/2
    value = metrics.genre_ndcg_at_k([3, 1], candidates=[1, 3, 4], relevant={2}, genres=genres, k=2)
    dcg = 0 + 0.5 / math.log2(3)
    idcg = 0.5 + 0.5 / math.log2(3)
    assert value == pytest.approx(dcg / idcg)
    assert metrics.genre_ndcg_at_k([1, 4], candidates=[1, 3, 4], relevant={2}, genres=genres, k=2) == pytest.approx(1.0)


def test_graded_ndcg_is_zero_when_no_candidate_can_gain():
    assert metrics.ndcg_from_gains([0.0, 0.0], [0.0, 0.0, 0.0], k=2) == 0.0


def test_distinct_items_counts_movies_in_anybodys_first_k():
    assert metrics.distinct_items([[1, 2, 3], [3, 4, 9]], k=2) == 4  # 1, 2, 3, 4 (9 is third)
    assert metrics.distinct_items([], k=10) == 0


def test_self_information_is_minus_log2_of_the_share_of_raters():
    # 8 people: rated by 8 -> 0 bits, by 2 -> 2 bits, by 1 -> 3 bits, by nobody -> as if 1
    np.testing.assert_allclose(metrics.self_information([8, 2, 1, 0], 8), [0.0, 2.0, 3.0, 3.0])


def test_novelty_is_the_mean_over_people_of_their_lists_mean_information():
    information = np.array([0.0, 2.0, 3.0, 1.0])
    # person A: positions 0, 1 -> mean 1.0; person B: positions 2, 3 -> mean 2.0 (k=2 keeps both)
    assert metrics.novelty([[0, 1, 3], [2, 3]], information, k=2) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        metrics.novelty([[]], information)
