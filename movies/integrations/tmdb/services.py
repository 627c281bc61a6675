"""Writes TMDB details (poster path, overview, release date, runtime, language) onto catalog movies.

Each movie is looked up once: the result is stored on the Movie with ``tmdb_status`` and
``tmdb_fetched_at``. A 404 is remembered (``not_found``) so it is not asked again; transient
failures are marked ``failed`` and retried by a later run. Every movie is saved on its own as
soon as it is fetched, so an interrupted run loses at most the movie in flight and the next run
continues where it stopped.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from movies.integrations.tmdb.client import (
    TmdbAuthError,
    TmdbClient,
    TmdbError,
    TmdbNotFound,
    TmdbUnavailable,
    image_configuration_refresh,
)
from movies.models import Movie

log = logging.getLogger(__name__)

Status = Movie.TmdbStatus
# After this many movies in a row failed for TMDB being unavailable, stop: it is down, not the movie.
MAX_CONSECUTIVE_UNAVAILABLE = 5


@dataclass
class FetchSummary:
    fetched: int = 0
    not_found: int = 0
    failed: int = 0
    selected: int = 0
    requests: int = 0
    stopped_early: str = ""  # why the run stopped before the end, "" when it did not
    failures: list[tuple[int, str]] = field(default_factory=list)  # (movie id, reason)

    @property
    def processed(self) -> int:
        return self.fetched + self.not_found + self.failed


def movies_to_fetch(*, ids: Iterable[int] | None = None, missing_only: bool = False, retry_failed: bool = False):
    """The movies a run works on, most rated first (the ones people see get posters first).

    * ``ids``: exactly these movies, whatever their status (a refresh).
    * default: never fetched, plus earlier failures.
    * ``missing_only``: only never fetched.  ``retry_failed``: only earlier failures.
    """
    queryset = Movie.objects.all()
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    else:
        wanted = Q()
        if not retry_failed:
            wanted |= Q(tmdb_status=Status.NOT_FETCHED)
        if retry_failed or not missing_only:
            wanted |= Q(tmdb_status=Status.FAILED)
        queryset = queryset.filter(wanted)
    return queryset.order_by("-rating_count", "id")


def _store(movie_id: int, **fields) -> None:
    fields["tmdb_fetched_at"] = timezone.now()
    # A single UPDATE per movie, committed on its own (autocommit): the run is resumable.
    Movie.objects.filter(pk=movie_id).update(**fields)


def tmdb_details_fetch(*, movie: Movie, client: TmdbClient) -> str:
    """Fetch and store one movie's details. Returns the new ``tmdb_status``.

    The TMDB id comes from the catalog (links.csv); when it is missing, or TMDB no longer knows
    it, the IMDb id is looked up with /find. Raises TmdbAuthError (the caller must stop);
    every other failure is stored as ``failed`` and re-raised as TmdbError for the caller to count.
    """
    tmdb_id = movie.tmdb_id
    try:
        details = None
        if tmdb_id:
            try:
                details = client.movie_details(tmdb_id)
            except TmdbNotFound:
                details = None
        if details is None and movie.imdb_id:
            found = client.find_by_imdb_id(movie.imdb_id)
            if found and found != tmdb_id:
                details = client.movie_details(found)
    except TmdbAuthError:
        raise
    except TmdbNotFound:
        details = None
    except TmdbError as exc:
        _store(movie.pk, tmdb_status=Status.FAILED)
        raise exc
    if details is None:
        _store(movie.pk, tmdb_status=Status.NOT_FOUND)
        return Status.NOT_FOUND
    _store(
        movie.pk,
        tmdb_id=details.tmdb_id,
        poster_path=details.poster_path,
        overview=details.overview,
        release_date=details.release_date,
        runtime=details.runtime,
        original_language=details.original_language,
        tmdb_status=Status.FOUND,
    )
    return Status.FOUND


def tmdb_fetch_missing(
    *,
    client: TmdbClient,
    limit: int | None = None,
    ids: Iterable[int] | None = None,
    missing_only: bool = False,
    retry_failed: bool = False,
    progress: Callable[[int, int, Movie, str, FetchSummary], None] | None = None,
) -> FetchSummary:
    """Fetch details for the selected movies (see ``movies_to_fetch``), one at a time.

    ``progress(done, total, movie, status, summary)`` is called after each movie. Raises
    TmdbAuthError on a 401 (every later request would fail the same way).
    """
    summary = FetchSummary()
    queryset = movies_to_fetch(ids=ids, missing_only=missing_only, retry_failed=retry_failed)
    movies = list(queryset.only("id", "title", "year", "tmdb_id", "imdb_id")[:limit] if limit else
                  queryset.only("id", "title", "year", "tmdb_id", "imdb_id"))
    summary.selected = len(movies)
    start = client.requests_made
    if not movies:
        return summary
    try:
        # Posters need the image base URL; cached for days, so a rerun asks for it again rarely.
        image_configuration_refresh(client=client)
    except TmdbAuthError:
        raise
    except TmdbError as exc:
        log.warning("TMDB configuration not refreshed (%s); the cached or default image URL stays", exc)
    unavailable_in_a_row = 0
    try:
        for done, movie in enumerate(movies, start=1):
            try:
                status = tmdb_details_fetch(movie=movie, client=client)
            except TmdbAuthError:
                raise
            except TmdbError as exc:
                status = Status.FAILED
                summary.failed += 1
                summary.failures.append((movie.pk, str(exc)))
                unavailable_in_a_row = unavailable_in_a_row + 1 if isinstance(exc, TmdbUnavailable) else 0
            else:
                unavailable_in_a_row = 0
                if status == Status.FOUND:
                    summary.fetched += 1
                else:
                    summary.not_found += 1
            if progress is not None:
                progress(done, len(movies), movie, status, summary)
            if unavailable_in_a_row >= MAX_CONSECUTIVE_UNAVAILABLE:
                summary.stopped_early = (
                    f"TMDB was unavailable for {unavailable_in_a_row} movies in a row; stopped. "
                    "Run the command again later: it continues where it stopped."
                )
                break
    finally:
        summary.requests = client.requests_made - start
    return summary
