"""The TMDB client against a fake TMDB on 127.0.0.1: auth, retries, timeouts, rate limit, image cache."""
import json
import os
import time
from datetime import date

import pytest

from movies.integrations.tmdb import client as tmdb
from movies.integrations.tmdb.client import (
    ImageConfiguration,
    MovieDetails,
    TmdbAuthError,
    TmdbClient,
    TmdbError,
    TmdbNotConfigured,
    TmdbNotFound,
    TmdbUnavailable,
    TokenBucket,
)
from tests.movies.integrations.fake_tmdb import GOOD_KEY, GOOD_TOKEN, Scripted


class Sleeps(list):
    """A sleep() that records how long the client wanted to wait, and does not wait."""

    def __call__(self, seconds):
        self.append(round(seconds, 6))


@pytest.fixture
def sleeps():
    return Sleeps()


def client_for(fake, sleeps=None, **options) -> TmdbClient:
    defaults = {"api_key": GOOD_KEY, "base_url": fake.url, "requests_per_second": 0, "max_retries": 2,
                    "backoff": 0.25, "max_retry_wait": 10.0, "read_timeout": 2.0, "connect_timeout": 2.0}
    defaults.update(options)
    if sleeps is not None:
        defaults["sleep"] = sleeps
    return TmdbClient(**defaults)


def test_movie_details_are_parsed_and_the_key_is_sent_as_a_parameter(fake_tmdb, sleeps):
    fake_tmdb.add_movie(862, poster_path="/rhIRbceoE9lR4veEXuwCC2wARtG.jpg", overview="Woody the cowboy.",
                        release_date="1995-10-30", runtime=81, original_language="en")
    client = client_for(fake_tmdb, sleeps)

    details = client.movie_details(862)

    assert details == MovieDetails(tmdb_id=862, poster_path="/rhIRbceoE9lR4veEXuwCC2wARtG.jpg",
                                   overview="Woody the cowboy.", release_date=date(1995, 10, 30),
                                   runtime=81, original_language="en")
    [seen] = fake_tmdb.requests
    assert seen.path == "/3/movie/862"
    assert seen.query == {"api_key": [GOOD_KEY]}
    assert "authorization" not in seen.headers
    assert client.requests_made == 1 and sleeps == []


def test_a_read_access_token_goes_in_a_bearer_header_not_the_url(fake_tmdb):
    fake_tmdb.add_movie(862)
    client = client_for(fake_tmdb, api_key="", read_access_token=GOOD_TOKEN)

    assert client.movie_details(862).tmdb_id == 862
    [seen] = fake_tmdb.requests
    assert seen.headers["authorization"] == f"Bearer {GOOD_TOKEN}"
    assert seen.query == {}


def test_odd_detail_values_become_blanks(fake_tmdb):
    fake_tmdb.add_movie(5, poster_path=None, overview=None, release_date="", runtime=0, original_language=None)
    details = client_for(fake_tmdb).movie_details(5)
    assert details == MovieDetails(tmdb_id=5, poster_path="", overview="", release_date=None, runtime=None,
                                   original_language="")


def test_404_raises_not_found_without_retrying(fake_tmdb, sleeps):
    client = client_for(fake_tmdb, sleeps)
    with pytest.raises(TmdbNotFound):
        client.movie_details(999)
    assert fake_tmdb.paths() == ["/3/movie/999"] and sleeps == []


def test_401_bad_key_raises_auth_error_without_retrying(fake_tmdb, sleeps):
    fake_tmdb.add_movie(862)
    client = client_for(fake_tmdb, sleeps, api_key="wrong-key")
    with pytest.raises(TmdbAuthError, match="HTTP 401"):
        client.movie_details(862)
    assert len(fake_tmdb.requests) == 1 and sleeps == []


def test_429_honours_retry_after_then_succeeds(fake_tmdb, sleeps):
    fake_tmdb.add_movie(862)
    fake_tmdb.script("/3/movie/862", Scripted(429, {"status_code": 25}, {"Retry-After": "3"}))
    client = client_for(fake_tmdb, sleeps)

    assert client.movie_details(862).tmdb_id == 862
    assert sleeps == [3.0]  # Retry-After, not the 0.25 s backoff
    assert fake_tmdb.paths() == ["/3/movie/862", "/3/movie/862"]


def test_retry_after_really_waits(fake_tmdb):
    """With the real sleep, a Retry-After of one second delays the retry by at least one second."""
    fake_tmdb.add_movie(862)
    fake_tmdb.script("/3/movie/862", Scripted(429, {}, {"Retry-After": "1"}))
    client = client_for(fake_tmdb)
    started = time.monotonic()
    assert client.movie_details(862).tmdb_id == 862
    assert time.monotonic() - started >= 1.0


def test_retry_after_is_capped(fake_tmdb, sleeps):
    fake_tmdb.add_movie(862)
    fake_tmdb.script("/3/movie/862", Scripted(429, {}, {"Retry-After": "3600"}))
    client_for(fake_tmdb, sleeps, max_retry_wait=2.5).movie_details(862)
    assert sleeps == [2.5]


def test_500_then_success_backs_off_once(fake_tmdb, sleeps):
    fake_tmdb.add_movie(862)
    fake_tmdb.script("/3/movie/862", Scripted(500, "oops"))
    assert client_for(fake_tmdb, sleeps).movie_details(862).tmdb_id == 862
    assert sleeps == [0.25]
    assert len(fake_tmdb.requests) == 2


def test_persistent_5xx_gives_up_with_exponential_backoff(fake_tmdb, sleeps):
    fake_tmdb.script("/3/movie/862", *[Scripted(503, "down")] * 4)
    client = client_for(fake_tmdb, sleeps, max_retries=3)
    with pytest.raises(TmdbUnavailable, match=r"after 4 attempts \(last: HTTP 503\)"):
        client.movie_details(862)
    assert sleeps == [0.25, 0.5, 1.0]
    assert len(fake_tmdb.requests) == 4


def test_a_read_timeout_is_retried_then_reported(fake_tmdb, sleeps):
    fake_tmdb.add_movie(862)
    fake_tmdb.script("/3/movie/862", Scripted(200, {"id": 862}, delay=1.0), Scripted(200, {"id": 862}, delay=1.0))
    client = client_for(fake_tmdb, sleeps, read_timeout=0.2, max_retries=1)
    started = time.monotonic()
    with pytest.raises(TmdbUnavailable, match=r"timed out after 0.2s"):
        client.movie_details(862)
    assert time.monotonic() - started < 1.5  # two 0.2 s timeouts, not two 1 s answers
    assert len(fake_tmdb.requests) == 2 and sleeps == [0.25]


def test_malformed_json_is_a_tmdb_error_and_not_retried(fake_tmdb, sleeps):
    fake_tmdb.script("/3/movie/862", Scripted(200, '{"id": 862, "poster_path": '))
    with pytest.raises(TmdbError, match="malformed JSON") as caught:
        client_for(fake_tmdb, sleeps).movie_details(862)
    assert type(caught.value) is TmdbError
    assert len(fake_tmdb.requests) == 1 and sleeps == []


def test_json_that_is_not_an_object_is_a_tmdb_error(fake_tmdb):
    fake_tmdb.script("/3/movie/862", Scripted(200, "[1, 2]"))
    with pytest.raises(TmdbError, match="not an object"):
        client_for(fake_tmdb).movie_details(862)


def test_find_by_imdb_id_pads_the_id_and_returns_the_tmdb_id(fake_tmdb):
    fake_tmdb.add_movie(862, imdb="tt0114709")
    client = client_for(fake_tmdb)
    assert client.find_by_imdb_id(114709) == 862
    assert client.find_by_imdb_id(1) is None
    assert fake_tmdb.paths() == ["/3/find/tt0114709", "/3/find/tt0000001"]
    assert fake_tmdb.requests[0].query["external_source"] == ["imdb_id"]


def test_a_refused_connection_is_unavailable_and_the_key_is_not_in_the_message():
    client = TmdbClient(api_key="secret-key-789", base_url="http://127.0.0.1:9/3", max_retries=1,
                        backoff=0, requests_per_second=0, connect_timeout=0.5)
    with pytest.raises(TmdbUnavailable) as caught:
        client.movie_details(1)
    assert "connection failed" in str(caught.value)
    assert "secret-key-789" not in str(caught.value)


def test_no_credentials_is_a_clear_error(settings):
    settings.TMDB_API_KEY = ""
    settings.TMDB_READ_ACCESS_TOKEN = ""
    with pytest.raises(TmdbNotConfigured, match="set TMDB_API_KEY"):
        TmdbClient.from_settings()


def test_from_settings_reads_every_setting(settings):
    settings.TMDB_API_KEY = "k"
    settings.TMDB_API_URL = "http://127.0.0.1:1234/3/"
    settings.TMDB_TIMEOUT_SECONDS = 7.0
    settings.TMDB_CONNECT_TIMEOUT_SECONDS = 1.5
    settings.TMDB_MAX_RETRIES = 6
    settings.TMDB_BACKOFF_SECONDS = 0.1
    settings.TMDB_MAX_RETRY_WAIT_SECONDS = 9.0
    settings.TMDB_REQUESTS_PER_SECOND = 4.0
    client = TmdbClient.from_settings()
    assert (client.base_url, client.timeout, client.max_retries, client.backoff, client.max_retry_wait) == (
        "http://127.0.0.1:1234/3", (1.5, 7.0), 6, 0.1, 9.0)
    assert client.bucket.rate == 4.0


@pytest.mark.parametrize("header, expected", [("2", 2.0), ("0", 0.0), ("-5", 0.0), ("soon", None), ("", None),
                                              (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_parsing(header, expected):
    assert tmdb.retry_after_seconds(header) == expected


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_token_bucket_allows_a_burst_then_spaces_requests():
    clock = FakeClock()
    bucket = TokenBucket(rate=4.0, capacity=2, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.25, 0.25, 0.25])
    clock.now += 10  # idle: the bucket refills to its capacity, no more
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.25])


def test_token_bucket_with_no_rate_never_waits():
    bucket = TokenBucket(rate=0, sleep=lambda s: pytest.fail("slept"))
    assert [bucket.acquire() for _ in range(100)] == [0.0] * 100


def test_the_client_rate_limit_spaces_real_requests(fake_tmdb):
    fake_tmdb.add_movie(862)
    client = client_for(fake_tmdb, requests_per_second=20)  # a burst of 20, then one per 50 ms
    started = time.monotonic()
    for _ in range(25):
        client.movie_details(862)
    assert time.monotonic() - started >= 5 * 0.05 - 0.02


# -- image configuration cache ---------------------------------------------------------------
def test_configuration_is_fetched_once_and_cached_in_a_file(fake_tmdb, settings):
    client = client_for(fake_tmdb)
    first = tmdb.image_configuration_refresh(client=client)
    assert first.base_url == "https://image.fake.test/t/p/"
    assert first.poster_sizes[:2] == ("w92", "w154")
    saved = json.loads((settings.CACHE_DIR / "tmdb_configuration.json").read_text())
    assert saved["base_url"] == "https://image.fake.test/t/p/"

    tmdb.clear_configuration_cache()
    again = tmdb.image_configuration_refresh(client=client_for(fake_tmdb))
    assert again == first
    assert fake_tmdb.paths() == ["/3/configuration"]


def test_configuration_older_than_the_ttl_is_fetched_again(fake_tmdb, settings):
    settings.TMDB_CONFIGURATION_TTL_SECONDS = 60
    tmdb.image_configuration_refresh(client=client_for(fake_tmdb))
    path = settings.CACHE_DIR / "tmdb_configuration.json"
    data = json.loads(path.read_text())
    data["fetched_at"] -= 61
    path.write_text(json.dumps(data))
    tmdb.image_configuration_refresh(client=client_for(fake_tmdb))
    assert fake_tmdb.paths() == ["/3/configuration", "/3/configuration"]


class PosterOnly:
    def __init__(self, poster_path):
        self.poster_path = poster_path


def test_poster_url_uses_the_cached_configuration_and_never_the_network(fake_tmdb):
    tmdb.image_configuration_refresh(client=client_for(fake_tmdb))
    tmdb.clear_configuration_cache()  # a fresh process: only the file is there
    fake_tmdb.stop()
    assert tmdb.poster_url(PosterOnly("/abc.jpg")) == "https://image.fake.test/t/p/w342/abc.jpg"
    assert tmdb.poster_url(PosterOnly("/abc.jpg"), size="w500") == "https://image.fake.test/t/p/w500/abc.jpg"
    # A size TMDB does not offer becomes the next larger one.
    assert tmdb.poster_url(PosterOnly("abc.jpg"), size="w300") == "https://image.fake.test/t/p/w342/abc.jpg"
    assert tmdb.poster_url(PosterOnly(""), size="w342") == ""
    assert tmdb.poster_url(PosterOnly(None)) == ""


def test_poster_url_without_a_cache_uses_the_default_base(settings, tmp_path):
    settings.CACHE_DIR = tmp_path
    settings.TMDB_IMAGE_BASE_URL = "https://image.tmdb.org/t/p"
    tmdb.clear_configuration_cache()
    try:
        assert tmdb.poster_url(PosterOnly("/x.jpg"), size="w154") == "https://image.tmdb.org/t/p/w154/x.jpg"
        (tmp_path / "tmdb_configuration.json").write_text("{not json")
        tmdb.clear_configuration_cache()
        assert tmdb.poster_url(PosterOnly("/x.jpg")) == "https://image.tmdb.org/t/p/w342/x.jpg"
    finally:
        tmdb.clear_configuration_cache()


def test_best_size_falls_back_to_original_beyond_the_largest_width():
    config = ImageConfiguration(base_url="https://i/", poster_sizes=("w92", "w154", "original"))
    assert config.best_size("w1000") == "original"
    assert config.best_size("w100") == "w154"
    assert ImageConfiguration(base_url="https://i/", poster_sizes=()).best_size("w342") == "w342"


def test_the_configuration_file_is_replaced_atomically(fake_tmdb, settings):
    tmdb.image_configuration_refresh(client=client_for(fake_tmdb))
    tmdb.image_configuration_refresh(client=client_for(fake_tmdb), force=True)
    assert sorted(os.listdir(settings.CACHE_DIR)) == ["tmdb_configuration.json"]  # no temp files left
