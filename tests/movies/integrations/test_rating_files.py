"""Reading IMDb and Letterboxd rating exports: formats, star scales, and every bad file refused."""
import pytest

from movies.integrations import rating_files
from movies.integrations.rating_files import FileRating, RatingFileError, rating_file_parse

IMDB = (
    "Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres\r\n"
    "tt0133093,10,2020-01-02,The Matrix,The Matrix,https://www.imdb.com/title/tt0133093/,Movie,8.7,136,1999,Action\r\n"
    'tt0113277,7,2020-01-03,Heat,Heat,https://www.imdb.com/title/tt0113277/,Movie,8.3,170,1995,"Crime, Drama"\r\n'
    "tt0000001,1,2020-01-04,Carmencita,Carmencita,,Short,5.7,1,1894,Documentary\r\n"
    "tt0000002,,2020-01-04,No rating,,,Movie,,,2001,\r\n"
)
LETTERBOXD = (
    "Date,Name,Year,Letterboxd URI,Rating\n"
    "2021-05-01,Amélie,2001,https://boxd.it/1,4.5\n"
    "2021-05-02,The Matrix,1999,https://boxd.it/2,5\n"
    "2021-05-03,Unrated Film,2010,https://boxd.it/3,\n"
)


def test_imdb_export_is_read_with_ten_points_as_half_stars():
    parsed = rating_file_parse(("\ufeff" + IMDB).encode())
    assert parsed.format == rating_files.FORMAT_IMDB
    assert parsed.ratings == [
        FileRating(line=2, imdb_id=133093, title="The Matrix", year=1999, stars=5.0),
        FileRating(line=3, imdb_id=113277, title="Heat", year=1995, stars=3.5),
        FileRating(line=4, imdb_id=1, title="Carmencita", year=1894, stars=0.5),
    ]
    assert parsed.skipped_lines == [5]


def test_letterboxd_export_is_read_and_unrated_rows_left_out():
    parsed = rating_file_parse(LETTERBOXD.encode())
    assert parsed.format == rating_files.FORMAT_LETTERBOXD
    assert [(r.title, r.year, r.stars, r.imdb_id) for r in parsed.ratings] == [
        ("Amélie", 2001, 4.5, None), ("The Matrix", 1999, 5.0, None)]
    assert parsed.skipped_lines == [4]
    assert parsed.ratings[0].label == "Amélie (2001)"


@pytest.mark.parametrize("data, message", [
    (b"", rating_files.ERROR_EMPTY),
    (b"  \n", rating_files.ERROR_EMPTY),
    (b"Const,Your Rating\n" + b"tt0133093,10," + b"x" * 1024 * 1024 + b"\n", rating_files.ERROR_TOO_BIG),
    (b"Const,Your Rating\n" + b"tt1,9\n" * 10_001, rating_files.ERROR_TOO_MANY_ROWS),
    ("Name,Year,Rating\nAmélie,2001,4\n".encode("latin-1"), rating_files.ERROR_NOT_UTF8),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", rating_files.ERROR_NOT_CSV),
    (b"just one line of prose without commas\n", rating_files.ERROR_NOT_CSV),
    (b'Name,Year,Rating\n"Heat,1995,4\n', rating_files.ERROR_NOT_CSV),
    (b"movie,stars\nHeat,4\n", rating_files.ERROR_WRONG_COLUMNS),
    (b"Const,Your Rating\n", rating_files.ERROR_NO_RATINGS),
    (b"Name,Year,Rating\nHeat,1995,7\nHeat,1995,4.3\n", rating_files.ERROR_NO_RATINGS),
])
def test_bad_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(RatingFileError) as error:
        rating_file_parse(data)
    assert str(error.value) == message
