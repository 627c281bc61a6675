"""Ratings in time: what a recommender may know at a given moment (plain Python and NumPy).

A person is asked at a time (``at``, seconds since the epoch): only ratings made by then count, and
only films released by then can be watched. MovieLens' histories span two decades; a model that
ignores time ranks 2009's films for a person of 2003 and counts the likes of 2015 for them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.data.vocabulary import Vocabulary

DAY_SECONDS = 86_400.0


def year_of(timestamp: float) -> int:
    """The UTC calendar year of a Unix timestamp."""
    return int(np.datetime64(int(timestamp), "s").astype("datetime64[Y]").astype(np.int64)) + 1970


@dataclass(frozen=True)
class LikedTimeline:
    """The liked training ratings in time order: when (seconds) and which movie (a row of ``items``)."""

    times: np.ndarray
    rows: np.ndarray
    n_items: int

    @classmethod
    def of(cls, train: pd.DataFrame, items: Vocabulary, liked_stars: float = 4.0) -> LikedTimeline:
        liked = train.loc[train["rating"] >= liked_stars, ["timestamp", "movie_id"]]
        order = np.argsort(liked["timestamp"].to_numpy(np.float64), kind="stable")
        return cls(times=liked["timestamp"].to_numpy(np.float64)[order],
                   rows=items.indices(liked["movie_id"].to_numpy(np.int64)[order]), n_items=len(items))

    @property
    def end(self) -> float:
        """The latest liked rating's time (0 when there is none)."""
        return float(self.times[-1]) if self.times.size else 0.0

    def counts_before(self, at: float) -> np.ndarray:
        """Each movie's liked ratings made up to ``at``, undecayed."""
        stop = int(np.searchsorted(self.times, at, side="right"))
        rows = self.rows[:stop]
        return np.bincount(rows[rows >= 0], minlength=self.n_items).astype(np.float64)

    def decayed_counts(self, at: float, days: float) -> np.ndarray:
        """Each movie's liked ratings up to ``at``, one made ``age`` days earlier counting ``exp(-age / days)``."""
        stop = int(np.searchsorted(self.times, at, side="right"))
        weights = np.exp((self.times[:stop] - at) / (days * DAY_SECONDS))
        keep = self.rows[:stop] >= 0
        return np.bincount(self.rows[:stop][keep], weights=weights[keep], minlength=self.n_items)


def latest_times(frame: pd.DataFrame) -> dict[int, float]:
    """Person -> the time of their latest rating in ``frame`` (user_id, timestamp): when they are asked."""
    return {int(user): float(time) for user, time in frame.groupby("user_id", sort=True)["timestamp"].max().items()}


def release_year_array(items: Vocabulary, release_years) -> np.ndarray:
    """Each movie's release year aligned with ``items`` (-inf where unknown: always released)."""
    years = pd.Series(release_years, dtype="float64").reindex(items.ids)
    return years.fillna(-np.inf).to_numpy(np.float64)


def released_after(years: np.ndarray, at: float | None) -> np.ndarray | None:
    """Rows of ``years`` released after the calendar year of ``at`` (None when none or ``at`` is None)."""
    if at is None:
        return None
    later = np.flatnonzero(years > year_of(at))
    return later if later.size else None
