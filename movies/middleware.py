"""Turn "the database is unreachable" into a clear 503 instead of a traceback.

A lost database connection is an outage, not a bug in the page: the visitor gets
a short "back soon" page (or JSON under /api/) with ``Retry-After``, and the log
gets one line naming the cause. Every other exception is left to Django.
"""
import logging

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable right now. Please try again in a minute."
RETRY_AFTER_SECONDS = 30


def database_unavailable_response(request) -> HttpResponse:
    """The 503 answer: JSON for API clients, a self-contained page for browsers."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"error": "database_unavailable", "detail": DATABASE_UNAVAILABLE_MESSAGE}, status=503
        )
    else:
        # No request context: the page must render without touching the database
        # (the auth context processor would look up the session's user).
        html = render_to_string("503.html", {"message": DATABASE_UNAVAILABLE_MESSAGE})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 when a view fails because the database cannot be reached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable on %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(request)
