"""The rating-grid simulation on a hand-built case: answers, skips, targets and NDCG by hand."""
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from recsys.data.vocabulary import Vocabulary
from recsys.evaluation import elicitation as simulation
from recsys.evaluation.elicitation import Person, people_from_ratings, simulate_people


@dataclass(frozen=True)
class FakePick:
    movie_id: int


class FixedOrderRanker:
    """Recommends movies 1..6 in id order, rated and excluded ones left out."""

    items = Vocabulary(np.arange(1, 7))

    def recommend(self, *, history, exclude=(), n=10):
        banned = set(history) | set(exclude)
        return [FakePick(m) for m in range(1, 7) if m not in banned][:n]


def two_screens(catalog, *, rated, skipped, exclude, n, seed):
    """Screen 1 shows movies 1 and 2, screen 2 shows 3 and 4."""
    return [1, 2] if not rated and not skipped else [3, 4]


def test_a_person_rates_what_they_saw_skips_the_rest_and_is_scored_on_what_is_left():
    person = Person(answers={1: 5.0, 3: 2.0, 5: 4.0, 6: 4.5})
    rows = simulate_people(FixedOrderRanker(), catalog=None, people={7: person}, strategies={"fixed": two_screens},
                           screens=2, k=2)
    by_screen = {row.screens: row for row in rows}
    # No screen yet: [1, 2] against {1, 5, 6}: a hit first; the ideal has two hits.
    assert by_screen[0].ndcg == pytest.approx(1 / (1 + 1 / math.log2(3)))
    # Screen 1: rated 1 (5 stars), skipped 2; [3, 4] against {5, 6}: nothing.
    assert (by_screen[1].ratings, by_screen[1].ndcg) == (1.0, 0.0)
    # Screen 2: rated 3, skipped 4; [5, 6] against {5, 6}: perfect.
    assert (by_screen[2].ratings, by_screen[2].ndcg) == (2.0, pytest.approx(1.0))
    assert by_screen[2].coverage == pytest.approx(2 / 6)
    assert {row.people for row in rows} == {1}


class TimedRanker(FixedOrderRanker):
    reads_time = True

    def __init__(self):
        self.asked = []

    def recommend(self, *, history, exclude=(), n=10, at=None):
        self.asked.append(at)
        return super().recommend(history=history, exclude=exclude, n=n)


def test_a_ranker_that_reads_time_is_asked_at_the_persons_arrival():
    ranker = TimedRanker()
    simulate_people(ranker, catalog=None, people={7: Person(answers={1: 5.0}, at=1234.0)},
                    strategies={"fixed": two_screens}, screens=2, k=2)
    assert ranker.asked == [1234.0, 1234.0, 1234.0]  # before any screen and after each of two


def test_the_later_protocol_keeps_one_target_and_later_open_lets_skips_be_recommended():
    person = Person(answers={1: 5.0, 3: 2.0}, later=frozenset({2, 5}))
    closed = {row.screens: row.ndcg for row in simulate_people(
        FixedOrderRanker(), None, {7: person}, {"fixed": two_screens}, protocol=simulation.PROTOCOL_LATER,
        screens=1, k=2)}
    opened = {row.screens: row.ndcg for row in simulate_people(
        FixedOrderRanker(), None, {7: person}, {"fixed": two_screens}, protocol=simulation.PROTOCOL_LATER_OPEN,
        screens=1, k=2)}
    ideal = 1 + 1 / math.log2(3)
    # Screen 1 skips movie 2 (not in the earlier half): excluded, [3, 4] hits nothing ...
    assert closed == {0: pytest.approx(1 / math.log2(3) / ideal), 1: 0.0}
    # ... unless skipped films may be recommended: [2, 3] hits 2 first.
    assert opened == {0: pytest.approx(1 / math.log2(3) / ideal), 1: pytest.approx(1 / ideal)}


def test_people_from_ratings_cut_each_history_in_time():
    frame = pd.DataFrame({"user_id": [1, 1, 1, 1, 1], "movie_id": [10, 11, 12, 13, 14],
                          "rating": [4.0, 2.0, 5.0, 3.0, 4.5], "timestamp": [5, 1, 4, 2, 3]})
    rest = people_from_ratings(frame, simulation.PROTOCOL_REST)
    # Each arrives at the time of the last rating a screen can find.
    assert rest == {1: Person(answers={11: 2.0, 13: 3.0, 14: 4.5, 12: 5.0, 10: 4.0}, at=5.0)}
    later = people_from_ratings(frame, simulation.PROTOCOL_LATER)
    assert later == {1: Person(answers={11: 2.0, 13: 3.0}, later=frozenset({14, 12, 10}), at=2.0)}


def test_format_table_compares_with_the_popular_grid_at_the_same_screen():
    table = pd.DataFrame([
        {"protocol": "rest", "strategy": "popular", "screens": 2, "ratings": 8.0, "ndcg": 0.2, "ndcg_sd": 0.01,
         "coverage": 0.005, "people": 100},
        {"protocol": "rest", "strategy": "likely-seen", "screens": 2, "ratings": 7.0, "ndcg": 0.25,
         "ndcg_sd": float("nan"), "coverage": 0.006, "people": 100},
    ])
    lines = simulation.format_table(table).splitlines()
    assert lines[2] == "| rest | popular | 2 | 8.0 | 0.200 ± 0.010 | +0% | 0.005 |"
    assert lines[3] == "| rest | likely-seen | 2 | 7.0 | 0.250 | +25% | 0.006 |"
