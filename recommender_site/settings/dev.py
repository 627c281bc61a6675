"""Local development: DEBUG on, a fixed insecure key, SQLite by default."""
from recommender_site.settings.base import *  # noqa: F403
from recommender_site.settings.base import env_bool, env_str

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
