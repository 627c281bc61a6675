"""What people rate next: a first-order "successor" model over each person's ratings in time order.

MovieLens people rate in sessions, and the films they rate next follow the ones they just rated
more closely than their whole history says (the leave-one-out protocol's test movie is exactly a
person's next rating; sequence-aware models gain most there, e.g. Kang & McAuley 2018, SASRec).
:class:`NextMoviesScorer` counts, over every training person's time-ordered ratings, how often
movie ``j`` was rated within :attr:`window` ratings after movie ``i`` (a step ``d`` later counts
``decay ** (d - 1)``), and keeps ``P(j | i) = count(i, j) / (count(i) + smoothing)`` for the
``max_successors`` most frequent successors of each movie. A person is scored from their
``recent`` latest ratings, the latest counting most: ``score = sum_t recent_decay ** age_t P(. | i_t)``.

Histories are read in the order they are given: oldest first, as the harness, the tuning code and
the site pass them (a ``dict`` keeps its insertion order). Plain NumPy/SciPy, no Django.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from recsys.data.vocabulary import Vocabulary


def chronological(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by person, then time, then movie id (a stable, fully determined order)."""
    return frame.sort_values(["user_id", "timestamp", "movie_id"], kind="stable")


def histories_in_time_order(frame: pd.DataFrame) -> dict[int, dict[int, float]]:
    """Person -> {movie id: stars}, each history oldest first (ties by movie id)."""
    return {int(user): dict(zip(group["movie_id"].astype(int).tolist(), group["rating"].astype(float).tolist()))
            for user, group in chronological(frame).groupby("user_id", sort=True)}


def recency_weights(n: int, *, boost: float, span: float) -> np.ndarray:
    """The weight of each of ``n`` ratings, oldest first: ``1 + boost * exp(-age / span)`` with
    age 0 for the latest, so the latest rating counts ``1 + boost`` and an old one 1."""
    age = np.arange(n - 1, -1, -1, dtype=np.float64)
    return 1.0 + boost * np.exp(-age / span)


_PAIR_BLOCK = 1 << 20  # ratings whose successor pairs are counted at once


class NextMoviesScorer:
    """Successor probabilities between movies (module docstring); follows :class:`recsys.protocol.Scorer`.

    Args:
        window: a successor is a movie rated at most this many ratings later.
        decay: the weight of a successor ``d`` ratings later is ``decay ** (d - 1)``.
        smoothing: added to each movie's successor total, so a movie seen once does not give
            its one successor a probability of 1.
        max_items: model at most this many movies, the most-rated ones (None: all).
        min_ratings: leave out movies with fewer training ratings.
        max_successors: successors kept per movie (the most frequent), which bounds the model
            at ``max_items * max_successors`` entries whatever the data's size.
        recent: how many of a person's latest ratings score them.
        recent_decay: the weight of the rating ``age`` places before the latest is ``recent_decay ** age``.
        predecessors: also count the movies rated just *before* each movie, with this weight:
            the model keeps ``P(j | i) + predecessors * Q(j | i)``, where ``Q(j | i)`` is the share
            of the (decayed) ratings within ``window`` before ``i`` that were ``j``, smoothed alike.
            People rate in sessions whose order is partly the order of the pages they browse, so
            the films rated just before a film also say what a person rates around it (0: successors only).
    """

    predicts_ratings = False

    def __init__(self, *, window: int = 10, decay: float = 0.8, smoothing: float = 5.0,
                 max_items: int | None = 10_000, min_ratings: int = 2, max_successors: int = 200,
                 recent: int = 20, recent_decay: float = 0.8, predecessors: float = 0.0):
        if window < 1 or recent < 1 or max_successors < 1:
            raise ValueError("window, recent and max_successors must be at least 1")
        if not predecessors >= 0:
            raise ValueError(f"predecessors must be >= 0, not {predecessors!r}")
        self.predecessors = float(predecessors)
        self.window, self.decay, self.smoothing = int(window), float(decay), float(smoothing)
        self.max_items, self.min_ratings, self.max_successors = max_items, int(min_ratings), int(max_successors)
        self.recent, self.recent_decay = int(recent), float(recent_decay)
        self.items: Vocabulary | None = None
        self.successors: sparse.csr_matrix | None = None

    def __repr__(self) -> str:
        return (f"NextMoviesScorer(window={self.window}, decay={self.decay}, predecessors={self.predecessors:g}, "
                f"{len(self.items or ())} movies, "
                f"{0 if self.successors is None else self.successors.nnz:,} successor links)")

    @classmethod
    def from_arrays(cls, movie_ids, indptr, indices, data, **settings) -> NextMoviesScorer:
        """A fitted scorer from :meth:`arrays` (e.g. read back from a saved model)."""
        movie_ids = np.asarray(movie_ids, dtype=np.int64)
        n = movie_ids.size
        indptr, indices = np.asarray(indptr, np.int64), np.asarray(indices, np.int32)
        if indptr.shape != (n + 1,) or indices.shape != np.shape(data) or (indices.size and indices.max() >= n):
            raise ValueError(f"successor arrays do not describe {n} movies")
        scorer = cls(**settings)
        scorer.items = Vocabulary(movie_ids)
        scorer.successors = sparse.csr_matrix((np.asarray(data, np.float32), indices, indptr), shape=(n, n))
        return scorer

    def arrays(self) -> dict[str, np.ndarray]:
        """The fitted model as four arrays (:meth:`from_arrays` reads them)."""
        self._check_fitted()
        m = self.successors
        return {"movie_ids": self.items.ids, "indptr": m.indptr.astype(np.int64),
                "indices": m.indices.astype(np.int32), "data": m.data.astype(np.float32)}

    def _kept(self, train: pd.DataFrame) -> np.ndarray:
        counts = train.groupby("movie_id").size()
        counts = counts[counts >= self.min_ratings]
        if counts.empty:
            raise ValueError("NextMoviesScorer: no movie has enough ratings to learn from")
        order = np.lexsort((counts.index.to_numpy(), -counts.to_numpy()))  # most-rated first, ties by id
        return counts.index.to_numpy(dtype=np.int64)[order[: self.max_items]]

    def fit(self, train: pd.DataFrame) -> NextMoviesScorer:
        if train.empty:
            raise ValueError("cannot fit on an empty ratings frame")
        self.items = Vocabulary(self._kept(train))
        n = len(self.items)
        order = np.lexsort((train["movie_id"].to_numpy(), train["timestamp"].to_numpy(),
                            train["user_id"].to_numpy()))  # person, then time, then movie id
        codes = self.items.indices(train["movie_id"].to_numpy(dtype=np.int64)).astype(np.int32)[order]
        people = train["user_id"].to_numpy(dtype=np.int64)[order]
        del order
        keep = codes >= 0
        codes, people = codes[keep], people[keep]
        # A dense n x n float32 table (400 MB for 10,000 movies, like EASE's weights) takes the
        # counts: its size does not grow with the number of ratings, and the pairs are added a
        # block of ratings at a time, so they never take more than a few MB.
        counts = np.zeros(n * n, dtype=np.float32)
        for start in range(0, codes.size, _PAIR_BLOCK):
            for step in range(1, self.window + 1):
                end = min(start + _PAIR_BLOCK, codes.size - step)
                if end <= start:
                    break
                same = people[start:end] == people[start + step:end + step]
                first = codes[start:end][same].astype(np.int64)
                np.add.at(counts, first * n + codes[start + step:end + step][same],
                          np.float32(self.decay ** (step - 1)))
        del codes, people
        self.successors = self._pruned(counts.reshape(n, n))
        return self

    def _pruned(self, counts: np.ndarray) -> sparse.csr_matrix:
        """``P(j | i)`` (plus ``predecessors * Q(j | i)``) for each row's ``max_successors`` largest
        values (ties to the lower column): counts normalised by the whole row's total (the column's,
        for predecessors) plus the smoothing."""
        n = counts.shape[0]
        scale = self._scale(counts.sum(axis=1, dtype=np.float64))
        # The column totals only when predecessors are counted: another pass over the n x n table.
        before = (self._scale(counts.sum(axis=0, dtype=np.float64)) * np.float32(self.predecessors)
                  if self.predecessors else None)
        keep = min(self.max_successors, n)
        indptr, indices, data = [np.zeros(1, np.int64)], [], []
        for start in range(0, n, 1024):  # blocks of rows bound the sort's memory
            end = min(start + 1024, n)
            # Normalised here, block by block, so that no second n x n table is ever made.
            block = counts[start:end] * scale[start:end, None]
            if before is not None:
                block += counts[:, start:end].T * before[start:end, None]
            if keep < n:
                # Stable descending order: among equal counts, the lower column first.
                top = np.argsort(-block, axis=1, kind="stable")[:, :keep]
            else:
                top = np.broadcast_to(np.arange(n), block.shape)
            values = np.take_along_axis(block, top, axis=1)
            nonzero = values > 0
            top = np.sort(np.where(nonzero, top, n), axis=1)  # columns ascending, dropped ones last
            values = np.take_along_axis(block, np.minimum(top, n - 1), axis=1)
            lengths = nonzero.sum(axis=1)
            mask = np.arange(keep)[None, :] < lengths[:, None]
            indices.append(top[mask].astype(np.int32))
            data.append(values[mask].astype(np.float32))
            indptr.append(indptr[-1][-1] + np.cumsum(lengths))
        return sparse.csr_matrix((np.concatenate(data), np.concatenate(indices), np.concatenate(indptr)),
                                 shape=(n, n))

    def _scale(self, totals: np.ndarray) -> np.ndarray:
        """1 / (total + smoothing), and 0 for a movie with no links (unsmoothed, a zero total)."""
        totals = totals + self.smoothing
        return np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0).astype(np.float32)

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        """Successor scores of every movie from the person's latest ratings (``history`` oldest first)."""
        self._check_fitted()
        n = len(self.items)
        if not history:
            return np.zeros(n, dtype=np.float32)
        rows = self.items.indices(np.fromiter(history.keys(), dtype=np.int64, count=len(history)))
        rows = rows[rows >= 0][-self.recent:]
        if rows.size == 0:
            return np.zeros(n, dtype=np.float32)
        weights = (self.recent_decay ** np.arange(rows.size - 1, -1, -1)).astype(np.float32)
        picked = self.successors[rows]
        return np.asarray(picked.T @ weights, dtype=np.float32).ravel()

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float], movie_ids) -> np.ndarray:
        return np.full(len(movie_ids), np.nan, dtype=np.float32)

    def _check_fitted(self) -> None:
        if self.successors is None:
            raise RuntimeError("NextMoviesScorer is not fitted: call fit() first")
