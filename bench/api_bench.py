"""HTTP latency of ``POST /api/recommendations`` against a real server, next to ``GET /healthz``.

    .venv/bin/python -m bench.api_bench                 # ml-latest-small, 300 requests each
    .venv/bin/python -m bench.api_bench --requests 1000 --epochs 5 --content-dir data/cache/content

Builds a throw-away data directory (SQLite, ml-latest-small imported, ``train_ncf --epochs``),
optionally copies a built content index, starts gunicorn with the production settings and one
sync worker on 127.0.0.1, waits until the model is loaded, then times requests one after
another, then (with ``--load-seconds``, needs ``wrk``: ``apt-get install wrk``) throughput under
``--connections`` concurrent clients. Prints a table of p50/p90/p99 per request kind and the
throughput table; ``/healthz`` (a database query) is the baseline measured in the same run, so
the difference is the recommender's and the API's own time, and the ratio says how close a
recommendation comes to the cheapest request the same workers can answer.

    .venv/bin/python -m bench.api_bench --workers 2 --load-seconds 15 --connections 16
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)


def percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return " / ".join(f"{np.percentile(ms, q):.1f}" for q in (50, 90, 99))


WRK_POST = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
"""


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, *, seconds: int, connections: int, body: dict | None, work: Path) -> dict:
    """Requests/s, p50 and p99 (ms) and errors of ``wrk`` against ``url`` (a POST of ``body``)."""
    command = ["wrk", "--latency", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds}s", url]
    if body is not None:
        script = work / "post.lua"
        script.write_text(WRK_POST % json.dumps(body))
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s*(50|99)%\s+(\S+)\s*$", out, re.M))
    if set(latency) != {"50", "99"}:
        sys.exit(f"api bench: could not read wrk's latency distribution:\n{out}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _wrk_ms(latency["50"]), "p99": _wrk_ms(latency["99"]), "errors": errors}


RATINGS = [{"movie_id": m, "rating": r} for m, r in
           [(1, 4.0), (260, 5.0), (296, 4.5), (318, 5.0), (356, 3.5), (480, 4.0), (527, 4.5), (589, 4.0),
            (593, 5.0), (858, 4.5), (1196, 5.0), (1198, 4.0), (2571, 5.0), (2959, 4.5), (4993, 4.0),
            (5952, 4.0), (7153, 4.5), (58559, 5.0), (79132, 4.5), (109487, 4.0)]]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get(
        "MOVIELENS_DIR", REPO.parent / "shared" / "data" / "ml-latest-small")))
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--content-dir", type=Path, default=REPO / "data" / "cache" / "content",
                    help="A built content index to copy in (skipped when absent).")
    ap.add_argument("--workers", type=int, default=1, help="gunicorn sync workers (default: %(default)s).")
    ap.add_argument("--load-seconds", type=int, default=0, help="Also measure throughput with wrk for this long.")
    ap.add_argument("--connections", type=int, default=16, help="Concurrent clients of the throughput run.")
    args = ap.parse_args()
    if args.load_seconds and shutil.which("wrk") is None:
        sys.exit("api bench: --load-seconds needs wrk (apt-get install wrk)")
    return args


def prepare(args, work: Path) -> tuple[dict, bool]:
    """A throw-away site: SQLite, the data imported, a model trained, the content index copied in."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recommender_site.settings.prod",
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
           "DJANGO_SECURE_SSL_REDIRECT": "false", "DJANGO_SECURE_COOKIES": "false",
           "DATA_DIR": str(work / "data"), "MODEL_DIR": str(work / "models"), "CACHE_DIR": str(work / "cache"),
           "DJANGO_STATIC_ROOT": str(work / "static"), "MOVIELENS_DIR": str(args.data),
           "DATABASE_URL": f"sqlite:///{work / 'data' / 'db.sqlite3'}", "WEB_CONCURRENCY": str(args.workers),
           "GUNICORN_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           # Nothing else may run beside the measured requests.
           "RECOMMENDER_BUILD_CONTENT_ON_STARTUP": "false", "RECOMMENDER_RETRAIN_AFTER_RATINGS": "0"}
    (work / "data").mkdir(parents=True)
    print(f"api bench: work dir {work}, {args.data}", flush=True)
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "import_movielens", str(args.data), "--verbosity", "0")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    content = args.content_dir.is_dir() and any(args.content_dir.iterdir())
    if content:
        shutil.copytree(args.content_dir, work / "cache" / "content")
    manage(env, "train_ncf", "--epochs", str(args.epochs), "--verbosity", "0")
    return env, content


def wait_for_model(session, base: str) -> dict:
    deadline = time.monotonic() + 120
    kind = None
    while time.monotonic() < deadline:
        try:
            reply = session.post(f"{base}/api/recommendations", json={"ratings": RATINGS[:3]}, timeout=5)
            kind = reply.json()["model"]
            if kind["status"] == "ready":
                return kind
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.5)
    sys.exit(f"api bench: the server did not load the model in 120 s (last: {kind})")


def latency_table(session, base: str, requests_each: int) -> list[tuple[str, str]]:
    kinds = {
        "GET /healthz (baseline)": lambda: session.get(f"{base}/healthz", timeout=10),
        "POST /api/recommendations, 0 ratings": lambda: session.post(
            f"{base}/api/recommendations", json={"ratings": [], "n": 10}, timeout=10),
        "POST /api/recommendations, 20 ratings": lambda: session.post(
            f"{base}/api/recommendations", json={"ratings": RATINGS, "n": 10}, timeout=10),
        "POST /api/recommendations, 20 ratings, diversify=false": lambda: session.post(
            f"{base}/api/recommendations", json={"ratings": RATINGS, "n": 10, "diversify": False}, timeout=10),
    }
    rows = []
    for name, call in kinds.items():
        for _ in range(20):  # warm-up
            call().raise_for_status()
        times = []
        for _ in range(requests_each):
            started = time.perf_counter()
            reply = call()
            times.append(time.perf_counter() - started)
            reply.raise_for_status()
        rows.append((name, percentiles(times)))
    return rows


def throughput_table(base: str, args, work: Path) -> None:
    load = {"GET /healthz": (f"{base}/healthz", None),
            "POST /api/recommendations, 5 ratings": (f"{base}/api/recommendations", {"ratings": RATINGS[:5], "n": 10}),
            "POST /api/recommendations, 20 ratings": (f"{base}/api/recommendations", {"ratings": RATINGS, "n": 10})}
    results = {name: wrk(url, seconds=args.load_seconds, connections=args.connections, body=body, work=work)
               for name, (url, body) in load.items()}
    baseline = results["GET /healthz"]["rps"]
    print(f"\nthroughput: wrk, {args.connections} connections, {args.load_seconds} s each, "
          f"{args.workers} gunicorn sync worker(s)")
    print("\n| request | requests/s | p50 (ms) | p99 (ms) | errors | throughput / healthz |\n|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} | "
              f"{r['rps'] / baseline:.2f} |")


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="api-bench-"))
    env, content = prepare(args, work)
    port = free_port()
    server = subprocess.Popen([PY, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                               "recommender_site.wsgi:application"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    try:
        kind = wait_for_model(session, base)
        rows = latency_table(session, base, args.requests)
        print(f"\nmodel: {json.dumps(kind)}; content index: {'on' if content else 'off'}; "
              f"{args.requests} sequential requests each, {args.workers} gunicorn sync worker(s), "
              f"{os.cpu_count()} CPUs")
        print("\n| request | p50 / p90 / p99 (ms) |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        if args.load_seconds:
            throughput_table(base, args, work)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
