"""Train/test splits for the two evaluation protocols, and a validation carve-out for tuning.

Every function is deterministic: chronological cuts break timestamp ties by movie id, and the
only random choice (which users go cold) takes an explicit seed.

* Warm users (:func:`warm_split`): each user's last ``test_fraction`` of ratings by time form
  the test set, the rest stays in training. Everybody is in training.
* Cold start (:func:`cold_split`): ``user_fraction`` of the users, chosen with a seeded
  ``numpy.random.Generator``, are removed from training entirely. For each k, a cold user
  reveals their first k ratings by time (:meth:`ColdSplit.reveal`); the rest is their test set.
  A user with fewer than k + 1 ratings has nothing left to test and is skipped for that k.
* :func:`validation_split` carves a validation set out of a *training* frame (never the test
  set) for tuning hyper-parameters and early stopping.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

RATING_COLUMNS = ["user_id", "movie_id", "rating", "timestamp"]


def _chronological(ratings: pd.DataFrame) -> pd.DataFrame:
    """Ratings sorted by user, then time, ties broken by movie id (so cuts are reproducible)."""
    missing = set(RATING_COLUMNS) - set(ratings.columns)
    if missing:
        raise ValueError(f"ratings frame lacks columns: {', '.join(sorted(missing))}")
    return ratings.sort_values(["user_id", "timestamp", "movie_id"], kind="mergesort").reset_index(drop=True)


def _position_from_end(ordered: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For each row of a chronologically sorted frame: its 0-based position within the user,
    and the user's number of ratings."""
    sizes = ordered.groupby("user_id", sort=False)["user_id"].transform("size").to_numpy()
    position = ordered.groupby("user_id", sort=False).cumcount().to_numpy()
    return position, sizes


def n_test_ratings(n_ratings: np.ndarray | int, fraction: float) -> np.ndarray:
    """How many of a user's ``n_ratings`` go to the test set: ``fraction * n`` rounded half up,
    at least 1, and never all of them (a user with a single rating keeps it in training)."""
    n = np.asarray(n_ratings, dtype=np.int64)
    count = np.floor(n * fraction + 0.5).astype(np.int64)
    return np.where(n >= 2, np.clip(count, 1, n - 1), 0)


@dataclass
class Split:
    """One train/test split. ``test`` holds the held-out ratings of the users being evaluated."""

    train: pd.DataFrame
    test: pd.DataFrame
    description: str
    settings: dict = field(default_factory=dict)


def warm_split(ratings: pd.DataFrame, *, test_fraction: float = 0.2) -> Split:
    """Each user's last ``test_fraction`` of ratings by time are the test set.

    Args:
        ratings: columns user_id, movie_id, rating, timestamp.
        test_fraction: share of each user's ratings held out, see :func:`n_test_ratings`.

    Returns:
        A Split; train and test are disjoint and together hold every input row.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    ordered = _chronological(ratings)
    position, sizes = _position_from_end(ordered)
    is_test = position >= sizes - n_test_ratings(sizes, test_fraction)
    return Split(
        train=ordered[~is_test].reset_index(drop=True),
        test=ordered[is_test].reset_index(drop=True),
        description=(f"warm: each user's last {test_fraction:.0%} of ratings by time (ties by movie id) "
                     f"are the test set; the rest is training"),
        settings={"protocol": "warm", "test_fraction": test_fraction},
    )


@dataclass
class ColdReveal:
    """What cold users show for one k: ``history`` (their first k ratings) and ``test`` (the rest)."""

    k: int
    history: pd.DataFrame
    test: pd.DataFrame
    users: np.ndarray  # the cold users evaluated at this k
    skipped_users: np.ndarray  # cold users with fewer than k + 1 ratings


@dataclass
class ColdSplit:
    """Training frame without the cold users, and the cold users' own ratings."""

    train: pd.DataFrame
    cold_ratings: pd.DataFrame  # chronological
    cold_users: np.ndarray
    description: str
    settings: dict = field(default_factory=dict)

    def reveal(self, k: int) -> ColdReveal:
        """Each cold user's first ``k`` ratings by time as history, the rest as the test set.

        Users with fewer than ``k + 1`` ratings are skipped (listed in ``skipped_users``).
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        position, sizes = _position_from_end(self.cold_ratings)
        kept = sizes >= k + 1
        frame = self.cold_ratings
        history = frame[kept & (position < k)].reset_index(drop=True)
        test = frame[kept & (position >= k)].reset_index(drop=True)
        users = np.unique(frame.loc[kept, "user_id"].to_numpy())
        skipped = np.setdiff1d(self.cold_users, users)
        return ColdReveal(k=k, history=history, test=test, users=users, skipped_users=skipped)


def cold_split(ratings: pd.DataFrame, *, user_fraction: float = 0.2, seed: int = 42) -> ColdSplit:
    """Remove ``user_fraction`` of the users (chosen with ``numpy.random.default_rng(seed)``)
    from training entirely.

    Args:
        ratings: columns user_id, movie_id, rating, timestamp.
        user_fraction: share of users made cold, rounded half up (at least one, not all).
        seed: seeds the Generator that picks the cold users.
    """
    if not 0.0 < user_fraction < 1.0:
        raise ValueError("user_fraction must be in (0, 1)")
    ordered = _chronological(ratings)
    users = np.unique(ordered["user_id"].to_numpy())
    if len(users) < 2:
        raise ValueError("cold start needs at least two users")
    n_cold = int(np.clip(np.floor(len(users) * user_fraction + 0.5), 1, len(users) - 1))
    cold_users = np.sort(np.random.default_rng(seed).choice(users, size=n_cold, replace=False))
    is_cold = ordered["user_id"].isin(cold_users).to_numpy()
    return ColdSplit(
        train=ordered[~is_cold].reset_index(drop=True),
        cold_ratings=ordered[is_cold].reset_index(drop=True),
        cold_users=cold_users,
        description=(f"cold start: {user_fraction:.0%} of users (seed {seed}) removed from training; "
                     f"each reveals their first k ratings by time, the rest is the test set; "
                     f"users with fewer than k + 1 ratings are skipped for that k"),
        settings={"protocol": "cold", "user_fraction": user_fraction, "seed": seed, "n_cold_users": n_cold},
    )


def validation_split(train: pd.DataFrame, *, fraction: float = 0.2, by: str = "time",
                     seed: int | None = None) -> Split:
    """Carve a validation set out of a training frame (never pass the test set here).

    Args:
        train: the training ratings of a split.
        fraction: share of each user's training ratings held out.
        by: ``"time"`` holds out each user's last ratings (mirrors the warm protocol, no seed
            needed); ``"random"`` holds out a seeded random share of each user's ratings.
        seed: required when ``by="random"``.

    Returns:
        A Split whose ``train`` is the fitting part and ``test`` the validation part.
    """
    if by == "time":
        split = warm_split(train, test_fraction=fraction)
        split.description = "validation: " + split.description
        split.settings = {"protocol": "validation", "by": "time", "fraction": fraction}
        return split
    if by != "random":
        raise ValueError("by must be 'time' or 'random'")
    if seed is None:
        raise ValueError("a random validation split needs an explicit seed")
    ordered = _chronological(train)
    # A random key per row, then the same "last n per user" cut on the shuffled order.
    key = np.random.default_rng(seed).random(len(ordered))
    shuffled = ordered.assign(_key=key).sort_values(["user_id", "_key"], kind="mergesort")
    position, sizes = _position_from_end(shuffled)
    is_val = position >= sizes - n_test_ratings(sizes, fraction)
    shuffled = shuffled.drop(columns="_key")
    return Split(
        train=shuffled[~is_val].sort_index().reset_index(drop=True),
        test=shuffled[is_val].sort_index().reset_index(drop=True),
        description=f"validation: a random {fraction:.0%} of each user's training ratings (seed {seed})",
        settings={"protocol": "validation", "by": "random", "fraction": fraction, "seed": seed},
    )


@dataclass
class LeaveOneOutSplit:
    """The NCF paper's protocol (He et al. 2017): each person's latest rating is held out and
    ranked against ``n_negatives`` movies they never rated.

    Attributes:
        train: every rating but the held-out ones.
        test: one row per evaluated person (their latest rating, whatever its stars).
        negatives: person -> sorted movie ids of their sampled negatives.
        skipped_users: people not evaluated (a single rating, a held-out movie nobody else
            rated, or fewer never-rated movies than ``n_negatives``).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    negatives: dict[int, np.ndarray]
    skipped_users: np.ndarray
    description: str
    settings: dict = field(default_factory=dict)


def leave_one_out_split(ratings: pd.DataFrame, *, n_negatives: int = 100, seed: int = 42) -> LeaveOneOutSplit:
    """Hold out each person's latest rating (by timestamp, ties by movie id: the highest id
    of the latest timestamp) and draw ``n_negatives`` movies they never rated.

    Negatives come from the training catalog (movies someone rated in ``train``), without
    replacement, with ``numpy.random.default_rng([seed, user_id])``: fixed per person, and the
    same person gets the same negatives whatever other people are in the data.

    Args:
        ratings: columns user_id, movie_id, rating, timestamp.
        n_negatives: sampled movies per person (100 in the paper).
        seed: seeds every person's Generator.
    """
    if n_negatives < 1:
        raise ValueError("n_negatives must be at least 1")
    ordered = _chronological(ratings)
    position, sizes = _position_from_end(ordered)
    is_test = (position == sizes - 1) & (sizes >= 2)
    train = ordered[~is_test].reset_index(drop=True)
    test = ordered[is_test].reset_index(drop=True)
    catalog = np.unique(train["movie_id"].to_numpy(dtype=np.int64))
    rated = {int(u): g.to_numpy(dtype=np.int64) for u, g in ordered.groupby("user_id", sort=True)["movie_id"]}
    negatives, kept, skipped = {}, [], [int(u) for u, n in rated.items() if n.size < 2]
    in_train = np.isin(test["movie_id"].to_numpy(dtype=np.int64), catalog)
    for row, (user, known) in enumerate(zip(test["user_id"].to_numpy(dtype=np.int64), in_train)):
        pool = np.setdiff1d(catalog, rated[int(user)])
        if not known or pool.size < n_negatives:
            skipped.append(int(user))
            continue
        chosen = np.random.default_rng([seed, int(user)]).choice(pool, size=n_negatives, replace=False)
        negatives[int(user)] = np.sort(chosen)
        kept.append(row)
    return LeaveOneOutSplit(
        train=train, test=test.iloc[kept].reset_index(drop=True), negatives=negatives,
        skipped_users=np.array(sorted(skipped), dtype=np.int64),
        description=(f"leave-one-out (He et al. 2017): each person's latest rating by time (ties by movie id), "
                     f"whatever its stars, is ranked against {n_negatives} movies they never rated "
                     f"(seed [{seed}, user id])"),
        settings={"protocol": "loo", "n_negatives": n_negatives, "seed": seed},
    )
