"""The ranker the site serves and ``evaluate`` reports as ``product``: one object, one pass.

A network trained on MovieLens ranks well for some people and badly for others, and so does
every other single model (docs/evaluation.md), so the product mixes three parts:

* collaborative: the NCF's ranking head and EASE (Steck 2019), each z-scored per person and
  added, with what people rated next after the person's latest ratings (:mod:`recsys.sequence`),
  weighted by :data:`COLLABORATIVE_MIX`;
* content: the person's taste profile against every movie's text (when the content index has
  been built; otherwise that part scores 0 and the other two decide);
* popularity: log of the number of training ratings; for new people, of the number of liked ones
  (>= :data:`LIKED_STARS`), moving to all ratings as the weights move to ``regular`` (the films many
  people rated *and liked* are what a new person goes on to like; for regular people the count of
  every rating ranks a little better, docs/evaluation.md).

The ranker reads the time of a request (``at``, seconds since the epoch; None: the end of the
training data, which is what the site passes). A film released after that year is never
recommended (a person in 2003 cannot watch a 2009 film; the release years come from the titles).
A ranker built with a :class:`RecentPopularity` also makes part of new people's popularity the
films liked in the year before ``at``; the site does not (docs/evaluation.md, "Time").

Each part is z-scored per person, then mixed with weights that move from
:data:`PRODUCT_WEIGHTS`'s ``new`` triple (few ratings: popularity is the strongest signal) to
its ``regular`` one. The weights were tuned on validation people only (:mod:`recsys.ranking.tuning`).

For regular people the content part counts only for movies the collaborative part finds plausible
(:class:`ContentGate`, :data:`PRODUCT_CONTENT_GATE`): a movie's content z-score is moved towards
the person's lowest one by ``1 - sigmoid((collaborative z - centre) / width)``, scheduled like the
weights (no gate up to ``new_until`` ratings, the full gate from ``regular_from``). Text alone
lifted obscure movies that read like a person's favourites above the films they go on to watch
(it cost leave-one-out about 13% of its NDCG@10); gated, it still reorders the plausible films at the
top of the list, where it helps the warm protocol (docs/evaluation.md).

:meth:`Ranker.recommend` answers a request in one pass: one fold-in of the person, one
weighted sum, one top-k, and the stars and the deciding part of every pick from the same
fold-in. :meth:`Ranker.score` is the same sum for the evaluation harness.

Stars do not rank. They are the average (:data:`STARS_NCF_SHARE`) of the NCF's rating head and a
biased matrix factorization's (:func:`product_stars_mf`, trained with the NCF; every person folded
in from their ratings, as a visitor is): the two err differently, and their average predicted the
held-out stars of validation people better than either (docs/evaluation.md). Without the MF (an
older model) the stars are the NCF's alone.

EASE's weight matrix is dense, so the product keeps it for the most-rated movies only
(:data:`EASE_MAX_ITEMS`, with at least :data:`EASE_MIN_RATINGS` ratings); the NCF, the content
part and popularity rank every movie.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.baselines import BiasedMFScorer, EASEScorer
from recsys.content.index import ContentIndex
from recsys.data.vocabulary import Vocabulary
from recsys.ncf.scorer import NCFScorer
from recsys.ncf.serving import UserVector
from recsys.primitives import top_k, zscore
from recsys.sequence import NextMoviesScorer, recency_weights
from recsys.timeline import LikedTimeline, release_year_array, released_after

CONTENT, COLLABORATIVE, POPULARITY = "content", "collaborative", "popularity"
PARTS = (CONTENT, COLLABORATIVE, POPULARITY)  # the row order of Ranker.parts

EASE_L2 = 500.0
EASE_MAX_ITEMS = 10_000
EASE_MIN_RATINGS = 2
LIKED_STARS = 4.0  # a rating that says "I liked it" (the movies reasons may name)
#: The NCF's share of the stars, the biased MF's the rest; chosen on validation people of seeds
#: 42 and 101 (0.5 and 0.6 tied within 0.0001 of RMSE; docs/evaluation.md).
STARS_NCF_SHARE = 0.5
STARS_MF_FACTORS = 16  # as good as 32 on validation people, and a quarter of the ALS arithmetic


@dataclass(frozen=True)
class CollaborativeMix:
    """The collaborative part is ``ncf * z(NCF) + ease * z(EASE) + next * z(successors)``
    (:mod:`recsys.sequence` for the last), with the (ncf, ease, next) weights moving from ``new``
    to ``regular`` as :class:`WeightSchedule` moves its triples."""

    new: tuple[float, float, float]
    regular: tuple[float, float, float]

    def __post_init__(self):
        for mix in (self.new, self.regular):
            if len(mix) != 3 or min(mix) < 0 or not max(mix) > 0:
                raise ValueError(f"a collaborative mix is three weights >= 0, not all 0: {mix!r}")

    def at(self, regular_share: float) -> tuple[float, float, float]:
        """The weights for a person ``regular_share`` of the way from new (0) to regular (1)."""
        t = float(regular_share)
        return tuple((1 - t) * a + t * b for a, b in zip(self.new, self.regular))


#: Chosen on validation people (docs/evaluation.md).
COLLABORATIVE_MIX = CollaborativeMix(new=(1.0, 1.0, 0.5), regular=(1.0, 1.0, 0.5))
#: EASE reads a person's latest ratings as more telling than old ones: the rating ``age`` places
#: before the latest counts ``1 + boost * exp(-age / span)`` (:func:`recsys.sequence.recency_weights`).
#: (boost, span), chosen on validation people; None: every rating alike.
EASE_RECENCY = (3.0, 20.0)


@dataclass(frozen=True)
class RecentPopularity:
    """New people's popularity is ``(1 - share) * z(log(1 + liked count)) + share * z(log(1 +
    recent liked count))``, where a liked rating made ``age`` days before the request counts
    ``exp(-age / days)`` (later ratings not at all). What a newcomer goes on to like is what people
    were liking when they arrived."""

    share: float
    days: float

    def __post_init__(self):
        if not 0.0 <= self.share <= 1.0 or not self.days > 0:
            raise ValueError(f"share must be in [0, 1] and days > 0, not {self.share!r}, {self.days!r}")


#: The best setting on cold-start validation people (docs/evaluation.md, "Time"). Not served: it
#: cost the onboarding simulation's validation seeds 6-10% after two screens.
RECENT_POPULARITY_TRIED = RecentPopularity(share=0.4, days=365.0)


@dataclass(frozen=True)
class WeightSchedule:
    """The (content, collaborative, popularity) weights by how many movies a person rated:
    ``new`` up to ``new_until`` ratings, ``regular`` from ``regular_from`` on, linear between."""

    new: tuple[float, float, float]
    regular: tuple[float, float, float]
    new_until: int
    regular_from: int

    def regular_share(self, n_ratings: int) -> float:
        """How far a person with ``n_ratings`` ratings is from ``new`` (0) to ``regular`` (1)."""
        if n_ratings <= self.new_until:
            return 0.0
        if n_ratings >= self.regular_from:
            return 1.0
        return (n_ratings - self.new_until) / (self.regular_from - self.new_until)

    def for_count(self, n_ratings: int) -> np.ndarray:
        """The three weights (summing to 1) for a person with ``n_ratings`` ratings."""
        new, regular = np.asarray(self.new, np.float64), np.asarray(self.regular, np.float64)
        t = self.regular_share(n_ratings)
        mixed = new if t == 0.0 else regular if t == 1.0 else (1 - t) * new + t * regular
        total = mixed.sum()
        return mixed / total if total > 0 else np.full(3, 1 / 3)


#: Tuned by ``evaluate --tune-product`` on validation people (docs/evaluation.md).
PRODUCT_WEIGHTS = WeightSchedule(new=(0.1, 0.1, 0.8), regular=(0.5, 0.3, 0.2), new_until=5, regular_from=30)


@dataclass(frozen=True)
class ContentGate:
    """How much of the content part a movie keeps, from its collaborative z-score ``c``:
    ``g = 1 - strength * (1 - sigmoid((c - centre) / width))``; gated content =
    ``g * content + (1 - g) * min(content)``. The ranker's strength is the person's
    :meth:`WeightSchedule.regular_share`: no gate for new people, the full gate for regular ones."""

    centre: float
    width: float

    def __post_init__(self):
        if not self.width > 0:
            raise ValueError(f"ContentGate width must be positive, not {self.width!r}")

    def apply(self, content: np.ndarray, collaborative: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """The gated content part (float64), from the z-scored content and collaborative parts."""
        content, collaborative = np.asarray(content, np.float64), np.asarray(collaborative, np.float64)
        if content.size == 0 or strength == 0.0:
            return content
        sigmoid = 0.5 * (1.0 + np.tanh((collaborative - self.centre) / (2.0 * self.width)))  # overflow-free
        keep = 1.0 - strength * (1.0 - sigmoid)
        return keep * content + (1.0 - keep) * content.min()


#: Chosen on validation people (docs/evaluation.md): a movie keeps its content score where its
#: collaborative z-score is above about 1.5 and loses it within half a standard deviation below.
PRODUCT_CONTENT_GATE = ContentGate(centre=1.5, width=0.25)


def product_ease(max_items: int | None = EASE_MAX_ITEMS, min_ratings: int = EASE_MIN_RATINGS) -> EASEScorer:
    """The product's EASE: lambda 500 over the most-rated movies."""
    return EASEScorer(l2=EASE_L2, max_items=max_items, min_ratings=min_ratings)


def product_sequence() -> NextMoviesScorer:
    """The product's successor model, over the same most-rated movies as its EASE."""
    return NextMoviesScorer(max_items=EASE_MAX_ITEMS, min_ratings=EASE_MIN_RATINGS)


def product_stars_mf(seed: int = 42) -> BiasedMFScorer:
    """The product's second source of stars: biased MF with 16 factors (see :data:`STARS_NCF_SHARE`)."""
    return BiasedMFScorer(factors=STARS_MF_FACTORS, seed=seed)


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS has one, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


#: What the stars' MF may add to the NCF's peak memory when it is fitted beside it. Its ALS holds
#: about :data:`MF_BYTES_PER_RATING` bytes of working arrays a rating (the links of both sides, the
#: Gram matrices, the targets; 1.9 GiB for 23.5M ratings, docs/production.md), so above about
#: 6.7M ratings it is fitted before the NCF instead, and the process's peak is the larger of the two.
SIDE_MF_MAX_BYTES = 512 * 2**20
MF_BYTES_PER_RATING = 80


class SideFits:
    """The product's parts besides the NCF (the stars' biased MF, EASE, the successors), fitted from ``ratings``
    while the NCF trains.

    With two CPUs or more (``background``, by default when :func:`usable_cpus` is at least 2) they
    are fitted on a thread of their own: the NCF's step runs in XLA and the MF's ALS and EASE's
    Cholesky in NumPy/LAPACK, which release the GIL, so the two share the cores rather than the
    interpreter. The MF goes on the thread only when its working arrays are small
    (:data:`SIDE_MF_MAX_BYTES`); a larger one is fitted here, before the NCF, so that its memory
    is freed before TensorFlow takes its share. EASE always goes beside the NCF (it used to run
    after it, with TensorFlow's memory still held, so that costs no extra peak). With one CPU
    everything is fitted here, in turn. Either way the fitted parts are the same.
    ``on_step(text)`` hears how long each took. :meth:`result` waits for both and re-raises a
    failure of either fit.
    """

    def __init__(self, ratings: pd.DataFrame, seed: int, *, on_step=None, background: bool | None = None):
        self.ratings, self.seed, self.on_step = ratings, seed, on_step
        self.ease: EASEScorer | None = None
        self.stars_mf: BiasedMFScorer | None = None
        self.sequence: NextMoviesScorer | None = None
        self._error: BaseException | None = None
        self._thread = None
        if background is None:
            background = usable_cpus() >= 2
        mf_beside = background and len(ratings) * MF_BYTES_PER_RATING <= SIDE_MF_MAX_BYTES
        if not mf_beside:
            self._fit_mf(beside=False)
        if background:
            self._thread = threading.Thread(target=self._fit, args=(mf_beside,), name="product-side-fits",
                                            daemon=True)
            self._thread.start()
        else:
            self._fit_ease(beside=False)
            self._fit_sequence(beside=False)

    def _fit(self, with_mf: bool) -> None:
        try:
            if with_mf:
                self._fit_mf(beside=True)
            self._fit_ease(beside=True)
            self._fit_sequence(beside=True)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def _fit_mf(self, *, beside: bool) -> None:
        started = time.perf_counter()
        self.stars_mf = product_stars_mf(self.seed).fit(self.ratings)
        self._say(f"biased MF for the stars ({self.stars_mf.factors} factors) in "
                  f"{time.perf_counter() - started:.1f} s", beside)

    def _fit_ease(self, *, beside: bool) -> None:
        started = time.perf_counter()
        self.ease = product_ease().fit(self.ratings)
        self._say(f"EASE over {len(self.ease.items):,} movies in {time.perf_counter() - started:.1f} s", beside)

    def _fit_sequence(self, *, beside: bool) -> None:
        started = time.perf_counter()
        self.sequence = product_sequence().fit(self.ratings)
        self._say(f"successors of {len(self.sequence.items):,} movies ({self.sequence.successors.nnz:,} links) in "
                  f"{time.perf_counter() - started:.1f} s", beside)

    def _say(self, text: str, beside: bool) -> None:
        if self.on_step:
            self.on_step(text + (" (beside the NCF)" if beside else ""))

    def result(self) -> tuple[EASEScorer, BiasedMFScorer, NextMoviesScorer]:
        """``(ease, stars_mf, sequence)``, once all are fitted."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self.ease, self.stars_mf, self.sequence


def blend_stars(ncf, mf, ncf_share: float, dtype=np.float32) -> np.ndarray:
    """The served stars: ``ncf_share`` of the NCF's plus the rest of the MF's, and the NCF's alone
    where the MF does not know the movie (NaN). The ranker and :func:`recsys.ranking.tuning.tune_stars_share`
    both call this, so the share tuned is the formula served."""
    ncf, mf = np.asarray(ncf, dtype), np.asarray(mf, dtype)
    share = dtype(ncf_share)
    return np.where(np.isnan(mf), ncf, share * ncf + (dtype(1) - share) * mf).astype(dtype)


def rating_counts(train: pd.DataFrame, items: Vocabulary) -> np.ndarray:
    """Training ratings per movie, aligned with ``items``."""
    counts = train.groupby("movie_id").size()
    return counts.reindex(items.ids).fillna(0).to_numpy(np.int64)


def liked_counts(train: pd.DataFrame, items: Vocabulary, liked_stars: float = LIKED_STARS) -> np.ndarray:
    """Training ratings of at least ``liked_stars`` per movie, aligned with ``items``."""
    counts = train.loc[train["rating"] >= liked_stars].groupby("movie_id").size()
    return counts.reindex(items.ids).fillna(0).to_numpy(np.int64)


#: The saved arrays of the stars' biased MF (``stars_mf_<name>`` among an artifact's extras), in
#: :meth:`recsys.baselines.BiasedMFScorer.from_item_side`'s argument order.
STARS_MF_ARRAYS = ("movie_ids", "item_factors", "item_bias", "params")


#: The saved arrays of the successor model (``next_<name>``), :meth:`NextMoviesScorer.from_arrays`' order.
SEQUENCE_ARRAYS = ("movie_ids", "indptr", "indices", "data")


def saved_extras(*, ease: EASEScorer, stars_mf: BiasedMFScorer, counts: np.ndarray,
                 sequence: NextMoviesScorer | None = None, liked: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The arrays an artifact keeps beside the NCF (``save_artifact(extras=...)``): EASE, the
    stars' MF, the rating counts (all, and ``liked``: :func:`liked_counts`) and the successor
    model; :func:`loaded_parts` reads them back."""
    extras = {"ease_weights": ease.weights, "ease_movie_ids": ease.items.ids, "rating_counts": counts,
              **{f"stars_mf_{name}": array for name, array in stars_mf.item_side().items()}}
    if liked is not None:
        extras["liked_counts"] = liked
    if sequence is not None:
        extras.update({f"next_{name}": array for name, array in sequence.arrays().items()})
    return extras


@dataclass(frozen=True)
class LoadedParts:
    """What :meth:`Ranker.from_parts` needs besides the content index, read from one artifact."""

    ncf: NCFScorer
    ease: EASEScorer | None
    stars_mf: BiasedMFScorer | None
    rating_counts: np.ndarray
    sequence: NextMoviesScorer | None = None
    liked_counts: np.ndarray | None = None


def loaded_parts(artifact) -> LoadedParts:
    """The ranker's parts from a loaded :class:`recsys.ncf.artifacts.Artifact`. An older artifact
    may lack EASE (then None), the stars' MF (None: the NCF's stars alone), the rating counts
    (zeros: popularity ties everywhere), the liked counts (None: every rating counts for
    everybody) or the successor model (None)."""
    extras = artifact.extras
    ncf = NCFScorer.from_parts(artifact.config, artifact.users, artifact.items, artifact.weights)
    ease = None
    if "ease_weights" in extras and "ease_movie_ids" in extras:
        ease = EASEScorer.from_weights(np.asarray(extras["ease_movie_ids"]), extras["ease_weights"])
    stars_mf = None
    if all(f"stars_mf_{name}" in extras for name in STARS_MF_ARRAYS):
        stars_mf = BiasedMFScorer.from_item_side(*(extras[f"stars_mf_{name}"] for name in STARS_MF_ARRAYS))
    sequence = None
    if all(f"next_{name}" in extras for name in SEQUENCE_ARRAYS):
        sequence = NextMoviesScorer.from_arrays(*(np.asarray(extras[f"next_{name}"]) for name in SEQUENCE_ARRAYS))
    counts = extras.get("rating_counts")
    if counts is None or len(counts) != len(artifact.items):
        counts = np.zeros(len(artifact.items))
    liked = extras.get("liked_counts")
    if liked is not None and len(liked) != len(artifact.items):
        liked = None
    return LoadedParts(ncf=ncf, ease=ease, stars_mf=stars_mf, rating_counts=np.asarray(counts), sequence=sequence,
                       liked_counts=None if liked is None else np.asarray(liked))


@dataclass(frozen=True)
class Pick:
    """One recommended movie and why it was picked.

    Attributes:
        score: the ranking score (comparable only within one list).
        stars: the predicted stars (the NCF's averaged with the biased MF's), None for a movie
            the NCF does not know.
        driver: the part (:data:`PARTS`) with the largest weighted contribution.
        similar_to: for a content pick, the liked movie most like it by text.
        because_of: for a content or collaborative pick, the liked movie nearest to it in the
            NCF's item space.
    """

    movie_id: int
    score: float
    stars: float | None
    driver: str
    similar_to: int | None = None
    because_of: int | None = None


@dataclass(frozen=True)
class _Columns:
    """Where each movie of one vocabulary sits in another's scores (:meth:`Vocabulary.indices`, -1
    for a movie the other does not know), with the per-request lookups worked out once."""

    take: np.ndarray  # the column of each movie, 0 for an unknown one
    known: np.ndarray | None  # which movies the other vocabulary knows; None when it knows them all

    @classmethod
    def of(cls, columns: np.ndarray) -> _Columns:
        known = columns >= 0
        return cls(np.maximum(columns, 0), None if known.all() else known)

    def pick(self, values: np.ndarray, fill: float) -> np.ndarray:
        """``values`` at each movie's column, ``fill`` for the movies the other vocabulary does not know."""
        picked = values[self.take]
        return picked if self.known is None else np.where(self.known, picked, fill)


class Ranker:
    """NCF + EASE, content (gated by them) and popularity, mixed by :class:`WeightSchedule` (module docstring).

    Follows the :class:`recsys.protocol.Scorer` contract, so the evaluation harness measures this
    very object; :meth:`recommend` is what the site calls.

    Args:
        ncf: an :class:`NCFScorer` (fitted, or fitted by :meth:`fit`).
        ease: EASE (fitted, or fitted by :meth:`fit`), or None for the NCF alone.
        content: the catalog's :class:`ContentIndex`, or None when it has not been built.
        weights: the weight schedule.
        content_gate: how the collaborative part gates the content part (None: not at all).
        stars_mf: the biased MF whose stars are averaged with the NCF's (fitted, or fitted by
            :meth:`fit`), or None for the NCF's stars alone.
        stars_ncf_share: the NCF's share of that average.
        sequence: the successor model (fitted, or fitted by :meth:`fit`) whose scores join the
            collaborative part, or None (an older model).
        collaborative_mix: the (NCF, EASE, successors) weights inside the collaborative part
            (a :class:`CollaborativeMix`).
        ease_recency: EASE's (boost, span) weighting of recent ratings (None: all alike).
        recent_popularity: how much of new people's popularity is recent (None, as served: none).
        release_years: movie id -> release year; a film released after the year of a request's
            ``at`` is never recommended (None, or a movie missing: always available).

    Histories are read oldest first: the successor model and EASE's recency weighting both look
    at a person's latest ratings.
    """

    predicts_ratings = True
    reads_time = True  # the harness passes each person's time as ``at``

    def __init__(self, ncf: NCFScorer, *, ease: EASEScorer | None, content: ContentIndex | None,
                 weights: WeightSchedule = PRODUCT_WEIGHTS, content_gate: ContentGate | None = PRODUCT_CONTENT_GATE,
                 stars_mf: BiasedMFScorer | None = None, stars_ncf_share: float = STARS_NCF_SHARE,
                 sequence: NextMoviesScorer | None = None,
                 collaborative_mix: CollaborativeMix = COLLABORATIVE_MIX,
                 ease_recency: tuple[float, float] | None = EASE_RECENCY,
                 recent_popularity: RecentPopularity | None = None,
                 release_years: Mapping[int, int] | None = None):
        if not 0.0 <= stars_ncf_share <= 1.0:
            raise ValueError(f"stars_ncf_share must be in [0, 1], not {stars_ncf_share!r}")
        self.ncf, self.ease, self.content, self.weights = ncf, ease, content, weights
        self.content_gate = content_gate
        self.stars_mf, self.stars_ncf_share = stars_mf, float(stars_ncf_share)
        self.sequence, self.ease_recency, self.collaborative_mix = sequence, ease_recency, collaborative_mix
        self.recent_popularity, self.release_years = recent_popularity, release_years
        self.items: Vocabulary | None = None
        self._timeline: LikedTimeline | None = None

    def __repr__(self) -> str:
        parts = (["ncf"] + (["ease"] if self.ease is not None else []) + (["next"] if self.sequence is not None else [])
                 + (["content"] if self.content else []))
        stars = "ncf + mf" if self.stars_mf is not None else "ncf"
        return f"Ranker({' + '.join(parts)} + popularity, stars {stars}, {len(self.items or ())} movies)"

    # -- building ----------------------------------------------------------------------------
    def fit(self, train: pd.DataFrame) -> Ranker:
        """Train the NCF, EASE and the stars' MF on ``train`` and count popularity, as ``train_ncf`` does."""
        self.ncf.fit(train)
        if self.ease is not None:
            self.ease.fit(train)
        if self.stars_mf is not None:
            self.stars_mf.fit(train)
        if self.sequence is not None:
            self.sequence.fit(train)
        items = Vocabulary(train["movie_id"].to_numpy())
        timeline = recent = None
        if self.recent_popularity is not None:  # the timeline serves only the recent part
            timeline = LikedTimeline.of(train, items, LIKED_STARS)
            recent = timeline.decayed_counts(timeline.end, self.recent_popularity.days)
        self._attach(items, rating_counts(train, items), liked_counts(train, items), recent)
        self._timeline = timeline
        return self

    @classmethod
    def from_parts(cls, ncf: NCFScorer, *, ease: EASEScorer | None, content: ContentIndex | None,
                   rating_counts: np.ndarray, weights: WeightSchedule = PRODUCT_WEIGHTS,
                   content_gate: ContentGate | None = PRODUCT_CONTENT_GATE,
                   stars_mf: BiasedMFScorer | None = None, sequence: NextMoviesScorer | None = None,
                   liked_counts: np.ndarray | None = None) -> Ranker:
        """The ranker over a loaded model: a fitted NCF, the saved EASE (or None), the content
        index (or None), the training rating count of each NCF movie, the saved stars' MF (or
        None), the saved successor model (or None) and the liked count of each NCF movie (None:
        new people's popularity counts every rating, as regular people's does)."""
        counts = np.asarray(rating_counts, dtype=np.float64)
        liked = None if liked_counts is None else np.asarray(liked_counts, dtype=np.float64)
        for name, values in (("rating", counts), ("liked", liked)):
            if values is not None and values.shape != (len(ncf.items),):
                raise ValueError(f"{values.shape[0] if values.ndim else 0} {name} counts for {len(ncf.items)} movies")
        return cls(ncf, ease=ease, content=content, weights=weights, content_gate=content_gate,
                   stars_mf=stars_mf, sequence=sequence)._attach(ncf.items, counts, liked)

    def _attach(self, items: Vocabulary, counts: np.ndarray, liked: np.ndarray | None = None,
                recent: np.ndarray | None = None) -> Ranker:
        self.items = items
        collaborative_ids = ([self.ncf.items.ids] + ([self.ease.items.ids] if self.ease is not None else [])
                             + ([self.sequence.items.ids] if self.sequence is not None else []))
        collaborative = Vocabulary(np.concatenate(collaborative_ids))
        self._ncf_columns = _Columns.of(self.ncf.items.indices(collaborative.ids))
        self._ease_columns = _Columns.of(self.ease.items.indices(collaborative.ids)) if self.ease is not None else None
        self._sequence_columns = (_Columns.of(self.sequence.items.indices(collaborative.ids))
                                  if self.sequence is not None else None)
        self._collaborative_columns = _Columns.of(collaborative.indices(items.ids))
        self._ncf_rows = self.ncf.items.indices(items.ids)
        self._content_rows = self.content.items.indices(items.ids) if self.content is not None else None
        self._mf_rows = self.stars_mf.items.indices(items.ids) if self.stars_mf is not None else None
        # The same for everybody: once here, not per request.
        self._popularity = self._log_zscore(counts)
        self._liked_popularity = None if liked is None else self._log_zscore(liked)
        # New people's popularity at the end of the data (what the site asks at), once.
        self._new_popularity = self._new_popularity_from(None if recent is None else self._log_zscore(recent))
        self._years = None if self.release_years is None else release_year_array(items, self.release_years)
        return self

    def _new_popularity_from(self, recent_z: np.ndarray | None) -> np.ndarray | None:
        if self._liked_popularity is None:
            return None
        if recent_z is None or self.recent_popularity is None:
            return self._liked_popularity
        share = np.float32(self.recent_popularity.share)
        return ((np.float32(1) - share) * self._liked_popularity + share * recent_z).astype(np.float32)

    def _new_popularity_at(self, at: float | None) -> np.ndarray | None:
        """New people's popularity at time ``at`` (None, or a ranker without a timeline: the end of the data)."""
        if at is None or self._timeline is None or self.recent_popularity is None or self._liked_popularity is None:
            return self._new_popularity
        if at >= self._timeline.end:
            return self._new_popularity
        counts = self._timeline.decayed_counts(float(at), self.recent_popularity.days)
        return self._new_popularity_from(self._log_zscore(counts) if counts.any() else None)

    def unavailable(self, at: float | None) -> np.ndarray | None:
        """Rows of ``items`` released after the year of ``at`` (None when nothing is known or ``at`` is None)."""
        return None if self._years is None else released_after(self._years, at)

    @staticmethod
    def _log_zscore(counts: np.ndarray) -> np.ndarray:
        return zscore(np.log1p(np.asarray(counts, np.float64)).astype(np.float32)).astype(np.float32)

    def _popularity_for(self, regular_share: float, at: float | None = None) -> np.ndarray:
        """The popularity part of a person ``regular_share`` of the way from new to regular:
        liked counts (part recent, at ``at``) for new people, all counts for regular ones, linear between."""
        if self._liked_popularity is None or regular_share >= 1.0:
            return self._popularity
        new = self._new_popularity_at(at)
        if regular_share <= 0.0:
            return new
        t = np.float32(regular_share)
        return ((np.float32(1) - t) * new + t * self._popularity).astype(np.float32)

    # -- scoring -----------------------------------------------------------------------------
    def _user(self, user_id: int | None, history: Mapping[int, float]) -> UserVector:
        return self.ncf.user_vector(user_id=user_id, history=history)

    def _parts(self, vector: UserVector, history: Mapping[int, float], at: float | None = None) -> np.ndarray:
        """The three parts, float32 (3, len(items)), in :data:`PARTS` order: each z-scored, the
        content part then gated by the collaborative one (:class:`ContentGate`)."""
        regular_share = self.weights.regular_share(len(history))
        ncf_weight, ease_weight, next_weight = self.collaborative_mix.at(regular_share)
        ncf_z = zscore(self.ncf.net.rank_scores(vector))
        collaborative = ncf_weight * self._ncf_columns.pick(ncf_z, 0.0)
        if self.ease is not None and ease_weight:
            if self.ease_recency is not None and history:
                boost, span = self.ease_recency
                ease = self.ease.weighted_score(history, recency_weights(len(history), boost=boost, span=span))
            else:
                ease = self.ease.score(user_id=None, history=history)
            ease_z = zscore(ease)
            collaborative += ease_weight * self._ease_columns.pick(ease_z, 0.0)
        if self.sequence is not None and next_weight:
            next_z = zscore(self.sequence.score(user_id=None, history=history))
            collaborative += next_weight * self._sequence_columns.pick(next_z, 0.0)
        collaborative = collaborative.astype(np.float32).astype(np.float64)
        collaborative = self._collaborative_columns.pick(collaborative, np.nan)
        # A movie the collaborative part does not know ranks below every known one.
        if np.isnan(collaborative).any():
            floor = np.nanmin(collaborative) - 1 if np.isfinite(collaborative).any() else 0.0
            collaborative = np.where(np.isnan(collaborative), floor, collaborative)
        if self.content is not None:
            profile = self.content.profile_scores(history)
            rows = self._content_rows
            content = np.where(rows >= 0, profile[np.maximum(rows, 0)], 0.0).astype(np.float32)
        else:
            content = np.zeros(len(self.items), np.float32)
        content = zscore(content).astype(np.float32)
        collaborative = zscore(collaborative).astype(np.float32)
        if self.content_gate is not None and self.content is not None:
            content = self.content_gate.apply(content, collaborative, regular_share).astype(np.float32)
        return np.stack([content, collaborative, self._popularity_for(regular_share, at)])

    def _weights(self, history: Mapping[int, float]) -> np.ndarray:
        return self.weights.for_count(len(history)).astype(np.float32)[:, None]

    def parts(self, *, user_id: int | None, history: Mapping[int, float], at: float | None = None) -> np.ndarray:
        """The three z-scored parts of one person at time ``at`` (for tuning the weights; the
        films :meth:`unavailable` then are not masked here)."""
        return self._parts(self._user(user_id, history), history, at)

    def score(self, *, user_id: int | None, history: Mapping[int, float], at: float | None = None) -> np.ndarray:
        """The ranking score of every movie in ``items`` at time ``at`` (rated movies not masked;
        films not yet released then score -inf)."""
        parts = self._parts(self._user(user_id, history), history, at)
        scores = (self._weights(history) * parts).sum(axis=0)
        later = self.unavailable(at)
        if later is not None:
            scores[later] = -np.inf
        return scores

    def predict_ratings(self, *, user_id: int | None, history: Mapping[int, float],
                        movie_ids: Sequence[int]) -> np.ndarray:
        """The stars for ``movie_ids`` (NaN for a movie the NCF does not know): the NCF's, averaged
        with the MF's (which folds the person in from ``history`` whoever they are)."""
        history = {int(movie): float(stars) for movie, stars in history.items()}
        stars = self.ncf.predict_ratings(user_id=user_id, history=history, movie_ids=movie_ids)
        if self.stars_mf is None:
            return stars
        mf = self.stars_mf.predict_ratings(user_id=None, history=history, movie_ids=movie_ids)
        return self._average_stars(stars, mf)

    def _average_stars(self, ncf: np.ndarray, mf: np.ndarray) -> np.ndarray:
        return blend_stars(ncf, mf, self.stars_ncf_share)

    # -- the request ---------------------------------------------------------------------------
    def recommend(self, *, history: Mapping[int, float], user_id: int | None = None, exclude: Collection[int] = (),
                  candidates: Collection[int] | None = None, n: int = 10, shuffle: bool = False,
                  pool_size: int = 30, seed: int | None = None, at: float | None = None) -> list[Pick]:
        """The ``n`` best movies for one person, rated and excluded ones never among them.

        Args:
            history: movie id -> stars the person gave (folded in, unless ``user_id`` is a
                training user, whose learned vectors are used).
            exclude: more movie ids never to return (the site passes hidden ones).
            candidates: rank only these movies (None: the whole catalog).
            shuffle: False for the strict top ``n``; True for ``n`` drawn in random order from
                the top ``max(pool_size, n)`` (the site's way of showing new films each visit).
            seed: seeds the shuffle.
            at: the time of the request (None: the end of the training data, as on the site).
        """
        history = {int(movie): float(stars) for movie, stars in history.items()}
        vector = self._user(user_id, history)
        parts = self._parts(vector, history, at)
        weights = self._weights(history)
        full = (weights * parts).sum(axis=0).astype(np.float64)
        banned = self.items.indices(np.fromiter((int(m) for m in (*history, *exclude)), dtype=np.int64))
        banned = banned[banned >= 0]
        later = self.unavailable(at)
        if candidates is None:
            # Every row is a candidate, so a row's position is the row: index, no set lookups.
            rows, scores = np.arange(len(self.items)), full
            scores[banned] = -np.inf
            if later is not None:
                scores[later] = -np.inf
        else:
            rows = self.items.indices(np.fromiter((int(c) for c in candidates), dtype=np.int64))
            rows = np.unique(rows[rows >= 0])
            scores = full[rows]
            scores[np.isin(rows, banned)] = -np.inf
            if later is not None:
                scores[np.isin(rows, later)] = -np.inf
        picked = top_k(scores, max(pool_size, n) if shuffle else n)
        if shuffle:
            picked = np.random.default_rng(seed).permutation(picked)
        picked = picked[:n]
        picked_rows = rows[picked]
        drivers = np.argmax(weights * parts[:, picked_rows], axis=0)
        stars = self._stars(vector, history, picked_rows)
        similar_to, because_of = self._anchors(history, picked_rows, drivers)
        return [Pick(movie_id=int(self.items.ids[row]), score=float(scores[p]), stars=star, driver=PARTS[driver],
                     similar_to=similar, because_of=because)
                for row, p, star, driver, similar, because
                in zip(picked_rows, picked, stars, drivers, similar_to, because_of)]

    def _stars(self, vector: UserVector, history: Mapping[int, float], rows: np.ndarray) -> list[float | None]:
        net = self.ncf.net
        ncf_rows = self._ncf_rows[rows]
        known = ncf_rows >= 0
        stars: list[float | None] = [None] * len(rows)
        if known.any():
            values = net.stars_from_logit(net.logits(vector, ncf_rows[known])[:, 1])
            if self.stars_mf is not None:
                mf_rows = self._mf_rows[rows[known]]
                mf = np.full(mf_rows.size, np.nan, np.float32)
                if (mf_rows >= 0).any():
                    mf_vector, mf_bias = self.stars_mf.fold_in(history)
                    mf[mf_rows >= 0] = self.stars_mf.stars_at(mf_vector, mf_bias, mf_rows[mf_rows >= 0])
                values = self._average_stars(values, mf)
            for position, value in zip(np.flatnonzero(known), values):
                stars[position] = float(value)
        return stars

    def liked(self, history: Mapping[int, float]) -> list[int]:
        """The movies of ``history`` the person liked (>= :data:`LIKED_STARS`) that the model knows,
        in history order: the movies a reason may name."""
        return [int(movie) for movie, stars in history.items()
                if stars >= LIKED_STARS and self.ncf.items.index(movie) >= 0]

    def _anchors(self, history: Mapping[int, float], rows: np.ndarray, drivers: np.ndarray
                 ) -> tuple[list[int | None], list[int | None]]:
        """For each pick, the liked movie a reason can name: most like it by text (content
        picks) and nearest in the NCF's item space (content and collaborative picks)."""
        similar_to: list[int | None] = [None] * len(rows)
        because_of: list[int | None] = [None] * len(rows)
        liked = self.liked(history)
        personal = np.flatnonzero(drivers != PARTS.index(POPULARITY))
        if not liked or personal.size == 0:
            return similar_to, because_of
        net, liked_rows = self.ncf.net, self.ncf.items.indices(liked)

        def unit(ncf_rows):
            vectors = np.concatenate([net.item_gmf[ncf_rows], net.item_mlp[ncf_rows]], axis=1)
            return vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)

        picked_ncf_rows = self._ncf_rows[rows[personal]]
        nearest = np.argmax(unit(np.maximum(picked_ncf_rows, 0)) @ unit(liked_rows).T, axis=1)
        for position, ncf_row, near in zip(personal, picked_ncf_rows, nearest):
            if ncf_row >= 0:
                because_of[position] = liked[near]
            if drivers[position] == PARTS.index(CONTENT) and self.content is not None:
                best = self.content.most_similar_in(int(self.items.ids[rows[position]]), liked)
                similar_to[position] = best[0] if best is not None else None
        return similar_to, because_of
