"""Training-step throughput: today's ``Model.fit`` step against the split XLA step, alternated.

    taskset -c 1 python -m bench.split_step_bench --data /work/synth/s2_5m
    taskset -c 1 python -m bench.split_step_bench --data /work/synth/s2_5m --tables 162541x62423 --batch 16384

Variants (each window a fresh model of the same table sizes, LazyAdam, dropout and L2 as the
``NCFConfig`` defaults):

* **today**: ``keras.Model.fit`` with ``steps_per_execution=32`` (``recsys.ncf.training``);
* **split, XLA**: :class:`recsys.ncf.split_step.SplitStep`: gathers outside XLA, forward + loss +
  gradients in one ``jit_compile=True`` function, LazyAdam's sparse update outside;
* **split, no XLA**: the same split step with ``jit_compile=False`` (what the split alone is worth);
* **fused**: :class:`recsys.ncf.split_step.FusedStep`: ``tf.unique`` once per side outside XLA,
  everything else (gathers, forward, gradients, Adam and the lazy row updates) in one XLA function.

The examples are real training rows of ``--data`` (rated rows and fresh negatives, as an epoch
streams them), made once before timing and fed to every variant through the same ``tf.data``
pipeline. With ``--tables UxM`` the model is built at those table sizes instead and the rows'
users and movies are replaced by uniform random indices (a step's cost depends on the table
sizes, not on how many ratings there are). The windows alternate (today, split, ..., today,
split...) so all see the same machine load. Every window runs one untimed warm-up execution
(tracing, XLA compilation) and then ``--executions`` executions of 32 steps, each timed alone;
the figure for a window is its median execution, the figure for a variant the median over its
windows, and the ratio is against today's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STEPS = 32  # steps per timed execution, as recsys.ncf.training.STEPS_PER_EXECUTION


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=16384)
    parser.add_argument("--tables", default="", help="UxM: build the model at these table sizes (random indices)")
    parser.add_argument("--executions", type=int, default=4, help="timed executions of 32 steps per window")
    parser.add_argument("--rounds", type=int, default=3, help="windows per variant")
    parser.add_argument("--variants", default="today,split-xla,fused")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from recsys.data import datasets
    from recsys.ncf.config import NCFConfig
    from recsys.ncf.model import LazyAdam, build_model, ncf_loss_factory
    from recsys.ncf.split_step import FusedStep, SplitStep
    from recsys.ncf.training import STEPS_PER_EXECUTION, _TrainingData, make_deterministic

    assert STEPS_PER_EXECUTION == STEPS
    ratings = datasets.load_ratings(args.data)
    make_deterministic(args.seed)
    config = NCFConfig(seed=args.seed, batch_size=args.batch)
    data = _TrainingData.build(ratings, config, np.random.default_rng(args.seed))
    n_users, n_items = len(data.users), data.n_items
    if args.tables:
        n_users, n_items = (int(x) for x in args.tables.lower().split("x"))
    n_steps = STEPS * (args.executions + 1)
    rng = np.random.default_rng(args.seed)
    batches = []
    for users, items, targets in data.batches(np.random.default_rng(args.seed), config):
        if len(users) < args.batch:
            continue
        if args.tables:
            users = rng.integers(0, n_users, len(users)).astype(np.int32)
            items = rng.integers(0, n_items, len(items)).astype(np.int32)
        batches.append((users, items, targets))
        if len(batches) == n_steps:
            break
    if len(batches) < n_steps:
        raise SystemExit(f"only {len(batches)} full batches of {args.batch:,} in an epoch of --data")
    print(f"{len(ratings):,} ratings; tables {n_users:,} users x {n_items:,} movies; batch {args.batch:,}; "
          f"{args.executions} timed executions of {STEPS} steps per window; load {os.getloadavg()[0]:.2f}",
          flush=True)

    def stream():
        signature = (tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.int32),
                     tf.TensorSpec((None, 4), tf.float32))
        return tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature).prefetch(4)

    def fresh_model():
        model = build_model(n_users, n_items, config)
        model.compile(optimizer=LazyAdam(config.learning_rate), loss=ncf_loss_factory(config.rating_loss_weight),
                      steps_per_execution=STEPS)
        return model

    def today() -> list[float]:
        model = fresh_model()
        stamps = []

        class Clock(__import__("keras").callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                stamps.append(time.perf_counter())

        model.fit(stream().map(lambda u, i, t: ((u, i), t)), epochs=1, verbose=0, callbacks=[Clock()])
        return list(np.diff(stamps))  # the first execution (tracing) has no start stamp: left out

    def split(jit: bool, fused: bool = False) -> list[float]:
        model = fresh_model()
        step = (FusedStep(model, config, seed=args.seed) if fused
                else SplitStep(model, config, seed=args.seed, jit_compile=jit))
        durations, started = [], None
        for k, (users, items, targets) in enumerate(stream()):
            loss = step(users, items, targets)
            if (k + 1) % STEPS == 0:
                float(loss)  # wait for the step
                now = time.perf_counter()
                if started is not None:
                    durations.append(now - started)
                started = now
        return durations

    runners = {"today": today, "split-xla": lambda: split(True), "split-noxla": lambda: split(False),
               "fused": lambda: split(True, fused=True)}
    names = {"today": "today: Model.fit, LazyAdam", "split-xla": "split step, XLA dense part",
             "split-noxla": "split step, no XLA",
             "fused": "fused: all but tf.unique in XLA"}
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    rates = {v: [] for v in chosen}
    for round_ in range(args.rounds):
        for variant in chosen:
            durations = runners[variant]()
            rate = STEPS * args.batch / statistics.median(durations)
            rates[variant].append(rate)
            print(f"  round {round_ + 1}: {names[variant]}: {rate:,.0f} examples/s "
                  f"(executions {', '.join(f'{d:.2f}' for d in durations)} s; load {os.getloadavg()[0]:.2f})",
                  flush=True)
    base = statistics.median(rates[chosen[0]])
    print(f"\n| variant | examples/s (median) | windows | vs {chosen[0]} |\n|---|---:|---|---:|")
    for variant, values in rates.items():
        median = statistics.median(values)
        print(f"| {names[variant]} | {median:,.0f} | {', '.join(f'{v:,.0f}' for v in values)} | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
