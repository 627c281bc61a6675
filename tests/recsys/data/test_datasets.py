"""MovieLens readers: both on-disk formats give the same columns and values."""
import numpy as np
import pandas as pd
import pytest

from recsys.data import checked, datasets
from tests.conftest import U100K_ITEMS, write_dataset, write_ml100k


def test_csv_release_loads_with_canonical_columns(tiny_dataset):
    ratings = datasets.load_ratings(tiny_dataset)
    assert list(ratings.columns) == ["user_id", "movie_id", "rating", "timestamp"]
    assert ratings.dtypes["rating"] == np.float32
    assert ratings["rating"].tolist() == [4.0, 4.5, 5.0, 3.0, 0.5, 2.5]
    movies = datasets.load_movies(tiny_dataset)
    assert movies.loc[movies.movie_id == 4, "title"].item() == "American President, The (1995)"
    links = datasets.load_links(tiny_dataset)
    assert links.loc[links.movie_id == 1, "tmdb_id"].item() == 862
    assert links.loc[links.movie_id == 4, "tmdb_id"].isna().item()


def test_dat_release_loads_latin1_titles(tmp_path):
    directory = tmp_path / "ml-1m"
    directory.mkdir()
    (directory / "movies.dat").write_bytes("1::Café Society (1995)::Drama|Romance\n".encode("latin-1"))
    (directory / "ratings.dat").write_bytes(b"7::1::4::978300760\n8::1::2::978300761\n")
    assert datasets.locate(directory).format == datasets.DAT
    movies = datasets.load_movies(directory)
    assert movies["title"].tolist() == ["Café Society (1995)"]
    ratings = datasets.load_ratings(directory)
    assert ratings[["user_id", "movie_id", "rating"]].values.tolist() == [[7, 1, 4.0], [8, 1, 2.0]]
    assert datasets.load_tags(directory).empty
    assert datasets.load_links(directory).empty


def test_missing_files_raise_a_clear_error(tmp_path):
    write_dataset(tmp_path / "half", movies_csv="movieId,title,genres\n")
    with pytest.raises(datasets.DatasetError, match="incomplete MovieLens release: it has movies.csv but no ratings.csv"):
        datasets.locate(tmp_path / "half")
    (tmp_path / "empty").mkdir()
    with pytest.raises(datasets.DatasetError, match="not a MovieLens dataset"):
        datasets.locate(tmp_path / "empty")


# --- validated, streaming readers --------------------------------------------


def test_checked_readers_give_canonical_frames(tiny_dataset):
    files = datasets.locate(tiny_dataset)
    movies = checked.read_movies_checked(files)
    assert movies["movie_id"].tolist() == [1, 2, 3, 4, 5]
    assert movies.loc[3, "title"] == "American President, The (1995)"
    assert movies.loc[4, "genres"] == ()  # "(no genres listed)" is no genre
    links = checked.read_links_checked(files, {1, 2, 3, 4, 5})
    assert links.values.tolist()[3] == [4, 112346, None]
    tags = checked.read_tags_checked(files, {1, 2, 3, 4, 5})
    assert tags.values.tolist()[0] == [2, 1, "pixar", 1445714994]


def test_ratings_stream_in_chunks_with_their_line_numbers(tiny_dataset):
    files = datasets.locate(tiny_dataset)
    chunks = list(checked.iter_ratings_checked(files, movie_ids=np.array([1, 2, 3, 4, 5]), chunk_rows=4))
    assert [len(chunk) for chunk in chunks] == [4, 2]
    assert chunks[1]["line"].tolist() == [6, 7]
    assert chunks[1][["user_id", "movie_id", "rating"]].values.tolist() == [[2, 4, 0.5], [3, 3, 2.5]]


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_dat_stream_translates_separators_whatever_the_read_size(tmp_path, block):
    path = tmp_path / "ratings.dat"
    text = "".join(f"{u}::{m}::{(u + m) % 5 + 1}::97830{u}{m}\n" for u in range(1, 6) for m in range(1, 4))
    path.write_text(text)
    stream = checked._DatLines(path, block=block)
    assert stream.read() == text.replace("::", "\x1f").encode()
    stream.close()


def test_dat_ratings_stream_with_tiny_blocks_and_chunks(tmp_path):
    directory = write_dataset(tmp_path / "ml-1m", movies_dat="1::A (1990)::Drama\n2::B (1991)::Comedy\n",
                              ratings_dat="1::1::5::10\n1::2::3::11\n2::1::4::12\n")
    files = datasets.locate(directory)
    frames = list(checked.iter_ratings_checked(files, movie_ids=np.array([1, 2]), chunk_rows=2))
    assert pd.concat(frames)[["user_id", "movie_id", "rating", "line"]].values.tolist() == [
        [1, 1, 5.0, 1], [1, 2, 3.0, 2], [2, 1, 4.0, 3]]


def test_a_blank_line_inside_ratings_is_a_missing_value(tiny_dataset):
    path = tiny_dataset / "ratings.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3] + ["\n"] + lines[3:]))
    with pytest.raises(datasets.DatasetError, match="ratings.csv, line 4: missing userId"):
        list(checked.iter_ratings_checked(datasets.locate(tiny_dataset)))


def test_csv_movies_with_an_unquoted_comma_are_refused(tiny_dataset):
    (tiny_dataset / "movies.csv").write_text("movieId,title,genres\n1,Toy Story, The (1995),Comedy\n")
    with pytest.raises(datasets.DatasetError, match=r"movies.csv, line 2: expected 3 fields, found 4"):
        checked.read_movies_checked(datasets.locate(tiny_dataset))


# --- ml-100k and ml-20m --------------------------------------------------------


def test_ml100k_release_loads_with_canonical_columns(tmp_path):
    directory = write_ml100k(tmp_path / "ml-100k")
    files = datasets.locate(directory)
    assert (files.format, files.ratings.name, files.movies.name, files.genres.name) == (
        datasets.U100K, "u.data", "u.item", "u.genre")
    ratings = datasets.load_ratings(directory)
    assert list(ratings.columns) == ["user_id", "movie_id", "rating", "timestamp"]
    assert ratings.dtypes["rating"] == np.float32
    assert ratings.values.tolist()[0] == [196, 1, 3.0, 881250949]
    movies = datasets.load_movies(directory)
    assert movies.values.tolist() == [
        [1, "Toy Story (1995)", "Animation|Children's|Comedy"],
        [2, "Misérables, Les (1995)", "Drama|War"],  # ISO-8859-1 in the file
        [267, "unknown", "(no genres listed)"],  # the "unknown" flag is no genre
    ]
    assert datasets.load_tags(directory).empty
    assert datasets.load_links(directory).empty


def test_ml100k_checked_readers(tmp_path):
    files = datasets.locate(write_ml100k(tmp_path / "ml-100k"))
    movies = checked.read_movies_checked(files)
    assert movies["genres"].tolist() == [("Animation", "Children's", "Comedy"), ("Drama", "War"), ()]
    chunks = list(checked.iter_ratings_checked(files, movie_ids=np.array([1, 2, 267]), chunk_rows=3))
    assert [len(chunk) for chunk in chunks] == [3, 1]
    assert chunks[1][["user_id", "movie_id", "rating", "line"]].values.tolist() == [[22, 267, 4.0, 4]]


def test_ml100k_without_u_genre_uses_the_standard_genre_names(tmp_path):
    directory = write_ml100k(tmp_path / "ml-100k", genre=None)
    assert datasets.locate(directory).genres is None
    assert datasets.load_movies(directory)["genres"].tolist()[0] == "Animation|Children's|Comedy"


def test_ml100k_half_stars_are_refused_with_the_line(tmp_path):
    directory = write_ml100k(tmp_path / "ml-100k", data="196\t1\t3\t881250949\n186\t1\t4.5\t891717742\n")
    with pytest.raises(datasets.DatasetError, match=r"u.data, line 2: rating '4.5' is not one of 1, 2, 3, 4, 5"):
        list(checked.iter_ratings_checked(datasets.locate(directory)))


def test_ml100k_malformed_items_and_genres_are_refused(tmp_path):
    short = "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1\n"
    directory = write_ml100k(tmp_path / "short", items=short)
    with pytest.raises(datasets.DatasetError, match=r"u.item, line 1: expected 24 fields separated by '\|'.*found 8"):
        checked.read_movies_checked(datasets.locate(directory))
    directory = write_ml100k(tmp_path / "flags", items=U100K_ITEMS.replace("|0|0|0\n", "|0|0|x\n", 1))
    with pytest.raises(datasets.DatasetError, match="u.item, line 1: genre flags must be 0 or 1"):
        datasets.load_movies(directory)
    directory = write_ml100k(tmp_path / "genre", genre="unknown|0\nAction|2\n")
    with pytest.raises(datasets.DatasetError, match="u.genre: genre indexes must run 0, 1, 2"):
        datasets.load_movies(directory)


@pytest.mark.parametrize("present, missing", [
    ("u.data", "u.item"), ("u.item", "u.data"), ("ratings.csv", "movies.csv"), ("movies.dat", "ratings.dat"),
])
def test_an_incomplete_release_names_the_missing_file(tmp_path, present, missing):
    directory = tmp_path / "partial"
    directory.mkdir()
    (directory / present).write_text("")
    with pytest.raises(datasets.DatasetError, match=f"incomplete MovieLens release: it has {present} but no {missing}"):
        datasets.locate(directory)


def test_a_missing_directory_is_not_a_dataset(tmp_path):
    with pytest.raises(datasets.DatasetError, match="not a MovieLens dataset: there is no such directory"):
        datasets.locate(tmp_path / "nowhere")


def test_ml20m_csv_release_with_genome_files_loads_like_ml25m(tmp_path, tiny_dataset):
    directory = write_dataset(tmp_path / "ml-20m", movies_csv=(tiny_dataset / "movies.csv").read_text(),
                              ratings_csv=(tiny_dataset / "ratings.csv").read_text(),
                              genome_scores_csv="movieId,tagId,relevance\n1,1,0.02\n",
                              genome_tags_csv="tagId,tag\n1,007\n")
    assert datasets.locate(directory).format == datasets.CSV
    assert len(datasets.load_ratings(directory)) == 6
