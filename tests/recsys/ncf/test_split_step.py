"""The XLA training steps: the same updates as ``Model.fit`` with LazyAdam, lazy rows untouched."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from recsys.ncf.model import LazyAdam, build_model, ncf_loss_factory  # noqa: E402
from recsys.ncf.split_step import FusedStep, SplitStep  # noqa: E402
from tests.recsys.conftest import tiny_config  # noqa: E402

N_USERS, N_ITEMS = 50, 30


def _batch(rng, size):
    # Few users and movies for the batch size: many repeated rows, and rows left out.
    users = rng.integers(0, N_USERS // 2, size).astype("int32")
    items = rng.integers(0, N_ITEMS // 2, size).astype("int32")
    targets = np.stack([rng.integers(0, 2, size), rng.choice([0.5, 1.0], size), rng.uniform(0.5, 5, size),
                        rng.integers(0, 2, size)], axis=1).astype("float32")
    return users, items, targets


def _compiled(config, weights=None):
    model = build_model(N_USERS, N_ITEMS, config)
    model.compile(optimizer=LazyAdam(config.learning_rate), loss=ncf_loss_factory(config.rating_loss_weight))
    if weights is not None:
        model.set_weights(weights)
    return model


@pytest.mark.parametrize("step_class", [FusedStep, SplitStep])
def test_xla_steps_make_the_updates_model_fit_makes(step_class):
    # Without dropout (the only random part, drawn from another stream) the steps are the same
    # arithmetic as Keras's: the same loss and, after three steps, the same weights and moments.
    config = tiny_config(dropout=0.0, l2=0.01)
    reference = _compiled(config)
    model = _compiled(config, reference.get_weights())
    step = step_class(model, config)
    rng = np.random.default_rng(3)
    for _ in range(3):
        users, items, targets = _batch(rng, 96)
        expected = reference.train_on_batch([users, items], targets)
        loss = step(tf.constant(users), tf.constant(items), tf.constant(targets))
        assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    for mine, theirs, variable in zip(model.get_weights(), reference.get_weights(), model.weights):
        np.testing.assert_allclose(mine, theirs, atol=2e-6, err_msg=variable.path)
    for mine, theirs in zip(model.optimizer.variables, reference.optimizer.variables):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), atol=2e-6, err_msg=mine.path)


def test_fused_step_leaves_rows_not_looked_up_and_their_moments_as_they_were():
    config = tiny_config(dropout=0.1)
    model = _compiled(config)
    step = FusedStep(model, config, seed=1)
    table = model.get_layer("user_gmf").embeddings
    optimizer = model.optimizer
    m = optimizer._momentums[optimizer._get_variable_index(table)]
    targets = np.array([[1, 1, 4.0, 1], [0, 1, 0.0, 0], [1, 1, 3.0, 1]], dtype="float32")
    step(tf.constant([0, 1, 1], tf.int32), tf.constant([0, 1, 2], tf.int32), tf.constant(targets))
    rows, moments = np.asarray(table).copy(), np.asarray(m).copy()
    step(tf.constant([2, 3, 3], tf.int32), tf.constant([2, 3, 3], tf.int32), tf.constant(targets))
    np.testing.assert_array_equal(np.asarray(table)[:2], rows[:2])
    np.testing.assert_array_equal(np.asarray(m)[:2], moments[:2])
    np.testing.assert_array_equal(np.asarray(table)[4:], rows[4:])
    assert not np.array_equal(np.asarray(table)[2:4], rows[2:4])
    assert int(optimizer.iterations) == 2


def test_fused_step_dropout_is_seeded():
    config = tiny_config(dropout=0.5)
    first = _compiled(config)
    weights = first.get_weights()
    second, third = _compiled(config, weights), _compiled(config, weights)
    users, items, targets = (tf.constant(a) for a in _batch(np.random.default_rng(0), 64))
    for model, seed in ((first, 1), (second, 1), (third, 2)):
        FusedStep(model, config, seed=seed)(users, items, targets)
    kernel = [np.asarray(model.get_layer("mlp_0").kernel) for model in (first, second, third)]
    np.testing.assert_array_equal(kernel[0], kernel[1])
    assert not np.array_equal(kernel[0], kernel[2])


def test_fused_step_refuses_another_network():
    config = tiny_config()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=LazyAdam(0.01), loss="mse")
    with pytest.raises((ValueError, KeyError)):
        FusedStep(model, config)
