"""NeuMF training steps split around ``tf.unique``, so that XLA compiles the rest.

``keras.Model.fit`` with :class:`recsys.ncf.model.LazyAdam` cannot be compiled by XLA as a whole:
the lazy update needs ``tf.unique``, whose output shape depends on the data. Two ways round it:

* :class:`FusedStep` (the step ``recsys.ncf.training`` uses for the ``default`` strategy): only
  ``tf.unique`` of the batch's users and of its movies runs outside XLA; the gathers, forward
  pass, loss, gradients, Adam on the dense weights and lazy Adam on the tables are one XLA
  function. 1.36x-1.53x ``fit``'s examples/s (docs/production.md).
* :class:`SplitStep` (measured, not used: 1.15x-1.20x): the gathers and the optimizer outside
  XLA, only the forward pass, loss and gradients in it:

  1. outside XLA, the rows a batch looks up are gathered from the seven embedding tables;
  2. one ``tf.function(jit_compile=True)`` computes the forward pass (dropout included), the
     same loss as ``fit`` (``recsys.ncf.model.ncf_loss_factory`` plus the L2 activity
     regulariser of the four looked-up embeddings, ``l2 * sum(rows**2) / batch`` each) and its
     gradients with respect to the gathered rows and the dense weights;
  3. outside XLA, the gradients go to the model's optimizer as Keras would pass them: an
     ``IndexedSlices`` per table, so LazyAdam's sparse update runs unchanged.

Both compute the same network, loss and optimizer arithmetic as ``fit``; only dropout's random
masks come from another stream (stateless, seeded from ``seed`` and the step number), so same
seed, same data still gives the same weights, not the ones ``fit`` gave.
"""
from __future__ import annotations

USER_TABLES = ("user_gmf", "user_mlp", "user_bias")
ITEM_TABLES = ("item_gmf", "item_mlp", "item_rank_bias", "item_bias")
TABLES = USER_TABLES + ITEM_TABLES
REGULARISED = ("user_gmf", "item_gmf", "user_mlp", "item_mlp")


def neumf_loss(rows: dict, dense: list, targets, seed, *, config, rng_alg: str):
    """``fit``'s loss of one batch, from the looked-up embedding rows (``rows``: table name ->
    (batch, d)), the dense weights in :class:`SplitStep`'s order, the ``(batch, 4)`` targets and a
    stateless seed pair for dropout (layer k adds k): BCE of the ranking head + the weighted star
    MSE (``recsys.ncf.model.ncf_loss_factory``) + the L2 activity penalty on the four regularised rows."""
    import tensorflow as tf

    from recsys.ncf.model import _EPS, RATING_MAX, RATING_MIN

    n_layers, dropout = len(config.layers), float(config.dropout)
    l2, weight = float(config.l2), float(config.rating_loss_weight)
    n = tf.cast(tf.shape(targets)[0], tf.float32)
    ug, um, ub, ig, im, irb, ib = (rows[name] for name in TABLES)
    x = tf.concat([um, im], axis=1)
    for k in range(n_layers):
        x = tf.nn.relu(tf.matmul(x, dense[2 * k]) + dense[2 * k + 1])
        if dropout:
            keep = tf.random.stateless_uniform(tf.shape(x), seed=seed + k, alg=rng_alg) >= dropout
            x = tf.where(keep, x / (1.0 - dropout), 0.0)
    z = tf.concat([ug * ig, x], axis=1)
    rank_w, rank_b, rating_w, rating_b = dense[2 * n_layers:]
    prob = tf.sigmoid(tf.matmul(z, rank_w) + rank_b + irb)[:, 0]
    unit = tf.sigmoid(tf.matmul(z, rating_w) + rating_b + ub + ib)[:, 0]
    stars = RATING_MIN + (RATING_MAX - RATING_MIN) * unit
    label, rank_weight, target_stars, star_weight = (targets[:, k] for k in range(4))
    prob = tf.clip_by_value(prob, _EPS, 1.0 - _EPS)
    bce = -(label * tf.math.log(prob) + (1.0 - label) * tf.math.log(1.0 - prob))
    loss = tf.reduce_mean(rank_weight * bce) + weight * tf.reduce_mean(star_weight * tf.square(stars - target_stars))
    if l2:
        loss += tf.add_n([l2 * tf.reduce_sum(tf.square(rows[name])) / n for name in REGULARISED])
    return loss


class SplitStep:
    """``step(users, items, targets) -> loss`` for a NeuMF model built by ``build_model`` and
    compiled with an optimizer (its ``optimizer`` is used)."""

    def __init__(self, model, config, seed: int = 0, jit_compile: bool = True):
        import tensorflow as tf

        self.model, self.config = model, config
        self.tables = {name: model.get_layer(name).embeddings for name in TABLES}
        n_layers = len(config.layers)
        self.mlp = [(model.get_layer(f"mlp_{k}").kernel, model.get_layer(f"mlp_{k}").bias) for k in range(n_layers)]
        heads = [model.get_layer("rank_head"), model.get_layer("rating_head")]
        self.dense = [w for pair in self.mlp for w in pair] + [w for h in heads for w in (h.kernel, h.bias)]
        self.variables = [self.tables[name] for name in TABLES] + self.dense
        trainable = {id(v) for v in model.trainable_variables}
        if len(trainable) != len(self.variables) or any(id(v) not in trainable for v in self.variables):
            raise ValueError("SplitStep expects the NeuMF network of recsys.ncf.model.build_model")
        model.optimizer.build(model.trainable_variables)
        self.seed = tf.constant(seed, tf.int64)
        self.steps = tf.Variable(0, dtype=tf.int64, trainable=False)
        # XLA on CPU runs the default ("auto_select") stateless generator ~100x slower than
        # threefry asked for by name; outside XLA TensorFlow's kernel takes philox.
        rng_alg = "threefry" if jit_compile else "philox"

        def forward_loss(rows, dense, targets, seed):
            return neumf_loss(rows, dense, targets, seed, config=config, rng_alg=rng_alg)

        @tf.function(jit_compile=jit_compile)
        def dense_part(rows, dense, targets, seed):
            with tf.GradientTape() as tape:
                tape.watch([rows, dense])
                loss = forward_loss(rows, dense, targets, seed)
            row_grads, dense_grads = tape.gradient(loss, [rows, dense])
            return loss, row_grads, dense_grads

        @tf.function
        def step(users, items, targets):
            indices = {**dict.fromkeys(USER_TABLES, users), **dict.fromkeys(ITEM_TABLES, items)}
            rows = {name: tf.gather(self.tables[name], indices[name]) for name in TABLES}
            # Per-step seed pair for dropout's stateless masks (layer k adds k).
            seed_pair = tf.stack([self.seed, self.steps * 16])
            loss, row_grads, dense_grads = dense_part(rows, [tf.convert_to_tensor(w) for w in self.dense],
                                                      targets, seed_pair)
            grads = [tf.IndexedSlices(row_grads[name], indices[name],
                                      tf.shape(self.tables[name], out_type=indices[name].dtype))
                     for name in TABLES] + list(dense_grads)
            model.optimizer.apply_gradients(zip(grads, self.variables))
            self.steps.assign_add(1)
            return loss

        self._step = step

    def __call__(self, users, items, targets):
        return self._step(users, items, targets)


class FusedStep:
    """The whole step in one XLA function but for ``tf.unique`` of the batch's users and movies.

    ``tf.unique`` (data-dependent shape) runs first, outside XLA, once per side. Its distinct rows
    are padded to the batch size with copies of the first one, so every shape is static; inside
    XLA the tables' distinct rows are gathered, expanded to the batch (``gather(unique_rows,
    slot)``: its gradient sums repeated rows), the forward pass, loss and gradients are computed,
    and the optimizer runs: Keras's Adam ``update_step`` for the dense weights, LazyAdam's row
    update (the same arithmetic as ``recsys.ncf.model.LazyAdam``) for the tables. The padding
    copies carry the first row's values, so their scatters write what the first one writes.
    """

    def __init__(self, model, config, seed: int = 0, resource_scatter: bool = True):
        import tensorflow as tf

        self.model, self.config = model, config
        opt = model.optimizer
        opt.build(model.trainable_variables)
        tables = {name: model.get_layer(name).embeddings for name in TABLES}
        n_layers = len(config.layers)
        heads = [model.get_layer("rank_head"), model.get_layer("rating_head")]
        dense = ([w for k in range(n_layers) for w in (model.get_layer(f"mlp_{k}").kernel,
                                                       model.get_layer(f"mlp_{k}").bias)]
                 + [w for h in heads for w in (h.kernel, h.bias)])
        trainable = {id(v) for v in model.trainable_variables}
        if len(trainable) != len(TABLES) + len(dense) or any(
                id(v) not in trainable for v in list(tables.values()) + dense):
            raise ValueError("FusedStep expects the NeuMF network of recsys.ncf.model.build_model")
        slots = {name: (opt._momentums[opt._get_variable_index(v)], opt._velocities[opt._get_variable_index(v)])
                 for name, v in tables.items()}
        self.seed = tf.constant(seed, tf.int64)
        self.steps = tf.Variable(0, dtype=tf.int64, trainable=False)
        side = {**dict.fromkeys(USER_TABLES, "user"), **dict.fromkeys(ITEM_TABLES, "item")}

        def tf_var(v):
            return v.value if isinstance(v.value, tf.Variable) else v._value

        @tf.function(jit_compile=True)
        def fused(uniq, slot, count, targets, seed):
            batch = tf.shape(targets)[0]
            unique_rows = {name: tf.gather(tables[name], uniq[side[name]]) for name in TABLES}
            dense_values = [tf.convert_to_tensor(w) for w in dense]
            with tf.GradientTape() as tape:
                tape.watch([unique_rows, dense_values])
                rows = {name: tf.gather(unique_rows[name], slot[side[name]]) for name in TABLES}
                loss = neumf_loss(rows, dense_values, targets, seed, config=config, rng_alg="threefry")
            row_grads, dense_grads = tape.gradient(loss, [unique_rows, dense_values])
            lr = tf.cast(opt.learning_rate, tf.float32)
            for g, w in zip(dense_grads, dense):
                opt.update_step(g, w, lr)
            step = tf.cast(opt.iterations + 1, tf.float32)
            b1, b2 = tf.cast(opt.beta_1, tf.float32), tf.cast(opt.beta_2, tf.float32)
            alpha = lr * tf.sqrt(1 - tf.pow(b2, step)) / (1 - tf.pow(b1, step))
            position = tf.range(batch)
            for name in TABLES:
                s = side[name]
                # Padding positions (>= count) take the first distinct row's gradient.
                grad = tf.gather(row_grads[name], tf.where(position < count[s], position, 0))
                m, v = slots[name]
                index = uniq[s][:, None]
                m_rows = b1 * tf.gather(m, uniq[s]) + (1 - b1) * grad
                v_rows = b2 * tf.gather(v, uniq[s]) + (1 - b2) * tf.square(grad)
                new_rows = unique_rows[name] - alpha * m_rows / (tf.sqrt(v_rows) + opt.epsilon)
                for var, values in ((m, m_rows), (v, v_rows), (tables[name], new_rows)):
                    if resource_scatter:
                        tf_var(var).scatter_update(tf.IndexedSlices(values, uniq[s]))
                    else:
                        tf_var(var).assign(tf.tensor_scatter_nd_update(tf_var(var), index, values))
            opt.iterations.assign_add(1)
            return loss

        def pad(indices):
            rows, slot = tf.unique(indices)
            count = tf.shape(rows)[0]
            padded = tf.concat([rows, tf.fill([tf.shape(indices)[0] - count], rows[0])], axis=0)
            return padded, slot, count

        @tf.function(reduce_retracing=True)
        def step(users, items, targets):
            (pu, su, cu), (pi, si, ci) = pad(users), pad(items)
            seed_pair = tf.stack([self.seed, self.steps * 16])
            loss = fused({"user": pu, "item": pi}, {"user": su, "item": si}, {"user": cu, "item": ci},
                         targets, seed_pair)
            self.steps.assign_add(1)
            return loss

        self._step = step

    def __call__(self, users, items, targets):
        return self._step(users, items, targets)
