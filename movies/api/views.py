"""The JSON API: recommendations and rating predictions for anyone, stateless.

    POST /api/recommendations                          ratings in, top-n movies out
    POST /api/predictions                              predicted stars for given movies
    GET  /api/movielens-users/<id>/recommendations     for a user of the MovieLens data
    GET  /api/schema                                   the OpenAPI 3.1 description

Views are thin: parse and validate (movies.api.schemas), read (movies.api.selectors), ask the
recommender (movies.engine.recommender), answer JSON. Every error is JSON
``{"error": {"field": ..., "message": ...}}``: 400 bad input, 404 unknown user or path, 405 wrong
method, 413 body too large, 503 the engine failed. Nothing here writes to the database or the session.
See docs/api.md.
"""
from __future__ import annotations

import functools
import logging
import math

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from movies.api.openapi import openapi_schema
from movies.api.schemas import (
    ERROR_BODY_TOO_LARGE,
    ERROR_ENGINE_UNAVAILABLE,
    ERROR_METHOD_NOT_ALLOWED,
    ERROR_NOT_FOUND,
    ERROR_UNKNOWN_USER,
    MAX_ID,
    ApiError,
    parse_body,
    predictions_request,
    query_recommendations,
    recommendations_request,
)
from movies.api.selectors import movie_items, movielens_user_ratings
from movies.engine import recommender

log = logging.getLogger(__name__)


def _error(exc: ApiError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.status)


def api_view(*methods: str):
    """JSON errors for everything, a JSON 405 for other methods, and no CSRF check.

    CSRF protects cookie-authenticated requests that a browser sends on a user's behalf. This API
    reads no cookie, session or login and writes nothing: every request carries all its input in
    its body or URL, so a forged request can learn or change nothing an attacker could not get by
    calling the API directly. Requiring a CSRF token would only break non-browser clients.
    """

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                allowed = ", ".join(methods)
                response = _error(ApiError(None, ERROR_METHOD_NOT_ALLOWED.format(method=request.method,
                                                                                 allowed=allowed), 405))
                response["Allow"] = allowed
                return response
            try:
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return _error(exc)

        return wrapper

    return decorator


def _json_body(request) -> dict:
    try:
        body = request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise ApiError("body", ERROR_BODY_TOO_LARGE.format(limit=limit), status=413) from None
    return parse_body(body)


def _engine(call):
    """Run a recommender call; a failure inside the engine becomes a 503, never a 500."""
    try:
        return call()
    except DatabaseError:
        raise  # the database-outage middleware answers these with its own 503
    except Exception:
        log.exception("recommender failed while answering the API")
        raise ApiError(None, ERROR_ENGINE_UNAVAILABLE, status=503) from None


def _stars(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return round(value, 2) if math.isfinite(value) else None


def _recommendations(*, ratings, exclude, candidates, n, diversify, seed, user_id=None) -> JsonResponse:
    info = _engine(recommender.model_info)
    extra = {"user_id": user_id} if user_id is not None else {}
    recs = _engine(lambda: recommender.recommend(
        ratings=ratings, exclude=exclude, candidates=candidates, n=n, diversify=diversify, seed=seed, **extra))
    items = movie_items(ids=[rec.movie_id for rec in recs])
    out = [{
        "movie_id": rec.movie_id, "title": items[rec.movie_id]["title"],
        "movielens_title": items[rec.movie_id]["movielens_title"], "year": items[rec.movie_id]["year"],
        "genres": items[rec.movie_id]["genres"], "predicted_rating": _stars(rec.predicted_rating),
        "poster_url": items[rec.movie_id]["poster_url"],
    } for rec in recs if rec.movie_id in items]  # a movie the model knows may have left the catalog
    return JsonResponse({"recommendations": out, "model": info.as_dict()})


def _user_ratings(user_id: int) -> dict[int, float]:
    ratings = movielens_user_ratings(user_id=user_id) if user_id <= MAX_ID else {}
    if not ratings:
        raise ApiError("user_id", ERROR_UNKNOWN_USER, status=404)
    return ratings


@api_view("POST")
def recommendations(request):
    query = recommendations_request(_json_body(request))
    return _recommendations(ratings=query.ratings, exclude=query.exclude, candidates=query.candidates,
                            n=query.n, diversify=query.diversify, seed=query.seed)


@api_view("POST")
def predictions(request):
    query = predictions_request(_json_body(request))
    ratings, extra = query.ratings, {}
    if query.user_id is not None:
        # The user's own history, so the engine can fold it in (or use the user's learned vectors).
        ratings, extra = _user_ratings(query.user_id), {"user_id": query.user_id}
    stars = _engine(lambda: recommender.predict(ratings=ratings, movie_ids=query.movie_ids, **extra))
    return JsonResponse({"predictions": [
        {"movie_id": movie_id, "predicted_rating": _stars(value)} for movie_id, value in zip(query.movie_ids, stars)
    ]})


@api_view("GET", "HEAD")
def movielens_user_recommendations(request, user_id: int):
    n, diversify, seed = query_recommendations(request.GET)
    ratings = _user_ratings(user_id)
    return _recommendations(ratings=ratings, exclude=frozenset(), candidates=None, n=n, diversify=diversify,
                            seed=seed, user_id=user_id)


@api_view("GET", "HEAD")
def schema(request):
    return JsonResponse(openapi_schema())


@api_view("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
def not_found(request, path: str = ""):
    raise ApiError(None, ERROR_NOT_FOUND, status=404)
