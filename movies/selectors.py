"""Reads for the browser pages: the rating grid, a visitor's state, recommendations, search, movie pages.

Selectors never write. Each returns plain data (model instances with genres prefetched, or small
dataclasses) in a fixed number of queries, whatever the number of cards.
"""
from __future__ import annotations

import difflib
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Max
from django.db.models.functions import Mod

from movies.engine import recommender
from movies.engine.content import similar_movies
from movies.models import Movie, Rating, Tag, Visitor, VisitorMovieFlag, VisitorRating
from recsys import elicitation
from recsys.data.titles import natural_title, split_title_year

logger = logging.getLogger(__name__)

# The grid draws from this many of the most-rated movies: "movies many people have seen".
RATING_POOL_SIZE = 400
#: The likely-seen grid's catalog learns from at most about this many MovieLens ratings: those of
#: every k-th person (by id) once there are more, so that its build stays a few seconds and a
#: few hundred MB on ml-32m (all 32M ratings as Python rows took 75 s and 10 GB).
ELICITATION_MAX_RATINGS = 2_000_000
SEARCH_MAX_QUERY_LENGTH = 100
SEARCH_DEFAULT_LIMIT = 20
SIMILAR_DEFAULT_N = 12
TAGS_DEFAULT_LIMIT = 15


@dataclass(frozen=True)
class VisitorState:
    """Everything a visitor has told us: ratings (movie id -> stars), skipped and hidden movie ids."""

    ratings: dict[int, float] = field(default_factory=dict)
    skipped: frozenset[int] = frozenset()
    hidden: frozenset[int] = frozenset()

    @property
    def seen_ids(self) -> set[int]:
        """Movies that must not be offered for rating again."""
        return set(self.ratings) | set(self.skipped) | set(self.hidden)

    @property
    def rated_count(self) -> int:
        return len(self.ratings)


@dataclass(frozen=True)
class RecommendedMovie:
    movie: Movie
    predicted_rating: float | None
    score: float
    reason: str


@dataclass(frozen=True)
class RecommendationPanel:
    """What the recommendations area shows: items, or how many more ratings are needed."""

    items: list[RecommendedMovie]
    model: recommender.ModelInfo
    rated_count: int
    ratings_needed: int  # 0 once there are enough ratings
    seed: int

    @property
    def progress(self) -> list[bool]:
        """One flag per rating needed to unlock recommendations: True for those already given."""
        return [True] * self.rated_count + [False] * self.ratings_needed if self.ratings_needed else []

    @property
    def warming_up(self) -> bool:
        return self.model.status != recommender.STATUS_READY


def visitor_state(*, visitor: Visitor | None) -> VisitorState:
    if visitor is None:
        return VisitorState()
    # Oldest first: the ranker reads a person's latest ratings as the most telling.
    ratings = dict(VisitorRating.objects.filter(visitor=visitor).order_by("updated_at", "id")
                   .values_list("movie_id", "rating"))
    skipped, hidden = set(), set()
    for movie_id, kind in VisitorMovieFlag.objects.filter(visitor=visitor).values_list("movie_id", "kind"):
        (hidden if kind == VisitorMovieFlag.Kind.HIDDEN else skipped).add(movie_id)
    return VisitorState(ratings=ratings, skipped=frozenset(skipped), hidden=frozenset(hidden))


def movies_in_order(ids: list[int]) -> list[Movie]:
    by_id = Movie.objects.prefetch_related("genres").in_bulk(ids)
    return [by_id[movie_id] for movie_id in ids if movie_id in by_id]


def movie_list_for_rating(
    *, state: VisitorState, n: int | None = None, seed: int = 0, exclude=()
) -> list[Movie]:
    """Movies to rate, never ones the visitor rated, skipped or hid, by the ``RATING_GRID_STRATEGY`` setting.

    * ``"likely-seen"`` (the default): :func:`recsys.elicitation.likely_seen_screen`: the movies
      the visitor has most probably seen given what they rated and skipped, popular ones first,
      one per series (docs/evaluation.md, "Rating grid"). Falls back to the popular grid while
      the database holds no MovieLens ratings.
    * ``"popular"``: :func:`recsys.elicitation.popular_screen`: the most-rated movies with a
      seeded jitter of their rank and caps per genre and decade.

    ``exclude`` holds extra ids to leave out, e.g. the cards already on screen when one is replaced.
    """
    n = settings.RATING_GRID_SIZE if n is None else n
    if n <= 0:
        return []
    strategy = getattr(settings, "RATING_GRID_STRATEGY", elicitation.STRATEGY_LIKELY_SEEN)
    if strategy not in elicitation.STRATEGIES:
        raise ImproperlyConfigured(
            f"RATING_GRID_STRATEGY is {strategy!r}; it must be one of {', '.join(elicitation.STRATEGIES)}")
    extra = {int(movie_id) for movie_id in exclude}
    if strategy == elicitation.STRATEGY_LIKELY_SEEN:
        catalog = _elicitation_catalog()
        if catalog is not None:
            return movies_in_order(elicitation.likely_seen_screen(
                catalog, rated=state.ratings, skipped=state.skipped, exclude={*state.hidden, *extra}, n=n, seed=seed))
    return _popular_grid(excluded=state.seen_ids | extra, n=n, seed=seed)


def _popular_grid(*, excluded: set[int], n: int, seed: int) -> list[Movie]:
    # Fetch enough that, after exclusion, RATING_POOL_SIZE candidates normally remain.
    limit = RATING_POOL_SIZE + len(excluded)
    rows = [
        (movie_id, year)
        for movie_id, year in Movie.objects.popular().values_list("id", "year")[:limit]
        if movie_id not in excluded
    ]
    if not rows:
        return []
    genres_of: dict[int, list[int]] = {}
    for movie_id, genre_id in Movie.genres.through.objects.filter(movie_id__in=[m for m, _ in rows]).values_list(
        "movie_id", "genre_id"
    ):
        genres_of.setdefault(movie_id, []).append(genre_id)
    return movies_in_order(elicitation.popular_screen(rows, genres_of, n=n, seed=seed))


_elicitation_lock = threading.Lock()
_elicitation_cache: dict = {"fingerprint": None, "catalog": None}


def _ratings_stamp() -> tuple[int, int] | None:
    """(smallest, largest) MovieLens rating id, or None without ratings: two index lookups (a
    COUNT reads every row: 3 s a request on ml-32m in SQLite). An import replaces the rows, so
    the ids move."""
    ids = Rating.objects.order_by("id").values_list("id", flat=True)
    first = ids.first()
    return None if first is None else (first, ids.last())


def elicitation_people_step(stamp: tuple[int, int]) -> int:
    """k: the grid's catalog reads the ratings of the people whose id is a multiple of k, so that
    about :data:`ELICITATION_MAX_RATINGS` are read (1, everyone, up to that many ratings)."""
    approximate_count = stamp[1] - stamp[0] + 1  # ids are dense after an import
    return max(1, -(-approximate_count // ELICITATION_MAX_RATINGS))


def _elicitation_catalog() -> elicitation.ElicitationCatalog | None:
    """The likely-seen grid's catalog from the MovieLens ratings in the database (None when there
    are none); built once per process (about a second on ml-latest-small, a few seconds at ml-32m
    size, from a sample of people there) and again when the ratings change."""
    fingerprint = _ratings_stamp()
    if fingerprint is None:
        return None
    with _elicitation_lock:
        if _elicitation_cache["fingerprint"] != fingerprint:
            import pandas as pd

            rows = Rating.objects.all()
            step = elicitation_people_step(fingerprint)
            if step > 1:
                rows = rows.alias(bucket=Mod("user_id", step)).filter(bucket=0)
            # Who rated what is all the catalog needs: a rating means "seen".
            ratings = pd.DataFrame(list(rows.values_list("user_id", "movie_id").iterator(chunk_size=20_000)),
                                   columns=["user_id", "movie_id"])
            pool = ratings["movie_id"].value_counts().index[: RATING_POOL_SIZE * 2].tolist()
            genres: dict[int, list[str]] = {}
            for movie_id, name in Movie.genres.through.objects.filter(movie_id__in=pool).values_list(
                    "movie_id", "genre__name"):
                genres.setdefault(movie_id, []).append(name)
            movies = pd.DataFrame(
                [(movie_id, title, year, "|".join(sorted(genres.get(movie_id, []))))
                 for movie_id, title, year in Movie.objects.filter(pk__in=pool).values_list("id", "title", "year")],
                columns=["movie_id", "title", "year", "genres"])
            _elicitation_cache["catalog"] = elicitation.catalog_from_ratings(ratings, movies)
            _elicitation_cache["fingerprint"] = fingerprint
        return _elicitation_cache["catalog"]


def rated_movies(*, state: VisitorState) -> list[Movie]:
    """The visitor's rated movies, most recent first, each with ``visitor_rating`` set."""
    if not state.ratings:
        return []
    movies = list(Movie.objects.filter(pk__in=list(state.ratings)).prefetch_related("genres"))
    for movie in movies:
        movie.visitor_rating = state.ratings[movie.id]
    movies.sort(key=lambda movie: (-movie.visitor_rating, movie.display_title))
    return movies


def recommendations_for_visitor(
    *, state: VisitorState, n: int | None = None, seed: int = 0
) -> RecommendationPanel:
    """The visitor's top-n recommendations (a seeded shuffle of the top pool), or how many ratings to go.

    Rated and hidden movies are never recommended; skipped ones ("haven't seen it") may be.
    Never raises: if the recommender fails, the panel falls back to popular movies and logs the error.
    """
    n = settings.RECOMMENDATIONS_DEFAULT_N if n is None else n
    try:
        info = recommender.model_info()
    except Exception:  # the page must render whatever the engine does
        logger.exception("recommender.model_info() failed")
        info = recommender.ModelInfo(status=recommender.STATUS_TRAINING, trained_at=None, kind="unavailable")
    needed = max(0, settings.RECOMMENDATIONS_MIN_RATINGS - state.rated_count)
    if needed:
        return RecommendationPanel(items=[], model=info, rated_count=state.rated_count, ratings_needed=needed,
                                   seed=seed)
    # A skip means "haven't seen it": it keeps the film off the rating grid only. Unseen films are
    # the ones a person is most likely to watch next, so they stay recommendable; only "not
    # interested" (hidden) keeps a film out of the list (the ranker leaves out rated ones itself).
    exclude = set(state.hidden)
    try:
        recs = recommender.recommend(ratings=state.ratings, exclude=exclude, n=n, diversify=True, seed=seed)
    except Exception:
        logger.exception("recommender.recommend() failed; showing popular movies")
        recs = recommender.recommend_popular(ratings=state.ratings, exclude=exclude, n=n, diversify=True, seed=seed)
    movies = Movie.objects.prefetch_related("genres").in_bulk([rec.movie_id for rec in recs])
    items = [
        RecommendedMovie(movie=movies[rec.movie_id], predicted_rating=rec.predicted_rating, score=rec.score,
                         reason=rec.reason)
        for rec in recs
        if rec.movie_id in movies  # a movie the model knows may have left the catalog since
    ]
    return RecommendationPanel(items=items, model=info, rated_count=state.rated_count, ratings_needed=0, seed=seed)


# --- Search ---------------------------------------------------------------

_LEADING_ARTICLE = re.compile(r"^(the|a|an) ")
_NON_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def search_key(text: str, *, natural: bool = True) -> str:
    """Lower case, accents and punctuation dropped; with ``natural``, MovieLens' "Matrix, The"
    first turned into "The Matrix" (:func:`recsys.data.titles.natural_title`), so "the matrix"."""
    text = split_title_year(text.strip())[0]  # a year left in the title
    if natural:
        text = natural_title(text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


_title_index_lock = threading.Lock()
_title_index: dict = {"fingerprint": None, "entries": []}


def _title_entries() -> list[tuple[str, str, str, int, int]]:
    """(search key of the natural title, that key without a leading article, key of the MovieLens
    title as stored, movie id, rating count) for every movie.

    Cached in process until the catalog's movie count or largest id changes.
    """
    fingerprint = tuple(Movie.objects.aggregate(count=Count("id"), top=Max("id")).values())
    with _title_index_lock:
        if _title_index["fingerprint"] != fingerprint:
            entries = []
            for movie_id, title, count in Movie.objects.values_list("id", "title", "rating_count"):
                key = search_key(title)
                entries.append((key, _LEADING_ARTICLE.sub("", key), search_key(title, natural=False), movie_id, count))
            _title_index["entries"] = entries
            _title_index["fingerprint"] = fingerprint
        return _title_index["entries"]


def movie_search(*, query: str, limit: int = SEARCH_DEFAULT_LIMIT) -> list[Movie]:
    """Movies whose title starts with (or contains, or nearly starts with) the query, best first.

    Both the natural title ("The Matrix") and MovieLens' ("Matrix, The") match: the query is read
    as either. Ranking: whole-title prefix, then a word in the title starting with the query, then substring,
    then, when those are fewer than ``limit``, typo-tolerant prefix matches (difflib ratio >= 0.75
    against the title's first letters, first letter right); ties go to the more-rated movie.
    """
    key = search_key(query[:SEARCH_MAX_QUERY_LENGTH])
    if not key:
        return []
    raw_key = search_key(query[:SEARCH_MAX_QUERY_LENGTH], natural=False)
    entries = _title_entries()
    ranked: list[tuple[int, float, int, int]] = []
    for title_key, _bare, stored_key, movie_id, count in entries:
        if title_key.startswith(key) or stored_key.startswith(raw_key):
            ranked.append((0, 0.0, -count, movie_id))
        elif f" {key}" in f" {title_key}" or f" {raw_key}" in f" {stored_key}":
            ranked.append((1, 0.0, -count, movie_id))
        elif key in title_key or raw_key in stored_key:
            ranked.append((2, 0.0, -count, movie_id))
    if len(ranked) < limit and len(key) >= 3:
        # Few plain matches: look for a typo in a prefix, comparing the query with the title's
        # first letters (with and without a leading article), one letter more or less.
        found = {movie_id for *_rest, movie_id in ranked}
        fuzzy = difflib.SequenceMatcher(autojunk=False)
        fuzzy.set_seq2(key)
        for title_key, bare, _stored, movie_id, count in entries:
            if movie_id in found:
                continue
            # People rarely mistype the first letter; requiring it keeps this loop fast.
            texts = [text for text in (title_key, bare) if text[:1] == key[0]]
            if not texts:
                continue
            best = 0.0
            for prefix in {text[: len(key) + delta] for text in texts for delta in (-1, 0, 1)}:
                fuzzy.set_seq1(prefix)
                if fuzzy.real_quick_ratio() >= 0.75 and fuzzy.quick_ratio() >= 0.75:
                    best = max(best, fuzzy.ratio())
            if best >= 0.75:
                ranked.append((3, -best, -count, movie_id))
    ranked.sort()
    return movies_in_order([movie_id for *_rest, movie_id in ranked[:limit]])


# --- Movie page -----------------------------------------------------------


@dataclass(frozen=True)
class MovieDetail:
    movie: Movie
    tags: list[str]
    similar: list[Movie]
    visitor_rating: float | None
    flagged: str  # "", "skipped" or "hidden"


def movie_tags(*, movie: Movie, limit: int = TAGS_DEFAULT_LIMIT) -> list[str]:
    """The movie's most used tags, case-insensitively distinct."""
    counts: dict[str, tuple[int, str]] = {}
    for tag in Tag.objects.filter(movie=movie).values_list("tag", flat=True):
        cleaned = tag.strip()
        if not cleaned:
            continue
        lowered = cleaned.lower()
        count, shown = counts.get(lowered, (0, cleaned))
        counts[lowered] = (count + 1, shown)
    ordered = sorted(counts.values(), key=lambda item: (-item[0], item[1].lower()))
    return [shown for _count, shown in ordered[:limit]]


def movies_similar(*, movie: Movie, n: int = SIMILAR_DEFAULT_N, exclude=()) -> list[Movie]:
    """Similar movies: the content engine's when available, else most shared genres, then popularity."""
    excluded = set(exclude) | {movie.id}
    ids = similar_movies(movie.id, n + len(excluded))
    if ids:
        return [m for m in movies_in_order(ids) if m.id not in excluded][:n]
    genre_ids = [genre.id for genre in movie.genres.all()]
    if not genre_ids:
        return list(Movie.objects.popular().exclude(pk__in=excluded).prefetch_related("genres")[:n])
    return list(
        Movie.objects.filter(genres__in=genre_ids)
        .exclude(pk__in=excluded)
        .annotate(shared=Count("genres"))
        .order_by("-shared", "-rating_count", "id")
        .prefetch_related("genres")[:n]
    )


def movie_detail(*, movie_id: int, state: VisitorState) -> MovieDetail | None:
    movie = Movie.objects.prefetch_related("genres").filter(pk=movie_id).first()
    if movie is None:
        return None
    flagged = ""
    if movie.id in state.hidden:
        flagged = VisitorMovieFlag.Kind.HIDDEN
    elif movie.id in state.skipped:
        flagged = VisitorMovieFlag.Kind.SKIPPED
    movie.visitor_rating = state.ratings.get(movie.id)
    return MovieDetail(
        movie=movie,
        tags=movie_tags(movie=movie),
        similar=movies_similar(movie=movie, exclude=state.hidden),
        visitor_rating=movie.visitor_rating,
        flagged=flagged,
    )
