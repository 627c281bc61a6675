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

import numpy as np
import pandas as pd

from .baselines import EASEScorer
from .blend import BlendScorer
from .content import ContentIndex
from .hybrid import ZSCORE, HybridScorer, HybridWeights, tune_on_validation, tune_regular_on_validation
from .vocabulary import Vocabulary

EASE_L2 = 500.0
EASE_MAX_ITEMS = 10_000
EASE_MIN_RATINGS = 2
EASE_WEIGHT = 1.0  # EASE's weight inside the collaborative part, against the NCF's 1.0

#: (content, collaborative, popularity); tuned by tune_product (docs/evaluation.md).
PRODUCT_WEIGHTS = HybridWeights(new=(0.1, 0.1, 0.8), regular=(0.5, 0.3, 0.2), new_until=20, regular_from=100,
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


def tune_product(ratings: pd.DataFrame, index: ContentIndex | None, ncf_factory: Callable[[], object], *,
                 seed: int = 42, grid: Sequence[Sequence[float]] | None = None,
                 progress: Callable[[str], None] | None = None) -> tuple[HybridWeights, dict]:
    """Tune both weight triples on validation people (see :mod:`ncf.hybrid`'s tuners): the
    ``new`` triple on a cold-start protocol over users outside the evaluation's cold test
    users, the ``regular`` one on the warm protocol's training part.

    Returns:
        the tuned :class:`HybridWeights` and ``{"new": results, "regular": results}``.
    """
    def factory():
        return collaborative_blend(ncf_factory(), product_ease())

    # One normalisation for both triples, so the schedule can move between them.
    new_weights, new_results = tune_on_validation(ratings, index, factory, seed=seed, grid=grid,
                                                  normalisations=(ZSCORE,), progress=progress)
    regular, _method, regular_results = tune_regular_on_validation(ratings, index, factory, grid=grid,
                                                                   progress=progress)
    weights = HybridWeights(new=new_weights.new, regular=tuple(float(w) for w in regular),
                            new_until=PRODUCT_WEIGHTS.new_until, regular_from=PRODUCT_WEIGHTS.regular_from,
                            normalise=new_weights.normalise)
    return weights, {"new": new_results, "regular": regular_results}
