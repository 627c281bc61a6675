"""URLconf for fault tests: views that fail the way a lost database or a bug makes them fail."""
from django.db.utils import InterfaceError, OperationalError
from django.urls import path


def database_down(request):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def connection_closed(request):
    raise InterfaceError("connection already closed")


def bug(request):
    raise ValueError("a bug, not an outage")


urlpatterns = [
    path("page", database_down),
    path("closed", connection_closed),
    path("bug", bug),
    path("api/recommendations", database_down),
]
