"""The evaluation harness: named scorers through the warm, cold-start and leave-one-out
protocols, one table (and, over several seeds, a mean ± std summary).

For every person evaluated:

* candidates = every movie in the training set that the person has not rated (in their history);
* relevant = their test movies rated >= 4 that are candidates (a test movie nobody rated in
  training cannot be recommended by any model, so it is not counted against them);
* the scorer's ``score`` ranks all candidates in one vectorised call; the strict list is the
  top 10; the "shuffled" list (the site's way) shuffles the top 30 with a seeded Generator
  (``default_rng([seed, user_id])``) and keeps the first 10;
* leave-one-out: only the held-out movie (relevant whatever its stars) and the person's sampled
  negatives are candidates;
* ranking metrics are averaged over people with at least one relevant movie; coverage@10,
  distinct@10 and novelty@10 (mean self-information) are over everybody's list; RMSE/MAE are
  over every test rating of a movie known in training, for scorers that predict stars
  (``predicts_ratings``), and a missing prediction raises;
* a scorer that reads time (``reads_time``) is asked at the person's time: that of the latest
  rating in their history (the cold start's k-th, the last training rating otherwise), as a
  site asks at "now". Time limits what it may rank (films released by then) and the counts it
  reads as recent; its models are trained on the whole training frame, as every baseline's are
  (other people's later ratings included).

Models come from a registry (name -> factory). ``product`` is :class:`recsys.ranking.ranker.Ranker`,
the very object the site serves.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys.baselines import (
    BiasedMFScorer,
    DampedMeanScorer,
    EASEScorer,
    IALSScorer,
    ItemKNNScorer,
    PopularityScorer,
    RecentPopularityScorer,
)
from recsys.data.splits import cold_split, leave_one_out_split, warm_split
from recsys.evaluation import metrics
from recsys.evaluation.tuned import ValidatedScorer
from recsys.primitives import top_k
from recsys.sequence import NextMoviesScorer, histories_in_time_order
from recsys.timeline import latest_times

RELEVANT_STARS = 4.0
METRIC_COLUMNS = ["rmse", "mae", "precision@10", "recall@10", "ndcg@10", "mrr@10", "hit_rate@10",
                  "coverage@10", "novelty@10", "genre_ndcg@10"]
STRICT, SHUFFLED = "strict top-10", "shuffled top-30"


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry.

    Attributes:
        factory: builds a fresh, unfitted scorer from the run options (seed, epochs, ...).
        product: True for the site's ranker: also reported with the shuffled list.
        description: one line for the table's legend.
        seeded: False for a model whose fit does not depend on the run's seed (a multi-seed
            run fits it once per distinct training frame).
    """

    factory: Callable[[Mapping], object]
    product: bool = False
    description: str = ""
    seeded: bool = True


def _ncf(options: Mapping, **overrides):
    """An NCFScorer from ``options["ncf_config"]`` (the site's config; defaults otherwise),
    the run's seed, ``options["epochs"]`` and ``overrides``."""
    from recsys.ncf.scorer import NCFScorer

    kwargs = {"seed": int(options.get("seed", 42)), **overrides}
    if options.get("epochs"):
        kwargs["epochs"] = int(options["epochs"])
    return NCFScorer(options.get("ncf_config"), **kwargs)


def _product(options: Mapping):
    """The site's ranker (:class:`recsys.ranking.ranker.Ranker`): NCF + EASE + popularity (+ content when
    ``options["content_index"]`` holds the built index), stars from the NCF and the biased MF;
    ``product_weights``, ``product_content_gate`` (None: no gate) and ``product_stars_share`` (the NCF's
    share of the stars), when given, replace the served ones."""
    from recsys.ranking.ranker import Ranker, product_ease, product_sequence, product_stars_mf

    kwargs = {"weights": options["product_weights"]} if options.get("product_weights") else {}
    if options.get("release_years") is not None:
        kwargs["release_years"] = options["release_years"]
    if "product_recent_popularity" in options:
        kwargs["recent_popularity"] = options["product_recent_popularity"]
    if "product_content_gate" in options:
        kwargs["content_gate"] = options["product_content_gate"]
    if options.get("product_stars_share") is not None:
        kwargs["stars_ncf_share"] = options["product_stars_share"]
    if options.get("product_collaborative_mix") is not None:
        kwargs["collaborative_mix"] = options["product_collaborative_mix"]
    if "product_ease_recency" in options:
        kwargs["ease_recency"] = options["product_ease_recency"]
    return Ranker(_ncf(options), ease=product_ease(max_items=options.get("ease_max_items", 10_000)),
                  content=options.get("content_index"), stars_mf=product_stars_mf(int(options.get("seed", 42))),
                  sequence=product_sequence(), **kwargs)


#: EASE's lambda and iALS's (reg, unobserved weight) are chosen from these on validation people.
EASE_LAMBDAS = (100.0, 200.0, 500.0, 1000.0, 2000.0)
IALS_GRID = ((0.01, 0.3), (0.01, 1.0))  # (reg, unobserved weight); docs/evaluation.md has the search


def _ease(options: Mapping):
    """EASE with lambda chosen on validation people (movies with >= 2 ratings, as the product's)."""
    lambdas = options.get("ease_lambdas", EASE_LAMBDAS)
    return ValidatedScorer({f"lambda={l2:g}": (lambda l2=l2: EASEScorer(l2=l2, min_ratings=2)) for l2 in lambdas})


def _ials(options: Mapping):
    """iALS (64 factors) with (reg, unobserved weight) chosen on validation people. Its
    initialisation has a fixed seed (0), so a multi-seed run fits it once per training frame."""
    seed = 0
    grid = options.get("ials_grid", IALS_GRID)
    return ValidatedScorer({f"reg={reg:g},alpha0={a0:g}": (lambda reg=reg, a0=a0: IALSScorer(
        reg=reg, unobserved_weight=a0, seed=seed)) for reg, a0 in grid})


REGISTRY: dict[str, ModelSpec] = {
    "product": ModelSpec(_product, product=True,
                         description="the site's ranker: NCF + EASE + popularity (+ content), tuned weights"),
    "popularity": ModelSpec(lambda o: PopularityScorer(), description="number of training ratings", seeded=False),
    "recent-popularity": ModelSpec(lambda o: RecentPopularityScorer(release_years=o.get("release_years")),
                                   description="liked ratings of the year before the person's time "
                                               "(time-aware popularity)", seeded=False),
    "damped-mean": ModelSpec(lambda o: DampedMeanScorer(damping=5.0), description="Bayesian-average stars",
                             seeded=False),
    "item-knn": ModelSpec(lambda o: ItemKNNScorer(neighbours=100), description="item cosine, 100 neighbours",
                          seeded=False),
    "biased-mf": ModelSpec(lambda o: BiasedMFScorer(seed=o.get("seed", 42)),
                           description="biased MF (ALS), ranked by predicted stars"),
    "ease": ModelSpec(_ease, description="EASE, lambda chosen on validation people", seeded=False),
    "ials": ModelSpec(_ials, description="iALS (Rendle et al. 2022), 64 factors, chosen on validation people",
                   seeded=False),
    "next-movies": ModelSpec(lambda o: NextMoviesScorer(), seeded=False,
                             description="what people rated next after a person's latest ratings (successor counts)"),
    # The strongest sequence model found (docs/evaluation.md, "Regular people and the films rated
    # around ..."): also the films rated just before, which the product's part leaves out.
    "next-previous": ModelSpec(lambda o: NextMoviesScorer(window=30, decay=0.9, predecessors=0.5), seeded=False,
                               description="what people rated just after and just before a person's latest "
                                           "ratings (successor + predecessor counts)"),
    "ncf": ModelSpec(_ncf, description="the site's NeuMF engine alone (its configured mode and fold-in)"),
    # Seed 003's way, kept as the bar the engine must clear: MSE on stars, ranked by predicted
    # stars, new people folded in by the plain rating-weighted average of movie vectors.
    "ncf-seed003": ModelSpec(lambda o: _ncf(o, mode="regression", foldin="average"),
                             description="NeuMF trained on stars only, average fold-in"),
}
BASELINES = ["popularity", "recent-popularity", "damped-mean", "item-knn", "biased-mf", "ease", "ials", "next-movies",
             "next-previous"]
PROTOCOLS = ("warm", "cold", "loo")


@dataclass
class Report:
    """The evaluation table (one dict per row) and what produced it."""

    rows: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    protocols: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"settings": self.settings, "protocols": self.protocols, "metrics": METRIC_COLUMNS, "rows": self.rows}

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


def genre_matrix(movies: pd.DataFrame | None, movie_ids: np.ndarray) -> np.ndarray | None:
    """Boolean (movies x genres) matrix for ``movie_ids`` from a ``movie_id, genres`` frame
    (``|``-joined genres; "(no genres listed)" counts as none)."""
    if movies is None:
        return None
    lookup = movies.set_index("movie_id")["genres"]
    lists = [[] if g in ("", "(no genres listed)") else g.split("|")
             for g in lookup.reindex(movie_ids).fillna("").astype(str)]
    names = sorted({g for genres in lists for g in genres})
    column = {g: i for i, g in enumerate(names)}
    out = np.zeros((len(movie_ids), len(names)), dtype=bool)
    for row, genres in enumerate(lists):
        out[row, [column[g] for g in genres]] = True
    return out


def _histories(frame: pd.DataFrame) -> dict[int, dict[int, float]]:
    """Person -> history, oldest first (as the site passes it: the successor part reads the order)."""
    return histories_in_time_order(frame)


def release_years(movies: pd.DataFrame | None) -> dict[int, int] | None:
    """Movie id -> release year, from a ``year`` column or the titles' trailing "(1999)"; None
    without movies."""
    if movies is None:
        return None
    if "year" in movies.columns:
        pairs = zip(movies["movie_id"], movies["year"])
    elif "title" in movies.columns:
        from recsys.data.titles import split_title_year

        pairs = ((movie, split_title_year(title)[1]) for movie, title in zip(movies["movie_id"], movies["title"]))
    else:
        return None
    return {int(movie): int(year) for movie, year in pairs if year is not None and not pd.isna(year)}


def rank_candidates(scores: np.ndarray, excluded: np.ndarray, pool: int) -> np.ndarray:
    """Positions of the ``pool`` best candidates, best first; ties keep catalog order.

    Args:
        scores: one score per catalog movie (``-inf`` = not a candidate).
        excluded: boolean mask of movies the person already rated.
    """
    if np.isnan(scores).any():
        raise metrics.MissingPredictionError(f"{int(np.isnan(scores).sum())} scores are NaN")
    return top_k(np.where(excluded, -np.inf, scores), pool)


@dataclass
class _Case:
    """People to evaluate in one setting: their history and test ratings."""

    histories: dict[int, dict[int, float]]
    test: pd.DataFrame
    warm: bool  # pass user_id to the scorer (cold people are anonymous)
    #: Leave-one-out: person -> the only movies ranked besides their test movie (sampled
    #: negatives), and every test movie is relevant whatever its stars. None: rank the catalog.
    candidates: Mapping[int, np.ndarray] | None = None
    #: Person -> the time of the latest rating in their history (what a scorer reading time is asked at).
    times: Mapping[int, float] | None = None


def _person_masks(catalog: np.ndarray, history: Mapping[int, float], test: pd.DataFrame, case: _Case, user: int):
    """(movies not to rank, test movie ids, which of them the catalog holds, relevant positions)."""
    excluded = np.zeros(catalog.size, dtype=bool)
    seen = np.fromiter(history.keys(), dtype=np.int64, count=len(history))
    positions = np.searchsorted(catalog, seen)
    hit = positions < catalog.size
    hit[hit] = catalog[positions[hit]] == seen[hit]
    excluded[positions[hit]] = True
    test_ids = test["movie_id"].to_numpy(dtype=np.int64)
    test_pos = np.minimum(np.searchsorted(catalog, test_ids), catalog.size - 1)
    in_catalog = catalog[test_pos] == test_ids
    if case.candidates is not None:
        # Only the test movie and the person's sampled negatives are ranked.
        ranked_ids = np.concatenate([case.candidates[user], test_ids[in_catalog]])
        excluded |= ~np.isin(catalog, ranked_ids)
        relevant_mask = in_catalog & ~excluded[test_pos]
    else:
        relevant_mask = in_catalog & (test["rating"].to_numpy() >= RELEVANT_STARS) & ~excluded[test_pos]
    return excluded, test_ids, in_catalog, set(test_pos[relevant_mask].tolist())


def _add_list_metrics(row: dict, top: np.ndarray, relevant_pos: set, k: int, *, genres, liked, ideal_gains) -> None:
    """One person's list metrics, appended to ``row`` (metric -> values)."""
    top_list = top.tolist()
    row["precision@10"].append(metrics.precision_at_k(top_list, relevant_pos, k))
    row["recall@10"].append(metrics.recall_at_k(top_list, relevant_pos, k))
    row["ndcg@10"].append(metrics.ndcg_at_k(top_list, relevant_pos, k))
    row["mrr@10"].append(metrics.reciprocal_rank_at_k(top_list, relevant_pos, k))
    row["hit_rate@10"].append(metrics.hit_at_k(top_list, relevant_pos, k))
    if ideal_gains is not None:
        gains = metrics.jaccard_gains(genres[top], liked)
        row["genre_ndcg@10"].append(metrics.ndcg_from_gains(gains, ideal_gains, k))


def evaluate_scorer(scorer, case: _Case, *, catalog: np.ndarray, genres: np.ndarray | None, k: int = 10,
                    pool: int = 30, seed: int = 42, shuffled: bool = False,
                    information: np.ndarray | None = None) -> dict[str, dict]:
    """Metrics of one fitted scorer on one case.

    ``information`` is each catalog movie's self-information (``metrics.self_information``);
    novelty@10 is None without it.

    Returns:
        ``{STRICT: {metric: value, ...}}`` plus ``SHUFFLED`` when ``shuffled``.
    """
    columns = scorer.items.indices(catalog)
    known = columns >= 0
    safe_columns = np.maximum(columns, 0)
    variants = [STRICT] + ([SHUFFLED] if shuffled else [])
    per_user = {v: {m: [] for m in ("precision@10", "recall@10", "ndcg@10", "mrr@10", "hit_rate@10",
                                    "genre_ndcg@10")} for v in variants}
    lists = {v: [] for v in variants}
    predicted, actual = [], []
    rates = scorer.predicts_ratings
    reads_time = getattr(scorer, "reads_time", False) and case.times is not None
    for user, test in case.test.groupby("user_id", sort=True):
        user = int(user)
        history = case.histories.get(user, {})
        user_id = user if case.warm else None
        at = {"at": case.times.get(user)} if reads_time else {}
        raw = np.asarray(scorer.score(user_id=user_id, history=history, **at), dtype=np.float64)
        scores = np.where(known, raw[safe_columns], -np.inf)
        excluded, test_ids, in_catalog, relevant_pos = _person_masks(catalog, history, test, case, user)
        if rates and in_catalog.any():
            stars = np.asarray(scorer.predict_ratings(user_id=user_id, history=history,
                                                      movie_ids=test_ids[in_catalog]), dtype=np.float64)
            predicted.append(stars)
            actual.append(test["rating"].to_numpy(dtype=np.float64)[in_catalog])
        ranked = rank_candidates(scores, excluded, max(pool, k))
        chosen = {STRICT: ranked[:k]}
        if shuffled:
            chosen[SHUFFLED] = np.random.default_rng([seed, user]).permutation(ranked[:pool])[:k]
        ideal_gains = None
        if genres is not None and relevant_pos:
            liked = genres[list(relevant_pos)].any(axis=0)
            candidate_gains = metrics.jaccard_gains(genres[~excluded & np.isfinite(scores)], liked)
            ideal_gains = -np.partition(-candidate_gains, min(k, candidate_gains.size) - 1)[:k]
        for variant, top in chosen.items():
            lists[variant].append(top.tolist())
            if relevant_pos:
                _add_list_metrics(per_user[variant], top, relevant_pos, k,
                                  genres=genres, liked=liked if ideal_gains is not None else None,
                                  ideal_gains=ideal_gains)
    rating_metrics = {"rmse": None, "mae": None}
    if predicted:
        p, a = np.concatenate(predicted), np.concatenate(actual)
        rating_metrics = {"rmse": metrics.rmse(p, a), "mae": metrics.mae(p, a)}
    results = {}
    for variant in variants:
        values = {name: (float(np.mean(v)) if v else None) for name, v in per_user[variant].items()}
        results[variant] = {
            **rating_metrics, **values,
            "coverage@10": metrics.catalog_coverage(lists[variant], catalog.size, k),
            "novelty@10": None if information is None or not lists[variant]
            else metrics.novelty(lists[variant], information, k),
            "distinct@10": metrics.distinct_items(lists[variant], k),
            "users": len(per_user[variant]["ndcg@10"]),
        }
    return results


def _fit(spec: ModelSpec, options: Mapping, train: pd.DataFrame):
    scorer = spec.factory(options)
    started = time.perf_counter()
    scorer.fit(train)
    return scorer, time.perf_counter() - started


def _frame_key(train: pd.DataFrame) -> int:
    """A fingerprint of a training frame (equal frames, equal keys)."""
    return int(pd.util.hash_pandas_object(train[["user_id", "movie_id", "rating", "timestamp"]], index=False).sum())


def _splits(ratings: pd.DataFrame, protocols: Sequence[str], report: Report, *, ks: Sequence[int], seed: int,
            n_negatives: int) -> list:
    """(protocol, training frame, [(k or None, case), ...]) for each protocol asked for; each one's
    description goes into ``report.protocols``."""
    splits = []
    if "warm" in protocols:
        split = warm_split(ratings)
        report.protocols["warm"] = {"description": split.description, **split.settings,
                                    "train_ratings": len(split.train), "test_ratings": len(split.test)}
        train_histories = _histories(split.train)
        splits.append(("warm", split.train, [(None, _Case(train_histories, split.test, warm=True,
                                                          times=latest_times(split.train)))]))
    if "cold" in protocols:
        cold = cold_split(ratings, seed=seed)
        cases, skipped = [], {}
        for reveal_k in ks:
            reveal = cold.reveal(reveal_k)
            skipped[str(reveal_k)] = int(reveal.skipped_users.size)
            cases.append((reveal_k, _Case(_histories(reveal.history), reveal.test, warm=False,
                                          times=latest_times(reveal.history))))
        report.protocols["cold"] = {"description": cold.description, **cold.settings,
                                    "train_ratings": len(cold.train), "skipped_users_per_k": skipped}
        splits.append(("cold", cold.train, cases))
    if "loo" in protocols:
        loo = leave_one_out_split(ratings, n_negatives=n_negatives, seed=seed)
        report.protocols["loo"] = {"description": loo.description, **loo.settings, "train_ratings": len(loo.train),
                                   "test_users": len(loo.test), "skipped_users": int(loo.skipped_users.size)}
        splits.append(("loo", loo.train, [(None, _Case(_histories(loo.train), loo.test, warm=True,
                                                       candidates=loo.negatives, times=latest_times(loo.train)))]))
    return splits


def _fitted(spec: ModelSpec, name: str, options: Mapping, train: pd.DataFrame, *, protocol: str, seed: int,
            cache: dict, say: Callable[[str], None]):
    """The fitted model and its fit time; a model that does not depend on the seed is fitted once
    per distinct training frame (``cache``)."""
    key = (name, None if not spec.seeded else seed, _frame_key(train))
    if key in cache:
        say(f"[{protocol}] {name}: fitted earlier on the same {len(train):,} ratings")
        return cache[key]
    say(f"[{protocol}] fitting {name} on {len(train):,} ratings ...")
    scorer, fit_s = _fit(spec, options, train)
    if not spec.seeded:
        cache[key] = (scorer, fit_s)
    return scorer, fit_s


def run_evaluation(ratings: pd.DataFrame, movies: pd.DataFrame | None = None, *,
                   models: Sequence[str] = tuple(BASELINES), protocols: Iterable[str] = ("warm", "cold"),
                   ks: Sequence[int] = (5, 10, 20), seed: int = 42, k: int = 10, pool: int = 30,
                   n_negatives: int = 100, options: Mapping | None = None,
                   registry: Mapping[str, ModelSpec] | None = None, cache: dict | None = None,
                   progress: Callable[[str], None] | None = None) -> Report:
    """Fit each named model on each protocol's training set and measure it.

    Args:
        ratings: all ratings (user_id, movie_id, rating, timestamp).
        movies: movie_id, genres (for genre NDCG; None skips it).
        models: registry names, in table order.
        protocols: any of "warm", "cold", "loo" (leave-one-out against ``n_negatives`` sampled movies).
        ks: revealed ratings per cold user.
        seed: picks the cold users and the leave-one-out negatives, seeds the shuffled lists
            and the models.
        options: extra factory options (``epochs`` ...).
        cache: a dict kept across calls (several seeds): a model with ``seeded=False`` is
            fitted once per distinct training frame.
        progress: called with one line per step.

    Returns:
        A Report.
    """
    registry = dict(REGISTRY if registry is None else registry)
    options = {"seed": seed, **(options or {})}
    if "release_years" not in options:
        options["release_years"] = release_years(movies)
    say = progress or (lambda line: None)
    unknown = [name for name in models if name not in registry]
    if unknown:
        raise KeyError(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    protocols = list(protocols)
    report = Report(settings={"seed": seed, "k": k, "shuffle_pool": pool, "relevant_stars": RELEVANT_STARS,
                              "ks": list(ks), "models": list(models), "protocols": protocols,
                              "ratings": int(len(ratings)), "users": int(ratings["user_id"].nunique()),
                              "movies": int(ratings["movie_id"].nunique()),
                              "options": {key: value for key, value in options.items() if key != "release_years"}})
    splits = _splits(ratings, protocols, report, ks=ks, seed=seed, n_negatives=n_negatives)
    cache = {} if cache is None else cache
    chosen = report.settings.setdefault("chosen", {})
    for protocol, train, cases in splits:
        catalog = np.unique(train["movie_id"].to_numpy(dtype=np.int64))
        genres = genre_matrix(movies, catalog)
        counts = train.drop_duplicates(["user_id", "movie_id"]).groupby("movie_id").size()
        information = metrics.self_information(counts.reindex(catalog).fillna(0).to_numpy(),
                                               int(train["user_id"].nunique()))
        for name in models:
            spec = registry[name]
            scorer, fit_s = _fitted(spec, name, options, train, protocol=protocol, seed=seed, cache=cache, say=say)
            if getattr(scorer, "chosen", None) is not None:
                chosen.setdefault(name, {})[protocol] = {"chosen": scorer.chosen, "validation_ndcg@10": scorer.results}
                say(f"[{protocol}] {name}: chose {scorer.chosen} on validation people")
            for reveal_k, case in cases:
                started = time.perf_counter()
                results = evaluate_scorer(scorer, case, catalog=catalog, genres=genres, k=k, pool=pool,
                                          seed=seed, shuffled=spec.product, information=information)
                eval_s = time.perf_counter() - started
                for variant, values in results.items():
                    report.rows.append({"model": name, "protocol": protocol, "k": reveal_k, "list": variant,
                                        **values, "fit_s": round(fit_s, 2), "eval_s": round(eval_s, 2)})
                ndcg = results[STRICT]["ndcg@10"]
                say(f"[{protocol}{'' if reveal_k is None else f' k={reveal_k}'}] {name}: "
                    f"NDCG@10 {ndcg if ndcg is None else round(ndcg, 4)} (fit {fit_s:.1f}s, eval {eval_s:.1f}s)")
    return report
