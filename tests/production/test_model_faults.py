"""Faults of the model store: a corrupt model is detected and retrained; a trainer killed mid-run
leaves nothing that stops the next start from training and serving.

These train real (tiny) Keras models, so they are marked slow.
"""
import os
import signal
import subprocess
import sys
import time

import pytest
from filelock import Timeout

from movies.engine import recommender
from recsys.ncf import artifacts
from tests.production.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def site_engine(settings, tiny_dataset, tmp_path):
    """The site's engine over the tiny dataset and an empty model store, training on start."""
    settings.MOVIELENS_DIR = tiny_dataset
    settings.MODEL_DIR = tmp_path / "models"
    settings.RECOMMENDER_TRAIN_ON_STARTUP = True
    settings.RECOMMENDER_EPOCHS = 2
    settings.RECOMMENDER_SEED = 3
    recommender.reset_engine()
    yield settings.MODEL_DIR
    recommender.reset_engine()


def _start_and_wait(timeout: float = 240) -> None:
    assert recommender.wait_until_ready(timeout=timeout), "the engine did not become ready"


def _flip_bytes(path, offset: int = 64) -> None:
    data = bytearray(path.read_bytes())
    for k in range(offset, min(offset + 16, len(data))):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupt_weights_are_detected_and_retrained(site_engine):
    """weights.npz altered on disk: the checksum fails, the start trains a new artifact and serves it."""
    _start_and_wait()
    first = artifacts.current_path(site_engine)
    assert first is not None and recommender.model_info().status == recommender.STATUS_READY

    _flip_bytes(first / "weights.npz")
    with pytest.raises(artifacts.ArtifactError, match="checksum mismatch for weights.npz"):
        artifacts.verify(first)

    recommender.reset_engine()  # a restart of the web process
    _start_and_wait()
    second = artifacts.current_path(site_engine)
    assert second != first
    artifacts.verify(second)  # the retrained artifact is whole
    assert recommender.model_info().status == recommender.STATUS_READY
    assert recommender._engine.artifact.path == second


def test_current_naming_a_missing_artifact_is_retrained(site_engine):
    """CURRENT points at a directory that is gone (a half-finished cleanup): retrained, served."""
    site_engine.mkdir(parents=True)
    (site_engine / artifacts.CURRENT).write_text("ncf-20200101T000000-deadbeef\n")
    with pytest.raises(artifacts.ArtifactError, match="named by CURRENT but missing"):
        artifacts.load_current(site_engine)

    _start_and_wait()

    path = artifacts.current_path(site_engine)
    assert path.name != "ncf-20200101T000000-deadbeef"
    artifacts.verify(path)
    assert recommender.model_info().status == recommender.STATUS_READY


def _wait_for_line(process: subprocess.Popen, prefix: str, timeout: float) -> list[str]:
    """Read the child's stdout until a line starts with ``prefix``; the lines read so far."""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no line starting {prefix!r} within {timeout}s; got {lines!r}")


def test_trainer_killed_mid_training_recovers_on_restart(site_engine, tiny_dataset):
    """SIGKILL to a trainer holding the lock mid-run: no CURRENT, no stuck lock; the next start trains and serves."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recommender_site.settings.test",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    trainer = subprocess.Popen(
        [sys.executable, "manage.py", "train_ncf", "--no-visitors", "--data", str(tiny_dataset), "--output", str(site_engine),
         "--epochs", "500", "--seed", "3"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_for_line(trainer, "epoch   1", timeout=180)
        assert trainer.poll() is None, "the trainer finished before it could be killed"
        # The lock is held by the trainer right now: nobody else gets it.
        with pytest.raises(Timeout), artifacts.training_lock(site_engine, timeout=0.2):
            pass
        trainer.send_signal(signal.SIGKILL)
        trainer.wait(timeout=30)
    finally:
        if trainer.poll() is None:
            trainer.kill()
            trainer.wait(timeout=30)
        trainer.stdout.close()
    assert trainer.returncode == -signal.SIGKILL
    assert artifacts.current_path(site_engine) is None  # nothing half-written was made current

    # The kernel released the dead process's lock: it is free at once.
    with artifacts.training_lock(site_engine, timeout=5):
        pass

    _start_and_wait()  # the restarted web process trains and serves

    path = artifacts.current_path(site_engine)
    artifacts.verify(path)
    assert recommender.model_info().status == recommender.STATUS_READY
    assert sorted(site_engine.glob("ncf-*")) == [path]  # one artifact: the killed run left none
