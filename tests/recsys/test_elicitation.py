"""The rating grid's strategies: what a screen may show, one film per series, adapting to answers."""
import numpy as np
import pandas as pd
import pytest

from recsys import elicitation
from recsys.elicitation import InformativeWeights, catalog_from_ratings, informative_screen, popular_screen

NO_JITTER = InformativeWeights(jitter=0.0)


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
    return catalog_from_ratings(camps_frame(), movies, factors=4)


def test_catalog_holds_the_most_rated_first_with_unit_vectors(camps):
    assert len(camps) == 40 and camps.n_people == 40
    assert list(camps.counts) == sorted(camps.counts, reverse=True)
    assert np.allclose(np.linalg.norm(camps.vectors, axis=1), 1.0, atol=1e-5)


def test_a_screen_never_repeats_or_shows_what_was_answered(camps):
    screen = informative_screen(camps, rated={1: 4.0, 2: 3.0}, skipped={3}, exclude={4, 5}, n=12)
    assert len(screen) == 12 == len(set(screen))
    assert not set(screen) & {1, 2, 3, 4, 5}
    assert informative_screen(camps, n=0) == []
    everything = set(range(1, 41))
    assert informative_screen(camps, rated=dict.fromkeys(everything - {7, 8}, 4.0), n=12) in ([7, 8], [8, 7])


def test_the_next_screen_leans_towards_what_was_rated_and_away_from_skips(camps):
    first_camp = set(range(1, 21))
    answered = {"rated": {1: 4.0, 2: 5.0, 3: 3.0}, "skipped": {21, 22, 23, 24}}
    screen = informative_screen(camps, **answered, n=8, weights=NO_JITTER)
    assert len(set(screen) & first_camp) >= 6
    mirrored = informative_screen(camps, rated={21: 4.0, 22: 5.0, 23: 3.0}, skipped={1, 2, 3, 4}, n=8,
                                  weights=NO_JITTER)
    assert len(set(mirrored) - first_camp) >= 6


def test_one_film_per_series_on_a_screen():
    frame = pd.DataFrame([(user, movie, 3.0 + (user % 3), 0) for user in range(1, 21) for movie in (1, 2, 3, 4)],
                         columns=["user_id", "movie_id", "rating", "timestamp"])
    movies = pd.DataFrame({"movie_id": [1, 2, 3, 4], "title": ["Toy Story", "Toy Story 2", "Heat", "Alien"],
                           "year": [1995, 1999, 1995, 1979], "genres": ["Animation", "Animation", "Crime", "Sci-Fi"]})
    catalog = catalog_from_ratings(frame, movies, factors=2)
    assert len({1, 2} & set(informative_screen(catalog, n=3))) == 1
    # A sequel only when nothing else is left to fill the screen.
    screen = informative_screen(catalog, n=4)
    assert len(screen) == 4 and set(screen[3:]) & {1, 2}


def test_a_telling_film_beats_an_equally_seen_unanimous_one():
    # Movies 1 and 2 are rated by everybody; 1 always 4 stars, 2 anything from 1 to 5.
    rows = [(user, 1, 4.0, 0) for user in range(1, 11)] + [(user, 2, float(1 + user % 5), 0) for user in range(1, 11)]
    catalog = catalog_from_ratings(pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"]),
                                   factors=1)
    assert informative_screen(catalog, n=1, weights=NO_JITTER) == [2]


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
