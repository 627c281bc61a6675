"""The contract every recommender in ``ncf`` follows, so one evaluation harness runs them all.

A scorer is fitted on a ratings frame (``user_id, movie_id, rating, timestamp``) and then
answers for a person given either their id (a user seen in training: "warm") or only the
ratings they just gave (a new person: "cold", folded in without retraining).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from recsys.data.vocabulary import Vocabulary


@runtime_checkable
class Scorer(Protocol):
    """What the evaluation harness and the ranker read of every recommender."""

    #: Movies the scorer knows, in the column order of ``score``.
    items: Vocabulary
    #: Whether ``predict_ratings`` gives stars (RMSE is measured only for those that do).
    predicts_ratings: bool

    def fit(self, train: pd.DataFrame) -> Scorer:
        """Learn from ``train`` (columns user_id, movie_id, rating, timestamp). Returns self."""

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        """Ranking scores (float32, higher is better) for every movie in ``items``.

        ``history`` maps movie id -> stars the person gave; for a warm user it is their
        training ratings, for a cold user the ratings they revealed. Movies in the history
        are NOT masked here: the caller excludes them.
        """

    def predict_ratings(
        self, *, user_id: int | None, history: Mapping[int, float], movie_ids: Sequence[int]
    ) -> np.ndarray:
        """Predicted stars for ``movie_ids`` (NaN for unknown movies or for scorers that
        do not predict stars)."""
