"""GET /healthz: is this worker able to serve? For load balancers and deploy scripts.

200 when the database answers, 503 when it does not; the body says which part is
down and what the recommender is doing (a model still training is healthy: the
site answers from the popularity fallback meanwhile).
"""
import logging

from django.db import connection
from django.db.utils import DatabaseError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import recommender

logger = logging.getLogger(__name__)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("health check: database unavailable: %s", exc)
        return "unavailable"
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
    body = {"status": "ok" if database == "ok" else "unavailable", "database": database, "model": _model_status()}
    return JsonResponse(body, status=200 if database == "ok" else 503)
