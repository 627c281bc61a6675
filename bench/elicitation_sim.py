"""The rating-grid simulation on MovieLens (docs/evaluation.md, "Rating grid").

    .venv/bin/python bench/elicitation_sim.py --data ../shared/data/ml-latest-small --seeds 1 2 3 --epochs 3

Prints the table as Markdown. Plain Python: no Django, no database.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recsys import elicitation
from recsys.data.datasets import load_movies, load_ratings
from recsys.data.titles import split_title_year
from recsys.evaluation.elicitation import PROTOCOLS, default_strategies, format_table, run_simulation


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MOVIELENS_DIR", "data/movielens/ml-latest-small"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--screens", type=int, default=3)
    parser.add_argument("--max-people", type=int, default=None)
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--weights", default="", nargs="*",
                        help="likely-seen weights to try, e.g. evidence=0.5,popularity_power=3; several: one "
                             "strategy each, named likely-seen-0, likely-seen-1, ...")
    args = parser.parse_args(argv)
    ratings = load_ratings(args.data)
    movies = load_movies(args.data)
    if "year" not in movies.columns:
        split = movies["title"].map(split_title_year)
        movies = movies.assign(title=split.map(lambda pair: pair[0]), year=split.map(lambda pair: pair[1]))
    strategies = default_strategies()
    for index, spec in enumerate(args.weights or ()):
        overrides = {key: float(value) for key, value in (item.split("=") for item in spec.split(",") if item)}
        weights = elicitation.LikelySeenWeights(**{**elicitation.DEFAULT_LIKELY_SEEN.__dict__, **overrides})
        print(f"likely-seen-{index}: {weights}", flush=True)
        strategies[f"likely-seen-{index}"] = default_strategies(weights)[elicitation.STRATEGY_LIKELY_SEEN]
    table = run_simulation(ratings, movies, seeds=args.seeds, epochs=args.epochs, screens=args.screens,
                           strategies=strategies, max_people=args.max_people, protocols=args.protocols)
    print(format_table(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
