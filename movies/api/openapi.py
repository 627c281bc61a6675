"""The OpenAPI 3.1 description of the JSON API, served at GET /api/schema.

Limits and field names come from movies/api_schemas.py and settings when the schema is built,
and tests/movies/test_api.py holds the two together: the request schemas name exactly the
validators' fields, a property test checks that the schema accepts a generated body exactly
when the API does, and every response the tests see is validated against it.
"""
from __future__ import annotations

from django.conf import settings

from movies.api.schemas import MAX_ID, MAX_SEED


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _fragments() -> dict:
    """The pieces several schemas share, with the limits the validators use (from settings)."""
    max_items = settings.API_MAX_ITEMS
    max_n = settings.API_MAX_N
    movie_id = {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "A MovieLens movie id."}
    id_list = {"type": "array", "items": movie_id, "maxItems": max_items}
    stars_or_null = {"type": ["number", "null"], "minimum": 0.5, "maximum": 5.0}
    n = {"type": "integer", "minimum": 1, "maximum": max_n, "default": settings.RECOMMENDATIONS_DEFAULT_N}
    seed = {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_SEED,
            "description": "Makes the shuffle of a diversified list reproducible."}
    diversify = {"type": "boolean", "default": True,
                 "description": f"Shuffle the top {settings.RECOMMENDER_POOL_SIZE} and return n of them; "
                                "false returns the strict top n."}
    bad_request = _error_response("Invalid input; error.field names the offending field.")
    too_large = _error_response(f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    not_allowed = _error_response("Wrong HTTP method.")
    unavailable = {
        "description": "The recommender (or the database) is unavailable; try again.",
        "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/Error"},
            {"$ref": "#/components/schemas/DatabaseUnavailable"},
        ]}}},
    }
    recommendations_ok = {"description": "The recommendations, best first (shuffled when diversify is true).",
                          "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/RecommendationsResponse"}}}}
    return {"movie_id": movie_id, "id_list": id_list, "stars_or_null": stars_or_null, "n": n, "seed": seed,
            "diversify": diversify, "bad_request": bad_request, "too_large": too_large,
            "not_allowed": not_allowed, "unavailable": unavailable, "recommendations_ok": recommendations_ok,
            "max_items": max_items, "max_n": max_n}


def _paths(f: dict) -> dict:
    n, bad_request, too_large = f["n"], f["bad_request"], f["too_large"]
    not_allowed, unavailable, recommendations_ok = f["not_allowed"], f["unavailable"], f["recommendations_ok"]
    return {
        "/api/recommendations": {
            "post": {
                "operationId": "recommend",
                "summary": "Top-n movies for a person described by their ratings",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/RecommendationsRequest"}}}},
                "responses": {"200": recommendations_ok, "400": bad_request, "405": not_allowed,
                              "413": too_large, "503": unavailable},
            },
        },
        "/api/predictions": {
            "post": {
                "operationId": "predict",
                "summary": "Predicted stars for given movies, from ratings or a MovieLens user's history",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/PredictionsRequest"}}}},
                "responses": {
                    "200": {"description": "One prediction per requested movie, in order; null when the "
                                           "movie is unknown.",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/PredictionsResponse"}}}},
                    "400": bad_request, "404": _error_response("The MovieLens user has no ratings."),
                    "405": not_allowed, "413": too_large, "503": unavailable,
                },
            },
        },
        "/api/movielens-users/{user_id}/recommendations": {
            "get": {
                "operationId": "recommendForMovieLensUser",
                "summary": "Top-n movies for a user of the MovieLens data (movies they rated are left out)",
                "parameters": [
                    {"name": "user_id", "in": "path", "required": True,
                     "schema": {"type": "integer", "minimum": 0}},
                    {"name": "n", "in": "query", "required": False, "schema": n},
                    {"name": "diversify", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"],
                                "default": "true"}},
                    {"name": "seed", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SEED}},
                ],
                "responses": {"200": recommendations_ok, "400": bad_request,
                              "404": _error_response("No MovieLens user with this id has ratings."),
                              "405": not_allowed, "503": unavailable},
            },
        },
        "/api/schema": {
            "get": {
                "operationId": "schema",
                "summary": "This OpenAPI document",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {
                    "schema": {"type": "object"}}}}, "405": not_allowed},
            },
        },
    }


def _request_schemas(f: dict) -> dict:
    movie_id, id_list, n, seed, diversify, max_items = (f[k] for k in ("movie_id", "id_list", "n", "seed", "diversify",
                                                                    "max_items"))
    return {
    "Rating": {
        "type": "object",
        "required": ["movie_id", "rating"],
        "additionalProperties": False,
        "properties": {
            "movie_id": {**movie_id, "description": "A movie in the catalog."},
            "rating": {"type": "number", "minimum": 0.5, "maximum": 5.0, "multipleOf": 0.5},
        },
    },
    "Ratings": {"type": "array", "items": {"$ref": "#/components/schemas/Rating"},
                "maxItems": max_items,
                "description": "Each movie at most once; every movie must be in the catalog."},
    "RecommendationsRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "ratings": {"$ref": "#/components/schemas/Ratings"},
            "n": n,
            "diversify": diversify,
            "exclude": {**id_list, "description": "Movies never to return (unknown ids are ignored)."},
            "candidates": {"type": ["array", "null"], "items": movie_id, "maxItems": max_items,
                           "description": "Rank only these movies (unknown ids are ignored)."},
            "seed": seed,
        },
    },
    "PredictionsRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["movie_ids"],
        "properties": {
            "ratings": {"$ref": "#/components/schemas/Ratings"},
            "user_id": {**movie_id, "description": "A MovieLens user id (instead of ratings)."},
            "movie_ids": id_list,
        },
        "not": {"required": ["ratings", "user_id"]},
    },
    }


def _response_schemas(f: dict) -> dict:
    movie_id, stars_or_null, max_n = f["movie_id"], f["stars_or_null"], f["max_n"]
    return {
    "Recommendation": {
        "type": "object",
        "additionalProperties": False,
        "required": ["movie_id", "title", "movielens_title", "year", "genres", "predicted_rating", "poster_url"],
        "properties": {
            "movie_id": movie_id,
            "title": {"type": "string", "description": "The title as people write it: \"The Matrix\"."},
            "movielens_title": {"type": "string",
                                "description": "MovieLens' own title, article moved to the end: \"Matrix, The\"."},
            "year": {"type": ["integer", "null"]},
            "genres": {"type": "array", "items": {"type": "string"}},
            "predicted_rating": stars_or_null,
            "poster_url": {"type": ["string", "null"], "format": "uri",
                           "description": "A TMDB poster image, null when none is known."},
        },
    },
    "Model": {
        "type": "object",
        "additionalProperties": False,
        "required": ["status", "trained_at", "kind"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "training"],
                       "description": "training: the popularity fallback answered."},
            "trained_at": {"type": ["string", "null"], "format": "date-time"},
            "kind": {"type": "string", "examples": ["popularity", "ncf-implicit"]},
        },
    },
    "RecommendationsResponse": {
        "type": "object",
        "additionalProperties": False,
        "required": ["recommendations", "model"],
        "properties": {
            "recommendations": {"type": "array", "maxItems": max_n,
                                "items": {"$ref": "#/components/schemas/Recommendation"}},
            "model": {"$ref": "#/components/schemas/Model"},
        },
    },
    "PredictionsResponse": {
        "type": "object",
        "additionalProperties": False,
        "required": ["predictions"],
        "properties": {"predictions": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["movie_id", "predicted_rating"],
            "properties": {"movie_id": movie_id, "predicted_rating": stars_or_null},
        }}},
    },
    "Error": {
        "type": "object",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["field", "message"],
            "properties": {
                "field": {"type": ["string", "null"],
                          "description": 'The offending field, e.g. "ratings[2].rating"; null when '
                                         "no single field is at fault."},
                "message": {"type": "string"},
            },
        }},
    },
    "DatabaseUnavailable": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": {"const": "database_unavailable"}, "detail": {"type": "string"}},
    },
    }


def openapi_schema() -> dict:
    f = _fragments()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Movie recommender API",
            "version": "1.0.0",
            "description": "Stateless recommendations and rating predictions from MovieLens ratings. "
                           "No authentication, cookies or sessions.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": _paths(f),
        "components": {"schemas": {**_request_schemas(f), **_response_schemas(f)}},
    }
