"""Small catalogs for the browser-page tests: factories and ready-made catalogs."""
import itertools

import pytest

from movies.models import Genre, Movie, Tag, Visitor
from tests.movies.integrations.fake_tmdb import fake_tmdb  # noqa: F401 (a fixture for every test here)

GENRE_NAMES = ["Action", "Adventure", "Animation", "Comedy", "Crime", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller"]
# Headers the page's script sends; views answer such requests with fragments/JSON and 400s.
FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def make_movie(movie_id: int, title: str, *, year=None, genres=(), rating_count=0, rating_mean=None, **fields) -> Movie:
    movie = Movie.objects.create(
        id=movie_id, title=title, year=year, rating_count=rating_count, rating_mean=rating_mean, **fields
    )
    if genres:
        movie.genres.set([Genre.objects.get_or_create(name=name)[0] for name in genres])
    return movie


def make_catalog(size: int = 40) -> list[Movie]:
    """`size` movies: ids 1..size, rating_count falling with the id, genres and decades cycling."""
    genre_cycle = itertools.cycle(GENRE_NAMES)
    movies = []
    for index in range(1, size + 1):
        first, second = next(genre_cycle), GENRE_NAMES[(index * 3) % len(GENRE_NAMES)]
        movies.append(
            make_movie(
                index,
                f"Film {index:02d}",
                year=1950 + (index * 7) % 70,
                genres=sorted({first, second}),
                rating_count=1000 - index * 10,
                rating_mean=round(2.5 + (index % 5) * 0.5, 1),
            )
        )
    return movies


@pytest.fixture
def catalog(db) -> list[Movie]:
    return make_catalog(40)


@pytest.fixture
def named_catalog(db) -> dict[str, Movie]:
    """A few real-looking titles for search, reasons and the movie page."""
    movies = {
        "heat": make_movie(6, "Heat", year=1995, genres=["Action", "Crime", "Thriller"], rating_count=102, rating_mean=3.9),
        "matrix": make_movie(2571, "Matrix, The", year=1999, genres=["Action", "Sci-Fi", "Thriller"], rating_count=278, rating_mean=4.2),
        "terminator": make_movie(1240, "Terminator, The", year=1984, genres=["Action", "Sci-Fi", "Thriller"], rating_count=131, rating_mean=3.9),
        "terminator2": make_movie(589, "Terminator 2: Judgment Day", year=1991, genres=["Action", "Sci-Fi"], rating_count=224, rating_mean=4.0),
        "toy": make_movie(
            1, "Toy Story", year=1995, genres=["Adventure", "Animation", "Children", "Comedy"], rating_count=215,
            rating_mean=3.9, overview="A cowboy doll is threatened by a new spaceman figure.",
        ),
        "amelie": make_movie(4973, "Amélie (Fabuleux destin d'Amélie Poulain, Le)", year=2001, genres=["Comedy", "Romance"], rating_count=120, rating_mean=4.2),
        "notebook": make_movie(8533, "Notebook, The", year=2004, genres=["Drama", "Romance"], rating_count=40, rating_mean=3.6),
    }
    for user_id, tag in enumerate(["pixar", "Pixar", "fun", "pixar", "toys"], start=1):
        Tag.objects.create(user_id=user_id, movie=movies["toy"], tag=tag, timestamp=0)
    return movies


@pytest.fixture
def visitor_of(db):
    """The Visitor row a test client's session points at (None before its first write)."""
    from movies.services import VISITOR_SESSION_KEY

    def lookup(client):
        visitor_id = client.session.get(VISITOR_SESSION_KEY)
        return Visitor.objects.filter(pk=visitor_id).first() if visitor_id else None

    return lookup
