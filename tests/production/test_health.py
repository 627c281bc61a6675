"""GET /healthz: 200 with the model's status when the database answers, 503 when it does not."""
import json
import textwrap

import pytest
from django.db import connection
from django.db.utils import OperationalError

from movies import recommender

from .conftest import run_python


@pytest.mark.django_db
def test_healthz_ok(client):
    """Database up: 200, database "ok", the recommender's model_info() as JSON, never cached."""
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "model": recommender.model_info().as_dict(),
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
