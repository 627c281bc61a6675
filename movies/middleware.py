"""Turn "the database is unreachable" into a clear 503 instead of a traceback, and keep /api/ JSON.

A lost database connection is an outage, not a bug in the page: the visitor gets
a short "back soon" page (or JSON under /api/) with ``Retry-After``, and the log
gets one line naming the cause. ``server_error`` (the site's handler500) gives the same
answer when the failure happens outside a view, e.g. SessionMiddleware saving a new
session to a read-only database, and answers any other unexpected error under /api/ with
the API's JSON error shape instead of the HTML page.
"""
import logging
import sys

from django.conf import settings
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

ERROR_INTERNAL = "Something went wrong on our side; the error is logged."
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


def server_error(request) -> HttpResponse:
    """handler500: the outage 503 for database errors, JSON under /api/, else the 500 page.

    Django calls it inside the ``except`` block that caught the error, so ``sys.exc_info()``
    names it; that is how an outage raised in a middleware still becomes the 503.
    """
    exception = sys.exc_info()[1]
    if isinstance(exception, (OperationalError, InterfaceError)):
        logger.error("database unavailable on %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"field": None, "message": ERROR_INTERNAL}}, status=500)
    return defaults.server_error(request)


class PermissionsPolicyMiddleware:
    """Send ``Permissions-Policy`` (settings.PERMISSIONS_POLICY): the site uses no camera, location, ..."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "PERMISSIONS_POLICY", "")
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response
