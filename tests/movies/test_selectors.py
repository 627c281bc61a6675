"""Reads: the rating grid, recommendations with reasons, search, tags, similar movies."""
from collections import Counter

import pytest

from movies import selectors, services
from movies.engine import recommender
from movies.models import Visitor
from recsys import elicitation
from tests.movies.conftest import make_catalog, make_movie

pytestmark = pytest.mark.django_db


def state_with(ratings=None, skipped=(), hidden=()):
    return selectors.VisitorState(ratings=dict(ratings or {}), skipped=frozenset(skipped), hidden=frozenset(hidden))


def test_visitor_state_reads_ratings_and_both_flag_kinds(catalog):
    visitor = Visitor.objects.create()
    services.rating_record(visitor=visitor, movie_id=1, rating=4.5)
    services.movie_skip(visitor=visitor, movie_id=2)
    services.movie_hide(visitor=visitor, movie_id=3)
    state = selectors.visitor_state(visitor=visitor)
    assert state.ratings == {1: 4.5}
    assert state.skipped == {2}
    assert state.hidden == {3}
    assert selectors.visitor_state(visitor=None) == selectors.VisitorState()


def test_a_visitors_ratings_are_read_oldest_first_by_when_they_were_last_given(catalog):
    from datetime import timedelta

    from django.utils import timezone

    from movies.models import VisitorRating

    visitor = Visitor.objects.create()
    for movie_id in (3, 1, 2):
        services.rating_record(visitor=visitor, movie_id=movie_id, rating=4.0)
    now = timezone.now()
    # Re-rating 3 last makes it the latest; 1 and 2 keep their order.
    for movie_id, minutes in ((1, 1), (2, 2), (3, 3)):
        VisitorRating.objects.filter(visitor=visitor, movie_id=movie_id).update(
            updated_at=now + timedelta(minutes=minutes))
    assert list(selectors.visitor_state(visitor=visitor).ratings) == [1, 2, 3]


def test_a_movielens_users_ratings_are_read_in_time_order(catalog):
    from movies.api.selectors import movielens_user_ratings
    from movies.models import Rating

    for movie_id, timestamp in ((1, 30), (2, 10), (3, 20)):
        Rating.objects.create(user_id=77, movie_id=movie_id, rating=3.5, timestamp=timestamp)
    assert list(movielens_user_ratings(user_id=77)) == [2, 3, 1]


def test_grid_has_the_configured_size_and_no_seen_movies(catalog, settings):
    settings.RATING_GRID_SIZE = 12
    state = state_with({1: 4.0, 2: 3.0}, skipped={3, 4}, hidden={5})
    grid = selectors.movie_list_for_rating(state=state, seed=7)
    ids = [movie.id for movie in grid]
    assert len(ids) == 12 == len(set(ids))
    assert not set(ids) & {1, 2, 3, 4, 5}


def test_grid_is_stable_for_a_seed_and_varies_between_seeds(catalog):
    first = [m.id for m in selectors.movie_list_for_rating(state=state_with(), n=12, seed=1)]
    again = [m.id for m in selectors.movie_list_for_rating(state=state_with(), n=12, seed=1)]
    other = [m.id for m in selectors.movie_list_for_rating(state=state_with(), n=12, seed=2)]
    assert first == again
    assert first != other


def test_grid_spreads_over_decades_even_when_popularity_clusters():
    # 30 popular 1990s dramas and 10 less popular films from other decades.
    for index in range(1, 31):
        make_movie(index, f"Nineties {index}", year=1995, genres=["Drama"], rating_count=1000 - index)
    others = ["Comedy", "Horror", "Western", "War", "Musical", "Sci-Fi", "Crime", "Romance", "Fantasy", "Mystery"]
    for index, genre in enumerate(others, start=31):
        make_movie(index, f"Other {index}", year=1930 + (index - 31) * 10, genres=[genre], rating_count=100 - index)
    grid = selectors.movie_list_for_rating(state=state_with(), n=12, seed=3)
    decades = Counter((movie.year // 10) * 10 for movie in grid)
    assert len(grid) == 12
    assert decades[1990] <= 4  # ceil(12 / 3); without the cap the grid would be all 1990s


def test_grid_excludes_extra_ids_and_returns_fewer_when_catalog_runs_out(db):
    make_catalog(5)
    grid = selectors.movie_list_for_rating(state=state_with({1: 3}), n=12, seed=0, exclude=[2])
    assert sorted(movie.id for movie in grid) == [3, 4, 5]


def test_recommendations_wait_for_the_minimum_number_of_ratings(catalog, settings):
    settings.RECOMMENDATIONS_MIN_RATINGS = 3
    panel = selectors.recommendations_for_visitor(state=state_with({1: 4, 2: 5}))
    assert panel.items == []
    assert panel.ratings_needed == 1
    assert panel.progress == [True, True, False]


def test_recommendations_never_include_rated_or_hidden_but_may_include_skipped(catalog):
    # Movies 4 and 5 are skipped ("haven't seen it"), 6 and 7 hidden ("not interested").
    state = state_with({1: 4, 2: 5, 3: 2}, skipped={4, 5}, hidden={6, 7})
    panel = selectors.recommendations_for_visitor(state=state, n=10, seed=0)
    ids = [item.movie.id for item in panel.items]
    # The popularity fallback with only the rated and hidden movies left out: the skipped ones stay in.
    expected = recommender.recommend_popular(ratings=state.ratings, exclude={6, 7}, n=10, seed=0)
    assert ids == [rec.movie_id for rec in expected]
    assert len(ids) == 10
    assert not set(ids) & {1, 2, 3, 6, 7}
    assert all(item.reason for item in panel.items)
    assert panel.warming_up is True  # the popularity fallback reports "training"


def test_recommendations_ask_the_recommender_to_leave_out_hidden_movies_only(catalog, monkeypatch):
    calls = []

    def spy(**kwargs):
        calls.append(kwargs)
        return [recommender.Recommendation(4, 1.0, 4.0, "because you rated Film 01 4 stars")]

    monkeypatch.setattr(recommender, "recommend", spy)
    state = state_with({1: 4, 2: 5, 3: 2}, skipped={4, 5}, hidden={6, 7})
    panel = selectors.recommendations_for_visitor(state=state, n=10, seed=0)
    assert [(call["ratings"], set(call["exclude"])) for call in calls] == [({1: 4, 2: 5, 3: 2}, {6, 7})]
    assert [item.movie.id for item in panel.items] == [4]  # a skipped movie, recommended


def test_recommendations_fall_back_to_popular_when_the_recommender_fails(catalog, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("model file corrupt")

    monkeypatch.setattr(recommender, "recommend", broken)
    panel = selectors.recommendations_for_visitor(state=state_with({1: 4, 2: 5, 3: 2}), n=5, seed=4)
    # The same popular picks the site shows while a model trains: the catalog's most-rated, shuffled.
    expected = recommender.recommend_popular(ratings={1: 4, 2: 5, 3: 2}, n=5, seed=4)
    assert [item.movie.id for item in panel.items] == [rec.movie_id for rec in expected]
    assert len(expected) == 5 and not {1, 2, 3} & {item.movie.id for item in panel.items}
    assert {item.reason for item in panel.items} == {"popular with everyone"}


def test_reason_from_the_recommender_is_kept(named_catalog, monkeypatch):
    monkeypatch.setattr(
        recommender, "recommend", lambda **kwargs: [recommender.Recommendation(589, 1.0, 4.1, "similar to Heat you loved")]
    )
    panel = selectors.recommendations_for_visitor(state=state_with({6: 5.0, 1: 4.5, 8533: 5.0}))
    assert panel.items[0].reason == "similar to Heat you loved"


@pytest.mark.parametrize(
    "query, first",
    [
        ("heat", 6),
        ("the matrix", 2571),
        ("matrix", 2571),
        ("amelie", 4973),  # accents ignored
        ("judgment", 589),  # a word inside the title
        ("TOY STORY", 1),
    ],
)
def test_search_finds_titles_by_prefix_word_and_typo(named_catalog, query, first):
    results = selectors.movie_search(query=query)
    assert results and results[0].id == first


def test_search_tolerates_a_typo_in_a_prefix(named_catalog):
    # Both Terminators start like "termintor" does; the more-rated one comes first.
    assert [m.id for m in selectors.movie_search(query="termintor")] == [589, 1240]
    assert [m.id for m in selectors.movie_search(query="amelei")] == [4973]


def test_search_ranks_prefix_before_substring_and_handles_empty(named_catalog):
    assert [m.id for m in selectors.movie_search(query="termin")] == [589, 1240]
    assert selectors.movie_search(query="   ") == []
    assert selectors.movie_search(query="zzzzqqq") == []


@pytest.mark.parametrize("query", ["The Matrix", "matrix", "Matrix, The", "matrix the", "Matrix, The (1999)"])
def test_search_matches_the_natural_and_the_movielens_title(named_catalog, query):
    assert [m.id for m in selectors.movie_search(query=query)][:1] == [2571]


@pytest.mark.parametrize("query", ["Le Fabuleux destin", "fabuleux destin d'amelie poulain, le", "amelie le fab"])
def test_search_matches_an_alternative_title_either_way(named_catalog, query):
    assert [m.id for m in selectors.movie_search(query=query)] == [4973]


def test_search_key_moves_trailing_articles_and_drops_punctuation():
    assert selectors.search_key("Matrix, The") == "the matrix"
    assert selectors.search_key("Matrix, The", natural=False) == "matrix the"
    assert selectors.search_key("Cité des enfants perdus, La") == "la cite des enfants perdus"
    assert selectors.search_key("Amélie (2001)") == "amelie"
    assert selectors.search_key("Terminator 2: Judgment Day") == "terminator 2 judgment day"


def test_movie_tags_are_distinct_case_insensitively_most_used_first(named_catalog):
    assert selectors.movie_tags(movie=named_catalog["toy"]) == ["pixar", "fun", "toys"]


def test_similar_movies_share_most_genres_then_popularity(named_catalog):
    similar = selectors.movies_similar(movie=named_catalog["terminator"], n=3)
    # Matrix shares Action, Sci-Fi and Thriller; Terminator 2 and Heat share two each, T2 more rated.
    assert [m.id for m in similar] == [2571, 589, 6]


def test_similar_movies_use_the_content_engine_when_present(named_catalog, monkeypatch):
    monkeypatch.setattr(selectors, "similar_movies", lambda movie_id, n: [8533, movie_id, 4973])
    similar = selectors.movies_similar(movie=named_catalog["heat"], n=5)
    assert [m.id for m in similar] == [8533, 4973]


def test_movie_detail_carries_the_visitors_rating_and_flag(named_catalog):
    detail = selectors.movie_detail(movie_id=1, state=state_with({1: 3.5}, hidden={1}))
    assert detail.visitor_rating == 3.5
    assert detail.flagged == "hidden"
    assert detail.tags[0] == "pixar"
    assert selectors.movie_detail(movie_id=424242, state=state_with()) is None


# --- The likely-seen grid (RATING_GRID_STRATEGY = "likely-seen", the default) --------------

SERIES_TITLES = ["Toy Story", "Toy Story 2", "Heat", "Casino", "Alien", "Amélie", "Fargo", "Brazil", "Clue",
                 "Jaws", "Rocky", "Tron", "Vertigo", "Psycho", "Big", "Ran", "Ed Wood", "Babe", "Cars", "Up",
                 "Memento", "Gattaca", "Hook", "Speed", "Krull", "Willow", "Dune", "Heathers", "Zodiac", "Seven"]


@pytest.fixture
def rated_catalog(db):
    """30 movies (Toy Story and its sequel the most rated), 40 MovieLens people in two camps."""
    from movies.models import Rating

    for index, title in enumerate(SERIES_TITLES, start=1):
        make_movie(index, title, year=1960 + index, genres=["Drama" if index % 2 else "Comedy"],
                   rating_count=1000 - index)
    rows = []
    for user in range(1, 41):
        for movie in range(1, 31):
            own = (user <= 20) == (movie <= 15)
            if movie <= 2 or (user * 7 + movie * 3) % 10 < (8 if own else 1):
                rows.append(Rating(user_id=user, movie_id=movie, rating=float(1 + (user + movie) % 5), timestamp=0))
    Rating.objects.bulk_create(rows)
    selectors._elicitation_cache.update(fingerprint=None, catalog=None)
    yield
    selectors._elicitation_cache.update(fingerprint=None, catalog=None)


def test_likely_seen_grid_shows_one_film_per_series_and_nothing_answered(rated_catalog, settings):
    settings.RATING_GRID_STRATEGY = "likely-seen"
    state = state_with({5: 4.0}, skipped={6}, hidden={7})
    ids = [m.id for m in selectors.movie_list_for_rating(state=state, n=12)]
    assert len(ids) == 12 == len(set(ids))
    assert len({1, 2} & set(ids)) == 1
    assert not {5, 6, 7} & set(ids)
    # The very function the simulation measures, over the catalog built from the Rating table.
    assert ids == elicitation.likely_seen_screen(selectors._elicitation_catalog(), rated={5: 4.0}, skipped={6},
                                                 exclude={7}, n=12)


def test_likely_seen_grid_never_shows_a_skipped_movie_again(rated_catalog, settings):
    settings.RATING_GRID_STRATEGY = "likely-seen"
    first = [m.id for m in selectors.movie_list_for_rating(state=state_with(), n=12)]
    assert first[0] == 1  # the most rated (Toy Story, rated by everyone; its sequel waits)
    state = state_with({first[0]: 4.0}, skipped=set(first[1:]))
    for seed in range(3):
        again = [m.id for m in selectors.movie_list_for_rating(state=state, n=12, seed=seed)]
        assert len(again) == 12 and not set(again) & set(first)


def test_likely_seen_grid_adapts_to_what_was_rated_and_skipped(rated_catalog, settings):
    settings.RATING_GRID_STRATEGY = "likely-seen"
    first_camp = set(range(3, 16))
    leaning = selectors.movie_list_for_rating(state=state_with({3: 4.0, 4: 5.0}, skipped={16, 17, 18}), n=6)
    mirrored = selectors.movie_list_for_rating(state=state_with({16: 4.0, 17: 5.0}, skipped={3, 4, 5}), n=6)
    assert len({m.id for m in leaning} & first_camp) > len({m.id for m in mirrored} & first_camp)


def test_popular_grid_is_a_setting_and_a_bad_value_is_refused(rated_catalog, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.RATING_GRID_STRATEGY = "popular"
    ids = [m.id for m in selectors.movie_list_for_rating(state=state_with(), n=12, seed=3)]
    assert ids == [m.id for m in selectors._popular_grid(excluded=set(), n=12, seed=3)]
    settings.RATING_GRID_STRATEGY = "clever"
    with pytest.raises(ImproperlyConfigured, match="RATING_GRID_STRATEGY is 'clever'"):
        selectors.movie_list_for_rating(state=state_with(), n=12)


def test_likely_seen_grid_falls_back_to_popular_without_movielens_ratings(catalog, settings):
    settings.RATING_GRID_STRATEGY = "likely-seen"
    assert [m.id for m in selectors.movie_list_for_rating(state=state_with(), n=12, seed=3)] == [
        m.id for m in selectors._popular_grid(excluded=set(), n=12, seed=3)]


def test_the_grid_catalog_reads_every_kth_person_once_ratings_pass_the_cap(rated_catalog, settings, monkeypatch):
    from django.db.models import Count

    from movies.models import Rating

    settings.RATING_GRID_STRATEGY = "likely-seen"
    ids = list(Rating.objects.order_by("id").values_list("id", flat=True))
    stamp = selectors._ratings_stamp()
    assert stamp == (ids[0], ids[-1])
    assert selectors.elicitation_people_step(stamp) == 1  # a few hundred ratings: everyone
    monkeypatch.setattr(selectors, "ELICITATION_MAX_RATINGS", 200)
    step = selectors.elicitation_people_step(stamp)
    assert step == -(-len(ids) // 200) and step > 1
    selectors._elicitation_cache.update(fingerprint=None, catalog=None)
    catalog = selectors._elicitation_catalog()
    sampled = {u for u in range(1, 41) if u % step == 0}
    assert catalog.n_people == len(sampled)
    # The sample's popularity: ratings of the sampled people only.
    counts = dict(Rating.objects.filter(user_id__in=sampled).values_list("movie_id").annotate(n=Count("id")))
    assert dict(zip(catalog.ids.tolist(), catalog.counts.tolist())) == {m: counts[m] for m in catalog.ids.tolist()}


def test_the_grid_catalog_is_rebuilt_when_the_ratings_change(rated_catalog, settings):
    from movies.models import Rating

    settings.RATING_GRID_STRATEGY = "likely-seen"
    before = selectors._elicitation_catalog()
    assert selectors._elicitation_catalog() is before  # the same ratings: the cached catalog
    Rating.objects.create(user_id=99, movie_id=3, rating=5.0, timestamp=0)
    after = selectors._elicitation_catalog()
    assert after is not before and after.n_people == before.n_people + 1
