"""movies.catalog: the process's copy of what people read of each movie."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from movies.catalog import CatalogEntry, catalog_entries
from movies.models import Genre, Movie

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_movies():
    drama, comedy = Genre.objects.create(name="Drama"), Genre.objects.create(name="Comedy")
    heat = Movie.objects.create(id=6, title="Heat", year=1995, poster_path="/heat.jpg")
    heat.genres.set([drama])
    Movie.objects.create(id=1, title="Toy Story", year=1995).genres.set([comedy, drama])
    return heat


def test_entries_hold_titles_years_sorted_genres_and_posters(two_movies):
    assert catalog_entries() == {
        1: CatalogEntry("Toy Story", 1995, ("Comedy", "Drama"), ""),
        6: CatalogEntry("Heat", 1995, ("Drama",), "/heat.jpg"),
    }


def test_the_copy_is_reused_until_the_recheck_and_then_follows_every_change(two_movies, settings):
    settings.CATALOG_RECHECK_SECONDS = 3600
    first = catalog_entries()
    with CaptureQueriesContext(connection) as queries:
        assert catalog_entries() is first
    assert len(queries) == 0  # within the recheck interval: no query at all

    settings.CATALOG_RECHECK_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        assert catalog_entries() is first  # nothing changed: the stamp alone is read
    assert len(queries) == 2

    Movie.objects.filter(pk=6).update(title="Heat!")  # same count, same ids: the title length changed
    assert catalog_entries()[6].title == "Heat!"
    two_movies.genres.add(Genre.objects.get(name="Comedy"))
    assert catalog_entries()[6].genres == ("Comedy", "Drama")
    Movie.objects.create(id=7, title="Sabrina", year=1995)
    assert catalog_entries()[7] == CatalogEntry("Sabrina", 1995, (), "")
