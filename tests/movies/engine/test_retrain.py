"""Retraining while serving: a child process after enough new visitor ratings, and the next model learns from them."""
import pytest
from django.core.management import call_command

from movies import services
from movies.engine import recommender, retrain
from movies.models import Movie, Visitor
from recsys.ncf import artifacts
from tests.recsys.conftest import N_MOVIES, write_structured_dataset

pytestmark = pytest.mark.django_db
TINY = ["--epochs", "3", "--embedding-dim", "8", "--layers", "16,8", "--batch-size", "64", "--seed", "3"]


class FakeChild:
    def __init__(self, command, **kwargs):
        self.command, self.returncode = command, None
        FakeChild.started.append(self)

    def poll(self):
        return self.returncode


@pytest.fixture
def site(settings, tmp_path, monkeypatch):
    """A site with a model trained on the structured dataset alone, and a fake child process."""
    settings.MOVIELENS_DIR = write_structured_dataset(tmp_path / "ml")
    settings.MODEL_DIR = tmp_path / "models"
    settings.RECOMMENDER_TRAIN_ON_STARTUP = False
    settings.RECOMMENDER_RETRAIN_AFTER_RATINGS = 0
    settings.RECOMMENDER_RETRAIN_CHECK_SECONDS = 0
    Movie.objects.bulk_create(Movie(id=k, title=f"Movie {k}") for k in range(1, N_MOVIES + 1))
    call_command("train_ncf", *TINY, "--no-visitors", "--data", str(settings.MOVIELENS_DIR),
                 "--output", str(settings.MODEL_DIR), verbosity=0)
    FakeChild.started = []
    monkeypatch.setattr(retrain.subprocess, "Popen", FakeChild)
    monkeypatch.setattr(retrain, "_child", None)
    monkeypatch.setattr(retrain, "_last_check", None)
    recommender.reset_engine()
    yield settings
    recommender.reset_engine()


def _fans(n: int, movies=(40, 1)) -> None:
    """n visitors who love the same few movies."""
    for _ in range(n):
        visitor = Visitor.objects.create()
        for movie_id in movies:
            services.rating_record(visitor=visitor, movie_id=movie_id, rating=5)


@pytest.mark.slow
def test_enough_new_ratings_start_one_training_child(site):
    site.RECOMMENDER_RETRAIN_AFTER_RATINGS = 6
    _fans(2)
    assert FakeChild.started == []  # 4 new ratings: not yet
    _fans(1)
    [child] = FakeChild.started
    assert child.command[-5:] == ["train_ncf", "--if-new-ratings", "6", "--output", str(site.MODEL_DIR)]
    _fans(3)
    assert len(FakeChild.started) == 1  # not a second one while it runs
    child.returncode = 0
    _fans(1)
    assert len(FakeChild.started) == 2  # done, and the model it wrote here is still the old one


@pytest.mark.slow
def test_retraining_is_off_at_zero(site):
    _fans(5)
    assert FakeChild.started == []


@pytest.mark.slow
def test_the_child_trains_only_when_the_ratings_are_still_new_and_the_next_model_learns_from_them(site, capsys):
    """What the child runs: nothing to do below N; above, a model that recommends what the visitors loved."""
    def rank_of(movie_id: int) -> int:
        recommender.reset_engine()
        assert recommender.wait_until_ready(60)
        picks = recommender.recommend(ratings={40: 5.0}, n=N_MOVIES, diversify=False)
        return [pick.movie_id for pick in picks].index(movie_id)

    before = rank_of(1)  # a movie of the other camp, for someone who loved movie 40
    _fans(30)
    call_command("train_ncf", *TINY, "--if-new-ratings", "61", "--data", str(site.MOVIELENS_DIR),
                 "--output", str(site.MODEL_DIR))
    assert "60 visitor ratings since the current model, fewer than 61: nothing to train." in capsys.readouterr().out
    call_command("train_ncf", *TINY, "--if-new-ratings", "60", "--data", str(site.MOVIELENS_DIR),
                 "--output", str(site.MODEL_DIR))
    assert artifacts.load_current(site.MODEL_DIR).metadata["visitor_ratings"]["count"] == 60
    assert retrain.ratings_since(artifacts.load_current(site.MODEL_DIR).metadata) == 0
    after = rank_of(1)
    assert after < before and after < 3, (before, after)
