"""The JSON API: exact answers from the popularity fallback, every kind of bad input, the OpenAPI contract.

The engine runs with an empty MODEL_DIR, so it answers from its popularity fallback and the expected
lists can be worked out by hand: in `api_catalog` every movie has mean 4.0 and movie i has
1000 - 10 i ratings, so popularity ranks them 1, 2, 3, ...
"""
import json
from datetime import UTC, datetime

import jsonschema
import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from movies.api import schemas as errors
from movies.api.openapi import openapi_schema
from movies.engine import recommender
from movies.models import Genre, Movie, Rating, Visitor

pytestmark = pytest.mark.django_db

RECS = "/api/recommendations"
PREDS = "/api/predictions"
ML_USER = 7  # a MovieLens user with ratings in api_catalog


@pytest.fixture(autouse=True)
def popularity_engine(settings, tmp_path):
    """A fresh engine with no saved model and no dataset: it answers from popularity, deterministically."""
    settings.MODEL_DIR = tmp_path / "models"
    settings.MOVIELENS_DIR = tmp_path / "no-movielens"
    settings.RECOMMENDER_TRAIN_ON_STARTUP = False
    settings.RECOMMENDATIONS_DEFAULT_N = 10
    settings.RECOMMENDER_POOL_SIZE = 30
    settings.API_MAX_N = 100
    settings.API_MAX_ITEMS = 50
    settings.CACHE_DIR = tmp_path / "cache"
    recommender.reset_engine()
    from movies.integrations.tmdb.client import clear_configuration_cache

    clear_configuration_cache()
    yield
    recommender.reset_engine()


@pytest.fixture
def api_catalog(db):
    """40 movies (ids 1..40) ranked by id, two genres each, a poster on movie 4; user 7 rated 1, 2, 5."""
    action, drama = Genre.objects.create(name="Action"), Genre.objects.create(name="Drama")
    for movie_id in range(1, 41):
        movie = Movie.objects.create(id=movie_id, title=f"Film {movie_id}", year=1960 + movie_id,
                                     rating_count=1000 - 10 * movie_id, rating_mean=4.0,
                                     poster_path="/poster4.jpg" if movie_id == 4 else "")
        movie.genres.set([action, drama] if movie_id % 2 else [drama])
    Movie.objects.create(id=41, title="Nobody rated this", year=None)  # not recommendable: no ratings
    for movie_id, stars in [(1, 5.0), (2, 3.5), (5, 1.0)]:
        Rating.objects.create(user_id=ML_USER, movie_id=movie_id, rating=stars, timestamp=0)


def post(client, url, body, **extra):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **extra)


# -- the OpenAPI contract --------------------------------------------------------------------
def matches_schema(response, path: str, method: str):
    """Validate a response's JSON against the OpenAPI document's schema for its status code."""
    spec = openapi_schema()
    operation = spec["paths"][path][method]
    assert str(response.status_code) in operation["responses"], f"{response.status_code} not documented"
    documented = operation["responses"][str(response.status_code)]
    schema = documented["content"]["application/json"]["schema"]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    validator = jsonschema.Draft202012Validator({**schema, "components": spec["components"]},
                                                format_checker=jsonschema.FormatChecker())
    validator.validate(body)
    return body


def ids(body) -> list[int]:
    return [item["movie_id"] for item in body["recommendations"]]


def error_of(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["field"], body["error"]["message"]


# -- POST /api/recommendations ---------------------------------------------------------------
def test_recommendations_strict_top_n_leave_out_rated_and_excluded(client, api_catalog):
    response = post(client, RECS, {"ratings": [{"movie_id": 1, "rating": 4.5}, {"movie_id": 2, "rating": 2}],
                                   "exclude": [3, 999], "n": 5, "diversify": False})
    assert response.status_code == 200
    body = matches_schema(response, "/api/recommendations", "post")
    assert ids(body) == [4, 5, 6, 7, 8]
    assert body["model"] == {"status": "training", "trained_at": None, "kind": "popularity"}
    assert body["recommendations"][0] == {
        "movie_id": 4, "title": "Film 4", "movielens_title": "Film 4", "year": 1964, "genres": ["Drama"],
        "predicted_rating": body["recommendations"][0]["predicted_rating"],
        "poster_url": "https://image.tmdb.org/t/p/w342/poster4.jpg",
    }
    assert body["recommendations"][1]["poster_url"] is None
    assert body["recommendations"][1]["genres"] == ["Action", "Drama"]
    # Damped mean: (960 * 4.0 + 10 * 3.5) / 970.
    assert body["recommendations"][0]["predicted_rating"] == round((960 * 4.0 + 35) / 970, 2)


def test_integral_numbers_count_as_integers_as_in_json_schema(client, api_catalog):
    body = post(client, RECS, {"ratings": [{"movie_id": 1.0, "rating": 4}], "n": 3.0, "diversify": False,
                               "seed": 2.0}).json()
    assert ids(body) == [2, 3, 4]


def test_an_empty_ratings_list_gets_popular_picks_and_the_default_n(client, api_catalog):
    body = matches_schema(post(client, RECS, {"ratings": [], "diversify": False}), "/api/recommendations", "post")
    assert ids(body) == list(range(1, 11))
    body = matches_schema(post(client, RECS, {}), "/api/recommendations", "post")
    assert len(body["recommendations"]) == 10


@pytest.mark.parametrize("n", [1, 3, 30, 100])
def test_n_is_respected(client, api_catalog, n):
    body = post(client, RECS, {"n": n, "diversify": False}).json()
    assert ids(body) == list(range(1, min(n, 40) + 1))


def test_candidates_restrict_the_ranking(client, api_catalog):
    body = post(client, RECS, {"candidates": [25, 10, 20, 99999, 41], "n": 10, "diversify": False,
                               "ratings": [{"movie_id": 20, "rating": 3}]}).json()
    assert ids(body) == [10, 25]


def test_diversified_lists_come_from_the_top_pool_and_repeat_with_a_seed(client, api_catalog):
    request = {"ratings": [{"movie_id": 1, "rating": 5}], "n": 10, "seed": 42}
    first = ids(post(client, RECS, request).json())
    assert first == ids(post(client, RECS, request).json())
    assert len(set(first)) == 10 and set(first) <= set(range(2, 32))  # the top 30 after movie 1
    seeds = {tuple(ids(post(client, RECS, {**request, "seed": seed}).json())) for seed in range(5)}
    assert len(seeds) > 1  # shuffled, not the strict top 10


def test_the_api_is_stateless(client, api_catalog):
    response = post(client, RECS, {"ratings": [{"movie_id": 1, "rating": 4}]})
    assert response.status_code == 200
    assert response.cookies == {} or "sessionid" not in response.cookies
    assert Visitor.objects.count() == 0
    from django.contrib.sessions.models import Session

    assert Session.objects.count() == 0


def test_a_csrf_token_is_not_needed(api_catalog):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, RECS, {"n": 1}).status_code == 200


# -- invalid input: 400 naming the field, never a 500 -----------------------------------------
R = errors
INVALID = [
    ({"ratings": [{"movie_id": 1, "rating": 7}]}, "ratings[0].rating", R.ERROR_RATING_OUT_OF_RANGE),
    ({"ratings": [{"movie_id": 1, "rating": 0}]}, "ratings[0].rating", R.ERROR_RATING_OUT_OF_RANGE),
    ({"ratings": [{"movie_id": 1, "rating": 4}, {"movie_id": 2, "rating": 3.7}]}, "ratings[1].rating",
     R.ERROR_RATING_NOT_HALF_STEP),
    ({"ratings": [{"movie_id": 1, "rating": "4.5"}]}, "ratings[0].rating", R.ERROR_RATING_NOT_A_NUMBER),
    ({"ratings": [{"movie_id": 1, "rating": True}]}, "ratings[0].rating", R.ERROR_RATING_NOT_A_NUMBER),
    ({"ratings": [{"movie_id": 1, "rating": None}]}, "ratings[0].rating", R.ERROR_RATING_NOT_A_NUMBER),
    ({"ratings": [{"movie_id": 1}]}, "ratings[0].rating", R.ERROR_REQUIRED),
    ({"ratings": [{"rating": 4}]}, "ratings[0].movie_id", R.ERROR_REQUIRED),
    ({"ratings": [{"movie_id": 1, "rating": 4, "when": 1}]}, "ratings[0].when", R.ERROR_UNKNOWN_FIELD),
    ({"ratings": [{"movie_id": 12345, "rating": 4}]}, "ratings[0].movie_id", R.ERROR_UNKNOWN_MOVIE),
    ({"ratings": [{"movie_id": 3, "rating": 4}, {"movie_id": 12345, "rating": 4}]}, "ratings[1].movie_id",
     R.ERROR_UNKNOWN_MOVIE),
    ({"ratings": [{"movie_id": 1, "rating": 4}, {"movie_id": 1, "rating": 2}]}, "ratings[1].movie_id",
     R.ERROR_DUPLICATE_MOVIE),
    ({"ratings": [{"movie_id": True, "rating": 4}]}, "ratings[0].movie_id", R.ERROR_NOT_AN_ID),
    ({"ratings": [{"movie_id": 1.5, "rating": 4}]}, "ratings[0].movie_id", R.ERROR_NOT_AN_ID),
    ({"ratings": [{"movie_id": "1", "rating": 4}]}, "ratings[0].movie_id", R.ERROR_NOT_AN_ID),
    ({"ratings": [{"movie_id": 2**31, "rating": 4}]}, "ratings[0].movie_id", R.ERROR_NOT_AN_ID),
    ({"ratings": [[1, 4]]}, "ratings[0]", R.ERROR_NOT_AN_OBJECT),
    ({"ratings": {"1": 4}}, "ratings", R.ERROR_NOT_A_LIST),
    ({"ratings": [{"movie_id": i, "rating": 4} for i in range(1, 52)]}, "ratings",
     R.ERROR_TOO_MANY_ITEMS.format(limit=50)),
    ({"n": 0}, "n", R.ERROR_N_OUT_OF_RANGE.format(limit=100)),
    ({"n": 101}, "n", R.ERROR_N_OUT_OF_RANGE.format(limit=100)),
    ({"n": True}, "n", R.ERROR_N_OUT_OF_RANGE.format(limit=100)),
    ({"n": 5.5}, "n", R.ERROR_N_OUT_OF_RANGE.format(limit=100)),
    ({"n": "5"}, "n", R.ERROR_N_OUT_OF_RANGE.format(limit=100)),
    ({"diversify": "false"}, "diversify", R.ERROR_NOT_A_BOOLEAN),
    ({"diversify": 0}, "diversify", R.ERROR_NOT_A_BOOLEAN),
    ({"exclude": [1, False]}, "exclude[1]", R.ERROR_NOT_AN_ID),
    ({"exclude": 3}, "exclude", R.ERROR_NOT_A_LIST),
    ({"exclude": list(range(1, 52))}, "exclude", R.ERROR_TOO_MANY_ITEMS.format(limit=50)),
    ({"candidates": [0]}, "candidates[0]", R.ERROR_NOT_AN_ID),
    ({"candidates": "1,2"}, "candidates", R.ERROR_NOT_A_LIST),
    ({"seed": -1}, "seed", R.ERROR_SEED),
    ({"seed": True}, "seed", R.ERROR_SEED),
    ({"ratngs": []}, "ratngs", R.ERROR_UNKNOWN_FIELD),
]


@pytest.mark.parametrize("body, field, message", INVALID)
def test_invalid_recommendation_requests_are_400s_naming_the_field(client, api_catalog, body, field, message):
    response = post(client, RECS, body)
    matches_schema(response, "/api/recommendations", "post")
    assert error_of(response) == (400, field, message)


@pytest.mark.parametrize("raw, message", [
    (b"{not json", R.ERROR_BODY_NOT_JSON),
    (b"", R.ERROR_BODY_NOT_JSON),
    (b'{"n": NaN}', R.ERROR_BODY_NOT_JSON),
    (b'{"ratings": [{"movie_id": 1, "rating": Infinity}]}', R.ERROR_BODY_NOT_JSON),
    (b"\xff\xfe\x00garbage", R.ERROR_BODY_NOT_JSON),
    (b"[" * 100_000 + b"]" * 100_000, R.ERROR_BODY_NOT_JSON),
    (b"[1, 2]", R.ERROR_BODY_NOT_OBJECT),
    (b'"text"', R.ERROR_BODY_NOT_OBJECT),
    (b"null", R.ERROR_BODY_NOT_OBJECT),
])
def test_a_body_that_is_not_a_json_object_is_a_400(client, api_catalog, settings, raw, message):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000
    response = post(client, RECS, raw)
    assert error_of(response) == (400, "body", message)


def test_an_oversized_body_is_a_413(client, api_catalog, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"exclude": list(range(1, 400))}
    response = post(client, RECS, body)
    matches_schema(response, "/api/recommendations", "post")
    assert error_of(response) == (413, "body", R.ERROR_BODY_TOO_LARGE.format(limit=1000))
    response = post(client, PREDS, {"movie_ids": list(range(1, 400))})
    assert response.status_code == 413


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_wrong_methods_are_405_json(client, api_catalog, method):
    response = getattr(client, method)(RECS)
    body = matches_schema(response, "/api/recommendations", "post")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert body["error"] == {"field": None,
                             "message": R.ERROR_METHOD_NOT_ALLOWED.format(method=method.upper(), allowed="POST")}
    assert client.post(f"/api/movielens-users/{ML_USER}/recommendations").status_code == 405
    assert client.post("/api/schema").status_code == 405
    assert client.get(PREDS).status_code == 405


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": {"field": None, "message": R.ERROR_NOT_FOUND}}


# -- engine failures and guarantees ----------------------------------------------------------
def test_an_engine_failure_is_a_503_not_a_500(client, api_catalog, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the model file vanished")

    monkeypatch.setattr(recommender, "recommend", broken)
    monkeypatch.setattr(recommender, "predict", broken)
    response = post(client, RECS, {"n": 3})
    matches_schema(response, "/api/recommendations", "post")
    assert error_of(response) == (503, None, R.ERROR_ENGINE_UNAVAILABLE)
    assert post(client, PREDS, {"movie_ids": [1]}).status_code == 503
    assert client.get(f"/api/movielens-users/{ML_USER}/recommendations").status_code == 503


def test_rated_excluded_unknown_and_non_candidate_movies_never_come_back(client, api_catalog):
    """The engine filters (here its popularity answer, no model yet); the API passes its list on."""
    body = post(client, RECS, {"ratings": [{"movie_id": 1, "rating": 4}], "exclude": [3], "diversify": False,
                               "candidates": [1, 3, 6, 8, 9, 41, 77777], "n": 5}).json()
    # Damped mean of 4.0 stars over 940, 920 and 910 ratings (10 pseudo-ratings of 3.5).
    assert [(item["movie_id"], item["predicted_rating"]) for item in body["recommendations"]] == [
        (6, 3.99), (8, 3.99), (9, 3.99)]


def test_a_ready_model_is_reported(client, api_catalog, monkeypatch):
    trained = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    monkeypatch.setattr(recommender, "model_info", lambda: recommender.ModelInfo(
        status=recommender.STATUS_READY, trained_at=trained, kind="ncf-implicit"))
    body = matches_schema(post(client, RECS, {"n": 2}), "/api/recommendations", "post")
    assert body["model"] == {"status": "ready", "trained_at": "2026-01-02T03:04:05+00:00", "kind": "ncf-implicit"}


# -- POST /api/predictions -------------------------------------------------------------------
def test_predictions_follow_the_requested_order_with_null_for_unknown_movies(client, api_catalog):
    response = post(client, PREDS, {"ratings": [{"movie_id": 1, "rating": 5}], "movie_ids": [3, 99999, 41, 2]})
    body = matches_schema(response, "/api/predictions", "post")
    # The popularity fallback predicts each movie's mean rating; movie 41 has none.
    assert body == {"predictions": [{"movie_id": 3, "predicted_rating": 4.0},
                                    {"movie_id": 99999, "predicted_rating": None},
                                    {"movie_id": 41, "predicted_rating": None},
                                    {"movie_id": 2, "predicted_rating": 4.0}]}


def test_predictions_for_a_movielens_user_fold_in_their_history(client, api_catalog, monkeypatch):
    seen = {}

    def spy(**kwargs):
        seen.update(kwargs)
        return [3.5 for _ in kwargs["movie_ids"]]

    monkeypatch.setattr(recommender, "predict", spy)
    body = matches_schema(post(client, PREDS, {"user_id": ML_USER, "movie_ids": [3, 4]}), "/api/predictions", "post")
    assert body == {"predictions": [{"movie_id": 3, "predicted_rating": 3.5}, {"movie_id": 4, "predicted_rating": 3.5}]}
    assert seen == {"ratings": {1: 5.0, 2: 3.5, 5: 1.0}, "movie_ids": [3, 4], "user_id": ML_USER}


def test_predictions_for_an_unknown_user_are_a_404(client, api_catalog):
    response = post(client, PREDS, {"user_id": 424242, "movie_ids": [1]})
    matches_schema(response, "/api/predictions", "post")
    assert error_of(response) == (404, "user_id", R.ERROR_UNKNOWN_USER)


@pytest.mark.parametrize("body, field, message", [
    ({}, "movie_ids", R.ERROR_REQUIRED),
    ({"movie_ids": [1, "2"]}, "movie_ids[1]", R.ERROR_NOT_AN_ID),
    ({"movie_ids": list(range(1, 52))}, "movie_ids", R.ERROR_TOO_MANY_ITEMS.format(limit=50)),
    ({"movie_ids": [1], "user_id": True}, "user_id", R.ERROR_NOT_AN_ID),
    ({"movie_ids": [1], "user_id": ML_USER, "ratings": []}, "user_id", R.ERROR_RATINGS_AND_USER),
    ({"movie_ids": [1], "ratings": [{"movie_id": 1, "rating": 5.5}]}, "ratings[0].rating",
     R.ERROR_RATING_OUT_OF_RANGE),
    ({"movie_ids": [1], "n": 3}, "n", R.ERROR_UNKNOWN_FIELD),
])
def test_invalid_prediction_requests_are_400s(client, api_catalog, body, field, message):
    response = post(client, PREDS, body)
    matches_schema(response, "/api/predictions", "post")
    assert error_of(response) == (400, field, message)


# -- GET /api/movielens-users/<id>/recommendations ------------------------------------------
def test_movielens_user_recommendations_leave_out_what_they_rated(client, api_catalog):
    response = client.get(f"/api/movielens-users/{ML_USER}/recommendations", {"n": 4, "diversify": "false"})
    body = matches_schema(response, "/api/movielens-users/{user_id}/recommendations", "get")
    assert ids(body) == [3, 4, 6, 7]
    body = client.get(f"/api/movielens-users/{ML_USER}/recommendations").json()
    assert len(body["recommendations"]) == 10 and not {1, 2, 5} & set(ids(body))


def test_movielens_user_recommendations_pass_the_user_and_history_to_the_engine(client, api_catalog, monkeypatch):
    seen = {}

    def spy(**kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(recommender, "recommend", spy)
    client.get(f"/api/movielens-users/{ML_USER}/recommendations", {"n": 3, "seed": 9})
    assert seen == {"ratings": {1: 5.0, 2: 3.5, 5: 1.0}, "exclude": frozenset(), "candidates": None, "n": 3,
                    "diversify": True, "seed": 9, "user_id": ML_USER}


@pytest.mark.parametrize("user_id", [424242, 0, 2**40])
def test_an_unknown_movielens_user_is_a_404(client, api_catalog, user_id):
    response = client.get(f"/api/movielens-users/{user_id}/recommendations")
    matches_schema(response, "/api/movielens-users/{user_id}/recommendations", "get")
    assert error_of(response) == (404, "user_id", R.ERROR_UNKNOWN_USER)


@pytest.mark.parametrize("query, field, message", [
    ({"n": "0"}, "n", R.ERROR_N_OUT_OF_RANGE.format(limit=100)),
    ({"n": "ten"}, "n", R.ERROR_N_OUT_OF_RANGE.format(limit=100)),
    ({"n": "9" * 30}, "n", R.ERROR_N_OUT_OF_RANGE.format(limit=100)),
    ({"diversify": "maybe"}, "diversify", R.ERROR_NOT_A_BOOLEAN),
    ({"seed": "-3"}, "seed", R.ERROR_SEED),
])
def test_bad_query_parameters_are_400s(client, api_catalog, query, field, message):
    response = client.get(f"/api/movielens-users/{ML_USER}/recommendations", query)
    matches_schema(response, "/api/movielens-users/{user_id}/recommendations", "get")
    assert error_of(response) == (400, field, message)


# -- the schema itself -----------------------------------------------------------------------
def test_the_schema_is_served_and_describes_every_api_route(client):
    response = client.get("/api/schema")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"] == "3.1.0"
    for schema in spec["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    resolver = get_resolver()
    api = next(p for p in resolver.url_patterns if isinstance(p, URLResolver) and str(p.pattern) == "api/")
    routes = {"/api/" + str(p.pattern).replace("<int:user_id>", "{user_id}") for p in api.url_patterns
              if isinstance(p, URLPattern) and p.name != "not_found"}
    assert routes == set(spec["paths"])


def test_the_request_schemas_accept_what_the_api_accepts_and_reject_what_it_rejects(client, api_catalog):
    spec = openapi_schema()

    def valid(name, body):
        schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        return jsonschema.Draft202012Validator(schema).is_valid(body)

    good = {"ratings": [{"movie_id": 1, "rating": 4.5}], "n": 3, "diversify": False, "exclude": [2],
            "candidates": [3, 4], "seed": 1}
    assert valid("RecommendationsRequest", good) and post(client, RECS, good).status_code == 200
    for body, _field, message in INVALID:
        if message in (R.ERROR_UNKNOWN_MOVIE, R.ERROR_DUPLICATE_MOVIE):
            continue  # the catalog and duplicate ids are beyond a static schema (documented in words)
        assert not valid("RecommendationsRequest", body), body
    assert valid("PredictionsRequest", {"user_id": 7, "movie_ids": [1]})
    assert not valid("PredictionsRequest", {"user_id": 7, "ratings": [], "movie_ids": [1]})


# -- fuzzing ---------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)
rating_items = st.fixed_dictionaries({"movie_id": st.integers(-2, 45) | json_values,
                                      "rating": st.sampled_from([0.5, 1, 2.5, 4.5, 5, 7, 3.3, 0]) | json_values})
api_fields = st.dictionaries(
    st.sampled_from(["ratings", "n", "diversify", "exclude", "candidates", "seed", "movie_ids", "user_id"]),
    st.lists(rating_items, max_size=4) | st.lists(st.integers(-1, 45), max_size=6) | st.integers(-1, 120)
    | json_values,
    max_size=6,
)
bodies = (api_fields.map(json.dumps) | json_values.map(json.dumps) | st.binary(max_size=40)).map(
    lambda body: body if isinstance(body, bytes) else body.encode())


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, url=st.sampled_from([RECS, PREDS]))
def test_fuzz_any_body_gets_a_documented_json_answer(client, api_catalog, body, url):
    response = client.post(url, data=body, content_type="application/json")
    assert response.status_code in {200, 400, 404, 413}
    assert response.status_code != 404 or url == PREDS
    matches_schema(response, url, "post")


def test_the_request_schemas_name_exactly_the_fields_the_validators_take():
    schemas = openapi_schema()["components"]["schemas"]
    assert set(schemas["RecommendationsRequest"]["properties"]) == errors.RECOMMENDATIONS_FIELDS
    assert set(schemas["PredictionsRequest"]["properties"]) == errors.PREDICTIONS_FIELDS
    assert schemas["PredictionsRequest"]["required"] == ["movie_ids"]


# Values on both sides of every documented limit, so the schema and the validators must agree on each.
edge_numbers = st.sampled_from([0, 1, 2, 2.0, 2.5, 20, 100, 101, 2**31 - 1, 2**31, 2**32 - 1, 2**32, -1, 4.5, 5,
                                5.5, 0.5, 0.25, 10**309, None, True, "3", [], {}])
edge_ratings = st.lists(st.fixed_dictionaries({"movie_id": st.sampled_from([1, 2, 3, 0, 2**31, "1", 1.5]),
                                               "rating": edge_numbers}), max_size=3, unique_by=lambda r: r["movie_id"])
edge_ids = st.lists(st.sampled_from([1, 2, 40, 41, 0, -1, 2**31 - 1, 2**31, 2.0, "2", None]), max_size=3)
edge_bodies = st.dictionaries(
    st.sampled_from(["ratings", "n", "diversify", "exclude", "candidates", "seed", "user_id", "movie_ids", "extra"]),
    edge_ratings | edge_ids | edge_numbers | st.booleans(), max_size=4)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=edge_bodies, url=st.sampled_from([RECS, PREDS]))
def test_the_schema_and_the_validators_give_the_same_verdict(client, api_catalog, body, url):
    """Whatever a client sends, the published schema accepts it exactly when the API does. The
    catalog check (every rated movie exists, user 7 has ratings) is beyond a static schema, so
    bodies naming a movie or user the catalog lacks are left out."""
    ratings = body.get("ratings")
    rated = [r.get("movie_id") for r in ratings if isinstance(r, dict)] if isinstance(ratings, list) else []
    if any(isinstance(m, int) and not isinstance(m, bool) and not 1 <= m <= 40 and 1 <= m < 2**31 for m in rated):
        return
    if url == PREDS and isinstance(body.get("user_id"), int) and body["user_id"] not in (7, True) \
            and 1 <= body["user_id"] < 2**31:
        return
    name = "RecommendationsRequest" if url == RECS else "PredictionsRequest"
    spec = openapi_schema()
    schema_ok = jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                                 "components": spec["components"]}).is_valid(body)
    response = post(client, url, body)
    assert (response.status_code == 200) == schema_ok, (body, response.json())


# -- crafted numbers and unexpected errors (issue 13): always a JSON 4xx/5xx, never an HTML 500 ------
HUGE_INT = "1" + "0" * 309  # a JSON integer that float() cannot hold


@pytest.mark.parametrize("url, extra", [(RECS, {}), (PREDS, {"movie_ids": [2]})])
def test_a_rating_of_310_digits_is_out_of_range_not_a_500(client, api_catalog, url, extra):
    body = '{"ratings": [{"movie_id": 1, "rating": %s}]%s}' % (
        HUGE_INT, "".join(f', "{k}": {json.dumps(v)}' for k, v in extra.items()))
    response = post(client, url, body)
    assert error_of(response) == (400, "ratings[0].rating", errors.ERROR_RATING_OUT_OF_RANGE)
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("field", ["n", "seed"])
def test_a_310_digit_n_or_seed_is_a_400(client, api_catalog, field):
    response = post(client, RECS, '{"%s": %s}' % (field, HUGE_INT))
    message = errors.ERROR_SEED if field == "seed" else errors.ERROR_N_OUT_OF_RANGE.format(limit=100)
    assert error_of(response) == (400, field, message)


@pytest.mark.parametrize("query, field", [
    ("n=--5", "n"), ("n=²", "n"), ("n=٣", "n"), ("n=1_0", "n"), ("n=-5", "n"), ("n=" + "9" * 40, "n"),
    ("seed=²", "seed"), ("seed=--1", "seed"), ("seed=-1", "seed"), ("seed=1_0", "seed"), ("seed=4294967296", "seed"),
])
def test_crafted_query_numbers_are_a_json_400(client, api_catalog, query, field):
    response = client.get(f"/api/movielens-users/{ML_USER}/recommendations?{query}")
    message = errors.ERROR_SEED if field == "seed" else errors.ERROR_N_OUT_OF_RANGE.format(limit=100)
    assert error_of(response) == (400, field, message)


def test_query_numbers_in_ascii_digits_still_work(client, api_catalog):
    response = client.get(f"/api/movielens-users/{ML_USER}/recommendations?n=2&seed=4294967295&diversify=false")
    assert response.status_code == 200 and len(response.json()["recommendations"]) == 2


def test_an_unexpected_error_under_api_is_a_json_500(client, api_catalog, monkeypatch):
    """Not an engine failure (that is a 503) but a bug outside it: the API's error shape, not the HTML page."""
    from movies.api import views as api
    from movies.middleware import ERROR_INTERNAL

    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(api, "movie_items", broken)
    client.raise_request_exception = False
    response = post(client, RECS, {"n": 3})
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"field": None, "message": ERROR_INTERNAL}}


def test_head_on_the_schema_and_user_endpoint(client, api_catalog):
    assert client.head("/api/schema").status_code == 200
    assert client.head(f"/api/movielens-users/{ML_USER}/recommendations").status_code == 200


@pytest.mark.django_db
def test_a_real_history_of_5000_ratings_is_accepted_with_the_default_limits(client, settings):
    """Real MovieLens users rate thousands of movies; the default limits take a 5,000-rating history
    (about 190 KB of JSON) and refuse the 5,001st rating by name."""
    from recommender_site.settings import base

    settings.API_MAX_ITEMS, settings.DATA_UPLOAD_MAX_MEMORY_SIZE = base.API_MAX_ITEMS, base.DATA_UPLOAD_MAX_MEMORY_SIZE
    Movie.objects.bulk_create(Movie(id=k, title=f"Film {k}", rating_count=10 + k % 7, rating_mean=3.5)
                              for k in range(1, 5002))
    ratings = [{"movie_id": k, "rating": 0.5 + (k % 10) / 2} for k in range(1, 5001)]
    response = post(client, RECS, {"ratings": ratings, "n": 5, "diversify": False})
    assert response.status_code == 200
    assert len(response.json()["recommendations"]) == 1  # only movie 5001 is unrated
    assert response.json()["recommendations"][0]["movie_id"] == 5001
    too_many = post(client, RECS, {"ratings": [*ratings, {"movie_id": 5001, "rating": 4}]})
    assert error_of(too_many) == (400, "ratings", R.ERROR_TOO_MANY_ITEMS.format(limit=5000))


def test_recommendations_carry_the_natural_and_the_movielens_title(client, api_catalog):
    Movie.objects.filter(pk=4).update(title="Matrix, The")
    response = post(client, RECS, {"ratings": [{"movie_id": 1, "rating": 4.5}], "n": 3, "diversify": False})
    body = matches_schema(response, "/api/recommendations", "post")
    matrix = next(item for item in body["recommendations"] if item["movie_id"] == 4)
    assert (matrix["title"], matrix["movielens_title"]) == ("The Matrix", "Matrix, The")
