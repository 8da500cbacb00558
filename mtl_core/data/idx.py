"""Read IDX files (the MNIST family's format) with numpy alone.

torchvision's wheel does not import beside the pinned CPU build of torch, and the format is a few lines: a
big-endian header (two zero bytes, a dtype code, the number of dimensions), the sizes,
then the values. Every way a file can be wrong (missing, cut short by a failed download,
damaged, not IDX at all) becomes a one-line ``DataError`` that names the file and the fix,
so a user never sees a traceback from ``np.frombuffer`` or ``gzip``.
"""

import gzip
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mtl_core.errors import DataError

IMAGES_MAGIC = 2051  # unsigned bytes, 3 dims: N × rows × cols
LABELS_MAGIC = 2049  # unsigned bytes, 1 dim: N
UBYTE = 0x08
MAX_ITEMS = 10**8
MAX_SIDE = 1000
DEFAULT_RESTORE = "run `python -m mtl_core download mnist` (or fashion-mnist)"

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24


def read_idx(path: Path, *, restore: str = DEFAULT_RESTORE) -> np.ndarray:
    """Return the values of an IDX file (raw or gzipped) as a uint8 array of its shape.

    Gzip is detected by its magic bytes, not by the name, so a gunzipped file that kept
    its ``.gz`` (or the reverse) still reads. ``restore`` says how to get the file back
    ("run `...`"); every error ends with it.
    """
    path = Path(path)

    def fail(problem: str) -> DataError:
        return DataError(f"{path}: {problem}; delete it and {restore} again")

    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not gzipped:
                return _parse(raw, fail)
            with gzip.GzipFile(fileobj=raw) as unzipped:
                return _parse(unzipped, fail)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; {restore}") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise fail(f"corrupt or truncated gzip ({_one_line(exc)})") from None
    except OSError as exc:
        raise fail(f"cannot read ({_one_line(exc)})") from None


def read_idx_pair(
    images_path: Path, labels_path: Path, *, restore: str = DEFAULT_RESTORE
) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image and label files: (uint8 N×H×W, int64 N)."""
    images = read_idx(images_path, restore=restore)
    labels = read_idx(labels_path, restore=restore)
    if images.ndim != 3:
        raise DataError(
            f"{images_path}: holds {images.ndim}-D data (magic {LABELS_MAGIC}), expected "
            f"images (magic {IMAGES_MAGIC}); check the file names, or {restore} again"
        )
    if labels.ndim != 1:
        raise DataError(
            f"{labels_path}: holds {labels.ndim}-D data (magic {IMAGES_MAGIC}), expected "
            f"labels (magic {LABELS_MAGIC}); check the file names, or {restore} again"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels: the two files are from different sets; "
            f"delete them and {restore} again"
        )
    return images, labels.astype(np.int64)


def _parse(f: BinaryIO, fail: Callable[[str], DataError]) -> np.ndarray:
    header = f.read(4)
    if len(header) < 4:
        raise fail(f"truncated: {len(header)} bytes, too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", header)
    magic = int.from_bytes(header, "big")
    if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        note = ""
        if zero == 0 and ndim in (1, 3) and dtype != UBYTE:
            note = f" (data type 0x{dtype:02x}; only 0x08, unsigned bytes, is read)"
        raise fail(
            f"not an MNIST-style IDX file: magic number {magic} (0x{magic:08x}) found{note}, "
            f"expected {IMAGES_MAGIC} (images) or {LABELS_MAGIC} (labels)"
        )
    size_bytes = f.read(4 * ndim)
    if len(size_bytes) < 4 * ndim:
        raise fail(f"truncated: the header promises {ndim} sizes but the file ends first")
    shape = struct.unpack(f">{ndim}I", size_bytes)
    if shape[0] == 0 or shape[0] > MAX_ITEMS or any(s == 0 or s > MAX_SIDE for s in shape[1:]):
        raise fail(
            f"impossible sizes {'×'.join(map(str, shape))} in the header (allowed: "
            f"1–{MAX_ITEMS} items of 1–{MAX_SIDE} pixels a side): the file is corrupt"
        )
    count = int(np.prod(shape))
    # Read in chunks rather than allocating what the header claims: a damaged header
    # that promises terabytes then fails as "truncated" instead of as a MemoryError.
    chunks, got = [], 0
    while got < count and (chunk := f.read(min(count - got, _CHUNK))):
        chunks.append(chunk)
        got += len(chunk)
    if got < count:
        raise fail(f"truncated: the header promises {count} values but the file holds {got}")
    if f.read(1):
        raise fail(f"corrupt: extra bytes after the {count} values the header promises")
    return np.frombuffer(bytearray().join(chunks), dtype=np.uint8).reshape(shape)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
