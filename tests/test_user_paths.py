"""Every other path a user names gets the store's care (mtl_core/user_files.py).

Outputs (``export --out``, ``embed --out``, ``--save-config``): a new or existing regular
file is written (overwritten, the usual CLI convention), a link is written through and kept,
and a folder, a device or a missing folder is refused in one line with nothing renamed,
replaced or deleted. Inputs (``--config``, sweep files) are only read, and only when they
are regular files: ``/dev/zero`` would otherwise hang the command.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mtl_core.cli.main import main as cli
from mtl_core.store.runs import RunStore
from tests.test_store_safety import TINY, snapshot


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory) -> tuple[Path, int]:
    """One finished tiny run (with trunk features for ``embed``)."""
    path = tmp_path_factory.mktemp("store") / "runs.sqlite"
    assert cli(["train", *TINY, "--quiet", "--store", str(path)]) == 0
    with RunStore(path) as store:
        return path, int(store.runs().id.iloc[0])


def command(kind: str, stored_run: tuple[Path, int], out: Path) -> list[str]:
    store, run_id = stored_run
    return {
        "export": ["export", str(run_id), "--store", str(store), "--out", str(out)],
        "embed": ["embed", str(run_id), "--store", str(store), "--out", str(out)],
        "save-config": [
            "train",
            *TINY,
            "--quiet",
            "--store",
            str(store.parent / "other.sqlite"),
            "--save-config",
            str(out),
        ],
    }[kind]


KINDS = ["export", "embed", "save-config"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_output_file_is_written_and_an_existing_one_overwritten(kind, stored_run, tmp_path):
    out = tmp_path / "out.txt"
    assert cli(command(kind, stored_run, out)) == 0
    first = out.read_text()
    assert first.strip()
    out.write_text("an older output")
    out.chmod(0o640)
    assert cli(command(kind, stored_run, out)) == 0
    assert out.read_text() == first  # overwritten, as `>` would
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # its permissions kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary left


@pytest.mark.parametrize("kind", KINDS)
def test_an_output_link_is_written_through_and_kept(kind, stored_run, tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert cli(command(kind, stored_run, link)) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() != "old" and real.read_text().strip()


def make_folder(path: Path) -> None:
    path.mkdir()
    (path / "keep.txt").write_text("precious")


def make_device_link(path: Path) -> None:
    path.symlink_to("/dev/null")


REFUSED = {
    "folder": (make_folder, "is a folder; name a file in it instead"),
    "device": (make_device_link, "is not a regular file"),
    "missing folder": (lambda path: None, "does not exist; create it first"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(REFUSED))
def test_an_output_that_is_not_a_file_is_refused_in_one_line(
    kind, case, stored_run, tmp_path, capsys
):
    make, reason = REFUSED[case]
    user = tmp_path / "user"
    user.mkdir()
    out = user / ("nowhere/out.txt" if case == "missing folder" else "out.txt")
    make(out)
    before = snapshot(user)
    capsys.readouterr()
    assert cli(command(kind, stored_run, out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and reason in err[0] and str(out) in err[0], err
    assert snapshot(user) == before
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("case", ["folder", "device"])
def test_a_config_file_that_is_not_a_file_is_refused_at_once(case, tmp_path, capsys):
    path = tmp_path / "config.json"
    if case == "folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")  # reading it would never end
    assert cli(["train", "--config", str(path), "--store", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config: ") and len(err.strip().splitlines()) == 1
    assert ("is a folder" if case == "folder" else "not a regular file") in err


def test_a_sweep_file_that_is_a_device_is_refused_at_once(tmp_path, capsys):
    path = tmp_path / "sweep.yaml"
    path.symlink_to("/dev/zero")
    assert cli(["sweep", str(path), "--dry-run", "--store", str(tmp_path / "r.sqlite")]) == 2
    assert "sweep: " in capsys.readouterr().err and not (tmp_path / "r.sqlite").exists()


def test_a_huge_config_file_is_refused_by_size(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"seed": 0, "pad": "x" * (11 * 2**20)}))
    assert cli(["train", "--config", str(path), "--store", str(tmp_path / "r.sqlite")]) == 2
    assert "too large for a config file" in capsys.readouterr().err


@pytest.mark.parametrize("kind", KINDS)
def test_an_output_ending_in_a_slash_is_refused(kind, stored_run, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("mine")
    for out in (f"{tmp_path}/results/", f"{tmp_path}/a.txt/"):
        before = snapshot(tmp_path)
        capsys.readouterr()
        assert cli([*command(kind, stored_run, tmp_path / "x")[:-1], out]) == 2
        assert "names a folder" in capsys.readouterr().err
        assert snapshot(tmp_path) == before
