"""Validation of JSON API requests: parse, check types and ranges, name the offending field.

Every check raises ``ApiError(field, message)``; the views turn it into
``{"error": {"field": ..., "message": ...}}`` with the status it carries (400 unless said).
Messages are module constants so tests (and clients) can match them exactly.
Types are strict: a boolean is not an integer and "4.5" is not a number. As in JSON Schema, 2.0 is
the integer 2 (JSON has one number type), while 2.5 is not an integer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError

from movies import services
from movies.catalog import catalog_entries
from movies.parsing import parse_int
from movies.services import ERROR_RATING_NOT_A_NUMBER, rating_parse

# Ids are stored in 32-bit integer columns; larger numbers cannot name a movie or a user
# (and would overflow a PostgreSQL query).
MAX_ID = 2**31 - 1
MAX_SEED = 2**32 - 1

ERROR_BODY_NOT_JSON = "The request body is not valid JSON."
ERROR_BODY_NOT_OBJECT = "The request body must be a JSON object."
ERROR_BODY_TOO_LARGE = "The request body is larger than {limit} bytes."
ERROR_UNKNOWN_FIELD = "Unknown field."
ERROR_REQUIRED = "This field is required."
ERROR_NOT_A_LIST = "Must be a list."
ERROR_TOO_MANY_ITEMS = "Must have at most {limit} items."
ERROR_NOT_AN_OBJECT = "Must be an object with movie_id and rating."
ERROR_NOT_AN_ID = "Must be a positive integer id (at most 2147483647)."
ERROR_NOT_A_BOOLEAN = "Must be true or false."
ERROR_N_OUT_OF_RANGE = "Must be an integer from 1 to {limit}."
ERROR_SEED = "Must be an integer from 0 to 4294967295."
# The rating messages are the site's own: rating_parse checks the API's ratings too.
ERROR_RATING_OUT_OF_RANGE = services.ERROR_RATING_OUT_OF_RANGE
ERROR_RATING_NOT_HALF_STEP = services.ERROR_RATING_NOT_HALF_STEP
ERROR_UNKNOWN_MOVIE = "No movie with this id in the catalog."
ERROR_DUPLICATE_MOVIE = "This movie is rated more than once."
ERROR_RATINGS_AND_USER = "Give either ratings or user_id, not both."
ERROR_UNKNOWN_USER = "No MovieLens user with this id has ratings."
ERROR_METHOD_NOT_ALLOWED = "Method {method} is not allowed here; use {allowed}."
ERROR_NOT_FOUND = "No API endpoint at this address."
ERROR_ENGINE_UNAVAILABLE = "The recommender is unavailable right now; try again in a moment."


class ApiError(Exception):
    def __init__(self, field: str | None, message: str, status: int = 400):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status

    def as_dict(self) -> dict:
        return {"error": {"field": self.field, "message": self.message}}


@dataclass(frozen=True)
class RecommendationsRequest:
    ratings: dict[int, float]
    n: int
    diversify: bool
    exclude: frozenset[int] = frozenset()
    candidates: frozenset[int] | None = None
    seed: int | None = None


@dataclass(frozen=True)
class PredictionsRequest:
    movie_ids: list[int]
    ratings: dict[int, float] = field(default_factory=dict)
    user_id: int | None = None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_body(body: bytes) -> dict:
    """The request body as a JSON object; NaN and Infinity are refused (they are not JSON)."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError("body", ERROR_BODY_NOT_JSON) from None
    if not isinstance(data, dict):
        raise ApiError("body", ERROR_BODY_NOT_OBJECT)
    return data


def _only_fields(data: dict, allowed: set[str]) -> None:
    for name in data:
        if name not in allowed:
            raise ApiError(str(name), ERROR_UNKNOWN_FIELD)


def _int_in(value, low: int, high: int) -> int | None:
    return parse_int(value, low=low, high=high, text=False)


def parse_id(value, name: str) -> int:
    number = _int_in(value, 1, MAX_ID)
    if number is None:
        raise ApiError(name, ERROR_NOT_AN_ID)
    return number


def parse_list(value, name: str) -> list:
    if not isinstance(value, list):
        raise ApiError(name, ERROR_NOT_A_LIST)
    limit = settings.API_MAX_ITEMS
    if len(value) > limit:
        raise ApiError(name, ERROR_TOO_MANY_ITEMS.format(limit=limit))
    return value


def parse_ids(value, name: str) -> list[int]:
    return [parse_id(item, f"{name}[{index}]") for index, item in enumerate(parse_list(value, name))]


def parse_n(value, name: str = "n") -> int:
    limit = settings.API_MAX_N
    number = _int_in(value, 1, limit)
    if number is None:
        raise ApiError(name, ERROR_N_OUT_OF_RANGE.format(limit=limit))
    return number


def parse_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ApiError(name, ERROR_NOT_A_BOOLEAN)
    return value


def parse_seed(value, name: str = "seed") -> int | None:
    if value is None:
        return None
    number = _int_in(value, 0, MAX_SEED)
    if number is None:
        raise ApiError(name, ERROR_SEED)
    return number


def parse_rating(value, name: str) -> float:
    """A JSON number of stars; the range and half-star checks are the site's own (rating_parse)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ApiError(name, ERROR_RATING_NOT_A_NUMBER)
    try:
        return rating_parse(value=value)
    except ValidationError as error:
        raise ApiError(name, error.messages[0]) from None


def parse_ratings(value, name: str = "ratings") -> dict[int, float]:
    """``[{"movie_id": 1, "rating": 4.5}, ...]`` -> {1: 4.5}; every movie must be in the catalog."""
    ratings: dict[int, float] = {}
    for index, item in enumerate(parse_list(value, name)):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            raise ApiError(where, ERROR_NOT_AN_OBJECT)
        extra = sorted(str(key) for key in item if key not in ("movie_id", "rating"))
        if extra:
            raise ApiError(f"{where}.{extra[0]}", ERROR_UNKNOWN_FIELD)
        if "movie_id" not in item:
            raise ApiError(f"{where}.movie_id", ERROR_REQUIRED)
        if "rating" not in item:
            raise ApiError(f"{where}.rating", ERROR_REQUIRED)
        movie_id = parse_id(item["movie_id"], f"{where}.movie_id")
        stars = parse_rating(item["rating"], f"{where}.rating")
        if movie_id in ratings:
            raise ApiError(f"{where}.movie_id", ERROR_DUPLICATE_MOVIE)
        ratings[movie_id] = stars
    if ratings:
        known = catalog_entries()
        for index, movie_id in enumerate(ratings):  # dicts keep the request's order
            if movie_id not in known:
                raise ApiError(f"{name}[{index}].movie_id", ERROR_UNKNOWN_MOVIE)
    return ratings


RECOMMENDATIONS_FIELDS = {"ratings", "n", "diversify", "exclude", "candidates", "seed"}
PREDICTIONS_FIELDS = {"ratings", "user_id", "movie_ids"}


def recommendations_request(data: dict) -> RecommendationsRequest:
    _only_fields(data, RECOMMENDATIONS_FIELDS)
    n = parse_n(data["n"]) if "n" in data else settings.RECOMMENDATIONS_DEFAULT_N
    diversify = parse_bool(data["diversify"], "diversify") if "diversify" in data else True
    exclude = frozenset(parse_ids(data["exclude"], "exclude")) if "exclude" in data else frozenset()
    candidates = None
    if "candidates" in data and data["candidates"] is not None:
        candidates = frozenset(parse_ids(data["candidates"], "candidates"))
    seed = parse_seed(data.get("seed"))
    # Ratings last: they cost a query, and cheap type errors should be reported first.
    ratings = parse_ratings(data["ratings"]) if "ratings" in data else {}
    return RecommendationsRequest(ratings=ratings, n=n, diversify=diversify, exclude=exclude,
                                  candidates=candidates, seed=seed)


def predictions_request(data: dict) -> PredictionsRequest:
    _only_fields(data, PREDICTIONS_FIELDS)
    if "movie_ids" not in data:
        raise ApiError("movie_ids", ERROR_REQUIRED)
    movie_ids = parse_ids(data["movie_ids"], "movie_ids")
    user_id = None
    if "user_id" in data:
        if "ratings" in data:
            raise ApiError("user_id", ERROR_RATINGS_AND_USER)
        user_id = parse_id(data["user_id"], "user_id")
    ratings = parse_ratings(data["ratings"]) if "ratings" in data else {}
    return PredictionsRequest(movie_ids=movie_ids, ratings=ratings, user_id=user_id)


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def query_recommendations(params) -> tuple[int, bool, int | None]:
    """``n``, ``diversify`` and ``seed`` from a query string (GET endpoints)."""
    n = settings.RECOMMENDATIONS_DEFAULT_N
    if "n" in params:
        n = parse_n(parse_int(params["n"], low=1, high=settings.API_MAX_N))
    diversify = True
    if "diversify" in params:
        raw = params["diversify"].strip().lower()
        if raw not in _TRUE | _FALSE:
            raise ApiError("diversify", ERROR_NOT_A_BOOLEAN)
        diversify = raw in _TRUE
    seed = None
    if "seed" in params:
        seed = parse_int(params["seed"], low=0, high=MAX_SEED)
        if seed is None:
            raise ApiError("seed", ERROR_SEED)
    return n, diversify, seed
