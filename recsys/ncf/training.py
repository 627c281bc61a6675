"""Training the NeuMF network: fresh negatives each epoch, early stopping on held-out ratings.

Each epoch streams: its examples (the rated rows in a fresh random order, each chunk of them
with freshly sampled negatives, shuffled within the chunk; ``recsys.ncf.sampling.epoch_chunks``) are
made on the fly and fed in batches through a prefetching ``tf.data`` pipeline, so memory does
not grow with the epoch. Progress (examples done, examples/s, ETA) is logged at INFO every
``REPORT_SECONDS``.

The validation split is carved from the training ratings passed in (never any test data); the
best epoch's weights by validation loss are kept. Same seed and same data give the same weights:
Python, NumPy and TensorFlow are seeded and TensorFlow runs deterministic ops.

``strategy`` picks the ``tf.distribute`` strategy (see ``recsys.ncf.distribute``): ``default`` trains
with ``Model.fit`` on one device; ``mirrored`` and ``multiworker`` with the same examples and a
custom synchronous step over all replicas. The global batch is ``config.batch_size``, or when that
is 0 one chosen from the epoch's size (``recsys.ncf.config.auto_batch_size``): with N replicas each
takes about batch / N rows of every step.

The optimizer is :class:`recsys.ncf.model.LazyAdam`: an embedding row moves only on the steps
that look it up, so a step costs the same on ml-25m's tables as on ml-latest-small's.

With the ``default`` strategy a step is :class:`recsys.ncf.split_step.FusedStep` (``FUSED_STEP``):
the same network, loss and optimizer arithmetic as ``Model.fit`` with LazyAdam, but all of it
XLA-compiled except ``tf.unique`` of the batch's users and movies: 1.36x the examples/s at
batch 8,192, 1.53x at 16,384 on ml-25m's tables (docs/production.md). ``FUSED_STEP = False``
trains with ``Model.fit`` as before.
"""
from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys.data.vocabulary import Vocabulary
from recsys.ncf.config import MODE_REGRESSION, NCFConfig
from recsys.ncf.distribute import STRATEGY_DEFAULT, DistributedTrainer, check_strategy, make_strategy
from recsys.ncf.sampling import (
    build_examples,
    epoch_blocks,
    epoch_chunks,
    epoch_size,
    popularity_probs,
    rated_pair_keys,
)

log = logging.getLogger(__name__)

#: How often (seconds) an epoch in progress logs its examples/s and ETA.
REPORT_SECONDS = 10.0
#: Training steps Keras runs per call into TensorFlow (``compile(steps_per_execution=...)``): the
#: same updates in the same order, with the per-step Python overhead paid once per this many steps.
STEPS_PER_EXECUTION = 32
#: Train the ``default`` strategy with :class:`recsys.ncf.split_step.FusedStep` (XLA) rather than
#: ``Model.fit``. The distributed strategies always use ``recsys.ncf.distribute``'s step.
FUSED_STEP = True


@dataclass
class EpochReport:
    epoch: int
    loss: float  # training loss (BCE + weighted MSE, + L2)
    val_loss: float
    val_rmse: float
    seconds: float
    examples: int = 0  # training rows seen this epoch (rated + sampled)
    examples_per_second: float = 0.0  # over the training pass, validation excluded


class Throughput:
    """Counts an epoch's training rows and logs rate and ETA at most every ``every`` seconds."""

    def __init__(self, epoch: int, total: int, every: float = REPORT_SECONDS, clock=time.perf_counter):
        self.epoch, self.total, self.every, self.clock = epoch, total, every, clock
        self.done = 0
        self.started = self.last = clock()
        self.stopped: float | None = None

    @property
    def rate(self) -> float:
        elapsed = (self.stopped if self.stopped is not None else self.clock()) - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def stop(self) -> None:
        """The training pass is over: the rate stops counting time (validation is not training)."""
        self.stopped = self.clock()

    def add(self, rows: int) -> None:
        self.done += rows
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            rate = self.rate
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            log.info("epoch %d: %s of %s examples (%.0f%%), %s examples/s, ETA %.0f s", self.epoch,
                     f"{self.done:,}", f"{self.total:,}", 100 * self.done / max(self.total, 1),
                     f"{rate:,.0f}", eta)


def epoch_dataset(batches: Callable, rows: int, batch_size: int):
    """A ``tf.data`` pipeline of ``((users, items), targets)`` batches from ``batches()``, an
    iterator of NumPy ``(users, items, targets)`` batches, ``rows`` rows in all, prefetched so
    sampling overlaps training. (Whole batches come from NumPy: cutting blocks into batches
    inside tf.data goes row by row and costs more than the sampling.)"""
    import tensorflow as tf

    signature = (tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.int32),
                 tf.TensorSpec((None, 4), tf.float32))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    dataset = dataset.map(lambda u, i, t: ((u, i), t))
    # The batch count is known: Keras then knows the epoch's length (no "ran out of data").
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(math.ceil(rows / batch_size)))
    return dataset.prefetch(tf.data.AUTOTUNE)


@dataclass
class TrainResult:
    config: NCFConfig
    users: Vocabulary
    items: Vocabulary
    weights: dict  # float32 arrays, see recsys.ncf.model.export_weights
    history: list[EpochReport] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    strategy: str = STRATEGY_DEFAULT
    replicas: int = 1  # devices the global batch was split over, on all machines
    batch_size: int = 0  # the global batch trained with (config.batch_size_for the epoch's size)


def make_deterministic(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and ask TensorFlow for deterministic kernels."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def split_validation(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random (train, validation) row indices of ``n`` ratings."""
    order = rng.permutation(n)
    n_val = int(round(n * fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _predict_in_batches(model, users: np.ndarray, items: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """``model.predict`` one batch at a time. ``predict`` on NumPy arrays builds a tf.data
    pipeline whose map op carries an attribute this TensorFlow's C++ side does not know, and it
    logs a long "NodeDef mentions attribute use_unbounded_threadpool" error line every epoch;
    ``predict_on_batch`` runs the same compiled function on the same batches without it."""
    if len(users) == 0:
        return np.zeros((0, 2), np.float32)
    return np.concatenate([np.asarray(model.predict_on_batch([users[start:start + batch_size],
                                                              items[start:start + batch_size]]))
                           for start in range(0, len(users), batch_size)])


def _val_metrics(pred: np.ndarray, val, config: NCFConfig) -> tuple[float, float]:
    prob = np.clip(pred[:, 0], 1e-7, 1 - 1e-7)
    bce = -(val.rank_label * np.log(prob) + (1 - val.rank_label) * np.log(1 - prob))
    sq = np.square(pred[:, 1] - val.rating)
    loss = float(np.mean(val.rank_weight * bce) + config.rating_loss_weight * np.mean(val.rating_weight * sq))
    rated = val.rating_weight > 0
    rmse = float(np.sqrt(np.mean(sq[rated]))) if rated.any() else float("nan")
    return loss, rmse


@dataclass
class _TrainingData:
    """The ratings as rows, the held-out validation examples and what sampling needs."""

    users: Vocabulary
    items: Vocabulary
    u: np.ndarray
    i: np.ndarray
    r: np.ndarray
    n_items: int
    keys: np.ndarray
    probs: np.ndarray
    val: object  # Examples, or None without a validation share
    fit: tuple[np.ndarray, np.ndarray, np.ndarray]
    n_examples: int
    config: NCFConfig

    @classmethod
    def build(cls, ratings: pd.DataFrame, config: NCFConfig, rng: np.random.Generator) -> _TrainingData:
        users, items = Vocabulary(ratings["user_id"].to_numpy()), Vocabulary(ratings["movie_id"].to_numpy())
        u = users.indices(ratings["user_id"].to_numpy()).astype(np.int32)
        i = items.indices(ratings["movie_id"].to_numpy()).astype(np.int32)
        r = ratings["rating"].to_numpy(dtype=np.float32)
        n_items = len(items)
        keys = rated_pair_keys(u, i, n_items)  # all rated pairs: a validation positive is never a negative
        probs = popularity_probs(i, n_items, config.negative_sampling_alpha)
        fit_rows, val_rows = split_validation(len(r), config.validation_fraction, rng)
        val = build_examples(u[val_rows], i[val_rows], r[val_rows], n_items=n_items, mode=config.mode,
                             negatives_per_positive=config.negatives_per_positive, rng=rng,
                             rated_keys=keys, item_probs=probs) if len(val_rows) else None
        fit = (u[fit_rows], i[fit_rows], r[fit_rows])
        n_examples = epoch_size(fit[2], mode=config.mode, negatives_per_positive=config.negatives_per_positive)
        return cls(users, items, u, i, r, n_items, keys, probs, val, fit, n_examples, config)

    @property
    def batch_size(self) -> int:
        return self.config.batch_size_for(self.n_examples)

    def batches(self, epoch_rng: np.random.Generator, config: NCFConfig):
        """One epoch's batches: every training row in a fresh order, fresh negatives, chunk by chunk."""
        chunks = epoch_chunks(*self.fit, n_items=self.n_items, mode=config.mode,
                              negatives_per_positive=config.negatives_per_positive, rng=epoch_rng,
                              rated_keys=self.keys, item_probs=self.probs)
        return epoch_blocks(chunks, config.batch_size_for(self.n_examples))


#: Steps the fused loop may run ahead of the step that has finished. TensorFlow runs the XLA step
#: asynchronously: without a bound, Python queued up a minute of steps (and their batches) at
#: ml-25m size, and the progress line counted rows that had not been trained yet.
FUSED_STEPS_AHEAD = 32


def _fit_fused(step, dataset, meter: Throughput) -> float:
    """One pass of ``dataset`` through the fused step; the mean training loss (weighted by rows)."""
    losses, rows = [], 0
    for (users, items), targets in dataset:
        size = int(users.shape[0])
        losses.append((step(users, items, targets), size))  # scalar tensors, read at the end
        if len(losses) > FUSED_STEPS_AHEAD:
            losses[-1 - FUSED_STEPS_AHEAD][0].numpy()  # waits for that step: at most this many queued
            meter.add(losses[-1 - FUSED_STEPS_AHEAD][1])
        rows += size
    for loss, size in losses[-FUSED_STEPS_AHEAD:]:
        loss.numpy()
        meter.add(size)
    return sum(float(loss) * n for loss, n in losses) / rows if rows else float("nan")


def _one_epoch(model, trainer, dataset, meter: Throughput, val, config: NCFConfig, n_examples: int,
               batch_size: int, fused=None) -> tuple[float, float, float]:
    """Train one epoch (the fused step, Keras, or the distributed trainer) and validate:
    (loss, val_loss, val_rmse)."""
    if fused is not None:
        loss = _fit_fused(fused, dataset, meter)
    elif trainer is None:
        hist = model.fit(dataset, epochs=1, verbose=0, shuffle=False,
                         callbacks=[_Count(meter, batch_size, n_examples)])
        loss = float(hist.history["loss"][-1])
    else:
        loss = trainer.fit_epoch(((users, items, targets) for (users, items), targets in dataset),
                                 on_rows=meter.add)
    meter.done = n_examples
    meter.stop()
    val_loss, val_rmse = loss, float("nan")
    if val is not None:
        pred = (_predict_in_batches(model, val.users, val.items) if trainer is None
                else trainer.predict(val.users, val.items))
        val_loss, val_rmse = _val_metrics(pred, val, config)
    if trainer is not None:  # bit-identical on every worker, so they stop at the same epoch
        val_loss, val_rmse = trainer.agree(val_loss, val_rmse)
    return loss, val_loss, val_rmse


def train(
    ratings: pd.DataFrame, config: NCFConfig, *,
    progress: Callable[[EpochReport], None] | None = None,
    strategy: str = STRATEGY_DEFAULT,
) -> TrainResult:
    """Train NeuMF on ``ratings`` (columns user_id, movie_id, rating[, timestamp]).

    Args:
        ratings: the training ratings.
        config: hyper-parameters (mode, sizes, epochs, seed...).
        progress: called after every epoch with its report.
        strategy: ``default``, ``mirrored`` or ``multiworker`` (``recsys.ncf.distribute``); how the
            model is trained, not what it is, so it is not part of ``config``.
    Returns:
        TrainResult with the vocabularies and the best epoch's weights as NumPy arrays.
    """
    if len(ratings) == 0:
        raise ValueError("cannot train on an empty ratings frame")
    check_strategy(strategy)
    started = time.perf_counter()
    # MultiWorkerMirroredStrategy must exist before TensorFlow runs anything: create it first.
    distribution = make_strategy(strategy)
    make_deterministic(config.seed)
    from recsys.ncf.model import LazyAdam, build_model, ncf_loss_factory

    rng = np.random.default_rng(config.seed)
    data = _TrainingData.build(ratings, config, rng)
    users, items, u, i, r, n_items, val = data.users, data.items, data.u, data.i, data.r, data.n_items, data.val
    n_examples = data.n_examples

    with distribution.scope():
        model = build_model(len(users), n_items, config)
        model.compile(optimizer=LazyAdam(config.learning_rate),
                      loss=ncf_loss_factory(config.rating_loss_weight), steps_per_execution=STEPS_PER_EXECUTION)
    trainer = fused = None
    if strategy == STRATEGY_DEFAULT and FUSED_STEP:
        from recsys.ncf.split_step import FusedStep

        fused = FusedStep(model, config, seed=config.seed)
    if strategy != STRATEGY_DEFAULT:
        trainer = DistributedTrainer(model, distribution, config.rating_loss_weight)
        # Each worker samples its own copy of every epoch; they must be the same copy.
        checksum = 0
        for array in (u, i, r):
            checksum = zlib.crc32(np.ascontiguousarray(array), checksum)
        trainer.check_same_work(len(r), len(users), n_items, checksum, int(config.training_hash(), 16))

    result = TrainResult(config=config, users=users, items=items, weights={}, strategy=strategy,
                         replicas=distribution.num_replicas_in_sync, batch_size=data.batch_size)
    log.info("%s training examples an epoch in batches of %s", f"{n_examples:,}", f"{data.batch_size:,}")
    best, best_weights, waited = float("inf"), None, 0
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        # A generator seeded per epoch, made afresh whenever tf.data (re)starts the stream: the
        # epoch's rows cannot depend on how often or how far the pipeline reads.
        epoch_seed = int(rng.integers(2**63))
        dataset = epoch_dataset(lambda seed=epoch_seed: data.batches(np.random.default_rng(seed), config),
                                n_examples, data.batch_size)
        meter = Throughput(epoch, n_examples)
        loss, val_loss, val_rmse = _one_epoch(model, trainer, dataset, meter, val, config, n_examples,
                                              data.batch_size, fused)
        examples_per_second = meter.rate
        report = EpochReport(epoch, loss, val_loss, val_rmse, time.perf_counter() - t0, n_examples,
                             examples_per_second)
        result.history.append(report)
        if progress:
            progress(report)
        log.info("epoch %d loss %.4f val_loss %.4f val_rmse %.4f (%.1fs, %s examples/s)", epoch, loss, val_loss,
                 val_rmse, report.seconds, f"{examples_per_second:,.0f}")
        if val_loss < best - 1e-5:
            best, best_weights, waited, result.best_epoch = val_loss, model.get_weights(), 0, epoch
        else:
            waited += 1
            if waited >= config.patience:
                break
    if best_weights is not None:
        model.set_weights(best_weights)
    return _finished(result, model, config, started)


def _finished(result: TrainResult, model, config: NCFConfig, started: float) -> TrainResult:
    from recsys.ncf.model import export_weights
    from recsys.ncf.serving import NumpyNeuMF

    result.weights = export_weights(model, config)
    # The fold-in's shared MLP branch, computed once here rather than at every load.
    result.weights["population_mlp_logits"] = NumpyNeuMF(result.weights, config).mean_mlp_logits
    result.seconds = time.perf_counter() - started
    result.model = model  # kept for tests and exports; not saved
    return result


def _Count(meter: Throughput, batch_size: int, total: int):
    """A Keras callback feeding ``meter`` the rows of the batches done (``batch`` is the index of
    the last step of the execution that just finished)."""
    import keras

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            meter.add(min((batch + 1) * batch_size, total) - meter.done)

    return Count()


def ranks_by_stars(config: NCFConfig) -> bool:
    return config.mode == MODE_REGRESSION
