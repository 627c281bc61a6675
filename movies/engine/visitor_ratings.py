"""The ratings people gave on this site, as training data beside MovieLens.

Every visitor (anonymous or signed in) becomes one training user. Their user ids start at
``VISITOR_USER_ID_BASE``, above every MovieLens id (training refuses a dataset that reaches it), so
they never collide; they are numbered afresh for each training, in the order the visitors came.
The site never asks the model for a visitor's learned vector: it folds a visitor in from the
ratings of the request, so the numbering needs no stability across models.

Only what is in the database when training starts is read: a rating cleared, a "Start over" or a
deleted account is absent from every model trained afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from movies.models import VisitorRating

# int32 like MovieLens ids; ~147 million visitors fit below 2**31.
VISITOR_USER_ID_BASE = 2_000_000_000
ERROR_ID_CLASH = "The MovieLens ratings use user ids from {base:,} up, which are kept for the site's visitors."


@dataclass(frozen=True)
class VisitorRatings:
    frame: pd.DataFrame  # user_id:int32, movie_id:int32, rating:float32, timestamp:int64
    summary: dict  # what the artifact's metadata records: count, visitors, last_id, last_updated_at

    def joined_to(self, movielens: pd.DataFrame) -> pd.DataFrame:
        """MovieLens ratings followed by these; ValueError when a MovieLens user id reaches the visitors' range."""
        if len(movielens) and int(movielens["user_id"].max()) >= VISITOR_USER_ID_BASE:
            raise ValueError(ERROR_ID_CLASH.format(base=VISITOR_USER_ID_BASE))
        if self.frame.empty:
            return movielens
        return pd.concat([movielens, self.frame[list(movielens.columns)]], ignore_index=True)


def visitor_ratings_frame() -> VisitorRatings:
    """Every visitor rating now in the database, one training user per visitor."""
    rows = list(
        VisitorRating.objects.order_by("visitor__created_at", "visitor_id", "id")
        .values_list("id", "visitor_id", "movie_id", "rating", "updated_at")
    )
    numbers: dict = {}
    users = [VISITOR_USER_ID_BASE + numbers.setdefault(visitor, len(numbers)) for _, visitor, *_ in rows]
    frame = pd.DataFrame({
        "user_id": np.asarray(users, dtype=np.int32),
        "movie_id": np.asarray([row[2] for row in rows], dtype=np.int32),
        "rating": np.asarray([row[3] for row in rows], dtype=np.float32),
        "timestamp": np.asarray([int(row[4].timestamp()) for row in rows], dtype=np.int64),
    })
    summary = {
        "count": len(rows),
        "visitors": len(numbers),
        "last_id": max((row[0] for row in rows), default=None),
        "last_updated_at": max((row[4] for row in rows), default=None),
    }
    if summary["last_updated_at"] is not None:
        summary["last_updated_at"] = summary["last_updated_at"].isoformat()
    return VisitorRatings(frame=frame, summary=summary)
