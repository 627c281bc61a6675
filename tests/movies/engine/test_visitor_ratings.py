"""The site's ratings as training data: one user per visitor, ids above MovieLens', only what is stored now."""
import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import User

from movies import services
from movies.engine.visitor_ratings import ERROR_ID_CLASH, VISITOR_USER_ID_BASE, visitor_ratings_frame
from movies.models import Visitor
from tests.movies.conftest import make_movie

pytestmark = pytest.mark.django_db


@pytest.fixture
def movies():
    return [make_movie(i, f"Film {i}") for i in (1, 2, 3)]


def test_each_visitor_anonymous_or_signed_in_is_one_user_above_every_movielens_id(movies):
    anonymous = Visitor.objects.create()
    account = Visitor.objects.create(user=User.objects.create_user("ida", password="pw-long-enough-1"))
    services.rating_record(visitor=anonymous, movie_id=1, rating=4.5)
    services.rating_record(visitor=anonymous, movie_id=2, rating=2)
    last = services.rating_record(visitor=account, movie_id=1, rating=1)

    ratings = visitor_ratings_frame()

    assert ratings.frame.dtypes.to_dict() == {"user_id": np.int32, "movie_id": np.int32, "rating": np.float32,
                                              "timestamp": np.int64}
    assert ratings.frame[["user_id", "movie_id", "rating"]].values.tolist() == [
        [VISITOR_USER_ID_BASE, 1, 4.5], [VISITOR_USER_ID_BASE, 2, 2.0], [VISITOR_USER_ID_BASE + 1, 1, 1.0]]
    assert ratings.summary == {"count": 3, "visitors": 2, "last_id": last.pk,
                               "last_updated_at": last.updated_at.isoformat()}


def test_start_over_and_a_deleted_account_leave_nothing_to_train_on(movies):
    anonymous = Visitor.objects.create()
    user = User.objects.create_user("jo", password="pw-long-enough-1")
    account = Visitor.objects.create(user=user)
    services.rating_record(visitor=anonymous, movie_id=1, rating=4)
    services.rating_record(visitor=account, movie_id=2, rating=3)
    services.visitor_reset(visitor=anonymous)
    user.delete()
    ratings = visitor_ratings_frame()
    assert ratings.frame.empty and ratings.summary == {"count": 0, "visitors": 0, "last_id": None,
                                                       "last_updated_at": None}


def test_joined_to_movielens_appends_and_refuses_movielens_ids_in_the_visitors_range(movies):
    services.rating_record(visitor=Visitor.objects.create(), movie_id=3, rating=5)
    movielens = pd.DataFrame({
        "user_id": np.array([1, 610], dtype=np.int32), "movie_id": np.array([1, 2], dtype=np.int32),
        "rating": np.array([4, 3], dtype=np.float32), "timestamp": np.array([0, 0], dtype=np.int64),
    })
    joined = visitor_ratings_frame().joined_to(movielens)
    assert joined["user_id"].tolist() == [1, 610, VISITOR_USER_ID_BASE]
    assert joined["user_id"].dtype == np.int32
    clash = movielens.assign(user_id=np.array([1, VISITOR_USER_ID_BASE], dtype=np.int32))
    with pytest.raises(ValueError, match=ERROR_ID_CLASH.format(base=VISITOR_USER_ID_BASE)):
        visitor_ratings_frame().joined_to(clash)
