"""Training: reproducible, validation carved from the training data, learns obvious structure."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys.ncf.training import split_validation, train
from tests.recsys.conftest import free_ports, tiny_config

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def test_validation_split_is_disjoint_complete_and_seeded():
    a_fit, a_val = split_validation(100, 0.1, np.random.default_rng(1))
    b_fit, b_val = split_validation(100, 0.1, np.random.default_rng(1))
    assert len(a_val) == 10 and np.array_equal(a_val, b_val)
    assert sorted(np.concatenate([a_fit, a_val]).tolist()) == list(range(100))


def test_same_seed_same_data_gives_same_weights(structured_frame):
    config = tiny_config(epochs=2, patience=5)
    first, second = train(structured_frame, config), train(structured_frame, config)
    for name, array in first.weights.items():
        assert np.array_equal(array, second.weights[name]), name
    other = train(structured_frame, tiny_config(epochs=2, patience=5, seed=8))
    assert not np.array_equal(first.weights["item_gmf"], other.weights["item_gmf"])


def test_history_reports_every_epoch_and_keeps_the_best(trained_tiny):
    history = trained_tiny.history
    assert 1 <= len(history) <= 8
    assert [r.epoch for r in history] == list(range(1, len(history) + 1))
    best = min(history, key=lambda r: r.val_loss)
    assert trained_tiny.best_epoch == best.epoch
    assert all(0.3 < r.val_rmse < 4.5 for r in history)


def test_trained_model_ranks_each_camps_movies_first(trained_tiny):
    from recsys.ncf.serving import NumpyNeuMF

    net = NumpyNeuMF(trained_tiny.weights, trained_tiny.config)
    movies = trained_tiny.items
    first_camp, second_camp = movies.indices(range(1, 21)), movies.indices(range(21, 41))
    for user_id, liked, disliked in ((1, first_camp, second_camp), (30, second_camp, first_camp)):
        stars = net.predict(net.user_vector(trained_tiny.users.index(user_id)))[:, 1]
        assert stars[liked].mean() > stars[disliked].mean() + 1.0


def test_hard_negative_mode_trains(structured_frame):
    result = train(structured_frame, tiny_config(mode="hard-negatives", epochs=2))
    assert result.weights["item_gmf"].shape == (40, 8)
    assert len(result.history) == 2


def test_empty_frame_is_refused(structured_frame):
    with pytest.raises(ValueError):
        train(structured_frame.iloc[:0], tiny_config())


def test_the_fold_in_branch_is_stored_with_the_weights(trained_tiny):
    from recsys.ncf.serving import NumpyNeuMF

    stored = trained_tiny.weights["population_mlp_logits"]
    bare = {k: v for k, v in trained_tiny.weights.items() if k != "population_mlp_logits"}
    assert np.allclose(NumpyNeuMF(bare, trained_tiny.config).mean_mlp_logits, stored, atol=1e-6)


def test_an_unknown_strategy_is_refused_with_the_choices(structured_frame):
    with pytest.raises(ValueError, match="strategy must be one of default, mirrored, multiworker"):
        train(structured_frame, tiny_config(epochs=1), strategy="parameter-server")


def test_mirrored_on_the_one_cpu_learns_exactly_what_model_fit_learns(structured_frame, monkeypatch):
    """One replica, the same global batches and the same update: the custom distributed step
    gives the same weights as Model.fit (bit-identical here; 1e-6 allows for kernel order).
    (Model.fit: the default strategy without the fused step, whose dropout masks differ.)"""
    from recsys.ncf import training

    config = tiny_config(epochs=2, patience=5, dropout=0.1, batch_size=50)  # 50: a short last batch
    mirrored = train(structured_frame, config, strategy="mirrored")
    monkeypatch.setattr(training, "FUSED_STEP", False)
    default = train(structured_frame, config)
    assert (mirrored.strategy, mirrored.replicas) == ("mirrored", 1)
    for name, array in default.weights.items():
        np.testing.assert_allclose(mirrored.weights[name], array, rtol=0, atol=1e-6, err_msg=name)
    for ours, theirs in zip(mirrored.history, default.history, strict=True):
        assert ours.loss == pytest.approx(theirs.loss, abs=1e-6)
        assert ours.val_loss == pytest.approx(theirs.val_loss, abs=1e-6)


def test_default_fused_step_learns_what_mirrored_learns_without_dropout(structured_frame):
    """The default strategy's fused XLA step makes the same updates as the distributed step
    (and so as Model.fit) when dropout, the only random part, is off; a short last batch too."""
    config = tiny_config(epochs=2, patience=5, dropout=0.0, batch_size=50)
    default, mirrored = train(structured_frame, config), train(structured_frame, config, strategy="mirrored")
    for name, array in default.weights.items():
        np.testing.assert_allclose(mirrored.weights[name], array, rtol=0, atol=1e-5, err_msg=name)
    for ours, theirs in zip(mirrored.history, default.history, strict=True):
        assert ours.loss == pytest.approx(theirs.loss, abs=1e-5)
        assert ours.val_loss == pytest.approx(theirs.val_loss, abs=1e-5)


MULTIWORKER_SCRIPT = """
import sys
import numpy as np
from recsys.ncf.training import train
from tests.recsys.conftest import structured_ratings, tiny_config

result = train(structured_ratings(), tiny_config(epochs=2, patience=5), strategy="multiworker")
np.savez(sys.argv[1], replicas=result.replicas, losses=[r.loss for r in result.history], **result.weights)
"""


def test_multiworker_with_one_worker_trains_what_default_trains(structured_frame, tmp_path):
    """MultiWorkerMirroredStrategy must be the first thing TensorFlow does in a process: a fresh one."""
    cluster = {"cluster": {"worker": [f"127.0.0.1:{free_ports(1)[0]}"]}, "task": {"type": "worker", "index": 0}}
    out = tmp_path / "weights.npz"
    done = subprocess.run([sys.executable, "-c", MULTIWORKER_SCRIPT, str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TF_CONFIG": json.dumps(cluster)})
    assert done.returncode == 0, done.stderr[-3000:]
    worker = np.load(out)
    assert int(worker["replicas"]) == 1 and np.isfinite(worker["losses"]).all()
    default = train(structured_frame, tiny_config(epochs=2, patience=5))
    for name, array in default.weights.items():
        np.testing.assert_allclose(worker[name], array, rtol=0, atol=1e-6, err_msg=name)


def test_throughput_logs_rate_and_eta_at_most_every_interval(caplog):
    from recsys.ncf.training import Throughput

    now = [0.0]
    meter = Throughput(epoch=3, total=1000, every=10.0, clock=lambda: now[0])
    with caplog.at_level("INFO", logger="recsys.ncf.training"):
        for _ in range(4):
            now[0] += 5.0
            meter.add(100)
    assert meter.rate == pytest.approx(20.0)
    assert [r.getMessage() for r in caplog.records] == [
        "epoch 3: 200 of 1,000 examples (20%), 20 examples/s, ETA 40 s",
        "epoch 3: 400 of 1,000 examples (40%), 20 examples/s, ETA 30 s",
    ]
    meter.stop()  # the training pass is over; validation time does not lower the rate
    now[0] += 100.0
    assert meter.rate == pytest.approx(20.0)


def test_the_fused_loop_keeps_at_most_so_many_steps_queued_and_counts_only_finished_rows():
    """TensorFlow runs the XLA step asynchronously: the loop waits for the step FUSED_STEPS_AHEAD
    back before it goes on, and the meter counts a step's rows once it has finished."""
    from recsys.ncf import training

    ahead = training.FUSED_STEPS_AHEAD
    sizes = [7] * (ahead + 10) + [3]  # full batches, then the shorter last one
    finished, counted_when_issued = [], []
    meter = training.Throughput(epoch=1, total=sum(sizes), every=1e9)

    class Loss:  # what the step returns: waiting for it is .numpy()
        def __init__(self, k):
            self.k = k

        def numpy(self):
            finished.append(self.k)
            return np.float32(self.k)

        def __float__(self):
            return float(self.k)

    def step(users, items, targets):
        k = len(counted_when_issued)
        # Step k is issued once step k - 1 - ahead has finished, and only finished steps are counted.
        assert set(range(k - ahead)) <= set(finished)
        assert meter.done == sum(sizes[j] for j in set(finished))
        counted_when_issued.append(meter.done)
        return Loss(k)

    batches = [((np.zeros(n, np.int32), np.zeros(n, np.int32)), np.zeros((n, 4), np.float32)) for n in sizes]
    loss = training._fit_fused(step, batches, meter)
    assert sorted(finished) == list(range(len(sizes))) and meter.done == sum(sizes)
    assert counted_when_issued[:ahead + 1] == [0] * (ahead + 1) and counted_when_issued[ahead + 1] == 7
    assert loss == pytest.approx(sum(k * n for k, n in enumerate(sizes)) / sum(sizes))


def test_an_epoch_reports_its_examples_and_their_rate(structured_frame):
    from recsys.ncf.sampling import epoch_size

    config = tiny_config(epochs=1)
    result = train(structured_frame, config)
    report = result.history[0]
    fit = len(structured_frame) - int(round(len(structured_frame) * config.validation_fraction))
    assert report.examples == epoch_size(np.ones(fit), mode=config.mode, negatives_per_positive=4)
    assert report.examples_per_second > 0


def test_the_batch_is_the_configured_one_or_chosen_from_the_epoch_size(structured_frame, monkeypatch):
    import recsys.ncf.config as config_module

    assert train(structured_frame, tiny_config(epochs=1, batch_size=64)).batch_size == 64
    # A tiny epoch gets the smallest automatic batch; with the thresholds lowered it doubles.
    assert train(structured_frame, tiny_config(epochs=1, batch_size=0)).batch_size == 2048
    monkeypatch.setattr(config_module, "AUTO_BATCH_MIN", 16)
    monkeypatch.setattr(config_module, "AUTO_BATCH_STEPS", 10)
    examples = train(structured_frame, tiny_config(epochs=1, batch_size=0)).history[0].examples
    expected = 16
    while expected < config_module.AUTO_BATCH_MAX and examples >= 2 * expected * 10:
        expected *= 2
    assert expected > 16  # the structured set is big enough to double at least once
    assert train(structured_frame, tiny_config(epochs=1, batch_size=0)).batch_size == expected


QUIET_SCRIPT = """
from recsys.ncf.training import train
from tests.recsys.conftest import structured_ratings, tiny_config

train(structured_ratings(), tiny_config(epochs=2, patience=5))
"""


def test_training_does_not_print_tensorflows_unknown_attribute_error_every_epoch():
    """``model.predict`` on NumPy arrays logged a long C++ "NodeDef mentions attribute
    use_unbounded_threadpool" error each epoch's validation (on `make run`'s console too)."""
    done = subprocess.run([sys.executable, "-c", QUIET_SCRIPT], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "use_unbounded_threadpool" not in done.stderr


def test_validation_predictions_in_batches_equal_keras_predict(trained_tiny):
    from recsys.ncf.model import build_model
    from recsys.ncf.training import _predict_in_batches

    model = build_model(len(trained_tiny.users), len(trained_tiny.items), trained_tiny.config)
    users = np.arange(len(trained_tiny.users), dtype=np.int32).repeat(3)[:50]
    items = np.arange(50, dtype=np.int32) % len(trained_tiny.items)
    expected = model.predict([users, items], batch_size=16, verbose=0)
    got = _predict_in_batches(model, users, items, batch_size=16)  # 3 full batches and one of 2
    assert got.shape == expected.shape == (50, 2)
    np.testing.assert_array_equal(got, expected)
