"""A small, careful client for The Movie Database (TMDB) API v3, and poster URLs for templates.

* Authentication: a v4 read access token (``TMDB_READ_ACCESS_TOKEN``, sent as a Bearer header) or a
  v3 key (``TMDB_API_KEY``, sent as the ``api_key`` parameter). The token wins when both are set,
  because a header keeps the secret out of URLs and logs.
* One shared ``requests.Session`` per client (connection reuse), connect and read timeouts.
* Retries with exponential backoff on 429, 5xx, timeouts and dropped connections; a ``Retry-After``
  header is honoured, capped at ``max_retry_wait``.
* A client-side token bucket keeps us under ``TMDB_REQUESTS_PER_SECOND``.
* Clear exceptions: ``TmdbAuthError`` (401), ``TmdbNotFound`` (404), ``TmdbUnavailable`` (gave up
  after retries), ``TmdbError`` (anything else, e.g. malformed JSON).
* The image configuration (base URL, poster sizes) from ``/configuration`` is cached in memory and
  in ``CACHE_DIR/tmdb_configuration.json`` with a TTL.

Page rendering never calls TMDB: ``poster_url()`` only reads the movie's stored ``poster_path`` and
the cached image configuration (or the ``TMDB_IMAGE_BASE_URL`` default). Details are fetched in
batch by ``manage.py fetch_tmdb`` (see movies/tmdb_services.py and docs/tmdb.md).
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path

import requests
from django.conf import settings

log = logging.getLogger(__name__)

CONFIGURATION_FILE = "tmdb_configuration.json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "movie-recommender/1.0 (+https://www.themoviedb.org/documentation/api)"

ERROR_NO_CREDENTIALS = (
    "TMDB is not configured: set TMDB_API_KEY (a v3 API key) or TMDB_READ_ACCESS_TOKEN (a v4 read "
    "access token) in the environment. Get one at https://www.themoviedb.org/settings/api, e.g. "
    "`TMDB_API_KEY=0123abcd... python manage.py fetch_tmdb`."
)
ERROR_AUTH = "TMDB rejected the credentials (HTTP 401): check TMDB_API_KEY / TMDB_READ_ACCESS_TOKEN."


class TmdbError(Exception):
    """Something went wrong talking to TMDB (base class; also malformed responses)."""


class TmdbNotConfigured(TmdbError):
    """Neither an API key nor a read access token is set."""


class TmdbAuthError(TmdbError):
    """TMDB answered 401: the key or token is wrong or revoked. Retrying will not help."""


class TmdbNotFound(TmdbError):
    """TMDB answered 404: no such movie."""


class TmdbUnavailable(TmdbError):
    """TMDB kept failing (429, 5xx, timeouts, connection errors) after every retry."""


@dataclass(frozen=True)
class MovieDetails:
    tmdb_id: int
    poster_path: str
    overview: str
    release_date: date | None
    runtime: int | None
    original_language: str


@dataclass(frozen=True)
class ImageConfiguration:
    base_url: str  # ends with "/", e.g. "https://image.tmdb.org/t/p/"
    poster_sizes: tuple[str, ...]  # e.g. ("w92", "w154", ..., "original")

    def poster_url(self, path: str, size: str = "w342") -> str:
        if not path:
            return ""
        return f"{self.base_url}{self.best_size(size)}/{path.lstrip('/')}"

    def best_size(self, size: str) -> str:
        """``size`` when TMDB offers it, else the smallest offered width at least as large."""
        if not self.poster_sizes or size in self.poster_sizes:
            return size
        wanted = _width(size)
        widths = sorted((_width(s), s) for s in self.poster_sizes if _width(s) is not None)
        if wanted is not None:
            for width, name in widths:
                if width >= wanted:
                    return name
        return "original" if "original" in self.poster_sizes else (widths[-1][1] if widths else size)


def _width(size: str) -> int | None:
    match = re.fullmatch(r"w(\d+)", size)
    return int(match.group(1)) if match else None


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens a second, bursts up to ``capacity``.

    ``rate <= 0`` means no limit. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(self, rate: float, capacity: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, self.rate))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available. Returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:  # holding the lock while sleeping queues callers fairly
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            wait = 0.0
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.rate
                self._sleep(wait)
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
            self._tokens = max(0.0, self._tokens - 1.0)
            return wait


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class TmdbClient:
    """TMDB API v3 over one ``requests.Session``. Build one with :meth:`from_settings`."""

    def __init__(
        self,
        *,
        api_key: str = "",
        read_access_token: str = "",
        base_url: str = "https://api.themoviedb.org/3",
        connect_timeout: float = 3.05,
        read_timeout: float = 5.0,
        requests_per_second: float = 20.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_retry_wait: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not api_key and not read_access_token:
            raise TmdbNotConfigured(ERROR_NO_CREDENTIALS)
        self.api_key = api_key
        self.read_access_token = read_access_token
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep
        self.bucket = TokenBucket(requests_per_second, sleep=sleep)
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if read_access_token:
            self.session.headers["Authorization"] = f"Bearer {read_access_token}"
        self.requests_made = 0  # HTTP requests sent, retries included

    @classmethod
    def from_settings(cls, **overrides) -> TmdbClient:
        """A client configured from Django settings; raises TmdbNotConfigured without credentials."""
        options = {
            "api_key": settings.TMDB_API_KEY or "",
            "read_access_token": settings.TMDB_READ_ACCESS_TOKEN or "",
            "base_url": settings.TMDB_API_URL,
            "connect_timeout": getattr(settings, "TMDB_CONNECT_TIMEOUT_SECONDS", 3.05),
            "read_timeout": settings.TMDB_TIMEOUT_SECONDS,
            "requests_per_second": settings.TMDB_REQUESTS_PER_SECOND,
            "max_retries": getattr(settings, "TMDB_MAX_RETRIES", 4),
            "backoff": getattr(settings, "TMDB_BACKOFF_SECONDS", 0.5),
            "max_retry_wait": getattr(settings, "TMDB_MAX_RETRY_WAIT_SECONDS", 30.0),
        }
        options.update(overrides)
        return cls(**options)

    def close(self) -> None:
        self.session.close()

    # -- transport ----------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        # requests puts the full URL (with api_key=...) into its exception messages.
        for secret in (self.api_key, self.read_access_token):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _wait_before_retry(self, attempt: int, response: requests.Response | None) -> float:
        wait = self.backoff * (2 ** attempt)
        if response is not None:
            advised = retry_after_seconds(response.headers.get("Retry-After"))
            if advised is not None:
                wait = advised
        return min(wait, self.max_retry_wait)

    def get(self, path: str, params: dict | None = None) -> dict:
        """GET ``path`` (relative to the API URL) and return the decoded JSON object."""
        params = dict(params or {})
        if self.api_key and not self.read_access_token:
            params["api_key"] = self.api_key
        url = f"{self.base_url}/{path.lstrip('/')}"
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            self.bucket.acquire()
            response = None
            try:
                self.requests_made += 1
                response = self.session.get(url, params=params, timeout=self.timeout)
            except requests.Timeout:
                last_problem = f"timed out after {self.timeout[1]:g}s"
            except requests.ConnectionError as exc:
                last_problem = f"connection failed ({type(exc).__name__})"
            except requests.RequestException as exc:
                raise TmdbError(self._redact(f"TMDB request to /{path.lstrip('/')} failed: {exc}")) from None
            if response is not None:
                status = response.status_code
                if status == 401:
                    raise TmdbAuthError(ERROR_AUTH)
                if status == 404:
                    raise TmdbNotFound(f"TMDB has nothing at /{path.lstrip('/')} (HTTP 404).")
                if status not in RETRY_STATUSES and not 500 <= status < 600:
                    return self._decode(response, path)
                last_problem = f"HTTP {status}"
            if attempt < self.max_retries:
                wait = self._wait_before_retry(attempt, response)
                log.info("TMDB /%s: %s; retrying in %.2fs", path.lstrip("/"), last_problem, wait)
                self.sleep(wait)
        raise TmdbUnavailable(
            f"TMDB /{path.lstrip('/')} failed after {self.max_retries + 1} attempts (last: {last_problem})."
        )

    def _decode(self, response: requests.Response, path: str) -> dict:
        if not 200 <= response.status_code < 300:
            raise TmdbError(f"TMDB /{path.lstrip('/')} answered HTTP {response.status_code}.")
        try:
            data = response.json()
        except ValueError:
            raise TmdbError(f"TMDB /{path.lstrip('/')} answered malformed JSON.") from None
        if not isinstance(data, dict):
            raise TmdbError(f"TMDB /{path.lstrip('/')} answered JSON that is not an object.")
        return data

    # -- endpoints ----------------------------------------------------------------------------
    def movie_details(self, tmdb_id: int) -> MovieDetails:
        data = self.get(f"movie/{int(tmdb_id)}")
        return parse_movie_details(data, tmdb_id)

    def find_by_imdb_id(self, imdb_id: int) -> int | None:
        """The TMDB movie id for an IMDb id (MovieLens stores it without "tt"), or None."""
        data = self.get(f"find/tt{int(imdb_id):07d}", {"external_source": "imdb_id"})
        results = data.get("movie_results")
        if not isinstance(results, list):
            raise TmdbError("TMDB /find answered without a movie_results list.")
        for result in results:
            if isinstance(result, dict) and _positive_int(result.get("id")):
                return int(result["id"])
        return None

    def configuration(self) -> ImageConfiguration:
        data = self.get("configuration")
        images = data.get("images")
        if not isinstance(images, dict):
            raise TmdbError("TMDB /configuration answered without an images object.")
        base = images.get("secure_base_url") or images.get("base_url")
        sizes = images.get("poster_sizes") or []
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise TmdbError("TMDB /configuration answered without an image base URL.")
        if not isinstance(sizes, list) or not all(isinstance(s, str) for s in sizes):
            raise TmdbError("TMDB /configuration answered poster_sizes that are not a list of names.")
        return ImageConfiguration(base_url=base.rstrip("/") + "/", poster_sizes=tuple(sizes))


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _text(value, limit: int | None = None) -> str:
    text = value if isinstance(value, str) else ""
    return text[:limit] if limit else text


def parse_movie_details(data: dict, tmdb_id: int) -> MovieDetails:
    """Pick the fields the catalog stores; missing or odd values become blanks, never errors."""
    release = None
    raw_date = data.get("release_date")
    if isinstance(raw_date, str) and raw_date:
        try:
            release = date.fromisoformat(raw_date)
        except ValueError:
            release = None
    runtime = data.get("runtime")
    # The column is a PositiveSmallIntegerField; TMDB uses 0 for "unknown".
    runtime = runtime if _positive_int(runtime) and runtime <= 32767 else None
    found_id = data.get("id")
    return MovieDetails(
        tmdb_id=int(found_id) if _positive_int(found_id) else int(tmdb_id),
        poster_path=_text(data.get("poster_path"), 200),
        overview=_text(data.get("overview")),
        release_date=release,
        runtime=runtime,
        original_language=_text(data.get("original_language"), 12),
    )


# -- image configuration cache --------------------------------------------------------------
# In memory: (configuration, monotonic time it was loaded, file mtime it came from). The file is
# looked at again at most every FILE_RECHECK_SECONDS, so rendering a grid costs no disk reads.
FILE_RECHECK_SECONDS = 60.0
_config_lock = threading.Lock()
_config_memory: dict = {"value": None, "checked_at": None}


def configuration_path() -> Path:
    return Path(settings.CACHE_DIR) / CONFIGURATION_FILE


def _default_configuration() -> ImageConfiguration:
    base = settings.TMDB_IMAGE_BASE_URL
    return ImageConfiguration(base_url=base.rstrip("/") + "/", poster_sizes=())


def _read_configuration_file(max_age: float | None) -> ImageConfiguration | None:
    """The cached configuration, or None when the file is missing, corrupt or (given max_age) stale."""
    try:
        data = json.loads(configuration_path().read_text(encoding="utf-8"))
        fetched_at = float(data["fetched_at"])
        config = ImageConfiguration(base_url=str(data["base_url"]), poster_sizes=tuple(data["poster_sizes"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if max_age is not None and time.time() - fetched_at > max_age:
        return None
    return config


def _write_configuration_file(config: ImageConfiguration) -> None:
    path = configuration_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"fetched_at": time.time(), "base_url": config.base_url, "poster_sizes": list(config.poster_sizes)}
    # Write to a temporary file and rename, so a reader never sees half a file.
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmdb_configuration.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clear_configuration_cache() -> None:
    """Forget the in-memory copy (tests; after the file changed)."""
    with _config_lock:
        _config_memory.update(value=None, checked_at=None)


def image_configuration() -> ImageConfiguration:
    """The cached image configuration, never a network call; the settings' default when none is cached.

    A stale file is still better than the default for rendering (TMDB's image URLs rarely change).
    """
    now = time.monotonic()
    with _config_lock:
        checked_at = _config_memory["checked_at"]
        if checked_at is not None and now - checked_at < FILE_RECHECK_SECONDS:
            return _config_memory["value"] or _default_configuration()
        config = _read_configuration_file(max_age=None)
        _config_memory.update(value=config, checked_at=now)
        return config or _default_configuration()


def image_configuration_refresh(*, client: TmdbClient, force: bool = False) -> ImageConfiguration:
    """Fetch /configuration when the cached copy is older than the TTL (or ``force``), and cache it."""
    ttl = getattr(settings, "TMDB_CONFIGURATION_TTL_SECONDS", 3 * 24 * 3600)
    if not force:
        cached = _read_configuration_file(max_age=ttl)
        if cached is not None:
            return cached
    config = client.configuration()
    _write_configuration_file(config)
    with _config_lock:
        _config_memory.update(value=config, checked_at=time.monotonic())
    return config


def poster_url(movie, size: str = "w342") -> str:
    """The poster image URL for a movie, or "" when it has no poster. Never calls TMDB."""
    return poster_url_for_path(movie.poster_path, size)


def poster_url_for_path(path: str | None, size: str = "w342") -> str:
    """The image URL of a TMDB poster path ("" for none). Never calls TMDB."""
    if not path:
        return ""
    return image_configuration().poster_url(path, size)
