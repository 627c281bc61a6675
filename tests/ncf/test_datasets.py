"""MovieLens readers: both on-disk formats give the same columns and values."""
import numpy as np
import pytest

from ncf import datasets
from tests.conftest import write_dataset


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
    with pytest.raises(datasets.DatasetError, match="not a MovieLens dataset"):
        datasets.locate(tmp_path / "half")
