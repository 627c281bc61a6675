"""The fetch_movielens and import_movielens commands: thin wrappers with clear errors and progress."""
import functools
import hashlib
import http.server
import socket
import threading
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from movies.models import Movie, Rating
from tests.conftest import write_ml100k

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


# --- fetch_movielens -------------------------------------------------------


@pytest.fixture
def data_dirs(tmp_path, settings):
    """MOVIELENS_DIR points at an empty data/movielens/ml-latest-small under tmp_path."""
    settings.MOVIELENS_RELEASE = "ml-latest-small"
    settings.MOVIELENS_DIR = tmp_path / "data" / "movielens" / "ml-latest-small"
    return settings.MOVIELENS_DIR


def make_zip(directory: Path, zip_path: Path, top: str = "ml-latest-small") -> Path:
    with zipfile.ZipFile(zip_path, "w") as bundle:
        for file in sorted(directory.iterdir()):
            bundle.write(file, f"{top}/{file.name}")
    return zip_path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def grouplens(tmp_path, settings):
    """A local stand-in for files.grouplens.org serving tmp_path/site on 127.0.0.1."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.MOVIELENS_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/datasets/movielens"
    (site / "datasets" / "movielens").mkdir(parents=True)
    yield site / "datasets" / "movielens"
    server.shutdown()
    server.server_close()


def test_fetch_downloads_verifies_and_unpacks(tiny_dataset, data_dirs, grouplens):
    archive = make_zip(tiny_dataset, grouplens / "ml-latest-small.zip")
    digest = hashlib.md5(archive.read_bytes()).hexdigest()
    (grouplens / "ml-latest-small.zip.md5").write_text(f"MD5 (ml-latest-small.zip) = {digest}\n")
    out = StringIO()

    call_command("fetch_movielens", stdout=out)

    assert sorted(p.name for p in data_dirs.iterdir()) == ["links.csv", "movies.csv", "ratings.csv", "tags.csv"]
    assert (data_dirs / "ratings.csv").read_text() == (tiny_dataset / "ratings.csv").read_text()
    assert sorted(p.name for p in data_dirs.parent.iterdir()) == ["ml-latest-small"]
    assert f"MovieLens ml-latest-small is ready at {data_dirs}" in out.getvalue()


def test_fetch_with_a_wrong_checksum_deletes_the_download(tiny_dataset, data_dirs, grouplens):
    make_zip(tiny_dataset, grouplens / "ml-latest-small.zip")
    (grouplens / "ml-latest-small.zip.md5").write_text("0123456789abcdef0123456789abcdef  ml-latest-small.zip\n")

    with pytest.raises(CommandError) as caught:
        call_command("fetch_movielens")

    message = str(caught.value)
    assert "Checksum mismatch for .ml-latest-small.zip.part" in message
    assert "GroupLens publishes MD5 0123456789abcdef0123456789abcdef" in message
    assert "The download was deleted" in message
    assert not data_dirs.exists()
    assert list(data_dirs.parent.iterdir()) == []


def test_fetch_refuses_when_no_checksum_is_published(tiny_dataset, data_dirs, grouplens):
    make_zip(tiny_dataset, grouplens / "ml-latest-small.zip")
    with pytest.raises(CommandError, match=r"publishes no checksum at .*ml-latest-small.zip.md5 \(HTTP 404\)"):
        call_command("fetch_movielens")
    assert not data_dirs.parent.exists() or list(data_dirs.parent.iterdir()) == []


def test_fetch_offline_explains_what_to_do(data_dirs, settings):
    with socket.socket() as probe:  # a port nobody listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.MOVIELENS_BASE_URL = f"http://127.0.0.1:{port}/datasets/movielens"

    with pytest.raises(CommandError) as caught:
        call_command("fetch_movielens")

    message = str(caught.value)
    assert message.startswith("Could not download MovieLens ml-latest-small from http://127.0.0.1:")
    assert "nothing was written" in message
    assert "MOVIELENS_DIR=/path/to/ml-latest-small" in message
    assert "fetch_movielens --release ml-latest-small --from PATH" in message
    assert "\n" not in message
    assert not data_dirs.parent.exists()


def test_fetch_if_missing_does_nothing_when_a_release_is_there(tiny_dataset, settings, grouplens):
    settings.MOVIELENS_DIR = tiny_dataset
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tiny_dataset.iterdir())
    out = StringIO()
    call_command("fetch_movielens", "--if-missing", stdout=out)
    assert "already at" in out.getvalue()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tiny_dataset.iterdir()) == before


def test_fetch_from_a_zip_on_disk(tiny_dataset, data_dirs, tmp_path):
    archive = make_zip(tiny_dataset, tmp_path / "ml-latest-small.zip")
    call_command("fetch_movielens", "--from", str(archive), verbosity=0)
    assert (data_dirs / "movies.csv").read_text() == (tiny_dataset / "movies.csv").read_text()
    call_command("import_movielens", verbosity=0)
    assert Movie.objects.count() == 5


def test_fetch_from_a_zip_with_a_wrong_md5_beside_it_copies_nothing(tiny_dataset, data_dirs, tmp_path):
    archive = make_zip(tiny_dataset, tmp_path / "ml-latest-small.zip")
    (tmp_path / "ml-latest-small.zip.md5").write_text("ffffffffffffffffffffffffffffffff\n")
    with pytest.raises(CommandError, match="Checksum mismatch .* Nothing was copied"):
        call_command("fetch_movielens", "--from", str(archive))
    assert archive.exists()
    assert not data_dirs.exists()


def test_fetch_from_a_directory_and_refusal_to_overwrite(tiny_dataset, data_dirs):
    call_command("fetch_movielens", "--from", str(tiny_dataset), verbosity=0)
    assert sorted(p.name for p in data_dirs.iterdir()) == ["links.csv", "movies.csv", "ratings.csv", "tags.csv"]
    with pytest.raises(CommandError, match="already holds a MovieLens release. Use --force"):
        call_command("fetch_movielens", "--from", str(tiny_dataset))
    (tiny_dataset / "tags.csv").unlink()
    call_command("fetch_movielens", "--from", str(tiny_dataset), "--force", verbosity=0)
    assert not (data_dirs / "tags.csv").exists()


def test_fetch_from_something_that_is_not_a_release(tmp_path, data_dirs):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="does not hold a MovieLens release"):
        call_command("fetch_movielens", "--from", str(tmp_path / "empty"))
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="broken.zip is not a valid zip file"):
        call_command("fetch_movielens", "--from", str(tmp_path / "broken.zip"))
    assert not data_dirs.exists()
    assert [p.name for p in data_dirs.parent.iterdir()] == []


def test_another_release_goes_beside_movielens_dir(tiny_dataset, data_dirs, tmp_path):
    archive = make_zip(tiny_dataset, tmp_path / "ml-1m.zip", top="ml-1m")
    call_command("fetch_movielens", "--release", "ml-1m", "--from", str(archive), verbosity=0)
    assert (data_dirs.parent / "ml-1m" / "ratings.csv").is_file()


def test_fetch_and_import_ml100k_from_its_zip(data_dirs, tmp_path):
    release = write_ml100k(tmp_path / "src")
    (release / "u1.base").write_text("196\t1\t3\t881250949\n")  # the split files are copied along
    archive = make_zip(release, tmp_path / "ml-100k.zip", top="ml-100k")
    call_command("fetch_movielens", "--release", "ml-100k", "--from", str(archive), verbosity=0)
    target = data_dirs.parent / "ml-100k"
    assert sorted(p.name for p in target.iterdir()) == ["u.data", "u.genre", "u.item", "u1.base"]
    out = StringIO()
    call_command("import_movielens", str(target), stdout=out)
    assert "(ml-100k release)" in out.getvalue()
    assert (Movie.objects.count(), Rating.objects.count()) == (3, 4)


def test_fetch_ml20m_from_a_directory(tiny_dataset, data_dirs):
    call_command("fetch_movielens", "--release", "ml-20m", "--from", str(tiny_dataset), verbosity=0)
    assert (data_dirs.parent / "ml-20m" / "ratings.csv").is_file()


def test_fetch_and_import_of_an_incomplete_release_name_the_missing_file(tmp_path, data_dirs):
    release = write_ml100k(tmp_path / "src")
    (release / "u.item").unlink()
    with pytest.raises(CommandError, match="incomplete MovieLens release: it has u.data but no u.item"):
        call_command("fetch_movielens", "--release", "ml-100k", "--from", str(release))
    archive = make_zip(release, tmp_path / "ml-100k.zip", top="ml-100k")
    with pytest.raises(CommandError, match="ml-100k.zip holds no MovieLens release .*it has u.data but no u.item"):
        call_command("fetch_movielens", "--release", "ml-100k", "--from", str(archive))
    assert not (data_dirs.parent / "ml-100k").exists()
    with pytest.raises(CommandError, match="it has u.data but no u.item"):
        call_command("import_movielens", str(release))


def test_fetch_refuses_an_unknown_release():
    with pytest.raises(CommandError, match="invalid choice: 'ml-5m'"):
        call_command("fetch_movielens", "--release", "ml-5m")
