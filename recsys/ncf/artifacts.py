"""Saved models on disk: write atomically, verify checksums, one trainer at a time.

A model store is a directory (``settings.MODEL_DIR``)::

    CURRENT                 name of the artifact in use (replaced atomically)
    .train.lock             held by the one process that trains
    ncf-<time>-<hash>/      one artifact:
        config.json         NCFConfig
        weights.npz         float32 arrays (recsys.ncf.model.export_weights names)
        vocab.npz           user_ids, movie_ids: raw MovieLens ids in row order
        metadata.json       trained_at, data_fingerprint, settings_hash, code_version, ...
        manifest.json       sha256 of each file above

An artifact is written under a temporary name, then renamed; ``CURRENT`` is replaced the same
way, so a reader sees either the old model or the new one, never half of one. A file whose
checksum differs from the manifest makes the artifact invalid (``ArtifactError``): callers treat
that as "no model" and train again. Nothing here imports TensorFlow.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from filelock import FileLock

from recsys.data.vocabulary import Vocabulary
from recsys.ncf.config import CODE_VERSION, NCFConfig

CURRENT = "CURRENT"
LOCK = ".train.lock"
FILES = ("config.json", "weights.npz", "vocab.npz", "metadata.json")
KEEP = 2  # artifacts kept on disk: the current one and the one before it
# Extra arrays up to this size are read into memory on load; larger ones (the EASE weights) are
# memory-mapped so workers share their pages. A mapped file truncated in place kills the process
# with SIGBUS, which no check can catch afterwards: artifacts are never edited in place (a new
# model is a new directory, see save_artifact), and small files do not depend on that at all.
COPY_MAX_BYTES = 16 * 1024 * 1024


class ArtifactError(Exception):
    """An artifact is missing, partial or corrupt."""


@dataclass
class Artifact:
    path: Path
    config: NCFConfig
    users: Vocabulary
    items: Vocabulary
    weights: dict
    metadata: dict
    extras: dict = field(default_factory=dict)  # name -> read-only array (large ones memory-mapped)

    @property
    def trained_at(self) -> datetime | None:
        value = self.metadata.get("trained_at")
        return datetime.fromisoformat(value) if value else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(paths) -> str:
    """sha256 over the contents of the ratings file(s), in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def training_lock(store: Path, timeout: float = -1) -> FileLock:
    """The store's trainer lock (``with training_lock(dir): ...``); waits ``timeout`` s (-1: forever)."""
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    return FileLock(str(store / LOCK), timeout=timeout)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, sort_keys=True, indent=2, default=str), encoding="utf-8")


def save_artifact(store: Path, *, config: NCFConfig, users: Vocabulary, items: Vocabulary, weights: dict,
                  metadata: dict, make_current: bool = True, extras: dict | None = None) -> Path:
    """Write one artifact into ``store`` and (by default) make it the current one.

    Args:
        store: the model directory.
        config, users, items, weights: the trained model.
        metadata: extra facts (data_fingerprint, source, history...); trained_at, code_version,
            settings_hash are filled in when missing.
        make_current: point ``CURRENT`` at it.
        extras: more arrays that belong to this model (the EASE weights, rating counts), each
            saved as ``<name>.npy``, checksummed like the rest and memory-mapped on load, so
            workers on one machine share their pages.
    Returns:
        The artifact's final directory.
    """
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    meta = {
        "trained_at": datetime.now(UTC).isoformat(),
        "code_version": CODE_VERSION,
        "settings_hash": config.training_hash(),
        "n_users": len(users), "n_items": len(items),
        **metadata,
    }
    tmp = store / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        (tmp / "config.json").write_text(config.to_json(), encoding="utf-8")
        np.savez(tmp / "weights.npz", **{k: np.asarray(v, dtype=np.float32) for k, v in weights.items()})
        np.savez(tmp / "vocab.npz", user_ids=users.ids, movie_ids=items.ids)
        _write_json(tmp / "metadata.json", meta)
        extra_files = []
        for name, array in (extras or {}).items():
            if not name.isidentifier():
                raise ValueError(f"extra array name {name!r} is not a plain identifier")
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
            extra_files.append(f"{name}.npy")
        _write_json(tmp / "manifest.json", {name: sha256_file(tmp / name) for name in (*FILES, *extra_files)})
        for name in (*FILES, *extra_files, "manifest.json"):
            with open(tmp / name, "rb") as handle:
                os.fsync(handle.fileno())
        # Microseconds, so names sort by age even for saves within one second (pruning keeps
        # the newest by name).
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = store / f"ncf-{stamp}-{uuid.uuid4().hex[:8]}"
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(store)
    if make_current:
        set_current(store, final)
    return final


def set_current(store: Path, artifact: Path) -> None:
    """Point ``CURRENT`` at ``artifact`` atomically, then drop old artifacts beyond ``KEEP``."""
    store = Path(store)
    tmp = store / f".{CURRENT}.{uuid.uuid4().hex}"
    tmp.write_text(Path(artifact).name + "\n", encoding="utf-8")
    os.replace(tmp, store / CURRENT)
    _fsync_dir(store)
    olds = sorted((p for p in store.glob("ncf-*") if p.is_dir() and p.name != Path(artifact).name),
                  key=lambda p: p.name, reverse=True)
    for old in olds[KEEP - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def current_path(store: Path) -> Path | None:
    """The current artifact's directory, or None when the store has none."""
    pointer = Path(store) / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not name or "/" in name or name.startswith("."):
        return None
    return Path(store) / name


def current_stamp(store: Path) -> tuple | None:
    """A cheap token that changes whenever ``CURRENT`` is replaced (for reload checks)."""
    try:
        stat = (Path(store) / CURRENT).stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def verify(path: Path) -> dict:
    """Check every file against the manifest. Returns the manifest; raises ArtifactError."""
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: no readable manifest ({exc})") from None
    for name in FILES:
        if name not in manifest:
            raise ArtifactError(f"{path}: manifest does not list {name}")
    for name in manifest:
        if "/" in name or name.startswith("."):
            raise ArtifactError(f"{path}: manifest names an unexpected file {name!r}")
        try:
            actual = sha256_file(path / name)
        except OSError:
            raise ArtifactError(f"{path}: {name} is missing") from None
        if actual != manifest[name]:
            raise ArtifactError(f"{path}: checksum mismatch for {name}")
    return manifest


def read_metadata(path: Path) -> dict:
    try:
        return json.loads((Path(path) / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable metadata ({exc})") from None


def load_artifact(path: Path) -> Artifact:
    """Verify and load one artifact. Raises ArtifactError when it is partial or corrupt."""
    path = Path(path)
    manifest = verify(path)
    try:
        config = NCFConfig.from_dict(json.loads((path / "config.json").read_text(encoding="utf-8")))
        with np.load(path / "weights.npz") as data:
            weights = {k: data[k] for k in data.files}
        with np.load(path / "vocab.npz") as data:
            users, items = Vocabulary(data["user_ids"]), Vocabulary(data["movie_ids"])
        extras = {name[:-4]: _load_extra(path / name) for name in sorted(manifest) if name.endswith(".npy")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path}: cannot be read ({exc})") from None
    return Artifact(path=path, config=config, users=users, items=items, weights=weights,
                    metadata=read_metadata(path), extras=extras)


def _load_extra(path: Path) -> np.ndarray:
    """A read-only array: copied into memory when small, else memory-mapped after its size is checked."""
    size = path.stat().st_size
    if size <= COPY_MAX_BYTES:
        array = np.load(path, allow_pickle=False)
        array.flags.writeable = False
        return array
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:  # shorter than its header says: "mmap length is greater than file size"
        raise ArtifactError(f"{path}: cannot be mapped ({exc})") from None
    if array.offset + array.nbytes != size:
        raise ArtifactError(f"{path}: {size} bytes on disk, the header describes {array.offset + array.nbytes}")
    return array


def load_current(store: Path) -> Artifact | None:
    """The store's current artifact, or None when there is none. Raises ArtifactError if corrupt."""
    path = current_path(store)
    if path is None:
        return None
    if not path.is_dir():
        raise ArtifactError(f"{path}: named by CURRENT but missing")
    return load_artifact(path)


def matches(metadata: dict, *, data_fingerprint: str, settings_hash: str | None) -> bool:
    """Whether a saved model fits the data and code (and settings, unless ``settings_hash`` is None)."""
    return (metadata.get("code_version") == CODE_VERSION
            and metadata.get("data_fingerprint") == data_fingerprint
            and (settings_hash is None or metadata.get("settings_hash") == settings_hash))
