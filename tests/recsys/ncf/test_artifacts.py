"""Artifacts: round trip, checksums catch corruption, CURRENT switches atomically, one trainer."""
import json
import threading
import time

import numpy as np
import pytest
from filelock import Timeout

from recsys.data.vocabulary import Vocabulary
from recsys.ncf import artifacts
from recsys.ncf.config import CODE_VERSION, NCFConfig
from recsys.ncf.testing import random_weights
from tests.recsys.conftest import tiny_config


def _save(store, seed=0, **metadata):
    config = NCFConfig(embedding_dim=4, layers=(8, 4), seed=seed)
    weights = random_weights(2, 3, config, np.random.default_rng(seed))
    path = artifacts.save_artifact(store, config=config, users=Vocabulary([5, 9]), items=Vocabulary([1, 2, 3]),
                                   weights=weights, metadata={"data_fingerprint": "abc", **metadata})
    return path, config, weights


def test_round_trip(tmp_path):
    path, config, weights = _save(tmp_path)
    loaded = artifacts.load_current(tmp_path)
    assert loaded.path == path
    assert loaded.config == config
    assert loaded.users.ids.tolist() == [5, 9] and loaded.items.ids.tolist() == [1, 2, 3]
    assert all(np.array_equal(loaded.weights[k], v) for k, v in weights.items())
    assert loaded.metadata["code_version"] == CODE_VERSION
    assert loaded.metadata["settings_hash"] == config.training_hash()
    assert loaded.trained_at is not None
    assert not list(tmp_path.glob(".tmp-*"))


def test_empty_store_has_no_model(tmp_path):
    assert artifacts.load_current(tmp_path) is None
    assert artifacts.current_stamp(tmp_path) is None


@pytest.mark.parametrize("name", ["weights.npz", "config.json", "vocab.npz", "metadata.json"])
def test_a_changed_byte_is_detected(tmp_path, name):
    path, _, _ = _save(tmp_path)
    data = bytearray((path / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / name).write_bytes(bytes(data))
    with pytest.raises(artifacts.ArtifactError, match="checksum mismatch"):
        artifacts.load_current(tmp_path)


def test_a_missing_file_or_manifest_is_detected(tmp_path):
    path, _, _ = _save(tmp_path)
    (path / "vocab.npz").unlink()
    with pytest.raises(artifacts.ArtifactError, match="missing"):
        artifacts.load_artifact(path)
    (path / "manifest.json").unlink()
    with pytest.raises(artifacts.ArtifactError, match="manifest"):
        artifacts.load_artifact(path)


def test_current_moves_to_the_newest_and_old_ones_are_pruned(tmp_path):
    first, _, _ = _save(tmp_path, seed=1)
    stamp = artifacts.current_stamp(tmp_path)
    time.sleep(0.01)
    second, _, _ = _save(tmp_path, seed=2)
    third, _, _ = _save(tmp_path, seed=3)
    assert artifacts.current_path(tmp_path) == third
    assert artifacts.current_stamp(tmp_path) != stamp
    assert not first.exists() and second.exists()


def test_matches_checks_code_data_and_settings():
    meta = {"code_version": CODE_VERSION, "data_fingerprint": "abc", "settings_hash": "s1"}
    assert artifacts.matches(meta, data_fingerprint="abc", settings_hash="s1")
    assert artifacts.matches(meta, data_fingerprint="abc", settings_hash=None)
    assert not artifacts.matches(meta, data_fingerprint="abd", settings_hash="s1")
    assert not artifacts.matches(meta, data_fingerprint="abc", settings_hash="s2")
    assert not artifacts.matches({**meta, "code_version": "old"}, data_fingerprint="abc", settings_hash="s1")


def test_data_fingerprint_follows_content(tmp_path):
    f = tmp_path / "ratings.csv"
    f.write_text("a")
    first = artifacts.data_fingerprint([f])
    assert artifacts.data_fingerprint([f]) == first
    f.write_text("b")
    assert artifacts.data_fingerprint([f]) != first


def test_only_one_holder_of_the_training_lock(tmp_path):
    held, release = threading.Event(), threading.Event()

    def trainer():
        with artifacts.training_lock(tmp_path):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=trainer)
    thread.start()
    assert held.wait(5)
    with pytest.raises(Timeout):
        artifacts.training_lock(tmp_path, timeout=0.1).acquire()
    release.set()
    thread.join()
    with artifacts.training_lock(tmp_path, timeout=1):
        pass


def test_artifact_extras_round_trip_as_checksummed_memory_maps(tmp_path):
    config = tiny_config()
    weights = random_weights(3, 4, config, np.random.default_rng(0))
    extras = {"ease_weights": np.arange(16, dtype=np.float32).reshape(4, 4), "rating_counts": np.array([5, 1, 0, 2])}
    path = artifacts.save_artifact(tmp_path, config=config, users=Vocabulary([1, 2, 3]),
                                   items=Vocabulary([10, 20, 30, 40]), weights=weights, metadata={}, extras=extras)
    loaded = artifacts.load_current(tmp_path)
    assert set(loaded.extras) == {"ease_weights", "rating_counts"}
    np.testing.assert_array_equal(loaded.extras["ease_weights"], extras["ease_weights"])
    np.testing.assert_array_equal(loaded.extras["rating_counts"], [5, 1, 0, 2])
    (path / "rating_counts.npy").write_bytes(b"tampered")
    with pytest.raises(artifacts.ArtifactError, match="checksum mismatch for rating_counts.npy"):
        artifacts.load_current(tmp_path)
    with pytest.raises(ValueError, match="not a plain identifier"):
        artifacts.save_artifact(tmp_path, config=config, users=Vocabulary([1]), items=Vocabulary([10]),
                                weights=weights, metadata={}, extras={"../x": np.zeros(1)})


def _save_with_extras(store, **extras):
    config = NCFConfig(embedding_dim=4, layers=(8, 4), seed=0)
    weights = random_weights(2, 3, config, np.random.default_rng(0))
    return artifacts.save_artifact(store, config=config, users=Vocabulary([5, 9]), items=Vocabulary([1, 2, 3]),
                                   weights=weights, metadata={"data_fingerprint": "abc"}, extras=extras)


def test_small_extras_are_copied_so_a_truncated_file_cannot_crash_the_process(tmp_path):
    """Truncating a loaded small extra in place (what killed every worker with SIGBUS) changes nothing."""
    counts = np.arange(1000, dtype=np.float32)
    path = _save_with_extras(tmp_path, counts=counts)
    loaded = artifacts.load_artifact(path).extras["counts"]
    assert not isinstance(loaded, np.memmap) and not loaded.flags.writeable
    with open(path / "counts.npy", "r+b") as handle:
        handle.truncate(10)
    assert np.array_equal(loaded, counts)  # still readable: it lives in this process's memory


def test_large_extras_are_memory_mapped_read_only(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "COPY_MAX_BYTES", 100)
    path = _save_with_extras(tmp_path, ease=np.ones((20, 20), dtype=np.float32))
    loaded = artifacts.load_artifact(path).extras["ease"]
    assert isinstance(loaded, np.memmap) and not loaded.flags.writeable
    assert float(loaded.sum()) == 400.0


@pytest.mark.parametrize("change", ["truncate", "append"])
def test_a_mapped_file_of_the_wrong_size_is_an_artifact_error_not_a_crash(tmp_path, monkeypatch, change):
    """Checked at load even when the manifest was rewritten to match (checksums alone would pass)."""
    monkeypatch.setattr(artifacts, "COPY_MAX_BYTES", 100)
    path = _save_with_extras(tmp_path, ease=np.ones((20, 20), dtype=np.float32))
    target = path / "ease.npy"
    data = target.read_bytes()
    target.write_bytes(data[:-64] if change == "truncate" else data + b"\0" * 64)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["ease.npy"] = artifacts.sha256_file(target)
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(artifacts.ArtifactError, match="ease.npy"):
        artifacts.load_artifact(path)
