"""The hybrid recommender (seed 004): content + collaborative + popularity, weighted by how
much we know about the person.

Each component scores every movie; each component's scores are normalised per person
(rank percentile in [0, 1], or a z-score) so that no component wins by scale alone; then

    score = w_content * content + w_collab * collaborative + w_pop * popularity

The weights follow the number of movies the person has rated: ``new`` weights up to
``new_until`` ratings, ``regular`` weights from ``regular_from`` on, linear in between
(seed 004 sets 70/20/10 for new people and 30/60/10 for regular ones; the defaults here
were tuned on validation users with :func:`tune_on_validation` and
:func:`tune_regular_on_validation`).

``explain`` names the component that contributed most to a movie's score and says why in
one line: "similar to Heat, which you loved", "people with similar taste rated it highly",
"popular with people who like Comedy".
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .content import ContentIndex
from .vocabulary import Vocabulary

CONTENT, COLLABORATIVE, POPULARITY = "content", "collaborative", "popularity"
COMPONENTS = (CONTENT, COLLABORATIVE, POPULARITY)
RANK, ZSCORE = "rank", "zscore"
SEED_004_NEW, SEED_004_REGULAR = (0.7, 0.2, 0.1), (0.3, 0.6, 0.1)


@dataclass(frozen=True)
class HybridWeights:
    """The weight schedule. Each triple is (content, collaborative, popularity)."""

    # Tuned on validation users of ml-latest-small with EASE as the collaborative part
    # (docs/content.md): new people lean on popularity, regular ones on content + EASE.
    # Seed 004's hand-set values are SEED_004_NEW / SEED_004_REGULAR.
    new: tuple[float, float, float] = (0.1, 0.1, 0.8)
    regular: tuple[float, float, float] = (0.5, 0.4, 0.1)
    new_until: int = 20  # up to this many ratings: ``new`` weights
    regular_from: int = 100  # from this many ratings: ``regular`` weights
    normalise: str = ZSCORE  # RANK or ZSCORE

    def for_count(self, n_ratings: int) -> np.ndarray:
        """The three weights (summing to 1) for a person with ``n_ratings`` ratings."""
        new, regular = np.asarray(self.new, np.float64), np.asarray(self.regular, np.float64)
        if n_ratings <= self.new_until:
            mixed = new
        elif n_ratings >= self.regular_from:
            mixed = regular
        else:
            t = (n_ratings - self.new_until) / (self.regular_from - self.new_until)
            mixed = (1 - t) * new + t * regular
        total = mixed.sum()
        return mixed / total if total > 0 else np.full(3, 1 / 3)


def normalise_scores(scores: np.ndarray, method: str = RANK) -> np.ndarray:
    """One person's scores mapped to a common scale.

    ``RANK``: average-rank percentile in [0, 1] (ties share a value; all-equal gives 0.5).
    ``ZSCORE``: (x - mean) / std (all-equal gives 0).
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0:
        return x.astype(np.float32)
    if method == ZSCORE:
        std = x.std()
        return ((x - x.mean()) / std if std > 0 else np.zeros_like(x)).astype(np.float32)
    if method != RANK:
        raise ValueError(f"unknown normalisation {method!r}")
    if x.size == 1:
        return np.full(1, 0.5, np.float32)
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    # Average rank of each run of equal values, so ties get equal percentiles.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    ends = np.r_[starts[1:], x.size]
    avg = (starts + ends - 1) / 2.0
    ranks = np.empty(x.size, np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return (ranks / (x.size - 1)).astype(np.float32)


class ContentScorer:
    """Content alone as a :class:`ncf.base.Scorer`: a person's taste profile (their rated
    movies, centred by their mean) matched against every movie's text."""

    predicts_ratings = False

    def __init__(self, index: ContentIndex):
        self.index = index
        self.items: Vocabulary | None = None
        self._rows: np.ndarray | None = None

    def fit(self, train: pd.DataFrame) -> "ContentScorer":
        self.items = Vocabulary(train["movie_id"].to_numpy())
        self._rows = self.index.items.indices(self.items.ids)
        return self

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        full = self.index.profile_scores(history)
        return np.where(self._rows >= 0, full[np.maximum(self._rows, 0)], 0.0).astype(np.float32)

    def predict_ratings(self, *, user_id, history, movie_ids) -> np.ndarray:
        return np.full(len(movie_ids), np.nan, np.float32)


@dataclass
class Explanation:
    driver: str  # CONTENT, COLLABORATIVE or POPULARITY
    text: str
    contributions: dict = field(default_factory=dict)  # component -> weight x normalised score


class HybridScorer:
    """Content + collaborative + popularity (see the module docstring).

    Args:
        content: the catalog's :class:`ContentIndex`, or None when it has not been built (the
            content part then scores 0 for every movie and the other two decide).
        collaborative: any :class:`ncf.base.Scorer` (NCFScorer, EASEScorer, ...).
        weights: the weight schedule.
        fit_collaborative: False when ``collaborative`` is already fitted (``fit`` then only
            learns popularity and the movie list).
        titles, genres: movie id -> title / genre list, for ``explain``.
    """

    def __init__(self, content: ContentIndex | None, collaborative, *, weights: HybridWeights | None = None,
                 fit_collaborative: bool = True, titles: Mapping[int, str] | None = None,
                 genres: Mapping[int, Sequence[str]] | None = None):
        self.content = ContentScorer(content) if content is not None else None
        self.collaborative = collaborative
        self.weights = weights or HybridWeights()
        self.fit_collaborative = fit_collaborative
        self.titles = dict(titles or {})
        self.genres = {int(k): list(v) for k, v in (genres or {}).items()}
        self.items: Vocabulary | None = None
        self.popularity: np.ndarray | None = None
        self._collab_cols: np.ndarray | None = None

    @property
    def predicts_ratings(self) -> bool:
        return getattr(self.collaborative, "predicts_ratings", True)

    def fit(self, train: pd.DataFrame) -> "HybridScorer":
        if self.fit_collaborative:
            self.collaborative.fit(train)
        items = Vocabulary(train["movie_id"].to_numpy())
        counts = train.groupby("movie_id").size().reindex(items.ids).fillna(0).to_numpy(np.float64)
        return self._attach(items, counts)

    @classmethod
    def from_fitted(cls, content: ContentIndex | None, collaborative, *, items: Vocabulary,
                    rating_counts: np.ndarray, **kwargs) -> "HybridScorer":
        """A ready scorer from parts fitted elsewhere (the site's saved model).

        Args:
            items: the movies to rank (the collaborative model's training movies).
            rating_counts: training ratings per movie, aligned with ``items``.
        """
        scorer = cls(content, collaborative, fit_collaborative=False, **kwargs)
        return scorer._attach(items, np.asarray(rating_counts, np.float64))

    def _attach(self, items: Vocabulary, counts: np.ndarray) -> "HybridScorer":
        self.items = items
        if self.content is not None:
            self.content.items = items
            self.content._rows = self.content.index.items.indices(items.ids)
        self.popularity = np.log1p(counts).astype(np.float32)
        self._popularity_normalised: dict[str, np.ndarray] = {}  # the same for everyone: once per method
        self._collab_cols = self.collaborative.items.indices(self.items.ids)
        return self

    def components(self, *, user_id: int | None, history: Mapping[int, float],
                   normalise: str | None = None) -> np.ndarray:
        """The three normalised component scores, float32 (3, len(items))."""
        method = normalise or self.weights.normalise
        raw_collab = np.asarray(self.collaborative.score(user_id=user_id, history=history), np.float64)
        collab = np.where(self._collab_cols >= 0, raw_collab[np.maximum(self._collab_cols, 0)], np.nan)
        # A movie the collaborative model does not know ranks below every known one.
        collab = np.where(np.isnan(collab), np.nanmin(collab) - 1 if np.isfinite(collab).any() else 0.0, collab)
        content = (self.content.score(user_id=user_id, history=history) if self.content is not None
                   else np.zeros(len(self.items), np.float32))
        popularity = self._popularity_normalised.get(method)
        if popularity is None:
            popularity = self._popularity_normalised[method] = normalise_scores(self.popularity, method)
        return np.stack([normalise_scores(content, method), normalise_scores(collab, method), popularity])

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        weights = self.weights.for_count(len(history))
        return (weights[:, None] * self.components(user_id=user_id, history=history)).sum(axis=0).astype(np.float32)

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float],
                        movie_ids: Sequence[int]) -> np.ndarray:
        return np.asarray(self.collaborative.predict_ratings(user_id=user_id, history=history, movie_ids=movie_ids),
                          np.float32)

    # -- explanations

    def explain(self, *, user_id: int | None, history: Mapping[int, float], movie_id: int,
                components: np.ndarray | None = None) -> Explanation:
        """Why ``movie_id`` was recommended: the component with the largest weighted score,
        in one human line."""
        row = self.items.index(movie_id)
        if row < 0:
            return Explanation(POPULARITY, "popular with everyone", {})
        parts = components if components is not None else self.components(user_id=user_id, history=history)
        weights = self.weights.for_count(len(history))
        contributions = {name: float(weights[i] * parts[i, row]) for i, name in enumerate(COMPONENTS)}
        driver = max(COMPONENTS, key=lambda name: (contributions[name], -COMPONENTS.index(name)))
        liked = _liked(history)
        if driver == CONTENT and liked and self.content is not None:
            best = self.content.index.most_similar_in(movie_id, liked)
            if best is not None:
                return Explanation(CONTENT, f"similar to {self._title(best[0])}, which you loved", contributions)
        if driver in (CONTENT, COLLABORATIVE) and history:
            return Explanation(COLLABORATIVE, "people with similar taste rated it highly", contributions)
        genre = self._favourite_genre(movie_id, liked or list(history))
        text = f"popular with people who like {genre}" if genre else "popular with everyone"
        return Explanation(POPULARITY, text, contributions)

    def _title(self, movie_id: int) -> str:
        return self.titles.get(int(movie_id), f"movie {movie_id}")

    def _favourite_genre(self, movie_id: int, history_ids: Sequence[int]) -> str | None:
        own = self.genres.get(int(movie_id), [])
        if not own:
            return None
        counts = {g: 0 for g in own}
        for m in history_ids:
            for g in self.genres.get(int(m), ()):
                if g in counts:
                    counts[g] += 1
        return max(own, key=lambda g: (counts[g], -own.index(g)))


def _liked(history: Mapping[int, float], threshold: float = 4.0) -> list[int]:
    liked = [int(m) for m, s in history.items() if s >= threshold]
    if not liked and history:
        top = max(history.values())
        liked = [int(m) for m, s in history.items() if s == top]
    return liked


# --------------------------------------------------------------------------- tuning


@dataclass
class TuningCase:
    """One validation person: what they revealed and which of the movies they rated later
    (>= 4 stars) a good list should contain."""

    history: dict[int, float]
    relevant: set[int]
    user_id: int | None = None  # set for a user the collaborative model was fitted on


def weight_grid(step: float = 0.1) -> list[tuple[float, float, float]]:
    """Every (content, collaborative, popularity) triple on a ``step`` grid summing to 1."""
    n = int(round(1 / step))
    # Rounded so 7 * 0.1 is 0.7 (and a seed's 70/20/10 is found in the results by equality).
    return [(round(a * step, 10), round(b * step, 10), round(1 - (a + b) * step, 10))
            for a in range(n + 1) for b in range(n + 1 - a)]


def ndcg_for_weights(parts: Sequence[np.ndarray], cases: Sequence[TuningCase], items: Vocabulary,
                     weights: Sequence[float], k: int = 10) -> float:
    """Mean NDCG@k over ``cases`` of the list ranked by ``weights . parts`` (rated movies excluded)."""
    from .metrics import ndcg_at_k

    w = np.asarray(weights, np.float32)[:, None]
    values = []
    for comp, case in zip(parts, cases):
        scores = (w * comp).sum(axis=0)
        seen = items.indices(list(case.history))
        scores[seen[seen >= 0]] = -np.inf
        top = np.argpartition(-scores, min(k, scores.size) - 1)[:k]  # a catalog may hold fewer than k
        top = top[np.lexsort((top, -scores[top]))]
        values.append(ndcg_at_k(items.ids[top].tolist(), case.relevant, k))
    return float(np.mean(values)) if values else 0.0


def tune_weights(scorer: HybridScorer, cases: Sequence[TuningCase], *, grid: Sequence[Sequence[float]] | None = None,
                 normalisations: Sequence[str] = (RANK, ZSCORE), k: int = 10,
                 progress: Callable[[str], None] | None = None) -> tuple[tuple[float, float, float], str, list[dict]]:
    """Pick the weight triple and normalisation with the best mean NDCG@k on ``cases``
    (validation people only: never the test users). Component scores are computed once per
    person and normalisation, so the grid costs only the weighted sums.

    Returns:
        ``(best weights, best normalisation, every result as {"weights", "normalise", "ndcg"})``.
    """
    grid = list(grid or weight_grid())
    known = set(scorer.items.ids.tolist())
    # As in the evaluation harness: a movie nobody rated in training cannot be recommended,
    # so it does not count as relevant.
    cases = [TuningCase(c.history, (c.relevant & known) - set(c.history), c.user_id) for c in cases]
    cases = [c for c in cases if c.relevant]
    results = []
    for method in normalisations:
        parts = [scorer.components(user_id=c.user_id, history=c.history, normalise=method) for c in cases]
        for weights in grid:
            results.append({"weights": tuple(float(w) for w in weights), "normalise": method,
                            "ndcg": ndcg_for_weights(parts, cases, scorer.items, weights, k)})
        if progress:
            best = max((r for r in results if r["normalise"] == method), key=lambda r: r["ndcg"])
            progress(f"{method}: best {best['weights']} NDCG@{k} {best['ndcg']:.4f}")
    best = max(results, key=lambda r: (r["ndcg"], r["weights"]))
    return best["weights"], best["normalise"], results


def tuned(weights: HybridWeights, new: Sequence[float], normalise: str) -> HybridWeights:
    """``weights`` with the tuned new-user triple and normalisation."""
    return replace(weights, new=tuple(float(w) for w in new), normalise=normalise)


def cold_cases(cold_ratings: pd.DataFrame, k: int, relevant_stars: float = 4.0) -> list[TuningCase]:
    """Validation cases from chronological cold-user ratings: the first ``k`` revealed, the
    rest's >= ``relevant_stars`` movies relevant. Users with <= k ratings are skipped."""
    cases = []
    ordered = cold_ratings.sort_values(["user_id", "timestamp", "movie_id"], kind="stable")
    for _user, group in ordered.groupby("user_id", sort=True):
        if len(group) <= k:
            continue
        shown, rest = group.iloc[:k], group.iloc[k:]
        cases.append(TuningCase(
            history=dict(zip(shown["movie_id"].astype(int), shown["rating"].astype(float))),
            relevant=set(rest.loc[rest["rating"] >= relevant_stars, "movie_id"].astype(int))))
    return cases




def tune_on_validation(ratings: pd.DataFrame, index: ContentIndex, collaborative_factory: Callable[[], object], *,
                       ks: Sequence[int] = (5, 10, 20), seed: int = 42, validation_seed: int = 7,
                       grid: Sequence[Sequence[float]] | None = None, k: int = 10,
                       normalisations: Sequence[str] = (RANK, ZSCORE),
                       progress: Callable[[str], None] | None = None) -> tuple[HybridWeights, list[dict]]:
    """Tune the new-user weights on a cold-start protocol that never sees the test users.

    The evaluation harness's cold split (``seed``) is applied first and its cold (test) users
    are dropped; the remaining training ratings are split again (``validation_seed``) into a
    fitting part and validation cold users, who reveal their first k ratings (k in ``ks``).

    Returns:
        the tuned :class:`HybridWeights` and every grid result.
    """
    from .splits import cold_split

    outer = cold_split(ratings, seed=seed)
    inner = cold_split(outer.train, seed=validation_seed)
    scorer = HybridScorer(index, collaborative_factory()).fit(inner.train)
    cases = [case for reveal in ks for case in cold_cases(inner.cold_ratings, reveal)]
    if progress:
        progress(f"validation: {len(inner.train):,} fitting ratings, {len(inner.cold_users)} cold users, "
                 f"{len(cases)} cases over k={list(ks)}")
    best, method, results = tune_weights(scorer, cases, grid=grid, normalisations=normalisations, k=k,
                                         progress=progress)
    return tuned(HybridWeights(), best, method), results


def warm_cases(fit: pd.DataFrame, held_out: pd.DataFrame, relevant_stars: float = 4.0) -> list[TuningCase]:
    """Validation cases for known users: their fitting ratings as history (scored as
    themselves), their held-out ratings >= ``relevant_stars`` as relevant."""
    histories = {int(u): dict(zip(g["movie_id"].astype(int), g["rating"].astype(float)))
                 for u, g in fit.groupby("user_id", sort=True)}
    liked = held_out[held_out["rating"] >= relevant_stars].groupby("user_id")["movie_id"]
    return [TuningCase(histories.get(int(u), {}), set(ms.astype(int)), user_id=int(u)) for u, ms in liked]


def tune_regular_on_validation(ratings: pd.DataFrame, index: ContentIndex,
                               collaborative_factory: Callable[[], object], *, min_ratings: int = 100,
                               grid: Sequence[Sequence[float]] | None = None,
                               normalisations: Sequence[str] = (ZSCORE,), k: int = 10,
                               progress: Callable[[str], None] | None = None):
    """Tune the regular-user weights on the warm protocol's *training* part only: each user's
    last 20% of training ratings (by time) is held out for validation; people with at least
    ``min_ratings`` fitting ratings count.

    Returns:
        ``(best triple, best normalisation, every grid result)``.
    """
    from .splits import validation_split, warm_split

    inner = validation_split(warm_split(ratings).train, by="time")
    scorer = HybridScorer(index, collaborative_factory()).fit(inner.train)
    cases = [c for c in warm_cases(inner.train, inner.test) if len(c.history) >= min_ratings]
    if progress:
        progress(f"regular validation: {len(cases)} people with >= {min_ratings} ratings")
    return tune_weights(scorer, cases, grid=grid, normalisations=normalisations, k=k, progress=progress)
