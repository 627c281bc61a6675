"""Each epoch's validation predictions: ``model.predict`` against batch-by-batch ``predict_on_batch``.

    taskset -c 1 python -m bench.validation_predict_bench
    python -m bench.validation_predict_bench --users 162541 --movies 62423 --rows 100000,2000000 --repeats 5

Training validates every epoch (``recsys.ncf.training._predict_in_batches``). It used
``model.predict``, which builds a ``tf.data`` pipeline over the arrays and logs a TensorFlow C++
error line every call ("NodeDef mentions attribute use_unbounded_threadpool"); now it calls
``predict_on_batch`` on slices of 8192 rows. For each row count: one model at ``--users`` x
``--movies`` (the ``NCFConfig`` defaults otherwise), uniform random (user, movie) rows, one untimed
call of each, then ``--repeats`` alternated timed calls; the table gives each way's median, the
ratio against ``model.predict`` and whether the two outputs are equal bit for bit.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=162_541, help="user table size (default: ml-25m's)")
    parser.add_argument("--movies", type=int, default=59_047, help="movie table size (default: ml-25m's)")
    parser.add_argument("--rows", default="100000,2000000", help="comma-separated validation sizes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np

    from recsys.ncf.config import NCFConfig
    from recsys.ncf.model import build_model
    from recsys.ncf.training import _predict_in_batches

    model = build_model(args.users, args.movies, NCFConfig())
    rng = np.random.default_rng(args.seed)
    print(f"model: {args.users:,} users x {args.movies:,} movies; {args.repeats} alternated calls each, medians")
    print(f"{'rows':>10}  {'model.predict':>14}  {'predict_on_batch':>17}  {'ratio':>6}  equal")
    for n in (int(part) for part in args.rows.split(",")):
        users = rng.integers(0, args.users, n).astype(np.int32)
        items = rng.integers(0, args.movies, n).astype(np.int32)
        model.predict([users, items], batch_size=8192, verbose=0)  # tracing, warm caches
        _predict_in_batches(model, users, items)
        keras_s, batched_s = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            expected = model.predict([users, items], batch_size=8192, verbose=0)
            keras_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            got = _predict_in_batches(model, users, items)
            batched_s.append(time.perf_counter() - start)
        a, b = statistics.median(keras_s), statistics.median(batched_s)
        print(f"{n:>10,}  {a:>12.3f} s  {b:>15.3f} s  {b / a:>6.2f}  {bool(np.array_equal(expected, got))}")


if __name__ == "__main__":
    main()
