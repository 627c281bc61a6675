"""Retraining while serving: after enough new visitor ratings, a child process trains the next model.

After a rating, a web process checks (at most every ``RECOMMENDER_RETRAIN_CHECK_SECONDS``) how
many visitor ratings were given or changed since the ones the current model saw (its metadata's
``visitor_ratings.last_updated_at``). From ``RECOMMENDER_RETRAIN_AFTER_RATINGS`` on (0: never) it
starts ``manage.py train_ncf --if-new-ratings N`` as a child process: TensorFlow runs there, not in
the worker, and the request does not wait. The child counts again under the training lock, so
children started by several workers at once train once. Every worker then swaps the new model in
as after any ``train_ncf``.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime

from django.conf import settings

from movies.models import VisitorRating

_lock = threading.Lock()
_child: subprocess.Popen | None = None
_last_check: float | None = None


def ratings_since(metadata: dict | None) -> int:
    """Visitor ratings given or changed after the newest one a model with this metadata saw."""
    since = ((metadata or {}).get("visitor_ratings") or {}).get("last_updated_at")
    ratings = VisitorRating.objects.all()
    if since:
        ratings = ratings.filter(updated_at__gt=datetime.fromisoformat(since))
    return ratings.count()


def retrain_if_due(*, now: float | None = None) -> bool:
    """Start the retraining child when enough new ratings came in; True when it was started."""
    from recsys.ncf import artifacts

    global _child, _last_check
    threshold = settings.RECOMMENDER_RETRAIN_AFTER_RATINGS
    if threshold <= 0:
        return False
    now = time.monotonic() if now is None else now
    with _lock:
        if _child is not None and _child.poll() is None:  # poll() also reaps a finished child
            return False
        if _last_check is not None and now - _last_check < settings.RECOMMENDER_RETRAIN_CHECK_SECONDS:
            return False
        _last_check = now
    current = artifacts.current_path(settings.MODEL_DIR)
    if current is None:  # no model yet: the first start trains one
        return False
    if ratings_since(artifacts.read_metadata(current)) < threshold:
        return False
    with _lock:
        _child = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "train_ncf", "--if-new-ratings", str(threshold),
             "--output", str(settings.MODEL_DIR)],
            cwd=settings.BASE_DIR, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    return True
