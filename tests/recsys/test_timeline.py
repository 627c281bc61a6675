"""recsys.timeline: what is known at a given time."""
import numpy as np
import pandas as pd

from recsys.data.vocabulary import Vocabulary
from recsys.timeline import LikedTimeline, release_year_array, released_after, year_of

DAY = 86_400


def test_the_liked_timeline_counts_each_liked_rating_by_its_age_and_none_made_later():
    frame = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "movie_id": [10, 20, 10, 30, 10],
                          "rating": [5.0, 3.5, 4.0, 4.5, 4.0],
                          "timestamp": [0, 365 * DAY, 730 * DAY, 1095 * DAY, 2000 * DAY]})
    items = Vocabulary([10, 20, 30, 40])
    timeline = LikedTimeline.of(frame, items)
    assert timeline.times.tolist() == [0, 730 * DAY, 1095 * DAY, 2000 * DAY]  # the 3.5 is not liked
    assert timeline.end == 2000 * DAY
    # Asked at day 1095: movie 10's ratings are 1095 and 365 days old; 30's is new; day 2000's comes later.
    np.testing.assert_allclose(timeline.decayed_counts(1095 * DAY, 365.0), [np.exp(-3) + np.exp(-1), 0, 1, 0])
    np.testing.assert_allclose(timeline.decayed_counts(-1.0, 365.0), [0, 0, 0, 0])
    assert (year_of(0), year_of(946_684_799), year_of(946_684_800)) == (1970, 1999, 2000)


def test_release_years_align_with_the_items_and_say_what_is_out_after_a_time():
    items = Vocabulary([10, 20, 30])
    years = release_year_array(items, {10: 1999, 30: 2001, 99: 1990})
    assert years.tolist() == [1999, -np.inf, 2001]  # 20: unknown, always released
    assert released_after(years, 946_684_800.0).tolist() == [2]  # 2000-01-01
    assert released_after(years, 1_000_000_000.0) is None  # 2001
    assert released_after(years, None) is None


def test_liked_counts_before_a_time_are_undecayed_and_skip_movies_outside_the_items():
    frame = pd.DataFrame({"user_id": [1, 2, 3, 4], "movie_id": [10, 10, 99, 20], "rating": [4.0, 5.0, 5.0, 4.0],
                          "timestamp": [0, 100 * DAY, 100 * DAY, 200 * DAY]})
    timeline = LikedTimeline.of(frame, Vocabulary([10, 20]))  # movie 99 is not among the items
    assert timeline.counts_before(100 * DAY).tolist() == [2.0, 0.0]
    assert timeline.counts_before(200 * DAY).tolist() == [2.0, 1.0]
    np.testing.assert_allclose(timeline.decayed_counts(100 * DAY, 100.0), [np.exp(-1) + 1, 0])

