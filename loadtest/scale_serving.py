"""Serving latency of a brand-new visitor at catalogue scale (no Django, no database).

    python -m loadtest.scale_serving --store /srv/models               # the saved model
    python -m loadtest.scale_serving --random-items 62423 --random-users 162541   # shapes only

For each of ``--visitors`` new people with ``--ratings`` random ratings it makes the site's one
call, :meth:`recsys.ranking.ranker.Ranker.recommend` (fold-in, every part scored, rated movies
dropped, the best ``--pool`` shuffled, ``--n`` kept with their stars and deciding parts), over
the saved model's NCF, EASE and rating counts (no content index: that part is measured in
docs/content.md). Prints the model load time and p50/p99/max latency of one recommendation
list. Wrap it in ``/usr/bin/time -v`` for the process's peak memory.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from recsys.data.vocabulary import Vocabulary
from recsys.ncf import artifacts
from recsys.ncf.config import NCFConfig
from recsys.ncf.scorer import NCFScorer
from recsys.ncf.testing import random_weights
from recsys.ranking.ranker import Ranker, loaded_parts


def ranker_from_artifact(artifact) -> Ranker:
    """The site's ranker over a saved model (as movies/engine/recommender.py builds it)."""
    parts = loaded_parts(artifact)
    return Ranker.from_parts(parts.ncf, ease=parts.ease, content=None, rating_counts=parts.rating_counts,
                             stars_mf=parts.stars_mf, sequence=parts.sequence, liked_counts=parts.liked_counts)


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
        ranker = ranker_from_artifact(artifact)
        source = artifact.path.name
    else:
        config = NCFConfig()
        rng = np.random.default_rng(args.seed)
        weights = random_weights(args.random_users, args.random_items, config, rng)
        scorer = NCFScorer.from_parts(config, Vocabulary(np.arange(1, args.random_users + 1)),
                                      Vocabulary(np.arange(1, args.random_items + 1)), weights)
        ranker = Ranker.from_parts(scorer, ease=None, content=None,
                                   rating_counts=rng.integers(0, 1000, size=args.random_items))
        source = "random weights, no EASE"
    load_s = time.perf_counter() - t0

    rng = np.random.default_rng(args.seed)
    movie_ids = ranker.items.ids
    stars = np.arange(1, 11) / 2
    latencies = []
    for k in range(args.visitors):
        chosen = rng.choice(movie_ids, size=args.ratings, replace=False)
        history = {int(m): float(s) for m, s in zip(chosen, rng.choice(stars, size=args.ratings))}
        start = time.perf_counter()
        picks = ranker.recommend(history=history, n=args.n, shuffle=True, pool_size=args.pool, seed=k)
        latencies.append(time.perf_counter() - start)
        assert len(picks) == args.n and not {p.movie_id for p in picks} & set(history)
    ms = np.array(latencies) * 1000
    report = {
        "model": source, "foldin": ranker.ncf.config.foldin, "movies": len(ranker.items),
        "users": len(ranker.ncf.users), "ease": ranker.ease is not None,
        "load_s": round(load_s, 2), "visitors": args.visitors, "ratings_each": args.ratings,
        "p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
