"""The Keras NeuMF network: RatingScale, shapes, the loss, save -> load."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from recsys.ncf.model import RatingScale, build_model, ncf_loss_factory  # noqa: E402
from tests.recsys.conftest import tiny_config  # noqa: E402


def test_rating_scale_maps_unit_interval_to_stars():
    out = np.asarray(RatingScale()(np.array([[0.0], [0.5], [1.0]], dtype="float32")))
    assert out[:, 0].tolist() == pytest.approx([0.5, 2.75, 5.0])


def test_rating_scale_config_round_trip_and_validation():
    layer = RatingScale(low=1.0, high=10.0, name="s")
    clone = RatingScale.from_config(layer.get_config())
    assert (clone.low, clone.high, clone.name) == (1.0, 10.0, "s")
    with pytest.raises(ValueError):
        RatingScale(low=5.0, high=0.5)


def test_model_outputs_probability_and_stars_in_range():
    model = build_model(5, 7, tiny_config())
    out = np.asarray(model.predict([np.arange(5, dtype="int32"), np.arange(5, dtype="int32")], verbose=0))
    assert out.shape == (5, 2)
    assert ((out[:, 0] > 0) & (out[:, 0] < 1)).all()
    assert ((out[:, 1] >= 0.5) & (out[:, 1] <= 5.0)).all()


def test_saved_model_loads_with_identical_predictions(tmp_path):
    model = build_model(4, 6, tiny_config())
    path = tmp_path / "neumf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    x = [np.array([0, 1, 3], dtype="int32"), np.array([5, 2, 0], dtype="int32")]
    assert np.allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=0)
    assert isinstance(loaded.get_layer("stars"), RatingScale)


def test_loss_is_weighted_bce_plus_weighted_mse():
    loss = ncf_loss_factory(rating_loss_weight=0.5)
    y_true = np.array([[1, 1, 4.0, 1], [0, 0.5, 0, 0]], dtype="float32")
    y_pred = np.array([[0.8, 3.0], [0.25, 2.0]], dtype="float32")
    expected = np.mean([-np.log(0.8), 0.5 * -np.log(0.75)]) + 0.5 * np.mean([1.0, 0.0])
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)


def _adam_rows(grads, lr=0.1, b1=0.9, b2=0.999, eps=1e-7):
    """Reference lazy Adam in NumPy: ``grads`` is a list of {row: gradient} steps; a row's
    moments move only on the steps that touch it; bias correction uses the global step."""
    w, m, v = {}, {}, {}
    for step, grad in enumerate(grads, start=1):
        alpha = lr * np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
        for row, g in grad.items():
            m[row] = b1 * m.get(row, 0.0) + (1 - b1) * g
            v[row] = b2 * v.get(row, 0.0) + (1 - b2) * g * g
            w[row] = w.get(row, 0.0) - alpha * m[row] / (np.sqrt(v[row]) + eps)
    return w


def test_lazy_adam_moves_only_the_looked_up_rows_and_sums_repeated_ones():
    import tensorflow as tf

    from recsys.ncf.model import LazyAdam

    table = keras.Variable(np.zeros((4, 2), dtype="float32"))
    optimizer = LazyAdam(learning_rate=0.1)
    optimizer.build([table])
    # Step 1 looks up row 0 twice and row 1 once; step 2 looks up rows 1 and 2 (row 0 untouched).
    steps = [([0, 1, 0], [[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]), ([2, 1], [[-2.0, 1.0], [1.0, 1.0]])]
    for indices, values in steps:
        grad = tf.IndexedSlices(tf.constant(values, tf.float32), tf.constant(indices, tf.int64), tf.constant([4, 2]))
        optimizer.apply([grad], [table])
    got = np.asarray(table)
    for column in range(2):
        per_step = [{}, {}]
        for step, (indices, values) in enumerate(steps):
            for row, value in zip(indices, values):
                per_step[step][row] = per_step[step].get(row, 0.0) + value[column]
        expected = _adam_rows(per_step)
        for row in range(4):
            assert got[row, column] == pytest.approx(expected.get(row, 0.0), rel=1e-5, abs=1e-7)
    assert got[3].tolist() == [0.0, 0.0]  # never looked up: never moved
    # Keras's dense Adam would have moved row 0 again on step 2 (its momentum decays there).
    assert got[0, 0] == pytest.approx(_adam_rows([{0: 1.5}])[0], rel=1e-5)


def test_lazy_adam_updates_dense_gradients_like_keras_adam():
    import tensorflow as tf

    from recsys.ncf.model import LazyAdam

    lazy, dense = keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones(3, "float32"))
    a, b = LazyAdam(learning_rate=0.05), keras.optimizers.Adam(learning_rate=0.05)
    for g in ([1.0, -2.0, 0.0], [0.5, 0.5, 3.0]):
        a.apply([tf.constant(g)], [lazy])
        b.apply([tf.constant(g)], [dense])
    np.testing.assert_array_equal(np.asarray(lazy), np.asarray(dense))


def test_training_steps_leave_the_embedding_rows_a_batch_did_not_look_up_as_they_were():
    # The proof that Keras hands LazyAdam sparse embedding gradients: with a dense update,
    # Adam's momentum from step 1 would move users 0 and 1 again on step 2.
    from recsys.ncf.model import LazyAdam

    model = build_model(4, 6, tiny_config())
    model.compile(optimizer=LazyAdam(0.01), loss=ncf_loss_factory(0.5))
    targets = np.array([[1, 1, 4.0, 1], [0, 1, 0.0, 0]], dtype="float32")
    model.train_on_batch([np.array([0, 1], "int32"), np.array([0, 1], "int32")], targets)
    after_first = np.asarray(model.get_layer("user_gmf").embeddings).copy()
    model.train_on_batch([np.array([2, 3], "int32"), np.array([2, 3], "int32")], targets)
    after_second = np.asarray(model.get_layer("user_gmf").embeddings)
    np.testing.assert_array_equal(after_second[:2], after_first[:2])
    assert not np.array_equal(after_second[2:], after_first[2:])
