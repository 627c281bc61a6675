"""Choosing a model's hyper-parameters on validation people carved from its own training frame.

:class:`ValidatedScorer` is how the harness's ``ease`` (lambda) and ``ials`` baselines pick
their settings: each person's last 20% of *training* ratings by time are held out
(:func:`recsys.data.splits.validation_split`), every candidate is fitted on the rest and
measured by NDCG@10 on the held-out ratings >= 4 stars, and the best one is refitted on the
whole training frame. The test set is never seen.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from recsys.data.splits import validation_split
from recsys.evaluation.metrics import ndcg_at_k
from recsys.primitives import top_k

RELEVANT_STARS = 4.0


def validation_ndcg(scorer, fit: pd.DataFrame, held_out: pd.DataFrame, *, k: int = 10,
                    relevant_stars: float = RELEVANT_STARS) -> float:
    """Mean NDCG@k of a scorer fitted on ``fit`` over people with a held-out movie rated >=
    ``relevant_stars`` that is in the scorer's catalog; rated movies are never recommended."""
    histories = {int(u): dict(zip(g["movie_id"].astype(int), g["rating"].astype(float)))
                 for u, g in fit.groupby("user_id", sort=True)}
    liked = held_out[held_out["rating"] >= relevant_stars].groupby("user_id")["movie_id"]
    known = set(scorer.items.ids.tolist())
    values = []
    for user, movies in liked:
        history = histories.get(int(user), {})
        relevant = (set(movies.astype(int)) & known) - set(history)
        if not relevant:
            continue
        scores = np.asarray(scorer.score(user_id=int(user), history=history), dtype=np.float64)
        seen = scorer.items.indices(list(history))
        scores[seen[seen >= 0]] = -np.inf
        values.append(ndcg_at_k(scorer.items.ids[top_k(scores, k)].tolist(), relevant, k))
    return float(np.mean(values)) if values else 0.0


class ValidatedScorer:
    """The candidate with the best validation NDCG@10, refitted on the whole training frame.

    Args:
        candidates: label -> a factory of an unfitted scorer (in a fixed order; a tie goes to
            the first).
        fraction: share of each person's training ratings held out for validation.

    After :meth:`fit`: ``chosen`` (the label) and ``results`` (label -> validation NDCG@10).
    """

    def __init__(self, candidates: Mapping[str, Callable[[], object]], *, fraction: float = 0.2):
        if not candidates:
            raise ValueError("ValidatedScorer needs at least one candidate")
        self.candidates, self.fraction = dict(candidates), float(fraction)
        self.chosen: str | None = None
        self.results: dict[str, float] = {}
        self.scorer = None

    @property
    def items(self):
        return self.scorer.items

    @property
    def predicts_ratings(self) -> bool:
        return bool(getattr(self.scorer, "predicts_ratings", False))

    def fit(self, train: pd.DataFrame) -> ValidatedScorer:
        split = validation_split(train, fraction=self.fraction, by="time")
        self.results = {label: validation_ndcg(make().fit(split.train), split.train, split.test)
                        for label, make in self.candidates.items()}
        self.chosen = max(self.results, key=lambda label: (self.results[label], -list(self.results).index(label)))
        self.scorer = self.candidates[self.chosen]().fit(train)
        return self

    def score(self, *, user_id: int | None, history: Mapping[int, float]) -> np.ndarray:
        return self.scorer.score(user_id=user_id, history=history)

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float],
                        movie_ids: Sequence[int]) -> np.ndarray:
        return self.scorer.predict_ratings(user_id=user_id, history=history, movie_ids=movie_ids)
