"""Benchmarks of the NeuMF engine; prints a table of medians (and p99 for latencies).

    .venv/bin/python -m bench.engine_bench                      # train 5 epochs on ml-latest-small
    .venv/bin/python -m bench.engine_bench --epochs 20 --data DIR --model-dir /tmp/bench-models

Measures:
* training time per epoch (median) and in total on the ratings in --data (site config);
* start-up to the first recommendation with a saved model, in a fresh Python process
  (interpreter start, imports, checksum + load, first fold-in and scoring);
* the site's ranker answering one request (:meth:`recsys.ranking.ranker.Ranker.recommend`: fold-in, all
  parts scored and z-scored, rated movies dropped, top 30 shuffled, stars and reasons' movies
  for 10 picks) for a person with 20 ratings, p50/p99 over 200 people, with the trained model
  (ml-latest-small, 9.7k movies; + content when ``--content-dir`` holds a built index) and
  with random weights at ml-25m catalog size (62,423 movies, EASE and the successors over
  10,000); each twice: with every rating counted in the popularity part (before) and with new
  people's popularity counting liked ratings (after, what the site serves; at 20 ratings the
  two are mixed), the two alternated request by request so both see the same load.

NumPy runs with one BLAS thread (as a web worker should: OPENBLAS_NUM_THREADS=1), since
threads only add contention at these sizes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parent.parent

import numpy as np

from recsys.data import datasets
from recsys.ncf import artifacts
from recsys.ncf.config import NCFConfig
from recsys.ncf.testing import random_weights

ROWS: list[tuple[str, str]] = []


def row(name: str, value: str) -> None:
    ROWS.append((name, value))
    print(f"  {name:<62} {value}", flush=True)


def bench_training(data: Path, epochs: int, store: Path) -> Path:
    from recsys.ncf.training import train

    frame = datasets.load_ratings(data)
    config = NCFConfig(epochs=epochs, patience=epochs)  # no early stop: time every epoch
    started = time.perf_counter()
    result = train(frame, config, progress=lambda r: print(
        f"    epoch {r.epoch}: loss {r.loss:.4f} val_rmse {r.val_rmse:.4f} {r.seconds:.1f}s", flush=True))
    total = time.perf_counter() - started
    seconds = [r.seconds for r in result.history]
    row(f"training, {len(frame)} ratings: epoch (median of {len(seconds)}, first excluded)",
        f"{statistics.median(seconds[1:] or seconds):.2f} s")
    row("training: first epoch (includes graph tracing)", f"{seconds[0]:.2f} s")
    row(f"training: total for {len(seconds)} epochs (incl. TF import, setup)", f"{total:.1f} s")
    return artifacts.save_artifact(
        store, config=config, users=result.users, items=result.items, weights=result.weights,
        metadata={"data_fingerprint": artifacts.data_fingerprint([datasets.locate(data).ratings]), "source": "bench"})


STARTUP = """
import time, sys
t0 = time.perf_counter()
from recsys.ncf.artifacts import load_current
from recsys.ncf.scorer import NCFScorer
t1 = time.perf_counter()
a = load_current(sys.argv[1])
s = NCFScorer.from_parts(a.config, a.users, a.items, a.weights)
t2 = time.perf_counter()
scores = s.score(user_id=None, history={int(m): 4.0 for m in a.items.ids[:20]})
top = scores.argsort()[-10:]
t3 = time.perf_counter()
assert 'tensorflow' not in sys.modules
print(t1 - t0, t2 - t1, t3 - t2)
"""


def bench_startup(store: Path, runs: int = 5) -> None:
    walls, parts = [], []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", STARTUP, str(store)], cwd=REPO, capture_output=True,
                             text=True, check=True)
        walls.append(time.perf_counter() - started)
        parts.append([float(x) for x in out.stdout.split()])
    imports, load, first = (statistics.median(p[k] for p in parts) for k in range(3))
    row("start-up to first recommendation, fresh process (wall)", f"{statistics.median(walls) * 1000:.0f} ms")
    row("  of which imports / checksum+load / first fold-in+score",
        f"{imports * 1000:.0f} / {load * 1000:.0f} / {first * 1000:.1f} ms")


def latency_row(name: str, times: list[float]) -> None:
    ms = np.array(times) * 1000
    row(name, f"p50 {np.percentile(ms, 50):.2f} ms  p99 {np.percentile(ms, 99):.2f} ms")


def bench_ranker(rankers: dict, label: str, histories: list[dict[int, float]]) -> None:
    """One request of the site: ``Ranker.recommend`` with the site's shuffle of the top 30, for each
    of ``rankers`` (name -> Ranker) in turn on every history; a row per ranker and their p50 ratio."""
    times = {name: [] for name in rankers}
    for seed, history in enumerate(histories):
        for name, ranker in rankers.items():
            started = time.perf_counter()
            ranker.recommend(history=history, n=10, shuffle=True, pool_size=30, seed=seed)
            times[name].append(time.perf_counter() - started)
    for name, measured in times.items():
        latency_row(f"ranker.recommend, 20 ratings, {label}, {name}", measured)
    first, *others = times.values()
    for name in list(times)[1:]:
        row(f"  p50 ratio, {name} / {list(times)[0]}", f"{np.median(times[name]) / np.median(first):.2f}x")


def histories_from(frame, net_items, rng, count=300):
    out = []
    users = frame.user_id.unique()
    for user in rng.choice(users, size=count):
        mine = frame[frame.user_id == user]
        take = mine.sample(n=min(20, len(mine)), random_state=int(rng.integers(1 << 31)))
        rows = net_items.indices(take.movie_id.to_numpy())
        out.append((rows[rows >= 0], take.rating.to_numpy(np.float32)[rows >= 0]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get(
        "MOVIELENS_DIR", REPO.parent / "shared" / "data" / "ml-latest-small")))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--model-dir", type=Path, help="Use the model saved here instead of training one.")
    ap.add_argument("--content-dir", type=Path, default=REPO / "data" / "cache" / "content",
                    help="A built content index for the product ranker (default: %(default)s).")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"NeuMF engine benchmark on {args.data} ({os.cpu_count()} CPUs)")

    if args.model_dir:
        store = args.model_dir
    else:
        store = Path(tempfile.mkdtemp(prefix="engine-bench-"))
        bench_training(args.data, args.epochs, store)
    bench_startup(store)

    artifact = artifacts.load_current(store)
    frame = datasets.load_ratings(args.data)

    from recsys.baselines import BiasedMFScorer, EASEScorer
    from recsys.content.index import ContentIndex
    from recsys.content.texts import ContentConfig
    from recsys.data.vocabulary import Vocabulary
    from recsys.ncf.scorer import NCFScorer
    from recsys.ranking.ranker import (
        STARS_MF_FACTORS,
        Ranker,
        liked_counts,
        product_ease,
        product_sequence,
        product_stars_mf,
        rating_counts,
    )
    from recsys.sequence import NextMoviesScorer

    ncf = NCFScorer.from_parts(artifact.config, artifact.users, artifact.items, artifact.weights)
    started = time.perf_counter()
    ease = product_ease().fit(frame)
    row(f"EASE fit over {len(ease.items):,} movies", f"{time.perf_counter() - started:.1f} s")
    try:
        content = ContentIndex.load(args.content_dir, ContentConfig())
    except Exception:  # no index built: the ranker runs without its content part
        content = None
    started = time.perf_counter()
    stars_mf = product_stars_mf().fit(frame)
    row(f"biased MF (stars) fit, {STARS_MF_FACTORS} factors", f"{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    sequence = product_sequence().fit(frame)
    row(f"successors fit over {len(sequence.items):,} movies ({sequence.successors.nnz:,} links)",
        f"{time.perf_counter() - started:.1f} s")
    counts, liked = rating_counts(frame, ncf.items), liked_counts(frame, ncf.items)
    rankers = {"before (every rating counts)": Ranker.from_parts(ncf, ease=ease, content=content, rating_counts=counts,
                                                                 stars_mf=stars_mf, sequence=sequence),
               "after (liked counts for new people)": Ranker.from_parts(ncf, ease=ease, content=content,
                                                                        rating_counts=counts, stars_mf=stars_mf,
                                                                        sequence=sequence, liked_counts=liked)}
    histories = [dict(zip(ncf.items.raw(items).tolist(), stars.tolist())) for items, stars in
                 histories_from(frame, artifact.items, rng, count=200)]
    bench_ranker(rankers, f"{len(ncf.items):,} movies, content {'on' if content else 'off'}", histories)

    config = NCFConfig()
    big_ncf = NCFScorer.from_parts(config, Vocabulary(np.arange(1, 162_542)), Vocabulary(np.arange(1, 62_424)),
                                   random_weights(162_541, 62_423, config, rng))
    big_ease = EASEScorer.from_weights(np.arange(1, 10_001), rng.normal(size=(10_000, 10_000)).astype(np.float32))
    big_counts = rng.integers(0, 50_000, size=62_423)
    big_mf = BiasedMFScorer.from_item_side(np.arange(1, 62_424), rng.normal(0, 0.1, (62_423, STARS_MF_FACTORS)),
                                           rng.normal(0, 0.3, 62_423), np.array([3.5, 0.2, 10.0]))
    big_successors = np.sort(rng.choice(10_000, size=(10_000, 200)), axis=1)  # 200 links a movie
    big_sequence = NextMoviesScorer.from_arrays(np.arange(1, 10_001), np.arange(0, 2_000_001, 200),
                                                big_successors.ravel(), rng.random(2_000_000).astype(np.float32))
    big_liked = rng.binomial(big_counts, 0.5)
    big_rankers = {"before (every rating counts)": Ranker.from_parts(big_ncf, ease=big_ease, content=None,
                                                                     rating_counts=big_counts, stars_mf=big_mf,
                                                                     sequence=big_sequence),
                   "after (liked counts for new people)": Ranker.from_parts(big_ncf, ease=big_ease, content=None,
                                                                            rating_counts=big_counts, stars_mf=big_mf,
                                                                            sequence=big_sequence,
                                                                            liked_counts=big_liked)}
    big_histories = [dict(zip((rng.choice(62_423, 20, replace=False) + 1).tolist(),
                              rng.choice(np.arange(1, 11) / 2, 20).tolist())) for _ in range(200)]
    bench_ranker(big_rankers, "62,423 movies, EASE over 10,000, content off", big_histories)

    print("\n| measure | median |\n|---|---|")
    for name, value in ROWS:
        print(f"| {name.strip()} | {value} |")


if __name__ == "__main__":
    main()
