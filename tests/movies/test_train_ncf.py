"""manage.py train_ncf: progress per epoch, a loadable artifact, clear errors."""
import pytest
from django.core.management import CommandError, call_command

from ncf import artifacts
from tests.ncf.conftest import write_structured_dataset


@pytest.mark.slow
def test_train_ncf_writes_a_model_the_site_loads(tmp_path, capsys):
    data = write_structured_dataset(tmp_path / "ml")
    call_command("train_ncf", "--epochs", "2", "--embedding-dim", "8", "--layers", "16,8", "--mode",
                 "hard-negatives", "--seed", "3", "--data", str(data), "--output", str(tmp_path / "models"))
    out = capsys.readouterr().out
    assert "epoch   1  loss" in out and "val_rmse" in out and "Saved " in out
    loaded = artifacts.load_current(tmp_path / "models")
    assert loaded.config.mode == "hard-negatives" and loaded.config.layers == (16, 8)
    assert loaded.config.embedding_dim == 8 and loaded.config.seed == 3
    assert loaded.metadata["source"] == "train_ncf"
    assert loaded.metadata["data_fingerprint"] == artifacts.data_fingerprint([data / "ratings.csv"])
    assert len(loaded.metadata["history"]) <= 2


@pytest.mark.parametrize("args, message", [
    (["--layers", "64,x"], "--layers must be comma-separated"),
    (["--epochs", "0"], "Invalid option"),
])
def test_bad_options_are_refused(tmp_path, args, message):
    data = write_structured_dataset(tmp_path / "ml")
    with pytest.raises(CommandError, match=message):
        call_command("train_ncf", "--data", str(data), "--output", str(tmp_path / "m"), *args)
    assert not (tmp_path / "m" / "CURRENT").exists()


def test_missing_data_is_refused(tmp_path):
    with pytest.raises(CommandError, match="not a MovieLens dataset"):
        call_command("train_ncf", "--data", str(tmp_path / "nowhere"), "--output", str(tmp_path / "m"))
