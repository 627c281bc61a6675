"""What people read of every movie (title, year, genres, poster), kept in each process.

A recommendation request names a dozen movies; looking them up costs four ORM queries (titles
and genres for the reasons, again for the API items), more than the ranker's own work. The
catalog changes only when MovieLens is imported or TMDB details are fetched, so each process
reads it once (two plain queries) and reads it again when a cheap stamp of the tables has
changed (movie count, largest id, total title length, latest TMDB fetch, genre links). The stamp is read at most every
``CATALOG_RECHECK_SECONDS`` (0 in the tests: every call).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Sum
from django.db.models.functions import Length


@dataclass(frozen=True)
class CatalogEntry:
    title: str
    year: int | None
    genres: tuple[str, ...]  # by name
    poster_path: str


_lock = threading.Lock()
_state: dict = {"stamp": None, "checked_at": None, "entries": {}, "genre_sizes": {}}


def _stamp() -> tuple:
    from .models import Movie

    movies = Movie.objects.aggregate(n=Count("id"), top=Max("id"), titles=Sum(Length("title")),
                                     fetched=Max("tmdb_fetched_at"))
    return (*movies.values(), Movie.genres.through.objects.count())


def _read() -> dict[int, CatalogEntry]:
    from .models import Movie

    genres: dict[int, list[str]] = {}
    for movie_id, name in Movie.genres.through.objects.order_by("movie_id", "genre__name").values_list(
            "movie_id", "genre__name"):
        genres.setdefault(movie_id, []).append(name)
    return {movie_id: CatalogEntry(title, year, tuple(genres.get(movie_id, ())), poster_path)
            for movie_id, title, year, poster_path in Movie.objects.values_list("id", "title", "year", "poster_path")}


def catalog_entries() -> dict[int, CatalogEntry]:
    """Every movie by id (the same dict until the catalog changes; never modify it)."""
    now = time.monotonic()
    with _lock:
        checked_at = _state["checked_at"]
        if checked_at is not None and now - checked_at < settings.CATALOG_RECHECK_SECONDS:
            return _state["entries"]
        stamp = _stamp()
        if stamp != _state["stamp"]:
            entries = _read()
            sizes: dict[str, int] = {}
            for entry in entries.values():
                for genre in entry.genres:
                    sizes[genre] = sizes.get(genre, 0) + 1
            _state.update(entries=entries, genre_sizes=sizes, stamp=stamp)
        _state["checked_at"] = now
        return _state["entries"]


def genre_sizes() -> dict[str, int]:
    """How many movies of the catalog carry each genre (kept with the entries)."""
    catalog_entries()
    return _state["genre_sizes"]


def catalog_reset() -> None:
    """Forget the copy (tests that change movies in place)."""
    with _lock:
        _state.update(stamp=None, checked_at=None, entries={}, genre_sizes={})
