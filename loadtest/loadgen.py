"""A bounded, loopback-only load generator for the site running under gunicorn.

    python loadtest/loadgen.py --url http://127.0.0.1:8000 --users 32 --duration 60 \
        --master-pid $(cat /tmp/gunicorn.pid) --json report.json

Each virtual user is a browser session: it loads the home page (which sets the CSRF cookie
and shows the rating grid), then loops over a weighted mix of what visitors do —

* rate a card on the grid (POST /rate/ with the CSRF token, as the page's script sends it),
* skip a card ("Haven't seen it", POST /skip/),
* refresh the recommendations panel (GET /recommendations/),
* ask the JSON API for recommendations (POST /api/recommendations with the session's ratings),
* reload the home page —

until the duration is over. Only 127.0.0.1/localhost targets are accepted. The report gives
throughput, p50/p99 latency (overall and per action), the error count (any unexpected status
or connection error), and every gunicorn worker's resident memory sampled from /proc over
the run (start, end, max), so a leak shows as a rising line.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Relative weights of the actions in the loop; the home page is also every user's first request.
MIX = {"rate": 40, "skip": 15, "panel": 15, "api": 20, "home": 10}
CARD_RE = re.compile(r'data-movie-id="(\d+)"')
FETCH = {"X-Requested-With": "fetch"}


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, action: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[action].append(seconds)
            if error:
                self.errors[action] += 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{action}: {error}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # ceil(q/100 * n), at least 1
    return ordered[min(rank, len(ordered)) - 1]


class VirtualUser(threading.Thread):
    def __init__(self, index: int, base: str, deadline: float, stats: Stats, seed: int, timeout: float):
        super().__init__(name=f"user-{index}", daemon=True)
        self.base = base.rstrip("/")
        self.deadline = deadline
        self.stats = stats
        self.rng = random.Random(seed)
        self.timeout = timeout
        self.session = requests.Session()
        self.cards: list[int] = []
        self.ratings: dict[int, float] = {}

    # --- one timed request --------------------------------------------------------
    def _timed(self, action: str, method: str, path: str, expect: set[int], **kwargs):
        start = time.perf_counter()
        error = None
        response = None
        try:
            response = self.session.request(method, self.base + path, timeout=self.timeout,
                                            allow_redirects=False, **kwargs)
            if response.status_code not in expect:
                error = f"{method} {path} -> {response.status_code} {response.text[:120]!r}"
        except requests.RequestException as exc:
            error = f"{method} {path} -> {type(exc).__name__}: {exc}"
        self.stats.record(action, time.perf_counter() - start, error)
        return None if error else response

    def _csrf(self) -> dict[str, str]:
        return {**FETCH, "X-CSRFToken": self.session.cookies.get("csrftoken", "")}

    # --- actions --------------------------------------------------------------------
    def home(self) -> None:
        response = self._timed("home", "GET", "/", {200})
        if response is not None:
            self.cards = [int(mid) for mid in CARD_RE.findall(response.text)] or self.cards

    def rate(self) -> None:
        if not self.cards:
            return self.home()
        movie_id = self.rng.choice(self.cards)
        stars = self.rng.choice([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5])
        if self._timed("rate", "POST", "/rate/", {200}, headers=self._csrf(),
                       data={"movie_id": movie_id, "rating": str(stars)}) is not None:
            self.ratings[movie_id] = stars

    def skip(self) -> None:
        if not self.cards:
            return self.home()
        movie_id = self.rng.choice(self.cards)
        response = self._timed("skip", "POST", "/skip/", {200}, headers=self._csrf(),
                               data={"movie_id": movie_id, "shown": ",".join(map(str, self.cards))})
        if response is not None:
            self.cards.remove(movie_id)
            replacement = CARD_RE.findall(response.text)
            self.cards.extend(int(mid) for mid in replacement[:1])

    def panel(self) -> None:
        self._timed("panel", "GET", f"/recommendations/?seed={self.rng.randrange(1000)}", {200}, headers=FETCH)

    def api(self) -> None:
        ratings = [{"movie_id": mid, "rating": stars} for mid, stars in self.ratings.items()]
        self._timed("api", "POST", "/api/recommendations", {200},
                    json={"ratings": ratings, "n": 10, "seed": self.rng.randrange(1000)})

    def run(self) -> None:
        actions = list(MIX)
        weights = [MIX[a] for a in actions]
        self.home()
        while time.monotonic() < self.deadline:
            getattr(self, self.rng.choices(actions, weights)[0])()


# --- memory of gunicorn's workers ----------------------------------------------------
def worker_pids(master_pid: int) -> list[int]:
    """Children of the gunicorn master, from /proc/<pid>/task/*/children."""
    pids = []
    for children in Path(f"/proc/{master_pid}/task").glob("*/children"):
        try:
            pids.extend(int(p) for p in children.read_text().split())
        except OSError:
            continue
    return sorted(set(pids))


def rss_kib(pid: int) -> tuple[int, int] | None:
    """(VmRSS, RssAnon) in KiB. RssAnon is the worker's private memory: a leak shows there, while
    pages of memory-mapped model files (shared by every worker) count in VmRSS as they are read."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields.get("RssAnon", fields["VmRSS"]).split()[0])
    except (OSError, KeyError, ValueError):
        return None


class MemorySampler(threading.Thread):
    def __init__(self, master_pid: int, interval: float):
        super().__init__(name="rss-sampler", daemon=True)
        self.master_pid = master_pid
        self.interval = interval
        self.samples: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def sample(self) -> None:
        now = time.monotonic() - self.t0
        for pid in [self.master_pid, *worker_pids(self.master_pid)]:
            value = rss_kib(pid)
            if value is not None:
                self.samples[pid].append((round(now, 1), *value))

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)
        self.sample()


def summarise(stats: Stats, duration: float, sampler: MemorySampler | None, master_pid: int | None) -> dict:
    every = [x for values in stats.latencies.values() for x in values]
    report = {
        "duration_s": round(duration, 1),
        "requests": len(every),
        "errors": sum(stats.errors.values()),
        "throughput_rps": round(len(every) / duration, 1) if duration else 0.0,
        "p50_ms": round(percentile(every, 50) * 1000, 1) if every else None,
        "p99_ms": round(percentile(every, 99) * 1000, 1) if every else None,
        "per_action": {
            action: {
                "requests": len(values),
                "errors": stats.errors.get(action, 0),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
            }
            for action, values in sorted(stats.latencies.items())
        },
        "error_samples": stats.error_samples,
    }
    if sampler is not None:
        report["rss_mib"] = {
            ("master" if pid == master_pid else f"worker {pid}"): {
                "start": round(series[0][1] / 1024, 1),
                "end": round(series[-1][1] / 1024, 1),
                "max": round(max(rss for _, rss, _ in series) / 1024, 1),
                "anon_start": round(series[0][2] / 1024, 1),
                "anon_end": round(series[-1][2] / 1024, 1),
                "anon_max": round(max(anon for _, _, anon in series) / 1024, 1),
                "samples": len(series),
            }
            for pid, series in sorted(sampler.samples.items())
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (at most 600)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master-pid", type=int, help="gunicorn master PID, to sample its workers' RSS")
    parser.add_argument("--sample-every", type=float, default=2.0)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    host = urlsplit(args.url).hostname
    if host not in LOOPBACK_HOSTS:
        parser.error(f"refusing to load {host!r}: this tool only targets loopback (127.0.0.1, localhost)")
    if not (0 < args.duration <= 600) or not (0 < args.users <= 256):
        parser.error("--duration must be in (0, 600] and --users in (0, 256]")

    stats = Stats()
    sampler = MemorySampler(args.master_pid, args.sample_every) if args.master_pid else None
    if sampler:
        sampler.start()
    started = time.monotonic()
    deadline = started + args.duration
    users = [VirtualUser(i, args.url, deadline, stats, args.seed * 1000 + i, args.timeout) for i in range(args.users)]
    for user in users:
        user.start()
    for user in users:
        user.join(timeout=max(0.0, deadline - time.monotonic()) + args.timeout + 5)
    duration = time.monotonic() - started
    if sampler:
        sampler.stop.set()
        sampler.join(timeout=5)

    report = summarise(stats, duration, sampler, args.master_pid)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
