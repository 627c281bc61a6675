"""Serving latency of a brand-new visitor at catalogue scale (no Django, no database).

    python -m loadtest.scale_serving --store /srv/models               # the saved model
    python -m loadtest.scale_serving --random-items 62423 --random-users 162541   # shapes only

For each of ``--visitors`` new people with ``--ratings`` random ratings it does what
``movies.engine.recommender.recommend`` does on the model path: fold the ratings in (no retraining),
score every movie in the catalogue, drop the rated ones, take the best ``--pool``, shuffle,
keep ``--n``, and predict their stars. Prints the model load time and p50/p99/max latency of
one recommendation list. Wrap it in ``/usr/bin/time -v`` for the process's peak memory.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent

from recsys.data.vocabulary import Vocabulary  # noqa: E402
from recsys.ncf import artifacts  # noqa: E402
from recsys.ncf.config import NCFConfig  # noqa: E402
from recsys.ncf.scorer import NCFScorer  # noqa: E402
from recsys.ncf.testing import random_weights  # noqa: E402


def top_pool(scores: np.ndarray, pool_size: int) -> np.ndarray:
    """Positions of the best ``pool_size`` finite scores, best first (as the site does)."""
    finite = np.flatnonzero(np.isfinite(scores))
    if finite.size > pool_size:
        finite = finite[np.argpartition(-scores[finite], pool_size - 1)[:pool_size]]
    return finite[np.lexsort((finite, -scores[finite]))]


def one_list(scorer: NCFScorer, history: dict[int, float], *, n: int, pool: int, seed: int) -> list[int]:
    net = scorer.net
    vector = scorer.user_vector(user_id=None, history=history)
    scores = net.rank_scores(vector).astype(np.float64)
    rated = scorer.items.indices(np.fromiter(history.keys(), dtype=np.int64))
    scores[rated[rated >= 0]] = -np.inf
    picked = np.random.default_rng(seed).permutation(top_pool(scores, pool))[:n]
    net.stars_from_logit(net.logits(vector, picked)[:, 1])
    return scorer.items.raw(picked).tolist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="model directory holding CURRENT")
    parser.add_argument("--random-items", type=int, help="no saved model: random weights for this many movies")
    parser.add_argument("--random-users", type=int, default=1000)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--ratings", type=int, default=20, help="ratings per new visitor")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--pool", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    if (args.store is None) == (args.random_items is None):
        parser.error("give exactly one of --store and --random-items")

    t0 = time.perf_counter()
    if args.store is not None:
        artifact = artifacts.load_current(args.store)
        if artifact is None:
            parser.error(f"{args.store} has no current model")
        scorer = NCFScorer.from_parts(artifact.config, artifact.users, artifact.items, artifact.weights)
        source = artifact.path.name
    else:
        config = NCFConfig()
        rng = np.random.default_rng(args.seed)
        weights = random_weights(args.random_users, args.random_items, config, rng)
        scorer = NCFScorer.from_parts(config, Vocabulary(np.arange(1, args.random_users + 1)),
                                      Vocabulary(np.arange(1, args.random_items + 1)), weights)
        source = "random weights"
    load_s = time.perf_counter() - t0

    rng = np.random.default_rng(args.seed)
    movie_ids = scorer.items.ids
    stars = np.arange(1, 11) / 2
    latencies = []
    for k in range(args.visitors):
        chosen = rng.choice(movie_ids, size=args.ratings, replace=False)
        history = {int(m): float(s) for m, s in zip(chosen, rng.choice(stars, size=args.ratings))}
        start = time.perf_counter()
        picked = one_list(scorer, history, n=args.n, pool=args.pool, seed=k)
        latencies.append(time.perf_counter() - start)
        assert len(picked) == args.n and not set(picked) & set(history)
    ms = np.array(latencies) * 1000
    report = {
        "model": source, "foldin": scorer.config.foldin, "movies": len(scorer.items), "users": len(scorer.users),
        "load_s": round(load_s, 2), "visitors": args.visitors, "ratings_each": args.ratings,
        "p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
