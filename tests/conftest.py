"""Fixtures shared by every test: a fixed RNG, tiny MovieLens datasets written to tmp dirs, the real copy."""
import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_SMALL = REPO_ROOT.parent / "shared" / "data" / "ml-latest-small"


def realdata_dir() -> Path | None:
    """The real ml-latest-small copy: MOVIELENS_DIR when it holds one, else ../shared/data."""
    for candidate in (os.environ.get("MOVIELENS_DIR"), SHARED_SMALL):
        if candidate and (Path(candidate) / "ratings.csv").is_file():
            return Path(candidate)
    return None


#: Fixtures that give a test the database DATABASE_URL names (pytest-django's, and the race
#: tests' own fresh database on the same server).
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                               "live_server", "database_url"})


def pytest_addoption(parser):
    parser.addoption("--database-tests-only", action="store_true",
                     help="run only the tests that use the database DATABASE_URL names (CI's PostgreSQL pass: "
                          "the others do not depend on which database it is)")


def uses_the_database(item) -> bool:
    """Whether ``item`` reads or writes the database DATABASE_URL names."""
    if item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    from django.test import SimpleTestCase, TransactionTestCase

    cls = getattr(item, "cls", None)
    return (isinstance(cls, type) and issubclass(cls, TransactionTestCase)
            or isinstance(cls, type) and issubclass(cls, SimpleTestCase) and bool(getattr(cls, "databases", None)))


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--database-tests-only"):
        return
    kept = [item for item in items if uses_the_database(item)]
    dropped = [item for item in items if not uses_the_database(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


@pytest.fixture
def movielens_small_dir() -> Path:
    path = realdata_dir()
    if path is None:
        pytest.skip("the real ml-latest-small copy is not available (set MOVIELENS_DIR)")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


TINY_MOVIES = """movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
2,Jumanji (1995),Adventure|Children|Fantasy
3,Heat (1995),Action|Crime|Thriller
4,"American President, The (1995)",Comedy|Drama|Romance
5,Unknown Film,(no genres listed)
"""
TINY_RATINGS = """userId,movieId,rating,timestamp
1,1,4.0,964982703
1,3,4.5,964981247
2,1,5.0,964982224
2,2,3.0,964983815
2,4,0.5,964982931
3,3,2.5,964982400
"""
TINY_TAGS = """userId,movieId,tag,timestamp
2,1,pixar,1445714994
2,1,fun,1445714996
3,3,heist,1445715000
"""
TINY_LINKS = """movieId,imdbId,tmdbId
1,0114709,862
2,0113497,8844
3,0113277,949
4,0112346,
5,0000001,
"""


U100K_GENRE = "".join(f"{name}|{k}\n" for k, name in enumerate((
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
))) + "\n"


def u_item_line(movie_id: int, title: str, flags: set[int], date: str = "01-Jan-1995") -> str:
    """One ml-100k u.item line: id | title | release date | video date | IMDb URL | 19 genre flags."""
    genre_flags = "|".join("1" if k in flags else "0" for k in range(19))
    return f"{movie_id}|{title}|{date}||http://us.imdb.com/M/title-exact?{movie_id}|{genre_flags}\n"


# Toy Story: Animation, Children's, Comedy; a latin-1 title; ml-100k's own movie 267, "unknown".
U100K_ITEMS = (u_item_line(1, "Toy Story (1995)", {3, 4, 5}) + u_item_line(2, "Misérables, Les (1995)", {8, 17})
               + u_item_line(267, "unknown", {0}, date=""))
U100K_DATA = "196\t1\t3\t881250949\n186\t1\t5\t891717742\n196\t2\t1\t878887116\n22\t267\t4\t880606923\n"


def write_ml100k(directory: Path, *, items: str = U100K_ITEMS, data: str = U100K_DATA,
                 genre: str | None = U100K_GENRE) -> Path:
    """An ml-100k release: u.item and u.genre in ISO-8859-1 as GroupLens ships them, u.data tab-separated."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "u.item").write_bytes(items.encode("latin-1"))
    (directory / "u.data").write_text(data, encoding="ascii")
    if genre is not None:
        (directory / "u.genre").write_bytes(genre.encode("latin-1"))
    return directory


def write_dataset(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """Five movies, three users, six ratings, three tags, in the CSV release format."""
    return write_dataset(
        tmp_path / "tiny",
        movies_csv=TINY_MOVIES, ratings_csv=TINY_RATINGS, tags_csv=TINY_TAGS, links_csv=TINY_LINKS,
    )


@pytest.fixture(autouse=True)
def _fresh_catalog_copy():
    """Each test starts without the previous test's in-process copy of the catalog (its stamp
    may match a different catalog of the same size)."""
    from movies.catalog import catalog_reset

    catalog_reset()
    yield
    catalog_reset()
