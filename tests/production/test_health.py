"""GET /healthz: 200 with the model's status when the database answers, 503 when it does not."""
import json
import textwrap

import pytest
from django.db import connection, transaction
from django.db.utils import OperationalError

from movies.engine import recommender
from tests.production.conftest import prod_env, run_python


@pytest.mark.django_db
def test_healthz_ok(client):
    """Database up: 200, database "ok", the recommender's model_info() as JSON, whether the content
    index is there (none built in the tests), never cached."""
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "model": recommender.model_info().as_dict(),
        "content": "missing",
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_database_unavailable(client, monkeypatch):
    """A failing query: 503 and database "unavailable", the model part still reported."""

    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "unavailable"
    assert body["model"] == recommender.model_info().as_dict()


@pytest.mark.django_db
def test_healthz_reports_a_broken_model_without_failing(client, monkeypatch):
    """model_info() raising is reported as the model's status; the database decides the code."""

    def broken():
        raise RuntimeError("weights file unreadable")

    monkeypatch.setattr(recommender, "model_info", broken)
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["model"] == {"status": "error", "detail": "weights file unreadable"}


def test_healthz_rejects_writes(client):
    """Only GET and HEAD: a POST is 405 and never reaches the database."""
    assert client.post("/healthz").status_code == 405


UNREACHABLE_SCRIPT = textwrap.dedent(
    """
    import django, json
    django.setup()
    from django.test import Client
    client = Client(raise_request_exception=False)
    health = client.get("/healthz")
    page = client.get("/movies/1/")
    print(json.dumps({
        "health_status": health.status_code, "health": health.json(),
        "page_status": page.status_code, "page": page.content.decode(), "retry": page.get("Retry-After"),
    }))
    """
)


def test_unreachable_postgres_gives_503_not_a_traceback(prod_sqlite_env):
    """A real psycopg connection refused (nothing listens on port 1): /healthz and pages answer 503."""
    env = {**prod_sqlite_env, "DATABASE_URL": "postgres://nobody:secret@127.0.0.1:1/nothing",
           "DJANGO_ALLOWED_HOSTS": "testserver"}
    result = run_python(["-c", UNREACHABLE_SCRIPT], env)

    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["health_status"] == 503
    assert served["health"]["database"] == "unavailable"
    assert served["page_status"] == 503
    assert served["retry"] == "30"
    assert "We'll be back in a minute" in served["page"]
    assert "Traceback" not in served["page"] and "secret" not in served["page"]


# -- a database that is gone or read-only (issue 13) --------------------------------------------------
OUTAGE_SCRIPT = textwrap.dedent(
    """
    import django, json, os
    django.setup()
    from django.conf import settings
    from django.db.backends.signals import connection_created
    from django.test import Client
    if os.environ.get("SIMULATE_READ_ONLY"):
        # Root ignores file permissions, so a read-only file is simulated the way SQLite reports
        # one: every write fails with "attempt to write a readonly database".
        connection_created.connect(lambda connection, **kw: connection.cursor().execute("PRAGMA query_only = ON"), weak=False)
    client = Client(raise_request_exception=False)
    health = client.get("/healthz")
    home = client.get("/")  # a new visitor: the session is saved after the view, in SessionMiddleware
    page = client.get("/movies/1/")
    print(json.dumps({
        "name": str(settings.DATABASES["default"]["NAME"]),
        "health_status": health.status_code, "health": health.json(),
        "home_status": home.status_code, "home": home.content.decode(), "home_retry": home.get("Retry-After"),
        "page_status": page.status_code,
    }))
    """
)


def _serve_once(env, **extra) -> dict:
    result = run_python(["-c", OUTAGE_SCRIPT], {**env, "DJANGO_ALLOWED_HOSTS": "testserver", **extra})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory):
    """One collectstatic for the module: prod pages need the static manifest to render."""
    root = tmp_path_factory.mktemp("staticfiles")
    result = run_python(["manage.py", "collectstatic", "--noinput", "-v", "0"],
                        prod_env(DJANGO_STATIC_ROOT=str(root), DATABASE_URL=f"sqlite:///{root / 'unused.sqlite3'}"))
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def migrated_sqlite(prod_sqlite_env, tmp_path, collected_static):
    """prod settings over a SQLite file that `migrate` created (it did not exist before)."""
    env = {**prod_sqlite_env, "DJANGO_STATIC_ROOT": str(collected_static)}
    db_path = tmp_path / "db.sqlite3"
    assert not db_path.exists()
    result = run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    assert result.returncode == 0, result.stderr
    assert db_path.is_file()  # a fresh machine still gets its database from migrate
    return env, db_path


def test_a_healthy_sqlite_file_is_opened_read_write_only(migrated_sqlite):
    env, db_path = migrated_sqlite
    served = _serve_once(env)
    assert served["name"] == f"file:{db_path.resolve()}?mode=rw"
    assert served["health_status"] == 200 and served["health"]["database"] == "ok"
    assert served["home_status"] == 200


def test_a_moved_away_database_is_unavailable_and_no_empty_one_is_created(migrated_sqlite, tmp_path):
    """The file vanished after start-up (settings were read while it existed): 503, and nothing created."""
    env, db_path = migrated_sqlite
    script_env = {**env, "DATABASE_URL": f"sqlite:///{db_path}"}
    # Settings see the file, then it is moved before the first connection.
    moved = tmp_path / "moved.sqlite3"
    code = OUTAGE_SCRIPT.replace("django.setup()\n", f"django.setup()\nos.rename({str(db_path)!r}, {str(moved)!r})\n", 1)
    result = run_python(["-c", code], {**script_env, "DJANGO_ALLOWED_HOSTS": "testserver"})
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["health_status"] == 503 and served["health"]["database"] == "unavailable"
    assert served["health"]["status"] == "unavailable"
    assert (served["home_status"], served["page_status"]) == (503, 503)
    assert not db_path.exists()


def test_an_empty_database_file_is_unavailable(prod_sqlite_env, tmp_path):
    """A file without the site's tables (what SQLite used to create in place of a missing one) is not healthy."""
    (tmp_path / "db.sqlite3").touch()
    served = _serve_once(prod_sqlite_env)
    assert served["health_status"] == 503 and served["health"]["database"] == "unavailable"


def test_a_read_only_database_fails_health_and_a_new_visitor_gets_the_503_page(migrated_sqlite):
    env, _ = migrated_sqlite
    served = _serve_once(env, SIMULATE_READ_ONLY="1")
    assert served["health_status"] == 503
    assert served["health"]["status"] == "unavailable" and served["health"]["database"] == "read_only"
    assert served["home_status"] == 503 and served["home_retry"] == "30"  # not a 500 from SessionMiddleware
    assert "We'll be back in a minute" in served["home"]


@pytest.mark.django_db
def test_healthz_read_only_in_process(client):
    """The same check against the test database switched to read-only (SQLite: query_only;
    PostgreSQL: a read-only transaction inside a savepoint, whose rollback restores it)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = ON")
        try:
            response = client.get("/healthz")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA query_only = OFF")
    else:
        class _Undo(Exception):
            pass

        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET transaction_read_only = on")
                response = client.get("/healthz")
                raise _Undo
        except _Undo:
            pass
    assert response.status_code == 503
    assert response.json()["database"] == "read_only"
