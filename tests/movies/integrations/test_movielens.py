"""movielens_import: exact catalog contents, idempotence, atomicity, line-numbered errors, both formats."""
import pytest
from django.db import IntegrityError, connection, transaction

from movies.integrations.movielens import MovieLensError
from movies.integrations.movielens.importer import movielens_import
from movies.models import Genre, Movie, Rating, Tag
from recsys.data.titles import split_title_year as title_split
from tests.conftest import TINY_LINKS, TINY_MOVIES, TINY_RATINGS, TINY_TAGS, write_dataset, write_ml100k

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    """Every row the importer can touch, ids included, to compare before and after."""
    return {
        "movies": list(Movie.objects.order_by("id").values()),
        "genres": list(Genre.objects.order_by("id").values()),
        "movie_genres": list(Movie.genres.through.objects.order_by("id").values()),
        "tags": list(Tag.objects.order_by("id").values()),
        "ratings": list(Rating.objects.order_by("id").values()),
    }


def tiny(tmp_path, name="tiny", **overrides):
    files = {"movies_csv": TINY_MOVIES, "ratings_csv": TINY_RATINGS, "tags_csv": TINY_TAGS,
             "links_csv": TINY_LINKS}
    files.update(overrides)
    return write_dataset(tmp_path / name, **files)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Toy Story (1995)", ("Toy Story", 1995)),
        ("(500) Days of Summer (2009)", ("(500) Days of Summer", 2009)),
        ("Babylon 5", ("Babylon 5", None)),
        ("Runaway Brain (1995) ", ("Runaway Brain", 1995)),
        ("Shall We Dance? (Shall we dansu?) (1996)", ("Shall We Dance? (Shall we dansu?)", 1996)),
        ("Death Note: Desu nôto (2006–2007)", ("Death Note: Desu nôto", 2006)),
        ("Fawlty Towers (1975-1979)", ("Fawlty Towers", 1975)),
        ("1984 (1956)", ("1984", 1956)),
        ("(2019)", ("(2019)", None)),
    ],
)
def test_title_split_separates_the_trailing_year(raw, expected):
    assert title_split(raw) == expected


def test_import_loads_every_table_with_exact_values(tiny_dataset):
    summary = movielens_import(path=tiny_dataset)

    assert (summary.movies, summary.genres, summary.links, summary.tags, summary.ratings, summary.users) == (
        5, 10, 5, 3, 6, 3)
    toy = Movie.objects.get(pk=1)
    assert (toy.title, toy.year, toy.imdb_id, toy.tmdb_id) == ("Toy Story", 1995, 114709, 862)
    assert sorted(toy.genres.values_list("name", flat=True)) == [
        "Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert (toy.rating_count, toy.rating_mean) == (2, 4.5)
    president = Movie.objects.get(pk=4)
    assert (president.title, president.tmdb_id, president.rating_count, president.rating_mean) == (
        "American President, The", None, 1, 0.5)
    unknown = Movie.objects.get(pk=5)
    assert (unknown.title, unknown.year, unknown.genres.count(), unknown.rating_count, unknown.rating_mean) == (
        "Unknown Film", None, 0, 0, None)
    assert not Genre.objects.filter(name="(no genres listed)").exists()
    assert Genre.objects.count() == 10
    assert sorted(Rating.objects.values_list("user_id", "movie_id", "rating", "timestamp")) == [
        (1, 1, 4.0, 964982703), (1, 3, 4.5, 964981247), (2, 1, 5.0, 964982224),
        (2, 2, 3.0, 964983815), (2, 4, 0.5, 964982931), (3, 3, 2.5, 964982400)]
    assert sorted(Tag.objects.values_list("user_id", "movie_id", "tag", "timestamp")) == [
        (2, 1, "fun", 1445714996), (2, 1, "pixar", 1445714994), (3, 3, "heist", 1445715000)]


def test_second_import_changes_nothing(tiny_dataset):
    movielens_import(path=tiny_dataset)
    before = snapshot()
    movielens_import(path=tiny_dataset)
    assert snapshot() == before


def test_reimport_keeps_tmdb_fields_and_follows_changed_data(tmp_path):
    movielens_import(path=tiny(tmp_path, "first"))
    Movie.objects.filter(pk=1).update(poster_path="/toy.jpg", overview="Toys come alive.")
    kept_rating_id = Rating.objects.get(user_id=1, movie_id=1).id
    # User 2 no longer rated movie 1, user 1 changed a rating, Heat lost its Crime genre.
    ratings = TINY_RATINGS.replace("2,1,5.0,964982224\n", "").replace("1,3,4.5,", "1,3,3.5,")
    movies = TINY_MOVIES.replace("Action|Crime|Thriller", "Action|Thriller")
    movielens_import(path=tiny(tmp_path, "second", ratings_csv=ratings, movies_csv=movies))

    toy = Movie.objects.get(pk=1)
    assert (toy.poster_path, toy.overview, toy.rating_count, toy.rating_mean) == (
        "/toy.jpg", "Toys come alive.", 1, 4.0)
    assert Rating.objects.count() == 5
    assert Rating.objects.get(user_id=1, movie_id=3).rating == 3.5
    assert Movie.objects.get(pk=3).rating_mean == 3.0
    assert sorted(Movie.objects.get(pk=3).genres.values_list("name", flat=True)) == ["Action", "Thriller"]
    assert Rating.objects.filter(user_id=1, movie_id=1).exists()
    assert kept_rating_id != 0


def test_upsert_keeps_ids_of_unchanged_ratings(tmp_path):
    movielens_import(path=tiny(tmp_path, "first"))
    ids = {(u, m): pk for pk, u, m in Rating.objects.values_list("id", "user_id", "movie_id")}
    movielens_import(path=tiny(tmp_path, "second", ratings_csv=TINY_RATINGS.replace("1,3,4.5,", "1,3,3.5,")))
    assert {(u, m): pk for pk, u, m in Rating.objects.values_list("id", "user_id", "movie_id")} == ids


# (file to replace, its new content, the error expected)
MALFORMED = {
    "missing column in header": (
        "ratings_csv", "userId,movieId,timestamp\n1,1,964982703\n",
        "ratings.csv, line 1: missing column rating in the header"),
    "missing field in a row": (
        "ratings_csv", TINY_RATINGS + "3,1,4.0\n", "ratings.csv, line 8: missing timestamp"),
    "too many fields in a row": (
        "ratings_csv", TINY_RATINGS + "3,1,4.0,1,9\n", "ratings.csv, line 8: expected 4 fields, found 5"),
    "non-numeric user id": (
        "ratings_csv", TINY_RATINGS.replace("3,3,2.5", "x3,3,2.5"),
        "ratings.csv, line 7: userId 'x3' is not a non-negative integer"),
    "non-numeric movie id in movies": (
        "movies_csv", TINY_MOVIES.replace("3,Heat", "three,Heat"),
        "movies.csv, line 4: movieId 'three' is not a non-negative integer"),
    "rating out of range": (
        "ratings_csv", TINY_RATINGS.replace("2,2,3.0", "2,2,5.5"),
        "ratings.csv, line 5: rating '5.5' is not one of 0.5, 1.0, ... 5.0"),
    "rating zero": (
        "ratings_csv", TINY_RATINGS.replace("2,2,3.0", "2,2,0"),
        "ratings.csv, line 5: rating '0' is not one of"),
    "rating not a half step": (
        "ratings_csv", TINY_RATINGS.replace("2,2,3.0", "2,2,3.2"),
        "ratings.csv, line 5: rating '3.2' is not one of"),
    "unknown movie in ratings": (
        "ratings_csv", TINY_RATINGS + "3,99,4.0,964982400\n",
        "ratings.csv, line 8: unknown movie 99 (not in the movies file)"),
    "unknown movie in tags": (
        "tags_csv", TINY_TAGS + "3,42,noir,1445715000\n", "tags.csv, line 5: unknown movie 42"),
    "non-numeric imdb id": (
        "links_csv", TINY_LINKS.replace("0113497", "tt0113497"),
        "links.csv, line 3: imdbId 'tt0113497' is not a non-negative integer"),
    "repeated movie id": (
        "movies_csv", TINY_MOVIES + "2,Jumanji again (1995),Comedy\n",
        "movies.csv, line 7: movieId 2 repeats line 3"),
    "same user rates a movie twice": (
        "ratings_csv", TINY_RATINGS + "1,1,3.0,964982999\n",
        "ratings.csv, line 8: user 1 rates movie 1 a second time"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_file_names_file_line_and_problem_and_changes_nothing(tmp_path, name):
    movielens_import(path=tiny(tmp_path, "good"))
    before = snapshot()
    key, content, message = MALFORMED[name]
    bad = tiny(tmp_path, "bad", **{key: content})

    with pytest.raises(MovieLensError) as caught:
        movielens_import(path=bad)

    assert message in str(caught.value)
    assert "the database is unchanged" in str(caught.value)
    assert snapshot() == before


@pytest.mark.parametrize("filename, line", [("movies.csv", 4), ("ratings.csv", 4), ("tags.csv", 3)])
def test_undecodable_bytes_are_reported_with_their_line(tmp_path, filename, line):
    movielens_import(path=tiny(tmp_path, "good"))
    before = snapshot()
    bad = tiny(tmp_path, "bad")
    path = bad / filename
    lines = path.read_bytes().split(b"\n")
    lines[line - 1] = lines[line - 1].replace(b",", b"\xff,", 1)
    path.write_bytes(b"\n".join(lines))

    with pytest.raises(MovieLensError, match=rf"{filename}, line {line}: undecodable bytes"):
        movielens_import(path=bad)
    assert snapshot() == before


def test_error_line_numbers_stay_right_across_chunks(tmp_path):
    ratings = TINY_RATINGS + "3,2,4.0,1\n3,4,4.0,1\n3,5,7,1\n"
    with pytest.raises(MovieLensError, match="ratings.csv, line 10: rating '7'"):
        movielens_import(path=tiny(tmp_path, ratings_csv=ratings), chunk_rows=2)
    assert Movie.objects.count() == 0


def test_small_chunks_give_the_same_catalog(tmp_path):
    movielens_import(path=tiny(tmp_path), chunk_rows=4)
    small_chunks = snapshot()
    assert len(small_chunks["ratings"]) == 6
    assert Movie.objects.get(pk=1).rating_mean == 4.5


def test_blank_tags_and_repeated_tags_are_skipped(tmp_path):
    tags = TINY_TAGS + "3,3,heist,1445715001\n3,2,,1445715002\n"
    summary = movielens_import(path=tiny(tmp_path, tags_csv=tags))
    assert summary.tags == 3
    assert Tag.objects.count() == 3


def test_dat_release_ml_1m_style_with_latin1_titles(tmp_path):
    directory = tmp_path / "ml-1m"
    directory.mkdir()
    (directory / "movies.dat").write_bytes(
        "1::Toy Story (1995)::Animation|Children's|Comedy\n"
        "2::Café Society (1995)::Drama\n"
        "3::Città aperta (1945)::Drama|War\n".encode("latin-1"))
    (directory / "ratings.dat").write_bytes(b"1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n")
    (directory / "users.dat").write_bytes(b"1::F::1::10::48067\n2::M::56::16::70072\n")

    summary = movielens_import(path=directory)

    assert (summary.format, summary.movies, summary.ratings, summary.users, summary.links) == ("dat", 3, 3, 2, 0)
    assert list(Movie.objects.order_by("id").values_list("title", "year")) == [
        ("Toy Story", 1995), ("Café Society", 1995), ("Città aperta", 1945)]
    assert Movie.objects.get(pk=1).rating_mean == 4.5
    assert sorted(Genre.objects.values_list("name", flat=True)) == [
        "Animation", "Children's", "Comedy", "Drama", "War"]


def test_dat_release_ml_10m_style_with_tags(tmp_path):
    directory = tmp_path / "ml-10M100K"
    directory.mkdir()
    (directory / "movies.dat").write_text(
        "1::Toy Story (1995)::Adventure|Animation\n2::Jumanji (1995)::(no genres listed)\n", encoding="utf-8")
    (directory / "ratings.dat").write_text("1::1::4.5::838985046\n1::2::3.5::838983525\n", encoding="utf-8")
    (directory / "tags.dat").write_text("15::1::Pixar animation::1162160236\n15::2::jungle::1162160237\n",
                                        encoding="utf-8")

    movielens_import(path=directory)

    assert sorted(Tag.objects.values_list("user_id", "movie_id", "tag")) == [
        (15, 1, "Pixar animation"), (15, 2, "jungle")]
    assert Movie.objects.get(pk=2).genres.count() == 0
    assert list(Rating.objects.order_by("movie_id").values_list("rating", flat=True)) == [4.5, 3.5]


def test_dat_ratings_with_a_bad_line_are_refused_with_its_number(tmp_path):
    directory = tmp_path / "ml-1m"
    directory.mkdir()
    (directory / "movies.dat").write_text("1::Toy Story (1995)::Animation\n", encoding="latin-1")
    (directory / "ratings.dat").write_text("1::1::5::978300760\n2::1::6::978300761\n", encoding="latin-1")
    with pytest.raises(MovieLensError, match="ratings.dat, line 2: rating '6'"):
        movielens_import(path=directory)


def test_ml100k_release_imports_movies_genres_and_whole_star_ratings(tmp_path):
    summary = movielens_import(path=write_ml100k(tmp_path / "ml-100k"))

    assert (summary.format, summary.movies, summary.ratings, summary.users, summary.links, summary.tags) == (
        "ml-100k", 3, 4, 3, 0, 0)
    assert list(Movie.objects.order_by("id").values_list("id", "title", "year", "imdb_id")) == [
        (1, "Toy Story", 1995, None), (2, "Misérables, Les", 1995, None), (267, "unknown", None, None)]
    assert sorted(Movie.objects.get(pk=1).genres.values_list("name", flat=True)) == [
        "Animation", "Children's", "Comedy"]
    assert Movie.objects.get(pk=267).genres.count() == 0
    assert not Genre.objects.filter(name="unknown").exists()
    assert (Movie.objects.get(pk=1).rating_count, Movie.objects.get(pk=1).rating_mean) == (2, 4.0)
    assert sorted(Rating.objects.values_list("user_id", "movie_id", "rating", "timestamp")) == [
        (22, 267, 4.0, 880606923), (186, 1, 5.0, 891717742), (196, 1, 3.0, 881250949), (196, 2, 1.0, 878887116)]


def test_ml100k_rating_of_an_unknown_movie_is_refused_and_nothing_imported(tmp_path):
    directory = write_ml100k(tmp_path / "ml-100k", data="196\t1\t3\t881250949\n196\t999\t3\t881250950\n")
    with pytest.raises(MovieLensError, match="u.data, line 2: unknown movie 999"):
        movielens_import(path=directory)
    assert Movie.objects.count() == 0


def test_ml20m_csv_release_imports_and_ignores_the_genome_files(tmp_path):
    directory = tiny(tmp_path, "ml-20m", genome_scores_csv="movieId,tagId,relevance\n1,1,0.025\n",
                     genome_tags_csv="tagId,tag\n1,007\n")
    summary = movielens_import(path=directory)
    assert (summary.format, summary.movies, summary.ratings, summary.tags, summary.links) == ("csv", 5, 6, 3, 5)


def test_an_incomplete_release_is_refused_naming_the_missing_file(tmp_path):
    directory = write_ml100k(tmp_path / "ml-100k")
    (directory / "u.item").unlink()
    with pytest.raises(MovieLensError, match="incomplete MovieLens release: it has u.data but no u.item"):
        movielens_import(path=directory)
    assert Movie.objects.count() == 0


def test_a_directory_without_a_release_is_refused(tmp_path):
    with pytest.raises(MovieLensError, match="is not a MovieLens dataset"):
        movielens_import(path=tmp_path)


@pytest.mark.realdata
def test_real_ml_latest_small_imports_completely(movielens_small_dir):
    summary = movielens_import(path=movielens_small_dir)

    assert (summary.movies, summary.ratings, summary.users, summary.tags, summary.genres) == (
        9742, 100836, 610, 3683, 19)
    assert Movie.objects.count() == 9742
    assert Rating.objects.count() == 100836
    assert Rating.objects.values("user_id").distinct().count() == 610
    assert Tag.objects.count() == 3683
    assert Genre.objects.count() == 19
    assert Movie.objects.filter(rating_count__gt=0).count() == 9724
    assert Movie.objects.get(pk=1).rating_count == 215


def rating_indexes() -> set:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Rating._meta.db_table)
    return {name for name, details in constraints.items() if details["index"] or details["unique"]}


def test_a_repeat_across_chunks_is_refused_and_the_indexes_survive(tmp_path):
    indexes = rating_indexes()
    assert "rating_one_per_user_movie" in indexes
    ratings = TINY_RATINGS + "1,1,3.0,964982999\n"
    with pytest.raises(MovieLensError, match="ratings.csv: a user rates the same movie twice"):
        movielens_import(path=tiny(tmp_path, ratings_csv=ratings), chunk_rows=3)
    assert Movie.objects.count() == 0
    assert rating_indexes() == indexes
    movielens_import(path=tiny(tmp_path, "good"))
    assert rating_indexes() == indexes
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(user_id=1, movie_id=1, rating=1.0, timestamp=1)


def test_reimport_with_fewer_tags_leaves_exactly_the_files_tags(tmp_path):
    movielens_import(path=tiny(tmp_path, "first"))
    movielens_import(path=tiny(tmp_path, "second", tags_csv=TINY_TAGS.replace("2,1,fun,1445714996\n", "")))
    assert sorted(Tag.objects.values_list("user_id", "movie_id", "tag")) == [(2, 1, "pixar"), (3, 3, "heist")]
