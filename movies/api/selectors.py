"""Reads for the JSON API: a MovieLens user's historical ratings, and movies as API items."""
from __future__ import annotations

from movies.integrations.tmdb.client import poster_url_for_path
from movies.models import Movie, Rating
from recsys.data.titles import natural_title


def movielens_user_ratings(*, user_id: int) -> dict[int, float]:
    """{movie id: stars} of a MovieLens user in the Rating table; empty for an unknown user."""
    return dict(Rating.objects.filter(user_id=user_id).values_list("movie_id", "rating"))


def movie_items(*, ids: list[int]) -> dict[int, dict]:
    """API items (natural title, MovieLens title, year, genres, poster_url) for the movies among ``ids``; two plain
    queries, no model instances (this is on every API request)."""
    genres: dict[int, list[str]] = {}
    for movie_id, name in Movie.genres.through.objects.filter(movie_id__in=ids).order_by(
            "movie_id", "genre__name").values_list("movie_id", "genre__name"):
        genres.setdefault(movie_id, []).append(name)
    return {
        movie_id: {
            "movie_id": movie_id,
            "title": natural_title(title),
            "movielens_title": title,
            "year": year,
            "genres": genres.get(movie_id, []),
            "poster_url": poster_url_for_path(poster_path) or None,
        }
        for movie_id, title, year, poster_path in Movie.objects.filter(pk__in=ids).values_list(
            "id", "title", "year", "poster_path")
    }
