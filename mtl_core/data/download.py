"""Find, load and download the full MNIST and Fashion-MNIST IDX files.

No package here ships the MNIST digits, so users who are online download them once
(checked against pinned SHA-256 sums, written atomically so an interrupted download never
leaves a half file under the final name); Fashion-MNIST also comes from Debian's
``dataset-fashion-mnist``. Loading never touches the network: it looks in a few folders
and, when nothing is there, says exactly what to put where.
"""

import contextlib
import hashlib
import http.client
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mtl_core.data.idx import read_idx_pair
from mtl_core.errors import DataError
from mtl_core.paths import data_root

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# Where Debian's `dataset-fashion-mnist` puts the files; a constant so tests can move it.
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}

# SHA-256 of the upstream .gz files. MNIST: the same four sums are pinned by several
# independent public projects. Fashion-MNIST: the sums published by several projects,
# checked on this machine against Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1,
# whose .gz files are the upstream deflate streams under a rewritten gzip header (no file
# name, mtime 2020-06-05). Restoring the upstream header (FNAME set, mtime 2017-08-31
# 10:50:06 UTC for train, 10:50:27 for t10k) reproduces both these sums and the upstream
# MD5s that torchvision pins; tests/test_download.py repeats that check.
CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        TRAIN_IMAGES: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        TRAIN_LABELS: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        TEST_IMAGES: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        TEST_LABELS: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}
DATASETS = tuple(CHECKSUMS)

Progress = Callable[[str, int, int | None], None]
_CHUNK = 1 << 16


def find_idx_dir(name: str, data_dir: str | Path | None = None) -> Path | None:
    """Return the first folder holding all four files of ``name``, or None.

    Looks in ``data_dir``, then ``$MTL_DATA_DIR/<name>`` and ``$MTL_DATA_DIR``, then
    ``data_root()/<name>``, then (Fashion-MNIST) Debian's folder. An explicit
    ``data_dir`` that lacks files is an error rather than a silent fall-through, because
    the user asked for exactly that folder.
    """
    _check_name(name)
    if data_dir is not None:
        folder = Path(data_dir)
        missing = _missing(folder)
        if missing:
            raise DataError(
                f"{folder}: missing {', '.join(missing)} for {name} (each .gz or "
                f"unpacked); put them there, or leave the folder out to use "
                f"`python -m mtl_core download {name}`"
            )
        return folder
    for folder in _search_path(name):
        if not _missing(folder):
            return folder
    return None


def load_idx_dataset(
    name: str, data_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (x_train, y_train, x_test, y_test): uint8 N×28×28 images, int64 labels."""
    folder = find_idx_dir(name, data_dir)
    if folder is None:
        searched = ", ".join(str(p) for p in _search_path(name))
        apt = " or `apt-get install dataset-fashion-mnist`" if name == "fashion-mnist" else ""
        raise DataError(
            f"{name} not found (looked in {searched}): run `python -m mtl_core download "
            f"{name}`{apt}, or put {', '.join(FILES)} (.gz or unpacked) in "
            f"{data_root() / name}/ or in a folder named by MTL_DATA_DIR"
        )
    restore = f"run `python -m mtl_core download {name}`"
    splits = []
    for images_file, labels_file in (
        (TRAIN_IMAGES, TRAIN_LABELS),
        (TEST_IMAGES, TEST_LABELS),
    ):
        images_path, labels_path = (
            _path(folder, images_file),
            _path(folder, labels_file),
        )
        images, labels = read_idx_pair(images_path, labels_path, restore=restore)
        if images.shape[1:] != (28, 28):
            raise DataError(
                f"{images_path}: images are {images.shape[1]}×{images.shape[2]}, "
                f"{name} has 28×28; delete it and {restore} again"
            )
        if labels.max() > 9:
            raise DataError(
                f"{labels_path}: holds class {labels.max()}, {name} has classes 0–9; "
                f"delete it and {restore} again"
            )
        splits += [images, labels]
    x_train, y_train, x_test, y_test = splits
    return x_train, y_train, x_test, y_test


def download(
    name: str,
    dest: Path | None = None,
    *,
    mirrors: list[str] | None = None,
    checksums: dict[str, str] | None = None,
    progress: Progress | None = None,
    timeout: float = 30,
) -> Path:
    """Download the four files of ``name`` into ``dest`` (default ``data_root()/name``).

    Each file streams to a temporary file beside its final name, is checked against its
    SHA-256 and only then renamed into place, so ``dest`` never holds a partial or wrong
    file under a real name. Files already there with the right sum are kept; a file there
    with another sum is not ours to replace, so the download stops and names it. Folders
    this call created are removed again when it fails (only if still empty). Mirrors are
    tried in order; ``progress(filename, bytes_done, total_or_None)`` sees bytes arrive.
    """
    _check_name(name)
    dest = Path(dest) if dest is not None else data_root() / name
    mirrors = MIRRORS[name] if mirrors is None else mirrors
    checksums = CHECKSUMS[name] if checksums is None else checksums
    lacking = [f for f in FILES if f not in checksums]
    if lacking:
        raise ValueError(f"checksums lack {', '.join(lacking)}")
    if dest.exists() and not dest.is_dir():
        raise DataError(f"{dest} is a file, not a folder; name a folder for the download")
    created = [p for p in (dest, *dest.parents) if not p.exists()]
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{dest}: cannot create the folder ({_one_line(exc)})") from None
    try:
        _download_into(dest, mirrors, checksums, progress, timeout)
    except BaseException:
        for folder in created:  # deepest first; never a folder that holds anything
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return dest


def _download_into(
    dest: Path,
    mirrors: list[str],
    checksums: dict[str, str],
    progress: Progress | None,
    timeout: float,
) -> None:
    for filename in FILES:
        target = dest / filename
        expected = checksums[filename].lower()
        if target.is_file() and _sha256(target) == expected:
            if progress is not None:
                size = target.stat().st_size
                progress(filename, size, size)
            continue
        if target.exists() or target.is_symlink():
            raise DataError(
                f"{target} is there but is not the expected {filename} (another "
                "SHA-256); move it away, then download again"
            )
        reasons = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + filename
            reason = _fetch(url, target, expected, progress, timeout)
            if reason is None:
                break
            reasons.append(f"{url}: {reason}")
        else:
            raise DataError(
                f"could not download {filename} into {dest}: {'; '.join(reasons) or 'no mirrors'}"
            )


def _fetch(
    url: str, target: Path, expected: str, progress: Progress | None, timeout: float
) -> str | None:
    """Download ``url`` to ``target`` via a checked temporary file; return why it failed."""
    # A hidden name unique to this call, created with "x" so the umask applies and two
    # downloads into one folder never share a temporary file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        digest = hashlib.sha256()
        done = 0
        with (
            tmp.open("xb") as out,
            urllib.request.urlopen(url, timeout=timeout) as resp,
        ):
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress is not None:
                progress(target.name, 0, total)
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(target.name, done, total)
        if total is not None and done != total:
            return f"truncated: got {done} of {total} bytes"
        got = digest.hexdigest()
        if got != expected:
            return (
                f"checksum mismatch for {target.name}: expected sha256 {expected[:16]}…, "
                f"got {got[:16]}… (file rejected)"
            )
        os.replace(tmp, target)
        return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        return f"{_one_line(exc.reason)} (no network?)"
    except TimeoutError:
        return f"timed out after {timeout:g} s (no network?)"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return _one_line(exc)
    finally:
        tmp.unlink(missing_ok=True)


def _check_name(name: str) -> None:
    if name not in CHECKSUMS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")


def _search_path(name: str) -> list[Path]:
    folders = []
    env = os.environ.get("MTL_DATA_DIR")
    if env:
        folders += [Path(env) / name, Path(env)]
    folders.append(data_root() / name)
    if name == "fashion-mnist":
        folders.append(DEBIAN_FASHION_DIR)
    return folders


def _path(folder: Path, filename: str) -> Path:
    """The file as .gz, else unpacked (.gz first: it is what download() checked)."""
    gz = folder / filename
    raw = folder / filename.removesuffix(".gz")
    return raw if raw.is_file() and not gz.is_file() else gz


def _missing(folder: Path) -> list[str]:
    return [f for f in FILES if not _path(folder, f).is_file()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line(obj: object) -> str:
    return " ".join(str(obj).split()) or type(obj).__name__
