"""IDX reading: round trips, and one clear line for every way a file can be broken."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from mtl_core.data.idx import read_idx, read_idx_pair
from mtl_core.errors import DataError


def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise a uint8 array the way the MNIST files are written."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def images(n: int = 5, side: int = 28) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)


def assert_one_line_error(path: Path, *words: str) -> None:
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert "\n" not in message
    assert path.name in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_images_and_labels(tmp_path, gz):
    x = images()
    y = np.array([0, 9, 3, 255, 1], dtype=np.uint8)
    xp = write(tmp_path / "img", idx_bytes(x), gz)
    yp = write(tmp_path / "lab", idx_bytes(y), gz)
    got = read_idx(xp)
    assert got.dtype == np.uint8 and got.shape == (5, 28, 28)
    np.testing.assert_array_equal(got, x)
    gx, gy = read_idx_pair(xp, yp)
    assert gy.dtype == np.int64
    np.testing.assert_array_equal(gy, y)
    np.testing.assert_array_equal(gx, x)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    x = images(2)
    unzipped_named_gz = write(tmp_path / "a.gz", idx_bytes(x))
    zipped_named_raw = write(tmp_path / "b", idx_bytes(x), gz=True)
    np.testing.assert_array_equal(read_idx(unzipped_named_gz), x)
    np.testing.assert_array_equal(read_idx(zipped_named_raw), x)


def test_returned_array_is_writable(tmp_path):
    got = read_idx(write(tmp_path / "x", idx_bytes(images(1))))
    got[0, 0, 0] = 7


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data(tmp_path, gz):
    data = idx_bytes(images(3))[:-10]
    assert_one_line_error(write(tmp_path / "cut-idx3-ubyte", data, gz), "truncated")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_header(tmp_path, gz):
    data = idx_bytes(images(3))[:9]
    assert_one_line_error(write(tmp_path / "short", data, gz), "truncated")


def test_empty_file(tmp_path):
    assert_one_line_error(write(tmp_path / "empty", b""), "truncated")


def test_gzip_stream_cut_short(tmp_path):
    data = gzip.compress(idx_bytes(images(50)))
    path = write(tmp_path / "cut.gz", data[: len(data) // 2])
    assert_one_line_error(path, "corrupt or truncated gzip")


def test_damaged_gzip(tmp_path):
    data = bytearray(gzip.compress(idx_bytes(images(50))))
    for i in range(20, 60):
        data[i] ^= 0xFF
    assert_one_line_error(write(tmp_path / "bad.gz", bytes(data)), "corrupt")


def test_gzip_crc_mismatch(tmp_path):
    data = bytearray(gzip.compress(idx_bytes(images(2))))
    data[-8] ^= 0xFF  # CRC32 in the trailer
    assert_one_line_error(write(tmp_path / "crc.gz", bytes(data)), "corrupt")


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic(tmp_path, gz):
    path = write(tmp_path / "page.html", b"<html><body>Not Found</body></html>", gz)
    assert_one_line_error(path, "magic", "2051", "2049")


def test_unsupported_dtype_names_the_type(tmp_path):
    data = struct.pack(">HBBI", 0, 0x0D, 1, 2) + b"\0" * 8  # float32 labels
    assert_one_line_error(write(tmp_path / "floats", data), "magic", "0x0d")


@pytest.mark.parametrize(
    "shape",
    [(0, 28, 28), (5, 0, 28), (5, 28, 2000), (10**8 + 1, 28, 28)],
)
def test_impossible_sizes(tmp_path, shape):
    header = struct.pack(">HBB3I", 0, 0x08, 3, *shape)
    path = write(tmp_path / "sizes", header + b"\0" * 100)
    assert_one_line_error(path, "impossible sizes")


def test_zero_labels(tmp_path):
    path = write(tmp_path / "nolabels", struct.pack(">HBBI", 0, 0x08, 1, 0))
    assert_one_line_error(path, "impossible sizes")


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_bytes(tmp_path, gz):
    data = idx_bytes(images(2)) + b"junk"
    assert_one_line_error(write(tmp_path / "long", data, gz), "corrupt", "extra bytes")


def test_missing_file(tmp_path):
    assert_one_line_error(tmp_path / "nowhere-idx1-ubyte.gz", "not found")


def test_error_names_the_fix(tmp_path):
    path = write(tmp_path / "cut", idx_bytes(images(2))[:-1])
    with pytest.raises(DataError, match="python -m mtl_core download"):
        read_idx(path)
    with pytest.raises(DataError, match="delete it and fetch it again"):
        read_idx(path, restore="fetch it")
    with pytest.raises(DataError, match="not found; fetch it$"):
        read_idx(tmp_path / "gone", restore="fetch it")


def test_pair_count_mismatch(tmp_path):
    xp = write(tmp_path / "img", idx_bytes(images(3)))
    yp = write(tmp_path / "lab", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DataError, match="3 images but .* 4 labels"):
        read_idx_pair(xp, yp)


def test_pair_swapped_files(tmp_path):
    xp = write(tmp_path / "img", idx_bytes(images(3)))
    yp = write(tmp_path / "lab", idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="lab.*expected images"):
        read_idx_pair(yp, xp)
    with pytest.raises(DataError, match="img.*expected labels"):
        read_idx_pair(xp, xp)


def test_absurd_total_size_fails_as_truncated_not_memory_error(tmp_path):
    header = struct.pack(">HBB3I", 0, 0x08, 3, 10**8, 1000, 1000)
    path = write(tmp_path / "huge", header + b"\0" * 100)
    assert_one_line_error(path, "truncated")
