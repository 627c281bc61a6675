"""Test settings: fast hasher, in-memory cache, no background training, temp dirs."""
import tempfile
from pathlib import Path

from recommender_site.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RECOMMENDER_TRAIN_ON_STARTUP = False
CATALOG_RECHECK_SECONDS = 0.0
RECOMMENDER_BUILD_CONTENT_ON_STARTUP = False
RECOMMENDER_RETRAIN_AFTER_RATINGS = 0
_TMP = Path(tempfile.mkdtemp(prefix="recommender-test-"))
MODEL_DIR = _TMP / "models"
CACHE_DIR = _TMP / "cache"
TMDB_API_KEY = ""
TMDB_READ_ACCESS_TOKEN = ""
TMDB_API_URL = "http://127.0.0.1:9/unreachable"
# Tests run without collectstatic: let whitenoise find files through the finders instead of
# warning about the missing STATIC_ROOT on every request.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = _TMP / "staticfiles"
STATIC_ROOT.mkdir()
