"""Evaluation metrics as pure functions (no state, no I/O), each tested on hand-built cases.

Conventions (also in docs/evaluation.md):

* Rating metrics take aligned arrays of predicted and true stars. A missing prediction (NaN)
  raises :class:`MissingPredictionError`; nothing is dropped silently.
* Ranking metrics take one person's ranked list ``recommended`` (best first; only the first
  ``k`` count) and the set ``relevant`` of their relevant movies (test rating >= 4). Positions
  are 1-based; the discount at position i is ``1 / log2(i + 1)``.
* NDCG@k: ``DCG@k / IDCG@k`` where ``DCG@k = sum_i rel_i / log2(i + 1)`` with binary rel_i, and
  the ideal DCG places ``min(k, |relevant|)`` relevant movies in the first positions:
  ``IDCG@k = sum_{i=1..min(k, |relevant|)} 1 / log2(i + 1)``.
* Precision@k divides the hits by k (not by the list length); Recall@k by ``|relevant|``.
* Genre NDCG@k (our reading of seed 000's figure), graded: the gain of a recommended movie is
  the Jaccard similarity between its genres and the person's *liked genres* (the union of the
  genres of their relevant test movies); the ideal DCG is that of the k best gains any
  candidate could reach, so 1.0 means no candidate list could be closer in genre.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np


class MissingPredictionError(ValueError):
    """A metric was given a missing (NaN) prediction or arrays that do not line up."""


def _aligned(predicted, actual) -> tuple[np.ndarray, np.ndarray]:
    predicted = np.asarray(predicted, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if predicted.shape != actual.shape:
        raise MissingPredictionError(f"{predicted.size} predictions for {actual.size} ratings")
    if predicted.size == 0:
        raise MissingPredictionError("no predictions to score")
    missing = int(np.isnan(predicted).sum())
    if missing:
        raise MissingPredictionError(f"{missing} of {predicted.size} predictions are missing (NaN)")
    if np.isnan(actual).any():
        raise ValueError("true ratings contain NaN")
    return predicted, actual


def rmse(predicted: Sequence[float], actual: Sequence[float]) -> float:
    """Root mean squared error between predicted and true stars."""
    predicted, actual = _aligned(predicted, actual)
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def mae(predicted: Sequence[float], actual: Sequence[float]) -> float:
    """Mean absolute error between predicted and true stars."""
    predicted, actual = _aligned(predicted, actual)
    return float(np.mean(np.abs(predicted - actual)))


def _top(recommended: Sequence[int], k: int) -> list:
    if k < 1:
        raise ValueError("k must be at least 1")
    top = list(recommended)[:k]
    if len(set(top)) != len(top):
        raise ValueError("the recommended list repeats a movie")
    return top


def _hits(recommended: Sequence[int], relevant: Collection[int], k: int) -> np.ndarray:
    relevant = set(relevant)
    return np.array([movie in relevant for movie in _top(recommended, k)], dtype=np.float64)


def discounts(k: int) -> np.ndarray:
    """``1 / log2(i + 1)`` for positions i = 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def precision_at_k(recommended: Sequence[int], relevant: Collection[int], k: int = 10) -> float:
    """Relevant movies among the first k, divided by k."""
    return float(_hits(recommended, relevant, k).sum() / k)


def recall_at_k(recommended: Sequence[int], relevant: Collection[int], k: int = 10) -> float:
    """Relevant movies among the first k, divided by the number of relevant movies."""
    if not relevant:
        raise ValueError("recall is undefined for a person with no relevant movies")
    return float(_hits(recommended, relevant, k).sum() / len(set(relevant)))


def ndcg_at_k(recommended: Sequence[int], relevant: Collection[int], k: int = 10) -> float:
    """Binary-relevance NDCG@k; the ideal list puts min(k, |relevant|) hits first."""
    if not relevant:
        raise ValueError("NDCG is undefined for a person with no relevant movies")
    hits = _hits(recommended, relevant, k)
    dcg = float(hits @ discounts(k)[: hits.size])
    idcg = float(discounts(min(k, len(set(relevant)))).sum())
    return dcg / idcg


def reciprocal_rank_at_k(recommended: Sequence[int], relevant: Collection[int], k: int = 10) -> float:
    """1 / position of the first relevant movie in the first k; 0 when there is none (MRR@k
    is its mean over people)."""
    hits = _hits(recommended, relevant, k)
    found = np.flatnonzero(hits)
    return float(1.0 / (found[0] + 1)) if found.size else 0.0


def hit_at_k(recommended: Sequence[int], relevant: Collection[int], k: int = 10) -> float:
    """1.0 when at least one relevant movie is in the first k, else 0.0 (HitRate@k is the mean)."""
    return float(_hits(recommended, relevant, k).any())


def catalog_coverage(recommendation_lists: Iterable[Sequence[int]], catalog_size: int, k: int = 10) -> float:
    """Distinct movies appearing in anybody's first k, divided by the catalog size."""
    if catalog_size < 1:
        raise ValueError("catalog_size must be positive")
    distinct: set = set()
    for recommended in recommendation_lists:
        distinct.update(_top(recommended, k))
    return len(distinct) / catalog_size


def jaccard_gains(item_genres: np.ndarray, liked_genres: np.ndarray) -> np.ndarray:
    """Jaccard similarity of each movie's genre set with the liked-genre set.

    Args:
        item_genres: boolean matrix (movies x genres).
        liked_genres: boolean vector (genres).

    Returns:
        float64 gains in [0, 1]; 0 for a movie without genres when nothing is liked.
    """
    item_genres = np.asarray(item_genres, dtype=bool)
    liked = np.asarray(liked_genres, dtype=bool)
    inter = (item_genres & liked).sum(axis=-1)
    union = (item_genres | liked).sum(axis=-1)
    return np.divide(inter, union, out=np.zeros(inter.shape, dtype=np.float64), where=union > 0)


def ndcg_from_gains(gains: Sequence[float], ideal_gains: Sequence[float], k: int = 10) -> float:
    """Graded NDCG@k: DCG of ``gains`` (in ranked order) over the DCG of the k largest
    ``ideal_gains`` sorted descending. 0.0 when the ideal DCG is 0."""
    gains = np.asarray(gains, dtype=np.float64)[:k]
    ideal = np.sort(np.asarray(ideal_gains, dtype=np.float64))[::-1][:k]
    idcg = float(ideal @ discounts(k)[: ideal.size])
    if idcg <= 0.0:
        return 0.0
    return float(gains @ discounts(k)[: gains.size]) / idcg


def genre_ndcg_at_k(recommended: Sequence[int], candidates: Sequence[int], relevant: Collection[int],
                    genres: dict[int, Collection[str]], k: int = 10) -> float:
    """Seed 000's genre NDCG@k, as defined in this module's docstring.

    Args:
        recommended: the ranked list (best first).
        candidates: every movie the list could have held (defines the ideal DCG).
        relevant: the person's relevant test movies; their genres form the liked-genre set.
        genres: movie id -> its genres (a movie missing from it has none).
    """
    liked = set().union(*(set(genres.get(m, ())) for m in relevant)) if relevant else set()
    vocabulary = sorted(liked.union(*(set(genres.get(m, ())) for m in candidates)))
    column = {g: i for i, g in enumerate(vocabulary)}

    def matrix(movies) -> np.ndarray:
        out = np.zeros((len(movies), len(vocabulary)), dtype=bool)
        for row, movie in enumerate(movies):
            for g in genres.get(movie, ()):
                out[row, column[g]] = True
        return out

    liked_vector = np.zeros(len(vocabulary), dtype=bool)
    liked_vector[[column[g] for g in liked]] = True
    top = _top(recommended, k)
    return ndcg_from_gains(jaccard_gains(matrix(top), liked_vector),
                           jaccard_gains(matrix(list(candidates)), liked_vector), k)


def distinct_items(recommendation_lists: Iterable[Sequence[int]], k: int = 10) -> int:
    """How many distinct movies appear in anybody's first k."""
    distinct: set = set()
    for recommended in recommendation_lists:
        distinct.update(_top(recommended, k))
    return len(distinct)


def self_information(rating_counts: Sequence[float], n_users: int) -> np.ndarray:
    """Each movie's self-information ``-log2(n_i / n_users)`` in bits, ``n_i`` its number of
    training raters (a movie nobody rated counts as rated once, so the value stays finite)."""
    if n_users < 1:
        raise ValueError("n_users must be positive")
    counts = np.maximum(np.asarray(rating_counts, dtype=np.float64), 1.0)
    return -np.log2(np.minimum(counts / n_users, 1.0))


def novelty(recommendation_lists: Iterable[Sequence[int]], information: np.ndarray, k: int = 10) -> float:
    """Mean self-information of the recommended movies: each person's mean over their first k,
    then the mean over people (Zhou et al. 2010). Lists hold positions into ``information``."""
    means = [float(np.mean(information[_top(recommended, k)])) for recommended in recommendation_lists
             if len(recommended)]
    if not means:
        raise ValueError("novelty needs at least one non-empty list")
    return float(np.mean(means))
