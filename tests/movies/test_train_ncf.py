"""manage.py train_ncf: progress per epoch, a loadable artifact, clear errors, --strategy."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from recsys.ncf import artifacts
from tests.recsys.conftest import free_ports, write_structured_dataset

REPO = Path(__file__).resolve().parents[2]
TINY = ["--epochs", "2", "--embedding-dim", "8", "--layers", "16,8", "--batch-size", "64", "--seed", "3"]


@pytest.mark.slow
def test_train_ncf_writes_a_model_the_site_loads(tmp_path, capsys):
    data = write_structured_dataset(tmp_path / "ml")
    call_command("train_ncf", "--epochs", "2", "--embedding-dim", "8", "--layers", "16,8", "--mode",
                 "hard-negatives", "--seed", "3", "--data", str(data), "--output", str(tmp_path / "models"),
                 "--no-visitors")
    out = capsys.readouterr().out
    assert "epoch   1  loss" in out and "val_rmse" in out and "Saved " in out
    loaded = artifacts.load_current(tmp_path / "models")
    assert loaded.config.mode == "hard-negatives" and loaded.config.layers == (16, 8)
    assert loaded.config.embedding_dim == 8 and loaded.config.seed == 3
    assert loaded.metadata["source"] == "train_ncf"
    assert loaded.metadata["data_fingerprint"] == artifacts.data_fingerprint([data / "ratings.csv"])
    assert len(loaded.metadata["history"]) <= 2
    # The product's other learned parts travel in the same artifact: EASE over the 40 movies
    # (each has >= 2 ratings) and the training rating count of every movie.
    assert "EASE over 40 movies in " in out
    assert loaded.extras["ease_weights"].shape == (40, 40)
    assert sorted(loaded.extras["ease_movie_ids"].tolist()) == list(range(1, 41))
    frame = pd.read_csv(data / "ratings.csv")
    expected = frame.groupby("movieId").size().reindex(loaded.items.ids).to_numpy()
    assert loaded.extras["rating_counts"].tolist() == expected.tolist()
    # New people's popularity counts the ratings of 4 stars or more.
    liked = frame[frame["rating"] >= 4].groupby("movieId").size().reindex(loaded.items.ids).fillna(0)
    assert loaded.extras["liked_counts"].tolist() == liked.astype(int).tolist()
    assert 0 < loaded.extras["liked_counts"].sum() < loaded.extras["rating_counts"].sum()
    # And the biased MF whose stars are averaged with the NCF's: 16 factors for each of the 40 movies.
    assert "biased MF for the stars (16 factors) in " in out
    assert loaded.extras["stars_mf_item_factors"].shape == (40, 16)
    assert loaded.extras["stars_mf_movie_ids"].tolist() == loaded.items.ids.tolist()


@pytest.mark.parametrize("args, message", [
    (["--layers", "64,x"], "--layers must be comma-separated"),
    (["--epochs", "0"], "Invalid option"),
])
def test_bad_options_are_refused(tmp_path, args, message):
    data = write_structured_dataset(tmp_path / "ml")
    with pytest.raises(CommandError, match=message):
        call_command("train_ncf", "--data", str(data), "--output", str(tmp_path / "m"), *args)
    assert not (tmp_path / "m" / "CURRENT").exists()


def test_missing_data_is_refused(tmp_path):
    with pytest.raises(CommandError, match="not a MovieLens dataset"):
        call_command("train_ncf", "--data", str(tmp_path / "nowhere"), "--output", str(tmp_path / "m"))


def test_an_unknown_strategy_is_refused_with_the_choices(tmp_path):
    data = write_structured_dataset(tmp_path / "ml")
    with pytest.raises(CommandError, match=r"invalid choice: 'horovod' \(choose from .*default.*mirrored.*multiworker"):
        call_command("train_ncf", "--strategy", "horovod", "--data", str(data), "--output", str(tmp_path / "m"))
    with pytest.raises(CommandError, match="strategy must be one of default, mirrored, multiworker, not 'horovod'"):
        call_command("train_ncf", strategy="horovod", data=data, output=tmp_path / "m")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("tf_config, reason", [
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker"', "not JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}',
     "task worker 1 is not in the cluster"),
])
def test_multiworker_with_a_malformed_tf_config_is_refused_and_writes_nothing(tmp_path, monkeypatch, tf_config,
                                                                            reason):
    data = write_structured_dataset(tmp_path / "ml")
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(CommandError, match=f"TF_CONFIG is not a valid cluster description: {reason}"):
        call_command("train_ncf", "--strategy", "multiworker", "--data", str(data), "--output", str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()  # not even the lock file


@pytest.mark.slow
def test_mirrored_saves_the_model_default_saves_under_the_same_settings_hash(tmp_path, capsys, monkeypatch):
    """The strategy is how the model was trained, not what it is: same settings hash, same weights.
    (The default strategy with Model.fit's step: the fused XLA step draws other dropout masks.)"""
    from recsys.ncf import training

    monkeypatch.setattr(training, "FUSED_STEP", False)
    data = write_structured_dataset(tmp_path / "ml")
    call_command("train_ncf", *TINY, "--no-visitors", "--data", str(data), "--output", str(tmp_path / "default"))
    call_command("train_ncf", *TINY, "--no-visitors", "--strategy", "mirrored", "--data", str(data),
                 "--output", str(tmp_path / "mirrored"))
    assert "strategy mirrored)" in capsys.readouterr().out
    default, mirrored = artifacts.load_current(tmp_path / "default"), artifacts.load_current(tmp_path / "mirrored")
    assert mirrored.metadata["settings_hash"] == default.metadata["settings_hash"] == default.config.training_hash()
    for name, array in default.weights.items():
        np.testing.assert_allclose(mirrored.weights[name], array, rtol=0, atol=1e-6, err_msg=name)


def _train_ncf_process(tf_config: dict, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recommender_site.settings.test", "PYTHONPATH": str(REPO),
           "TF_CONFIG": json.dumps(tf_config)}
    return subprocess.Popen([sys.executable, "manage.py", "train_ncf", "--strategy", "multiworker", *TINY, *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _epoch_losses(out: str) -> list[str]:
    """The epoch lines without their seconds and examples/s."""
    return [line.rsplit("  ", 2)[0] for line in out.splitlines() if line.startswith("epoch")]


def _finish(process: subprocess.Popen) -> str:
    try:
        out, err = process.communicate(timeout=180)
    finally:
        process.kill()
    assert process.returncode == 0, err[-3000:]
    return out


@pytest.mark.slow
def test_multiworker_with_one_worker_saves_a_loadable_model(tmp_path):
    data = write_structured_dataset(tmp_path / "ml")
    cluster = {"cluster": {"worker": [f"127.0.0.1:{free_ports(1)[0]}"]}, "task": {"type": "worker", "index": 0}}
    out = _finish(_train_ncf_process(cluster, "--data", str(data), "--output", str(tmp_path / "models")))
    assert "strategy multiworker)" in out and "Saved " in out
    loaded = artifacts.load_current(tmp_path / "models")
    assert loaded.config.embedding_dim == 8 and loaded.metadata["source"] == "train_ncf"
    assert len(loaded.metadata["history"]) == 2
    assert all(np.isfinite(epoch["loss"]) for epoch in loaded.metadata["history"])


@pytest.mark.slow
def test_two_workers_on_loopback_train_together_and_only_the_chief_saves(tmp_path):
    """Keras' fit fails on two workers (keras#20585); the custom step must not, and both end alike."""
    data = write_structured_dataset(tmp_path / "ml")
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    workers = [_train_ncf_process({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": k}},
                                  "--data", str(data), "--output", str(tmp_path / f"models-{k}")) for k in (0, 1)]
    chief, other = (_finish(process) for process in workers)
    assert "Saved " in chief
    assert "worker 1 done (2 epochs over 2 replicas" in other and "writes nothing" in other
    assert not (tmp_path / "models-1").exists()
    assert _epoch_losses(chief) == _epoch_losses(other) and len(_epoch_losses(chief)) == 2  # to 4 decimals
    assert artifacts.load_current(tmp_path / "models-0").metadata["history"][0]["loss"] > 0


def _site_ratings(n_visitors: int = 3):
    """Visitors of the site who rated some of the structured dataset's movies (ids 1..40)."""
    from movies import services
    from movies.models import Movie, Visitor

    Movie.objects.bulk_create(Movie(id=k, title=f"Movie {k}") for k in range(1, 41))
    last = None
    for v in range(n_visitors):
        visitor = Visitor.objects.create()
        for movie_id in range(1 + v, 6 + v):
            last = services.rating_record(visitor=visitor, movie_id=movie_id, rating=4.5)
    return last


@pytest.mark.slow
@pytest.mark.django_db
def test_train_ncf_learns_from_the_sites_ratings_by_default(tmp_path, capsys):
    """Each visitor is a user of the model, with an id above MovieLens'; the metadata says how many and up to which."""
    from movies.engine.visitor_ratings import VISITOR_USER_ID_BASE

    data = write_structured_dataset(tmp_path / "ml")
    last = _site_ratings()
    call_command("train_ncf", *TINY, "--data", str(data), "--output", str(tmp_path / "models"))
    assert "plus 15 ratings of 3 site visitors" in capsys.readouterr().out
    loaded = artifacts.load_current(tmp_path / "models")
    visitors = loaded.metadata["visitor_ratings"]
    assert (visitors["count"], visitors["visitors"], visitors["last_id"]) == (15, 3, last.pk)
    assert visitors["last_updated_at"] == last.updated_at.isoformat()
    assert loaded.metadata["n_ratings"] == len(pd.read_csv(data / "ratings.csv")) + 15
    assert [int(u) for u in loaded.users.ids if u >= VISITOR_USER_ID_BASE] == [
        VISITOR_USER_ID_BASE, VISITOR_USER_ID_BASE + 1, VISITOR_USER_ID_BASE + 2]


@pytest.mark.slow
@pytest.mark.django_db
def test_train_ncf_no_visitors_trains_on_movielens_alone(tmp_path, capsys):
    data = write_structured_dataset(tmp_path / "ml")
    _site_ratings()
    call_command("train_ncf", *TINY, "--no-visitors", "--data", str(data), "--output", str(tmp_path / "models"))
    assert "plus no site ratings" in capsys.readouterr().out
    loaded = artifacts.load_current(tmp_path / "models")
    assert loaded.metadata["visitor_ratings"] == {"count": 0}
    assert loaded.metadata["n_ratings"] == len(pd.read_csv(data / "ratings.csv"))
    assert int(loaded.users.ids.max()) < 1000
