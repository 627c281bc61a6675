"""Settings shared by every environment.

Everything configurable comes from the environment (see the README's table).
Environment-specific modules (dev, prod, test) import from here and override.
"""
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "movies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "movies.middleware.PermissionsPolicyMiddleware",
    # View errors only; an outage raised in a middleware (a session saved to a read-only
    # database) reaches handler500, movies.middleware.server_error, which answers the same 503.
    "movies.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes requires: it answers 429 to a locked-out login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "recommender_site.urls"
WSGI_APPLICATION = "recommender_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Where generated files live: datasets, trained models, caches, the SQLite database.
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))


def database_from_env() -> dict:
    """DATABASE_URL (sqlite:///path or postgres://...) or the embedded SQLite default."""
    default_url = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
    config = dj_database_url.parse(env_str("DATABASE_URL", default_url), conn_max_age=60)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        name = str(config["NAME"])
        if Path(name).is_file():
            # An existing database is opened read-write only: if the file is later moved away,
            # connecting fails (503, /healthz unavailable) instead of SQLite creating a new empty
            # database. A missing file keeps the plain path so `migrate` creates it on a fresh machine.
            config["NAME"] = f"file:{Path(name).resolve()}?mode=rw"
        # WAL lets readers run while a writer commits; IMMEDIATE avoids
        # "database is locked" upgrades when several workers write.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes: after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that
# pair is refused (429) for AXES_COOLOFF_TIME, on /accounts/login/ and /admin/login/ alike.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "movies:home"
LOGOUT_REDIRECT_URL = "movies:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Sessions live in the database so a visitor's ratings survive a restart.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 365
# ... once the visitor rated, skipped, hid or signed in; a session that has only looked lives an
# hour, and the web process deletes expired sessions every SESSION_SWEEP_SECONDS (0: never; see
# movies/sessions.py).
SESSION_ANONYMOUS_AGE = env_int("DJANGO_SESSION_ANONYMOUS_AGE", 60 * 60)
SESSION_SWEEP_SECONDS = env_int("DJANGO_SESSION_SWEEP_SECONDS", 60 * 60)

# Requests larger than this are refused before any view runs.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_MAX_REQUEST_BYTES", 512 * 1024)

# --- MovieLens -----------------------------------------------------------
MOVIELENS_RELEASE = env_str("MOVIELENS_RELEASE", "ml-latest-small")
MOVIELENS_DIR = Path(env_str("MOVIELENS_DIR", str(DATA_DIR / "movielens" / MOVIELENS_RELEASE)))
# Where fetch_movielens downloads <release>.zip and <release>.zip.md5 from (tests use a local server).
MOVIELENS_BASE_URL = env_str("MOVIELENS_BASE_URL", "https://files.grouplens.org/datasets/movielens")

# --- Recommender ---------------------------------------------------------
MODEL_DIR = Path(env_str("MODEL_DIR", str(DATA_DIR / "models")))
CACHE_DIR = Path(env_str("CACHE_DIR", str(DATA_DIR / "cache")))
# Train a model in the background when the web process starts and none matches.
RECOMMENDER_TRAIN_ON_STARTUP = env_bool("RECOMMENDER_TRAIN_ON_STARTUP", True)
# How often a process checks whether the catalog changed (movies/catalog.py), in seconds.
CATALOG_RECHECK_SECONDS = env_float("CATALOG_RECHECK_SECONDS", 5.0)
# A starting web server builds the content index (in a child process) when it is missing or stale.
RECOMMENDER_BUILD_CONTENT_ON_STARTUP = env_bool("RECOMMENDER_BUILD_CONTENT_ON_STARTUP", True)
RECOMMENDER_SEED = env_int("RECOMMENDER_SEED", 42)
RECOMMENDER_EPOCHS = env_int("RECOMMENDER_EPOCHS", 20)
# The list shown is drawn from the top RECOMMENDER_POOL_SIZE, shuffled.
RECOMMENDER_POOL_SIZE = env_int("RECOMMENDER_POOL_SIZE", 30)
RECOMMENDATIONS_DEFAULT_N = env_int("RECOMMENDATIONS_DEFAULT_N", 10)
RECOMMENDATIONS_MIN_RATINGS = env_int("RECOMMENDATIONS_MIN_RATINGS", 3)
RATING_GRID_SIZE = env_int("RATING_GRID_SIZE", 12)
# How the rating grid picks its movies: "likely-seen" (what the visitor has most probably seen,
# given their answers; see docs/evaluation.md, "Rating grid") or "popular" (the most-rated,
# spread over genres and decades).
RATING_GRID_STRATEGY = env_str("RATING_GRID_STRATEGY", "likely-seen")
# Upper bound on list lengths in API requests (ratings, movie_ids, candidates, exclude).
# MovieLens users rate up to 2,698 movies in ml-latest-small, more in the larger releases.
API_MAX_ITEMS = env_int("API_MAX_ITEMS", 5000)
API_MAX_N = env_int("API_MAX_N", 100)

# After this many new visitor ratings a web process starts `train_ncf` in a child process (0: never);
# it checks at most every RECOMMENDER_RETRAIN_CHECK_SECONDS (movies/retrain.py).
RECOMMENDER_RETRAIN_AFTER_RATINGS = env_int("RECOMMENDER_RETRAIN_AFTER_RATINGS", 200)
RECOMMENDER_RETRAIN_CHECK_SECONDS = env_float("RECOMMENDER_RETRAIN_CHECK_SECONDS", 60.0)

# --- TMDB ----------------------------------------------------------------
TMDB_API_KEY = env_str("TMDB_API_KEY", "")
TMDB_READ_ACCESS_TOKEN = env_str("TMDB_READ_ACCESS_TOKEN", "")
TMDB_API_URL = env_str("TMDB_API_URL", "https://api.themoviedb.org/3")
TMDB_REQUESTS_PER_SECOND = env_float("TMDB_REQUESTS_PER_SECOND", 20.0)
TMDB_TIMEOUT_SECONDS = env_float("TMDB_TIMEOUT_SECONDS", 5.0)

LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False}},
}

# --- Recommender engine (ncf) ---------------------------------------------
# Ranking objective: implicit (rated vs sampled unrated), hard-negatives (seed 000's labels)
# or regression (stars only, ranked by predicted stars; a baseline).
RECOMMENDER_MODE = env_str("RECOMMENDER_MODE", "implicit")
# New-user fold-in: fit (user vectors fitted with the network frozen) or average (the seed's way).
RECOMMENDER_FOLDIN = env_str("RECOMMENDER_FOLDIN", "fit")
# How often a worker checks MODEL_DIR/CURRENT for a newer model (seconds).
RECOMMENDER_RELOAD_SECONDS = env_float("RECOMMENDER_RELOAD_SECONDS", 5.0)

# --- TMDB client (movies/tmdb.py) -------------------------------------------
# Where poster images are served from until TMDB's /configuration has been fetched and cached.
TMDB_IMAGE_BASE_URL = env_str("TMDB_IMAGE_BASE_URL", "https://image.tmdb.org/t/p/")
TMDB_CONNECT_TIMEOUT_SECONDS = env_float("TMDB_CONNECT_TIMEOUT_SECONDS", 3.05)
# Retries after a 429, a 5xx, a timeout or a dropped connection; waits double from the backoff,
# or follow Retry-After, never longer than the cap.
TMDB_MAX_RETRIES = env_int("TMDB_MAX_RETRIES", 4)
TMDB_BACKOFF_SECONDS = env_float("TMDB_BACKOFF_SECONDS", 0.5)
TMDB_MAX_RETRY_WAIT_SECONDS = env_float("TMDB_MAX_RETRY_WAIT_SECONDS", 30.0)
# How long the image configuration (base URL, poster sizes) is trusted before it is fetched again.
TMDB_CONFIGURATION_TTL_SECONDS = env_int("TMDB_CONFIGURATION_TTL_SECONDS", 3 * 24 * 3600)

# --- Browser security headers ------------------------------------------------
# Scripts only from this site, plus the one inline script in base.html, which carries the
# per-response nonce. Styles allow inline: templates set CSS variables in style attributes and the
# charts are inline SVG with <style>. Posters come from TMDB's image host.
_TMDB_IMAGE_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(TMDB_IMAGE_BASE_URL))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", _TMDB_IMAGE_ORIGIN],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Features the site never uses, switched off for it and anything it embeds.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
