"""Measure the recommender against the baselines under the warm, cold-start and leave-one-out protocols.

    python manage.py evaluate                                   # all three protocols, every available model
    python manage.py evaluate --seeds 1,2,3,4,5 --epochs 8      # mean ± std over seeds
    python manage.py evaluate --protocol warm --models popularity,ease,ncf --epochs 5
    python manage.py evaluate --data data/movielens/ml-latest-small --seed 7 --output /tmp/eval.json
    python manage.py evaluate --tune-product                    # tune the site ranker's weights first

Prints the protocol, one line per fitted model, then one table (rows: model x protocol x k x
list; columns: RMSE, MAE, Precision/Recall/NDCG/MRR/HitRate@10, coverage@10, genre NDCG@10),
and saves the table as JSON (default ``settings.DATA_DIR / "evaluation.json"``) for the
site's analytics page. ``product`` is the ranker the site serves. See docs/evaluation.md.
"""
import json
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DEFAULT_MODELS = ["popularity", "recent-popularity", "damped-mean", "item-knn", "biased-mf", "ease", "ials",
                  "next-movies", "next-previous", "ncf", "product"]
PROTOCOL_CHOICES = {"warm": ["warm"], "cold": ["cold"], "loo": ["loo"], "both": ["warm", "cold"],
                    "all": ["warm", "cold", "loo"]}


def _model_list(value: str, known) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in known]
    if not names:
        raise CommandError("--models needs at least one model name.")
    if unknown:
        raise CommandError(f"Unknown model(s): {', '.join(unknown)}. Known: {', '.join(known)}.")
    return names


def _ks(value: str) -> list[int]:
    try:
        ks = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--ks must be comma-separated integers like 5,10,20, not {value!r}.") from None
    if not ks or min(ks) < 1:
        raise CommandError("--ks needs positive integers.")
    return ks


def _seeds(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        seeds = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--seeds must be comma-separated integers like 1,2,3,4,5, not {value!r}.") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise CommandError("--seeds needs distinct integers.")
    return seeds


def write_json_atomic(path: Path, data: dict) -> None:
    """Write to a temporary file beside ``path`` and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2, allow_nan=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = ("Evaluate the recommender and the baselines (warm, cold-start and leave-one-out protocols); "
            "print and save a table.")

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, help="MovieLens directory (default: MOVIELENS_DIR).")
        parser.add_argument("--seed", type=int, default=42, help="Seed for the cold users, lists and models.")
        parser.add_argument("--seeds", type=str,
                            help="Comma-separated seeds: run each and print mean ± std over them (overrides --seed).")
        parser.add_argument("--protocol", choices=tuple(PROTOCOL_CHOICES), default="all",
                            help="warm, cold, loo (leave-one-out), both (warm + cold) or all (default).")
        parser.add_argument("--models", type=str, default=",".join(DEFAULT_MODELS),
                            help="Comma-separated model names (default: %(default)s).")
        parser.add_argument("--ks", type=str, default="5,10,20", help="Ratings each cold user reveals.")
        parser.add_argument("--epochs", type=int, help="Epochs for the neural models (default: their config).")
        parser.add_argument("--output", type=Path, help="JSON file (default: DATA_DIR/evaluation.json).")
        parser.add_argument("--tune-product", action="store_true",
                            help="Before evaluating, tune the product's weights on validation people "
                                 "(never the test users) and evaluate 'product' with them.")

    def handle(self, *args, verbosity=1, **options):
        from recsys.data import datasets
        from recsys.evaluation.harness import REGISTRY, run_evaluation
        from recsys.evaluation.tables import format_summary, format_table, summarize

        data = options["data"] or settings.MOVIELENS_DIR
        output = options["output"] or Path(settings.DATA_DIR) / "evaluation.json"
        models = _model_list(options["models"], REGISTRY)
        ks = _ks(options["ks"])
        if options["epochs"] is not None and options["epochs"] < 1:
            raise CommandError("--epochs must be at least 1.")
        try:
            ratings = datasets.load_ratings(data)
            movies = datasets.load_movies(data)
        except (datasets.DatasetError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        protocols = PROTOCOL_CHOICES[options["protocol"]]
        seeds = _seeds(options["seeds"]) or [options["seed"]]
        run_options = {"epochs": options["epochs"], "ncf_config": self._site_config(),
                       "content_index": self._content_index()}

        def progress(line: str) -> None:
            if verbosity >= 1:
                self.stdout.write(line)

        if "product" in models:
            progress("product: content part "
                     + ("on" if run_options["content_index"] is not None else "off (run build_content to add it)"))
        reports, cache = [], {}
        for seed in seeds:
            seed_options = dict(run_options)
            if options["tune_product"]:
                (seed_options["product_weights"], seed_options["product_content_gate"],
                 seed_options["product_stars_share"]) = self._tuned_weights(ratings, movies, run_options, seed, ks,
                                                                            progress)
            try:
                report = run_evaluation(ratings, movies, models=models, protocols=protocols, ks=ks, seed=seed,
                                        options=seed_options, cache=cache, progress=progress)
            except ValueError as exc:
                raise CommandError(f"Cannot evaluate on {data}: {exc}") from None
            report.settings["data"] = str(data)
            self._clean_settings(report, models)
            for protocol in report.protocols.values():
                self.stdout.write(f"Protocol: {protocol['description']}")
            self.stdout.write("Relevant = test rating >= 4 (leave-one-out: the held-out movie); candidates = "
                              "every training movie the person has not rated (leave-one-out: it and 100 negatives).")
            self.stdout.write(format_table(report))
            reports.append(report)
        if len(reports) == 1:
            data_out = reports[0].to_dict()
        else:
            summary = summarize(reports)
            self.stdout.write(f"Mean ± std (ddof=1) over seeds {', '.join(map(str, seeds))}:")
            self.stdout.write(format_summary(summary))
            data_out = {**reports[0].to_dict(), "seeds": seeds, "summary": summary,
                        "per_seed": [report.to_dict() for report in reports]}
        try:
            write_json_atomic(Path(output), data_out)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Saved {output}"))

    @staticmethod
    def _tuned_weights(ratings, movies, run_options, seed, ks, progress):
        from recsys.evaluation.harness import _ncf, release_years
        from recsys.ranking.tuning import tune_product

        ncf_options = {**run_options, "seed": seed}
        weights, results = tune_product(ratings, run_options["content_index"], lambda: _ncf(ncf_options),
                                        seed=seed, ks=ks, release_years=release_years(movies), progress=progress)
        progress(f"tuned product weights: new {weights.new} up to {weights.new_until} ratings, "
                 f"regular {weights.regular} from {weights.regular_from}; content gate {results['content_gate']}; "
                 f"stars NCF share {results['stars_ncf_share']:g}")
        return weights, results["content_gate"], results["stars_ncf_share"]

    @staticmethod
    def _clean_settings(report, models):
        """Keep only what JSON can hold and what says what the run meant."""
        report.settings["options"].pop("content_index", None)
        if "product_content_gate" in report.settings["options"]:
            gate = report.settings["options"].pop("product_content_gate")
            report.settings["product_content_gate"] = None if gate is None else {"centre": gate.centre,
                                                                                 "width": gate.width}
        if "product_stars_share" in report.settings["options"]:
            report.settings["product_stars_share"] = report.settings["options"].pop("product_stars_share")
        tuned = report.settings["options"].pop("product_weights", None)
        if tuned is not None:
            report.settings["product_weights"] = {"new": tuned.new, "regular": tuned.regular,
                                                  "new_until": tuned.new_until, "regular_from": tuned.regular_from}
        config = report.settings["options"].pop("ncf_config", None)
        if config is not None and any(name.startswith("ncf") for name in models):
            report.settings["ncf_config"] = config.to_dict()  # what "ncf" meant in this run

    @staticmethod
    def _content_index():
        """The built content index (``build_content``), or None: the product then runs without it."""
        try:
            from movies.engine.content import content_index

            return content_index()
        except Exception:  # no index is a valid state, never a failed evaluation
            return None

    @staticmethod
    def _site_config():
        """The site's NCF configuration (so ``ncf`` and ``product`` are what users get)."""
        from movies.engine.recommender import engine_config

        return engine_config()
