"""Does the model learn from the site's visitors? Held-out visitors' NDCG@10 against the number
of visitor ratings the product ranker was trained on.

    python -m bench.visitor_learning_bench                         # seeds 0 1 2, 5 NCF epochs
    python -m bench.visitor_learning_bench --seeds 0 1 --epochs 3 --data DIR

For each seed (which picks the split and seeds the NCF):

* 30% of the MovieLens users (``--visitor-fraction``) play the site's visitors; the model's
  MovieLens training set is the other 70%, since MovieLens users are not the site's visitors.
* The visitors are split into a training pool (2/3) and a test group (1/3, ``--test-share``).
  Pool visitors arrive in a random order and get training ids from
  :data:`VISITOR_USER_ID_BASE` up, numbered in that order, as ``train_ncf`` numbers the site's
  visitors (``movies/engine/visitor_ratings.py``).
* The product ranker (NCF + EASE + popularity, no content index) is trained on MovieLens-70%
  plus the first 0%, 25%, 50% and 100% of the pool's visitors (all their ratings); 0% is the
  MovieLens-only model, measured in the same run on the same test visitors.
* Each test visitor is a new person: their first ``--reveal`` (5) ratings by time are folded
  in, the ranker's strict top 10 (revealed movies excluded) is compared with their later
  ratings >= 4. Test visitors without such a rating are skipped. Reported: mean NDCG@10 and
  HR@10 over test visitors, and catalog coverage of all their top-10s. With 5 ratings the
  product's weights (``PRODUCT_WEIGHTS.new``) give popularity 0.8 and the collaborative part
  (the only part visitors train, apart from popularity's counts) 0.1, so the NDCG@10 of the
  collaborative part's own top 10 is reported too.

The table gives mean ± sample standard deviation over seeds and, since the seeds' test groups
differ, the gain over the 0% row paired within each seed. Figures measured with it: docs/engine.md
("Does the model learn from visitors?").
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd

from recsys.data import datasets
from recsys.data.splits import cold_split
from recsys.evaluation.metrics import catalog_coverage, hit_at_k, ndcg_at_k
from recsys.ncf.config import NCFConfig
from recsys.ncf.scorer import NCFScorer
from recsys.primitives import top_k
from recsys.ranking.ranker import COLLABORATIVE, PARTS, Ranker, product_ease

#: The first visitor's training user id; the same number as
#: ``movies.engine.visitor_ratings.VISITOR_USER_ID_BASE`` (that module needs Django; a test
#: checks the two agree).
VISITOR_USER_ID_BASE = 2_000_000_000
RELEVANT_STARS = 4.0
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.pardir, "shared",
                            "data", "ml-latest-small")


@dataclass
class VisitorSplit:
    """MovieLens training ratings, the pool visitors' ratings (renumbered, in arrival order),
    and the test visitors' chronological ratings (original ids; never trained on)."""

    movielens: pd.DataFrame
    pool: pd.DataFrame
    pool_order: np.ndarray  # training ids of the pool visitors, in arrival order
    test: pd.DataFrame

    def training_frame(self, share: float) -> pd.DataFrame:
        """MovieLens plus every rating of the first ``share`` of the pool's visitors."""
        n = int(math.ceil(share * len(self.pool_order) - 1e-9))
        joined = self.pool[self.pool["user_id"].isin(self.pool_order[:n])]
        return pd.concat([self.movielens, joined], ignore_index=True) if n else self.movielens


def split_visitors(ratings: pd.DataFrame, *, seed: int, visitor_fraction: float = 0.3,
                   test_share: float = 1 / 3) -> VisitorSplit:
    """Hold out ``visitor_fraction`` of the users as visitors; ``test_share`` of those are the test group."""
    if len(ratings) and int(ratings["user_id"].max()) >= VISITOR_USER_ID_BASE:
        raise ValueError(f"MovieLens user ids reach {VISITOR_USER_ID_BASE:,}, the visitors' range")
    held = cold_split(ratings, user_fraction=visitor_fraction, seed=seed)
    rng = np.random.default_rng(seed + 1)
    visitors = rng.permutation(held.cold_users)  # arrival order
    n_test = int(np.clip(round(len(visitors) * test_share), 1, len(visitors) - 1))
    test_users, pool_users = visitors[:n_test], visitors[n_test:]
    cold = held.cold_ratings
    new_ids = {int(user): VISITOR_USER_ID_BASE + i for i, user in enumerate(pool_users)}
    pool = cold[cold["user_id"].isin(pool_users)].copy()
    pool["user_id"] = pool["user_id"].map(new_ids).astype(np.int32)
    return VisitorSplit(
        movielens=held.train,
        pool=pool.reset_index(drop=True),
        pool_order=np.array([new_ids[int(u)] for u in pool_users], dtype=np.int64),
        test=cold[cold["user_id"].isin(test_users)].reset_index(drop=True),
    )


def people_to_measure(test: pd.DataFrame, reveal: int) -> list[tuple[dict[int, float], set[int]]]:
    """(history of the first ``reveal`` ratings by time, later movies rated >= 4) per test visitor
    with at least one such movie; ``test`` is chronological (as :func:`split_visitors` leaves it)."""
    people = []
    for _, rows in test.groupby("user_id", sort=True):
        if len(rows) <= reveal:
            continue
        first, later = rows.iloc[:reveal], rows.iloc[reveal:]
        relevant = set(later.loc[later["rating"] >= RELEVANT_STARS, "movie_id"].astype(int))
        if relevant:
            people.append(({int(m): float(r) for m, r in zip(first["movie_id"], first["rating"])}, relevant))
    return people


def collaborative_top10(ranker, history: dict[int, float]) -> list[int]:
    """The top 10 by the ranker's collaborative part alone (NCF + EASE, z-scored), rated movies dropped."""
    scores = ranker.parts(user_id=None, history=history)[PARTS.index(COLLABORATIVE)].astype(np.float64)
    rated = ranker.items.indices(np.fromiter(history, dtype=np.int64))
    scores[rated[rated >= 0]] = -np.inf
    return [int(ranker.items.ids[row]) for row in top_k(scores, 10)]


def measure(ranker, people) -> dict:
    lists = [[pick.movie_id for pick in ranker.recommend(history=history, n=10)] for history, _ in people]
    collaborative = [collaborative_top10(ranker, history) for history, _ in people]
    return {
        "ndcg": float(np.mean([ndcg_at_k(top, relevant, 10) for top, (_, relevant) in zip(lists, people)])),
        "collab_ndcg": float(np.mean([ndcg_at_k(top, rel, 10) for top, (_, rel) in zip(collaborative, people)])),
        "hr": float(np.mean([hit_at_k(top, relevant, 10) for top, (_, relevant) in zip(lists, people)])),
        "coverage": catalog_coverage(lists, len(ranker.items), 10),
    }


def run_seed(ratings: pd.DataFrame, seed: int, args) -> list[dict]:
    split = split_visitors(ratings, seed=seed, visitor_fraction=args.visitor_fraction, test_share=args.test_share)
    people = people_to_measure(split.test, args.reveal)
    print(f"seed {seed}: {split.movielens['user_id'].nunique()} MovieLens users ({len(split.movielens):,} ratings), "
          f"{len(split.pool_order)} pool visitors ({len(split.pool):,} ratings), "
          f"{split.test['user_id'].nunique()} test visitors ({len(people)} measured)", flush=True)
    rows = []
    for share in args.shares:
        train = split.training_frame(share)
        started = time.perf_counter()
        ranker = Ranker(NCFScorer(NCFConfig(epochs=args.epochs, seed=seed)), ease=product_ease(), content=None)
        ranker.fit(train)
        result = measure(ranker, people)
        n_visitor_ratings = int((train["user_id"] >= VISITOR_USER_ID_BASE).sum())
        rows.append({"seed": seed, "share": share, "visitor_ratings": n_visitor_ratings, **result})
        print(f"  {share:>4.0%} of pool: {n_visitor_ratings:>6,} visitor ratings  NDCG@10 {result['ndcg']:.4f}  "
              f"HR@10 {result['hr']:.3f}  collaborative-only NDCG@10 {result['collab_ndcg']:.4f}  "
              f"coverage {result['coverage']:.3f}  ({time.perf_counter() - started:.0f} s)",
              flush=True)
    return rows


def _mean_sd(values: list[float], digits: int) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"


def _gains(gains: list[float]) -> str:
    return f"{statistics.mean(gains):+.4f} ({', '.join(f'{g:+.4f}' for g in gains)})"


def table(rows: list[dict], shares: list[float]) -> str:
    seeds = sorted({row["seed"] for row in rows})
    by = {(row["seed"], row["share"]): row for row in rows}
    lines = ["| visitor ratings trained on (share of pool) | NDCG@10 | gain over 0% (paired) | HR@10 | coverage "
             "| collaborative part alone: NDCG@10 | its gain (paired) |",
             "|---|---|---|---|---|---|---|"]
    for share in shares:
        group = [by[seed, share] for seed in seeds]
        gains = [by[seed, share]["ndcg"] - by[seed, shares[0]]["ndcg"] for seed in seeds]
        counts = [row["visitor_ratings"] for row in group]
        label = "0 (MovieLens only)" if max(counts) == 0 else f"{statistics.mean(counts):,.0f} ({share:.0%})"
        gain = "-" if share == shares[0] else _gains(gains)
        c_gains = [by[seed, share]["collab_ndcg"] - by[seed, shares[0]]["collab_ndcg"] for seed in seeds]
        c_gain = "-" if share == shares[0] else _gains(c_gains)
        lines.append(f"| {label} | {_mean_sd([r['ndcg'] for r in group], 4)} | {gain} | "
                     f"{_mean_sd([r['hr'] for r in group], 3)} | {_mean_sd([r['coverage'] for r in group], 3)} | "
                     f"{_mean_sd([r['collab_ndcg'] for r in group], 4)} | {c_gain} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    parser.add_argument("--reveal", type=int, default=5)
    parser.add_argument("--visitor-fraction", type=float, default=0.3)
    parser.add_argument("--test-share", type=float, default=1 / 3)
    args = parser.parse_args(argv)
    ratings = datasets.load_ratings(args.data)
    started = time.perf_counter()
    rows = [row for seed in args.seeds for row in run_seed(ratings, seed, args)]
    print(f"\n{len(ratings):,} ratings from {args.data}; seeds {args.seeds}, NCF epochs {args.epochs}, "
          f"first {args.reveal} ratings revealed; {time.perf_counter() - started:.0f} s on "
          f"{platform.machine()} with {os.cpu_count()} CPUs\n")
    print(table(rows, args.shares))


if __name__ == "__main__":
    main()
