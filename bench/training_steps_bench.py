"""Training throughput of the old and new optimizer/batch, alternated in one process.

    python -m bench.training_steps_bench --data /tmp/synthetic-ml-2.5m
    python -m bench.training_steps_bench --data /tmp/synthetic-ml-25m --rows 3000000 --rounds 3

``bench/training_bench.py`` times whole ``train_ncf`` runs of two trees, a few minutes each, so
on a shared machine the load changes between runs. This one measures only the training steps,
in short windows that alternate (before, after, before, after...) inside one process, so both
see the same load, and reports each variant's median examples/s and their ratio:

* **before**: Keras's Adam (every embedding row and both its moments updated at every step)
  with the old fixed batch of 2,048;
* **after**: :class:`recsys.ncf.model.LazyAdam` with the batch ``NCFConfig`` now chooses for this
  data (``recsys.ncf.config.auto_batch_size``);
* **lazy, 2,048**: LazyAdam at the old batch (what the optimizer alone is worth).

Every window trains a fresh model of the real table sizes (all users and movies of ``--data``) on
the same stream of real training examples (fresh negatives, as in an epoch) for ``--rows`` rows,
after one warm-up window per variant that is not counted (graph tracing).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=2_000_000, help="training rows per timed window")
    parser.add_argument("--rounds", type=int, default=3, help="timed windows per variant")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    import keras
    import numpy as np

    from recsys.data import datasets
    from recsys.ncf.config import NCFConfig
    from recsys.ncf.model import LazyAdam, build_model, ncf_loss_factory
    from recsys.ncf.training import STEPS_PER_EXECUTION, _TrainingData, epoch_dataset, make_deterministic

    ratings = datasets.load_ratings(args.data)
    make_deterministic(args.seed)
    config = NCFConfig(seed=args.seed)
    data = _TrainingData.build(ratings, config, np.random.default_rng(args.seed))
    auto = data.batch_size
    print(f"{len(ratings):,} ratings, {len(data.users):,} users x {data.n_items:,} movies; "
          f"{data.n_examples:,} examples an epoch; automatic batch {auto:,}", flush=True)
    variants = {"before: Adam, batch 2,048": (keras.optimizers.Adam, 2048),
                f"after: LazyAdam, batch {auto:,}": (LazyAdam, auto),
                "LazyAdam, batch 2,048": (LazyAdam, 2048)}

    def window(optimizer_class, batch: int, rows: int) -> float:
        model = build_model(len(data.users), data.n_items, config)
        model.compile(optimizer=optimizer_class(config.learning_rate), loss=ncf_loss_factory(config.rating_loss_weight),
                      steps_per_execution=STEPS_PER_EXECUTION)
        batch_config = NCFConfig.from_dict({**config.to_dict(), "batch_size": batch})
        steps = max(STEPS_PER_EXECUTION, rows // batch // STEPS_PER_EXECUTION * STEPS_PER_EXECUTION)
        stream = epoch_dataset(lambda: _batches(data, batch_config), data.n_examples, batch).take(steps)
        model.fit(stream.take(STEPS_PER_EXECUTION), epochs=1, verbose=0)  # trace the step outside the clock
        started = time.perf_counter()
        model.fit(stream, epochs=1, verbose=0)
        return steps * batch / (time.perf_counter() - started)

    rates = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for name, (optimizer_class, batch) in variants.items():
            rate = window(optimizer_class, batch, args.rows)
            rates[name].append(rate)
            print(f"  round {round_ + 1}: {name}: {rate:,.0f} examples/s", flush=True)
    base = statistics.median(rates[next(iter(variants))])
    print("\n| variant | examples/s (median) | runs | vs before |\n|---|---:|---|---:|")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"| {name} | {median:,.0f} | {', '.join(f'{v:,.0f}' for v in values)} | {median / base:.2f}x |")


def _batches(data, config):
    import numpy as np

    return data.batches(np.random.default_rng(config.seed), config)


if __name__ == "__main__":
    main()
