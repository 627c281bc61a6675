"""DatabaseUnavailableMiddleware: a lost database gives a clear 503, never a traceback.

No test here has the django_db mark, so pytest-django fails any query: the error pages
are proven to render without touching the database.
"""
import pytest

from movies.middleware import DATABASE_UNAVAILABLE_MESSAGE, RETRY_AFTER_SECONDS

pytestmark = pytest.mark.urls("tests.production.urls_faulty")


@pytest.fixture
def client(client):
    client.raise_request_exception = False
    return client


def test_operational_error_gives_503_page(client):
    """An OperationalError in a view: status 503, the self-contained page, Retry-After, no traceback."""
    response = client.get("/page")

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"] == "text/html; charset=utf-8"
    body = response.content.decode()
    assert "<h1>We'll be back in a minute</h1>" in body
    assert DATABASE_UNAVAILABLE_MESSAGE in body
    assert "Traceback" not in body and "5432" not in body


def test_interface_error_gives_503_page(client):
    """A connection closed under the worker (InterfaceError) is the same outage."""
    response = client.get("/closed")

    assert response.status_code == 503
    assert DATABASE_UNAVAILABLE_MESSAGE in response.content.decode()


def test_api_gets_503_json(client):
    """Under /api/ the answer is JSON a client can act on."""
    response = client.post("/api/recommendations", data="{}", content_type="application/json")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {"error": "database_unavailable", "detail": DATABASE_UNAVAILABLE_MESSAGE}


def test_database_outage_is_logged_once(client, caplog):
    """The log names the request and the cause in one error line."""
    with caplog.at_level("ERROR", logger="movies.middleware"):
        client.get("/page")

    messages = [record.getMessage() for record in caplog.records if record.name == "movies.middleware"]
    assert messages == [
        'database unavailable on GET /page: connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    ]


def test_other_exceptions_are_left_to_django(client):
    """A bug is not an outage: the 500 page, without the 503 wording."""
    response = client.get("/bug")

    assert response.status_code == 500
    body = response.content.decode()
    assert "<h1>Something went wrong</h1>" in body
    assert DATABASE_UNAVAILABLE_MESSAGE not in body


def test_unknown_page_gives_the_404_template(client):
    """404s render the self-contained page (with database access blocked)."""
    response = client.get("/no/such/page")

    assert response.status_code == 404
    body = response.content.decode()
    assert "<h1>Nothing here</h1>" in body
    assert "<code>/no/such/page</code>" in body
