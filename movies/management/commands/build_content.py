"""Build or refresh the content index (sentence embeddings + TF-IDF) from the catalog.

    python manage.py build_content            # embed new/changed movies, rebuild TF-IDF
    python manage.py build_content --dry-run  # only say how many movies would be embedded

Embeddings are cached under ``CACHE_DIR/content`` keyed by the SHA-1 of each movie's text,
so a second run embeds nothing unless titles, genres, tags or overviews changed.
"""
import time

from django.core.management.base import BaseCommand, CommandError

from movies.engine.content import catalog_from_db, content_build, content_dir, content_pending, exit_with_parent


class Command(BaseCommand):
    help = "Embed the catalog's movie texts (all-MiniLM-L6-v2, cached) and rebuild the TF-IDF index."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="Report how many movies need embedding, change nothing.")

    def handle(self, *args, dry_run=False, verbosity=1, **options):
        exit_with_parent()  # started by the server: stop with it
        catalog = catalog_from_db()
        if catalog.empty:
            raise CommandError("The catalog is empty: run `python manage.py import_movielens` first.")
        _total, todo = content_pending(catalog)
        if verbosity >= 1:
            self.stdout.write(f"{len(catalog):,} movies; {todo:,} to embed, {len(catalog) - todo:,} cached "
                              f"in {content_dir()}.")
        if dry_run:
            return
        started = time.perf_counter()
        last = [0.0]

        def progress(done, total):
            now = time.perf_counter()
            if verbosity >= 1 and (done == total or now - last[0] >= 2.0):
                last[0] = now
                self.stdout.write(f"  embedded {done:,}/{total:,} ({now - started:.0f} s)")

        try:
            index = content_build(progress=progress)
        except (ImportError, OSError) as exc:
            raise CommandError(f"Could not load the sentence model: {exc}") from None
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(
                f"Done in {time.perf_counter() - started:.1f} s: {len(index):,} movies, "
                f"{index.embeddings.shape[1]}-d embeddings, {index.tfidf.shape[1]:,} TF-IDF terms."))
