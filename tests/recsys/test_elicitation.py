"""The rating grid's strategies: what a screen may show, one film per series, adapting to answers."""
import math

import numpy as np
import pandas as pd
import pytest

from recsys import elicitation
from recsys.elicitation import (
    LikelySeenWeights,
    catalog_from_ratings,
    likely_seen_screen,
    popular_screen,
    seen_log_odds,
)


def camps_frame(seed: int = 0) -> pd.DataFrame:
    """40 people, 40 movies: people 1-20 watch mostly movies 1-20, people 21-40 mostly 21-40
    (each movie of their own camp with 80%, of the other with 10%); stars vary."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, 41):
        for movie in range(1, 41):
            own = (user <= 20) == (movie <= 20)
            if rng.random() < (0.8 if own else 0.1):
                rows.append((user, movie, float(rng.choice([1.0, 2.5, 3.0, 4.0, 5.0])), len(rows)))
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])


@pytest.fixture(scope="module")
def camps():
    movies = pd.DataFrame({"movie_id": range(1, 41), "title": [f"Film {chr(64 + i)}{i}x" for i in range(1, 41)],
                           "year": [1950 + i for i in range(40)], "genres": ["Drama"] * 40})
    return catalog_from_ratings(camps_frame(), movies)


def co_seen_catalog():
    """20 people. Movie 1 (A) is seen by people 1-10; movies 2, 3, 4 by eight people each:
    2 by 1-8 (all of them also saw A), 3 by 7-14 (half did), 4 by 13-20 (none did)."""
    viewers = {1: range(1, 11), 2: range(1, 9), 3: range(7, 15), 4: range(13, 21)}
    rows = [(user, movie, 4.0) for movie, users in viewers.items() for user in users]
    return catalog_from_ratings(pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"]))


def test_catalog_holds_the_most_rated_first_and_the_seen_model_of_the_pool_only(camps):
    assert len(camps) == 40 and camps.n_people == 40
    assert list(camps.counts) == sorted(camps.counts, reverse=True)
    assert camps.seen_if_seen.shape == camps.seen_if_unseen.shape == (40, 40)
    small = catalog_from_ratings(camps_frame(), pool_size=10)
    assert list(small.ids) == list(camps.ids[:10])
    assert small.seen_if_seen.shape == (10, 10) and small.seen_if_seen.dtype == np.float32


def test_seen_log_odds_are_the_prior_plus_each_answers_naive_bayes_term():
    catalog = co_seen_catalog()
    assert list(catalog.ids) == [1, 2, 3, 4] and list(catalog.counts) == [10, 8, 8, 8]
    prior = seen_log_odds(catalog)
    assert prior[0] == pytest.approx(0.0)  # (10 + 0.5) / (20 + 1) = one half
    assert prior[1] == pytest.approx(math.log(8.5 / 12.5))
    # Having seen A, for movie 2: P(saw A | saw 2) = (8 + 2 * 0.5) / (8 + 2),
    # P(saw A | not 2) = (2 + 2 * 0.5) / (12 + 2).
    after = seen_log_odds(catalog, rated={1: 4.0}, evidence=1.0)
    assert after[1] - prior[1] == pytest.approx(math.log(0.9) - math.log(3 / 14), abs=1e-5)
    assert after[2] - prior[2] == pytest.approx(0.0, abs=1e-5)  # (4 + 1) / 10 against (6 + 1) / 14
    skipped = seen_log_odds(catalog, skipped={1}, evidence=0.5)
    assert skipped[3] - prior[3] == pytest.approx(0.5 * (math.log(1 - 1 / 10) - math.log(1 - 11 / 14)), abs=1e-5)


def test_after_rating_a_movie_the_one_most_co_seen_with_it_comes_first():
    catalog = co_seen_catalog()
    assert likely_seen_screen(catalog, n=4) == [1, 2, 3, 4]  # equal shares: ties by id
    assert likely_seen_screen(catalog, rated={1: 4.0}, n=3) == [2, 3, 4]
    # Skipping A says the person is like those who did not see it.
    assert likely_seen_screen(catalog, skipped={1}, n=3) == [4, 3, 2]


def test_the_first_screen_is_the_most_rated_movies(camps):
    assert likely_seen_screen(camps, n=12) == camps.ids[:12].tolist()
    assert likely_seen_screen(camps, n=0) == []


def test_popularity_power_weighs_popularity_against_the_answers():
    catalog = co_seen_catalog()
    # Movies 2, 3 and 4 are equally popular, so only the answers order them, whatever the power.
    assert likely_seen_screen(catalog, rated={1: 4.0}, n=3, weights=LikelySeenWeights(popularity_power=10)) == [2, 3, 4]
    # No evidence: the answers are ignored, the order is popularity (ties by id).
    assert likely_seen_screen(catalog, skipped={1}, n=3, weights=LikelySeenWeights(evidence=0)) == [2, 3, 4]


def test_rated_skipped_and_excluded_movies_never_come_back_over_screens(camps):
    seen_by_person = set(range(1, 41, 3))
    rated, skipped = {}, set()
    shown_before: set[int] = set()
    for _screen in range(3):
        screen = likely_seen_screen(camps, rated=rated, skipped=skipped, exclude={5, 6}, n=12)
        assert len(screen) == 12 == len(set(screen))
        assert not set(screen) & (shown_before | {5, 6})
        shown_before |= set(screen)
        for movie in screen:
            if movie in seen_by_person:
                rated[movie] = 4.0
            else:
                skipped.add(movie)
    everything = set(range(1, 41))
    assert likely_seen_screen(camps, rated=dict.fromkeys(everything - {7, 8}, 4.0), n=12) in ([7, 8], [8, 7])


def test_one_film_per_series_on_a_screen():
    frame = pd.DataFrame([(user, movie, 3.0) for user in range(1, 21) for movie in (1, 2, 3, 4) if user > movie],
                         columns=["user_id", "movie_id", "rating"])
    movies = pd.DataFrame({"movie_id": [1, 2, 3, 4], "title": ["Toy Story", "Toy Story 2", "Heat", "Alien"],
                           "year": [1995, 1999, 1995, 1979], "genres": ["Animation", "Animation", "Crime", "Sci-Fi"]})
    catalog = catalog_from_ratings(frame, movies)
    assert list(catalog.ids) == [1, 2, 3, 4]  # 19, 18, 17 and 16 people
    assert likely_seen_screen(catalog, n=3) == [1, 3, 4]
    # A sequel only when nothing else is left to fill the screen.
    assert likely_seen_screen(catalog, n=4) == [1, 3, 4, 2]
    assert likely_seen_screen(catalog, rated={1: 4.0}, n=3) == [2, 3, 4]


def test_popular_screen_caps_a_genre_then_fills_from_it_when_nothing_else_is_left():
    pool = [(movie, 1900 + 10 * movie) for movie in range(1, 9)]
    genres = {movie: ["Drama"] if movie <= 6 else ["Comedy"] for movie in range(1, 9)}
    # n=4: at most max(2, 1) = 2 per genre and per decade at first; then x2; then no cap.
    screen = popular_screen(pool, genres, n=4, seed=3)
    assert len(screen) == 4 and {7, 8} <= set(screen)
    assert popular_screen(pool, genres, n=4, seed=3) == screen
    assert popular_screen([], genres, n=4) == []


def test_random_and_popular_screens_over_a_catalog_leave_out_answers(camps):
    for pick in (elicitation.random_screen, elicitation.popular_screen_from_catalog):
        screen = pick(camps, rated={1: 4.0}, skipped={2}, exclude={3}, n=10, seed=5)
        assert len(screen) == 10 == len(set(screen)) and not set(screen) & {1, 2, 3}
