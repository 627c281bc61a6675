"""Import a MovieLens release (CSV, ``::`` or ml-100k format) into the catalog.

    python manage.py import_movielens                 # settings.MOVIELENS_DIR
    python manage.py import_movielens data/movielens/ml-1m
    python manage.py import_movielens data/movielens/ml-100k   # u.data, u.item, u.genre

Idempotent and atomic: see ``movies.integrations.movielens.importer.movielens_import``.
"""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movies.integrations.movielens import MovieLensError
from movies.integrations.movielens.importer import movielens_import


class Command(BaseCommand):
    help = "Import movies, genres, links, tags and ratings from a MovieLens release directory."

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", type=Path,
            help="Directory holding the release files (default: the MOVIELENS_DIR setting).",
        )
        parser.add_argument(
            "--chunk-rows", type=int, default=None,
            help="Ratings read and written per chunk (memory grows with it).",
        )

    def handle(self, *args, path=None, chunk_rows=None, verbosity=1, **options):
        path = path or settings.MOVIELENS_DIR
        if not Path(path).is_dir():
            raise CommandError(
                f"{path} is not a directory. Fetch a release first (python manage.py fetch_movielens) "
                f"or point MOVIELENS_DIR at a MovieLens directory."
            )
        extra = {"chunk_rows": chunk_rows} if chunk_rows else {}
        if chunk_rows is not None and chunk_rows < 1:
            raise CommandError("--chunk-rows must be at least 1.")
        try:
            summary = movielens_import(path=path, stdout=self.stdout if verbosity >= 1 else None, **extra)
        except MovieLensError as exc:
            raise CommandError(str(exc)) from None
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(f"Done: {summary.movies:,} movies, {summary.ratings:,} ratings."))
