"""Training on several devices or machines with TensorFlow's own ``tf.distribute``.

Synchronous data parallelism: every replica holds a full copy of the network, takes its share of
each global batch, and the gradients are summed over all replicas (all-reduce) before every
optimizer step, so all copies stay identical.

* ``default``: TensorFlow's default strategy (one device); training uses ``keras.Model.fit``.
* ``mirrored``: ``tf.distribute.MirroredStrategy()``, every visible GPU of this machine (one
  CPU replica when there is none).
* ``multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy()``, the machines listed in the
  ``TF_CONFIG`` environment variable (one worker, this process, when it is not set). It must be
  created before TensorFlow runs anything in the process.

The two distributed strategies train with :class:`DistributedTrainer`, a small custom step,
because Keras 3's ``Model.fit`` fails under ``MultiWorkerMirroredStrategy`` as soon as there is
more than one worker (``ValueError: Attempt to convert a value (PerReplica ...)``,
keras-team/keras#20585; reproduced with TensorFlow 2.21 / Keras 3.15 on two loopback workers).
``mirrored`` uses the same step so that the path tested on one machine is the one that runs on
many. The strategy decides how a model is trained, not what it is: it is not part of
``NCFConfig`` and does not change the settings hash.
"""
from __future__ import annotations

import json
import os

import numpy as np

STRATEGY_DEFAULT = "default"
STRATEGY_MIRRORED = "mirrored"
STRATEGY_MULTIWORKER = "multiworker"
STRATEGIES = (STRATEGY_DEFAULT, STRATEGY_MIRRORED, STRATEGY_MULTIWORKER)

UNKNOWN_STRATEGY = "strategy must be one of {choices}, not {name!r}"
BAD_TF_CONFIG = "TF_CONFIG is not a valid cluster description: {reason}"
TOO_LATE = ("MultiWorkerMirroredStrategy must be created before TensorFlow runs anything in this "
            "process (start the training in a fresh process): {error}")
WORKERS_DISAGREE = ("the workers are not training the same thing (different ratings or settings): "
                    "start every worker with the same data, options and seed")


class TFConfigError(ValueError):
    """``TF_CONFIG`` is set but does not describe a cluster this process belongs to."""


class StrategyError(RuntimeError):
    """The strategy cannot be created in this process."""


def check_strategy(name: str) -> str:
    """``name`` if it is one of :data:`STRATEGIES`; otherwise ValueError listing them."""
    if name not in STRATEGIES:
        raise ValueError(UNKNOWN_STRATEGY.format(choices=", ".join(STRATEGIES), name=name))
    return name


def read_tf_config(environ=None) -> dict | None:
    """The parsed and checked ``TF_CONFIG`` (None when unset or empty).

    Args:
        environ: the environment to read (default ``os.environ``).
    Returns:
        The dict, with ``cluster`` (job name -> list of ``host:port``) and ``task`` (``type``,
        ``index``) checked.
    Raises:
        TFConfigError: not JSON, or the task is not one of the cluster's.
    """
    raw = (os.environ if environ is None else environ).get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TFConfigError(BAD_TF_CONFIG.format(reason=f"not JSON ({exc})")) from None
    if not isinstance(config, dict):
        raise TFConfigError(BAD_TF_CONFIG.format(reason="expected a JSON object"))
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(hosts, list) and hosts and all(isinstance(h, str) for h in hosts) for hosts in cluster.values()):
        raise TFConfigError(BAD_TF_CONFIG.format(
            reason='"cluster" must map job names to lists of "host:port", e.g. {"worker": ["hostA:12345"]}'))
    if not isinstance(task, dict) or not isinstance(task.get("type"), str) or type(task.get("index")) is not int:
        raise TFConfigError(BAD_TF_CONFIG.format(reason='"task" must be {"type": "worker", "index": N}'))
    kind, index = task["type"], task["index"]
    if kind not in ("chief", "worker"):
        raise TFConfigError(BAD_TF_CONFIG.format(reason=f'task type must be "worker" or "chief", not {kind!r}'))
    if kind not in cluster or not 0 <= index < len(cluster[kind]):
        sizes = ", ".join(f"{job}: {len(hosts)}" for job, hosts in cluster.items())
        raise TFConfigError(BAD_TF_CONFIG.format(reason=f"task {kind} {index} is not in the cluster ({sizes})"))
    return config


def is_chief(tf_config: dict | None) -> bool:
    """Whether this process writes the model: no cluster, the ``chief`` task, or worker 0 when
    the cluster has no ``chief`` job."""
    if tf_config is None:
        return True
    task = tf_config["task"]
    if "chief" in tf_config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and task["index"] == 0


def make_strategy(name: str):
    """The ``tf.distribute.Strategy`` called ``name`` (see the module docstring)."""
    check_strategy(name)
    if name == STRATEGY_MULTIWORKER:
        read_tf_config()  # a clear error before TensorFlow reports a bad cluster its own way
    import tensorflow as tf

    if name == STRATEGY_DEFAULT:
        return tf.distribute.get_strategy()
    if name == STRATEGY_MIRRORED:
        return tf.distribute.MirroredStrategy()
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:  # "Collective ops must be configured at program startup"
        raise StrategyError(TOO_LATE.format(error=exc)) from None


def replica_bounds(start: int, stop: int, replicas: int) -> np.ndarray:
    """Row bounds splitting ``[start, stop)`` into ``replicas`` near-equal consecutive parts."""
    return start + (np.arange(replicas + 1) * (stop - start)) // replicas


class DistributedTrainer:
    """One epoch at a time of synchronous data-parallel training of a compiled NeuMF model.

    Every global batch of ``batch_size`` rows is cut into one consecutive part per replica (the
    last, shorter batch too: nothing is dropped). A replica's loss is its rows' summed
    per-example loss divided by the global batch size, plus its regularisation term weighted
    by its share of the rows; the gradients are summed over the replicas. The update is the one
    ``fit`` makes on the whole batch on one device.

    Every worker must hold the same epoch arrays (same ratings, settings and seed: the
    examples are sampled on each worker with the same generator) and takes its replicas' parts.
    """

    def __init__(self, model, strategy, rating_loss_weight: float):
        import tensorflow as tf

        from recsys.ncf.model import ncf_example_losses

        self.model, self.strategy = model, strategy
        self.replicas = strategy.num_replicas_in_sync
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)

        def replica_step(users, items, targets, global_size):
            with tf.GradientTape() as tape:
                pred = model([users, items], training=True)
                loss = tf.reduce_sum(ncf_example_losses(targets, pred, rating_loss_weight)) / global_size
                if model.losses:  # the embeddings' L2, a mean over this replica's rows
                    share = tf.cast(tf.shape(users)[0], loss.dtype) / global_size
                    loss += tf.add_n(model.losses) * share
            grads = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        @tf.function(reduce_retracing=True)
        def step(users, items, targets, global_size):
            per_replica = strategy.run(replica_step, args=(users, items, targets, global_size))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        self._step = step
        self._forward = tf.function(lambda u, i: model([u, i], training=False), reduce_retracing=True)
        self._tf = tf

    def _per_replica(self, arrays, bounds):
        """Each replica's consecutive part of ``arrays`` (a tuple of per-replica values)."""
        tf = self._tf

        def value(ctx):
            k = ctx.replica_id_in_sync_group
            return tuple(tf.convert_to_tensor(a[bounds[k]:bounds[k + 1]]) for a in arrays)

        return self.strategy.experimental_distribute_values_from_function(value)

    def fit_epoch(self, batches, on_rows=None) -> float:
        """One pass over ``batches``, global ``(users, items, targets)`` batches (NumPy arrays or
        tensors, streamed: ``recsys.ncf.training.epoch_dataset``) in order.

        Args:
            batches: an iterable of global batches; each is cut into one part per replica.
            on_rows: called with each batch's row count once its step is queued (progress).
        Returns:
            The mean training loss (weighted by batch size).
        """
        tf = self._tf
        losses, sizes = [], []
        for users, items, targets in batches:
            size = int(users.shape[0])
            parts = self._per_replica((users, items, targets), replica_bounds(0, size, self.replicas))
            losses.append(self._step(*parts, tf.constant(size, tf.float32)))
            sizes.append(size)
            if on_rows is not None:
                on_rows(size)
        n = sum(sizes)
        return float(np.dot([float(x) for x in losses], sizes) / n) if n else float("nan")

    def predict(self, users: np.ndarray, items: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """The network's ``(n, 2)`` outputs, computed on this worker with its copy of the weights."""
        tf = self._tf
        parts = [self._forward(tf.constant(users[a:a + batch_size]), tf.constant(items[a:a + batch_size])).numpy()
                 for a in range(0, len(users), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)

    def _sum(self, values: np.ndarray) -> np.ndarray:
        tf = self._tf
        vector = tf.constant(values, tf.float64)
        dist = self.strategy.experimental_distribute_values_from_function(lambda ctx: tf.identity(vector))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, dist, axis=None).numpy()

    def agree(self, *values: float) -> tuple[float, ...]:
        """The mean over replicas of each value: every worker gets bit-identical numbers, so a
        decision taken on them (early stopping) cannot differ between machines."""
        return tuple((self._sum(np.array(values)) / self.replicas).tolist())

    def check_same_work(self, *numbers: int) -> None:
        """Raise ValueError unless every replica passed the same ``numbers`` (non-negative ints
        below 2**64: sizes, checksums)."""
        # 16-bit pieces keep every sum below exact in float64.
        x = np.array([(n >> shift) & 0xFFFF for n in numbers for shift in range(0, 64, 16)], dtype=np.float64)
        # Cauchy-Schwarz: replicas * sum(x^2) == sum(x)^2 exactly when every replica's x is the same.
        total, squares = self._sum(x), self._sum(x * x)
        if not np.array_equal(self.replicas * squares, total * total):
            raise ValueError(WORKERS_DISAGREE)
