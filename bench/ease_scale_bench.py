"""Time and peak memory of the product's EASE fit (``ncf.product.product_ease``) on a dataset.

    .venv/bin/python -m bench.ease_scale_bench --data DIR [--max-items 10000]

Prints one table: rows loaded, movies kept, load time, fit time, peak RSS, and the weight
matrix's size. Use a synthetic ml-25m-scale set from ``../shared/tools/make_synthetic_movielens.py``
for the scale figure (speed and memory only; quality figures come from real data).
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

from recsys.data import datasets
from recsys.ranking.ranker import EASE_MAX_ITEMS, product_ease


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--max-items", type=int, default=EASE_MAX_ITEMS)
    args = ap.parse_args()
    started = time.perf_counter()
    frame = datasets.load_ratings(args.data)
    loaded = time.perf_counter() - started
    after_load = peak_rss_mib()
    started = time.perf_counter()
    ease = product_ease(max_items=args.max_items).fit(frame)
    fitted = time.perf_counter() - started
    rows = [
        ("ratings loaded", f"{len(frame):,}"),
        ("movies in the data / kept by EASE", f"{frame['movie_id'].nunique():,} / {len(ease.items):,}"),
        ("load ratings", f"{loaded:.1f} s (peak RSS {after_load:,.0f} MiB)"),
        ("EASE fit", f"{fitted:.1f} s"),
        ("peak RSS after the fit", f"{peak_rss_mib():,.0f} MiB"),
        ("weight matrix", f"{ease.weights.nbytes / 2**20:,.0f} MiB float32"),
    ]
    print("\n| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
