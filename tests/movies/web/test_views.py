"""Every browser view through Django's test client, with and without the page's script (no-JS flow)."""
import re

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from movies import services
from movies.models import Visitor, VisitorMovieFlag, VisitorRating
from tests.movies.conftest import FETCH

pytestmark = pytest.mark.django_db

CARD_ID = re.compile(rb'<article class="card rate-card[^"]*" data-movie-id="(\d+)"')
REC_ID = re.compile(rb'data-rec-movie-id="(\d+)"')


def card_ids(response) -> list[int]:
    return [int(value) for value in CARD_ID.findall(response.content)]


def rec_ids(response) -> list[int]:
    return [int(value) for value in REC_ID.findall(response.content)]


def rate(client, movie_id, rating, *, fetch=True, **extra):
    data = {"movie_id": movie_id, "rating": rating, **extra}
    return client.post(reverse("movies:rate"), data, **(FETCH if fetch else {}))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Home page --------------------------------------------------------------


def test_home_shows_a_grid_of_twelve_cards_with_movie_ids(client, catalog):
    response = client.get(reverse("movies:home"))
    assert response.status_code == 200
    ids = card_ids(response)
    assert len(ids) == 12 == len(set(ids))
    assert b'name="rating" value="0.5"' in response.content and b'name="rating" value="5.0"' in response.content
    assert b"Rate <strong>3</strong> more movies" in response.content
    assert b"/static/movies/app.js" in response.content and b"https://cdn" not in response.content


def test_home_is_stable_across_reloads(client, catalog):
    assert card_ids(client.get("/")) == card_ids(client.get("/"))


def test_home_query_count_does_not_grow_with_cards(client, catalog, django_assert_max_num_queries):
    for movie_id in (1, 2, 3, 4):
        rate(client, movie_id, "4.0")
    client.get("/")
    with django_assert_max_num_queries(16):
        response = client.get("/")
    assert len(card_ids(response)) == 12 and len(rec_ids(response)) == 10


def test_home_with_an_empty_catalog_still_renders(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert b"catalog is empty" in response.content


def test_home_says_the_model_is_warming_up_while_training(client, catalog):
    for movie_id in (1, 2, 3):
        rate(client, movie_id, "4.0")
    response = client.get("/")
    assert b"warming up" in response.content
    assert len(rec_ids(response)) == 10


def test_home_shows_reasons_and_predicted_stars_on_recommendations(client, catalog, monkeypatch):
    from movies.engine import recommender

    monkeypatch.setattr(
        recommender,
        "recommend",
        lambda **kw: [recommender.Recommendation(7, 2.0, 4.4, "because you rated Film 01 5 stars")],
    )
    for movie_id in (1, 2, 3):
        rate(client, movie_id, "5.0")
    response = client.get("/")
    assert rec_ids(response) == [7]
    assert b"Because you rated Film 01 5 stars" in response.content
    assert b"\xe2\x98\x85 4.4" in response.content  # "★ 4.4" badge


# --- Rating -----------------------------------------------------------------


def test_rating_by_fetch_stores_the_half_star(client, catalog, visitor_of):
    response = rate(client, 5, "4.5")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "movie_id": 5, "rating": 4.5, "rated_count": 1, "ratings_needed": 2}
    assert VisitorRating.objects.get(visitor=visitor_of(client), movie_id=5).rating == 4.5


@pytest.mark.parametrize(
    "rating, message",
    [("7", services.ERROR_RATING_OUT_OF_RANGE), ("4.3", services.ERROR_RATING_NOT_HALF_STEP), ("x", services.ERROR_RATING_NOT_A_NUMBER)],
)
def test_invalid_rating_by_fetch_is_a_400_and_stores_nothing(client, catalog, rating, message):
    response = rate(client, 5, rating)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": message}
    assert VisitorRating.objects.count() == 0


def test_unknown_movie_by_fetch_is_a_400_and_stores_nothing(client, catalog):
    response = rate(client, 99999, "4.0")
    assert response.status_code == 400
    assert response.json()["error"] == services.ERROR_UNKNOWN_MOVIE
    assert VisitorRating.objects.count() == 0


def test_rating_without_script_redirects_back_with_a_message(client, catalog, visitor_of):
    response = rate(client, 5, "3.5", fetch=False, next="/search/?q=film")
    assert response.status_code == 302
    assert response["Location"] == "/search/?q=film"
    assert messages_of(response) == ["Rated 3.5 stars."]
    assert VisitorRating.objects.get(visitor=visitor_of(client), movie_id=5).rating == 3.5


def test_invalid_rating_without_script_flashes_the_error_and_stores_nothing(client, catalog):
    response = rate(client, 5, "7", fetch=False)
    assert response.status_code == 302 and response["Location"] == "/"
    assert messages_of(response) == [services.ERROR_RATING_OUT_OF_RANGE]
    assert VisitorRating.objects.count() == 0


def test_next_pointing_off_site_is_ignored(client, catalog):
    response = rate(client, 5, "3.0", fetch=False, next="https://evil.example/")
    assert response["Location"] == "/"


def test_rating_can_be_changed_and_cleared(client, catalog, visitor_of):
    rate(client, 5, "2.0")
    rate(client, 5, "4.0")
    assert VisitorRating.objects.get(movie_id=5).rating == 4.0
    response = client.post(reverse("movies:rate"), {"movie_id": 5, "clear": "1"}, **FETCH)
    assert response.json()["rating"] is None
    assert VisitorRating.objects.count() == 0


def test_state_changes_refuse_get(client, catalog):
    for name in ("rate", "skip", "hide"):
        assert client.get(reverse(f"movies:{name}")).status_code == 405
    assert VisitorRating.objects.count() == 0 and Visitor.objects.count() == 0


def test_state_changes_require_a_csrf_token(catalog):
    strict = Client(enforce_csrf_checks=True)
    assert rate(strict, 5, "4.0").status_code == 403
    assert VisitorRating.objects.count() == 0


def test_ratings_survive_a_new_client_with_the_same_session_cookie(client, catalog):
    rate(client, 5, "4.5")
    other = Client()
    other.cookies = client.cookies  # a restarted server sees only the cookie and the database
    response = other.get("/")
    assert b'data-rated-movie-id="5"' in response.content
    assert 5 not in card_ids(response)


# --- Skip and hide -------------------------------------------------------------


def test_skip_by_fetch_returns_a_different_card_not_already_shown(client, catalog, visitor_of):
    shown = card_ids(client.get("/"))
    response = client.post(reverse("movies:skip"), {"movie_id": shown[0], "shown": ",".join(map(str, shown))}, **FETCH)
    assert response.status_code == 200
    new = card_ids(response)
    assert len(new) == 1 and new[0] not in shown
    assert VisitorMovieFlag.objects.filter(visitor=visitor_of(client), movie_id=shown[0], kind="skipped").exists()


def test_skipped_movie_never_returns_to_the_grid_but_may_be_recommended(client, catalog):
    # "Haven't seen it" keeps a film off the grid; unseen films stay recommendable. Movie 4 is
    # among the best-rated of the catalog, so the popular picks draw it for some seeds.
    client.post(reverse("movies:skip"), {"movie_id": 4})
    for movie_id in (30, 31, 32):
        rate(client, movie_id, "4.0")
    recommended = set()
    for seed in range(10):
        response = client.get(f"/?seed={seed}")
        assert 4 not in card_ids(response)
        recommended |= set(rec_ids(response))
    assert 4 in recommended
    assert not recommended & {30, 31, 32}


def test_skip_without_script_redirects_home(client, catalog):
    response = client.post(reverse("movies:skip"), {"movie_id": 3, "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert VisitorMovieFlag.objects.filter(movie_id=3, kind="skipped").count() == 1


def test_skip_of_unknown_movie_is_a_400(client, catalog):
    response = client.post(reverse("movies:skip"), {"movie_id": "nope"}, **FETCH)
    assert response.status_code == 400
    assert VisitorMovieFlag.objects.count() == 0


def test_hidden_movie_never_appears_in_recommendations(client, catalog):
    for movie_id in (1, 2, 3):
        rate(client, movie_id, "4.0")
    first = rec_ids(client.get("/?seed=0"))
    response = client.post(reverse("movies:hide") + "?seed=0", {"movie_id": first[0]}, **FETCH)
    assert response.status_code == 200
    assert first[0] not in rec_ids(response) and len(rec_ids(response)) == 10
    for seed in range(8):
        assert first[0] not in rec_ids(client.get(reverse("movies:recommendations") + f"?seed={seed}", **FETCH))


def test_hide_without_script_redirects_to_recommendations(client, catalog):
    response = client.post(reverse("movies:hide"), {"movie_id": 9, "next": "/?seed=2"})
    assert response["Location"] == "/?seed=2#recommendations"
    assert VisitorMovieFlag.objects.filter(movie_id=9, kind="hidden").exists()


# --- Recommendations fragment -------------------------------------------------


def test_recommendations_fragment_appears_after_three_ratings(client, catalog):
    url = reverse("movies:recommendations")
    rate(client, 1, "5.0")
    rate(client, 2, "4.0")
    assert rec_ids(client.get(url, **FETCH)) == []
    rate(client, 3, "3.0")
    response = client.get(url, **FETCH)
    assert response.status_code == 200
    assert b"<html" not in response.content
    ids = rec_ids(response)
    assert len(ids) == 10 and not {1, 2, 3} & set(ids)


def test_show_me_others_draws_a_new_shuffle(client, catalog):
    for movie_id in (1, 2, 3):
        rate(client, movie_id, "4.0")
    url = reverse("movies:recommendations")
    first = rec_ids(client.get(url + "?seed=0", **FETCH))
    assert first == rec_ids(client.get(url + "?seed=0", **FETCH))
    assert first != rec_ids(client.get(url + "?seed=1", **FETCH))
    assert b'data-next-seed="1"' in client.get(url + "?seed=0", **FETCH).content


def test_recommendations_without_script_redirect_to_home(client, catalog):
    response = client.get(reverse("movies:recommendations") + "?seed=4")
    assert response["Location"] == "/?seed=4#recommendations"


def test_no_js_flow_rate_three_then_see_recommendations(client, catalog):
    home = client.get("/")
    for movie_id in card_ids(home)[:3]:
        assert rate(client, movie_id, "4.5", fetch=False, next="/").status_code == 302
    response = client.get("/")
    assert len(rec_ids(response)) == 10
    assert response.content.count(b"data-rated-movie-id=") == 3
    assert b'value="4.5" id="y-' in response.content and b"checked" in response.content


# --- Search and movie page --------------------------------------------------------


def test_search_lists_matches_with_rating_controls(client, named_catalog):
    response = client.get(reverse("movies:search"), {"q": "termintor"})
    assert response.status_code == 200
    assert re.findall(rb'data-search-movie-id="(\d+)"', response.content) == [b"589", b"1240"]
    assert b'name="rating"' in response.content


def test_search_with_an_empty_or_huge_query_is_fine(client, named_catalog):
    assert client.get(reverse("movies:search")).status_code == 200
    assert client.get(reverse("movies:search"), {"q": "x" * 5000}).status_code == 200


def test_movie_page_shows_details_tags_and_similar(client, named_catalog):
    response = client.get(reverse("movies:movie_detail", args=[1]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Toy Story" in content and "A cowboy doll" in content
    assert "average from 215 ratings" in content
    assert content.index(">pixar<") < content.index(">fun<")
    assert 'data-similar-movie-id="4973"' in content  # shares Comedy


def test_movie_page_for_unknown_movie_is_404(client, db):
    assert client.get("/movies/123456/").status_code == 404


# --- Start over, sign up, log in --------------------------------------------------


def test_start_over_needs_a_confirmed_post(client, catalog, visitor_of):
    rate(client, 1, "4.0")
    client.post(reverse("movies:skip"), {"movie_id": 2})
    assert client.get(reverse("movies:start_over")).status_code == 200
    response = client.post(reverse("movies:start_over"), {})
    assert response.status_code == 400
    assert VisitorRating.objects.count() == 1
    response = client.post(reverse("movies:start_over"), {"confirm": "on"})
    assert response.status_code == 302
    assert VisitorRating.objects.count() == 0 and VisitorMovieFlag.objects.count() == 0


def test_signup_moves_the_anonymous_ratings_into_the_account(client, catalog):
    rate(client, 1, "4.5")
    client.post(reverse("movies:skip"), {"movie_id": 2})
    assert client.get(reverse("movies:signup")).status_code == 200
    response = client.post(
        reverse("movies:signup"),
        {"username": "dana", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert response.status_code == 302
    user = User.objects.get(username="dana")
    assert list(VisitorRating.objects.filter(visitor__user=user).values_list("movie_id", "rating")) == [(1, 4.5)]
    assert VisitorMovieFlag.objects.filter(visitor__user=user, movie_id=2).exists()
    assert Visitor.objects.count() == 1


def test_signup_with_bad_data_shows_errors(client, db):
    response = client.post(reverse("movies:signup"), {"username": "x", "password1": "a", "password2": "b"})
    assert response.status_code == 400
    assert User.objects.count() == 0


def test_login_merges_ratings_into_an_existing_account(client, catalog):
    user = User.objects.create_user("erin", password="a-long-pass-phrase-9")
    account = Visitor.objects.create(user=user)
    services.rating_record(visitor=account, movie_id=1, rating=2.0)
    rate(client, 1, "5.0")
    rate(client, 2, "3.0")
    response = client.post(reverse("login"), {"username": "erin", "password": "a-long-pass-phrase-9"})
    assert response.status_code == 302
    client.get("/")
    assert sorted(VisitorRating.objects.values_list("visitor_id", "movie_id", "rating")) == [
        (account.id, 1, 5.0), (account.id, 2, 3.0)
    ]
    # A later logout starts a fresh anonymous session; the account keeps the ratings.
    client.post(reverse("logout"))
    assert b"data-rated-movie-id" not in client.get("/").content
    # Through the login form: django-axes needs the request that client.login() does not pass.
    client.post(reverse("login"), {"username": "erin", "password": "a-long-pass-phrase-9"})
    assert client.get("/").content.count(b"data-rated-movie-id=") == 2


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200 and b'name="password"' in response.content


# --- Crafted input (issue 13): never a 500 -------------------------------------


@pytest.mark.parametrize("url", ["/", "/recommendations/"])
@pytest.mark.parametrize("seed", ["²", "--1", "٣", "1_0", "9" * 40])
def test_a_crafted_seed_is_ignored_not_a_500(client, catalog, url, seed):
    response = client.get(url, {"seed": seed}, **FETCH)
    assert response.status_code == 200


def test_hide_with_a_crafted_seed_answers_the_panel_and_stores_the_flag_once(client, catalog, visitor_of):
    response = client.post(reverse("movies:hide") + "?seed=²", {"movie_id": 7}, **FETCH)
    assert response.status_code == 200
    assert 7 not in rec_ids(response)
    assert list(VisitorMovieFlag.objects.filter(visitor=visitor_of(client)).values_list("movie_id", "kind")) == [
        (7, "hidden")]


def test_skip_ignores_crafted_ids_in_shown(client, catalog, visitor_of):
    response = client.post(reverse("movies:skip"), {"movie_id": 3, "shown": "a,,-1,99999999999,²,٣,1_0,1,2"}, **FETCH)
    assert response.status_code == 200
    assert card_ids(response) and card_ids(response)[0] not in (1, 2, 3)
    assert list(VisitorMovieFlag.objects.values_list("movie_id", "kind")) == [(3, "skipped")]


@pytest.mark.parametrize("movie_id", ["²", "٣", "1_0", " ", "-1", "99999999999", "1" * 30])
def test_a_crafted_movie_id_is_a_400_and_stores_nothing(client, catalog, movie_id):
    response = rate(client, movie_id, "3.0")
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": services.ERROR_UNKNOWN_MOVIE}
    assert VisitorRating.objects.count() == 0


@pytest.mark.parametrize("target", ["abc", "home", "a b", "movies:home", "/x\r\nSet-Cookie: a=b", "/\r\n", "\r\n",
                                    "//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
                                    "/a b"])
def test_a_next_that_is_not_a_same_site_path_redirects_home_after_storing_the_rating(client, catalog, target,
                                                                                       visitor_of):
    response = rate(client, 5, "3.0", fetch=False, next=target)
    assert response.status_code == 302 and response["Location"] == "/"
    assert VisitorRating.objects.get(visitor=visitor_of(client), movie_id=5).rating == 3.0


def test_hide_keeps_a_same_site_next_and_adds_the_anchor(client, catalog):
    response = client.post(reverse("movies:hide"), {"movie_id": 7, "next": "/search/?q=film"})
    assert response.status_code == 302 and response["Location"] == "/search/?q=film#recommendations"


@pytest.mark.parametrize("url", ["/", "/movies/1/", "/search/?q=film", "/recommendations/", "/analytics/"])
def test_read_pages_answer_head(client, catalog, url, monkeypatch):
    from movies.analytics import views as analytics_views

    monkeypatch.setattr(analytics_views, "analytics_get", lambda: type("D", (), {"charts": []})())
    monkeypatch.setattr(analytics_views, "render", lambda request, template, context: HttpResponse("ok"))
    response = client.head(url)
    assert response.status_code in (200, 302)
    assert response.content == b""


@pytest.mark.parametrize("url", ["/", "/movies/1/", "/search/", "/analytics/"])
def test_read_pages_refuse_put(client, catalog, url):
    assert client.put(url).status_code == 405


def test_pages_show_natural_titles(client, named_catalog, visitor_of):
    """MovieLens' "Matrix, The" reads "The Matrix" on the movie page, in search and in the ratings."""
    detail = client.get(reverse("movies:movie_detail", args=[2571])).content.decode()
    assert '<h1 class="detail__title">The Matrix <span class="detail__year">(1999)</span></h1>' in detail
    assert "<title>The Matrix · Reel Picks</title>" in detail
    assert "Matrix, The" not in detail
    found = client.get(reverse("movies:search"), {"q": "matrix the"}).content.decode()
    assert '<a href="/movies/2571/">The Matrix</a>' in found and "Matrix, The" not in found
    rate(client, 4973, "5", fetch=False)
    home = client.get(reverse("movies:home")).content.decode()
    assert "Amélie (Le Fabuleux destin d&#x27;Amélie Poulain)" in home
    assert "Fabuleux destin d&#x27;Amélie Poulain, Le" not in home
