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

from .conftest import REPO_ROOT, run_python

CONF = REPO_ROOT / "deploy" / "gunicorn.conf.py"


def load_conf(monkeypatch, **env) -> dict:
    for name in ("BIND", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_MAX_REQUESTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults_are_loopback_three_sync_workers_logging_to_stdout(monkeypatch):
    conf = load_conf(monkeypatch)

    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] == 3
    assert conf["worker_class"] == "sync"
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


def test_gunicorn_serves_health_pages_and_static_files_under_prod_settings(prod_sqlite_env):
    """Two real workers on 127.0.0.1: /healthz 200, a static file from whitenoise, the 404 page."""
    env = {**prod_sqlite_env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "WEB_CONCURRENCY": "2"}
    for command in (["manage.py", "migrate", "--noinput", "-v", "0"],
                    ["manage.py", "collectstatic", "--noinput", "-v", "0"]):
        result = run_python(command, env)
        assert result.returncode == 0, result.stderr
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF), "--bind", f"127.0.0.1:{port}"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, body = _get(base + "/healthz")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
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
    assert "Booting worker with pid" in output
    assert '"GET /healthz HTTP/1.1" 200' in output  # access log on stdout
    assert "Traceback" not in output
