"""Session lifetimes: short while it only looked, long once it wrote or signed in; expired ones are swept."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from movies import sessions

pytestmark = pytest.mark.django_db


def _expires_in(client) -> timedelta:
    return Session.objects.get(pk=client.cookies["sessionid"].value).expire_date - timezone.now()


@pytest.fixture(autouse=True)
def fresh_sweep_clock(monkeypatch):
    monkeypatch.setattr(sessions, "_last_sweep", None)


def test_a_cookieless_page_view_gets_a_short_lived_session(client, catalog, settings):
    settings.SESSION_ANONYMOUS_AGE = 600
    client.get(reverse("movies:home"))
    assert timedelta(seconds=590) < _expires_in(client) <= timedelta(seconds=600)


def test_the_first_rating_makes_the_session_long_lived(client, catalog, settings):
    settings.SESSION_ANONYMOUS_AGE = 600
    client.get(reverse("movies:home"))
    client.post(reverse("movies:rate"), {"movie_id": 1, "rating": "4"})
    assert _expires_in(client) > timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_signing_in_makes_the_session_long_lived(client, catalog, settings):
    settings.SESSION_ANONYMOUS_AGE = 600
    User.objects.create_user("hal", password="a-long-pass-phrase-9")
    client.get(reverse("movies:home"))
    client.post(reverse("login"), {"username": "hal", "password": "a-long-pass-phrase-9"})
    assert _expires_in(client) > timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_a_page_view_with_a_session_of_a_visitor_keeps_its_lifetime(client, catalog, settings):
    client.post(reverse("movies:rate"), {"movie_id": 1, "rating": "4"})
    client.get(reverse("movies:home"))
    assert _expires_in(client) > timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def _session(expires_in: timedelta) -> Session:
    return Session.objects.create(session_key=f"k{Session.objects.count()}" + "x" * 30, session_data="",
                                  expire_date=timezone.now() + expires_in)


def test_sweep_deletes_expired_sessions_at_most_once_per_interval(settings):
    settings.SESSION_SWEEP_SECONDS = 100
    live = _session(timedelta(hours=1))
    _session(timedelta(seconds=-1))
    assert sessions.sessions_sweep_if_due(now=1000.0) is True
    assert list(Session.objects.all()) == [live]
    _session(timedelta(seconds=-1))
    assert sessions.sessions_sweep_if_due(now=1050.0) is False
    assert Session.objects.count() == 2
    assert sessions.sessions_sweep_if_due(now=1101.0) is True
    assert list(Session.objects.all()) == [live]


def test_sweep_is_off_at_zero(settings):
    settings.SESSION_SWEEP_SECONDS = 0
    _session(timedelta(seconds=-1))
    assert sessions.sessions_sweep_if_due() is False
    assert Session.objects.count() == 1


def test_crawler_page_views_start_the_sweep(client, catalog, settings):
    """Nobody has to schedule clearsessions: a new session sweeps the expired ones."""
    _session(timedelta(seconds=-1))
    client.get(reverse("movies:home"))
    assert Session.objects.count() == 1  # only the crawler's new one
