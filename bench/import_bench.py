#!/usr/bin/env python3
"""Time ``import_movielens`` and measure its peak memory, on ml-latest-small and at ml-25m scale.

    .venv/bin/python -m bench.import_bench                       # small (median of 3) + 25m-scale
    .venv/bin/python -m bench.import_bench --skip-large
    .venv/bin/python -m bench.import_bench --synthetic-dir /tmp/synthetic-ml-25m --chunk-rows 500000

Each run imports into a fresh SQLite database under a temporary directory (DATABASE_URL), in a
child process; wall time covers the import command only (migrations run before the clock
starts) and peak RSS is that child's own ru_maxrss from os.wait4. The 25m-scale set comes from
../shared/tools/make_synthetic_movielens.py and is generated once, outside the repository.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO.parent / "shared" / "tools" / "make_synthetic_movielens.py"
ML25M_SCALE = ["--users", "162541", "--movies", "62423", "--ratings", "25000095"]


def run_child(command: list[str], env: dict) -> tuple[float, int, str]:
    """Run ``command``; return (wall seconds, peak RSS in KiB, output)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # Read output while it runs, then reap with wait4 for this child's own resource usage.
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{output}")
    return wall, usage.ru_maxrss, output


def import_once(dataset: Path, chunk_rows: int | None, keep_db: bool = False) -> tuple[float, int, str]:
    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "recommender_site.settings.dev", "PYTHONUNBUFFERED": "1"}
    python = sys.executable
    try:
        run_child([python, "manage.py", "migrate", "--noinput", "-v0"], env)
        command = [python, "manage.py", "import_movielens", str(dataset)]
        if chunk_rows:
            command += ["--chunk-rows", str(chunk_rows)]
        wall, rss, output = run_child(command, env)
        db_size = sum(p.stat().st_size for p in workdir.iterdir())
        return wall, rss, output + f"\ndatabase files: {db_size / 2**20:,.0f} MiB\n"
    finally:
        if not keep_db:
            shutil.rmtree(workdir, ignore_errors=True)


def service_seconds(output: str) -> float:
    """The importer's own figure ("... in 3.1 s."), without interpreter and Django start-up."""
    match = re.search(r"\) in ([0-9.]+) s\.", output)
    return float(match.group(1)) if match else float("nan")


def count_ratings(dataset: Path) -> int:
    with open(dataset / "ratings.csv", "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-dir", type=Path,
                        default=Path(os.environ.get("MOVIELENS_DIR") or REPO.parent / "shared/data/ml-latest-small"))
    parser.add_argument("--synthetic-dir", type=Path, default=Path("/tmp/synthetic-ml-25m"),
                        help="where the ml-25m-scale synthetic set is (generated there when missing)")
    parser.add_argument("--repeat", type=int, default=3, help="runs on ml-latest-small (median reported)")
    parser.add_argument("--chunk-rows", type=int, default=None)
    parser.add_argument("--skip-small", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    if args.synthetic_dir.resolve().is_relative_to(REPO):
        sys.exit("--synthetic-dir must be outside the repository (never commit MovieLens-sized data).")

    rows = []
    if not args.skip_small:
        runs = [import_once(args.small_dir, args.chunk_rows) for _ in range(args.repeat)]
        walls = [wall for wall, _, _ in runs]
        inside = [service_seconds(output) for _, _, output in runs]
        print(runs[-1][2].strip(), flush=True)
        rows.append(("ml-latest-small", count_ratings(args.small_dir), statistics.median(walls),
                     statistics.median(inside), max(rss for _, rss, _ in runs),
                     f"median of {len(runs)}; command walls " + ", ".join(f"{w:.2f}" for w in walls)))
    if not args.skip_large:
        if not (args.synthetic_dir / "ratings.csv").is_file():
            print(f"generating the ml-25m-scale synthetic set in {args.synthetic_dir} ...", flush=True)
            started = time.perf_counter()
            subprocess.run([sys.executable, str(GENERATOR), str(args.synthetic_dir), *ML25M_SCALE], check=True)
            print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
        wall, rss, output = import_once(args.synthetic_dir, args.chunk_rows)
        print(output.strip(), flush=True)
        rows.append(("synthetic ml-25m scale", count_ratings(args.synthetic_dir), wall, service_seconds(output),
                     rss, "one run"))

    print()
    print("| dataset | ratings | command wall (s) | import itself (s) | ratings/s | peak RSS (MiB) | notes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, count, wall, inside, rss, note in rows:
        print(f"| {name} | {count:,} | {wall:.1f} | {inside:.1f} | {count / inside:,.0f} | {rss / 1024:,.0f} "
              f"| {note} |")


if __name__ == "__main__":
    main()
