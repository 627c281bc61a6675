"""Scorers combined by per-person z-scores (``BlendScorer``)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .vocabulary import Vocabulary


class BlendScorer:
    """A weighted sum of per-person z-scored component scores.

    ``score = sum_c w_c * (s_c - mean(s_c)) / std(s_c)`` over the union catalog (a movie a
    component does not know gets that component's mean, i.e. 0 after z-scoring). Z-scoring per
    person keeps a component from winning by scale alone. Stars come from ``stars_from`` (the
    index of a component that predicts them), else NaN.

    Args:
        components: (scorer, weight) pairs; scorers are fitted together by ``fit``.
        stars_from: which component's ``predict_ratings`` to use, or None.
    """

    def __init__(self, components: Sequence[tuple[object, float]], stars_from: int | None = None):
        self.components = list(components)
        self.stars_from = stars_from
        self.predicts_ratings = stars_from is not None
        self.items = None

    def fit(self, train: pd.DataFrame) -> "BlendScorer":
        for scorer, _ in self.components:
            scorer.fit(train)
        return self._attach()

    @classmethod
    def from_fitted(cls, components: Sequence[tuple[object, float]], stars_from: int | None = None) -> "BlendScorer":
        """A blend of scorers that are already fitted (loaded from disk)."""
        return cls(components, stars_from)._attach()

    def _attach(self) -> "BlendScorer":
        self.items = Vocabulary(np.concatenate([s.items.ids for s, _ in self.components]))
        self._columns = [s.items.indices(self.items.ids) for s, _ in self.components]
        return self

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        total = np.zeros(len(self.items), dtype=np.float64)
        for (scorer, weight), columns in zip(self.components, self._columns):
            raw = np.asarray(scorer.score(user_id=user_id, history=history), dtype=np.float64)
            std = raw.std()
            z = (raw - raw.mean()) / std if std > 0 else np.zeros_like(raw)
            total += weight * np.where(columns >= 0, z[np.maximum(columns, 0)], 0.0)
        return total.astype(np.float32)

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float],
                        movie_ids: Sequence[int]) -> np.ndarray:
        if self.stars_from is None:
            return np.full(len(movie_ids), np.nan, dtype=np.float32)
        return self.components[self.stars_from][0].predict_ratings(user_id=user_id, history=history,
                                                                   movie_ids=movie_ids)
