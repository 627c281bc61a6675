"""Privacy: start over and account deletion remove the ratings from the database; visitor data stays out of logs."""
import logging

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from movies.engine.visitor_ratings import visitor_ratings_frame
from movies.models import Visitor, VisitorMovieFlag, VisitorRating
from movies.web.forms import ERROR_WRONG_PASSWORD
from tests.movies.conftest import FETCH

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-pass-phrase-9"


@pytest.fixture
def signed_in(client, catalog):
    user = User.objects.create_user("kim", password=PASSWORD)
    client.post(reverse("login"), {"username": "kim", "password": PASSWORD})
    client.post(reverse("movies:rate"), {"movie_id": 1, "rating": "4"})
    client.post(reverse("movies:skip"), {"movie_id": 2})
    return user


def test_start_over_says_the_ratings_leave_the_database_and_later_models(client, catalog):
    client.post(reverse("movies:rate"), {"movie_id": 1, "rating": "4"})
    page = client.get(reverse("movies:start_over")).content.decode()
    assert "removed from the site's database, so no model trained from now on learns from them" in page
    client.post(reverse("movies:start_over"), {"confirm": "on"})
    assert VisitorRating.objects.count() == 0 and visitor_ratings_frame().summary["count"] == 0


def test_deleting_an_account_needs_its_password_and_a_ticked_box(client, signed_in):
    page = client.get(reverse("movies:account_delete"))
    assert page.status_code == 200 and "no model trained from now on learns from them" in page.content.decode()
    wrong = client.post(reverse("movies:account_delete"), {"password": "nope", "confirm": "on"})
    assert wrong.status_code == 400 and ERROR_WRONG_PASSWORD in wrong.content.decode()
    assert client.post(reverse("movies:account_delete"), {"password": PASSWORD}).status_code == 400
    assert User.objects.filter(pk=signed_in.pk).exists() and VisitorRating.objects.count() == 1


def test_deleting_an_account_removes_it_and_everything_it_rated_and_signs_out(client, signed_in):
    response = client.post(reverse("movies:account_delete"), {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    assert not User.objects.exists()
    assert (Visitor.objects.count(), VisitorRating.objects.count(), VisitorMovieFlag.objects.count()) == (0, 0, 0)
    assert visitor_ratings_frame().summary["count"] == 0
    assert "_auth_user_id" not in client.session


def test_account_deletion_is_for_signed_in_people_only(client, db):
    response = client.get(reverse("movies:account_delete"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_visitor_data_is_never_logged(client, catalog, caplog):
    """Rate, skip, hide, sign up (merge), start over, every logger at DEBUG: no visitor id, session key, name, stars."""
    caplog.set_level(logging.DEBUG)
    client.post(reverse("movies:rate"), {"movie_id": 3, "rating": "3.5"}, **FETCH)
    client.post(reverse("movies:skip"), {"movie_id": 4}, **FETCH)
    client.post(reverse("movies:hide"), {"movie_id": 5}, **FETCH)
    anonymous = Visitor.objects.get()
    session_key = client.session.session_key
    client.post(reverse("movies:signup"), {"username": "lou", "password1": PASSWORD, "password2": PASSWORD})
    client.get(reverse("movies:home"))
    client.post(reverse("movies:start_over"), {"confirm": "on"})
    logged = caplog.text
    for secret in (str(anonymous.pk), anonymous.pk.hex, session_key, "lou", "3.5"):
        assert secret not in logged
