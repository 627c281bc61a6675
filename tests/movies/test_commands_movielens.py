"""The fetch_movielens and import_movielens commands: thin wrappers with clear errors and progress."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from movies.models import Movie, Rating

pytestmark = pytest.mark.django_db


def test_import_reads_movielens_dir_by_default_and_reports_progress(tiny_dataset, settings):
    settings.MOVIELENS_DIR = tiny_dataset
    out = StringIO()
    call_command("import_movielens", stdout=out)
    assert (Movie.objects.count(), Rating.objects.count()) == (5, 6)
    text = out.getvalue()
    assert "ratings: 6 read and checked" in text
    assert "Imported 5 movies, 10 genres, 5 links, 3 tags and 6 ratings from 3 users (csv)" in text


def test_import_is_silent_at_verbosity_zero(tiny_dataset):
    out = StringIO()
    call_command("import_movielens", str(tiny_dataset), verbosity=0, stdout=out)
    assert out.getvalue() == ""
    assert Movie.objects.count() == 5


def test_import_of_a_missing_directory_says_what_to_do(tmp_path):
    with pytest.raises(CommandError, match="is not a directory. Fetch a release first"):
        call_command("import_movielens", str(tmp_path / "nowhere"))


def test_import_of_a_malformed_release_raises_command_error(tiny_dataset):
    (tiny_dataset / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,9,1\n")
    with pytest.raises(CommandError, match=r"ratings.csv, line 2: rating '9' is not one of"):
        call_command("import_movielens", str(tiny_dataset))
    assert Movie.objects.count() == 0
