"""The product's ranker: what the site serves and what ``evaluate`` reports as ``product``.

A network trained on MovieLens ranks well for some people and badly for others, and so does
every other single model (docs/evaluation.md). The site therefore ranks with the hybrid of
:mod:`ncf.hybrid` built around the NCF engine:

* collaborative = the NCF's ranking head and EASE (Steck 2019), each z-scored per person and
  added with equal weight (:class:`ncf.blend.BlendScorer`); stars always come from the NCF's
  rating head;
* content = the person's taste profile against every movie's text (when the content index
  has been built; otherwise that part scores 0 and the other two decide);
* popularity = log of the number of training ratings;

mixed with weights that move from :data:`PRODUCT_WEIGHTS`'s ``new`` triple (people with
few ratings, where popularity is the strongest signal) to its ``regular`` one. The weights
were tuned with :func:`tune_product` on validation people only, never the evaluation's test
users (docs/evaluation.md has the grid results).

EASE's weight matrix is dense, so the product keeps it for the most-rated movies only
(:data:`EASE_MAX_ITEMS`, movies with at least :data:`EASE_MIN_RATINGS` ratings); the NCF,
the content part and popularity still rank every movie.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .baselines import EASEScorer
from .blend import BlendScorer
from .content import ContentIndex
from .hybrid import ZSCORE, HybridScorer, HybridWeights, TuningCase, cold_cases, tune_weights, warm_cases
from .vocabulary import Vocabulary

EASE_L2 = 500.0
EASE_MAX_ITEMS = 10_000
EASE_MIN_RATINGS = 2
EASE_WEIGHT = 1.0  # EASE's weight inside the collaborative part, against the NCF's 1.0

#: (content, collaborative, popularity); tuned by tune_product (docs/evaluation.md).
PRODUCT_WEIGHTS = HybridWeights(new=(0.1, 0.1, 0.8), regular=(0.5, 0.3, 0.2), new_until=5, regular_from=30,
                                normalise=ZSCORE)


def product_ease(max_items: int | None = EASE_MAX_ITEMS, min_ratings: int = EASE_MIN_RATINGS) -> EASEScorer:
    """The product's EASE: lambda 500 over the most-rated movies."""
    return EASEScorer(l2=EASE_L2, max_items=max_items, min_ratings=min_ratings)


def collaborative_blend(ncf, ease: EASEScorer | None, *, fitted: bool = False) -> BlendScorer:
    """NCF + EASE (z-scored per person); the NCF's stars. ``ease=None`` leaves the NCF alone."""
    components = [(ncf, 1.0)] + ([(ease, EASE_WEIGHT)] if ease is not None else [])
    if fitted:
        return BlendScorer.from_fitted(components, stars_from=0)
    return BlendScorer(components, stars_from=0)


def product_scorer(ncf, content: ContentIndex | None, *, ease: EASEScorer | None = None,
                   weights: HybridWeights = PRODUCT_WEIGHTS) -> HybridScorer:
    """An unfitted product ranker around ``ncf`` (an unfitted :class:`ncf.scorer.NCFScorer`);
    ``fit(train)`` trains the NCF and EASE and counts popularity, as the site does."""
    return HybridScorer(content, collaborative_blend(ncf, ease if ease is not None else product_ease()),
                        weights=weights)


def product_from_parts(ncf, *, ease: EASEScorer | None, content: ContentIndex | None, rating_counts: np.ndarray,
                       weights: HybridWeights = PRODUCT_WEIGHTS, titles=None, genres=None) -> HybridScorer:
    """The site's ranker from a loaded model: a fitted NCFScorer, the saved EASE (or None),
    the content index (or None) and the training rating count of each NCF movie."""
    counts = np.asarray(rating_counts, dtype=np.float64)
    if counts.shape != (len(ncf.items),):
        raise ValueError(f"{counts.shape[0] if counts.ndim else 0} rating counts for {len(ncf.items)} movies")
    return HybridScorer.from_fitted(content, collaborative_blend(ncf, ease, fitted=True), items=ncf.items,
                                    rating_counts=counts, weights=weights, titles=titles, genres=genres)


def rating_counts(train: pd.DataFrame, items: Vocabulary) -> np.ndarray:
    """Training ratings per movie, aligned with ``items``."""
    counts = train.groupby("movie_id").size()
    return counts.reindex(items.ids).fillna(0).to_numpy(np.int64)


#: (new_until, regular_from) pairs tried by tune_product.
SCHEDULE_GRID = tuple((a, b) for a in (5, 10, 15, 20) for b in (20, 30, 50, 100) if b > a)


@dataclass
class _Prepared:
    """One validation person's normalised components, ready for any weight schedule."""

    components: np.ndarray
    seen: np.ndarray
    relevant: set
    n_ratings: int


def _prepare(scorer: HybridScorer, cases: Sequence[TuningCase]) -> list[_Prepared]:
    known = set(scorer.items.ids.tolist())
    out = []
    for case in cases:
        # As in the harness: only movies someone rated in training can be found.
        relevant = (case.relevant & known) - set(case.history)
        if not relevant:
            continue
        seen = scorer.items.indices(list(case.history))
        out.append(_Prepared(scorer.components(user_id=case.user_id, history=case.history), seen[seen >= 0],
                             relevant, len(case.history)))
    return out


def schedule_ndcg(weights: HybridWeights, items: Vocabulary, prepared: Sequence[_Prepared], k: int = 10) -> float:
    """Mean NDCG@k when each person's parts are mixed by ``weights.for_count(their ratings)``."""
    from .metrics import ndcg_at_k

    values = []
    for person in prepared:
        mix = weights.for_count(person.n_ratings).astype(np.float32)[:, None]
        scores = (mix * person.components).sum(axis=0)
        scores[person.seen] = -np.inf
        top = np.argpartition(-scores, min(k, scores.size) - 1)[:k]  # a catalog may hold fewer than k
        top = top[np.lexsort((top, -scores[top]))]
        values.append(ndcg_at_k(items.ids[top].tolist(), person.relevant, k))
    return float(np.mean(values)) if values else 0.0


def tune_product(ratings: pd.DataFrame, index: ContentIndex | None, ncf_factory: Callable[[], object], *,
                 seed: int = 42, validation_seed: int = 7, ks: Sequence[int] = (5, 10, 20),
                 grid: Sequence[Sequence[float]] | None = None,
                 schedule_grid: Sequence[tuple[int, int]] = SCHEDULE_GRID, min_regular_ratings: int = 100,
                 progress: Callable[[str], None] | None = None) -> tuple[HybridWeights, dict]:
    """Tune the product's weights on validation people only, never the evaluation's test users.

    * cold validation: the harness's cold split (``seed``) is removed first, then 20% of the
      remaining users (``validation_seed``) are made cold and reveal their first k ratings;
    * warm validation: each user's last 20% of the warm protocol's *training* ratings (by time)
      are held out.

    Steps: the ``new`` triple on cold validation; the ``regular`` triple on warm validation
    people with at least ``min_regular_ratings`` ratings; then the schedule's breakpoints
    (``new_until``, ``regular_from``) from ``schedule_grid``, by the sum of the warm and the cold
    validation NDCG@10 over everybody.

    Returns:
        the tuned :class:`HybridWeights` and ``{"new", "regular", "schedule"}`` grid results.
    """
    from .splits import cold_split, validation_split, warm_split

    say = progress or (lambda _line: None)
    outer = cold_split(ratings, seed=seed)
    inner_cold = cold_split(outer.train, seed=validation_seed)
    cold_scorer = product_scorer(ncf_factory(), index).fit(inner_cold.train)
    cold = [case for reveal in ks for case in cold_cases(inner_cold.cold_ratings, reveal)]
    say(f"cold validation: {len(inner_cold.train):,} fitting ratings, {len(inner_cold.cold_users)} users, "
        f"{len(cold)} cases over k={list(ks)}")
    new, _method, new_results = tune_weights(cold_scorer, cold, grid=grid, normalisations=(ZSCORE,), progress=say)
    if not _prepare(cold_scorer, cold):  # too little data to learn anything: keep the defaults
        say("no cold validation case has a findable relevant movie: keeping the default new weights")
        new = PRODUCT_WEIGHTS.new

    inner_warm = validation_split(warm_split(ratings).train, by="time")
    warm_scorer = product_scorer(ncf_factory(), index).fit(inner_warm.train)
    warm = warm_cases(inner_warm.train, inner_warm.test)
    regular_people = [case for case in warm if len(case.history) >= min_regular_ratings]
    say(f"warm validation: {len(warm)} people, {len(regular_people)} with >= {min_regular_ratings} ratings")
    regular, _method, regular_results = tune_weights(warm_scorer, regular_people, grid=grid,
                                                     normalisations=(ZSCORE,), progress=say)
    if not _prepare(warm_scorer, regular_people):
        say(f"no validation person with >= {min_regular_ratings} ratings: keeping the default regular weights")
        regular = PRODUCT_WEIGHTS.regular

    base = HybridWeights(new=tuple(float(w) for w in new), regular=tuple(float(w) for w in regular), normalise=ZSCORE)
    warm_prepared, cold_prepared = _prepare(warm_scorer, warm), _prepare(cold_scorer, cold)
    schedule_results = []
    for new_until, regular_from in schedule_grid:
        candidate = replace(base, new_until=int(new_until), regular_from=int(regular_from))
        schedule_results.append({"new_until": int(new_until), "regular_from": int(regular_from),
                                 "warm": schedule_ndcg(candidate, warm_scorer.items, warm_prepared),
                                 "cold": schedule_ndcg(candidate, cold_scorer.items, cold_prepared)})
    if not warm_prepared and not cold_prepared:
        say("no validation person at all: keeping the default schedule")
        return replace(PRODUCT_WEIGHTS, new=base.new, regular=base.regular), {
            "new": new_results, "regular": regular_results, "schedule": schedule_results}
    best = max(schedule_results, key=lambda r: (round(r["warm"] + r["cold"], 10), -r["new_until"], -r["regular_from"]))
    say(f"schedule: new up to {best['new_until']} ratings, regular from {best['regular_from']}: "
        f"validation NDCG@10 warm {best['warm']:.4f}, cold {best['cold']:.4f}")
    weights = replace(base, new_until=best["new_until"], regular_from=best["regular_from"])
    return weights, {"new": new_results, "regular": regular_results, "schedule": schedule_results}
