"""ncf.product (the site's ranker), the capped EASE it uses, and artifact extras."""
import numpy as np
import pandas as pd
import pytest

from ncf import artifacts
from ncf.baselines import EASEScorer
from ncf.blend import BlendScorer
from ncf.hybrid import HybridScorer, HybridWeights, normalise_scores
from ncf.product import PRODUCT_WEIGHTS, product_from_parts, product_scorer, rating_counts, tune_product
from ncf.scorer import NCFScorer
from ncf.serving import random_weights
from ncf.vocabulary import Vocabulary
from tests.ncf.conftest import N_MOVIES, tiny_config


def _frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])


def test_capped_ease_keeps_the_most_rated_movies_only():
    # Movie 1: 4 ratings, 2: 3, 3: 2, 4: 2, 5: 1.
    rows = [(u, m, 4.0, 0) for m, users in {1: [1, 2, 3, 4], 2: [1, 2, 3], 3: [1, 2], 4: [3, 4], 5: [1]}.items()
            for u in users]
    ease = EASEScorer(l2=1.0, max_items=3, min_ratings=2).fit(_frame(rows))
    # Three of the four movies with >= 2 ratings; the tie between 3 and 4 goes to the lower id.
    assert sorted(ease.items.ids.tolist()) == [1, 2, 3]
    assert ease.weights.shape == (3, 3)
    assert EASEScorer(l2=1.0, min_ratings=2).fit(_frame(rows)).items.ids.tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="no movie has enough ratings"):
        EASEScorer(min_ratings=10).fit(_frame(rows))


def test_ease_from_saved_weights_scores_like_the_fitted_one(structured_frame):
    fitted = EASEScorer(l2=10.0).fit(structured_frame)
    loaded = EASEScorer.from_weights(fitted.items.ids, fitted.weights)
    history = {1: 5.0, 7: 4.0, 30: 1.0}
    np.testing.assert_array_equal(loaded.score(user_id=None, history=history),
                                  fitted.score(user_id=None, history=history))
    with pytest.raises(ValueError, match="do not match"):
        EASEScorer.from_weights(fitted.items.ids[:-1], fitted.weights)


def test_artifact_extras_round_trip_as_checksummed_memory_maps(tmp_path):
    config = tiny_config()
    weights = random_weights(3, 4, config, np.random.default_rng(0))
    extras = {"ease_weights": np.arange(16, dtype=np.float32).reshape(4, 4), "rating_counts": np.array([5, 1, 0, 2])}
    path = artifacts.save_artifact(tmp_path, config=config, users=Vocabulary([1, 2, 3]),
                                   items=Vocabulary([10, 20, 30, 40]), weights=weights, metadata={}, extras=extras)
    loaded = artifacts.load_current(tmp_path)
    assert set(loaded.extras) == {"ease_weights", "rating_counts"}
    assert isinstance(loaded.extras["ease_weights"], np.memmap)
    np.testing.assert_array_equal(loaded.extras["ease_weights"], extras["ease_weights"])
    np.testing.assert_array_equal(loaded.extras["rating_counts"], [5, 1, 0, 2])
    (path / "rating_counts.npy").write_bytes(b"tampered")
    with pytest.raises(artifacts.ArtifactError, match="checksum mismatch for rating_counts.npy"):
        artifacts.load_current(tmp_path)
    with pytest.raises(ValueError, match="not a plain identifier"):
        artifacts.save_artifact(tmp_path, config=config, users=Vocabulary([1]), items=Vocabulary([10]),
                                weights=weights, metadata={}, extras={"../x": np.zeros(1)})


def _ncf_with_random_weights(seed=0):
    config = tiny_config()
    net_weights = random_weights(30, N_MOVIES, config, np.random.default_rng(seed), scale=0.5)
    return NCFScorer.from_parts(config, Vocabulary(range(1, 31)), Vocabulary(range(1, N_MOVIES + 1)), net_weights)


def test_product_score_is_the_scheduled_sum_of_its_z_scored_parts(structured_frame):
    ncf = _ncf_with_random_weights()
    ease = EASEScorer(l2=10.0, max_items=25).fit(structured_frame)
    counts = rating_counts(structured_frame, ncf.items)
    product = product_from_parts(ncf, ease=ease, content=None, rating_counts=counts)
    history = {1: 5.0, 2: 4.5, 25: 1.0}

    ncf_z = normalise_scores(ncf.score(user_id=None, history=history), "zscore")
    ease_raw = ease.score(user_id=None, history=history)
    ease_z = normalise_scores(ease_raw, "zscore")
    ease_cols = ease.items.indices(ncf.items.ids)
    collaborative = ncf_z + np.where(ease_cols >= 0, ease_z[np.maximum(ease_cols, 0)], 0.0)  # unknown: mean
    popularity = np.log1p(counts.astype(np.float64))
    w = PRODUCT_WEIGHTS.for_count(3)
    expected = w[1] * normalise_scores(collaborative, "zscore") + w[2] * normalise_scores(popularity, "zscore")
    np.testing.assert_allclose(product.score(user_id=None, history=history), expected, atol=1e-5)
    # Stars come from the NCF's rating head alone.
    np.testing.assert_array_equal(product.predict_ratings(user_id=None, history=history, movie_ids=[3, 4]),
                                  ncf.predict_ratings(user_id=None, history=history, movie_ids=[3, 4]))
    with pytest.raises(ValueError, match="rating counts for 40 movies"):
        product_from_parts(ncf, ease=ease, content=None, rating_counts=counts[:-1])


def test_product_without_ease_or_content_ranks_by_ncf_and_popularity(structured_frame):
    ncf = _ncf_with_random_weights(1)
    product = product_from_parts(ncf, ease=None, content=None, rating_counts=np.ones(N_MOVIES))
    history = {3: 4.0}
    # Equal counts: popularity is flat, so the order is the NCF's.
    assert np.argsort(-product.score(user_id=None, history=history), kind="stable").tolist() == \
        np.argsort(-ncf.score(user_id=None, history=history), kind="stable").tolist()
    assert isinstance(product, HybridScorer) and isinstance(product.collaborative, BlendScorer)


def test_fitting_the_product_equals_loading_its_saved_parts(structured_frame):
    product = product_scorer(NCFScorer(tiny_config(epochs=2)), None).fit(structured_frame)
    ncf, ease = (scorer for scorer, _ in product.collaborative.components)
    assert ncf.net is not None and ease.weights is not None
    assert sorted(product.items.ids.tolist()) == list(range(1, N_MOVIES + 1))
    # What the site does with a saved model: the same parts, counts from the same ratings.
    loaded = product_from_parts(ncf, ease=EASEScorer.from_weights(ease.items.ids, ease.weights), content=None,
                                rating_counts=rating_counts(structured_frame, ncf.items))
    history = {1: 5.0, 2: 5.0, 3: 4.5, 30: 1.0}
    np.testing.assert_allclose(loaded.score(user_id=None, history=history),
                               product.score(user_id=None, history=history)[
                                   product.items.indices(loaded.items.ids)], atol=1e-6)


@pytest.mark.slow
def test_tune_product_picks_weights_and_schedule_from_the_grids(structured_frame):
    grid = [(0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.5, 0.5)]
    schedule = [(5, 10), (10, 20)]
    weights, results = tune_product(structured_frame, None, lambda: NCFScorer(tiny_config(epochs=2)), grid=grid,
                                    schedule_grid=schedule, min_regular_ratings=1)
    assert isinstance(weights, HybridWeights) and weights.normalise == "zscore"
    assert [r["weights"] for r in results["new"]] == grid
    assert weights.new == max(results["new"], key=lambda r: (r["ndcg"], r["weights"]))["weights"]
    assert weights.regular == max(results["regular"], key=lambda r: (r["ndcg"], r["weights"]))["weights"]
    assert [(r["new_until"], r["regular_from"]) for r in results["schedule"]] == schedule
    best = max(results["schedule"], key=lambda r: (round(r["warm"] + r["cold"], 10), -r["new_until"]))
    assert (weights.new_until, weights.regular_from) == (best["new_until"], best["regular_from"])


def test_schedule_ndcg_mixes_each_person_by_their_count():
    from ncf.product import _Prepared, schedule_ndcg

    items = Vocabulary([10, 20, 30])
    # Part 0 ranks movie 10 first, part 2 ranks movie 30 first.
    components = np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]], np.float32)
    new_person = _Prepared(components, np.array([], np.int64), {30}, n_ratings=2)
    regular_person = _Prepared(components, np.array([], np.int64), {10}, n_ratings=50)
    weights = HybridWeights(new=(0.0, 0.0, 1.0), regular=(1.0, 0.0, 0.0), new_until=5, regular_from=10)
    # Each person's relevant movie is first under their own weights: NDCG@1 = 1 for both.
    assert schedule_ndcg(weights, items, [new_person, regular_person], k=1) == 1.0
    swapped = HybridWeights(new=(1.0, 0.0, 0.0), regular=(0.0, 0.0, 1.0), new_until=5, regular_from=10)
    assert schedule_ndcg(swapped, items, [new_person, regular_person], k=1) == 0.0
