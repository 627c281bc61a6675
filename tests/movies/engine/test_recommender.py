"""movies.engine.recommender: popularity until a model is ready, then the NumPy NeuMF; reloads, fallbacks."""
import numpy as np
import pytest

from movies.engine import recommender
from recsys.data.vocabulary import Vocabulary
from recsys.ncf import artifacts
from recsys.ncf.config import NCFConfig
from recsys.ncf.testing import random_weights
from tests.recsys.conftest import N_MOVIES, write_structured_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine_settings(settings, tmp_path):
    data = write_structured_dataset(tmp_path / "ml")
    settings.MOVIELENS_DIR = data
    settings.MODEL_DIR = tmp_path / "models"
    settings.RECOMMENDER_TRAIN_ON_STARTUP = False
    settings.RECOMMENDER_RELOAD_SECONDS = 3600
    settings.RECOMMENDER_POOL_SIZE = 30
    recommender.reset_engine()
    yield settings
    recommender.wait_until_ready(30)
    recommender.reset_engine()


def save_model(settings, seed=0, fingerprint=None, source=recommender.SOURCE_COMMAND, extras=None):
    config = NCFConfig(embedding_dim=4, layers=(8, 4), seed=seed)
    weights = random_weights(30, N_MOVIES, config, np.random.default_rng(seed), scale=0.5)
    fingerprint = fingerprint or artifacts.data_fingerprint([settings.MOVIELENS_DIR / "ratings.csv"])
    return artifacts.save_artifact(
        settings.MODEL_DIR, config=config, users=Vocabulary(range(1, 31)), items=Vocabulary(range(1, N_MOVIES + 1)),
        weights=weights, metadata={"data_fingerprint": fingerprint, "source": source}, extras=extras)


def product_extras(seed=0):
    """EASE weights over movies 1..20 and a rating count per NCF movie: movie 40 is a blockbuster
    (10**6 ratings against 1 to 39), so its popularity z-score is sqrt(39), about 6.2."""
    rng = np.random.default_rng(seed)
    ease = rng.normal(size=(20, 20)).astype(np.float32)
    np.fill_diagonal(ease, 0.0)
    counts = np.arange(1, N_MOVIES + 1, dtype=np.int64)
    counts[-1] = 10**6
    return {"ease_weights": ease, "ease_movie_ids": np.arange(1, 21), "rating_counts": counts}


@pytest.fixture
def ready(engine_settings):
    save_model(engine_settings)
    assert recommender.wait_until_ready(30)
    return recommender._engine.scorer


def test_without_a_model_the_fallback_answers_and_says_training(engine_settings):
    from tests.movies.conftest import make_movie

    make_movie(1, "Popular", rating_count=300, rating_mean=4.2)
    make_movie(2, "Niche", rating_count=3, rating_mean=5.0)
    assert recommender.wait_until_ready(30) is False
    info = recommender.model_info()
    assert (info.status, info.kind, info.trained_at) == ("training", "popularity", None)
    picks = recommender.recommend(ratings={}, n=2, diversify=False)
    assert [p.movie_id for p in picks] == [1, 2]


def test_a_matching_saved_model_is_ready(ready):
    info = recommender.model_info()
    # An artifact without the EASE part (saved by an older version) still serves: NCF alone.
    assert info.status == "ready" and info.kind == "ncf-implicit" and info.trained_at is not None


def test_a_model_for_other_data_is_not_used(engine_settings):
    save_model(engine_settings, fingerprint="0" * 64)
    assert recommender.wait_until_ready(30) is False
    assert recommender.model_info().status == "training"


def test_a_corrupt_model_is_treated_as_none(engine_settings):
    path = save_model(engine_settings)
    (path / "weights.npz").write_bytes(b"truncated")
    assert recommender.wait_until_ready(30) is False
    assert recommender.model_info().status == "training"


def test_strict_top_n_is_the_best_scored_unrated_unexcluded(ready):
    ratings = {1: 5.0, 2: 4.0}
    picks = recommender.recommend(ratings=ratings, exclude=[3], n=5, diversify=False)
    scores = ready.score(user_id=None, history=ratings)
    order = [int(m) for m in ready.items.raw(np.argsort(-scores, kind="stable")) if m not in (1, 2, 3)]
    assert [p.movie_id for p in picks] == order[:5]
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)
    stars = ready.predict_ratings(user_id=None, history=ratings, movie_ids=order[:5])
    assert [p.predicted_rating for p in picks] == [round(float(s), 1) for s in stars]


def test_diversified_list_is_a_seeded_shuffle_of_the_top_pool(ready, settings):
    settings.RECOMMENDER_POOL_SIZE = 12
    ratings = {5: 4.5}
    pool = {p.movie_id for p in recommender.recommend(ratings=ratings, n=12, diversify=False)}
    first = recommender.recommend(ratings=ratings, n=6, seed=1)
    again = recommender.recommend(ratings=ratings, n=6, seed=1)
    other = [recommender.recommend(ratings=ratings, n=6, seed=s) for s in range(2, 6)]
    assert [p.movie_id for p in first] == [p.movie_id for p in again]
    assert {p.movie_id for p in first} <= pool
    assert any([p.movie_id for p in o] != [p.movie_id for p in first] for o in other)


def test_candidates_restrict_the_ranking(ready):
    picks = recommender.recommend(ratings={1: 4.0}, candidates=[1, 7, 9, 11, 999], n=10, diversify=False)
    assert sorted(p.movie_id for p in picks) == [7, 9, 11]


def test_predict_gives_none_for_unknown_movies(ready):
    out = recommender.predict(ratings={1: 5.0}, movie_ids=[2, 999])
    assert out[1] is None and 0.5 <= out[0] <= 5.0 and out[0] == round(out[0], 1)
    warm = recommender.predict(ratings={}, movie_ids=[2], user_id=4)
    expected = ready.predict_ratings(user_id=4, history={}, movie_ids=[2])[0]
    assert warm == [round(float(expected), 1)]


def test_reasons_name_a_liked_movie(ready):
    from tests.movies.conftest import make_movie

    make_movie(1, "Heat", rating_count=10, rating_mean=4.0)
    picks = recommender.recommend(ratings={1: 5.0, 2: 2.0}, n=3, diversify=False)
    assert {p.reason for p in picks} == {"because you rated Heat 5 stars"}


def test_a_replaced_model_is_reloaded(ready, settings):
    newer = save_model(settings, seed=1)
    settings.RECOMMENDER_RELOAD_SECONDS = 0
    recommender.model_info()
    recommender._engine.thread.join(30)
    assert recommender._engine.artifact.path == newer


@pytest.mark.slow
def test_startup_trains_in_the_background_then_serves_the_model(engine_settings):
    engine_settings.RECOMMENDER_TRAIN_ON_STARTUP = True
    engine_settings.RECOMMENDER_EPOCHS = 2
    broken = save_model(engine_settings, source=recommender.SOURCE_STARTUP)
    (broken / "weights.npz").write_bytes(b"partial")
    assert recommender.model_info().status == "training"  # TensorFlow alone takes seconds to import
    assert recommender.wait_until_ready(300)
    info = recommender.model_info()
    assert info.status == "ready" and info.kind == "ncf-implicit+ease+next+mf"
    loaded = artifacts.load_current(engine_settings.MODEL_DIR)
    assert loaded.path != broken and loaded.metadata["source"] == "startup"
    assert len(recommender.recommend(ratings={1: 5.0}, n=10)) == 10


def test_the_site_ranks_with_the_product_ranker(engine_settings):
    from recsys.baselines import EASEScorer
    from recsys.ranking.ranker import PRODUCT_WEIGHTS, Ranker

    extras = product_extras()
    save_model(engine_settings, extras=extras)
    assert recommender.wait_until_ready(30)
    assert recommender.model_info().kind == "ncf-implicit+ease"
    ratings = {1: 5.0, 2: 4.0, 3: 1.0}
    picks = recommender.recommend(ratings=ratings, exclude=[4], n=8, diversify=False)
    # The same blend built independently from the saved parts, with no content index.
    ease = EASEScorer.from_weights(extras["ease_movie_ids"], extras["ease_weights"])
    expected = Ranker.from_parts(recommender._engine.scorer, ease=ease, content=None,
                                 rating_counts=extras["rating_counts"])
    scores = expected.score(user_id=None, history=ratings)
    order = [int(m) for m in expected.items.raw(np.argsort(-scores, kind="stable")) if m not in (1, 2, 3, 4)]
    assert [p.movie_id for p in picks] == order[:8]
    # Three ratings is a new person: popularity weighs most, so the blockbuster leads.
    assert PRODUCT_WEIGHTS.for_count(3)[2] >= 0.5
    assert picks[0].movie_id == 40


def test_the_site_ranks_new_people_by_the_saved_liked_counts(engine_settings):
    from recsys.baselines import EASEScorer
    from recsys.ranking.ranker import Ranker

    extras = product_extras()
    # Movie 40 is the most rated, movie 39 the most liked (4 stars or more).
    extras["liked_counts"] = np.arange(N_MOVIES, dtype=np.int64)
    extras["liked_counts"][38], extras["liked_counts"][39] = 10**6, 0
    save_model(engine_settings, extras=extras)
    assert recommender.wait_until_ready(30)
    ratings = {1: 5.0, 2: 4.0, 3: 1.0}
    picks = recommender.recommend(ratings=ratings, n=8, diversify=False)
    ease = EASEScorer.from_weights(extras["ease_movie_ids"], extras["ease_weights"])
    expected = Ranker.from_parts(recommender._engine.scorer, ease=ease, content=None,
                                 rating_counts=extras["rating_counts"], liked_counts=extras["liked_counts"])
    scores = expected.score(user_id=None, history=ratings)
    order = [int(m) for m in expected.items.raw(np.argsort(-scores, kind="stable")) if m not in ratings]
    assert [p.movie_id for p in picks] == order[:8]
    assert picks[0].movie_id == 39 and 40 not in [p.movie_id for p in picks[:3]]


def test_the_site_shows_the_ncf_and_the_saved_mf_stars_averaged(engine_settings):
    from recsys.baselines import BiasedMFScorer, EASEScorer
    from recsys.ranking.ranker import STARS_NCF_SHARE, saved_extras
    from tests.recsys.conftest import structured_ratings

    mf = BiasedMFScorer(factors=3, iterations=4, seed=1).fit(structured_ratings(0))  # the site's data
    extras = product_extras()
    ease = EASEScorer.from_weights(extras["ease_movie_ids"], extras["ease_weights"])
    save_model(engine_settings, extras=saved_extras(ease=ease, stars_mf=mf, counts=extras["rating_counts"]))
    assert recommender.wait_until_ready(30)
    assert recommender.model_info().kind == "ncf-implicit+ease+mf"  # saved without the successor model
    ratings = {1: 5.0, 2: 4.0, 3: 1.0}
    ncf = recommender._engine.scorer.predict_ratings(user_id=None, history=ratings, movie_ids=range(4, 41))
    folded = mf.predict_ratings(user_id=None, history=ratings, movie_ids=range(4, 41))
    expected = [recommender.round_stars(STARS_NCF_SHARE * a + (1 - STARS_NCF_SHARE) * b) for a, b in zip(ncf, folded)]
    assert recommender.predict(ratings=ratings, movie_ids=list(range(4, 41))) == expected
    picks = recommender.recommend(ratings=ratings, n=10, diversify=False)
    assert [p.predicted_rating for p in picks] == [expected[p.movie_id - 4] for p in picks]


def test_a_popularity_driven_pick_says_so(engine_settings):
    from tests.movies.conftest import make_movie

    save_model(engine_settings, extras=product_extras())
    assert recommender.wait_until_ready(30)
    make_movie(1, "Heat", genres=["Crime", "Drama"])
    make_movie(2, "Airplane!", genres=["Comedy"])
    make_movie(3, "Solaris", genres=["Drama"])
    make_movie(40, "Top Movie", genres=["Comedy", "Drama"])
    picks = recommender.recommend(ratings={1: 2.0}, n=1, diversify=False)
    assert [(p.movie_id, p.reason) for p in picks] == [(40, "popular with people who like Drama")]
    # A film they liked that shares the pick's genre is named.
    picks = recommender.recommend(ratings={1: 2.0, 3: 1.5, 2: 4.5}, n=1, diversify=False)
    assert [(p.movie_id, p.reason) for p in picks] == [
        (40, "a popular Comedy pick, like Airplane!, which you rated 4.5 stars")]


def test_a_popularity_pick_names_the_liked_film_sharing_its_most_telling_genre(engine_settings):
    from tests.movies.conftest import make_movie

    save_model(engine_settings, extras=product_extras())
    assert recommender.wait_until_ready(30)
    make_movie(1, "Heat, The", genres=["Crime", "Drama"])
    make_movie(2, "Airplane!", genres=["Comedy", "Drama"])
    make_movie(3, "Solaris", genres=["Drama"])
    make_movie(5, "Drama Filler", genres=["Comedy", "Drama"])
    make_movie(40, "Top Movie", genres=["Crime", "Comedy", "Drama"])
    # Crime (2 films in the catalog) tells more than Comedy (3) or Drama (5): the liked Crime
    # film is named, with its natural title, though Airplane! got more stars.
    picks = recommender.recommend(ratings={1: 4.0, 2: 5.0}, n=1, diversify=False)
    assert [(p.movie_id, p.reason) for p in picks] == [
        (40, "a popular Crime pick, like The Heat, which you rated 4 stars")]
    # At equal rarity (3 films each) the better-rated film is named.
    make_movie(7, "Crime Filler", genres=["Crime"])
    picks = recommender.recommend(ratings={1: 4.0, 2: 5.0}, n=1, diversify=False)
    assert [p.reason for p in picks] == ["a popular Comedy pick, like Airplane!, which you rated 5 stars"]
