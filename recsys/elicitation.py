"""What to put on the rating grid: the screens of movies a new person is asked to rate.

Two strategies, both served by the site (``RATING_GRID_STRATEGY``) and both measured by the
simulation in :mod:`recsys.evaluation.elicitation` (docs/evaluation.md):

* :func:`popular_screen` ("popular"): the most-rated movies, a seeded jitter on their rank, at
  most a quarter of the screen per most distinctive genre and a third per decade.
* :func:`informative_screen` ("informative"): movies the person has probably seen *and* whose
  rating tells the model most, spread over distinct directions of taste, adaptive:

  - seen: the share of people who rated the movie, moved up for movies near the ones this person
    rated and down for movies near the ones they skipped (directions in a low-rank factorisation
    of who-rated-what, :class:`ElicitationCatalog`);
  - telling: the spread (standard deviation) of the movie's stars: a film everyone rates 4 says
    little about anyone;
  - spread over tastes: each pick is chosen greedily, its value lowered by its largest cosine to
    the movies already on the screen and to the ones already rated (maximal marginal relevance);
  - at most one film per series on a screen (:func:`recsys.data.titles.franchise_key`).

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
from scipy.sparse.linalg import svds

from recsys.data.titles import franchise_key

STRATEGY_POPULAR = "popular"
STRATEGY_INFORMATIVE = "informative"
STRATEGY_RANDOM = "random"  # a baseline for the simulation only
STRATEGIES = (STRATEGY_POPULAR, STRATEGY_INFORMATIVE)

POOL_SIZE = 400  # the grid draws from this many of the most-rated movies
FACTORS = 24  # taste directions (the first, "how much one rates", is left out)


@dataclass(frozen=True)
class InformativeWeights:
    """How :func:`informative_screen` weighs its signals (chosen by the simulation, docs/evaluation.md).

    value = popularity_power * log(share who rated it) + spread_power * log(star spread)
            + near_rated * cos(movie, rated) - near_skipped * cos(movie, skipped)
            - diversity * max cos(movie, on screen or rated) + jitter * Gumbel noise
    """

    popularity_power: float = 0.5
    spread_power: float = 1.0
    near_rated: float = 1.5
    near_skipped: float = 1.0
    diversity: float = 1.0
    jitter: float = 0.15


DEFAULT_WEIGHTS = InformativeWeights()


@dataclass(frozen=True)
class ElicitationCatalog:
    """The pool of movies a grid may show, most rated first, and what the strategies know of each.

    Attributes:
        ids: movie ids (int64), most rated first.
        counts: how many people rated each.
        n_people: how many people rated anything (so ``counts / n_people`` is the share who saw it).
        spread: standard deviation of each movie's stars (a floor of 0.3 where few rated it).
        vectors: unit taste directions, float32 (len(ids), k); zeros when unknown.
        years: release year, 0 when unknown.
        genres: the genre names of each movie.
        series: :func:`recsys.data.titles.franchise_key` of each title ("" when unknown).
    """

    ids: np.ndarray
    counts: np.ndarray
    n_people: int
    spread: np.ndarray
    vectors: np.ndarray
    years: np.ndarray
    genres: list[tuple[str, ...]]
    series: list[str]

    def __len__(self) -> int:
        return len(self.ids)


def catalog_from_ratings(ratings: pd.DataFrame, movies: pd.DataFrame | None = None, *,
                         pool_size: int = POOL_SIZE, factors: int = FACTORS, seed: int = 0) -> ElicitationCatalog:
    """The :class:`ElicitationCatalog` of the ``pool_size`` most-rated movies of ``ratings``.

    Args:
        ratings: columns user_id, movie_id, rating.
        movies: columns movie_id, title, year (optional), genres (a list or "A|B" string); optional.
        factors: taste directions, from a truncated SVD of the people x movies "rated it" matrix
            (every movie of ``ratings``, not only the pool); the first direction is dropped.
        seed: seeds the SVD's starting vector.
    """
    frame = ratings[["user_id", "movie_id", "rating"]]
    stats = frame.groupby("movie_id")["rating"].agg(["size", "std"])
    stats = stats.sort_values("size", ascending=False, kind="stable")
    order = stats.index.to_numpy(np.int64)
    # Most rated first, ties by id, as Movie.objects.popular().
    counts_all = stats["size"].to_numpy(np.int64)
    order = order[np.lexsort((order, -counts_all))]
    pool = order[:pool_size]
    counts = stats.loc[pool, "size"].to_numpy(np.int64)
    spread = np.maximum(np.nan_to_num(stats.loc[pool, "std"].to_numpy(np.float64), nan=0.0), 0.3)
    vectors = _taste_vectors(frame, pool, factors, seed)
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
    return ElicitationCatalog(ids=pool, counts=counts, n_people=int(frame["user_id"].nunique()), spread=spread,
                              vectors=vectors, years=years, genres=genres, series=series)


def _taste_vectors(frame: pd.DataFrame, pool: np.ndarray, factors: int, seed: int) -> np.ndarray:
    users, user_rows = np.unique(frame["user_id"].to_numpy(), return_inverse=True)
    items, item_cols = np.unique(frame["movie_id"].to_numpy(), return_inverse=True)
    k = min(factors + 1, min(len(users), len(items)) - 1)
    vectors = np.zeros((len(pool), max(factors, 1)), np.float32)
    if k < 2:
        return vectors
    matrix = sparse.csr_matrix((np.ones(len(frame), np.float64), (user_rows, item_cols)),
                               shape=(len(users), len(items)))
    start = np.random.default_rng(seed).standard_normal(min(matrix.shape))
    _u, singular, vt = svds(matrix, k=k, v0=start)
    order = np.argsort(-singular)[1:]  # the largest direction is "rates many films", not a taste
    item_factors = (vt[order] * singular[order, None]).T
    columns = np.searchsorted(items, pool)
    found = (columns < len(items)) & (items[np.minimum(columns, len(items) - 1)] == pool)
    chosen = item_factors[np.minimum(columns, len(items) - 1)]
    chosen[~found] = 0.0
    norms = np.linalg.norm(chosen, axis=1, keepdims=True)
    unit = np.where(norms > 0, chosen / np.maximum(norms, 1e-12), 0.0)
    vectors[:, : unit.shape[1]] = unit.astype(np.float32)
    return vectors


def _direction(catalog: ElicitationCatalog, rows: list[int]) -> np.ndarray | None:
    if not rows:
        return None
    total = catalog.vectors[rows].sum(axis=0)
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 else None


def informative_screen(catalog: ElicitationCatalog, *, rated: Mapping[int, float] | Collection[int] = (),
                       skipped: Collection[int] = (), exclude: Collection[int] = (), n: int = 12,
                       seed: int | Sequence[int] = 0, weights: InformativeWeights = DEFAULT_WEIGHTS) -> list[int]:
    """The next screen of ``n`` movie ids to rate (module docstring), never a rated, skipped or
    excluded one; fewer when the pool runs out."""
    if n <= 0 or not len(catalog):
        return []
    row_of = {int(movie_id): row for row, movie_id in enumerate(catalog.ids.tolist())}
    rated_rows = [row_of[int(m)] for m in rated if int(m) in row_of]
    skipped_rows = [row_of[int(m)] for m in skipped if int(m) in row_of]
    banned = np.zeros(len(catalog), bool)
    for movie_id in (*rated, *skipped, *exclude):
        row = row_of.get(int(movie_id))
        if row is not None:
            banned[row] = True
    share = catalog.counts / max(catalog.n_people, 1)
    value = weights.popularity_power * np.log(np.maximum(share, 1e-6)) + weights.spread_power * np.log(catalog.spread)
    liked, unseen = _direction(catalog, rated_rows), _direction(catalog, skipped_rows)
    if liked is not None:
        value = value + weights.near_rated * (catalog.vectors @ liked)
    if unseen is not None:
        value = value - weights.near_skipped * (catalog.vectors @ unseen)
    if weights.jitter:
        value = value + weights.jitter * np.random.default_rng(seed).gumbel(size=len(catalog))
    value = np.where(banned, -np.inf, value)
    # Largest cosine to anything already asked about: rated movies and this screen's picks.
    closest = np.full(len(catalog), -1.0)
    if rated_rows:
        closest = np.max(catalog.vectors @ catalog.vectors[rated_rows].T, axis=1)
    chosen: list[int] = []
    held_back = np.full(len(catalog), -np.inf)  # films of a series already on the screen
    for _ in range(n):
        score = value - weights.diversity * np.maximum(closest, 0.0)
        row = int(np.argmax(score))
        if not np.isfinite(score[row]):
            # Only films of series already shown are left: a short screen is worse than a sequel.
            value, held_back = held_back, np.full(len(catalog), -np.inf)
            score = value - weights.diversity * np.maximum(closest, 0.0)
            row = int(np.argmax(score))
            if not np.isfinite(score[row]):
                break
        chosen.append(int(catalog.ids[row]))
        value[row] = -np.inf
        key = catalog.series[row]
        if key:
            same = np.array([other == key for other in catalog.series]) & np.isfinite(value)
            held_back[same] = value[same]
            value[same] = -np.inf
        closest = np.maximum(closest, catalog.vectors @ catalog.vectors[row])
    return chosen


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
