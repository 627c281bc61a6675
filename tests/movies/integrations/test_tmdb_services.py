"""`manage.py fetch_tmdb` against a fake TMDB: stores details once, remembers 404s, resumes, retries failures."""
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from movies.integrations.tmdb.client import ERROR_AUTH, TmdbClient
from movies.integrations.tmdb.services import MAX_CONSECUTIVE_UNAVAILABLE, tmdb_fetch_missing
from movies.models import Movie
from tests.movies.integrations.fake_tmdb import Scripted

pytestmark = pytest.mark.django_db

Status = Movie.TmdbStatus


def make(movie_id, *, tmdb_id=None, imdb_id=None, rating_count=0, **fields):
    return Movie.objects.create(id=movie_id, title=f"Film {movie_id}", year=1995, tmdb_id=tmdb_id,
                                imdb_id=imdb_id, rating_count=rating_count, **fields)


def run(*args, **options):
    out, err = StringIO(), StringIO()
    call_command("fetch_tmdb", *args, stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


@pytest.fixture
def catalog(fake_tmdb):
    """Three findable movies (1, 2, 3), one TMDB no longer knows (4), one with no ids at all (5)."""
    fake_tmdb.add_movie(862, poster_path="/toy.jpg", overview="Toys come alive.", release_date="1995-10-30",
                        runtime=81, original_language="en")
    fake_tmdb.add_movie(8844, poster_path="/jumanji.jpg", runtime=104)
    fake_tmdb.add_movie(949, imdb="tt0113277", poster_path="/heat.jpg", original_language="en")
    make(1, tmdb_id=862, imdb_id=114709, rating_count=50)
    make(2, tmdb_id=8844, imdb_id=113497, rating_count=40)
    make(3, tmdb_id=None, imdb_id=113277, rating_count=30)  # no TMDB id: found by IMDb id
    make(4, tmdb_id=424242, imdb_id=9999999, rating_count=20)  # 404, and IMDb knows nothing either
    make(5, rating_count=10)
    return fake_tmdb


def test_fetch_stores_details_and_remembers_not_found(catalog):
    output = run()

    toy = Movie.objects.get(pk=1)
    assert (toy.poster_path, toy.overview, toy.release_date, toy.runtime, toy.original_language, toy.tmdb_status) == (
        "/toy.jpg", "Toys come alive.", date(1995, 10, 30), 81, "en", Status.FOUND)
    assert toy.tmdb_fetched_at is not None
    heat = Movie.objects.get(pk=3)
    assert (heat.tmdb_id, heat.poster_path, heat.tmdb_status) == (949, "/heat.jpg", Status.FOUND)
    assert Movie.objects.get(pk=4).tmdb_status == Status.NOT_FOUND
    assert Movie.objects.get(pk=4).tmdb_id == 424242  # kept: we do not invent ids
    no_ids = Movie.objects.get(pk=5)
    assert no_ids.tmdb_status == Status.NOT_FOUND and no_ids.tmdb_fetched_at is not None
    assert "TMDB: 3 fetched, 2 not found, 0 failed (7 requests)." in output
    # configuration, 862, 8844, find(3) + 949, 424242 + find(4); movie 5 costs nothing.
    assert catalog.paths() == ["/3/configuration", "/3/movie/862", "/3/movie/8844", "/3/find/tt0113277",
                               "/3/movie/949", "/3/movie/424242", "/3/find/tt9999999"]


def test_a_second_run_makes_zero_requests(catalog):
    run()
    before = len(catalog.requests)

    output = run()

    assert len(catalog.requests) == before
    assert "Nothing to fetch" in output
    assert "TMDB: 0 fetched, 0 not found, 0 failed (0 requests)." in output


def test_a_stale_tmdb_id_is_replaced_by_the_one_found_by_imdb_id(fake_tmdb):
    fake_tmdb.add_movie(949, imdb="tt0113277")
    make(6, tmdb_id=111, imdb_id=113277)
    run()
    movie = Movie.objects.get(pk=6)
    assert (movie.tmdb_id, movie.tmdb_status, movie.poster_path) == (949, Status.FOUND, "/poster949.jpg")


def test_without_a_key_the_command_says_how_to_set_one(settings, db):
    settings.TMDB_API_KEY = ""
    settings.TMDB_READ_ACCESS_TOKEN = ""
    make(1, tmdb_id=862)
    with pytest.raises(CommandError, match=r"set TMDB_API_KEY .* `TMDB_API_KEY=0123abcd\.\.\. python manage.py fetch_tmdb`"):
        run()
    assert Movie.objects.get(pk=1).tmdb_status == Status.NOT_FETCHED


def test_a_bad_key_aborts_the_run_and_changes_nothing(catalog, settings):
    settings.TMDB_API_KEY = "wrong"
    with pytest.raises(CommandError) as caught:
        run()
    assert ERROR_AUTH in str(caught.value)
    assert len(catalog.requests) == 1  # the configuration request; nothing after the 401
    assert set(Movie.objects.values_list("tmdb_status", flat=True)) == {Status.NOT_FETCHED}


def test_a_401_in_the_middle_keeps_what_was_fetched(catalog):
    catalog.script("/3/movie/8844", Scripted(401, {"status_code": 7}))
    with pytest.raises(CommandError, match="movies fetched before this stay saved"):
        run()
    assert dict(Movie.objects.values_list("id", "tmdb_status")) == {
        1: Status.FOUND, 2: Status.NOT_FETCHED, 3: Status.NOT_FETCHED, 4: Status.NOT_FETCHED, 5: Status.NOT_FETCHED}


def test_failures_are_marked_and_retried_by_the_next_run(catalog):
    catalog.script("/3/movie/8844", *[Scripted(500, "boom")] * 3)  # TMDB_MAX_RETRIES=2: three attempts
    catalog.script("/3/movie/862", Scripted(200, "{broken"))

    output = run()

    assert "TMDB: 1 fetched, 2 not found, 2 failed" in output
    assert "Failed movies are retried by the next run" in output
    assert Movie.objects.get(pk=1).tmdb_status == Status.FAILED
    assert Movie.objects.get(pk=2).tmdb_status == Status.FAILED

    before = len(catalog.requests)
    output = run()
    assert "TMDB: 2 fetched, 0 not found, 0 failed (2 requests)." in output
    assert catalog.paths()[before:] == ["/3/movie/862", "/3/movie/8844"]
    assert Movie.objects.get(pk=2).poster_path == "/jumanji.jpg"


def test_missing_only_skips_earlier_failures_and_retry_failed_takes_only_them(catalog):
    Movie.objects.filter(pk=1).update(tmdb_status=Status.FAILED)
    Movie.objects.filter(pk__in=[3, 4, 5]).update(tmdb_status=Status.NOT_FOUND)

    assert "TMDB: 1 fetched, 0 not found, 0 failed" in run("--missing-only")
    assert Movie.objects.get(pk=2).tmdb_status == Status.FOUND
    assert Movie.objects.get(pk=1).tmdb_status == Status.FAILED

    assert "TMDB: 1 fetched, 0 not found, 0 failed" in run("--retry-failed")
    assert Movie.objects.get(pk=1).tmdb_status == Status.FOUND


def test_limit_takes_the_most_rated_first(catalog):
    output = run("--limit", "2")
    assert "TMDB: 2 fetched, 0 not found, 0 failed" in output
    assert sorted(Movie.objects.filter(tmdb_status=Status.FOUND).values_list("id", flat=True)) == [1, 2]
    assert Movie.objects.filter(tmdb_status=Status.NOT_FETCHED).count() == 3


def test_ids_refetches_exactly_those_movies_whatever_their_status(catalog):
    run()
    catalog.movies[862]["poster_path"] = "/new-toy.jpg"
    before = len(catalog.requests)
    output = run("--ids", "1", "5")
    assert "TMDB: 1 fetched, 1 not found, 0 failed (1 requests)." in output
    assert catalog.paths()[before:] == ["/3/movie/862"]
    assert Movie.objects.get(pk=1).poster_path == "/new-toy.jpg"


@pytest.mark.parametrize("args, message", [
    (["--ids", "1", "77"], "No movie with id 77 in the catalog."),
    (["--ids", "0"], "--ids takes positive MovieLens movie ids."),
    (["--limit", "0"], "--limit must be a positive number of movies."),
    (["--ids", "1", "--retry-failed"], "--ids picks the movies itself"),
])
def test_bad_arguments_are_command_errors(catalog, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert catalog.requests == []


def test_an_interrupted_run_continues_where_it_stopped(catalog):
    calls = []

    def interrupt_after_two(done, total, movie, status, summary):
        calls.append(movie.pk)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tmdb_fetch_missing(client=TmdbClient.from_settings(), progress=interrupt_after_two)
    assert calls == [1, 2]
    assert sorted(Movie.objects.exclude(tmdb_status=Status.NOT_FETCHED).values_list("id", flat=True)) == [1, 2]

    before = len(catalog.requests)
    output = run()
    assert "TMDB: 1 fetched, 2 not found, 0 failed (4 requests)." in output
    # Movies 1 and 2 are not asked again; the image configuration is still cached.
    assert catalog.paths()[before:] == ["/3/find/tt0113277", "/3/movie/949", "/3/movie/424242", "/3/find/tt9999999"]


def test_the_run_stops_when_tmdb_is_down(fake_tmdb, settings):
    settings.TMDB_MAX_RETRIES = 0
    for movie_id in range(1, 10):
        make(movie_id, tmdb_id=1000 + movie_id, rating_count=100 - movie_id)
        fake_tmdb.script(f"/3/movie/{1000 + movie_id}", Scripted(503, "down"))
    fake_tmdb.script("/3/configuration", Scripted(503, "down"))

    out = StringIO()
    with pytest.raises(CommandError, match=f"TMDB was unavailable for {MAX_CONSECUTIVE_UNAVAILABLE} movies in a row"):
        call_command("fetch_tmdb", stdout=out)
    output = out.getvalue()

    assert f"TMDB: 0 fetched, 0 not found, {MAX_CONSECUTIVE_UNAVAILABLE} failed" in output
    assert Movie.objects.filter(tmdb_status=Status.FAILED).count() == MAX_CONSECUTIVE_UNAVAILABLE
    assert Movie.objects.filter(tmdb_status=Status.NOT_FETCHED).count() == 9 - MAX_CONSECUTIVE_UNAVAILABLE


def test_verbose_output_names_each_movie(catalog):
    output = run(verbosity=2)
    assert "[1/5] Film 1 (1995): found" in output
    assert "[4/5] Film 4 (1995): not_found" in output
