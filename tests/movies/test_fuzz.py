"""Fuzzing every endpoint with hypothesis: no input, however crafted, gets a 500 (issue 13).

Request builders draw a method, the endpoint's own fields (plus stray ones) and values from a
mix of crafted strings (superscript and non-ASCII digits, "--5", 310-digit numbers, CR/LF,
off-site and non-path ``next`` values) and arbitrary text or JSON. The test client re-raises
any exception a view lets out, and every answer must be below 500; under /api/ it must be JSON.
Run with ``--hypothesis-show-statistics`` to see the number of cases. The builders were checked
against the code before the fix: they find the OverflowError, the int("²") and "--5" ValueErrors
and the NoReverseMatch from ``next``.
"""
import json
import os

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from movies.engine import recommender
from movies.models import Rating
from tests.movies.conftest import FETCH, make_catalog

pytestmark = pytest.mark.django_db

HUGE = "1" + "0" * 309
CRAFTED = ["", "0", "1", "5", "-1", "--5", "²", "٣", "１", "1_0", " 7 ", "1e3", "4.5", "nan", "inf", HUGE, "9" * 40,
           "\r\n", "a\r\nSet-Cookie: x=y", "abc", "home", "a b", "//evil.example/", "/\\evil", "https://evil.example/",
           "javascript:alert(1)", "/search/?q=x", "/", "\x00", "a,,-1,99999999999,²,1,2"]
# Crafted values drawn half the time (one_of picks a branch uniformly).
TEXT = st.one_of(st.sampled_from(CRAFTED), st.sampled_from(CRAFTED), st.text(max_size=30), st.integers().map(str))
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**320), max_value=10**320),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10),
                        st.sampled_from([HUGE, "²", "--5", 10**309, -(10**309), 1e308, 2**31, 2**32]))
JSON_VALUE = st.recursive(JSON_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=12)
NUMBERS = [10**309, -(10**309), 1e308, 4.5, 5, 0.5, 0, 2**31, 2**32, 7.0]
MOVIE_ID = st.one_of(st.integers(1, 45), JSON_VALUE)  # mostly ids in the catalog, so the rating is parsed too
RATING_ITEM = st.one_of(
    st.fixed_dictionaries({"movie_id": MOVIE_ID, "rating": st.one_of(st.sampled_from(NUMBERS), JSON_VALUE)}),
    st.fixed_dictionaries({}, optional={"movie_id": JSON_VALUE, "rating": JSON_VALUE, "extra": JSON_SCALAR}),
)
RATINGS = st.one_of(st.lists(st.one_of(RATING_ITEM, JSON_SCALAR), max_size=4), JSON_VALUE)
NUMBER = st.one_of(st.sampled_from(NUMBERS), JSON_VALUE)
IDS = st.one_of(st.lists(MOVIE_ID, max_size=4), JSON_VALUE)
RECS_BODY = st.fixed_dictionaries({}, optional={"ratings": RATINGS, "n": NUMBER, "diversify": JSON_VALUE,
                                               "exclude": IDS, "candidates": IDS, "seed": NUMBER,
                                               "stray": JSON_SCALAR})
PREDS_BODY = st.fixed_dictionaries({}, optional={"ratings": RATINGS, "user_id": st.one_of(st.just(7), JSON_VALUE),
                                                "movie_ids": IDS, "stray": JSON_SCALAR})
RAW_BODY = st.one_of(st.binary(max_size=40), st.sampled_from([b"", b"[]", b"null", b"NaN", b"{", b'{"n": 1e999}',
                                                              ('{"n": %s}' % HUGE).encode()]))
METHODS = st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"])
# FUZZ_EXAMPLES=3000 for a longer run; 300 per test keeps the suite quick.
FUZZ = hsettings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def popularity_engine(settings, tmp_path):
    settings.MODEL_DIR = tmp_path / "models"
    settings.MOVIELENS_DIR = tmp_path / "no-movielens"
    settings.CACHE_DIR = tmp_path / "cache"
    settings.API_MAX_ITEMS = 50
    recommender.reset_engine()
    yield
    recommender.reset_engine()


@pytest.fixture
def fuzz_catalog(db):
    make_catalog(40)
    for movie_id, stars in [(1, 5.0), (2, 3.5), (5, 1.0)]:
        Rating.objects.create(user_id=7, movie_id=movie_id, rating=stars, timestamp=0)


def send(method: str, url: str, *, data=None, query=None, fetch=False, body: bytes | None = None):
    client = Client()  # a new visitor every time; exceptions a view lets out are re-raised here
    extra = FETCH if fetch else {}
    handler = getattr(client, method.lower())
    if body is not None:
        return handler(url, data=body, content_type="application/json", QUERY_STRING=query or "", **extra)
    if method in ("GET", "HEAD"):
        return handler(url, data or {}, **extra)
    return handler(url + (f"?{query}" if query else ""), data or {}, **extra) if method == "POST" else handler(url)


def check(response, url: str):
    assert response.status_code < 500, (url, response.status_code, response.content[:300])
    if url.startswith("/api/"):
        assert response["Content-Type"] == "application/json"


PAGE_FIELDS = {
    "/": ["seed"], "/recommendations/": ["seed"], "/search/": ["q"], "/start-over/": ["confirm"],
    "/rate/": ["movie_id", "rating", "clear", "next"], "/skip/": ["movie_id", "shown", "next"],
    "/hide/": ["movie_id", "next", "seed"], "/accounts/signup/": ["username", "password1", "password2"],
    "/accounts/login/": ["username", "password", "next"], "/healthz": [], "/movies/1/": [], "/movies/99999/": [],
}


@FUZZ
@given(url=st.sampled_from(sorted(PAGE_FIELDS)), method=METHODS, fetch=st.booleans(), data=st.data())
def test_pages_never_answer_500(fuzz_catalog, url, method, fetch, data):
    fields = PAGE_FIELDS[url] + ["stray"]
    values = data.draw(st.dictionaries(st.sampled_from(fields), TEXT, max_size=len(fields)))
    seed = data.draw(st.one_of(st.none(), TEXT))
    query = None if seed is None else f"seed={seed}"
    check(send(method, url, data=values, query=query, fetch=fetch), url)


@FUZZ
@given(body=st.one_of(RECS_BODY.map(json.dumps), PREDS_BODY.map(json.dumps), RAW_BODY),
       url=st.sampled_from(["/api/recommendations", "/api/predictions"]), method=METHODS)
def test_api_post_endpoints_never_answer_500(fuzz_catalog, body, url, method):
    raw = body.encode() if isinstance(body, str) else body
    response = send(method, url, body=raw) if method == "POST" else send(method, url)
    check(response, url)


@FUZZ
@given(user=st.one_of(st.sampled_from(["7", "0", "99999999999", HUGE[:40]]), st.integers(0, 10**12).map(str)),
       params=st.dictionaries(st.sampled_from(["n", "diversify", "seed", "stray"]), TEXT, max_size=4),
       method=METHODS, tail=st.sampled_from(["", "x", "schema/", "../healthz", "%00", "²"]))
def test_api_get_endpoints_never_answer_500(fuzz_catalog, user, params, method, tail):
    for url in (f"/api/movielens-users/{user}/recommendations", "/api/schema", f"/api/{tail}"):
        check(send(method, url, data=params) if method in ("GET", "HEAD") else send(method, url), url)
