"""Genre embeddings, similarities, the median split and the genre fine-tuning set (seed 000)."""
import numpy as np
import pandas as pd
import pytest

from recsys.content.genres import (
    genre_embeddings,
    genre_finetune_set,
    genre_ndcg_at_k,
    genre_similarity,
    split_genres,
    user_embedding,
    user_genre_similarity,
)
from recsys.data.vocabulary import Vocabulary

# Four axis-aligned movies make every mean and cosine easy to compute by hand.
ITEMS = Vocabulary([1, 2, 3, 4])
EMB = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], np.float32)
EMB = EMB / np.linalg.norm(EMB, axis=1, keepdims=True)
GENRES = {1: ["Action"], 2: ["Comedy"], 3: ["Drama"], 4: ["Action", "Comedy"], 99: ["Horror"]}


def test_genre_embedding_is_normalised_mean_of_its_movies():
    names, matrix = genre_embeddings(GENRES, ITEMS, EMB)
    assert names == ["Action", "Comedy", "Drama"]  # Horror's only movie is unknown
    action = (EMB[0] + EMB[3]) / np.linalg.norm(EMB[0] + EMB[3])
    np.testing.assert_allclose(matrix[0], action, rtol=1e-6)
    np.testing.assert_allclose(matrix[2], [0, 0, 1])


def test_genre_similarity_is_symmetric_cosine_with_unit_diagonal():
    _, matrix = genre_embeddings(GENRES, ITEMS, EMB)
    sim = genre_similarity(matrix)
    assert sim.shape == (3, 3)
    np.testing.assert_allclose(np.diag(sim), 1.0, rtol=1e-6)
    np.testing.assert_allclose(sim, sim.T)
    assert sim[0, 2] == pytest.approx(0.0, abs=1e-6)  # Action and Drama share no direction
    assert sim[0, 1] > 0.5


def test_user_embedding_averages_only_well_rated_movies():
    vector = user_embedding({1: 5.0, 3: 2.0, 99: 5.0}, ITEMS, EMB)
    np.testing.assert_allclose(vector, [1, 0, 0])
    assert user_embedding({3: 3.5}, ITEMS, EMB) is None
    _, matrix = genre_embeddings(GENRES, ITEMS, EMB)
    sims = user_genre_similarity(vector, matrix)
    assert np.argmax(sims) == 0
    assert not user_genre_similarity(None, matrix).any()


def test_split_keeps_above_median_liked_and_below_median_unrated():
    genres = ["A", "B", "C", "D", "E"]
    sims = np.array([0.9, 0.8, 0.5, 0.2, 0.1])  # median 0.5
    split = split_genres(sims, genres, liked_genres={"B", "D"}, rated_genres={"B", "D", "E"})
    assert split.positive == ("B",)  # A is above the median but never rated well
    assert split.negative == ()  # D and E were rated
    split = split_genres(sims, genres, liked_genres={"A", "B"}, rated_genres={"A", "B"})
    assert split.positive == ("A", "B")
    assert split.negative == ("E", "D")  # least similar first


def test_finetune_set_has_three_negatives_per_positive_from_negative_genres():
    items = Vocabulary(range(1, 41))
    rng = np.random.default_rng(0)
    genres = {m: [["G0", "G1", "G2", "G3"][(m - 1) // 10]] for m in range(1, 41)}
    centres = np.eye(4, 8, dtype=np.float32)
    centres[1, 0] = 1.0  # G1 leans towards G0, so G2 and G3 are the two below the median
    emb = np.stack([centres[(m - 1) // 10] + 0.05 * rng.standard_normal(8).astype(np.float32)
                    for m in range(1, 41)])
    # User 7 loves G0 (rates 1..3 five stars) and dislikes one G1 movie: G0 is positive,
    # G2/G3 (never rated, below the median) are negative.
    ratings = pd.DataFrame({"user_id": [7, 7, 7, 7], "movie_id": [1, 2, 3, 11], "rating": [5.0, 4.5, 4.0, 1.0]})
    rows = genre_finetune_set(ratings, genres, items, emb, seed=3)
    pos, neg = rows[rows.interaction == 1], rows[rows.interaction == 0]
    assert sorted(pos.movie_id) == [1, 2, 3]
    assert set(pos.genre) == {"G0"}
    assert len(neg) == 9
    assert set(neg.genre) <= {"G2", "G3"} and len(set(neg.genre)) == 2
    assert all(21 <= m <= 40 for m in neg.movie_id)
    assert neg.movie_id.is_unique
    again = genre_finetune_set(ratings, genres, items, emb, seed=3)
    pd.testing.assert_frame_equal(rows, again)


def test_finetune_set_skips_users_without_liked_movies():
    ratings = pd.DataFrame({"user_id": [1], "movie_id": [1], "rating": [2.0]})
    assert genre_finetune_set(ratings, GENRES, ITEMS, EMB).empty


def test_genre_ndcg_counts_genre_hits_by_position():
    assert genre_ndcg_at_k([1, 4], {"Action"}, GENRES, k=2) == pytest.approx(1.0)
    expected = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert genre_ndcg_at_k([3, 1], {"Action"}, GENRES, k=2) == pytest.approx(expected)
    assert genre_ndcg_at_k([3], {"Action"}, GENRES, k=2) == 0.0
    assert genre_ndcg_at_k([1], set(), GENRES) == 0.0
    with pytest.raises(ValueError):
        genre_ndcg_at_k([1], {"Action"}, GENRES, k=0)


@pytest.mark.slow
def test_finetune_ncf_moves_ranking_towards_genre_labels_and_leaves_the_original():
    from recsys.content.genres import finetune_ncf
    from recsys.ncf.scorer import NCFScorer

    rng = np.random.default_rng(0)
    ratings = pd.DataFrame({"user_id": np.repeat(np.arange(1, 21), 6),
                            "movie_id": rng.integers(1, 31, size=120),
                            "rating": rng.choice([1.0, 3.0, 5.0], size=120), "timestamp": np.arange(120)})
    ratings = ratings.drop_duplicates(["user_id", "movie_id"])
    base = NCFScorer(epochs=1, embedding_dim=4, layers=(8, 4), seed=1).fit(ratings)
    before = base.score(user_id=1, history={}).copy()
    # Rows that favour movie 30 and disfavour movie 29 for user 1.
    rows = pd.DataFrame({"user_id": [1] * 40, "movie_id": [30] * 20 + [29] * 20,
                         "interaction": [1.0] * 20 + [0.0] * 20, "genre": ["G"] * 40})
    tuned = finetune_ncf(base, rows, epochs=5, learning_rate=0.05, seed=0)
    np.testing.assert_array_equal(base.score(user_id=1, history={}), before)
    after = tuned.score(user_id=1, history={})
    col = base.items.index
    assert (after[col(30)] - after[col(29)]) > (before[col(30)] - before[col(29)])
