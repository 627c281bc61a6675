"""The production server: gunicorn's settings from the environment, and a real start on loopback."""
import json
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from recsys.ncf import artifacts
from tests.production.conftest import REPO_ROOT, run_python

CONF = REPO_ROOT / "deploy" / "gunicorn.conf.py"


def load_conf(monkeypatch, **env) -> dict:
    for name in ("BIND", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_MAX_REQUESTS",
                 "GUNICORN_CONTROL_SOCKET", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults_are_loopback_three_threaded_workers_logging_to_stdout(monkeypatch):
    conf = load_conf(monkeypatch)

    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] == 3
    assert (conf["worker_class"], conf["threads"]) == ("gthread", 4)  # a slow client holds a thread, not a worker
    assert conf["preload_app"] is False  # TensorFlow and the training thread must not cross fork()
    assert (conf["accesslog"], conf["errorlog"]) == ("-", "-")
    assert conf["max_requests"] == 0
    assert conf["wsgi_app"] == "recommender_site.wsgi:application"


def test_environment_overrides(monkeypatch):
    conf = load_conf(monkeypatch, PORT="9001", WEB_CONCURRENCY="5", GUNICORN_THREADS="4")

    assert conf["bind"] == ["127.0.0.1:9001"]
    assert conf["workers"] == 5
    assert (conf["threads"], conf["worker_class"]) == (4, "gthread")
    assert load_conf(monkeypatch, BIND="0.0.0.0:80", PORT="9001")["bind"] == ["0.0.0.0:80"]


def test_one_thread_is_the_sync_worker(monkeypatch):
    assert load_conf(monkeypatch, GUNICORN_THREADS="1")["worker_class"] == "sync"


def test_the_control_socket_lives_in_the_data_dir_or_is_off(monkeypatch, tmp_path):
    conf = load_conf(monkeypatch, DATA_DIR=str(tmp_path / "site-data"))
    assert conf["control_socket"] == str(tmp_path / "site-data" / "gunicorn.ctl")
    assert (tmp_path / "site-data").is_dir()
    assert load_conf(monkeypatch)["control_socket"] == str(REPO_ROOT / "data" / "gunicorn.ctl")
    assert load_conf(monkeypatch, GUNICORN_CONTROL_SOCKET=str(tmp_path / "g.ctl"))["control_socket"] == str(
        tmp_path / "g.ctl")
    off = load_conf(monkeypatch, GUNICORN_CONTROL_SOCKET="off")
    assert off["control_socket_disable"] is True and "control_socket" not in off


def test_a_bad_number_stops_with_the_variable_named(monkeypatch):
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be an integer, not 'lots'"):
        load_conf(monkeypatch, WEB_CONCURRENCY="lots")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _start_gunicorn(env: dict, stdout) -> tuple[subprocess.Popen, int, str]:
    """gunicorn with the project's config on a free loopback port: (process, port, base URL)."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF), "--bind", f"127.0.0.1:{port}"],
        cwd=REPO_ROOT, env=env, stdout=stdout, stderr=subprocess.STDOUT, text=True,
    )
    return server, port, f"http://127.0.0.1:{port}"


def _wait_until_listening(server: subprocess.Popen, base: str, timeout: float = 60) -> tuple[int, dict, bytes]:
    """The first answer of /healthz, once gunicorn listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _get(base + "/healthz")
        except OSError:
            assert server.poll() is None, server.stdout.read() if server.stdout else "gunicorn exited"
            assert time.monotonic() < deadline, f"gunicorn did not answer within {timeout:.0f} s"
            time.sleep(0.3)


def test_gunicorn_serves_health_pages_and_static_files_under_prod_settings(prod_sqlite_env, tmp_path):
    """Two real workers on 127.0.0.1: /healthz 200, a static file from whitenoise, the 404 page."""
    env = {**prod_sqlite_env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "WEB_CONCURRENCY": "2"}
    for command in (["manage.py", "migrate", "--noinput", "-v", "0"],
                    ["manage.py", "collectstatic", "--noinput", "-v", "0"]):
        result = run_python(command, env)
        assert result.returncode == 0, result.stderr
    server, _port, base = _start_gunicorn(env, subprocess.PIPE)
    try:
        status, _, body = _wait_until_listening(server, base)
        assert status == 200
        assert json.loads(body)["database"] == "ok"

        status, headers, body = _get(base + "/static/admin/css/base.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")

        status, _, body = _get(base + "/no-such-page/")
        assert status == 404 and b"<h1>Nothing here</h1>" in body
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0
    assert str(tmp_path / "data" / "gunicorn.ctl") in output  # the control socket, not in ~/.gunicorn
    assert ".gunicorn/gunicorn.ctl" not in output
    assert "Booting worker with pid" in output
    assert '"GET /healthz HTTP/1.1" 200' in output  # access log on stdout
    assert "Traceback" not in output


SLOW_REQUEST = (b"POST /rate/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\n\r\nm")


def test_three_slow_clients_do_not_stall_the_site(prod_sqlite_env, tmp_path):
    """Three sockets send headers, Content-Length: 1000 and one byte, then nothing. With the default
    threaded worker (here a single worker of 4 threads) /healthz still answers at once; three sync
    workers stalled completely."""
    env = {**prod_sqlite_env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "WEB_CONCURRENCY": "1"}
    env.pop("GUNICORN_THREADS", None)
    result = run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    assert result.returncode == 0, result.stderr
    server, port, base = _start_gunicorn(env, subprocess.PIPE)
    slow = []
    try:
        assert _wait_until_listening(server, base)[0] == 200
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(SLOW_REQUEST)
            slow.append(sock)
        time.sleep(1)  # let the worker take them
        started = time.monotonic()
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            status = response.status
        assert status == 200 and time.monotonic() - started < 5
    finally:
        for sock in slow:
            sock.close()
        server.terminate()
        server.communicate(timeout=30)


def _wait_for(predicate, timeout: float, what: str, poke=None):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        if poke:
            poke()
        time.sleep(0.2)


@pytest.mark.slow
def test_workers_share_one_trained_model_and_swap_in_a_new_one_without_downtime(prod_sqlite_env, tiny_dataset,
                                                                              tmp_path):
    """Two workers, no model: one trains under the lock, both load it; train_ncf's new model reaches
    both workers while every request keeps answering 200."""
    store = tmp_path / "models"
    log_path = tmp_path / "gunicorn.log"
    env = {**prod_sqlite_env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "WEB_CONCURRENCY": "2",
           "MOVIELENS_DIR": str(tiny_dataset), "MODEL_DIR": str(store), "RECOMMENDER_TRAIN_ON_STARTUP": "true",
           "RECOMMENDER_EPOCHS": "2", "RECOMMENDER_RELOAD_SECONDS": "0.5"}
    # /healthz queries a real table: a site without its tables is not healthy.
    result = run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    assert result.returncode == 0, result.stderr
    with open(log_path, "w") as log_file:
        server, _port, base = _start_gunicorn(env, log_file)
    log = lambda: log_path.read_text()  # noqa: E731
    statuses = []

    def poke():
        try:  # noqa: SIM105 (a comment says why the error is expected)
            statuses.append(_get(base + "/healthz")[0])
        except OSError:
            pass  # not listening yet

    try:
        _wait_for(lambda: artifacts.current_path(store) is not None, 240, "the first model", poke)
        first = artifacts.current_path(store).name
        _wait_for(lambda: log().count(f"recommender ready: {first}") == 2, 60, "both workers to load it", poke)
        assert len(list(store.glob("ncf-*"))) == 1  # trained once, not once per worker

        statuses.clear()
        trainer = subprocess.run(
            [sys.executable, "manage.py", "train_ncf", "--no-visitors", "--data", str(tiny_dataset), "--output", str(store),
             "--epochs", "1", "--seed", "5"],
            cwd=REPO_ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "recommender_site.settings.test"},
            capture_output=True, text=True, timeout=240,
        )
        assert trainer.returncode == 0, trainer.stderr
        second = artifacts.current_path(store).name
        assert second != first
        _wait_for(lambda: log().count(f"recommender ready: {second}") == 2, 60, "both workers to reload", poke)
        assert statuses and set(statuses) == {200}
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Traceback" not in log()


@pytest.mark.slow
def test_a_production_start_builds_the_content_index_and_serves_the_ranker_with_it(prod_sqlite_env, tiny_dataset,
                                                                                     tmp_path):
    """migrate + import + gunicorn, nothing else (no build_content by hand): two workers, one child
    process builds the index under the lock, and every worker then ranks with its content part."""
    env = {**prod_sqlite_env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "WEB_CONCURRENCY": "2",
           "MOVIELENS_DIR": str(tiny_dataset), "CACHE_DIR": str(tmp_path / "cache"),
           "RECOMMENDER_BUILD_CONTENT_ON_STARTUP": "true"}
    for command in (["manage.py", "migrate", "--noinput", "-v", "0"],
                    ["manage.py", "import_movielens", str(tiny_dataset), "-v", "0"]):
        result = run_python(command, env)
        assert result.returncode == 0, result.stderr
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log_file:
        server, _port, base = _start_gunicorn(env, log_file)
    health = {}

    def content_ready():
        try:
            health.update(json.loads(_get(base + "/healthz")[2]))
        except (OSError, ValueError):
            return False
        return health.get("content") == "ready"

    try:
        _wait_for(content_ready, 240, "the content index")
        # Every worker serves with it (20 requests reach both workers; the access log names the pids).
        answers = [_get(base + "/healthz") for _ in range(20)]
        assert {(status, json.loads(body)["content"]) for status, _, body in answers} == {(200, "ready")}
        _wait_for(lambda: "content index built" in log_path.read_text(), 60, "the builder to finish")
        log = log_path.read_text()
        assert log.count("content index built") == 1  # one builder, not one per worker
        assert log.count("building (log:") == 1
        assert (tmp_path / "cache" / "content" / "embeddings.npy").is_file()
        assert "Done in" in (tmp_path / "data" / "build_content.log").read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Traceback" not in log_path.read_text()
