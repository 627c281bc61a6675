"""Time one training epoch and measure its peak memory, before and after a change, in one run.

    python -m bench.training_bench                                # 2.5M ratings, train_ncf --epochs 1
    python -m bench.training_bench --repeat 3 --before fe22d7c
    python -m bench.training_bench --data /tmp/synthetic-ml-25m --repeat 1 --what train
    python -m bench.training_bench --data ../shared/data/ml-latest-small --what train --epochs 20 --repeat 1

Two trees are compared: this checkout ("after") and ``--before`` (a git revision, exported with
``git archive`` into a temporary directory). Runs alternate (before, after, before, after...) so
that both see the same load on a shared machine; medians are reported. Every run is a child
process; wall time covers the whole child, peak RSS is the child's own ru_maxrss (os.wait4).

``--what train_ncf`` runs ``manage.py train_ncf --epochs 1`` (what the scale issue measures: load,
one epoch, EASE, save); ``--what train`` runs only ``recsys.ncf.training.train`` on the loaded ratings.
The epoch's seconds come from the epoch line (training pass and validation); examples/s is the
epoch's example count (rated rows plus sampled negatives) over those seconds.

With ``--what train`` the best epoch's validation loss and RMSE are printed too (the validation
rows and their negatives are drawn the same way in both trees, so they compare like for like):
run it with ``--epochs 20`` on ml-latest-small for the quality check.

The synthetic set (default 25,000 users x 10,000 movies x 2.5M ratings) comes from
../shared/tools/make_synthetic_movielens.py and is generated once, outside the repository.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recsys.data import datasets
from recsys.ncf.config import NCFConfig
from recsys.ncf.sampling import epoch_size

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO.parent / "shared" / "tools" / "make_synthetic_movielens.py"
SCALES = {
    "2.5m": ["--users", "25000", "--movies", "10000", "--ratings", "2500000"],
    "25m": ["--users", "162541", "--movies", "62423", "--ratings", "25000095"],
}

# Runs inside the tree under test (recsys/, or ncf/ in trees from before the restructure),
# prints one JSON line.
TRAIN_CHILD = """
import json, sys, time
try:
    from recsys.data import datasets
    from recsys.ncf.config import NCFConfig
    from recsys.ncf.training import train
except ImportError:
    from ncf import datasets
    from ncf.config import NCFConfig
    from ncf.training import train
frame = datasets.load_ratings(sys.argv[1])
result = train(frame, NCFConfig(epochs=int(sys.argv[3]), seed=int(sys.argv[2])))
best = result.history[result.best_epoch - 1]
print("RESULT " + json.dumps({"epoch_seconds": result.history[0].seconds, "train_seconds": result.seconds,
                              "best_epoch": result.best_epoch, "epochs": len(result.history),
                              "val_loss": best.val_loss, "val_rmse": best.val_rmse,
                              "history": [(r.val_loss, r.val_rmse) for r in result.history]}))
"""


def run_child(command: list[str], cwd: Path, env: dict) -> tuple[float, int, str]:
    """Run ``command``; return (wall seconds, peak RSS in KiB, output)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed in {cwd}:\n{output[-4000:]}")
    return wall, usage.ru_maxrss, output


def export_revision(revision: str) -> Path:
    """The tree of ``revision`` in a fresh temporary directory."""
    target = Path(tempfile.mkdtemp(prefix="training-bench-before-"))
    archive = subprocess.run(["git", "archive", revision], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def run_once(tree: Path, what: str, data: Path, seed: int, epochs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1",
           "DJANGO_SETTINGS_MODULE": "recommender_site.settings.dev"}
    if what == "train":
        wall, rss, output = run_child([sys.executable, "-c", TRAIN_CHILD, str(data), str(seed), str(epochs)],
                                      tree, env)
        figures = json.loads(output.rsplit("RESULT ", 1)[1].splitlines()[0])
        return {"wall": wall, "rss_mib": rss / 1024, "epoch": figures["epoch_seconds"], "output": output,
                **figures}
    else:
        models = Path(tempfile.mkdtemp(prefix="training-bench-models-"))
        try:
            wall, rss, output = run_child(
                [sys.executable, "manage.py", "train_ncf", "--epochs", str(epochs), "--seed", str(seed),
                 "--data", str(data), "--output", str(models), "--no-visitors"], tree, env)
        finally:
            shutil.rmtree(models, ignore_errors=True)
        # "epoch   1  loss ...  val_rmse 0.9660  41.2s[  275,012 examples/s]"
        match = re.search(r"^epoch\s+1\s.*?\s([0-9.]+)s\b", output, re.MULTILINE)
        epoch = float(match.group(1)) if match else float("nan")
    return {"wall": wall, "rss_mib": rss / 1024, "epoch": epoch, "output": output}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/synthetic-ml-2.5m"),
                        help="MovieLens-format directory (generated there when missing)")
    parser.add_argument("--scale", choices=SCALES, default="2.5m", help="size generated when --data is missing")
    parser.add_argument("--before", default=None,
                        help="git revision to compare with (default: the merge base of HEAD and main)")
    parser.add_argument("--what", choices=("train_ncf", "train"), default="train_ncf")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tree, alternating")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=1, help="most epochs (early stopping may stop sooner)")
    parser.add_argument("--skip-before", action="store_true", help="time this checkout only")
    args = parser.parse_args()
    if args.data.resolve().is_relative_to(REPO):
        sys.exit("--data must be outside the repository (never commit MovieLens-sized data).")
    if not (args.data / "ratings.csv").is_file():
        print(f"generating a synthetic set ({args.scale}) in {args.data} ...", flush=True)
        subprocess.run([sys.executable, str(GENERATOR), str(args.data), *SCALES[args.scale]], check=True)

    ratings = datasets.load_ratings(args.data)["rating"].to_numpy()
    config = NCFConfig(seed=args.seed)
    n_fit = len(ratings) - int(round(len(ratings) * config.validation_fraction))
    # The fit rows are a random 95%; their example count is the full set's, scaled (exact to ~0.01%).
    examples = round(epoch_size(ratings, mode=config.mode, negatives_per_positive=config.negatives_per_positive)
                     * n_fit / len(ratings))
    print(f"{len(ratings):,} ratings; ~{examples:,} training examples per epoch; {args.what}", flush=True)

    trees = {"after": REPO}
    before = None
    if not args.skip_before:
        revision = args.before or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=REPO, capture_output=True,
                                                 text=True, check=True).stdout.strip()
        before = export_revision(revision)
        trees = {f"before ({revision[:10]})": before, "after": REPO}
    runs = {name: [] for name in trees}
    try:
        for k in range(args.repeat):
            for name, tree in trees.items():
                run = run_once(tree, args.what, args.data, args.seed, args.epochs)
                runs[name].append(run)
                print(f"  run {k + 1} {name}: wall {run['wall']:.1f} s, epoch {run['epoch']:.1f} s, "
                      f"peak RSS {run['rss_mib']:,.0f} MiB", flush=True)
                if "val_loss" in run:
                    print(f"    {run['epochs']} epochs, best {run['best_epoch']}: val_loss {run['val_loss']:.4f}, "
                          f"val_rmse {run['val_rmse']:.4f}; per epoch "
                          + ", ".join(f"{loss:.4f}/{rmse:.4f}" for loss, rmse in run["history"]), flush=True)
    finally:
        if before is not None:
            shutil.rmtree(before, ignore_errors=True)

    print()
    print(f"| tree | {args.what} wall (s) | epoch (s) | examples/s | peak RSS (MiB) | runs |")
    print("|---|---:|---:|---:|---:|---|")
    for name, done in runs.items():
        wall = statistics.median(r["wall"] for r in done)
        epoch = statistics.median(r["epoch"] for r in done)
        rss = statistics.median(r["rss_mib"] for r in done)
        walls = ", ".join(f"{r['wall']:.0f}" for r in done)
        print(f"| {name} | {wall:.1f} | {epoch:.1f} | {examples / epoch:,.0f} | {rss:,.0f} | "
              f"median of {len(done)} (walls {walls}) |")
    if len(runs) == 2:
        (b, a) = runs.values()
        ratio = lambda key: statistics.median(r[key] for r in a) / statistics.median(r[key] for r in b)  # noqa: E731
        print(f"\nafter / before: wall {ratio('wall'):.2f}, epoch {ratio('epoch'):.2f}, "
              f"peak RSS {ratio('rss_mib'):.2f}")


if __name__ == "__main__":
    main()
