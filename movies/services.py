"""Writes for a visitor's own feedback: ratings, skips, hidden movies, start over, merge on sign-in.

Every function is keyword-only and validates its input before touching the database, raising
``ValidationError`` with one of the message constants below, so a bad request changes nothing.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, MutableMapping
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from movies import sessions
from movies.engine import retrain
from movies.models import RATING_VALUES, Movie, Visitor, VisitorMovieFlag, VisitorRating

# The session key that ties an anonymous browser to its Visitor row.
VISITOR_SESSION_KEY = "visitor_id"

ERROR_UNKNOWN_MOVIE = "That movie is not in the catalog."
ERROR_RATING_NOT_A_NUMBER = "A rating must be a number of stars, like 3.5."
ERROR_RATING_OUT_OF_RANGE = "A rating must be between 0.5 and 5 stars."
ERROR_RATING_NOT_HALF_STEP = "A rating must be a whole or half star (0.5, 1, 1.5 ... 5)."


def rating_parse(*, value) -> float:
    """Turn user input ("4.5", 4.5) into one of RATING_VALUES or raise ValidationError."""
    if isinstance(value, bool):
        raise ValidationError(ERROR_RATING_NOT_A_NUMBER, code="not_a_number")
    try:
        # Decimal keeps "4.50" equal to 4.5 and rejects "nan"/"inf" below via is_finite.
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(ERROR_RATING_NOT_A_NUMBER, code="not_a_number") from None
    if not number.is_finite():
        raise ValidationError(ERROR_RATING_NOT_A_NUMBER, code="not_a_number")
    if number < Decimal("0.5") or number > Decimal("5"):
        raise ValidationError(ERROR_RATING_OUT_OF_RANGE, code="out_of_range")
    if (number * 2) % 1 != 0:
        raise ValidationError(ERROR_RATING_NOT_HALF_STEP, code="not_half_step")
    rating = float(number)
    assert rating in RATING_VALUES
    return rating


def _movie_id_checked(movie_id) -> int:
    try:
        movie_id = int(movie_id)
    except (TypeError, ValueError):
        raise ValidationError(ERROR_UNKNOWN_MOVIE, code="unknown_movie") from None
    if movie_id <= 0 or movie_id > 2**31 - 1 or not Movie.objects.filter(pk=movie_id).exists():
        raise ValidationError(ERROR_UNKNOWN_MOVIE, code="unknown_movie")
    return movie_id


def _visitor_from_session(session: MutableMapping) -> Visitor | None:
    raw = session.get(VISITOR_SESSION_KEY)
    if not raw:
        return None
    try:
        visitor_id = uuid.UUID(str(raw))
    except ValueError:
        return None
    return Visitor.objects.filter(pk=visitor_id).select_related("user").first()


def visitor_get(*, session: MutableMapping, user=None) -> Visitor | None:
    """The current visitor without creating one (reads never create rows)."""
    if user is not None and user.is_authenticated:
        visitor = Visitor.objects.filter(user=user).first()
        anonymous = _visitor_from_session(session)
        if anonymous is not None and anonymous.user_id is None:
            # Signed in through a path that did not merge (e.g. the stock login view): merge now.
            return visitor_merge_into_user(visitor=anonymous, user=user, session=session)
        return visitor
    visitor = _visitor_from_session(session)
    if visitor is not None and visitor.user_id is not None:
        # A session never speaks for an account it is not signed in to.
        return None
    return visitor


def _session_hash(session: MutableMapping) -> str | None:
    """SHA-256 of the session's key, saving a new session first so that it has one; None for a plain dict."""
    if not hasattr(session, "session_key"):
        return None
    if session.session_key is None:
        session.save()
    return hashlib.sha256(session.session_key.encode()).hexdigest()


def visitor_get_or_create(*, session: MutableMapping, user=None) -> Visitor:
    """The visitor for this session/account, created on first write and remembered in the session.

    Idempotent under concurrency: an anonymous visitor is keyed by its session's key (unique), so
    two first writes racing from one new session get the same row instead of one each.
    """
    visitor = visitor_get(session=session, user=user)
    if visitor is not None:
        return visitor
    if user is not None and user.is_authenticated:
        visitor, _ = Visitor.objects.get_or_create(user=user)
    else:
        key = _session_hash(session)
        visitor = Visitor.objects.get_or_create(session_hash=key)[0] if key else Visitor.objects.create()
    session[VISITOR_SESSION_KEY] = str(visitor.pk)
    sessions.session_keep(session=session)
    return visitor


def rating_record(*, visitor: Visitor, movie_id, rating) -> VisitorRating:
    """Store (or change) the visitor's rating of a movie. Rating a movie undoes a skip or hide of it."""
    movie_id = _movie_id_checked(movie_id)
    stars = rating_parse(value=rating)
    with transaction.atomic():
        record, _ = VisitorRating.objects.update_or_create(
            visitor=visitor, movie_id=movie_id, defaults={"rating": stars}
        )
        VisitorMovieFlag.objects.filter(visitor=visitor, movie_id=movie_id).delete()
    retrain.retrain_if_due()
    return record


def rating_clear(*, visitor: Visitor, movie_id) -> bool:
    """Remove the visitor's rating of a movie; True when there was one."""
    movie_id = _movie_id_checked(movie_id)
    deleted, _ = VisitorRating.objects.filter(visitor=visitor, movie_id=movie_id).delete()
    return deleted > 0


def _flag(*, visitor: Visitor, movie_id, kind: str) -> VisitorMovieFlag:
    movie_id = _movie_id_checked(movie_id)
    flag, _ = VisitorMovieFlag.objects.get_or_create(visitor=visitor, movie_id=movie_id, kind=kind)
    return flag


def movie_skip(*, visitor: Visitor, movie_id) -> VisitorMovieFlag:
    """'Haven't seen it': the movie never comes back to this visitor's grid or recommendations."""
    return _flag(visitor=visitor, movie_id=movie_id, kind=VisitorMovieFlag.Kind.SKIPPED)


def movie_hide(*, visitor: Visitor, movie_id) -> VisitorMovieFlag:
    """'Not interested': the movie is never recommended to this visitor again."""
    return _flag(visitor=visitor, movie_id=movie_id, kind=VisitorMovieFlag.Kind.HIDDEN)


def visitor_reset(*, visitor: Visitor) -> tuple[int, int]:
    """Start over: delete every rating and flag; returns (ratings, flags) deleted."""
    with transaction.atomic():
        ratings, _ = VisitorRating.objects.filter(visitor=visitor).delete()
        flags, _ = VisitorMovieFlag.objects.filter(visitor=visitor).delete()
    return ratings, flags


def account_delete(*, user) -> int:
    """Delete the account with its visitor, ratings, skips and hides; returns the ratings deleted."""
    with transaction.atomic():
        ratings = VisitorRating.objects.filter(visitor__user=user).count()
        user.delete()  # the visitor and its rows go with it (on_delete=CASCADE)
    return ratings


def _move_feedback(*, source: Visitor, target: Visitor) -> None:
    for rating in VisitorRating.objects.filter(visitor=source):
        VisitorRating.objects.update_or_create(
            visitor=target, movie_id=rating.movie_id, defaults={"rating": rating.rating}
        )
    existing = set(VisitorMovieFlag.objects.filter(visitor=target).values_list("movie_id", "kind"))
    VisitorMovieFlag.objects.bulk_create(
        VisitorMovieFlag(visitor=target, movie_id=flag.movie_id, kind=flag.kind)
        for flag in VisitorMovieFlag.objects.filter(visitor=source)
        if (flag.movie_id, flag.kind) not in existing
    )
    # A movie rated in either place is no longer "skipped" or "hidden".
    VisitorMovieFlag.objects.filter(
        visitor=target, movie_id__in=VisitorRating.objects.filter(visitor=target).values("movie_id")
    ).delete()
    source.delete()


def visitor_merge_into_user(*, visitor: Visitor | None, user, session: MutableMapping | None = None) -> Visitor:
    """Move an anonymous visitor's feedback into the account's visitor and return that visitor.

    The anonymous ratings win over older ones in the account because they are the person's latest
    word. With no account visitor yet, the anonymous row simply becomes the account's.

    Safe when requests race (two page loads right after signing in): ``visitor`` was read before
    this transaction, so the anonymous row is read again here and locked, anonymous row first,
    then the account's, in every merge. A request that comes second finds it already merged and
    only returns the account; the row merged into is never deleted.
    """
    with transaction.atomic():
        anonymous = None
        if visitor is not None:
            anonymous = Visitor.objects.select_for_update().filter(pk=visitor.pk, user__isnull=True).first()
        account = Visitor.objects.select_for_update().filter(user=user).first()
        if anonymous is None:
            account = account or Visitor.objects.get_or_create(user=user)[0]
        elif account is None:
            try:
                with transaction.atomic():  # another browser may adopt its own visitor for this account now
                    Visitor.objects.filter(pk=anonymous.pk).update(
                        user=user, session_hash=None, updated_at=timezone.now()
                    )
                account = Visitor.objects.get(pk=anonymous.pk)
            except IntegrityError:
                account = Visitor.objects.select_for_update().get(user=user)
                _move_feedback(source=anonymous, target=account)
        else:
            _move_feedback(source=anonymous, target=account)
    if session is not None:
        session[VISITOR_SESSION_KEY] = str(account.pk)
    return account


ERROR_IMPORT_NOTHING = "There is nothing to import: upload your ratings file first."


def ratings_import(*, visitor: Visitor, ratings: Mapping[int, float]) -> int:
    """Store many ratings at once (an IMDb or Letterboxd import), all or none; returns how many.

    Every movie id and rating is checked before anything is written; a rating replaces the
    visitor's earlier one of that movie and undoes a skip or hide of it, as :func:`rating_record`.
    """
    if not ratings:
        raise ValidationError(ERROR_IMPORT_NOTHING, code="nothing")
    parsed: dict[int, float] = {}
    for movie_id, stars in ratings.items():
        try:
            number = int(movie_id)
        except (TypeError, ValueError):
            raise ValidationError(ERROR_UNKNOWN_MOVIE, code="unknown_movie") from None
        parsed[number] = rating_parse(value=stars)
    if Movie.objects.filter(pk__in=list(parsed)).count() != len(parsed):
        raise ValidationError(ERROR_UNKNOWN_MOVIE, code="unknown_movie")
    with transaction.atomic():
        existing = {record.movie_id: record for record in
                    VisitorRating.objects.select_for_update().filter(visitor=visitor, movie_id__in=list(parsed))}
        changed = []
        for movie_id, record in existing.items():
            record.rating = parsed[movie_id]
            record.updated_at = timezone.now()
            changed.append(record)
        VisitorRating.objects.bulk_update(changed, ["rating", "updated_at"])
        VisitorRating.objects.bulk_create(
            [VisitorRating(visitor=visitor, movie_id=movie_id, rating=stars)
             for movie_id, stars in parsed.items() if movie_id not in existing])
        VisitorMovieFlag.objects.filter(visitor=visitor, movie_id__in=list(parsed)).delete()
    retrain.retrain_if_due()
    return len(parsed)
