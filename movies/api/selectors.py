"""Reads for the JSON API: a MovieLens user's historical ratings, and movies as API items."""
from __future__ import annotations

from movies.catalog import catalog_entries
from movies.integrations.tmdb.client import poster_url_for_path
from movies.models import Rating
from recsys.data.titles import natural_title


def movielens_user_ratings(*, user_id: int) -> dict[int, float]:
    """{movie id: stars} of a MovieLens user in the Rating table, oldest first (the ranker reads
    the latest ratings as the most telling); empty for an unknown user."""
    return dict(Rating.objects.filter(user_id=user_id).order_by("timestamp", "movie_id")
                .values_list("movie_id", "rating"))


def movie_items(*, ids: list[int]) -> dict[int, dict]:
    """API items (natural title, MovieLens title, year, genres, poster_url) for the movies among
    ``ids`` that the catalog holds; from the process's copy of the catalog, no query."""
    catalog = catalog_entries()
    return {
        movie_id: {
            "movie_id": movie_id,
            "title": natural_title(entry.title),
            "movielens_title": entry.title,
            "year": entry.year,
            "genres": list(entry.genres),
            "poster_url": poster_url_for_path(entry.poster_path) or None,
        }
        for movie_id in ids if (entry := catalog.get(movie_id)) is not None
    }
