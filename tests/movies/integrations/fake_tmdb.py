"""A fake TMDB API on 127.0.0.1 (real sockets, one thread per request) for the client's tests.

It serves /configuration, /movie/<id> and /find/<imdb id> from small dicts, checks the credentials
like TMDB does (401 for a wrong key), and can be told to misbehave per path: a queue of scripted
responses (status, body, headers, delay) is served first, then the normal answer. Every request is
recorded, so tests can count them.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GOOD_KEY = "test-key-123"
GOOD_TOKEN = "test-token-456"

CONFIGURATION = {
    "images": {
        "base_url": "http://image.fake.test/t/p/",
        "secure_base_url": "https://image.fake.test/t/p/",
        "poster_sizes": ["w92", "w154", "w185", "w342", "w500", "w780", "original"],
    },
    "change_keys": [],
}


@dataclass
class Scripted:
    status: int = 200
    body: bytes | str | dict | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering (for timeouts)


@dataclass
class Seen:
    path: str
    query: dict
    headers: dict


class FakeTmdb:
    def __init__(self):
        self.movies: dict[int, dict] = {}
        self.imdb: dict[str, int] = {}  # "tt0114709" -> tmdb id
        self.scripts: dict[str, list[Scripted]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/3"

    def start(self) -> FakeTmdb:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_movie(self, tmdb_id: int, *, imdb: str | None = None, **fields) -> None:
        self.movies[tmdb_id] = {
            "id": tmdb_id, "title": f"Movie {tmdb_id}", "poster_path": f"/poster{tmdb_id}.jpg",
            "overview": f"Overview of {tmdb_id}.", "release_date": "1995-10-30", "runtime": 81,
            "original_language": "en", **fields,
        }
        if imdb:
            self.imdb[imdb] = tmdb_id

    def script(self, path: str, *responses: Scripted) -> None:
        """Serve these responses, in order, for the next requests to ``path`` (e.g. "/3/movie/862")."""
        self.scripts.setdefault(path, []).extend(responses)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]

    # -- the HTTP side ------------------------------------------------------------------------
    def _answer(self, path: str, query: dict, headers: dict) -> Scripted:
        with self._lock:
            self.requests.append(Seen(path=path, query=query, headers=headers))
            queue = self.scripts.get(path)
            if queue:
                return queue.pop(0)
        key = query.get("api_key", [""])[0]
        auth = headers.get("authorization", "")
        if key != GOOD_KEY and auth != f"Bearer {GOOD_TOKEN}":
            return Scripted(401, {"status_code": 7, "status_message": "Invalid API key", "success": False})
        if path == "/3/configuration":
            return Scripted(200, CONFIGURATION)
        if path.startswith("/3/movie/"):
            try:
                movie = self.movies.get(int(path.rsplit("/", 1)[1]))
            except ValueError:
                movie = None
            if movie is None:
                return Scripted(404, {"status_code": 34, "status_message": "The resource you requested could not be found."})
            return Scripted(200, movie)
        if path.startswith("/3/find/"):
            if query.get("external_source") != ["imdb_id"]:
                return Scripted(400, {"status_message": "external_source missing"})
            tmdb_id = self.imdb.get(path.rsplit("/", 1)[1])
            results = [{"id": tmdb_id, "title": self.movies[tmdb_id]["title"]}] if tmdb_id else []
            return Scripted(200, {"movie_results": results, "person_results": [], "tv_results": []})
        return Scripted(404, {"status_message": "no such endpoint"})

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def do_GET(self):
                parts = urlsplit(self.path)
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = fake._answer(parts.path, parse_qs(parts.query), headers)
                if answer.delay:
                    time.sleep(answer.delay)
                body = answer.body
                if isinstance(body, dict):
                    body = json.dumps(body)
                if isinstance(body, str):
                    body = body.encode("utf-8")
                body = body or b""
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def log_message(self, *args):
                pass

        return Handler


# -- pytest fixtures (tests/movies/conftest.py offers them to every test module there) --
import pytest  # noqa: E402


@pytest.fixture
def fake_tmdb(settings, tmp_path):
    """A running FakeTmdb with settings pointing at it: fast retries, no rate limit, a tmp cache."""
    from movies.integrations.tmdb.client import clear_configuration_cache

    fake = FakeTmdb().start()
    settings.TMDB_API_URL = fake.url
    settings.TMDB_API_KEY = GOOD_KEY
    settings.TMDB_READ_ACCESS_TOKEN = ""
    settings.TMDB_MAX_RETRIES = 2
    settings.TMDB_BACKOFF_SECONDS = 0.01
    settings.TMDB_MAX_RETRY_WAIT_SECONDS = 0.05
    settings.TMDB_TIMEOUT_SECONDS = 2.0
    settings.TMDB_REQUESTS_PER_SECOND = 0
    settings.CACHE_DIR = tmp_path / "cache"
    clear_configuration_cache()
    yield fake
    clear_configuration_cache()
    fake.stop()
