"""Gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py recommender_site.wsgi``.

Everything comes from the environment so one file serves every host:

* ``BIND`` (default ``127.0.0.1:$PORT``, ``PORT`` default 8000) — loopback unless told
  otherwise; put a TLS-terminating proxy in front for the internet.
* ``WEB_CONCURRENCY`` (default 3) worker processes, ``GUNICORN_THREADS`` (default 4)
  threads each (more than 1 is the ``gthread`` worker; 1 is the ``sync`` worker). Threads,
  because a sync worker is held for as long as a client takes to send its body: three
  clients that sent headers and one byte stalled all three sync workers. A thread per
  request raises that bar to workers x threads; only a buffering proxy removes it, so
  production runs behind one (docs/production.md has the nginx block).
* ``GUNICORN_CONTROL_SOCKET`` (default ``$DATA_DIR/gunicorn.ctl``, ``off`` disables it):
  gunicorn's control socket, kept beside the site's data instead of gunicorn's shared
  per-user default (``~/.gunicorn/``), where two sites under one user would collide.
* ``GUNICORN_TIMEOUT`` (default 60 s), ``GUNICORN_MAX_REQUESTS`` (default 0 = never
  recycle a worker; memory is meant to stay flat without it).

Why no ``preload_app``: TensorFlow starts thread pools when it is imported and they do
not survive ``fork()``; a master that imported it would hand every worker a broken
runtime, and a background training thread started in the master would not exist in the
workers at all. Each worker therefore imports Django (and, lazily, the model) itself.
The recommender's file lock makes one worker train while the others wait and then load
the same files, so a cold start trains once, not once per worker.
"""
import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value.strip() else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer, not {value!r}") from None


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender_site.settings.prod")
# One BLAS/OpenMP thread per worker: the workers already use every core, and OpenBLAS's
# spinning threads on an oversubscribed CPU made scoring 62k movies 4-5x slower (232 ms vs
# 50 ms p50 measured on the 2-core box under load). Set before the workers import NumPy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

wsgi_app = "recommender_site.wsgi:application"
bind = [os.environ.get("BIND") or f"127.0.0.1:{_env_int('PORT', 8000)}"]
workers = _env_int("WEB_CONCURRENCY", 3)
threads = _env_int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _env_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
preload_app = False

_control = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
if _control.lower() in {"off", "false", "0", "no"}:
    control_socket_disable = True
else:
    _data_dir = os.environ.get("DATA_DIR") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                           "data")
    control_socket = _control or os.path.join(_data_dir, "gunicorn.ctl")
    os.makedirs(os.path.dirname(control_socket), exist_ok=True)

# Logs go to stdout/stderr; the process manager (systemd, docker) collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The path without its query string (%(U)s, not %(r)s): a search term is the visitor's, not the log's.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms pid=%(p)s'
# The proxy in front sets X-Forwarded-*; trust it only from loopback by default.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def post_worker_init(worker):
    """Start the recommender in each worker before it takes traffic.

    ``movies.engine.recommender.ensure_started()`` starts one background thread that loads the saved
    model, or (in exactly one worker, under the model store's file lock) trains one while the
    others wait and then load it; requests meanwhile get the popularity fallback. Calling it
    here, after the fork, keeps TensorFlow and that thread inside the worker that owns them,
    and does not depend on how gunicorn was launched (``gunicorn`` or ``python -m gunicorn``).
    """
    from movies.engine import recommender

    start = getattr(recommender, "ensure_started", None)
    if callable(start):
        try:
            start()
        except Exception:
            worker.log.exception("recommender start-up failed; serving the popularity fallback")
