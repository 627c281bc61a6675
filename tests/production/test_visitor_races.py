"""No lost writes: racing requests against a real gunicorn with three workers keep every rating.

The server runs under production settings on a fresh database of its own: a SQLite file, or a new
PostgreSQL database on the server DATABASE_URL points at (dropped afterwards). Every check goes
through HTTP, as a browser would see it.
"""
import os
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests.production.conftest import REPO_ROOT, run_python
from tests.production.test_gunicorn import CONF, _free_port

pytestmark = pytest.mark.slow

TRIALS = 6
FETCH = {"X-Requested-With": "fetch"}
SETUP = """
from django.contrib.auth.models import User
from movies.models import Movie
Movie.objects.bulk_create(Movie(id=i, title=f"Film {{i}}", rating_count=100 - i) for i in range(1, 21))
for n in range({trials}):
    User.objects.create_user(f"racer{{n}}", password="a-long-pass-phrase-9")  # no Visitor row, like createsuperuser
"""


@pytest.fixture
def database_url(tmp_path):
    """A fresh database for the server: PostgreSQL when DATABASE_URL names one, else SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    import psycopg

    name = f"race_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def server(prod_sqlite_env, database_url, tmp_path):
    env = {**prod_sqlite_env, "DATABASE_URL": database_url, "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
           "WEB_CONCURRENCY": "3", "MODEL_DIR": str(tmp_path / "models"),
           "MOVIELENS_DIR": str(tmp_path / "no-movielens")}
    for command in (["manage.py", "migrate", "--noinput", "-v", "0"],
                    ["manage.py", "collectstatic", "--noinput", "-v", "0"],
                    ["manage.py", "shell", "-c", SETUP.format(trials=TRIALS)]):
        result = run_python(command, env)
        assert result.returncode == 0, result.stderr
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONF), "--bind", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(base + "/healthz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):  # not listening, or workers still booting
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within 120 s"
                time.sleep(0.3)
        # Every worker answers once before the trials, so none is still importing when they race.
        for _ in range(6):
            requests.get(base + "/healthz", timeout=30)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in log_path.read_text(), log_path.read_text()[-4000:]


def _browser(base: str) -> requests.Session:
    """A browser that has loaded the home page: it holds the CSRF cookie (and any session cookie)."""
    browser = requests.Session()
    assert browser.get(base + "/", timeout=20).status_code == 200
    return browser


def _clone(browser: requests.Session) -> requests.Session:
    """Another tab of the same browser: the same cookies, its own connection."""
    tab = requests.Session()
    tab.cookies.update(browser.cookies)
    return tab


def _rate(browser: requests.Session, base: str, movie_id: int, stars: float = 4.0) -> requests.Response:
    return browser.post(
        base + "/rate/", data={"movie_id": movie_id, "rating": stars},
        headers={**FETCH, "X-CSRFToken": browser.cookies["csrftoken"], "Referer": base + "/"}, timeout=20,
    )


def _together(*calls) -> list:
    """Run the calls at the same moment, each in its own thread; their results (or errors) in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except requests.RequestException as error:  # a timeout or a dropped connection
            results[index] = error

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _first_ratings_trial(server: str) -> bool:
    browser = _browser(server)
    tabs = [_clone(browser), _clone(browser)]
    answers = _together(lambda: _rate(tabs[0], server, 1), lambda: _rate(tabs[1], server, 2))
    for tab in tabs:  # the browser keeps whichever cookies came back last
        browser.cookies.update(tab.cookies)
    third = _rate(browser, server, 3)
    statuses = [getattr(answer, "status_code", None) for answer in (*answers, third)]
    return statuses == [200, 200, 200] and third.json()["rated_count"] == 3


def _login_merge_trial(server: str, username: str) -> bool:
    browser = _browser(server)
    for movie_id in (1, 2, 3):
        assert _rate(browser, server, movie_id).status_code == 200
    login = browser.post(
        server + "/accounts/login/", data={"username": username, "password": "a-long-pass-phrase-9"},
        headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": server + "/accounts/login/"},
        allow_redirects=False, timeout=20,
    )
    assert login.status_code == 302, login.text
    tabs = [_clone(browser) for _ in range(3)]
    pages = _together(*(lambda tab=tab: tab.get(server + "/", timeout=20) for tab in tabs))
    for tab in tabs:
        browser.cookies.update(tab.cookies)
    fourth = _rate(browser, server, 4)
    statuses = [getattr(answer, "status_code", None) for answer in (*pages, fourth)]
    return statuses == [200] * 4 and fourth.json()["rated_count"] == 4


def _kept(trial) -> bool:
    """One trial's verdict: a request that errs or never answers counts as a lost write."""
    try:
        return trial()
    except (requests.RequestException, ValueError):
        return False


def test_two_first_ratings_in_parallel_from_a_new_session_are_both_kept(server):
    """A brand-new browser sends two ratings at once: both are answered 200 and both stay."""
    kept = [_kept(lambda: _first_ratings_trial(server)) for _ in range(TRIALS)]
    print(f"first-rating race: {sum(kept)} of {TRIALS} trials kept every rating")
    assert kept == [True] * TRIALS


def test_an_account_without_a_visitor_signing_in_with_overlapping_page_loads_keeps_every_rating(server):
    """Anonymous ratings, then the stock login and three page loads at once: nothing is lost, no 500."""
    kept = [_kept(lambda name=f"racer{trial}": _login_merge_trial(server, name)) for trial in range(TRIALS)]
    print(f"login merge race: {sum(kept)} of {TRIALS} trials kept every rating")
    assert kept == [True] * TRIALS
