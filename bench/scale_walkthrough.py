"""A site on a big MovieLens-format set, end to end: import, first training, serving, on this machine.

    python -m bench.scale_walkthrough --data /tmp/synthetic-ml-32m --site /tmp/site-32m
    python -m bench.scale_walkthrough --data ../shared/data/ml-latest-small --site /tmp/site-small --epochs 2

What a person setting the site up does, step by step, each step a child process whose wall time
and peak RSS (``ru_maxrss`` from ``os.wait4``) are measured:

1. ``manage.py migrate`` into a fresh SQLite database under ``--site`` (DATA_DIR);
2. ``manage.py import_movielens`` of ``--data`` (the catalog, links, tags, and the ratings the
   analytics pages and the site's recommendations for MovieLens users read);
3. ``manage.py runserver --noreload``: the server finds no model and trains one in the background
   (``RECOMMENDER_EPOCHS``, default here 1), answering with popular picks meanwhile. While it
   trains, the script asks for the home page and for recommendations over the API every
   ``--every`` seconds and records status codes, latency and what ``/healthz`` says. When the
   model is ready it asks a few more times, then stops the server.

The content index is not built here (``RECOMMENDER_BUILD_CONTENT_ON_STARTUP=0``): on a
synthetic set its titles are random words, and its build would share the two cores with the
training. Synthetic data measures time and memory only.

The printed table has one row per step and one per probe phase (during training / after).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from bench.training_bench import REPO, run_child


def run_step(command: list[str], env: dict) -> dict:
    wall, peak_kib, output = run_child(command, REPO, env)
    return {"wall_s": wall, "peak_rss_mib": peak_kib / 1024, "output": output}


def fetch(url: str, data: bytes | None = None, opener=None) -> tuple[int, float, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    started = time.perf_counter()
    try:
        with (opener.open if opener else urllib.request.urlopen)(request, timeout=60) as response:
            body, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, time.perf_counter() - started, b""
    return status, time.perf_counter() - started, body


def popular_movie_ids(base: str, n: int) -> list[int]:
    """Movies to rate, from the API's own anonymous recommendations (popular picks)."""
    status, _, body = fetch(f"{base}/api/recommendations", json.dumps({"n": n}).encode())
    if status != 200:
        return []
    return [item["movie_id"] for item in json.loads(body)["recommendations"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="MovieLens-format directory")
    parser.add_argument("--site", type=Path, required=True, help="DATA_DIR of the site (emptied first)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between probes while training")
    parser.add_argument("--limit", type=float, default=7200.0, help="give up waiting for the model after this")
    args = parser.parse_args()
    if args.site.resolve().is_relative_to(REPO):
        sys.exit("--site must be outside the repository.")
    shutil.rmtree(args.site, ignore_errors=True)
    args.site.mkdir(parents=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recommender_site.settings.dev", "DATA_DIR": str(args.site),
           "MOVIELENS_DIR": str(args.data.resolve()), "RECOMMENDER_EPOCHS": str(args.epochs),
           "RECOMMENDER_BUILD_CONTENT_ON_STARTUP": "0", "PYTHONUNBUFFERED": "1"}
    py = sys.executable
    rows = []
    for name, command in (("migrate", [py, "manage.py", "migrate", "--noinput", "-v", "0"]),
                          ("import_movielens", [py, "manage.py", "import_movielens"])):
        print(f"{name} ...", flush=True)
        result = run_step(command, env)
        rows.append((name, result["wall_s"], result["peak_rss_mib"], ""))
        print(f"  {result['wall_s']:.1f} s, peak {result['peak_rss_mib']:,.0f} MiB", flush=True)

    base = f"http://127.0.0.1:{args.port}"
    print("runserver (trains in the background) ...", flush=True)
    log = open(args.site / "server.log", "wb")  # noqa: SIM115 (open for the server's whole life)
    started = time.perf_counter()
    server = subprocess.Popen([py, "manage.py", "runserver", "--noreload", f"127.0.0.1:{args.port}"], cwd=REPO,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    usage_box = {}

    def reap():
        _, status, usage = os.wait4(server.pid, 0)
        usage_box.update(status=status, rss=usage.ru_maxrss / 1024)

    reaper = threading.Thread(target=reap, daemon=True)
    reaper.start()
    try:
        rows += _probe(server, base, started, args)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        reaper.join(timeout=10)
        log.close()
    if usage_box.get("rss"):
        rows.append(("runserver: the server process over its whole life", float("nan"), usage_box["rss"],
                     "peak RSS: training in its background thread plus serving"))
    print()
    print("| step | wall s (probes: API p50 ms) | peak RSS MiB | notes |")
    print("|---|---:|---:|---|")
    for name, wall, rss, note in rows:
        wall_text = "-" if wall != wall else f"{wall:,.1f}"
        print(f"| {name} | {wall_text} | {'-' if rss != rss else f'{rss:,.0f}'} | {note} |")
    print(f"\nserver log: {args.site / 'server.log'}")


def _probe(server, base: str, started: float, args) -> list[tuple]:
    """Probe the starting server until its model is ready (and 20 times more); the table rows."""
    rows = []
    while fetch(f"{base}/healthz")[0] == 0:
        if time.perf_counter() - started > 300:
            sys.exit("the server did not answer within 5 minutes")
        time.sleep(0.5)
    up = time.perf_counter() - started
    print(f"  answering after {up:.1f} s", flush=True)
    history = [{"movie_id": m, "rating": 4.5 - (k % 4)} for k, m in enumerate(popular_movie_ids(base, 20))]
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    probes = {"training": [], "ready": []}
    model_ready_at = None
    while True:
        health_status, _, health = fetch(f"{base}/healthz")
        model = json.loads(health).get("model", {}).get("status") if health_status in (200, 503) and health else None
        phase = "ready" if model == "ready" else "training"
        if phase == "ready" and model_ready_at is None:
            model_ready_at = time.perf_counter() - started
            print(f"  model ready after {model_ready_at:.0f} s", flush=True)
        home = fetch(f"{base}/", opener=opener)
        api = fetch(f"{base}/api/recommendations", json.dumps({"ratings": history, "n": 10}).encode())
        kind = json.loads(api[2]).get("model", {}).get("kind") if api[0] == 200 else None
        probes[phase].append({"home": home[:2], "api": api[:2], "kind": kind})
        if phase == "ready" and len(probes["ready"]) >= 20:
            break
        if time.perf_counter() - started > args.limit:
            print("  gave up waiting for the model", flush=True)
            break
        time.sleep(args.every if phase == "training" else 0.2)
    rows.append(("runserver: first answer", up, float("nan"), ""))
    if model_ready_at is not None:
        rows.append(("runserver: model trained and loaded", model_ready_at, float("nan"),
                     f"{args.epochs} epoch(s) in the server's background thread"))
    for phase, items in probes.items():
        if not items:
            continue
        ok_home = sum(p["home"][0] == 200 for p in items)
        ok_api = sum(p["api"][0] == 200 for p in items)
        kinds = ", ".join(sorted({str(p["kind"]) for p in items}))
        home_p50 = statistics.median(p["home"][1] for p in items) * 1000
        rows.append((f"probes while {phase} ({len(items)})",
                     statistics.median(p["api"][1] for p in items) * 1000, float("nan"),
                     f"home 200: {ok_home}/{len(items)}, API 200: {ok_api}/{len(items)}, "
                     f"home p50 {home_p50:.0f} ms, kind {kinds}"))
    return rows


if __name__ == "__main__":
    main()
