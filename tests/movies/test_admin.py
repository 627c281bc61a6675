"""The staff admin: access rules, the movie list and page, read-only history, fixed query counts."""
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from movies.admin import DecadeListFilter, MovieAdmin
from movies.models import Genre, Movie, Rating, Tag, Visitor, VisitorMovieFlag, VisitorRating

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:movies_movie_changelist")


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-not-used-123")
    client.force_login(user)
    return client


@pytest.fixture
def catalog():
    """Three movies with genres, links, a poster, tags and ratings (one of each half star on movie 1)."""
    drama, comedy = Genre.objects.create(name="Drama"), Genre.objects.create(name="Comedy")
    toy = Movie.objects.create(id=1, title="Toy Story", year=1995, imdb_id=114709, tmdb_id=862,
                               poster_path="/uXDfjJbdP4ijW5hWSBrPrlKpxab.jpg", rating_count=10, rating_mean=2.75)
    toy.genres.set([comedy])
    heat = Movie.objects.create(id=6, title="Heat", year=1995, imdb_id=113277, tmdb_id=949)
    heat.genres.set([drama])
    Movie.objects.create(id=26, title="Othello", year=1952)
    for user, value in enumerate((0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0), start=1):
        Rating.objects.create(user_id=user, movie=toy, rating=value, timestamp=1)
    Rating.objects.create(user_id=11, movie=toy, rating=5.0, timestamp=1)
    Tag.objects.create(user_id=1, movie=toy, tag="pixar", timestamp=2)
    return toy


@pytest.fixture
def matrix(catalog):
    return Movie.objects.create(id=2571, title="Matrix, The", year=1999)


def make_movies(count: int) -> None:
    genres = [Genre.objects.create(name=f"G{i}") for i in range(3)]
    Movie.objects.bulk_create(
        [Movie(id=1000 + i, title=f"Film {i}", year=1950 + i % 70, rating_count=i) for i in range(count)])
    through = Movie.genres.through
    through.objects.bulk_create(
        [through(movie_id=1000 + i, genre=genre) for i in range(count) for genre in genres[: 1 + i % 3]])


def test_anonymous_requests_are_redirected_to_login(client, catalog):
    for url in ("/admin/", CHANGELIST, reverse("admin:movies_movie_change", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={url}"


def test_signed_in_non_staff_users_are_refused(client, catalog):
    user = get_user_model().objects.create_user("visitor", password="pw-not-used-123")
    client.force_login(user)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    page = client.get(response["Location"])
    assert "You are authenticated as visitor, but are not authorized to access this page" in page.content.decode()


def test_staff_sees_the_movie_list_with_thumbnail_placeholder_genres_and_stats(staff_client, catalog):
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'src="https://image.tmdb.org/t/p/w92/uXDfjJbdP4ijW5hWSBrPrlKpxab.jpg"' in html
    assert html.count('title="No poster"') == 2
    assert "Toy Story" in html and "Othello" in html
    assert "<td class=\"field-genre_names\">Comedy</td>" in html
    assert "<td class=\"field-mean_rating\">2.75</td>" in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"q": "heat"}, ["Heat"]),
        ({"q": "26"}, ["Othello"]),  # MovieLens id
        ({"q": "114709"}, ["Toy Story"]),  # IMDb id
        ({"q": "tt0113277"}, ["Heat"]),
        ({"q": "949"}, ["Heat"]),  # TMDB id
        ({"genres__id__exact": "GENRE:Drama"}, ["Heat"]),
        ({"decade": "1950"}, ["Othello"]),
        ({"decade": "1990", "q": "6"}, ["Heat"]),  # search keeps the filter
        ({"has_poster": "yes"}, ["Toy Story"]),
        ({"has_poster": "no"}, ["Heat", "Othello"]),
    ],
)
def test_search_and_filters(staff_client, catalog, query, expected):
    if "genres__id__exact" in query:
        query = {**query, "genres__id__exact": Genre.objects.get(name="Drama").id}
    response = staff_client.get(CHANGELIST, query)
    assert response.status_code == 200
    assert sorted(movie.title for movie in response.context["cl"].result_list) == expected


@pytest.mark.parametrize("q", ["the matrix", "Matrix, The", "matrix"])
def test_search_finds_the_natural_and_the_movielens_title(staff_client, matrix, q):
    response = staff_client.get(CHANGELIST, {"q": q})
    assert [movie.title for movie in response.context["cl"].result_list] == ["Matrix, The"]


def test_movie_list_shows_the_natural_title_and_the_movielens_one(staff_client, matrix):
    html = staff_client.get(CHANGELIST).content.decode()
    assert '<th class="field-display_title"><a href="/admin/movies/movie/2571/change/">The Matrix</a></th>' in html
    assert '<td class="field-title">Matrix, The</td>' in html


def test_tag_and_rating_times_are_dates(staff_client, catalog):
    Tag.objects.filter(tag="pixar").update(timestamp=1427784000)
    Rating.objects.filter(user_id=11).update(timestamp=964982703)
    tags = staff_client.get(reverse("admin:movies_tag_changelist")).content.decode()
    assert '<td class="field-tagged_at">2015-03-31 06:40 UTC</td>' in tags
    ratings = staff_client.get(reverse("admin:movies_rating_changelist"), {"q": "11"}).content.decode()
    assert '<td class="field-rated_at">2000-07-30 18:45 UTC</td>' in ratings
    page = staff_client.get(reverse("admin:movies_movie_change", args=[1])).content.decode()
    assert "2015-03-31 06:40 UTC" in page


def test_decade_filter_offers_every_decade_in_the_catalog(catalog, rf):
    decade = DecadeListFilter(rf.get("/"), {}, Movie, admin.site._registry[Movie])
    assert decade.lookup_choices == [("1990", "1990s"), ("1980", "1980s"), ("1970", "1970s"),
                                     ("1960", "1960s"), ("1950", "1950s")]


@pytest.mark.parametrize("page_size", [5, 60])
def test_movie_list_runs_a_fixed_number_of_queries(staff_client, django_assert_num_queries, monkeypatch,
                                                   page_size):
    make_movies(60)
    monkeypatch.setattr(admin.site._registry[Movie], "list_per_page", page_size)
    # session, user, decade range (2), genre filter choices, page count, page rows, prefetched genres
    with django_assert_num_queries(8):
        response = staff_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == page_size


def test_movie_page_shows_links_tags_and_the_histogram(staff_client, catalog):
    response = staff_client.get(reverse("admin:movies_movie_change", args=[1]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="https://www.imdb.com/title/tt0114709/"' in html
    assert 'href="https://www.themoviedb.org/movie/862"' in html
    assert "pixar" in html
    assert html.count('class="histogram-bar"') == 10
    # Ten bars, one rating each except 5 stars with two: the tallest is 200px, the others 100px.
    assert html.count("width:100px") == 9 and html.count("width:200px") == 1


def test_histogram_is_one_query(catalog, django_assert_num_queries):
    with django_assert_num_queries(1):
        html = MovieAdmin(Movie, admin.site).rating_histogram(catalog)
    assert "5★" in html and "0.5★" in html


@pytest.mark.parametrize("model", [Rating, Tag, Visitor, VisitorRating, VisitorMovieFlag])
def test_history_and_visitor_data_are_read_only(staff_client, catalog, model, rf):
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = get_user_model().objects.get(username="boss")
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    changelist = reverse(f"admin:movies_{model._meta.model_name}_changelist")
    assert staff_client.get(changelist).status_code == 200
    assert staff_client.get(reverse(f"admin:movies_{model._meta.model_name}_add")).status_code == 403


def test_rating_page_is_view_only(staff_client, catalog):
    rating = Rating.objects.get(user_id=11)
    url = reverse("admin:movies_rating_change", args=[rating.id])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"user_id": 99, "movie": 1, "rating": 1.0, "timestamp": 5})
    assert response.status_code == 403
    rating.refresh_from_db()
    assert (rating.user_id, rating.rating) == (11, 5.0)


def test_genre_list_counts_movies(staff_client, catalog):
    response = staff_client.get(reverse("admin:movies_genre_changelist"))
    assert response.status_code == 200
    counts = {genre.name: genre.movie_count for genre in response.context["cl"].result_list}
    assert counts == {"Comedy": 1, "Drama": 1}


def test_first_staff_account_can_be_created_non_interactively(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-passphrase-42")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "admin@example.com")
    call_command("createsuperuser", interactive=False, verbosity=0)
    user = get_user_model().objects.get(username="admin")
    assert user.is_staff and user.is_superuser and user.check_password("a-long-passphrase-42")


def test_staff_can_edit_a_movie_while_its_tags_stay_read_only(staff_client, catalog):
    url = reverse("admin:movies_movie_change", args=[1])
    form = staff_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({
        "title": "Toy Story!", "genres": [genre.id for genre in Genre.objects.all()],
        "tags-TOTAL_FORMS": "1", "tags-INITIAL_FORMS": "1", "tags-MIN_NUM_FORMS": "0", "tags-MAX_NUM_FORMS": "1000",
        "tags-0-id": str(Tag.objects.get().id), "tags-0-movie": "1", "tags-0-tag": "changed",
    })
    data.pop("id", None)
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    movie = Movie.objects.get(pk=1)
    assert movie.title == "Toy Story!"
    assert movie.genres.count() == 2
    assert list(Tag.objects.values_list("tag", flat=True)) == ["pixar"]
