"""GET /healthz: is this worker able to serve? For load balancers and deploy scripts.

200 when the database answers a query on a real table and accepts a write, 503 when
it does not; the body says which part is down (``unavailable``: no connection, or a
database without the site's tables, as when SQLite was pointed at a missing file;
``read_only``: reads work but writes fail, so ratings and sessions cannot be saved)
and what the recommender is doing (a model still training is healthy: the site answers
from the popularity fallback meanwhile).
"""
import logging

from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from movies.engine import recommender
from movies.engine.content import content_status

logger = logging.getLogger(__name__)


def _database_status() -> str:
    table = connection.ops.quote_name(Session._meta.db_table)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("health check: database unavailable: %s", exc)
        return "unavailable"
    try:
        # A write that changes nothing (no session has an empty key): a read-only file, a
        # read-only replica or transaction refuses it all the same.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE session_key = %s", [""])
    except DatabaseError as exc:
        logger.error("health check: database refuses writes: %s", exc)
        return "read_only"
    return "ok"


def _model_status() -> dict:
    try:
        return recommender.model_info().as_dict()
    except Exception as exc:
        logger.exception("health check: model_info failed")
        return {"status": "error", "detail": str(exc)}


@never_cache
@require_safe
def healthz(request):
    database = _database_status()
    body = {"status": "ok" if database == "ok" else "unavailable", "database": database, "model": _model_status(),
            "content": content_status()}
    return JsonResponse(body, status=200 if database == "ok" else 503)
