"""Importing IMDb / Letterboxd ratings (upload, preview, confirm) and exporting one's own as CSV."""
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from movies import services
from movies.integrations import rating_files
from movies.models import Visitor, VisitorMovieFlag, VisitorRating
from movies.web.views import IMPORT_SESSION_KEY
from tests.movies.conftest import make_movie

pytestmark = pytest.mark.django_db

UPLOAD = reverse("movies:ratings_import")
CONFIRM = reverse("movies:ratings_import_confirm")

IMDB = (
    "Const,Your Rating,Date Rated,Title,URL,Title Type,Year\n"
    "tt0133093,10,2020-01-02,The Matrix,https://www.imdb.com/title/tt0133093/,Movie,1999\n"
    "tt0113277,7,2020-01-03,Heat,https://www.imdb.com/title/tt0113277/,Movie,1995\n"
    "tt9999999,8,2020-01-03,Toy Story,https://www.imdb.com/title/tt9999999/,Movie,1995\n"  # id not linked: by title
    "tt7654321,6,2020-01-04,Some Series,https://www.imdb.com/title/tt7654321/,TV Series,2011\n"
)
LETTERBOXD = (
    "Date,Name,Year,Letterboxd URI,Rating\n"
    "2021-05-01,Amélie,2001,https://boxd.it/1,4.5\n"  # MovieLens: "Amélie (Fabuleux destin d'Amélie Poulain, Le)"
    "2021-05-02,The City of Lost Children,1995,https://boxd.it/2,3\n"
    "2021-05-03,Le Fabuleux destin d'Amélie Poulain,2002,https://boxd.it/3,4\n"  # alternative title, year off by one
    "2021-05-04,Nowhere Film,1990,https://boxd.it/4,2\n"
)


@pytest.fixture
def linked_catalog(db):
    return {
        "matrix": make_movie(2571, "Matrix, The", year=1999, genres=["Action"], rating_count=278, imdb_id=133093),
        "heat": make_movie(6, "Heat", year=1995, genres=["Crime"], rating_count=102, imdb_id=113277),
        "toy": make_movie(1, "Toy Story", year=1995, genres=["Comedy"], rating_count=215, imdb_id=114709),
        "amelie": make_movie(4973, "Amélie (Fabuleux destin d'Amélie Poulain, Le)", year=2001, genres=["Comedy"],
                             rating_count=120),
        "lost": make_movie(29, "City of Lost Children, The (Cité des enfants perdus, La)", year=1995,
                           genres=["Fantasy"], rating_count=38),
    }


def upload(client, text, name="ratings.csv"):
    data = text if isinstance(text, bytes) else text.encode()
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def stored(client) -> dict[int, float]:
    return dict(VisitorRating.objects.values_list("movie_id", "rating"))


def test_the_page_explains_what_to_upload(client):
    response = client.get(UPLOAD)
    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content and b"csrfmiddlewaretoken" in response.content


def test_imdb_upload_shows_matches_and_misses_and_stores_nothing_yet(client, linked_catalog):
    response = upload(client, IMDB)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [(item.movie.id, item.stars) for item in preview.matched] == [(2571, 5.0), (6, 3.5), (1, 4.0)]
    assert preview.unmatched == ["Some Series (2011)"]
    html = response.content.decode()
    assert "<strong><span data-import-matched>3</span> of 4</strong> IMDb ratings matched" in html
    assert '<li class="import-list__missing">Some Series (2011)</li>' in html
    assert stored(client) == {} and not Visitor.objects.exists()
    assert client.session[IMPORT_SESSION_KEY] == [[2571, 5.0], [6, 3.5], [1, 4.0]]


def test_letterboxd_upload_matches_natural_and_alternative_titles(client, linked_catalog):
    preview = upload(client, LETTERBOXD).context["preview"]
    # Amélie twice (by its title proper, then by its French title a year off): the later row wins.
    assert [(item.movie.id, item.stars) for item in preview.matched] == [(29, 3.0), (4973, 4.0)]
    assert preview.unmatched == ["Nowhere Film (1990)"]


def test_confirm_stores_every_match_in_one_go_replacing_and_unskipping(client, linked_catalog):
    visitor = services.visitor_get_or_create(session=client.session, user=None)
    client.cookies["sessionid"] = client.session.session_key
    session = client.session
    session[services.VISITOR_SESSION_KEY] = str(visitor.pk)
    session.save()
    services.rating_record(visitor=visitor, movie_id=6, rating=1.0)
    services.movie_skip(visitor=visitor, movie_id=1)
    preview = upload(client, IMDB).context["preview"]
    assert preview.changed_count == 1
    response = client.post(CONFIRM)
    assert response.status_code == 302 and response["Location"] == "/#recommendations"
    assert stored(client) == {2571: 5.0, 6: 3.5, 1: 4.0}
    assert not VisitorMovieFlag.objects.exists()
    assert IMPORT_SESSION_KEY not in client.session
    home = client.get(response["Location"]).content.decode()
    assert "Imported 3 ratings." in home
    assert "data-rec-movie-id" in home  # three ratings: recommendations appear


def test_confirm_without_an_upload_changes_nothing(client, linked_catalog):
    response = client.post(CONFIRM)
    assert response.status_code == 302 and response["Location"] == UPLOAD
    assert stored(client) == {}
    assert client.get(UPLOAD).context["messages"]._loaded_messages[0].message == services.ERROR_IMPORT_NOTHING


def test_upload_and_confirm_are_posts_with_csrf(linked_catalog):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.get(CONFIRM).status_code == 405
    assert strict.post(CONFIRM).status_code == 403
    assert strict.post(UPLOAD, {"file": SimpleUploadedFile("r.csv", IMDB.encode())}).status_code == 403
    assert IMPORT_SESSION_KEY not in strict.session
    page = strict.get(UPLOAD)
    token = page.cookies["csrftoken"].value
    response = strict.post(UPLOAD, {"file": SimpleUploadedFile("r.csv", IMDB.encode()), "csrfmiddlewaretoken": token})
    assert response.status_code == 200 and len(response.context["preview"].matched) == 3


@pytest.mark.parametrize("data, message", [
    (b"movie,stars\nHeat,4\n", rating_files.ERROR_WRONG_COLUMNS),
    ("Name,Year,Rating\nAmélie,2001,4\n".encode("latin-1"), rating_files.ERROR_NOT_UTF8),
    (b"\x89PNG\r\n\x1a\n\x00\x00", rating_files.ERROR_NOT_CSV),
    (b"Const,Your Rating\n" + b"x" * (rating_files.MAX_BYTES + 1), rating_files.ERROR_TOO_BIG),
    (b"", rating_files.ERROR_EMPTY),
])
def test_bad_files_get_a_clear_message_and_change_nothing(client, linked_catalog, data, message):
    upload(client, IMDB)  # a pending import from before is dropped by a bad upload
    response = upload(client, data)
    assert response.status_code == 400
    assert escape(message) in response.content.decode()
    assert IMPORT_SESSION_KEY not in client.session
    assert client.post(CONFIRM)["Location"] == UPLOAD
    assert stored(client) == {}


def test_a_huge_request_is_refused_before_its_body_is_read(client, linked_catalog, monkeypatch):
    from django.core.handlers.wsgi import WSGIRequest

    def never(self):
        raise AssertionError("the body was read")

    monkeypatch.setattr(WSGIRequest, "_load_post_and_files", never)
    response = client.post(UPLOAD, data=b"x", content_type="multipart/form-data; boundary=b",
                           CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert response.status_code == 400
    assert escape(rating_files.ERROR_TOO_BIG) in response.content.decode()


def test_upload_without_a_file_is_a_400(client, linked_catalog):
    response = client.post(UPLOAD, {})
    assert response.status_code == 400
    assert "Choose the CSV file of your IMDb or Letterboxd ratings." in response.content.decode()


def test_a_file_with_no_match_offers_nothing_to_confirm(client, linked_catalog):
    response = upload(client, "Name,Year,Rating\nNowhere Film,1990,2\n")
    assert response.status_code == 200
    assert b"import-confirm" not in response.content
    assert IMPORT_SESSION_KEY not in client.session


def test_ratings_import_service_is_all_or_nothing(linked_catalog):
    visitor = Visitor.objects.create()
    with pytest.raises(services.ValidationError):
        services.ratings_import(visitor=visitor, ratings={2571: 5.0, 424242: 4.0})
    with pytest.raises(services.ValidationError):
        services.ratings_import(visitor=visitor, ratings={2571: 5.0, 6: 4.3})
    assert not VisitorRating.objects.exists()
    assert services.ratings_import(visitor=visitor, ratings={2571: 5.0, 6: 4.5}) == 2


def test_export_is_a_csv_of_ones_own_ratings(client, linked_catalog):
    assert client.get(reverse("movies:ratings_export")).content.decode().splitlines() == [
        "movielens_id,imdb_id,title,year,rating,rated_at"]
    upload(client, IMDB)
    client.post(CONFIRM)
    response = client.get(reverse("movies:ratings_export"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="my-ratings.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [row[:5] for row in rows[1:]] == [["1", "tt0114709", "Toy Story", "1995", "4"],
                                            ["6", "tt0113277", "Heat", "1995", "3.5"],
                                            ["2571", "tt0133093", "The Matrix", "1999", "5"]]
    # Another browser sees none of them.
    from django.test import Client

    assert len(Client().get(reverse("movies:ratings_export")).content.decode().splitlines()) == 1
