"""Reads for the JSON API: a MovieLens user's historical ratings, and movies as API items."""
from __future__ import annotations

from .models import Movie, Rating
from .tmdb import poster_url


def movielens_user_ratings(*, user_id: int) -> dict[int, float]:
    """{movie id: stars} of a MovieLens user in the Rating table; empty for an unknown user."""
    return dict(Rating.objects.filter(user_id=user_id).values_list("movie_id", "rating"))


def movie_items(*, ids: list[int]) -> dict[int, dict]:
    """API items (title, year, genres, poster_url) for the movies among ``ids``; two queries."""
    movies = Movie.objects.prefetch_related("genres").in_bulk(ids)
    return {
        movie_id: {
            "movie_id": movie_id,
            "title": movie.title,
            "year": movie.year,
            "genres": [genre.name for genre in movie.genres.all()],
            "poster_url": poster_url(movie) or None,
        }
        for movie_id, movie in movies.items()
    }
