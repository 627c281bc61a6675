"""The content index built from the database catalog, `similar_movies`, and `build_content`."""
import hashlib
import os
import re
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from movies.engine import content
from movies.models import Genre, Movie, Tag

pytestmark = pytest.mark.django_db


def fake_encode(texts):
    out = np.zeros((len(texts), 32), np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            out[i, int(hashlib.sha1(word.encode()).hexdigest(), 16) % 32] += 1.0
    return out


@pytest.fixture(autouse=True)
def isolated_cache(settings, tmp_path, monkeypatch):
    settings.CACHE_DIR = tmp_path / "cache"
    monkeypatch.setattr(content, "load_minilm_encoder", lambda: fake_encode)
    content.content_reset()
    yield
    content.content_reset()


@pytest.fixture
def catalog():
    scifi, action, romance = (Genre.objects.create(name=n) for n in ("Sci-Fi", "Action", "Romance"))
    specs = [
        (1, "Star Battle", 1999, [scifi, action], "Starships fight aliens."),
        (2, "Star Battle II", 2002, [scifi, action], "The starships return to fight aliens."),
        (3, "Paris Love", 1995, [romance], "Two lovers in Paris."),
        (4, "Quiet Days", None, [], ""),
    ]
    for pk, title, year, genres, overview in specs:
        Movie.objects.create(id=pk, title=title, year=year, overview=overview).genres.set(genres)
    Tag.objects.create(user_id=1, movie_id=1, tag="space", timestamp=1)
    Tag.objects.create(user_id=2, movie_id=1, tag="Space", timestamp=1)
    Tag.objects.create(user_id=2, movie_id=3, tag="romantic", timestamp=1)


def test_catalog_from_db_builds_texts(catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        frame = content.catalog_from_db()
    assert list(frame.movie_id) == [1, 2, 3, 4]
    assert frame.loc[0, "text"] == "Star Battle (1999). Genres: Action, Sci-Fi. Tags: space. Starships fight aliens."
    assert frame.loc[3, "text"] == "Quiet Days."


def test_similar_movies_is_empty_before_any_build(catalog):
    assert content.content_index() is None
    assert content.similar_movies(1) == []


def test_similar_movies_after_build(catalog):
    content.content_build(encoder=fake_encode)
    assert content.similar_movies(1, n=2)[0] == 2
    assert len(content.similar_movies(1, n=3)) == 3
    assert 1 not in content.similar_movies(1, n=3)
    assert content.similar_movies(999) == []
    assert content.similar_movies("not a number") == []


def test_index_is_loaded_from_disk_in_a_fresh_process(catalog):
    content.content_build(encoder=fake_encode)
    content.content_reset()  # as if the web worker had just started
    index = content.content_index()
    assert index is not None and list(index.items.ids) == [1, 2, 3, 4]
    assert content.content_index() is index  # loaded once, then reused


def test_build_content_command_embeds_then_reuses_cache(catalog):
    out = StringIO()
    call_command("build_content", stdout=out)
    assert "4 movies; 4 to embed, 0 cached" in out.getvalue()
    assert "Done in" in out.getvalue()
    assert content.similar_movies(2, n=1) == [1]

    Movie.objects.filter(pk=3).update(overview="A different story now.")
    out = StringIO()
    call_command("build_content", "--dry-run", stdout=out)
    assert "4 movies; 1 to embed, 3 cached" in out.getvalue()
    assert "Done" not in out.getvalue()


def test_build_content_refuses_an_empty_catalog():
    with pytest.raises(CommandError, match="import_movielens"):
        call_command("build_content", stdout=StringIO())
    assert not (content.content_dir()).exists()


CHILD = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "from movies.engine.content import exit_with_parent; "
                          "exit_with_parent(); import time; time.sleep(60)"],
                         env={**os.environ, "CONTENT_BUILD_PARENT_PID": str(os.getpid())})
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_build_started_by_the_server_ends_when_the_server_is_killed():
    import signal
    import subprocess
    import time

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recommender_site.settings.test"}
    server = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env,
                              cwd=Path(__file__).resolve().parents[3])
    child = int(server.stdout.readline())
    time.sleep(2)  # the child has imported and asked the kernel
    assert Path(f"/proc/{child}").exists()
    server.send_signal(signal.SIGKILL)  # no handler can pass anything on: only the kernel can
    server.wait(10)

    def state():  # "gone", or the letter of /proc/<pid>/stat ("Z": ended, not yet reaped)
        try:
            return Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return "gone"

    deadline = time.monotonic() + 10
    while state() not in ("gone", "Z") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state() in ("gone", "Z")


def test_the_server_tells_its_build_child_whose_it_is(monkeypatch, settings, tmp_path):
    calls = []
    monkeypatch.setattr(content, "content_pending", lambda: (3, 3))
    monkeypatch.setattr(content, "content_dir", lambda: tmp_path / "content")
    monkeypatch.setattr(content.subprocess, "run", lambda argv, **kw: calls.append((argv, kw)) or
                        type("Done", (), {"returncode": 0})())
    settings.DATA_DIR = tmp_path
    content._build_if_needed()
    (argv, kw), = calls
    assert argv[-1] == "build_content" and kw["env"][content.PARENT_PID_ENV] == str(os.getpid())
