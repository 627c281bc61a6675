"""Train the NeuMF recommender on demand and save it where the site loads it.

    python manage.py train_ncf                              # settings' data, mode, epochs, seed
    python manage.py train_ncf --epochs 10 --embedding-dim 32 --layers 64,32,16 \\
        --mode hard-negatives --seed 7 --data data/movielens/ml-latest-small --output data/models
    python manage.py train_ncf --no-visitors                 # MovieLens alone, not the site's ratings
    python manage.py train_ncf --strategy mirrored           # every GPU of this machine
    TF_CONFIG='{"cluster": {"worker": ["hostA:12345", "hostB:12345"]}, "task": {"type": "worker", "index": 0}}' \\
        python manage.py train_ncf --strategy multiworker    # on every machine, each with its own index

Prints one line per epoch (loss, validation loss, validation RMSE, seconds) and a summary.
The artifact is written atomically into the model directory (``--output``, default
``settings.MODEL_DIR``) and made current; running web workers notice it and reload within
``RECOMMENDER_RELOAD_SECONDS``.

By default the model also learns from the ratings people gave on the site (anonymous visitors and
accounts, each its own user, ids from ``VISITOR_USER_ID_BASE`` up; :mod:`movies.engine.visitor_ratings`),
as they are in the database when training starts: what someone cleared, started over or deleted
with their account is not in it. The metadata's ``visitor_ratings`` says how many and up to which
(``last_id``, ``last_updated_at``). ``--no-visitors`` trains on MovieLens alone, and so does
``multiworker``, whose workers must all read the same ratings. ``--if-new-ratings N`` trains
only when N visitor ratings were given or changed since the current model (the site's retraining
child, :mod:`movies.engine.retrain`, runs that).

The site uses a model trained here whatever its options, as long as it was trained on the same
ratings file with the same code version.

``--strategy`` picks TensorFlow's distribution (``recsys.ncf.distribute``); ``--batch-size`` is the
global batch, split over the replicas. With ``multiworker`` every machine in ``TF_CONFIG`` runs
this command; only the chief (task ``chief``, or worker 0) takes the lock and writes the model,
the other workers train their share and write nothing (see docs/production.md).
"""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from movies.engine.recommender import SOURCE_COMMAND, engine_config, train_and_save
from recsys.ncf.distribute import STRATEGIES, STRATEGY_DEFAULT, STRATEGY_MULTIWORKER


def _layers(value: str) -> tuple[int, ...]:
    try:
        layers = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise CommandError(f"--layers must be comma-separated integers like 64,32,16, not {value!r}.") from None
    if not layers or min(layers) < 1:
        raise CommandError("--layers needs at least one positive size.")
    return layers


class Command(BaseCommand):
    help = "Train the NeuMF recommender (Keras) and save it as the model the site serves."

    def add_arguments(self, parser):
        parser.add_argument("--epochs", type=int, help="Most epochs (early stopping may stop sooner).")
        parser.add_argument("--embedding-dim", type=int, help="Embedding size of each branch.")
        parser.add_argument("--layers", type=str, help="MLP layer sizes, e.g. 64,32,16.")
        parser.add_argument("--mode", choices=("implicit", "hard-negatives", "regression"),
                            help="Ranking objective (default: the RECOMMENDER_MODE setting).")
        parser.add_argument("--negatives", type=int, help="Sampled unrated movies per positive.")
        parser.add_argument("--batch-size", type=int, help="Training batch size.")
        parser.add_argument("--seed", type=int, help="Random seed (default: RECOMMENDER_SEED).")
        parser.add_argument("--data", type=Path, help="MovieLens directory (default: MOVIELENS_DIR).")
        parser.add_argument("--output", type=Path, help="Model directory (default: MODEL_DIR).")
        parser.add_argument("--no-visitors", action="store_true",
                            help="Leave out the ratings stored by the site (default: train on them too).")
        parser.add_argument("--if-new-ratings", type=int, metavar="N",
                            help="Train only when at least N visitor ratings were given or changed since the "
                                 "current model (what the site's retraining child runs).")
        parser.add_argument("--strategy", choices=STRATEGIES, default=STRATEGY_DEFAULT,
                            help="tf.distribute strategy: default (one device), mirrored (every GPU of this "
                                 "machine), multiworker (the machines in TF_CONFIG). Default: default.")

    def handle(self, *args, verbosity=1, **options):
        from recsys.data import datasets
        from recsys.ncf import artifacts, distribute
        from recsys.ncf.config import NCFConfig

        strategy = options["strategy"]
        try:  # before anything is written: a bad cluster description must not leave a lock file
            distribute.check_strategy(strategy)
            tf_config = distribute.read_tf_config() if strategy == STRATEGY_MULTIWORKER else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        data = options["data"] or settings.MOVIELENS_DIR
        output = options["output"] or settings.MODEL_DIR
        try:
            datasets.locate(data)
        except datasets.DatasetError as exc:
            raise CommandError(str(exc)) from None
        overrides = {
            "epochs": options["epochs"], "embedding_dim": options["embedding_dim"], "mode": options["mode"],
            "negatives_per_positive": options["negatives"], "batch_size": options["batch_size"],
            "seed": options["seed"],
            "layers": _layers(options["layers"]) if options["layers"] else None,
        }
        try:
            config = NCFConfig.from_dict({**engine_config().to_dict(),
                                          **{k: v for k, v in overrides.items() if v is not None}})
        except (TypeError, ValueError) as exc:
            raise CommandError(f"Invalid option: {exc}") from None

        visitors = None
        if not options["no_visitors"] and strategy != STRATEGY_MULTIWORKER:
            from movies.engine.visitor_ratings import visitor_ratings_frame

            try:
                visitors = visitor_ratings_frame()
            except DatabaseError as exc:
                raise CommandError(f"Could not read the site's ratings ({exc}); run `manage.py migrate` "
                                   "or pass --no-visitors.") from None
        if verbosity >= 1:
            seen = (f"{visitors.summary['count']} ratings of {visitors.summary['visitors']} site visitors"
                    if visitors is not None else "no site ratings")
            self.stdout.write(f"Training NeuMF on {data} plus {seen} (mode {config.mode}, d={config.embedding_dim}, "
                              f"layers {list(config.layers)}, up to {config.epochs} epochs, seed {config.seed}, "
                              f"strategy {strategy})")

        def progress(report):
            if verbosity >= 1:
                self.stdout.write(f"epoch {report.epoch:3d}  loss {report.loss:.4f}  val_loss {report.val_loss:.4f}"
                                  f"  val_rmse {report.val_rmse:.4f}  {report.seconds:.1f}s"
                                  f"  {report.examples_per_second:,.0f} examples/s")

        if not distribute.is_chief(tf_config):
            self._train_as_worker(data, config, strategy, tf_config["task"], progress, verbosity)
            return
        try:
            with artifacts.training_lock(output):
                if options["if_new_ratings"] is not None:
                    from movies.engine.retrain import ratings_since
                    from movies.engine.visitor_ratings import visitor_ratings_frame

                    current = artifacts.current_path(output)
                    new = ratings_since(artifacts.read_metadata(current) if current else None)
                    if new < options["if_new_ratings"]:
                        self.stdout.write(f"{new} visitor ratings since the current model, fewer than "
                                          f"{options['if_new_ratings']}: nothing to train.")
                        return
                    visitors = None if visitors is None else visitor_ratings_frame()  # as they are now
                path = train_and_save(data, config, output, source=SOURCE_COMMAND, progress=progress,
                                      strategy=strategy, visitors=visitors,
                                      on_step=self.stdout.write if verbosity >= 1 else None)
        except (datasets.DatasetError, ValueError, OSError, distribute.StrategyError) as exc:
            raise CommandError(f"Training failed: {exc}") from None
        meta = artifacts.read_metadata(path)
        if verbosity >= 1:
            best = meta["history"][meta["best_epoch"] - 1] if meta.get("best_epoch") else None
            summary = (f"Saved {path} ({meta['n_users']} users, {meta['n_items']} movies, "
                       f"{meta['n_ratings']} ratings) in {meta['train_seconds']:.1f}s; best epoch "
                       f"{meta['best_epoch']}")
            if best:
                summary += f" (val_loss {best['val_loss']:.4f}, val_rmse {best['val_rmse']:.4f})"
            self.stdout.write(self.style.SUCCESS(summary))

    def _train_as_worker(self, data, config, strategy, task, progress, verbosity):
        """A worker other than the chief trains its share of every step and writes nothing."""
        from recsys.data import datasets
        from recsys.ncf import distribute
        from recsys.ncf.training import train

        try:
            result = train(datasets.load_ratings(data), config, progress=progress, strategy=strategy)
        except (datasets.DatasetError, ValueError, OSError, distribute.StrategyError) as exc:
            raise CommandError(f"Training failed: {exc}") from None
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(
                f"{task['type']} {task['index']} done ({len(result.history)} epochs over {result.replicas} replicas, "
                f"best epoch {result.best_epoch}); the chief saves the model, this worker writes nothing"))
