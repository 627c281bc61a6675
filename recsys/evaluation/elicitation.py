"""The rating-grid simulation: which elicitation strategy gets a new person good recommendations fastest.

Protocol (docs/evaluation.md, "Rating grid"):

* per seed, :func:`recsys.data.splits.cold_split` holds out ``user_fraction`` of the people; the
  product ranker (:class:`recsys.ranking.ranker.Ranker`: NCF + EASE + successors + popularity, no
  content part; release years from ``movies``) is fitted once on everybody else, and so is the
  strategies' :class:`ElicitationCatalog`;
* a held-out person is shown a strategy's screens of ``screen_size`` movies; they rate the ones
  they had rated (with their real stars) and skip the rest; the next screen sees both;
* after each screen the ranker recommends 10 movies from the ratings collected so far, asked at
  the person's time (the last rating a screen can find: the earlier half's; on ``rest``, their
  last), scored three ways:

  - ``later-open`` (the site's rule, the headline): the person's history is cut in time; only
    the earlier half can be rated on a screen (what they had seen when they arrived; anything
    else is skipped) and relevant = the later half rated >= 4
    (:data:`recsys.evaluation.harness.RELEVANT_STARS`) among movies the ranker knows, the same
    for every strategy and screen. As on the site, a skip ("haven't seen it") keeps a film off
    the grid only: it may be recommended;
  - ``later``: as ``later-open``, but skipped films are never recommended (the site's rule
    before issue 14's decision);
  - ``rest`` (the issue's first protocol): relevant = the rest of their history rated >= 4,
    skipped films never recommended. The target differs between strategies: every liked film a
    grid collects leaves the target, and the popular ones are the easiest to recommend, so a
    grid that collects more scores lower;
* reported per strategy and screen: mean ratings collected, NDCG@10 (people with a relevant
  movie), coverage@10 (distinct movies over all lists / catalog), as means over the seeds.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import elicitation
from recsys.data.splits import cold_split
from recsys.evaluation import metrics
from recsys.evaluation.harness import RELEVANT_STARS, release_years

Strategy = Callable[..., list[int]]


def default_strategies(weights: elicitation.LikelySeenWeights = elicitation.DEFAULT_LIKELY_SEEN
                       ) -> dict[str, Strategy]:
    """The strategies the table compares: the site's two (the very functions it calls) and random."""
    return {
        elicitation.STRATEGY_POPULAR: lambda catalog, **kw: elicitation.popular_screen_from_catalog(
            catalog, **{**kw, "seed": int(np.random.default_rng(kw["seed"]).integers(2**31))}),
        elicitation.STRATEGY_RANDOM: elicitation.random_screen,
        elicitation.STRATEGY_LIKELY_SEEN: lambda catalog, **kw: elicitation.likely_seen_screen(
            catalog, weights=weights, **kw),
    }


PROTOCOL_REST, PROTOCOL_LATER, PROTOCOL_LATER_OPEN = "rest", "later", "later-open"
PROTOCOLS = (PROTOCOL_LATER_OPEN, PROTOCOL_LATER, PROTOCOL_REST)  # the site's rule first


@dataclass(frozen=True)
class Person:
    """A held-out person: what a screen may find them to have seen, and the fixed target (or None)."""

    answers: dict[int, float]
    later: frozenset[int] | None = None
    at: float | None = None  # when they arrive (the ranker is asked at it)


@dataclass(frozen=True)
class SimulationRow:
    protocol: str
    strategy: str
    screens: int
    ratings: float
    ndcg: float
    coverage: float
    people: int


def people_from_ratings(frame: pd.DataFrame, protocol: str) -> dict[int, Person]:
    """The held-out people of ``frame`` (user_id, movie_id, rating, timestamp) for one protocol."""
    people = {}
    for user, group in frame.sort_values(["user_id", "timestamp", "movie_id"], kind="stable").groupby("user_id"):
        ids, stars = group["movie_id"].astype(int).tolist(), group["rating"].astype(float).tolist()
        times = group["timestamp"].astype(float).tolist()
        if protocol == PROTOCOL_REST:
            people[int(user)] = Person(answers=dict(zip(ids, stars)), at=times[-1])
        else:
            half = len(ids) // 2
            later = frozenset(m for m, s in zip(ids[half:], stars[half:]) if s >= RELEVANT_STARS)
            people[int(user)] = Person(answers=dict(zip(ids[:half], stars[:half])), later=later,
                                       at=times[max(half - 1, 0)])
    return people


def simulate_people(ranker, catalog: elicitation.ElicitationCatalog, people: Mapping[int, Person],
                    strategies: Mapping[str, Strategy], *, protocol: str = PROTOCOL_REST, screens: int = 3,
                    screen_size: int = 12, seed: int = 0, k: int = 10) -> list[SimulationRow]:
    """One seed's table: every strategy through ``screens`` screens for every person of ``people``."""
    known = set(ranker.items.ids.tolist())
    n_catalog = len(ranker.items)
    reads_time = getattr(ranker, "reads_time", False)
    rows = []
    for name, strategy in strategies.items():
        counts = {s: [] for s in range(screens + 1)}
        ndcgs = {s: [] for s in range(screens + 1)}
        lists = {s: [] for s in range(screens + 1)}
        for user, person in people.items():
            rated: dict[int, float] = {}
            skipped: set[int] = set()
            for screen in range(screens + 1):
                shown = strategy(catalog, rated=rated, skipped=skipped, exclude=(), n=screen_size,
                                 seed=[seed, int(user), screen]) if screen else []
                for movie_id in shown:
                    if movie_id in person.answers:
                        rated[movie_id] = person.answers[movie_id]
                    else:
                        skipped.add(movie_id)
                # "later-open" is the site's rule: a skipped film may be recommended.
                picks = ranker.recommend(history=rated, exclude=() if protocol == PROTOCOL_LATER_OPEN else skipped,
                                         n=k, **({"at": person.at} if reads_time else {}))
                recommended = [pick.movie_id for pick in picks]
                if person.later is None:
                    relevant = {m for m, stars in person.answers.items()
                                if m not in rated and stars >= RELEVANT_STARS and m in known}
                else:
                    relevant = {m for m in person.later if m in known}
                counts[screen].append(len(rated))
                lists[screen].append(recommended)
                if relevant:
                    ndcgs[screen].append(metrics.ndcg_at_k(recommended, relevant, k))
        for screen in range(screens + 1):
            rows.append(SimulationRow(protocol=protocol, strategy=name, screens=screen,
                                      ratings=float(np.mean(counts[screen])),
                                      ndcg=float(np.mean(ndcgs[screen])) if ndcgs[screen] else float("nan"),
                                      coverage=metrics.catalog_coverage(lists[screen], n_catalog, k),
                                      people=len(ndcgs[screen])))
    return rows


def run_simulation(ratings: pd.DataFrame, movies: pd.DataFrame | None = None, *, seeds: Sequence[int] = (1, 2, 3),
                   epochs: int = 3, user_fraction: float = 0.2, screens: int = 3, screen_size: int = 12,
                   strategies: Mapping[str, Strategy] | None = None, max_people: int | None = None,
                   make_ranker: Callable[[int], object] | None = None, protocols: Sequence[str] = PROTOCOLS,
                   progress=print) -> pd.DataFrame:
    """The simulation table: one row per (strategy, screens), means over ``seeds``.

    Args:
        ratings: columns user_id, movie_id, rating, timestamp.
        movies: columns movie_id, title, year, genres (for the popular grid's caps and the series rule).
        epochs: NCF epochs of the product ranker (the site trains 20; a few suffice to compare grids).
        max_people: evaluate at most this many held-out people per seed (None: all).
        make_ranker: seed -> an unfitted ranker (tests pass a small one); default: the product ranker.
    """
    strategies = strategies or default_strategies()
    make_ranker = make_ranker or (lambda seed: _product_ranker(seed, epochs, release_years(movies)))
    per_seed = []
    for seed in seeds:
        started = time.perf_counter()
        split = cold_split(ratings, user_fraction=user_fraction, seed=seed)
        ranker = make_ranker(seed).fit(split.train)
        catalog = elicitation.catalog_from_ratings(split.train, movies)
        fitted = time.perf_counter()
        for protocol in protocols:
            people = people_from_ratings(split.cold_ratings, protocol)
            if max_people is not None:
                people = dict(list(people.items())[:max_people])
            rows = simulate_people(ranker, catalog, people, strategies, protocol=protocol, screens=screens,
                                   screen_size=screen_size, seed=seed)
            per_seed.append(pd.DataFrame([row.__dict__ for row in rows]).assign(seed=seed))
        if progress:
            progress(f"seed {seed}: {len(people)} people, fit {fitted - started:.0f} s, "
                     f"screens {time.perf_counter() - fitted:.0f} s")
    frame = pd.concat(per_seed, ignore_index=True)
    table = frame.groupby(["protocol", "strategy", "screens"], sort=False).agg(
        ratings=("ratings", "mean"), ndcg=("ndcg", "mean"), ndcg_sd=("ndcg", "std"),
        coverage=("coverage", "mean"), people=("people", "mean")).reset_index()
    return table


def _product_ranker(seed: int, epochs: int, years: Mapping[int, int] | None = None):
    from recsys.ncf.scorer import NCFScorer
    from recsys.ranking.ranker import Ranker, product_ease, product_sequence

    return Ranker(NCFScorer(epochs=epochs, seed=seed), ease=product_ease(), content=None,
                  sequence=product_sequence(), release_years=years)


def format_table(table: pd.DataFrame) -> str:
    """The table as Markdown, NDCG change against the popular grid after the same screens."""
    popular = table[table["strategy"] == elicitation.STRATEGY_POPULAR].set_index(["protocol", "screens"])["ndcg"]
    lines = ["| protocol | strategy | screens | ratings collected | NDCG@10 (± sd over seeds) | vs popular | "
             "coverage@10 |", "|---|---|---:|---:|---:|---:|---:|"]
    for row in table.itertuples():
        base = popular.get((row.protocol, row.screens))
        change = f"{(row.ndcg / base - 1):+.0%}" if base and np.isfinite(base) and base > 0 else "—"
        spread = f" ± {row.ndcg_sd:.3f}" if np.isfinite(row.ndcg_sd) else ""
        lines.append(f"| {row.protocol} | {row.strategy} | {row.screens} | {row.ratings:.1f} | "
                     f"{row.ndcg:.3f}{spread} | {change} | {row.coverage:.3f} |")
    return "\n".join(lines)
