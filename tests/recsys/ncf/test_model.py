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
