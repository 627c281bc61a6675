"""Helpers for production tests: run Django in a child process under production settings."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def prod_env(**overrides: str | None) -> dict[str, str]:
    """A clean environment for recommender_site.settings.prod; None removes a variable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="recommender_site.settings.prod",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        PYTHONPATH=str(REPO_ROOT),
        PYTHONUNBUFFERED="1",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def prod_sqlite_env(tmp_path) -> dict[str, str]:
    """Production settings over a fresh SQLite file and a private static root, for plain-HTTP test clients."""
    return prod_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DATA_DIR=str(tmp_path / "data"),
        DJANGO_STATIC_ROOT=str(tmp_path / "staticfiles"),
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        RECOMMENDER_TRAIN_ON_STARTUP="false",
    )
