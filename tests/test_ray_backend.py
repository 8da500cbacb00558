"""The Ray backend on a local instance with 2 CPUs, started once for this module: it binds
loopback only, with token authentication on and no dashboard; it stores exactly what the
local backend stores; a worker SIGKILLed mid-run fails that run only and a stop request
stops one run, while the others complete; Ctrl-C of the ``sweep`` command leaves no run
queued or running (on both backends)."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from mtl_core.config import RunConfig
from mtl_core.errors import StoreError
from mtl_core.execution.ray_backend import DIED, RayBackend
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import RunStore
from mtl_core.studies.sweep import parse_sweep
from mtl_core.studies.sweep_runner import LocalBackend, execute, plan_sweep
from tests.helpers.waiting import wait_for
from tests.test_store_safety import FOREIGN, assert_moved_aside, damaged_store, snapshot

pytestmark = pytest.mark.slow
TINY = {
    "dataset": "digits",
    "train_size": 60,
    "width": 16,
    "depth": 1,
    "epochs": 2,
    "batch_size": 16,
}


@pytest.fixture(scope="module")
def ray_backend():
    with RayBackend(workers=2) as backend:
        yield backend


# -- where Ray listens -------------------------------------------------------------------


def process_tree(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return tree


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # host order
    return ipaddress.ip_address(words)


def listening(pids: set[int]) -> list[tuple[int, str, object]]:
    """(pid, command, address) of every TCP socket in LISTEN held by ``pids`` (from /proc,
    which is what ``ss -ltnp`` reads)."""
    inodes = {}
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes[link[8:-1]] = (pid, command)
        except OSError:
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append((*inodes[fields[9]], _address(fields[1].split(":")[0])))
    return found


def is_loopback(address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def test_the_local_instance_listens_on_loopback_only_with_token_auth(ray_backend):
    from ray._raylet import AuthenticationMode, get_authentication_mode

    tree = process_tree(os.getpid())
    sockets = listening(tree)
    commands = " ".join(c for _, c, _ in sockets)
    assert "gcs_server" in commands and "raylet" in commands, sockets
    assert [s for s in sockets if not is_loopback(s[2])] == []
    assert get_authentication_mode() == AuthenticationMode.TOKEN
    assert "token authentication on" in ray_backend.describe()
    for pid in tree:  # Ray keeps a headless dashboard process (usage stats): no web UI
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"dashboard/dashboard.py") for part in command):
            assert b"--minimal" in command and b"--disable-frontend" in command
            assert [s for s in sockets if s[0] == pid] == []


# -- what is stored ----------------------------------------------------------------------


def comparable(store: RunStore, run_id: int):
    metrics = store.metrics(run_id)
    metrics = metrics[metrics["metric"] != "wall_time"].drop(columns="run_id")
    run = store.get_run(run_id)
    run["summary"].pop("elapsed", None)
    provenance = {k: v for k, v in run["provenance"].items() if not k.startswith("worker_")}
    arrays = {n: store.get_array(run_id, n)[0] for n in store.array_names(run_id)}
    return metrics.reset_index(drop=True), run, provenance, arrays


def test_ray_stores_exactly_what_the_local_backend_stores(ray_backend, tmp_path):
    """Four runs (with dropout, so every random draw counts), same trainer, one thread:
    the same rows, summaries, provenance (the Ray one also names its worker) and arrays."""
    spec = parse_sweep(
        {
            "name": "same",
            "base": {**TINY, "dropout": 0.3},
            "axes": {"sharing": ["single", "hard"], "aux": [["parity"]]},
            "seeds": 2,
        }
    )
    stores = {"local": tmp_path / "local.sqlite", "ray": tmp_path / "ray.sqlite"}
    for name, backend in (("local", LocalBackend(2)), ("ray", ray_backend)):
        _, results = execute(plan_sweep(spec, stores[name]), backend, stores[name])
        assert [r.status for r in results] == ["completed"] * 4, [r.message for r in results]
    with RunStore(stores["local"]) as local, RunStore(stores["ray"]) as ray:
        for run_id in (1, 2, 3, 4):
            a, b = comparable(local, run_id), comparable(ray, run_id)
            assert len(a[0]) > 40 and a[0].equals(b[0])
            for key in ("name", "config", "status", "message", "summary", "sweep"):
                assert a[1][key] == b[1][key], key
            assert a[2] == b[2]
            assert b[1]["provenance"]["worker_host"] and b[1]["provenance"]["worker_pid"]
            assert a[3].keys() == b[3].keys() and len(a[3]) > 0
            assert all(np.array_equal(a[3][n], b[3][n]) for n in a[3])


def test_a_killed_worker_fails_its_run_and_a_stop_stops_one(ray_backend, tmp_path):
    """Two long runs start: one's worker is SIGKILLed after epoch 2, the other gets a stop
    request; both keep their epochs, and the two short runs behind them complete."""
    path = tmp_path / "runs.sqlite"
    long, short = RunConfig.from_dict({**TINY, "epochs": 5000}), RunConfig.from_dict(TINY)
    configs = [long, long.replace(seed=1), short, short.replace(seed=1)]
    with RunStore(path) as store:
        ids = [store.create_run(c.to_dict(), status="queued") for c in configs]

    def interfere() -> None:
        with RunStore(path) as reader:
            wait_for(
                lambda: min(reader.last_epoch(ids[0]), reader.last_epoch(ids[1])) >= 2,
                60,
                "two runs training",
            )
            os.kill(reader.get_run(ids[0])["provenance"]["worker_pid"], signal.SIGKILL)
            reader.request(ids[1], "stop")

    helper = threading.Thread(target=interfere)
    helper.start()
    results = ray_backend.run(configs, ids, path)
    helper.join()
    assert [r.status for r in results] == ["failed", "stopped", "completed", "completed"]
    assert results[0].message.startswith(DIED.split("{")[0])
    assert results[1].message.startswith("stopped by request during epoch ")
    with RunStore(path) as reader:
        runs = reader.runs().sort_values("id")
        assert list(runs["status"]) == ["failed", "stopped", "completed", "completed"]
        assert reader.last_epoch(ids[0]) >= 2 and reader.last_epoch(ids[1]) >= 2


# -- a store path that is not a run store ----------------------------------------------


@pytest.mark.parametrize("kind", ["text file", "sqlite database", "folder"])
def test_the_ray_driver_refuses_a_foreign_store_and_leaves_it(ray_backend, tmp_path, kind):
    """The driver opens the store it is given: only a run store (tests/test_store_safety.py)."""
    folder = tmp_path / "user"
    folder.mkdir()
    path = folder / "runs.sqlite"
    FOREIGN[kind](path)
    before = snapshot(folder)
    with pytest.raises(StoreError, match="choose another --store or MTL_STORE path"):
        ray_backend.run([RunConfig(**TINY)], [1], path)
    assert snapshot(folder) == before


def test_a_ray_sweep_moves_a_damaged_store_aside_and_trains(ray_backend, tmp_path):
    path = tmp_path / "runs.sqlite"
    damaged = damaged_store(path)
    spec = parse_sweep({"name": "after damage", "base": TINY, "axes": {"lr": [0.01]}})
    _, results = execute(plan_sweep(spec, path), ray_backend, path)
    assert [r.status for r in results] == ["completed"]
    assert_moved_aside(path, damaged)


# -- Ctrl-C ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_ctrl_c_leaves_no_run_queued_or_running(tmp_path, backend):
    """SIGINT to the command's process group (as a terminal sends it) while two of four
    runs train: exit 130, every run stopped (two with epochs, two never started), and no
    process of the command left behind (Ray's included)."""
    store = tmp_path / "runs.sqlite"
    sweep = tmp_path / "long.yaml"
    base = ", ".join(f"{k}: {v}" for k, v in {**TINY, "epochs": 10000}.items())
    sweep.write_text(f"base: {{{base}}}\nseeds: 4\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mtl_core",
            "sweep",
            str(sweep),
            "--backend",
            backend,
            "--workers",
            "2",
            "--store",
            str(store),
            "--quiet",
            "--yes",
        ],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: store.exists() or proc.poll() is not None, 60, "the store")
        with RunStore(store) as reader:

            def two_training() -> bool:
                runs = reader.runs()
                training = runs.id[runs.status == "running"]
                return len(training) == 2 and all(reader.last_epoch(int(i)) >= 2 for i in training)

            wait_for(two_training, 60, "two runs training")
            os.killpg(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            runs = reader.runs().sort_values("id")
            epochs = [reader.last_epoch(int(i)) for i in runs["id"]]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted", err
    assert list(runs["status"]) == ["stopped"] * 4
    assert min(epochs[:2]) >= 2 and epochs[2:] == [-1, -1]
    assert set(runs["message"][2:]) == {"stopped before it started (Ctrl-C)"}

    def no_process_left() -> bool:
        found = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
        return found.stdout.strip() == ""

    wait_for(no_process_left, 20, "the sweep's processes to exit")
