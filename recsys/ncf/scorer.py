"""``NCFScorer``: the NeuMF engine behind the ``recsys.protocol.Scorer`` contract.

``fit`` trains with Keras (``recsys.ncf.training``); ``score`` and ``predict_ratings`` run in NumPy
(``recsys.ncf.serving``): a user seen in training uses their learned vectors, anyone else is folded
in from ``history``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recsys.data.vocabulary import Vocabulary
from recsys.ncf.config import NCFConfig
from recsys.ncf.serving import NumpyNeuMF, UserVector


class NCFScorer:
    """NeuMF with a ranking head and a rating head (see ``recsys.ncf.model``).

    Args:
        config: an NCFConfig; or keyword arguments for one (``NCFScorer(epochs=5, mode="implicit")``).
    """

    predicts_ratings = True

    def __init__(self, config: NCFConfig | None = None, **kwargs):
        if config is not None and kwargs:
            config = NCFConfig.from_dict({**config.to_dict(), **kwargs})
        self.config = config or NCFConfig(**kwargs)
        self.users: Vocabulary | None = None
        self.items: Vocabulary | None = None
        self.net: NumpyNeuMF | None = None
        self.train_result = None

    def __repr__(self) -> str:
        c = self.config
        return f"NCFScorer(mode={c.mode!r}, foldin={c.foldin!r}, d={c.embedding_dim}, layers={list(c.layers)})"

    @classmethod
    def from_parts(cls, config: NCFConfig, users: Vocabulary, items: Vocabulary, weights: dict) -> NCFScorer:
        scorer = cls(config)
        scorer.users, scorer.items = users, items
        scorer.net = NumpyNeuMF(weights, config)
        return scorer

    def fit(self, train: pd.DataFrame, progress=None) -> NCFScorer:
        from recsys.ncf.training import train as train_model

        result = train_model(train, self.config, progress=progress)
        self.train_result = result
        self.users, self.items = result.users, result.items
        self.net = NumpyNeuMF(result.weights, self.config)
        return self

    def _require_fitted(self) -> NumpyNeuMF:
        if self.net is None:
            raise RuntimeError("NCFScorer is not fitted: call fit() or load an artifact first")
        return self.net

    def user_vector(self, *, user_id: int | None, history: Mapping[int, float], foldin: str | None = None,
                    seed: int | None = None) -> UserVector:
        """The learned vectors of a training user, else a fold-in of ``history``."""
        net = self._require_fitted()
        if user_id is not None and foldin is None:
            row = self.users.index(user_id)
            if row >= 0:
                return net.user_vector(row)
        movie_ids = np.fromiter(history.keys(), dtype=np.int64, count=len(history))
        stars = np.fromiter(history.values(), dtype=np.float32, count=len(history))
        rows = self.items.indices(movie_ids)
        known = rows >= 0
        return net.fold_in(rows[known], stars[known], method=foldin, seed=seed)

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        net = self._require_fitted()
        return net.rank_scores(self.user_vector(user_id=user_id, history=history))

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float],
                        movie_ids: Sequence[int]) -> np.ndarray:
        net = self._require_fitted()
        rows = self.items.indices(np.asarray(list(movie_ids), dtype=np.int64))
        out = np.full(len(rows), np.nan, dtype=np.float32)
        known = rows >= 0
        if known.any():
            vector = self.user_vector(user_id=user_id, history=history)
            out[known] = net.stars_from_logit(net.logits(vector, rows[known])[:, 1])
        return out
