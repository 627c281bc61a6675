"""Fetch posters and details from TMDB for catalog movies, storing them on each Movie.

    python manage.py fetch_tmdb                    # every movie not fetched yet, plus earlier failures
    python manage.py fetch_tmdb --limit 500        # the 500 most-rated of those
    python manage.py fetch_tmdb --missing-only     # only movies never fetched (skip earlier failures)
    python manage.py fetch_tmdb --retry-failed     # only movies whose earlier fetch failed
    python manage.py fetch_tmdb --ids 1 2 3        # exactly these movies, refreshed whatever their status

Needs TMDB_API_KEY (or TMDB_READ_ACCESS_TOKEN). Each movie is saved as soon as it is fetched:
interrupt the command and run it again, and it continues with the movies still to do.
"""
from django.core.management.base import BaseCommand, CommandError

from movies.integrations.tmdb.client import ERROR_AUTH, TmdbAuthError, TmdbClient, TmdbNotConfigured
from movies.integrations.tmdb.services import tmdb_fetch_missing
from movies.models import Movie

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Fetch TMDB posters, overviews, release dates, runtimes and languages for catalog movies."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, metavar="N", help="Fetch at most N movies.")
        parser.add_argument("--ids", type=int, nargs="+", default=None, metavar="ID",
                            help="MovieLens ids to fetch (again), whatever their status.")
        selection = parser.add_mutually_exclusive_group()
        selection.add_argument("--missing-only", action="store_true",
                               help="Only movies never fetched; leave earlier failures alone.")
        selection.add_argument("--retry-failed", action="store_true",
                               help="Only movies whose earlier fetch failed.")

    def handle(self, *args, limit=None, ids=None, missing_only=False, retry_failed=False, verbosity=1, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a positive number of movies.")
        if ids is not None:
            if any(movie_id < 1 for movie_id in ids):
                raise CommandError("--ids takes positive MovieLens movie ids.")
            if missing_only or retry_failed:
                raise CommandError("--ids picks the movies itself; drop --missing-only / --retry-failed.")
            unknown = sorted(set(ids) - set(Movie.objects.filter(pk__in=ids).values_list("id", flat=True)))
            if unknown:
                raise CommandError(f"No movie with id {', '.join(map(str, unknown))} in the catalog.")
        try:
            client = TmdbClient.from_settings()
        except TmdbNotConfigured as exc:
            raise CommandError(str(exc)) from None

        tty = verbosity >= 1 and hasattr(self.stdout, "isatty") and self.stdout.isatty()

        def progress(done, total, movie, status, summary):
            if verbosity >= 2:
                self.stdout.write(f"[{done}/{total}] {movie}: {status or 'failed'}")
            elif tty:
                filled = BAR_WIDTH * done // total
                bar = "#" * filled + "-" * (BAR_WIDTH - filled)
                self.stdout.write(f"\r[{bar}] {done}/{total}", ending="")
                if done == total:
                    self.stdout.write("")
            elif verbosity >= 1 and (done == total or done % max(1, total // 20) == 0):
                self.stdout.write(
                    f"{done}/{total} movies: {summary.fetched} fetched, {summary.not_found} not found, "
                    f"{summary.failed} failed"
                )

        try:
            summary = tmdb_fetch_missing(
                client=client, limit=limit, ids=ids, missing_only=missing_only, retry_failed=retry_failed,
                progress=progress,
            )
        except TmdbAuthError:
            raise CommandError(
                f"{ERROR_AUTH} Nothing more was fetched; movies fetched before this stay saved."
            ) from None
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted. Every movie fetched so far is saved; run the command again to continue.",
                returncode=130,
            ) from None
        finally:
            client.close()

        if verbosity >= 1:
            if summary.selected == 0:
                self.stdout.write("Nothing to fetch: every selected movie already has its TMDB details.")
            for movie_id, reason in summary.failures[:10] if verbosity >= 2 else []:
                self.stdout.write(f"  movie {movie_id}: {reason}")
            line = (f"TMDB: {summary.fetched} fetched, {summary.not_found} not found, {summary.failed} failed "
                    f"({summary.requests} requests).")
            self.stdout.write(self.style.SUCCESS(line) if not summary.failed else self.style.WARNING(line))
            if summary.failed:
                self.stdout.write("Failed movies are retried by the next run (or --retry-failed).")
        if summary.stopped_early:
            # A non-zero exit tells cron or CI that TMDB was down, not that the catalog is done.
            raise CommandError(summary.stopped_early)
