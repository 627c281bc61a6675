"""Session lifetimes: a first page view gets a short-lived session, a visitor who wrote gets a long one.

A browser with no cookie that only looks (a crawler, a one-off visit) gets a session that lives
``SESSION_ANONYMOUS_AGE`` seconds; its first rating, skip or hide, or signing in, gives it the
usual ``SESSION_COOKIE_AGE``. Expired sessions are swept by the web process itself, at most once
per ``SESSION_SWEEP_SECONDS``, when it starts a new session, so nobody has to schedule
``clearsessions`` and the table stays bounded by one period of new visitors.

The first page view does write its session (short-lived): that gives the browser a session key
before its first rating, so two first ratings sent at once belong to one visitor.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import MutableMapping
from importlib import import_module

from django.conf import settings

_sweep_lock = threading.Lock()
_last_sweep: float | None = None


def session_start_anonymous(*, session: MutableMapping) -> None:
    """A new session of someone who has only looked: short-lived; sweeps expired ones when due."""
    session.set_expiry(settings.SESSION_ANONYMOUS_AGE)
    sessions_sweep_if_due()


def session_keep(*, session: MutableMapping) -> None:
    """The visitor wrote something or signed in: back to the long ``SESSION_COOKIE_AGE``."""
    if hasattr(session, "set_expiry") and session.get("_session_expiry") is not None:
        session.set_expiry(None)


def session_keep_on_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: a signed-in session is never the short anonymous kind."""
    if request is not None and hasattr(request, "session"):
        session_keep(session=request.session)


def sessions_sweep_if_due(*, now: float | None = None) -> bool:
    """Delete expired sessions unless this process did so less than SESSION_SWEEP_SECONDS ago.

    Returns True when it swept. ``SESSION_SWEEP_SECONDS = 0`` turns the sweep off (run
    ``manage.py clearsessions`` from cron instead).
    """
    global _last_sweep
    interval = settings.SESSION_SWEEP_SECONDS
    if interval <= 0:
        return False
    now = time.monotonic() if now is None else now
    with _sweep_lock:
        if _last_sweep is not None and now - _last_sweep < interval:
            return False
        _last_sweep = now
    # A backend that expires on its own (cache, signed cookies) raises NotImplementedError.
    with contextlib.suppress(NotImplementedError):
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return True
