"""Django glue for the content engine (:mod:`recsys.content.index`): the catalog in, similar movies out.

* :func:`catalog_from_db` reads titles, years, genres, tags and overviews from the database.
* :func:`content_build` embeds what changed and rebuilds TF-IDF, under ``CACHE_DIR/content``
  (``manage.py build_content``). This is the only place that may load the sentence model.
* :func:`content_index` loads that index once per process (a fraction of a second) and
  reloads it when a rebuild replaces the files; it never embeds, so requests never wait.
* :func:`similar_movies` is what the movie page calls: a few milliseconds, ``[]`` until
  ``build_content`` has run.
* :func:`content_build_in_background` is what a web server's start calls: when the index is
  missing or out of date it runs ``manage.py build_content`` in a child process (one process
  at a time, under a file lock), so every way of starting the site ends up serving the ranker
  with its content part, and no web worker ever holds the sentence model in memory.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from django.conf import settings

from recsys.content.index import ContentIndex
from recsys.content.texts import (
    EMBEDDINGS_FILE,
    ContentConfig,
    EmbeddingCache,
    Encoder,
    Progress,
    catalog_frame,
    fingerprint,
    load_minilm_encoder,
)

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict = {"key": None, "index": None}


def content_dir() -> Path:
    return Path(settings.CACHE_DIR) / "content"


def content_config() -> ContentConfig:
    return ContentConfig(max_tags=getattr(settings, "CONTENT_MAX_TAGS", 10))


def catalog_from_db() -> pd.DataFrame:
    """Every movie as :func:`recsys.content.texts.catalog_frame` output (3 queries whatever the size)."""
    from movies.models import Movie, Tag

    movies = pd.DataFrame(list(Movie.objects.order_by("id").values_list("id", "title", "year", "overview")),
                          columns=["movie_id", "title", "year", "overview"])
    through = Movie.genres.through
    genres: dict[int, list[str]] = {}
    for movie_id, name in through.objects.order_by("movie_id", "genre__name").values_list(
            "movie_id", "genre__name"):
        genres.setdefault(movie_id, []).append(name)
    movies["genres"] = [genres.get(int(m), []) for m in movies["movie_id"]]
    tags = pd.DataFrame(list(Tag.objects.values_list("movie_id", "tag")), columns=["movie_id", "tag"])
    return catalog_frame(movies, tags, max_tags=content_config().max_tags)


def content_build(*, encoder: Encoder | None = None, progress: Progress | None = None) -> ContentIndex:
    """Refresh the on-disk index from the database: embed new or changed movie texts (the
    sentence model is loaded only if there are any), rebuild TF-IDF, save, and make this
    process use the new index.

    Args:
        encoder: ``encode(list[str]) -> array``; defaults to all-MiniLM-L6-v2 (tests pass a fake).
        progress: ``progress(done, total)`` after each embedded batch.
    """
    catalog = catalog_from_db()
    factory: Callable[[], Encoder] = (lambda: encoder) if encoder is not None else load_minilm_encoder
    index = ContentIndex.build(catalog, encoder=factory, lazy_encoder=True, cache_dir=content_dir(),
                               config=content_config(), progress=progress)
    with _lock:
        _loaded["key"], _loaded["index"] = _cache_key(), index
    return index


def _cache_key():
    try:
        stat = (content_dir() / EMBEDDINGS_FILE).stat()
    except OSError:
        return None
    return (str(content_dir()), stat.st_mtime_ns, stat.st_size)


def content_index() -> ContentIndex | None:
    """The saved index (loaded once per process, reloaded when the files change); ``None``
    when ``build_content`` has not run."""
    key = _cache_key()
    if key is None:
        return None
    with _lock:
        if _loaded["key"] != key:
            try:
                _loaded["index"] = ContentIndex.load(content_dir(), content_config())
            except Exception:  # a corrupt cache must not take the movie page down
                logger.exception("could not load the content index from %s", content_dir())
                _loaded["index"] = None
            _loaded["key"] = key
        return _loaded["index"]


def content_reset() -> None:
    """Forget the loaded index (tests; after deleting the cache)."""
    with _lock:
        _loaded["key"], _loaded["index"] = None, None


def similar_movies(movie_id: int, n: int = 10) -> list[int]:
    """Ids of the ``n`` movies most like ``movie_id`` by content, best first; ``[]`` when the
    movie or the index is unknown."""
    index = content_index()
    if index is None:
        return []
    try:
        movie_id = int(movie_id)
    except (TypeError, ValueError):
        return []
    return [m for m, _score in index.similar(movie_id, n=max(0, int(n)))]


def content_pending(catalog: pd.DataFrame | None = None) -> tuple[int, int]:
    """(movies in the catalog, movies whose text is not embedded yet)."""
    catalog = catalog_from_db() if catalog is None else catalog
    ids, prints, _ = EmbeddingCache(content_dir()).load()
    cached = set(zip(ids.tolist(), prints))
    todo = sum((int(m), fingerprint(t)) not in cached for m, t in zip(catalog["movie_id"], catalog["text"]))
    return len(catalog), todo


def content_status() -> str:
    """``ready`` when an index is loaded, ``building`` while this process builds one, else ``missing``."""
    if content_index() is not None:
        return "ready"
    return "building" if _building.is_set() else "missing"


_building = threading.Event()


#: Set by the server in the environment of the ``build_content`` child it starts: the server's pid.
PARENT_PID_ENV = "CONTENT_BUILD_PARENT_PID"


def exit_with_parent() -> None:
    """In a ``build_content`` the server started: end when the server ends, however it ends.

    Ctrl-C reaches the server and the child alike, but a SIGTERM or a kill of the server alone
    would leave the child embedding for a server that is gone. On Linux the kernel sends the
    child SIGTERM when its parent dies (``PR_SET_PDEATHSIG``); elsewhere this does nothing.
    """
    expected = os.environ.get(PARENT_PID_ENV)
    if not expected or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != expected:  # the server went before the kernel was asked
        raise SystemExit(0)


def content_build_in_background() -> threading.Thread:
    """Build or refresh the index in a child process when it is missing or out of date."""
    thread = threading.Thread(target=_build_if_needed, name="content-build", daemon=True)
    thread.start()
    return thread


def _build_if_needed() -> None:
    from filelock import FileLock, Timeout

    try:
        total, todo = content_pending()
        if total == 0 or (todo == 0 and content_index() is not None):
            return
        content_dir().mkdir(parents=True, exist_ok=True)
        log_path = Path(settings.DATA_DIR) / "build_content.log"
        try:
            # One builder for all the workers of a machine; the others pick the files up.
            with FileLock(str(content_dir().parent / "content.build.lock"), timeout=0):
                _building.set()
                logger.info("content index: %d of %d movies to embed; building (log: %s)", todo, total, log_path)
                with open(log_path, "w", encoding="utf-8") as log:
                    done = subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "build_content"],
                                          stdout=log, stderr=subprocess.STDOUT, check=False,
                                          env={**os.environ, PARENT_PID_ENV: str(os.getpid())})
                if done.returncode == 0:
                    logger.info("content index built")
                else:
                    logger.error("build_content failed (exit %s); see %s", done.returncode, log_path)
        except Timeout:
            logger.info("content index: another process is building it")
    except Exception:  # the site serves without its content part rather than not at all
        logger.exception("content index: could not build it")
    finally:
        _building.clear()
