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

Both ``recommend`` and ``predict`` also accept an optional ``user_id`` (a MovieLens user of
the training data): that user's learned vectors are used instead of a fold-in of ``ratings``.

How the model gets here (see docs/engine.md): ``ensure_started()`` -- called by the web
server's start (movies.apps) and lazily by every function here -- starts one background
thread that loads the saved model in ``settings.MODEL_DIR`` when it matches the data
(fingerprint of the ratings file), the settings and the code version, and otherwise, when
``settings.RECOMMENDER_TRAIN_ON_STARTUP`` is on, trains one under a file lock (other
processes wait, then load it). Every few seconds a call checks whether ``CURRENT`` was
replaced on disk (``manage.py train_ncf``, another worker) and reloads. Serving is NumPy
only: a web process with a saved model never imports TensorFlow.
"""
from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from django.conf import settings

from movies.engine.reasons import REASON_POPULAR, reason_lines

STATUS_READY = "ready"
STATUS_TRAINING = "training"
KIND_POPULARITY = "popularity"
SOURCE_STARTUP = "startup"
SOURCE_COMMAND = "train_ncf"

log = logging.getLogger(__name__)


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
    reason: str = ""  # one human line: "because you rated Heat 5 stars" (movies.engine.reasons)


# -- the engine: one per process ------------------------------------------------------------
def engine_config():
    """The NCFConfig the site trains with, from settings."""
    from recsys.ncf.config import NCFConfig

    return NCFConfig(
        epochs=settings.RECOMMENDER_EPOCHS,
        seed=settings.RECOMMENDER_SEED,
        mode=getattr(settings, "RECOMMENDER_MODE", "implicit"),
        foldin=getattr(settings, "RECOMMENDER_FOLDIN", "fit"),
    )


class _Engine:
    def __init__(self):
        self.lock = threading.Lock()
        self.started = False
        self.thread: threading.Thread | None = None
        self.scorer = None  # recsys.ncf.scorer.NCFScorer once ready
        self.ease = None  # recsys.baselines.EASEScorer from the same artifact (None for an older one)
        self.rating_counts = None  # training ratings per movie of the NCF vocabulary
        self.liked_counts = None  # the same, of >= 4 stars (None: an older model)
        self.stars_mf = None  # recsys.baselines.BiasedMFScorer for the stars (None for an older artifact)
        self.sequence = None  # recsys.sequence.NextMoviesScorer (None for an older artifact)
        self.ranker = None  # recsys.ranking.ranker.Ranker (see ranker()); rebuilt when the content index changes
        self.artifact = None  # recsys.ncf.artifacts.Artifact
        self.stamp = None  # recsys.ncf.artifacts.current_stamp at load time
        self.last_check = 0.0
        self.fingerprint: str | None = None
        self.error: str | None = None

    # The settings are read when the engine starts, never at import time.
    @property
    def store(self) -> Path:
        return Path(settings.MODEL_DIR)

    def start(self) -> None:
        with self.lock:
            if self.started:
                return
            self.started = True
            self.thread = threading.Thread(target=self._bootstrap, name="recommender-bootstrap", daemon=True)
            self.thread.start()
        if settings.RECOMMENDER_BUILD_CONTENT_ON_STARTUP:
            # The ranker's content part, built beside the serving site when missing or stale.
            from movies.engine.content import content_build_in_background

            content_build_in_background()

    def _acceptable(self, metadata: dict, config) -> bool:
        from recsys.ncf import artifacts

        if self.fingerprint is None:  # no dataset to compare with: any model of this code will do
            return metadata.get("code_version") == artifacts.CODE_VERSION
        # A model someone trained on purpose with train_ncf is used whatever its settings;
        # one the site trained itself must match the site's settings.
        wanted = None if metadata.get("source") == SOURCE_COMMAND else config.training_hash()
        return artifacts.matches(metadata, data_fingerprint=self.fingerprint, settings_hash=wanted)

    def _try_load(self, config) -> bool:
        from recsys.ncf import artifacts

        stamp = artifacts.current_stamp(self.store)
        try:
            artifact = artifacts.load_current(self.store)
        except artifacts.ArtifactError as exc:
            log.warning("saved model unusable, ignoring it: %s", exc)
            return False
        if artifact is None or not self._acceptable(artifact.metadata, config):
            return False
        return self._install(artifact, stamp)

    def _install(self, artifact, stamp) -> bool:
        from recsys.ranking.ranker import loaded_parts

        try:
            parts = loaded_parts(artifact)
        except ValueError as exc:  # checksummed arrays of the wrong shape: a bug wrote them
            log.warning("saved model unusable, ignoring it: %s", exc)
            return False
        with self.lock:
            self.scorer, self.artifact, self.stamp = parts.ncf, artifact, stamp
            self.ease, self.rating_counts, self.stars_mf = parts.ease, parts.rating_counts, parts.stars_mf
            self.sequence, self.liked_counts = parts.sequence, parts.liked_counts
            self.ranker = None
            self.last_check = time.monotonic()
        log.info("recommender ready: %s (%s)", artifact.path.name, artifact.config.mode)
        return True

    def _bootstrap(self) -> None:
        from recsys.data import datasets
        from recsys.ncf import artifacts

        try:
            config = engine_config()
            try:
                ratings_file = datasets.locate(settings.MOVIELENS_DIR).ratings
                self.fingerprint = artifacts.data_fingerprint([ratings_file])
            except datasets.DatasetError:
                ratings_file = None
            if self._try_load(config):
                return
            if not settings.RECOMMENDER_TRAIN_ON_STARTUP or ratings_file is None:
                return
            with artifacts.training_lock(self.store):
                if self._try_load(config):  # another process trained it while we waited
                    return
                train_and_save(settings.MOVIELENS_DIR, config, self.store, source=SOURCE_STARTUP,
                               fingerprint=self.fingerprint)
                self._try_load(config)
        except Exception as exc:  # never take the site down: keep answering from popularity
            self.error = repr(exc)
            log.exception("recommender bootstrap failed; serving popularity")

    def maybe_reload(self) -> None:
        """Reload when CURRENT changed on disk; a stat call at most every RELOAD_SECONDS."""
        from recsys.ncf import artifacts

        now = time.monotonic()
        with self.lock:
            if not self.started or now - self.last_check < settings.RECOMMENDER_RELOAD_SECONDS:
                return
            if self.thread is not None and self.thread.is_alive():
                return
            self.last_check = now
            stamp = artifacts.current_stamp(self.store)
            if stamp is None or stamp == self.stamp:
                return
            self.stamp = stamp  # try each new CURRENT once
            self.thread = threading.Thread(target=self._try_load, args=(engine_config(),),
                                           name="recommender-reload", daemon=True)
            self.thread.start()


_engine = _Engine()


def _reset_after_fork() -> None:
    # A worker forked from a master that started the engine inherits no running thread.
    global _engine
    _engine = _Engine()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def ensure_started() -> None:
    """Start loading (or training) the model in the background, once per process."""
    _engine.start()
    _engine.maybe_reload()


def wait_until_ready(timeout: float | None = None) -> bool:
    """Block until the bootstrap thread finished (for commands, tests, benchmarks)."""
    ensure_started()
    thread = _engine.thread
    if thread is not None:
        thread.join(timeout)
    return _engine.scorer is not None


def reset_engine() -> None:
    """Forget the loaded model (tests use it with changed settings)."""
    _reset_after_fork()


def train_and_save(data_dir, config, store, *, source: str, fingerprint: str | None = None, progress=None,
                   on_step=None, strategy: str = "default", visitors=None):
    """Train on the ratings in ``data_dir`` and save the artifact into ``store``. Returns its path.

    The artifact holds the NCF and the product's other learned parts, EASE over the most-rated
    movies, the biased MF whose stars are averaged with the NCF's and the successor model
    (:mod:`recsys.ranking.ranker`), with the rating count of every movie for the popularity part.
    ``on_step(text)`` hears about the steps after the epochs. ``visitors``
    (:class:`movies.engine.visitor_ratings.VisitorRatings`) adds the site's own ratings; the metadata's
    ``visitor_ratings`` records how many (0 without them) and up to which.
    """
    from recsys.data import datasets
    from recsys.ncf import artifacts
    from recsys.ncf.training import train
    from recsys.ranking.ranker import SideFits, liked_counts, rating_counts, saved_extras

    ratings_file = datasets.locate(data_dir).ratings
    fingerprint = fingerprint or artifacts.data_fingerprint([ratings_file])
    frame = datasets.load_ratings(data_dir)
    if visitors is not None:
        frame = visitors.joined_to(frame)
    # The MF and EASE are fitted beside the NCF on a spare core (before it on a single one).
    side = SideFits(frame, config.seed, on_step=on_step)
    result = train(frame, config, progress=progress, strategy=strategy)
    ease, stars_mf, sequence = side.result()
    return artifacts.save_artifact(
        store, config=config, users=result.users, items=result.items, weights=result.weights,
        extras=saved_extras(ease=ease, stars_mf=stars_mf, counts=rating_counts(frame, result.items), sequence=sequence,
                            liked=liked_counts(frame, result.items)),
        metadata={
            "data_fingerprint": fingerprint, "data_dir": str(data_dir), "source": source,
            "n_ratings": len(frame), "best_epoch": result.best_epoch, "train_seconds": round(result.seconds, 2),
            "batch_size": result.batch_size,
            "history": [vars(r) for r in result.history],
            "visitor_ratings": visitors.summary if visitors is not None else {"count": 0},
        },
    )


def _ready_scorer():
    ensure_started()
    return _engine.scorer


def model_info() -> ModelInfo:
    scorer = _ready_scorer()
    if scorer is None:
        return ModelInfo(status=STATUS_TRAINING, trained_at=None, kind=KIND_POPULARITY)
    kind = f"ncf-{scorer.config.mode}"
    if _engine.ease is not None:
        kind += "+ease"
    if _engine.sequence is not None:
        kind += "+next"
    if _engine.stars_mf is not None:
        kind += "+mf"
    return ModelInfo(status=STATUS_READY, trained_at=_engine.artifact.trained_at, kind=kind)


def ranker():
    """The ranker the site serves (:class:`recsys.ranking.ranker.Ranker`) over the loaded model, with the
    content index when ``build_content`` has made one; None until the model is ready."""
    from movies.engine.content import content_index
    from recsys.ranking.ranker import Ranker

    engine = _engine
    if _ready_scorer() is None:
        return None
    content = content_index()
    with engine.lock:  # the parts of one model, read together (a reload swaps them together)
        scorer, ease, counts, current = engine.scorer, engine.ease, engine.rating_counts, engine.ranker
        stars_mf, sequence, liked = engine.stars_mf, engine.sequence, engine.liked_counts
        if current is not None and current.content is content and current.ncf is scorer:
            return current
    built = Ranker.from_parts(scorer, ease=ease, content=content, rating_counts=counts, stars_mf=stars_mf,
                              sequence=sequence, liked_counts=liked)
    with engine.lock:
        if engine.scorer is scorer:
            engine.ranker = built
    return built


# -- popularity fallback ----------------------------------------------------------------------
def recommend_popular(*, ratings: Mapping[int, float], exclude: Collection[int] = (),
                      candidates: Collection[int] | None = None, n: int | None = None, diversify: bool = True,
                      seed: int | None = None) -> list[Recommendation]:
    """Popular movies (damped mean stars, from the catalog): the answer until a model is ready,
    and the site's answer when the ranker fails."""
    from movies.models import Movie

    n = settings.RECOMMENDATIONS_DEFAULT_N if n is None else n
    pool_size = max(settings.RECOMMENDER_POOL_SIZE, n) if diversify else n
    # Damped mean (Bayesian average towards 3.5 with 10 pseudo-ratings) keeps one
    # 5-star rating from outranking a film hundreds of people loved.
    queryset = Movie.objects.filter(rating_count__gt=0)
    if candidates is not None:
        queryset = queryset.filter(pk__in=list(candidates))
    rows = queryset.exclude(pk__in=[*exclude, *ratings]).order_by("-rating_count", "id").values_list(
        "id", "rating_count", "rating_mean"
    )[: max(pool_size * 5, 100)]
    scored = [(mid, (count * (mean or 0) + 10 * 3.5) / (count + 10), count) for mid, count, mean in rows]
    scored.sort(key=lambda item: (-item[1] * min(1.0, item[2] / 50), item[0]))
    pool = scored[:pool_size]
    if diversify:
        random.Random(seed).shuffle(pool)
    return [
        Recommendation(movie_id=mid, score=score, predicted_rating=round(score, 2), reason=REASON_POPULAR)
        for mid, score, _count in pool[:n]
    ]


# -- the model path ---------------------------------------------------------------------------
def round_stars(stars: float) -> float:
    """Stars shown to people: one decimal, inside [0.5, 5.0]."""
    return float(min(5.0, max(0.5, round(float(stars), 1))))


def recommend(
    *,
    ratings: Mapping[int, float],
    exclude: Collection[int] = (),
    candidates: Collection[int] | None = None,
    n: int | None = None,
    diversify: bool = True,
    seed: int | None = None,
    user_id: int | None = None,
) -> list[Recommendation]:
    n = settings.RECOMMENDATIONS_DEFAULT_N if n is None else n
    rank = ranker()
    if rank is None:
        return recommend_popular(ratings=ratings, exclude=exclude, candidates=candidates, n=n, diversify=diversify,
                                 seed=seed)
    history = {int(mid): float(stars) for mid, stars in ratings.items()}
    picks = rank.recommend(history=history, user_id=user_id, exclude=exclude, candidates=candidates, n=n,
                           shuffle=diversify, pool_size=settings.RECOMMENDER_POOL_SIZE, seed=seed)
    reasons = reason_lines(picks, history=history, liked=rank.liked(history))
    return [
        Recommendation(movie_id=pick.movie_id, score=pick.score,
                       predicted_rating=None if pick.stars is None else round_stars(pick.stars), reason=reason)
        for pick, reason in zip(picks, reasons)
    ]


def predict(*, ratings: Mapping[int, float], movie_ids: Sequence[int], user_id: int | None = None
            ) -> list[float | None]:
    rank = ranker()
    if rank is None:
        from movies.models import Movie

        means = dict(Movie.objects.filter(pk__in=list(movie_ids)).values_list("id", "rating_mean"))
        return [means.get(mid) for mid in movie_ids]
    history = {int(mid): float(stars) for mid, stars in ratings.items()}
    stars = rank.predict_ratings(user_id=user_id, history=history, movie_ids=list(movie_ids))
    return [None if np.isnan(s) else round_stars(s) for s in stars]
