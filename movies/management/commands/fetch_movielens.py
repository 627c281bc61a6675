"""Fetch a MovieLens release from GroupLens (checksum-verified) or copy one from disk.

    python manage.py fetch_movielens                         # settings.MOVIELENS_RELEASE
    python manage.py fetch_movielens --release ml-25m
    python manage.py fetch_movielens --release ml-100k     # also ml-1m, ml-10m, ml-20m, ml-32m
    python manage.py fetch_movielens --from ~/Downloads/ml-latest-small.zip
    python manage.py fetch_movielens --if-missing            # what `make run` calls

The release lands in MOVIELENS_DIR (or beside it, for a release other than MOVIELENS_RELEASE).
"""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from movies.integrations.movielens import RELEASES, MovieLensError
from movies.integrations.movielens.download import movielens_fetch


class Command(BaseCommand):
    help = "Download a MovieLens release (verifying GroupLens' MD5) or copy one from a directory or zip."

    def add_arguments(self, parser):
        parser.add_argument("--release", choices=RELEASES, default=None,
                            help="Which release (default: the MOVIELENS_RELEASE setting).")
        parser.add_argument("--from", dest="source", metavar="PATH",
                            help="Copy from this directory or .zip instead of downloading.")
        parser.add_argument("--if-missing", action="store_true",
                            help="Do nothing when MOVIELENS_DIR already holds a release.")
        parser.add_argument("--force", action="store_true", help="Replace a release already in place.")

    def handle(self, *args, release=None, source=None, if_missing=False, force=False, verbosity=1, **options):
        release = release or settings.MOVIELENS_RELEASE
        if release not in RELEASES:
            raise CommandError(f"MOVIELENS_RELEASE={release!r} is not one of {', '.join(RELEASES)}.")
        try:
            result = movielens_fetch(
                release=release, source=source, if_missing=if_missing, force=force,
                stdout=self.stdout if verbosity >= 1 else None,
            )
        except MovieLensError as exc:
            raise CommandError(str(exc)) from None
        if verbosity >= 1 and result.action != "present":
            self.stdout.write(self.style.SUCCESS(f"MovieLens {release} is ready at {result.directory}."))
