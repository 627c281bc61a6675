"""Visitor writes: ratings are validated half stars, skips and hides stick, start over, merge on sign-in."""
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from movies import services
from movies.models import Visitor, VisitorMovieFlag, VisitorRating
from tests.movies.conftest import make_movie

pytestmark = pytest.mark.django_db


@pytest.fixture
def movies():
    return [make_movie(i, f"Film {i}", rating_count=10) for i in (1, 2, 3)]


@pytest.fixture
def visitor():
    return Visitor.objects.create()


@pytest.mark.parametrize("raw, expected", [("4.5", 4.5), ("0.5", 0.5), ("5", 5.0), ("3.0", 3.0), (" 2.50 ", 2.5), (1, 1.0)])
def test_rating_parse_accepts_half_steps(raw, expected):
    assert services.rating_parse(value=raw) == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("7", services.ERROR_RATING_OUT_OF_RANGE),
        ("0", services.ERROR_RATING_OUT_OF_RANGE),
        ("-1", services.ERROR_RATING_OUT_OF_RANGE),
        ("4.3", services.ERROR_RATING_NOT_HALF_STEP),
        ("4.25", services.ERROR_RATING_NOT_HALF_STEP),
        ("abc", services.ERROR_RATING_NOT_A_NUMBER),
        ("nan", services.ERROR_RATING_NOT_A_NUMBER),
        ("inf", services.ERROR_RATING_NOT_A_NUMBER),
        ("", services.ERROR_RATING_NOT_A_NUMBER),
        (True, services.ERROR_RATING_NOT_A_NUMBER),
    ],
)
def test_rating_parse_rejects_with_a_clear_message(raw, message):
    with pytest.raises(ValidationError) as caught:
        services.rating_parse(value=raw)
    assert caught.value.messages == [message]


def test_rating_record_stores_and_changes_one_row(movies, visitor):
    services.rating_record(visitor=visitor, movie_id=1, rating="4.5")
    services.rating_record(visitor=visitor, movie_id=1, rating="3")
    assert list(VisitorRating.objects.values_list("movie_id", "rating")) == [(1, 3.0)]


def test_rating_record_rejects_unknown_movie_and_stores_nothing(movies, visitor):
    for bad in (999, "abc", -1, None, 2**40):
        with pytest.raises(ValidationError) as caught:
            services.rating_record(visitor=visitor, movie_id=bad, rating="4")
        assert caught.value.messages == [services.ERROR_UNKNOWN_MOVIE]
    assert VisitorRating.objects.count() == 0


def test_rating_record_undoes_a_skip_or_hide(movies, visitor):
    services.movie_skip(visitor=visitor, movie_id=1)
    services.movie_hide(visitor=visitor, movie_id=1)
    services.rating_record(visitor=visitor, movie_id=1, rating=4)
    assert VisitorMovieFlag.objects.count() == 0


def test_rating_clear_removes_only_that_rating(movies, visitor):
    services.rating_record(visitor=visitor, movie_id=1, rating=4)
    services.rating_record(visitor=visitor, movie_id=2, rating=2)
    assert services.rating_clear(visitor=visitor, movie_id=1) is True
    assert services.rating_clear(visitor=visitor, movie_id=1) is False
    assert list(VisitorRating.objects.values_list("movie_id", flat=True)) == [2]


def test_skip_and_hide_are_idempotent_flags(movies, visitor):
    services.movie_skip(visitor=visitor, movie_id=2)
    services.movie_skip(visitor=visitor, movie_id=2)
    services.movie_hide(visitor=visitor, movie_id=3)
    assert sorted(VisitorMovieFlag.objects.values_list("movie_id", "kind")) == [(2, "skipped"), (3, "hidden")]


def test_visitor_reset_clears_ratings_and_flags_of_that_visitor_only(movies, visitor):
    other = Visitor.objects.create()
    services.rating_record(visitor=visitor, movie_id=1, rating=4)
    services.movie_skip(visitor=visitor, movie_id=2)
    services.rating_record(visitor=other, movie_id=1, rating=2)
    assert services.visitor_reset(visitor=visitor) == (1, 1)
    assert list(VisitorRating.objects.values_list("visitor_id", flat=True)) == [other.id]
    assert VisitorMovieFlag.objects.count() == 0


def test_visitor_get_or_create_remembers_the_visitor_in_the_session():
    session = {}
    first = services.visitor_get_or_create(session=session)
    again = services.visitor_get_or_create(session=session)
    assert first.pk == again.pk
    assert session[services.VISITOR_SESSION_KEY] == str(first.pk)
    assert Visitor.objects.count() == 1


def test_visitor_get_ignores_a_garbage_or_stale_session_value():
    assert services.visitor_get(session={services.VISITOR_SESSION_KEY: "not-a-uuid"}) is None
    assert services.visitor_get(session={services.VISITOR_SESSION_KEY: "00000000-0000-0000-0000-000000000000"}) is None


def test_anonymous_session_never_reads_an_accounts_visitor():
    user = User.objects.create_user("ann", password="pw-long-enough-1")
    owned = Visitor.objects.create(user=user)
    assert services.visitor_get(session={services.VISITOR_SESSION_KEY: str(owned.pk)}) is None


def test_merge_into_new_account_adopts_the_anonymous_visitor(movies, visitor):
    user = User.objects.create_user("bob", password="pw-long-enough-1")
    services.rating_record(visitor=visitor, movie_id=1, rating=4.5)
    session = {}
    account = services.visitor_merge_into_user(visitor=visitor, user=user, session=session)
    assert account.pk == visitor.pk
    assert account.user == user
    assert session[services.VISITOR_SESSION_KEY] == str(account.pk)


def test_merge_into_existing_account_moves_ratings_and_flags_newest_wins(movies, visitor):
    user = User.objects.create_user("cy", password="pw-long-enough-1")
    account = Visitor.objects.create(user=user)
    services.rating_record(visitor=account, movie_id=1, rating=1.0)
    services.movie_skip(visitor=account, movie_id=2)
    services.rating_record(visitor=visitor, movie_id=1, rating=5.0)  # the latest word on movie 1
    services.rating_record(visitor=visitor, movie_id=2, rating=3.5)  # rated now, so no longer skipped
    services.movie_hide(visitor=visitor, movie_id=3)

    merged = services.visitor_merge_into_user(visitor=visitor, user=user)

    assert merged.pk == account.pk
    assert not Visitor.objects.filter(pk=visitor.pk).exists()
    assert sorted(VisitorRating.objects.filter(visitor=account).values_list("movie_id", "rating")) == [(1, 5.0), (2, 3.5)]
    assert list(VisitorMovieFlag.objects.filter(visitor=account).values_list("movie_id", "kind")) == [(3, "hidden")]


def test_merge_with_a_stale_visitor_already_adopted_by_the_account_deletes_nothing(movies, visitor):
    """Two page loads after sign-in both read the anonymous visitor; the second merge is a no-op."""
    user = User.objects.create_user("dee", password="pw-long-enough-1")
    services.rating_record(visitor=visitor, movie_id=1, rating=4.0)
    stale = Visitor.objects.get(pk=visitor.pk)  # read by the second request before the first merged
    first = services.visitor_merge_into_user(visitor=visitor, user=user)
    second = services.visitor_merge_into_user(visitor=stale, user=user)
    assert first.pk == second.pk == visitor.pk
    assert list(VisitorRating.objects.filter(visitor__user=user).values_list("movie_id", flat=True)) == [1]


def test_merge_with_a_stale_visitor_already_merged_into_an_existing_account_keeps_everything(movies, visitor):
    user = User.objects.create_user("eve", password="pw-long-enough-1")
    account = Visitor.objects.create(user=user)
    services.rating_record(visitor=account, movie_id=2, rating=2.0)
    services.rating_record(visitor=visitor, movie_id=1, rating=4.0)
    stale = Visitor.objects.get(pk=visitor.pk)
    services.visitor_merge_into_user(visitor=visitor, user=user)
    assert services.visitor_merge_into_user(visitor=stale, user=user).pk == account.pk
    assert sorted(VisitorRating.objects.filter(visitor=account).values_list("movie_id", flat=True)) == [1, 2]


def test_merge_never_hands_a_visitor_of_another_account_to_this_one(movies):
    owner = User.objects.create_user("fay", password="pw-long-enough-1")
    owned = Visitor.objects.create(user=owner)
    services.rating_record(visitor=owned, movie_id=1, rating=4.0)
    other = User.objects.create_user("gus", password="pw-long-enough-1")
    account = services.visitor_merge_into_user(visitor=owned, user=other)
    assert account.user == other and account.pk != owned.pk
    assert VisitorRating.objects.get().visitor_id == owned.pk


def test_two_first_writes_from_one_new_session_get_the_same_visitor():
    """Both requests load the session before either saved a visitor id in it: one visitor, keyed by the session."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["grid_seed"] = 7
    session.save()
    first, second = SessionStore(session.session_key), SessionStore(session.session_key)
    assert services.visitor_get_or_create(session=first).pk == services.visitor_get_or_create(session=second).pk
    assert Visitor.objects.count() == 1


def test_the_first_write_of_a_cookieless_request_saves_a_session_to_key_the_visitor_by():
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    visitor = services.visitor_get_or_create(session=session)
    assert session.session_key is not None
    assert visitor.session_hash is not None and session.session_key not in visitor.session_hash
