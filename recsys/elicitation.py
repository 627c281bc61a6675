"""What to put on the rating grid: the screens of movies a new person is asked to rate.

Two strategies, both served by the site (``RATING_GRID_STRATEGY``) and both measured by the
simulation in :mod:`recsys.evaluation.elicitation` (docs/evaluation.md, "Rating grid"):

* :func:`likely_seen_screen` ("likely-seen"): the movies this person has most probably seen,
  given what they rated and skipped so far. The first screen is the most-rated movies; after
  that, a naive Bayes model of who-saw-what among the pool's movies (:class:`ElicitationCatalog`)
  moves up the films seen by people who saw what they rated and down those seen by people who
  did not see what they skipped, while popularity keeps a strong weight: a new person's
  recommendations are mostly popular films, and every one of those they have seen and rate
  leaves room in the list for one they have not. At most one film per series on a screen
  (:func:`recsys.data.titles.franchise_key`).
* :func:`popular_screen` ("popular"): the most-rated movies, a seeded jitter on their rank, at
  most a quarter of the screen per most distinctive genre and a third per decade.

Plain Python and NumPy; the site builds the catalog from its database, the simulation from a
training frame.
"""
from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from recsys.data.titles import franchise_key

STRATEGY_POPULAR = "popular"
STRATEGY_LIKELY_SEEN = "likely-seen"
STRATEGY_RANDOM = "random"  # a baseline for the simulation only
STRATEGIES = (STRATEGY_LIKELY_SEEN, STRATEGY_POPULAR)

POOL_SIZE = 400  # the grid draws from this many of the most-rated movies
SMOOTHING = 2.0  # pseudo-people in each conditional share of the seen model


@dataclass(frozen=True)
class ElicitationCatalog:
    """The pool of movies a grid may show, most rated first, and what the strategies know of each.

    Attributes:
        ids: movie ids (int64), most rated first.
        counts: how many people rated each.
        n_people: how many people rated anything (so ``counts / n_people`` is the share who saw it).
        years: release year, 0 when unknown.
        genres: the genre names of each movie.
        series: :func:`recsys.data.titles.franchise_key` of each title ("" when unknown).
        seen_prior: log odds that a person has seen each movie (the share who rated it), float32.
        seen_if_seen: (len(ids), len(ids)) float32; row i, column j: how much having seen movie i
            moves the log odds of having seen movie j, log P(saw i | saw j) - log P(saw i | not j).
        seen_if_unseen: the same for *not* having seen movie i.
    """

    ids: np.ndarray
    counts: np.ndarray
    n_people: int
    years: np.ndarray
    genres: list[tuple[str, ...]]
    series: list[str]
    seen_prior: np.ndarray
    seen_if_seen: np.ndarray
    seen_if_unseen: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def catalog_from_ratings(ratings: pd.DataFrame, movies: pd.DataFrame | None = None, *,
                         pool_size: int = POOL_SIZE) -> ElicitationCatalog:
    """The :class:`ElicitationCatalog` of the ``pool_size`` most-rated movies of ``ratings``.

    Args:
        ratings: columns user_id, movie_id (other columns are ignored; a rating means "seen").
        movies: columns movie_id, title, year (optional), genres (a list or "A|B" string); optional.
    """
    frame = ratings[["user_id", "movie_id"]]
    sizes = frame.groupby("movie_id").size()
    order, counts_all = sizes.index.to_numpy(np.int64), sizes.to_numpy(np.int64)
    # Most rated first, ties by id, as Movie.objects.popular().
    ranked = np.lexsort((order, -counts_all))
    pool, counts = order[ranked][:pool_size], counts_all[ranked][:pool_size]
    n_people = int(frame["user_id"].nunique())
    prior, if_seen, if_unseen = _seen_model(frame, pool, n_people)
    years = np.zeros(len(pool), np.int64)
    genres: list[tuple[str, ...]] = [()] * len(pool)
    series = [""] * len(pool)
    if movies is not None and len(movies):
        info = movies.drop_duplicates("movie_id").set_index("movie_id")
        for row, movie_id in enumerate(pool.tolist()):
            if movie_id not in info.index:
                continue
            entry = info.loc[movie_id]
            year = entry.get("year") if "year" in info.columns else None
            years[row] = int(year) if year is not None and not pd.isna(year) else 0
            names = entry.get("genres") if "genres" in info.columns else ()
            if isinstance(names, str):
                names = [] if names in ("", "(no genres listed)") else names.split("|")
            genres[row] = tuple(names or ())
            series[row] = franchise_key(str(entry.get("title", "")))
    return ElicitationCatalog(ids=pool, counts=counts, n_people=n_people, years=years, genres=genres,
                              series=series, seen_prior=prior, seen_if_seen=if_seen, seen_if_unseen=if_unseen)


def _seen_model(frame: pd.DataFrame, pool: np.ndarray, n_people: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The naive Bayes terms of :class:`ElicitationCatalog` from who rated which pool movie.

    Memory: the pool's co-occurrence counts and two len(pool)^2 float32 matrices (1.3 MB for 400
    movies), whatever the number of people or movies."""
    size = len(pool)
    in_pool = frame[frame["movie_id"].isin(pool)]
    users, user_rows = np.unique(in_pool["user_id"].to_numpy(), return_inverse=True)
    columns = pd.Index(pool).get_indexer(in_pool["movie_id"].to_numpy())
    seen = sparse.csr_matrix((np.ones(len(in_pool), np.float64), (user_rows, columns)),
                             shape=(max(len(users), 1), size))
    seen.data[:] = 1.0  # a person who rated a movie twice saw it once
    together = (seen.T @ seen).toarray()  # people who saw both i and j
    count = np.diag(together).copy()
    people = float(max(n_people, 1))
    share = (count + 0.5) / (people + 1.0)
    prior = np.log(share) - np.log1p(-share)
    # Rows i, columns j: P(saw i | saw j) and P(saw i | did not see j), each pulled towards the
    # share who saw i by SMOOTHING pseudo-people.
    given_j = (together + SMOOTHING * share[:, None]) / (count[None, :] + SMOOTHING)
    given_not_j = (count[:, None] - together + SMOOTHING * share[:, None]) / (people - count[None, :] + SMOOTHING)
    given_j, given_not_j = np.clip(given_j, 1e-4, 1 - 1e-4), np.clip(given_not_j, 1e-4, 1 - 1e-4)
    if_seen = np.log(given_j) - np.log(given_not_j)
    if_unseen = np.log1p(-given_j) - np.log1p(-given_not_j)
    np.fill_diagonal(if_seen, 0.0)
    np.fill_diagonal(if_unseen, 0.0)
    return prior.astype(np.float32), if_seen.astype(np.float32), if_unseen.astype(np.float32)


def seen_log_odds(catalog: ElicitationCatalog, *, rated: Collection[int] = (), skipped: Collection[int] = (),
                  evidence: float = 1.0) -> np.ndarray:
    """Log odds, per pool movie, that a person who rated ``rated`` and skipped ``skipped`` has seen it.

    The prior plus ``evidence`` times the naive Bayes term of each answer; movies outside the
    pool are ignored. A naive Bayes sum counts related answers (three Star Wars films) more than
    once; ``evidence`` < 1 damps that."""
    row_of = _rows(catalog)
    rated_rows = [row_of[int(m)] for m in rated if int(m) in row_of]
    skipped_rows = [row_of[int(m)] for m in skipped if int(m) in row_of]
    odds = catalog.seen_prior.astype(np.float64)
    if rated_rows:
        odds = odds + evidence * catalog.seen_if_seen[rated_rows].sum(axis=0, dtype=np.float64)
    if skipped_rows:
        odds = odds + evidence * catalog.seen_if_unseen[skipped_rows].sum(axis=0, dtype=np.float64)
    return odds


@dataclass(frozen=True)
class LikelySeenWeights:
    """How :func:`likely_seen_screen` weighs its signals (chosen by the simulation, docs/evaluation.md).

    value = log P(seen | answers so far) + popularity_power * log(share who rated it),
    with P(seen | answers) from :func:`seen_log_odds` with ``evidence``.
    """

    evidence: float = 0.5
    popularity_power: float = 3.0


DEFAULT_LIKELY_SEEN = LikelySeenWeights()


def likely_seen_screen(catalog: ElicitationCatalog, *, rated: Mapping[int, float] | Collection[int] = (),
                       skipped: Collection[int] = (), exclude: Collection[int] = (), n: int = 12,
                       seed: int | Sequence[int] = 0, weights: LikelySeenWeights = DEFAULT_LIKELY_SEEN) -> list[int]:
    """The next screen of ``n`` movie ids (module docstring): never a rated, skipped or excluded
    one, at most one per series unless nothing else is left, fewer when the pool runs out.

    ``seed`` is accepted for the strategies' common signature; the screen depends only on the
    answers (so a reload shows the same cards)."""
    if n <= 0 or not len(catalog):
        return []
    odds = seen_log_odds(catalog, rated=rated, skipped=skipped, evidence=weights.evidence)
    value = -np.logaddexp(0.0, -odds)  # log P(seen)
    if weights.popularity_power:
        value = value + weights.popularity_power * np.log(np.maximum(catalog.counts / max(catalog.n_people, 1), 1e-6))
    row_of = _rows(catalog)
    for movie_id in (*rated, *skipped, *exclude):
        row = row_of.get(int(movie_id))
        if row is not None:
            value[row] = -np.inf
    return _one_per_series(catalog, value, n)


def _rows(catalog: ElicitationCatalog) -> dict[int, int]:
    return {int(movie_id): row for row, movie_id in enumerate(catalog.ids.tolist())}


def _one_per_series(catalog: ElicitationCatalog, value: np.ndarray, n: int) -> list[int]:
    """The ``n`` ids of highest ``value`` (-inf: never), at most one film per series on the screen
    unless only films of series already on it are left (a short screen is worse than a sequel)."""
    order = np.argsort(-value, kind="stable")
    order = order[np.isfinite(value[order])]
    chosen: list[int] = []
    held_back: list[int] = []
    shown: set[str] = set()
    for row in order.tolist():
        key = catalog.series[row]
        if key and key in shown:
            held_back.append(row)
            continue
        shown.add(key)
        chosen.append(int(catalog.ids[row]))
        if len(chosen) == n:
            return chosen
    return chosen + [int(catalog.ids[row]) for row in held_back[: n - len(chosen)]]


def popular_screen(pool: Sequence[tuple[int, int | None]], genres_of: Mapping[int, Sequence], *, n: int,
                   seed: int = 0) -> list[int]:
    """The plain popular grid: ``n`` of ``pool`` ((movie id, year), most rated first, seen ones
    already left out), a seeded jitter on the popularity rank, and caps per most distinctive
    genre (n/4) and per decade (n/3), relaxed x2 then lifted if the pool is small or one-sided.

    ``genres_of`` maps a movie id to its genres (any hashable labels).
    """
    if n <= 0 or not pool:
        return []
    genre_frequency: dict = {}
    for movie_id, _year in pool:
        for genre in genres_of.get(movie_id, ()):
            genre_frequency[genre] = genre_frequency.get(genre, 0) + 1
    rng = random.Random(seed)
    # Rank jitter: a movie at rank r competes as if at rank r * U(0.3, 1.7), so popular films still
    # come first on average but every seed shows a different mix.
    order = sorted(range(len(pool)), key=lambda index: (index + 1) * rng.uniform(0.3, 1.7))
    genre_cap = max(2, math.ceil(n / 4))
    decade_cap = max(2, math.ceil(n / 3))
    primary_of: dict = {}
    for movie_id, _year in pool:
        genres = list(genres_of.get(movie_id, ()))
        # The rarest of a movie's genres says most about it ("Animation" rather than "Comedy").
        primary_of[movie_id] = min(genres, key=lambda g: (genre_frequency[g], g)) if genres else None
    genre_count: dict = {}
    decade_count: dict = {}
    chosen: list[int] = []
    taken: set[int] = set()
    for factor in (1, 2, None):
        for index in order:
            movie_id, year = pool[index]
            if movie_id in taken:
                continue
            primary = primary_of[movie_id]
            decade = (year // 10) * 10 if year else None
            if factor is not None and (
                genre_count.get(primary, 0) >= genre_cap * factor or decade_count.get(decade, 0) >= decade_cap * factor
            ):
                continue
            chosen.append(movie_id)
            taken.add(movie_id)
            genre_count[primary] = genre_count.get(primary, 0) + 1
            decade_count[decade] = decade_count.get(decade, 0) + 1
            if len(chosen) == n:
                return chosen
    return chosen


def popular_screen_from_catalog(catalog: ElicitationCatalog, *, rated: Collection[int] = (),
                                skipped: Collection[int] = (), exclude: Collection[int] = (), n: int = 12,
                                seed: int = 0) -> list[int]:
    """:func:`popular_screen` over an :class:`ElicitationCatalog` (the simulation's popular grid)."""
    seen = {int(m) for m in (*rated, *skipped, *exclude)}
    pool = [(int(m), int(y) or None) for m, y in zip(catalog.ids.tolist(), catalog.years.tolist())
            if int(m) not in seen]
    genres_of = {int(m): g for m, g in zip(catalog.ids.tolist(), catalog.genres)}
    return popular_screen(pool, genres_of, n=n, seed=seed)


def random_screen(catalog: ElicitationCatalog, *, rated: Collection[int] = (), skipped: Collection[int] = (),
                  exclude: Collection[int] = (), n: int = 12, seed: int | Sequence[int] = 0) -> list[int]:
    """``n`` movies drawn uniformly from the pool (a baseline for the simulation)."""
    seen = {int(m) for m in (*rated, *skipped, *exclude)}
    left = np.array([m for m in catalog.ids.tolist() if m not in seen], np.int64)
    if left.size == 0 or n <= 0:
        return []
    return np.random.default_rng(seed).permutation(left)[:n].tolist()
