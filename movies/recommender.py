"""The site's one door to the recommender.

Views, the JSON API and services call only the functions below. Until a trained
model is ready they answer from a popularity fallback, so nothing ever blocks or
fails because a model is still training.

Contract (stable; other modules rely on it):

* ``model_info() -> ModelInfo``
* ``recommend(ratings=..., exclude=..., candidates=..., n=..., diversify=..., seed=...)
  -> list[Recommendation]`` — ``ratings`` maps MovieLens movie id -> stars; rated and
  excluded movies are never returned.
* ``predict(ratings=..., movie_ids=...) -> list[float | None]`` — ``None`` for a movie
  the model does not know.
"""
from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

STATUS_READY = "ready"
STATUS_TRAINING = "training"
KIND_POPULARITY = "popularity"


@dataclass(frozen=True)
class ModelInfo:
    status: str  # "ready" once the trained model answers, "training" while the fallback does
    trained_at: datetime | None
    kind: str  # "popularity" for the fallback, the model's kind otherwise

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "trained_at": self.trained_at.isoformat() if self.trained_at else None,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Recommendation:
    movie_id: int
    score: float  # ranking score, higher is better; comparable only within one list
    predicted_rating: float | None  # stars in [0.5, 5.0], None when the source cannot say
    reason: str = ""  # one human line: "because you rated Heat 5 stars"


def model_info() -> ModelInfo:
    return ModelInfo(status=STATUS_TRAINING, trained_at=None, kind=KIND_POPULARITY)


def _popular_movies(limit: int, exclude: Collection[int], candidates: Collection[int] | None):
    from .models import Movie

    # Damped mean (Bayesian average towards 3.5 with 10 pseudo-ratings) keeps one
    # 5-star rating from outranking a film hundreds of people loved.
    queryset = Movie.objects.filter(rating_count__gt=0)
    if candidates is not None:
        queryset = queryset.filter(pk__in=list(candidates))
    rows = queryset.exclude(pk__in=list(exclude)).order_by("-rating_count", "id").values_list(
        "id", "rating_count", "rating_mean"
    )[: max(limit * 5, 100)]
    scored = [(mid, (count * (mean or 0) + 10 * 3.5) / (count + 10), count) for mid, count, mean in rows]
    scored.sort(key=lambda item: (-item[1] * min(1.0, item[2] / 50), item[0]))
    return scored[:limit]


def recommend(
    *,
    ratings: Mapping[int, float],
    exclude: Collection[int] = (),
    candidates: Collection[int] | None = None,
    n: int | None = None,
    diversify: bool = True,
    seed: int | None = None,
) -> list[Recommendation]:
    n = settings.RECOMMENDATIONS_DEFAULT_N if n is None else n
    pool_size = max(settings.RECOMMENDER_POOL_SIZE, n) if diversify else n
    pool = _popular_movies(pool_size, set(exclude) | set(ratings), candidates)
    if diversify:
        random.Random(seed).shuffle(pool)
    return [
        Recommendation(movie_id=mid, score=score, predicted_rating=round(score, 2), reason="popular with everyone")
        for mid, score, _count in pool[:n]
    ]


def predict(*, ratings: Mapping[int, float], movie_ids: Sequence[int]) -> list[float | None]:
    from .models import Movie

    means = dict(Movie.objects.filter(pk__in=list(movie_ids)).values_list("id", "rating_mean"))
    return [means.get(mid) for mid in movie_ids]
