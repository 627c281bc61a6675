"""recsys.ranking.ranker: the site's ranker. Its score is the scheduled sum of z-scored parts, and its one
call (recommend) gives exactly what the parts composed by hand give, from one fold-in."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recsys.ranking.ranker as ranker_module
from recsys.baselines import BiasedMFScorer, EASEScorer
from recsys.content.index import ContentIndex
from recsys.data.vocabulary import Vocabulary
from recsys.ncf.scorer import NCFScorer
from recsys.ncf.testing import random_weights
from recsys.primitives import top_k, zscore
from recsys.protocol import Scorer
from recsys.ranking.ranker import (
    COLLABORATIVE,
    COLLABORATIVE_MIX,
    CONTENT,
    EASE_RECENCY,
    PARTS,
    POPULARITY,
    PRODUCT_CONTENT_GATE,
    PRODUCT_WEIGHTS,
    RECENT_POPULARITY_TRIED,
    STARS_MF_FACTORS,
    STARS_NCF_SHARE,
    CollaborativeMix,
    ContentGate,
    Ranker,
    RecentPopularity,
    SideFits,
    WeightSchedule,
    liked_counts,
    loaded_parts,
    product_sequence,
    product_stars_mf,
    rating_counts,
    saved_extras,
)
from recsys.sequence import NextMoviesScorer, recency_weights
from recsys.timeline import LikedTimeline
from tests.recsys.conftest import N_MOVIES, tiny_config


def _ncf_with_random_weights(seed=0):
    config = tiny_config()
    net_weights = random_weights(30, N_MOVIES, config, np.random.default_rng(seed), scale=0.5)
    return NCFScorer.from_parts(config, Vocabulary(range(1, 31)), Vocabulary(range(1, N_MOVIES + 1)), net_weights)


def _content_index():
    # Movie m's text embedding: a one-hot of (m mod 4), so movies 1, 5, 9 ... read alike.
    ids = np.arange(1, N_MOVIES + 1)
    embeddings = np.eye(4, dtype=np.float32)[ids % 4]
    return ContentIndex(ids, embeddings)


@pytest.fixture
def ranker(structured_frame):
    ncf = _ncf_with_random_weights()
    ease = EASEScorer(l2=10.0, max_items=25).fit(structured_frame)
    return Ranker.from_parts(ncf, ease=ease, content=_content_index(),
                             rating_counts=rating_counts(structured_frame, ncf.items))


def test_weight_schedule_interpolates_between_new_and_regular():
    w = WeightSchedule(new=(0.7, 0.2, 0.1), regular=(0.3, 0.6, 0.1), new_until=10, regular_from=30)
    np.testing.assert_allclose(w.for_count(0), [0.7, 0.2, 0.1])
    np.testing.assert_allclose(w.for_count(10), [0.7, 0.2, 0.1])
    np.testing.assert_allclose(w.for_count(20), [0.5, 0.4, 0.1])
    np.testing.assert_allclose(w.for_count(500), [0.3, 0.6, 0.1])
    np.testing.assert_allclose(WeightSchedule((2, 1, 1), (1, 1, 1), 1, 2).for_count(0), [0.5, 0.25, 0.25])
    assert [w.regular_share(n) for n in (0, 10, 20, 30, 500)] == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_liked_counts_count_only_ratings_of_four_stars_or_more():
    frame = pd.DataFrame({"user_id": [1, 2, 3, 1, 2, 3], "movie_id": [10, 10, 10, 20, 20, 30],
                          "rating": [4.0, 3.5, 5.0, 1.0, 4.5, 3.9], "timestamp": [0] * 6})
    items = Vocabulary([10, 20, 30, 40])
    assert liked_counts(frame, items).tolist() == [2, 1, 0, 0]
    assert rating_counts(frame, items).tolist() == [3, 2, 1, 0]


def test_new_peoples_popularity_counts_liked_ratings_and_moves_to_every_rating(structured_frame):
    ncf = _ncf_with_random_weights()
    counts, liked = rating_counts(structured_frame, ncf.items), liked_counts(structured_frame, ncf.items)
    assert (liked != counts).any()
    ranker = Ranker.from_parts(ncf, ease=None, content=None, rating_counts=counts, liked_counts=liked)
    every = zscore(np.log1p(counts.astype(np.float64)))
    only_liked = zscore(np.log1p(liked.astype(np.float64)))

    def popularity(n_ratings):
        history = dict.fromkeys(range(1, n_ratings + 1), 4.0)
        return ranker.parts(user_id=None, history=history)[PARTS.index(POPULARITY)]

    schedule = PRODUCT_WEIGHTS
    np.testing.assert_allclose(popularity(0), only_liked, atol=1e-6)
    np.testing.assert_allclose(popularity(schedule.new_until), only_liked, atol=1e-6)
    np.testing.assert_allclose(popularity(schedule.regular_from), every, atol=1e-6)
    between = (schedule.new_until + schedule.regular_from) // 2
    share = schedule.regular_share(between)
    assert 0 < share < 1
    np.testing.assert_allclose(popularity(between), (1 - share) * only_liked + share * every, atol=1e-6)
    # Without liked counts (an older model) every person's popularity counts every rating.
    older = Ranker.from_parts(ncf, ease=None, content=None, rating_counts=counts)
    np.testing.assert_allclose(older.parts(user_id=None, history={1: 4.0})[PARTS.index(POPULARITY)], every,
                               atol=1e-6)
    with pytest.raises(ValueError, match="39 liked counts for 40 movies"):
        Ranker.from_parts(ncf, ease=None, content=None, rating_counts=counts, liked_counts=liked[:-1])


DAY = 86_400


def test_a_ranker_with_recent_popularity_makes_new_people_part_recent_at_the_time_asked(structured_frame):
    # Ratings three days apart (about eight years in all), so the decay over a year matters.
    structured_frame = structured_frame.assign(timestamp=10**9 + np.arange(len(structured_frame)) * 3 * DAY)
    fitted = Ranker(NCFScorer(tiny_config(epochs=1)), ease=None, content=None,
                    recent_popularity=RECENT_POPULARITY_TRIED).fit(structured_frame)
    items, share, days = fitted.items, RECENT_POPULARITY_TRIED.share, RECENT_POPULARITY_TRIED.days
    liked_z = zscore(np.log1p(liked_counts(structured_frame, items).astype(np.float64)))

    def expected(at):
        return (1 - share) * liked_z + share * zscore(np.log1p(LikedTimeline.of(structured_frame, items)
                                                                .decayed_counts(at, days)))

    def popularity(at, n_ratings=2):
        history = dict.fromkeys(range(1, n_ratings + 1), 4.0)
        return fitted.parts(user_id=None, history=history, at=at)[PARTS.index(POPULARITY)]

    middle = float(structured_frame["timestamp"].median())
    assert not np.allclose(expected(middle), expected(structured_frame["timestamp"].max()), atol=1e-3)
    np.testing.assert_allclose(popularity(middle), expected(middle), atol=1e-5)
    # None (the site) is the end of the data, and so is any later time.
    end = float(structured_frame["timestamp"].max())
    np.testing.assert_allclose(popularity(None), expected(end), atol=1e-5)
    np.testing.assert_allclose(popularity(end + 10 * 365 * DAY), expected(end), atol=1e-5)
    # Regular people's popularity counts every rating, whatever the time.
    every = zscore(np.log1p(rating_counts(structured_frame, items).astype(np.float64)))
    np.testing.assert_allclose(popularity(middle, PRODUCT_WEIGHTS.regular_from), every, atol=1e-5)
    # The served ranker has no recent part: only the liked counts, whatever the time.
    plain = Ranker(NCFScorer(tiny_config(epochs=1)), ease=None, content=None).fit(structured_frame)
    np.testing.assert_allclose(plain.parts(user_id=None, history={1: 4.0}, at=middle)[PARTS.index(POPULARITY)],
                               liked_z, atol=1e-5)
    with pytest.raises(ValueError, match="share must be in"):
        RecentPopularity(share=1.5, days=365.0)


def test_a_film_released_after_the_year_asked_is_never_recommended(structured_frame):
    start = int(structured_frame["timestamp"].min())  # 1970
    years = dict.fromkeys(range(1, N_MOVIES + 1), 1960)
    years[1], years[2] = 1971, 1970
    fitted = Ranker(NCFScorer(tiny_config(epochs=1)), ease=None, content=None,
                    release_years=years).fit(structured_frame)
    history = {3: 5.0, 4: 5.0}
    now = fitted.score(user_id=None, history=history)
    then = fitted.score(user_id=None, history=history, at=start)
    assert np.isfinite(now).all()
    assert np.flatnonzero(np.isneginf(then)).tolist() == [fitted.items.index(1)]
    picks = fitted.recommend(history=history, n=N_MOVIES, at=start)
    assert 1 not in {p.movie_id for p in picks} and 2 in {p.movie_id for p in picks}
    assert len(picks) == N_MOVIES - 3
    assert 1 in {p.movie_id for p in fitted.recommend(history=history, n=N_MOVIES)}
    assert fitted.unavailable(None) is None and fitted.unavailable(start + 400 * DAY) is None


def test_the_sites_ranker_scores_alike_whatever_time_it_is_asked(ranker):
    # Built from a saved model (no release years, no timeline): ``at`` changes nothing.
    history = {1: 5.0, 2: 4.0, 30: 1.0}
    now = ranker.score(user_id=None, history=history)
    np.testing.assert_array_equal(ranker.score(user_id=None, history=history, at=0.0), now)
    assert [p.movie_id for p in ranker.recommend(history=history, n=5, at=0.0)] == \
        [p.movie_id for p in ranker.recommend(history=history, n=5)]


def test_primitives_top_k_and_zscore():
    scores = np.array([0.5, -np.inf, 2.0, 0.5, np.nan, 3.0])
    assert top_k(scores, 3).tolist() == [5, 2, 0]
    assert top_k(scores, 10).tolist() == [5, 2, 0, 3]  # ties by position; -inf and NaN never picked
    assert top_k(scores, 0).tolist() == [] and top_k(np.full(3, -np.inf), 2).tolist() == []
    np.testing.assert_allclose(zscore(np.array([1.0, 3.0])), [-1.0, 1.0])
    np.testing.assert_array_equal(zscore(np.array([2.0, 2.0])), [0.0, 0.0])


def test_score_is_the_scheduled_sum_of_its_z_scored_parts(structured_frame):
    ncf = _ncf_with_random_weights()
    ease = EASEScorer(l2=10.0, max_items=25).fit(structured_frame)
    counts = rating_counts(structured_frame, ncf.items)
    sequence = NextMoviesScorer(max_items=20).fit(structured_frame)
    ranker = Ranker.from_parts(ncf, ease=ease, content=None, rating_counts=counts, sequence=sequence)
    assert isinstance(ranker, Scorer) and ranker.predicts_ratings
    history = {1: 5.0, 2: 4.5, 25: 1.0}  # oldest first: 25 is the latest

    ncf_z = zscore(ncf.score(user_id=None, history=history))
    # EASE counts the latest ratings most: 1 + boost * exp(-age / span).
    boost, span = EASE_RECENCY
    ease_rows = ease.items.indices(list(history))
    ease_raw = (recency_weights(3, boost=boost, span=span)[:, None] * ease.weights[ease_rows]).sum(axis=0)
    ease_z = zscore(ease_raw)
    ease_cols = ease.items.indices(ncf.items.ids)
    next_z = zscore(sequence.score(user_id=None, history=history))
    next_cols = sequence.items.indices(ncf.items.ids)
    ncf_w, ease_w, next_w = COLLABORATIVE_MIX.new  # three ratings: a new person
    collaborative = (ncf_w * ncf_z + ease_w * np.where(ease_cols >= 0, ease_z[np.maximum(ease_cols, 0)], 0.0)
                     + next_w * np.where(next_cols >= 0, next_z[np.maximum(next_cols, 0)], 0.0))  # unknown: mean
    popularity = np.log1p(counts.astype(np.float64))
    w = PRODUCT_WEIGHTS.for_count(3)
    expected = w[1] * zscore(collaborative) + w[2] * zscore(popularity)
    np.testing.assert_allclose(ranker.score(user_id=None, history=history), expected, atol=1e-5)
    # Stars come from the NCF's rating head alone.
    np.testing.assert_array_equal(ranker.predict_ratings(user_id=None, history=history, movie_ids=[3, 4]),
                                  ncf.predict_ratings(user_id=None, history=history, movie_ids=[3, 4]))
    with pytest.raises(ValueError, match="rating counts for 40 movies"):
        Ranker.from_parts(ncf, ease=ease, content=None, rating_counts=counts[:-1])


def test_the_content_gate_keeps_content_where_the_collaborative_part_is_high():
    gate = ContentGate(centre=1.5, width=0.25)
    # At the centre a movie keeps half its content score, the rest moves to the lowest one.
    np.testing.assert_allclose(gate.apply(np.array([1.0, 0.0, -1.0]), np.full(3, 1.5)), [0.0, -0.5, -1.0])
    # sigmoid(ln 3) = 3/4: 0.75 * 2 + 0.25 * (-2) = 1; far below the centre nothing is kept.
    collaborative = np.array([1.5 + 0.25 * np.log(3.0), -20.0])
    np.testing.assert_allclose(gate.apply(np.array([2.0, -2.0]), collaborative), [1.0, -2.0])
    np.testing.assert_allclose(gate.apply(np.array([2.0, 0.0]), np.array([40.0, -40.0])), [2.0, 0.0])
    assert gate.apply(np.array([]), np.array([])).size == 0
    # Strength 0 keeps everything, 0.5 half of what the full gate moves.
    np.testing.assert_array_equal(gate.apply(np.array([2.0, -2.0]), collaborative, 0.0), [2.0, -2.0])
    np.testing.assert_allclose(gate.apply(np.array([2.0, -2.0]), collaborative, 0.5), [1.5, -2.0])
    with pytest.raises(ValueError, match="width must be positive"):
        ContentGate(centre=1.5, width=0.0)


def test_the_content_part_is_gated_by_the_collaborative_one(ranker):
    # A regular person (30 ratings, PRODUCT_WEIGHTS.regular_from): the full gate.
    history = {movie: float(1 + movie % 5) for movie in range(1, 31)}
    assert PRODUCT_WEIGHTS.regular_share(len(history)) == 1.0
    gated = ranker.parts(user_id=None, history=history)
    assert ranker.content_gate == PRODUCT_CONTENT_GATE
    ranker.content_gate = None
    plain = ranker.parts(user_id=None, history=history)
    np.testing.assert_array_equal(gated[1:], plain[1:])  # only the content part moves
    np.testing.assert_allclose(gated[0], PRODUCT_CONTENT_GATE.apply(plain[0], plain[1]), atol=1e-6)
    implausible = plain[1] < 0
    assert implausible.any() and np.all(gated[0][implausible] - plain[0].min() < 0.01)
    weights = PRODUCT_WEIGHTS.for_count(len(history)).astype(np.float32)[:, None]
    ranker.content_gate = PRODUCT_CONTENT_GATE
    np.testing.assert_allclose(ranker.score(user_id=None, history=history), (weights * gated).sum(axis=0), rtol=1e-6)
    # A new person (3 ratings): no gate at all; half-way (17 or 18 ratings): part of it.
    new = {1: 5.0, 6: 4.0, 23: 1.0}
    np.testing.assert_array_equal(ranker.parts(user_id=None, history=new)[0], _ungated(ranker, new)[0])
    middle = dict(list(history.items())[:18])
    share = PRODUCT_WEIGHTS.regular_share(18)
    assert 0 < share < 1
    plain = _ungated(ranker, middle)
    np.testing.assert_allclose(ranker.parts(user_id=None, history=middle)[0],
                               PRODUCT_CONTENT_GATE.apply(plain[0], plain[1], share), atol=1e-6)


def _ungated(ranker, history):
    gate, ranker.content_gate = ranker.content_gate, None
    try:
        return ranker.parts(user_id=None, history=history)
    finally:
        ranker.content_gate = gate


def test_without_ease_or_content_it_ranks_by_the_ncf_when_popularity_is_flat():
    ncf = _ncf_with_random_weights(1)
    ranker = Ranker.from_parts(ncf, ease=None, content=None, rating_counts=np.ones(N_MOVIES))
    history = {3: 4.0}
    assert np.argsort(-ranker.score(user_id=None, history=history), kind="stable").tolist() == \
        np.argsort(-ncf.score(user_id=None, history=history), kind="stable").tolist()


def test_fitting_equals_loading_the_saved_parts(structured_frame):
    fitted = Ranker(NCFScorer(tiny_config(epochs=2)), ease=EASEScorer(l2=10.0), content=None).fit(structured_frame)
    assert fitted.ncf.net is not None and fitted.ease.weights is not None
    assert fitted.items.ids.tolist() == list(range(1, N_MOVIES + 1))
    # What the site does with a saved model: the same parts, counts from the same ratings.
    loaded = Ranker.from_parts(fitted.ncf, ease=EASEScorer.from_weights(fitted.ease.items.ids, fitted.ease.weights),
                               content=None, rating_counts=rating_counts(structured_frame, fitted.ncf.items),
                               liked_counts=liked_counts(structured_frame, fitted.ncf.items))
    history = {1: 5.0, 2: 5.0, 3: 4.5, 30: 1.0}
    np.testing.assert_array_equal(loaded.score(user_id=None, history=history),
                                  fitted.score(user_id=None, history=history))


def test_side_fits_on_a_thread_give_exactly_what_fitting_in_turn_gives(structured_frame):
    said = []
    in_turn = SideFits(structured_frame, 7, background=False)
    beside = SideFits(structured_frame, 7, on_step=said.append, background=True)
    (ease, mf, sequence), (ease_bg, mf_bg, sequence_bg) = in_turn.result(), beside.result()
    assert beside._thread is not None and not beside._thread.is_alive()
    np.testing.assert_array_equal(ease_bg.weights, ease.weights)
    for name, array in mf.item_side().items():
        np.testing.assert_array_equal(mf_bg.item_side()[name], array)
    for name, array in sequence.arrays().items():
        np.testing.assert_array_equal(sequence_bg.arrays()[name], array)
    assert [line.split(" in ")[0] for line in said] == [
        f"biased MF for the stars ({STARS_MF_FACTORS} factors)", f"EASE over {len(ease.items):,} movies",
        f"successors of {len(sequence.items):,} movies ({sequence.successors.nnz:,} links)"]
    assert all(line.endswith("(beside the NCF)") for line in said)


def test_a_large_mf_is_fitted_before_the_ncf_and_only_ease_beside_it(structured_frame, monkeypatch):
    monkeypatch.setattr(ranker_module, "SIDE_MF_MAX_BYTES", len(structured_frame) * ranker_module.MF_BYTES_PER_RATING - 1)
    said = []
    side = SideFits(structured_frame, 7, on_step=said.append, background=True)
    assert side.stars_mf is not None  # fitted in the constructor, before the NCF would start
    side.result()
    assert said[0].startswith("biased MF") and not said[0].endswith("(beside the NCF)")
    assert said[1].startswith("EASE") and said[1].endswith("(beside the NCF)")
    assert said[2].startswith("successors") and said[2].endswith("(beside the NCF)")


def test_a_side_fit_that_fails_on_its_thread_fails_the_training(structured_frame):
    broken = structured_frame.drop(columns=["rating"])
    side = SideFits(broken, 7, background=True)
    with pytest.raises(KeyError, match="rating"):
        side.result()


@pytest.mark.parametrize("history, user_id", [({1: 5.0, 5: 4.5, 22: 1.0}, None), ({2: 4.0}, None),
                                              ({1: 5.0, 3: 4.0}, 4), ({}, None)])
def test_recommend_is_the_parts_composed_by_hand_from_one_fold_in(ranker, monkeypatch, history, user_id):
    exclude = {7, 8}
    weights = PRODUCT_WEIGHTS.for_count(len(history)).astype(np.float32)[:, None]
    parts = ranker.parts(user_id=user_id, history=history)
    scores = (weights * parts).sum(axis=0).astype(np.float64)
    banned = ranker.items.indices([*history, *exclude])
    scores[banned] = -np.inf
    expected_rows = top_k(scores, 6)

    calls = []
    real = ranker.ncf.user_vector
    monkeypatch.setattr(ranker.ncf, "user_vector", lambda **kw: calls.append(kw) or real(**kw))
    picks = ranker.recommend(history=history, user_id=user_id, exclude=exclude, n=6)
    assert len(calls) == 1  # one fold-in serves the ranking, the stars and the reasons

    assert [p.movie_id for p in picks] == ranker.items.ids[expected_rows].tolist()
    assert [p.score for p in picks] == scores[expected_rows].tolist()
    stars = ranker.ncf.predict_ratings(user_id=user_id, history=history, movie_ids=[p.movie_id for p in picks])
    np.testing.assert_allclose([p.stars for p in picks], stars, rtol=1e-6)
    drivers = np.argmax(weights * parts[:, expected_rows], axis=0)
    assert [p.driver for p in picks] == [PARTS[d] for d in drivers]
    # Shuffled: n of the top pool, in the seed's order; the same seed, the same list.
    shuffled = ranker.recommend(history=history, user_id=user_id, exclude=exclude, n=6, shuffle=True, pool_size=12,
                                seed=3)
    pool = top_k(scores, 12)
    assert [p.movie_id for p in shuffled] == ranker.items.ids[np.random.default_rng(3).permutation(pool)[:6]].tolist()
    assert shuffled == ranker.recommend(history=history, user_id=user_id, exclude=exclude, n=6, shuffle=True,
                                        pool_size=12, seed=3)


def test_recommend_ranks_only_known_candidates_and_never_rated_or_excluded_ones(ranker):
    picks = ranker.recommend(history={1: 5.0, 2: 4.0}, exclude={3}, candidates=[1, 3, 4, 5, 999, 5], n=10)
    assert sorted(p.movie_id for p in picks) == [4, 5]
    full = ranker.recommend(history={1: 5.0, 2: 4.0}, exclude={3}, n=N_MOVIES)
    assert [p.movie_id for p in full if p.movie_id in (4, 5)] == [p.movie_id for p in picks]
    assert len(full) == N_MOVIES - 3


def test_each_pick_names_the_part_that_drove_it_and_the_liked_movie_behind_it(ranker):
    history = {1: 5.0, 6: 4.0, 23: 1.0}
    liked = [1, 6]
    assert ranker.liked(history) == liked
    net = ranker.ncf.net
    vectors = np.concatenate([net.item_gmf, net.item_mlp], axis=1)
    unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
    ranker.content_gate = None  # each part alone decides here (the gate has its own tests)
    for weights, driver in (((1.0, 0.0, 0.0), CONTENT), ((0.0, 1.0, 0.0), COLLABORATIVE),
                            ((0.0, 0.0, 1.0), POPULARITY)):
        ranker.weights = WeightSchedule(new=weights, regular=weights, new_until=5, regular_from=30)
        picks = ranker.recommend(history=history, n=8)
        assert {p.driver for p in picks} == {driver}
        for pick in picks:
            if driver == POPULARITY:
                assert (pick.similar_to, pick.because_of) == (None, None)
                continue
            row = ranker.ncf.items.index(pick.movie_id)
            nearest = liked[int(np.argmax(unit[ranker.ncf.items.indices(liked)] @ unit[row]))]
            assert pick.because_of == nearest
            if driver == CONTENT:
                # Text: 1 and 5, 9 ... share an embedding, and so do 6 and 2, 10, ...
                assert pick.similar_to == {1: 1, 2: 6}.get(pick.movie_id % 4, pick.similar_to)
                assert pick.similar_to in liked
            else:
                assert pick.similar_to is None
    # Nothing liked: no movie to name.
    assert all(p.because_of is None for p in ranker.recommend(history={23: 1.0}, n=5))


@pytest.mark.parametrize("user_id", [None, 4])
def test_stars_are_the_ncf_and_the_folded_in_mf_averaged(ranker, structured_frame, user_id):
    # The MF does not know movie 40, so its stars there are the NCF's alone.
    mf = BiasedMFScorer(factors=3, iterations=4, seed=1).fit(structured_frame[structured_frame.movie_id != 40])
    ranker = Ranker.from_parts(ranker.ncf, ease=ranker.ease, content=ranker.content,
                               rating_counts=rating_counts(structured_frame, ranker.ncf.items), stars_mf=mf)
    assert STARS_NCF_SHARE == 0.5 and repr(ranker).endswith("stars ncf + mf, 40 movies)")
    history = {1: 5.0, 5: 4.5, 22: 1.0}
    movies = list(range(1, N_MOVIES + 1))
    ncf = ranker.ncf.predict_ratings(user_id=user_id, history=history, movie_ids=movies)
    # The MF folds everybody in from their ratings, as the site does for a visitor.
    folded = mf.predict_ratings(user_id=None, history=history, movie_ids=movies)
    expected = np.where(np.isnan(folded), ncf, 0.5 * ncf + 0.5 * folded)
    stars = ranker.predict_ratings(user_id=user_id, history=history, movie_ids=movies)
    np.testing.assert_allclose(stars, expected, rtol=1e-6)
    assert stars[39] == ncf[39] and not np.allclose(stars[:39], ncf[:39])
    picks = ranker.recommend(history=history, user_id=user_id, n=N_MOVIES)
    np.testing.assert_allclose([p.stars for p in picks], expected[[p.movie_id - 1 for p in picks]], rtol=1e-6)
    # Stars do not rank: the same picks in the same order as without the MF.
    without = Ranker.from_parts(ranker.ncf, ease=ranker.ease, content=ranker.content,
                                rating_counts=rating_counts(structured_frame, ranker.ncf.items))
    assert [p.movie_id for p in picks] == [p.movie_id for p in without.recommend(history=history, user_id=user_id,
                                                                                  n=N_MOVIES)]


def test_the_stars_share_must_be_a_share(ranker):
    with pytest.raises(ValueError, match="stars_ncf_share"):
        Ranker(ranker.ncf, ease=None, content=None, stars_ncf_share=1.5)


def test_a_saved_and_loaded_model_gives_the_fitted_rankers_scores_and_stars(structured_frame, tmp_path):
    from recsys.ncf import artifacts

    fitted = Ranker(NCFScorer(tiny_config(epochs=2)), ease=EASEScorer(l2=10.0), content=None,
                    stars_mf=product_stars_mf(seed=2), sequence=product_sequence()).fit(structured_frame)
    assert fitted.stars_mf.factors == STARS_MF_FACTORS and fitted.sequence.successors.nnz > 0
    path = artifacts.save_artifact(tmp_path, config=fitted.ncf.config, users=fitted.ncf.users, items=fitted.ncf.items,
                                   weights=fitted.ncf.train_result.weights, metadata={},
                                   extras=saved_extras(ease=fitted.ease, stars_mf=fitted.stars_mf,
                                                       counts=rating_counts(structured_frame, fitted.ncf.items),
                                                       sequence=fitted.sequence,
                                                       liked=liked_counts(structured_frame, fitted.ncf.items)))
    parts = loaded_parts(artifacts.load_artifact(path))
    loaded = Ranker.from_parts(parts.ncf, ease=parts.ease, content=None, rating_counts=parts.rating_counts,
                               stars_mf=parts.stars_mf, sequence=parts.sequence, liked_counts=parts.liked_counts)
    assert repr(loaded).startswith("Ranker(ncf + ease + next + popularity")
    history, movies = {1: 5.0, 2: 5.0, 3: 4.5, 30: 1.0}, list(range(1, N_MOVIES + 1))
    np.testing.assert_array_equal(loaded.score(user_id=None, history=history),
                                  fitted.score(user_id=None, history=history))
    np.testing.assert_allclose(loaded.predict_ratings(user_id=None, history=history, movie_ids=movies),
                               fitted.predict_ratings(user_id=None, history=history, movie_ids=movies), rtol=1e-5)
    # An older artifact, without the MF: the NCF's stars alone.
    older = loaded_parts(artifacts.load_artifact(artifacts.save_artifact(
        tmp_path, config=fitted.ncf.config, users=fitted.ncf.users, items=fitted.ncf.items,
        weights=fitted.ncf.train_result.weights, metadata={})))
    assert (older.ease, older.stars_mf, older.sequence, older.liked_counts) == (None, None, None, None)
    assert not older.rating_counts.any()


GOLDEN = Path(__file__).with_name("golden_picks.json")


def test_recommend_gives_exactly_the_picks_of_the_path_it_replaced(structured_frame):
    """golden_picks.json was written by the pre-restructure code (HybridScorer + the door's own
    sum, top-k and second fold-in, fe22d7c) on this very model: 54 requests (new and known
    people, strict and shuffled, exclusions, candidates). One pass gives the same movies, scores,
    stars, deciding parts and named movies (scores and stars to float32 precision)."""
    ncf = _ncf_with_random_weights()
    # The weights the recording was made with, and no content gate (it came later): tuning may move
    # PRODUCT_WEIGHTS and the gate; the one pass must not move.
    recorded = WeightSchedule(new=(0.1, 0.1, 0.8), regular=(0.5, 0.3, 0.2), new_until=5, regular_from=30)
    ranker = Ranker.from_parts(ncf, ease=EASEScorer(l2=10.0, max_items=25).fit(structured_frame),
                               content=_content_index(), rating_counts=rating_counts(structured_frame, ncf.items),
                               weights=recorded, content_gate=None)
    ranker.ease_recency = None  # nor EASE's recency weighting, nor (no model) the successor part
    cases = json.loads(GOLDEN.read_text())["cases"]
    assert len(cases) == 54
    for case in cases:
        history = {int(movie): stars for movie, stars in case["history"].items()}
        picks = ranker.recommend(history=history, user_id=case["user_id"], exclude=case.get("exclude", ()),
                                 candidates=case.get("candidates"), n=8, shuffle=case["shuffle"], pool_size=12,
                                 seed=case["seed"])
        got = [[p.movie_id, p.driver, p.similar_to, p.because_of] for p in picks]
        assert got == [[movie, driver, similar, because] for movie, _, _, driver, similar, because in case["picks"]], case
        # Scores and stars to float32 precision: the last bits of a BLAS sum depend on how many
        # threads it runs on (one pinned core gives 1.2526940107 for 1.2526941299). A score is a sum
        # of z-scores of order 1, so near 0 its error is absolute (-0.0371014922 for -0.0371016413).
        assert [p.score for p in picks] == pytest.approx([pick[1] for pick in case["picks"]], rel=1e-6, abs=1e-6), case
        assert [p.stars for p in picks] == pytest.approx([pick[2] for pick in case["picks"]], rel=1e-6), case


def test_the_collaborative_mix_moves_from_new_to_regular_and_refuses_bad_weights():
    mix = CollaborativeMix(new=(1.0, 1.0, 0.0), regular=(0.5, 1.0, 1.0))
    assert mix.at(0.0) == (1.0, 1.0, 0.0) and mix.at(1.0) == (0.5, 1.0, 1.0)
    assert mix.at(0.5) == pytest.approx((0.75, 1.0, 0.5))
    for bad in [(1.0, -0.1, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0)]:
        with pytest.raises(ValueError, match="three weights"):
            CollaborativeMix(new=bad, regular=(1.0, 1.0, 1.0))


def test_the_successor_part_lifts_what_follows_the_latest_rating(structured_frame):
    """The same two ratings in the other order: the successors of the latest one move up."""
    ncf = _ncf_with_random_weights()
    sequence = NextMoviesScorer(max_items=None, min_ratings=1).fit(structured_frame)
    only_next = CollaborativeMix(new=(0.0, 0.0, 1.0), regular=(0.0, 0.0, 1.0))
    ranker = Ranker.from_parts(ncf, ease=None, content=None, rating_counts=rating_counts(structured_frame, ncf.items),
                               sequence=sequence)
    ranker.collaborative_mix = only_next
    first, second = 1, 21
    a = ranker.parts(user_id=None, history={first: 4.0, second: 4.0})[1]
    b = ranker.parts(user_id=None, history={second: 4.0, first: 4.0})[1]
    expected_a = zscore(sequence.score(user_id=None, history={first: 4.0, second: 4.0}))
    np.testing.assert_allclose(a, zscore(expected_a[sequence.items.indices(ncf.items.ids)]), atol=1e-5)
    follows_second = sequence.successors[sequence.items.index(second)].toarray().ravel()
    top = sequence.items.ids[np.argmax(follows_second)]
    assert a[ncf.items.index(top)] > b[ncf.items.index(top)]
