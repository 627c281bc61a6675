"""Tuning the ranker's weight schedule and content gate on validation people only, never the test users.

The parts of each validation person are computed once (:meth:`recsys.ranking.ranker.Ranker.parts`); a
weight triple then costs only a weighted sum and a top-k per person, so a whole grid is cheap. The
content gate is a function of the ungated parts (:meth:`recsys.ranking.ranker.ContentGate.apply`), so
its grid reuses them too.

Three kinds of validation case: cold (:func:`cold_cases`), warm (:func:`warm_cases`) and
leave-one-out (:func:`loo_cases`: a person's next rating, whatever its stars, among movies they never
rated), so that a choice can be held to every protocol the evaluation reports.

The stars' NCF share (:data:`recsys.ranking.ranker.STARS_NCF_SHARE`) is chosen by the RMSE of the
averaged stars on the warm validation people's held-out ratings (:func:`tune_stars_share`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from recsys.content.index import ContentIndex
from recsys.evaluation.metrics import ndcg_at_k
from recsys.primitives import top_k
from recsys.ranking.ranker import (
    PRODUCT_WEIGHTS,
    STARS_NCF_SHARE,
    ContentGate,
    Ranker,
    WeightSchedule,
    blend_stars,
    product_ease,
    product_sequence,
    product_stars_mf,
)
from recsys.sequence import histories_in_time_order
from recsys.timeline import latest_times

#: (new_until, regular_from) pairs tried by tune_product.
SCHEDULE_GRID = tuple((a, b) for a in (5, 10, 15, 20) for b in (20, 30, 50, 100) if b > a)
#: Content gates tried by tune_product (None: no gate).
GATE_GRID = (None,) + tuple(ContentGate(centre=c, width=w) for c in (0.5, 1.0, 1.5, 2.0) for w in (0.25, 0.5, 1.0))
RELEVANT_STARS = 4.0
#: The stars' NCF shares tried by tune_product (0: the biased MF alone, 1: the NCF alone).
STARS_SHARE_GRID = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)


@dataclass
class TuningCase:
    """One validation person: what they revealed and which of the movies they rated later
    (>= 4 stars) a good list should contain."""

    history: dict[int, float]
    relevant: set[int]
    user_id: int | None = None  # set for a user the ranker was fitted on
    #: Leave-one-out: the only movies ranked besides the relevant one (None: the whole catalog).
    candidates: np.ndarray | None = None
    #: The time of the latest revealed rating (the ranker is asked at it; None: the end of the data).
    at: float | None = None


@dataclass
class _Prepared:
    """One validation person's parts, ready for any weights."""

    parts: np.ndarray
    seen: np.ndarray
    relevant: set
    n_ratings: int
    ranked: np.ndarray | None = None  # rows that may be ranked (None: every row not seen)
    unavailable: np.ndarray | None = None  # rows not released yet at the person's time


def cold_cases(cold_ratings: pd.DataFrame, k: int, relevant_stars: float = RELEVANT_STARS) -> list[TuningCase]:
    """Validation cases from chronological cold-user ratings: the first ``k`` revealed, the
    rest's >= ``relevant_stars`` movies relevant. Users with <= k ratings are skipped."""
    cases = []
    ordered = cold_ratings.sort_values(["user_id", "timestamp", "movie_id"], kind="stable")
    for _user, group in ordered.groupby("user_id", sort=True):
        if len(group) <= k:
            continue
        shown, rest = group.iloc[:k], group.iloc[k:]
        cases.append(TuningCase(
            history=dict(zip(shown["movie_id"].astype(int), shown["rating"].astype(float))),
            relevant=set(rest.loc[rest["rating"] >= relevant_stars, "movie_id"].astype(int)),
            at=float(shown["timestamp"].max())))
    return cases


def warm_cases(fit: pd.DataFrame, held_out: pd.DataFrame, relevant_stars: float = RELEVANT_STARS) -> list[TuningCase]:
    """Validation cases for known users: their fitting ratings as history (scored as
    themselves), their held-out ratings >= ``relevant_stars`` as relevant."""
    histories, times = histories_in_time_order(fit), latest_times(fit)
    liked = held_out[held_out["rating"] >= relevant_stars].groupby("user_id")["movie_id"]
    return [TuningCase(histories.get(int(u), {}), set(ms.astype(int)), user_id=int(u), at=times.get(int(u)))
            for u, ms in liked]



def loo_cases(fit: pd.DataFrame, held_out: pd.DataFrame, *, n_negatives: int = 100,
              seed: int = 0) -> list[TuningCase]:
    """Leave-one-out validation cases for known users: their fitting ratings as history, their
    first held-out rating (by time, ties by movie id), whatever its stars, as the one relevant
    movie, ranked against ``n_negatives`` movies of ``fit`` they never rated (in ``fit`` or
    ``held_out``), drawn with ``default_rng([seed, user_id])``. People with fewer never-rated
    movies than that are skipped."""
    histories, times = histories_in_time_order(fit), latest_times(fit)
    rated = pd.concat([fit[["user_id", "movie_id"]], held_out[["user_id", "movie_id"]]])
    rated = {int(u): g.to_numpy(dtype=np.int64) for u, g in rated.groupby("user_id", sort=True)["movie_id"]}
    catalog = np.unique(fit["movie_id"].to_numpy(dtype=np.int64))
    first = held_out.sort_values(["user_id", "timestamp", "movie_id"], kind="stable").groupby("user_id").head(1)
    cases = []
    for user, movie in zip(first["user_id"].astype(int), first["movie_id"].astype(int)):
        pool = np.setdiff1d(catalog, rated[user])
        if pool.size < n_negatives:
            continue
        negatives = np.sort(np.random.default_rng([seed, user]).choice(pool, size=n_negatives, replace=False))
        cases.append(TuningCase(histories.get(user, {}), {movie}, user_id=user, candidates=negatives,
                                at=times.get(user)))
    return cases


def weight_grid(step: float = 0.1) -> list[tuple[float, float, float]]:
    """Every (content, collaborative, popularity) triple on a ``step`` grid summing to 1."""
    n = int(round(1 / step))
    # Rounded so 7 * 0.1 is 0.7 (and a triple is found in the results by equality).
    return [(round(a * step, 10), round(b * step, 10), round(1 - (a + b) * step, 10))
            for a in range(n + 1) for b in range(n + 1 - a)]


def prepare(ranker: Ranker, cases: Sequence[TuningCase]) -> list[_Prepared]:
    """Each case's parts, once. As in the evaluation harness, a movie nobody rated in
    training cannot be recommended, so it does not count as relevant; cases left with no
    relevant movie are dropped."""
    known = set(ranker.items.ids.tolist())
    out = []
    for case in cases:
        relevant = (case.relevant & known) - set(case.history)
        if not relevant:
            continue
        seen = ranker.items.indices(list(case.history))
        ranked = None
        if case.candidates is not None:
            ranked = ranker.items.indices(np.concatenate([np.asarray(case.candidates, np.int64),
                                                          np.fromiter(relevant, np.int64)]))
            ranked = ranked[ranked >= 0]
        timed = getattr(ranker, "reads_time", False)
        at = {"at": case.at} if timed else {}
        out.append(_Prepared(ranker.parts(user_id=case.user_id, history=case.history, **at), seen[seen >= 0],
                             relevant, len(case.history), ranked, ranker.unavailable(case.at) if timed else None))
    return out


def mean_ndcg(prepared: Sequence[_Prepared], items, weights_for: Callable[[int], np.ndarray], k: int = 10) -> float:
    """Mean NDCG@k when each person's parts are mixed by ``weights_for(their number of ratings)``."""
    values = []
    for person in prepared:
        mix = np.asarray(weights_for(person.n_ratings), np.float32)[:, None]
        scores = (mix * person.parts).sum(axis=0)
        if person.ranked is not None:
            only = np.full(scores.shape, -np.inf, scores.dtype)
            only[person.ranked] = scores[person.ranked]
            scores = only
        scores[person.seen] = -np.inf
        if person.unavailable is not None:
            scores[person.unavailable] = -np.inf
        values.append(ndcg_at_k(items.ids[top_k(scores, k)].tolist(), person.relevant, k))
    return float(np.mean(values)) if values else 0.0


def tune_weights(ranker: Ranker, cases: Sequence[TuningCase], *, grid: Sequence[Sequence[float]] | None = None,
                 k: int = 10, progress: Callable[[str], None] | None = None
                 ) -> tuple[tuple[float, float, float] | None, list[dict]]:
    """The weight triple with the best mean NDCG@k on ``cases`` (validation people only).

    Returns:
        ``(best triple or None when no case has a findable relevant movie, every result as
        {"weights", "ndcg"})``.
    """
    prepared = prepare(ranker, cases)
    results = [{"weights": tuple(float(w) for w in weights),
                "ndcg": mean_ndcg(prepared, ranker.items, lambda _n, w=weights: w, k)}
               for weights in (grid or weight_grid())]
    if not prepared:
        return None, results
    best = max(results, key=lambda r: (r["ndcg"], r["weights"]))
    if progress:
        progress(f"best {best['weights']} NDCG@{k} {best['ndcg']:.4f}")
    return best["weights"], results


def gated(prepared: Sequence[_Prepared], gate: ContentGate | None, schedule: WeightSchedule) -> list[_Prepared]:
    """The same people with their content part gated by ``gate`` (prepared without a gate), at the
    strength the ranker gives them (``schedule.regular_share`` of their number of ratings)."""
    if gate is None:
        return list(prepared)
    out = []
    for person in prepared:
        parts = person.parts.copy()
        parts[0] = gate.apply(parts[0], parts[1], schedule.regular_share(person.n_ratings))
        out.append(replace(person, parts=parts))
    return out


def tune_gate(warm: Sequence[_Prepared], loo: Sequence[_Prepared], cold: Sequence[_Prepared], *, items_warm,
              items_cold, schedule: WeightSchedule, gates: Sequence[ContentGate | None] = GATE_GRID,
              tolerance: float = 0.01) -> tuple[ContentGate | None, list[dict]]:
    """The content gate with the best leave-one-out validation NDCG@10 among those that keep the warm
    and the cold validation NDCG@10 within ``tolerance`` of the ungated ranker's (people prepared
    without a gate; ``warm`` and ``loo`` from the ranker over ``items_warm``, ``cold`` over ``items_cold``).

    Returns:
        ``(the gate, or None for no gate, [{"gate": (centre, width) or None, "warm", "loo", "cold"}, ...])``.
    """
    results = []
    for gate in gates:
        results.append({"gate": None if gate is None else (gate.centre, gate.width),
                        "warm": mean_ndcg(gated(warm, gate, schedule), items_warm, schedule.for_count),
                        "loo": mean_ndcg(gated(loo, gate, schedule), items_warm, schedule.for_count),
                        "cold": mean_ndcg(gated(cold, gate, schedule), items_cold, schedule.for_count)})
    reference = mean_ndcg(warm, items_warm, schedule.for_count), mean_ndcg(cold, items_cold, schedule.for_count)
    kept = [i for i, r in enumerate(results)
            if r["warm"] >= (1 - tolerance) * reference[0] and r["cold"] >= (1 - tolerance) * reference[1]]
    if not kept:
        return None, results
    best = max(kept, key=lambda i: (round(results[i]["loo"], 10), -i))
    return gates[best], results


def tune_stars_share(ranker: Ranker, fit: pd.DataFrame, held_out: pd.DataFrame, *,
                     shares: Sequence[float] = STARS_SHARE_GRID) -> tuple[float, list[dict]]:
    """The NCF share of the stars with the lowest RMSE on ``held_out`` (validation ratings of people
    whose earlier ratings, in ``fit``, the ranker was fitted on), over the movies the NCF knows.
    Ties go to the share nearest 0.5. Returns the share and ``[{"share", "rmse"}]`` for each of ``shares``."""
    if ranker.stars_mf is None:
        raise ValueError("tune_stars_share needs a ranker with a stars MF")
    histories = {int(user): dict(zip(group["movie_id"].tolist(), group["rating"].tolist()))
                 for user, group in fit.groupby("user_id", sort=True)}
    ncf_parts, mf_parts, actual_parts = [], [], []
    for user, group in held_out.groupby("user_id", sort=True):
        history, movies = histories.get(int(user), {}), group["movie_id"].to_numpy()
        ncf_parts.append(ranker.ncf.predict_ratings(user_id=int(user), history=history, movie_ids=movies))
        mf_parts.append(ranker.stars_mf.predict_ratings(user_id=None, history=history, movie_ids=movies))
        actual_parts.append(group["rating"].to_numpy(np.float64))
    if not actual_parts:
        return STARS_NCF_SHARE, []
    ncf, mf, actual = (np.concatenate(parts).astype(np.float64) for parts in (ncf_parts, mf_parts, actual_parts))
    known = ~np.isnan(ncf)
    if not known.any():
        return STARS_NCF_SHARE, []
    ncf, mf, actual = ncf[known], mf[known], actual[known]
    results = []
    for share in shares:
        stars = blend_stars(ncf, mf, share, np.float64)
        results.append({"share": float(share), "rmse": float(np.sqrt(np.mean((stars - actual) ** 2)))})
    best = min(results, key=lambda r: (round(r["rmse"], 10), abs(r["share"] - 0.5)))
    return best["share"], results


def tune_product(ratings: pd.DataFrame, index: ContentIndex | None, ncf_factory: Callable[[], object], *,
                 seed: int = 42, validation_seed: int = 7, ks: Sequence[int] = (5, 10, 20),
                 grid: Sequence[Sequence[float]] | None = None, ease_max_items: int | None = None,
                 schedule_grid: Sequence[tuple[int, int]] = SCHEDULE_GRID, min_regular_ratings: int = 100,
                 gates: Sequence[ContentGate | None] = GATE_GRID, release_years: dict[int, int] | None = None,
                 progress: Callable[[str], None] | None = None) -> tuple[WeightSchedule, dict]:
    """Tune the product's weights on validation people only, never the evaluation's test users.

    * cold validation: the harness's cold split (``seed``) is removed first, then 20% of the
      remaining users (``validation_seed``) are made cold and reveal their first k ratings;
    * warm validation: each user's last 20% of the warm protocol's *training* ratings (by time)
      are held out.

    * leave-one-out validation: the same warm validation people, each one's first held-out
      rating against 100 movies they never rated (:func:`loo_cases`, ``validation_seed``).

    Steps, without a content gate: the ``new`` triple on cold validation; the stars' NCF share on
    the warm validation people's held-out ratings (:func:`tune_stars_share`); the ``regular`` triple
    on warm validation people with at least ``min_regular_ratings`` ratings; then the breakpoints
    (``new_until``, ``regular_from``) from ``schedule_grid``, by the sum of the warm and the cold
    validation NDCG@10 over everybody (each person asked at their time, films released after it
    never ranked: ``release_years``). Last, the content gate from ``gates`` (:func:`tune_gate`,
    with the tuned schedule; only when there is a content index). Defaults are kept where a
    validation set is empty.

    Returns:
        the tuned :class:`WeightSchedule` and ``{"new", "regular", "schedule", "gate",
        "content_gate", "stars", "stars_ncf_share"}``: the grid results, the chosen gate (a
        :class:`ContentGate` or None) and the chosen stars share.
    """
    from recsys.data.splits import cold_split, validation_split, warm_split

    say = progress or (lambda _line: None)

    def ranker(train):
        ease = product_ease() if ease_max_items is None else product_ease(max_items=ease_max_items)
        return Ranker(ncf_factory(), ease=ease, content=index, content_gate=None, stars_mf=product_stars_mf(seed),
                      sequence=product_sequence(), release_years=release_years).fit(train)

    outer = cold_split(ratings, seed=seed)
    inner_cold = cold_split(outer.train, seed=validation_seed)
    cold_ranker = ranker(inner_cold.train)
    cold = [case for reveal in ks for case in cold_cases(inner_cold.cold_ratings, reveal)]
    say(f"cold validation: {len(inner_cold.train):,} fitting ratings, {len(inner_cold.cold_users)} users, "
        f"{len(cold)} cases over k={list(ks)}")
    new, new_results = tune_weights(cold_ranker, cold, grid=grid, progress=say)
    if new is None:
        say("no cold validation case has a findable relevant movie: keeping the default new weights")
        new = PRODUCT_WEIGHTS.new

    inner_warm = validation_split(warm_split(ratings).train, by="time")
    warm_ranker = ranker(inner_warm.train)
    warm = warm_cases(inner_warm.train, inner_warm.test)
    stars_share, stars_results = tune_stars_share(warm_ranker, inner_warm.train, inner_warm.test)
    if stars_results:
        rmse = {r["share"]: r["rmse"] for r in stars_results}
        say(f"stars: NCF share {stars_share:g}, validation RMSE {rmse[stars_share]:.4f} ("
            + ", ".join(f"{share:g}: {value:.4f}" for share, value in rmse.items()) + ")")
    regular_people = [case for case in warm if len(case.history) >= min_regular_ratings]
    say(f"warm validation: {len(warm)} people, {len(regular_people)} with >= {min_regular_ratings} ratings")
    regular, regular_results = tune_weights(warm_ranker, regular_people, grid=grid, progress=say)
    if regular is None:
        say(f"no validation person with >= {min_regular_ratings} ratings: keeping the default regular weights")
        regular = PRODUCT_WEIGHTS.regular

    base = replace(PRODUCT_WEIGHTS, new=tuple(float(w) for w in new), regular=tuple(float(w) for w in regular))
    warm_prepared, cold_prepared = prepare(warm_ranker, warm), prepare(cold_ranker, cold)
    schedule_results = []
    for new_until, regular_from in schedule_grid:
        candidate = replace(base, new_until=int(new_until), regular_from=int(regular_from))
        schedule_results.append({"new_until": int(new_until), "regular_from": int(regular_from),
                                 "warm": mean_ndcg(warm_prepared, warm_ranker.items, candidate.for_count),
                                 "cold": mean_ndcg(cold_prepared, cold_ranker.items, candidate.for_count)})
    results = {"new": new_results, "regular": regular_results, "schedule": schedule_results, "gate": [],
               "content_gate": None, "stars": stars_results, "stars_ncf_share": stars_share}
    if not warm_prepared and not cold_prepared:
        say("no validation person at all: keeping the default schedule")
        return base, results
    best = max(schedule_results, key=lambda r: (round(r["warm"] + r["cold"], 10), -r["new_until"], -r["regular_from"]))
    say(f"schedule: new up to {best['new_until']} ratings, regular from {best['regular_from']}: "
        f"validation NDCG@10 warm {best['warm']:.4f}, cold {best['cold']:.4f}")
    tuned = replace(base, new_until=best["new_until"], regular_from=best["regular_from"])
    if index is not None:
        loo_prepared = prepare(warm_ranker, loo_cases(inner_warm.train, inner_warm.test, seed=validation_seed))
        gate, results["gate"] = tune_gate(warm_prepared, loo_prepared, cold_prepared, items_warm=warm_ranker.items,
                                          items_cold=cold_ranker.items, schedule=tuned, gates=gates)
        results["content_gate"] = gate
        say(f"content gate: {gate} ({len(loo_prepared)} leave-one-out validation people)")
    return tuned, results
