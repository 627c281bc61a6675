"""Getting MovieLens into the catalog.

* :mod:`.download`: ``movielens_fetch`` downloads (or copies from disk) one release, checks the
  checksum GroupLens publishes beside it, and unpacks it atomically under the data directory.
* :mod:`.importer`: ``movielens_import`` loads a release directory (CSV, ``::`` or ml-100k
  format) into Movie, Genre, Tag and Rating in one transaction: every row is checked first or
  while streaming, so a malformed file leaves the database exactly as it was, and running it
  twice changes nothing.
"""

RELEASES = ("ml-latest-small", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m")


class MovieLensError(Exception):
    """Fetching or importing failed; the message says what to do. Nothing was changed."""
