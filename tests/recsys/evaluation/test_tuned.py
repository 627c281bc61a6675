"""Choosing settings on validation people carved from the training frame."""
import numpy as np
import pandas as pd
import pytest

from recsys.data.vocabulary import Vocabulary
from recsys.evaluation.tuned import ValidatedScorer, validation_ndcg


def frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "timestamp"])


class Ordered:
    """Ranks movies in a fixed order; remembers what it was fitted on."""

    predicts_ratings = False

    def __init__(self, order):
        self.order = list(order)
        self.fitted_on = None

    def fit(self, train):
        self.fitted_on = len(train)
        self.items = Vocabulary(np.array(sorted(self.order)))
        return self

    def score(self, *, user_id, history):
        rank = {m: i for i, m in enumerate(self.order)}
        return np.array([-rank[m] for m in self.items.ids], dtype=np.float32)


# user 1 rates movies 1..5 (5 stars) and user 2 movies 6..10 (3 stars), in id order: validation
# (each person's last 20% by time) holds out movie 5 for user 1 (relevant) and 10 for user 2 (not).
TRAIN = frame([(1, m, 5.0, m) for m in range(1, 6)] + [(2, m, 3.0, m) for m in range(6, 11)])
GOOD = [5, 6, 7, 8, 9, 10, 1, 2, 3, 4]
BAD = [6, 7, 8, 9, 10, 1, 2, 3, 4, 5]


def test_validation_ndcg_masks_the_history_and_scores_the_held_out_movie():
    held_out = TRAIN["movie_id"].isin([5, 10])
    fit, held = TRAIN[~held_out], TRAIN[held_out]
    assert validation_ndcg(Ordered(GOOD).fit(fit), fit, held) == 1.0
    # history 1..4 masked: movie 5 is sixth among the candidates 6, 7, 8, 9, 10, 5
    assert validation_ndcg(Ordered(BAD).fit(fit), fit, held) == pytest.approx(1 / np.log2(7))
    # a scorer that does not know movie 5 has no findable relevant movie: no case, 0
    assert validation_ndcg(Ordered([1, 2, 3, 4, 6]).fit(fit), fit, held) == 0.0


def test_validated_scorer_keeps_the_best_candidate_and_refits_it_on_everything():
    chosen = ValidatedScorer({"bad": lambda: Ordered(BAD), "good": lambda: Ordered(GOOD)}).fit(TRAIN)
    assert chosen.chosen == "good"
    assert chosen.results == pytest.approx({"good": 1.0, "bad": 1 / np.log2(7)})
    assert chosen.scorer.fitted_on == len(TRAIN)  # refitted on the whole training frame
    np.testing.assert_array_equal(chosen.score(user_id=None, history={}), [-6, -7, -8, -9, 0, -1, -2, -3, -4, -5])
    tie = ValidatedScorer({"first": lambda: Ordered(GOOD), "second": lambda: Ordered([5, 10, 9, 8, 7, 6, 1, 2, 3, 4])})
    assert tie.fit(TRAIN).chosen == "first"
    with pytest.raises(ValueError):
        ValidatedScorer({})
