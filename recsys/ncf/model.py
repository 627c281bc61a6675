"""The Keras 3 NeuMF network (He et al. 2017, "Neural Collaborative Filtering", WWW).

For user u and movie i with GMF embeddings p_u, q_i and MLP embeddings p'_u, q'_i:

    z        = [ p_u * q_i ,  MLP([p'_u, q'_i]) ]          (GMF branch, MLP branch)
    rank(u,i)  = sigmoid(h_k . z + c_i + b_k)               ranking head, trained with BCE
    stars(u,i) = RatingScale(sigmoid(h_r . z + b_u + b_i + b_r))  rating head, trained with MSE

Two heads share the embeddings and the MLP: the ranking head decides the list, the rating head
says how many stars to show. (Ranked by predicted stars alone, an NCF recommends obscure films
that one person rated 5 stars.) ``c_i`` is a per-movie ranking bias: it learns how widely a film
is watched, which is most of what ranking on MovieLens is about.

The model's single output is ``(batch, 2)``: column 0 the ranking probability, column 1 stars.
Importing this module imports TensorFlow; serving uses ``recsys.ncf.serving`` instead.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from recsys.ncf.config import NCFConfig

RATING_MIN = 0.5
RATING_MAX = 5.0
OUTPUT_RANK = 0
OUTPUT_STARS = 1
_EPS = 1e-7


@keras.saving.register_keras_serializable(package="ncf")
class RatingScale(layers.Layer):
    """Maps a sigmoid output in [0, 1] linearly onto [low, high] stars."""

    def __init__(self, low: float = RATING_MIN, high: float = RATING_MAX, **kwargs):
        super().__init__(**kwargs)
        if not high > low:
            raise ValueError("RatingScale needs high > low")
        self.low = float(low)
        self.high = float(high)

    def call(self, inputs):
        return self.low + (self.high - self.low) * inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


@keras.saving.register_keras_serializable(package="ncf")
def ncf_loss_factory(rating_loss_weight: float = 0.5):
    """Loss for targets ``[rank_label, rank_weight, stars, star_weight]`` (see recsys.ncf.sampling)."""

    def ncf_loss(y_true, y_pred):
        ranking, stars = _loss_terms(y_true, y_pred)
        return ops.mean(ranking) + rating_loss_weight * ops.mean(stars)

    return ncf_loss


def _loss_terms(y_true, y_pred):
    """Per row: the weighted BCE of the ranking head and the weighted squared star error."""
    label, rank_w, stars, star_w = (y_true[:, k] for k in range(4))
    prob = ops.clip(y_pred[:, OUTPUT_RANK], _EPS, 1.0 - _EPS)
    bce = -(label * ops.log(prob) + (1.0 - label) * ops.log(1.0 - prob))
    return rank_w * bce, star_w * ops.square(y_pred[:, OUTPUT_STARS] - stars)


def ncf_example_losses(y_true, y_pred, rating_loss_weight: float = 0.5):
    """The loss of each row; their mean over a batch is ``ncf_loss_factory(...)``'s value."""
    ranking, stars = _loss_terms(y_true, y_pred)
    return ranking + rating_loss_weight * stars


@keras.saving.register_keras_serializable(package="ncf")
class LazyAdam(keras.optimizers.Adam):
    """Adam that moves only the embedding rows a batch looked up ("lazy" Adam, as in TF Addons).

    Keras's Adam turns an embedding's sparse gradient into a dense one and updates every row of
    every table, and both Adam moments with it, at every step: on ml-25m (~15M embedding
    parameters) that memory traffic, not the arithmetic, is most of a training step. Here a
    sparse gradient (``tf.IndexedSlices``) updates the moments and weights of its rows only;
    rows a batch did not touch keep their moments instead of decaying them. Dense gradients
    (the MLP, the heads) get Keras's Adam unchanged.
    """

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        alpha = (ops.cast(learning_rate, dtype) * ops.sqrt(1 - ops.power(beta_2, step))
                 / (1 - ops.power(beta_1, step)))
        # One row per distinct index, its gradients summed: a scatter with repeated indices
        # would keep only one of them.
        rows, slot = tf.unique(gradient.indices)
        grad = tf.math.unsorted_segment_sum(tf.cast(gradient.values, dtype), slot, tf.shape(rows)[0])
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m_rows = beta_1 * tf.gather(m.value, rows) + (1 - beta_1) * grad
        v_rows = beta_2 * tf.gather(v.value, rows) + (1 - beta_2) * tf.square(grad)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(variable, tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), rows))


def _embedding(n: int, dim: int, name: str, l2: float, zeros: bool = False):
    return layers.Embedding(
        n, dim, name=name,
        embeddings_initializer="zeros" if zeros else keras.initializers.RandomNormal(stddev=0.05),
        # Penalise the rows a batch looks up (not the whole table every step: that would
        # cost O(catalog) per batch and shrink rarely-seen rows far too hard).
        activity_regularizer=keras.regularizers.L2(l2) if l2 else None,
    )


def build_model(n_users: int, n_items: int, config: NCFConfig) -> keras.Model:
    """The NeuMF network for ``n_users`` x ``n_items`` (rows of the vocabularies).

    Args:
        n_users, n_items: vocabulary sizes.
        config: embedding size, MLP layer sizes, dropout, L2.
    Returns:
        An uncompiled keras.Model taking ``[user_rows, item_rows]`` (int32, shape (batch,))
        and returning ``(batch, 2)``: ranking probability and predicted stars.
    """
    d, l2 = config.embedding_dim, config.l2
    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")

    gmf = layers.Multiply(name="gmf")([
        _embedding(n_users, d, "user_gmf", l2)(user), _embedding(n_items, d, "item_gmf", l2)(item)])
    mlp = layers.Concatenate(name="mlp_input")([
        _embedding(n_users, d, "user_mlp", l2)(user), _embedding(n_items, d, "item_mlp", l2)(item)])
    for k, units in enumerate(config.layers):
        mlp = layers.Dense(units, activation="relu", name=f"mlp_{k}")(mlp)
        if config.dropout:
            mlp = layers.Dropout(config.dropout, name=f"dropout_{k}")(mlp)
    z = layers.Concatenate(name="neumf")([gmf, mlp])

    rank_logit = layers.Add(name="rank_logit")([
        layers.Dense(1, name="rank_head")(z), _embedding(n_items, 1, "item_rank_bias", 0.0, zeros=True)(item)])
    rank = layers.Activation("sigmoid", name="rank")(rank_logit)

    rating_logit = layers.Add(name="rating_logit")([
        layers.Dense(1, name="rating_head")(z),
        _embedding(n_users, 1, "user_bias", 0.0, zeros=True)(user),
        _embedding(n_items, 1, "item_bias", 0.0, zeros=True)(item),
    ])
    stars = RatingScale(name="stars")(layers.Activation("sigmoid", name="rating_unit")(rating_logit))
    output = layers.Concatenate(name="scores")([rank, stars])
    return keras.Model(inputs=[user, item], outputs=output, name="neumf")


def export_weights(model: keras.Model, config: NCFConfig) -> dict:
    """The learned parameters as float32 NumPy arrays, named for ``recsys.ncf.serving``."""
    import numpy as np

    get = lambda name: [np.asarray(w, dtype=np.float32) for w in model.get_layer(name).get_weights()]  # noqa: E731
    out = {
        "user_gmf": get("user_gmf")[0], "item_gmf": get("item_gmf")[0],
        "user_mlp": get("user_mlp")[0], "item_mlp": get("item_mlp")[0],
        "item_rank_bias": get("item_rank_bias")[0][:, 0],
        "user_bias": get("user_bias")[0][:, 0], "item_bias": get("item_bias")[0][:, 0],
    }
    for k in range(len(config.layers)):
        out[f"mlp_{k}_w"], out[f"mlp_{k}_b"] = get(f"mlp_{k}")
    (rank_w, rank_b), (rating_w, rating_b) = get("rank_head"), get("rating_head")
    out.update(rank_w=rank_w[:, 0], rank_b=rank_b, rating_w=rating_w[:, 0], rating_b=rating_b)
    scale = model.get_layer("stars")
    out["rating_range"] = np.array([scale.low, scale.high], dtype=np.float32)
    return out
