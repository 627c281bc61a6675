"""``movielens_fetch``: one MovieLens release from GroupLens (or a local copy), checksummed and
unpacked atomically under the MovieLens data directory."""
from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import requests
from django.conf import settings

from recsys.data import datasets
from recsys.data.datasets import DatasetError

from . import RELEASES, MovieLensError
from .importer import Progress

# Download in blocks of this size; report progress every PROGRESS_BYTES.
DOWNLOAD_BLOCK = 1 << 20
PROGRESS_BYTES = 16 << 20
_MD5 = re.compile(r"\b([0-9a-fA-F]{32})\b")


@dataclass(frozen=True)
class FetchResult:
    directory: Path
    action: str  # "present", "downloaded", "copied"


def offline_help(*, release: str, url: str, reason: str) -> str:
    """The one paragraph shown when GroupLens cannot be reached."""
    return (
        f"Could not download MovieLens {release} from {url} ({reason}). This machine looks offline, or "
        f"GroupLens is unreachable; nothing was written. If you already have a copy of the release, "
        f"either point the site at it by setting MOVIELENS_DIR=/path/to/{release} (a directory holding "
        f"movies.csv and ratings.csv, movies.dat and ratings.dat, or u.item and u.data) before running "
        f"manage.py, or copy "
        f"it into place with `python manage.py fetch_movielens --release {release} --from PATH`, where "
        f"PATH is that directory or the {release}.zip file from https://grouplens.org/datasets/movielens/. "
        f"Then run `python manage.py import_movielens`."
    )


def movielens_target(*, release: str) -> Path:
    """Where a release lives: MOVIELENS_DIR for the configured release, a sibling for the others."""
    configured = Path(settings.MOVIELENS_DIR)
    return configured if release == settings.MOVIELENS_RELEASE else configured.parent / release


def _holds_dataset(directory: Path) -> bool:
    try:
        datasets.locate(directory)
    except DatasetError:
        return False
    return True


def movielens_fetch(
    *,
    release: str,
    source: str | Path | None = None,
    if_missing: bool = False,
    force: bool = False,
    stdout: TextIO | None = None,
) -> FetchResult:
    """Put ``release`` at ``movielens_target(release=...)``: downloaded, or copied from ``source``.

    The download is checked against the MD5 GroupLens publishes as ``<release>.zip.md5``;
    everything is unpacked into a temporary directory beside the target and renamed into
    place, so the target either holds a whole release or is left as it was.

    Raises:
        MovieLensError: offline, checksum mismatch, bad zip or source; nothing half-written.
    """
    if release not in RELEASES:
        raise MovieLensError(f"Unknown release {release!r}; choose one of {', '.join(RELEASES)}.")
    say = Progress(stdout)
    target = movielens_target(release=release)
    if if_missing and _holds_dataset(target):
        say(f"MovieLens {release} is already at {target}; nothing to fetch.")
        return FetchResult(target, "present")
    if source is not None and Path(source).resolve() == target.resolve() and _holds_dataset(target):
        return FetchResult(target, "present")
    if target.exists() and not force:
        if _holds_dataset(target):
            raise MovieLensError(
                f"{target} already holds a MovieLens release. Use --force to replace it, "
                f"or --if-missing to keep it."
            )
        if not target.is_dir() or any(target.iterdir()):
            raise MovieLensError(f"{target} exists and is not a MovieLens release; move it away first.")

    if source is not None:
        source = Path(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            datasets_dir, problem = _release_root(source)
            if datasets_dir is None:
                raise MovieLensError(f"{source} does not hold a MovieLens release ({problem}); nothing was copied.")
            _install(target, lambda staging: shutil.copytree(datasets_dir, staging / "release"), say)
        elif source.is_file():
            expected = _md5_beside(source)
            if expected is not None:
                _check_md5(source, expected, delete=False)
            _install(target, lambda staging: _unzip(source, staging), say)
        else:
            raise MovieLensError(f"{source} does not exist: give a MovieLens directory or a .zip file.")
        say(f"Copied {release} from {source} to {target}.")
        return FetchResult(target, "copied")

    url = f"{settings.MOVIELENS_BASE_URL.rstrip('/')}/{release}.zip"
    expected = _published_md5(release=release, url=url)
    target.parent.mkdir(parents=True, exist_ok=True)
    download = target.parent / f".{release}.zip.part"
    try:
        _download(url, download, say)
        _check_md5(download, expected, delete=True)
        _install(target, lambda staging: _unzip(download, staging), say)
    finally:
        download.unlink(missing_ok=True)
    say(f"Downloaded {release} to {target}.")
    return FetchResult(target, "downloaded")


def _published_md5(*, release: str, url: str) -> str:
    try:
        response = requests.get(f"{url}.md5", timeout=30)
    except requests.RequestException as exc:
        raise MovieLensError(offline_help(release=release, url=url, reason=type(exc).__name__)) from None
    if response.status_code != 200:
        raise MovieLensError(
            f"GroupLens publishes no checksum at {url}.md5 (HTTP {response.status_code}), so the download "
            f"cannot be verified and was not started. Download {release}.zip yourself and run "
            f"`python manage.py fetch_movielens --release {release} --from PATH/{release}.zip`."
        )
    match = _MD5.search(response.text)
    if match is None:
        raise MovieLensError(f"{url}.md5 holds no MD5 checksum; the download was not started.")
    return match.group(1).lower()


def _download(url: str, path: Path, say) -> None:
    try:
        with requests.get(url, stream=True, timeout=(30, 120)) as response:
            if response.status_code != 200:
                raise MovieLensError(f"{url} answered HTTP {response.status_code}; nothing was written.")
            total = int(response.headers.get("Content-Length") or 0)
            done, next_report = 0, PROGRESS_BYTES
            with open(path, "wb") as handle:
                for block in response.iter_content(DOWNLOAD_BLOCK):
                    handle.write(block)
                    done += len(block)
                    if done >= next_report:
                        share = f" of {total / 2**20:,.0f} MiB ({100 * done / total:.0f}%)" if total else ""
                        say(f"  downloaded {done / 2**20:,.0f} MiB{share}")
                        next_report += PROGRESS_BYTES
    except requests.RequestException as exc:
        path.unlink(missing_ok=True)
        release = url.rsplit("/", 1)[-1].removesuffix(".zip")
        raise MovieLensError(offline_help(release=release, url=url, reason=type(exc).__name__)) from None


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(DOWNLOAD_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _md5_beside(path: Path) -> str | None:
    published = path.with_name(path.name + ".md5")
    if published.is_file():
        match = _MD5.search(published.read_text(errors="replace"))
        return match.group(1).lower() if match else None
    return None


def _check_md5(path: Path, expected: str, *, delete: bool) -> None:
    actual = _md5_of(path)
    if actual != expected:
        if delete:
            path.unlink(missing_ok=True)
        raise MovieLensError(
            f"Checksum mismatch for {path.name}: GroupLens publishes MD5 {expected}, the file has {actual}. "
            + ("The download was deleted; try again later." if delete else "Nothing was copied.")
        )


def _unzip(archive: Path, staging: Path) -> None:
    unpacked = staging / "unpacked"
    try:
        with zipfile.ZipFile(archive) as bundle:
            root = unpacked.resolve()
            for member in bundle.namelist():
                # Refuse members that would land outside the staging directory ("../", absolute).
                if not (unpacked / member).resolve().is_relative_to(root):
                    raise MovieLensError(f"{archive.name} holds an unsafe path {member!r}; nothing was unpacked.")
            bundle.extractall(unpacked)
    except zipfile.BadZipFile:
        raise MovieLensError(f"{archive.name} is not a valid zip file; nothing was unpacked.") from None
    release, problem = _release_root(unpacked)
    if release is None:
        raise MovieLensError(f"{archive.name} holds no MovieLens release ({problem}); nothing was unpacked.")
    release.rename(staging / "release")


def _release_root(directory: Path) -> tuple[Path | None, str]:
    """``directory`` itself or the one folder below it that holds the release files, and when
    there is none, why: the most telling problem found (an incomplete release before "no files")."""
    problems = []
    children = [child for child in directory.iterdir() if child.is_dir() and not child.name.startswith("__")]
    for candidate in (directory, *children):
        try:
            datasets.locate(candidate)
        except DatasetError as exc:
            problems.append(str(exc).rstrip("."))
            continue
        return candidate, ""
    incomplete = [problem for problem in problems if "incomplete" in problem]
    return None, (incomplete or problems)[0]


def _install(target: Path, fill, say) -> None:
    """Build the release in a staging directory beside ``target``, then rename it into place."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fill(staging)
        say(f"  unpacked; moving into {target}")
        if target.exists():
            old = staging / "old"
            target.rename(old)
        (staging / "release").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
