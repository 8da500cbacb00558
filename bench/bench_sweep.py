"""Benchmark: one 8-run sweep on the local backend and on a local Ray instance.

The sweep: mnist-5k, `digit` with one auxiliary task (`parity` or `magnitude`, hard
sharing, MLP 256×2, batch 32, Adam 1e-3), 1,000 training images, 150 epochs (about 10 s a
run at one thread here), seeds 0-3; `threads=1` everywhere.

- **sequential**: the 8 runs one after another in this process (one torch thread), into
  their own store: the reference the other two must equal, row for row.
- **local**: `--backend local`, 2 worker processes, timed from the call to its return
  (pool start-up included); the start-up alone (a batch of two tiny runs) is measured apart.
- **ray**: a local Ray instance with 2 CPUs. Timed apart: `ray.init`, the first tasks
  (two fresh workers doing what the local pool's warm-up does: import torch and
  mtl_core, load the data, build a first optimiser), then the sweep on those workers.
  Target: Ray / local, both without start-up, at most 1.3.

Then Ray's per-task overhead (50 empty streaming tasks, one after another and all at
once), what one driver can take in (messages/s from one streaming task) and write to
SQLite (epochs/s with this workload's epoch rows), and a simulated scale-out table:

    runs/hour(N) = min(N × 3600 / (t_run + t_task), 3600 × W / writes_per_run)

with t_run the mean trainer time of a run (its summary's `elapsed`), t_task the per-task
overhead (the worse of the two empty-task measures), W the driver's write rate (the slower of SQLite and message intake) and
writes_per_run = epochs + 1 (epoch 0) + 5 (provenance, arrays, status, finish). It assumes
nodes with cores like these, data already on every node, and a network that adds little
to the per-task latency.

    .venv/bin/python bench/bench_sweep.py [--epochs 150]

Only meaningful on an idle machine (check `uptime`): two workers on two cores slow down
when anything else runs.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing mtl_core

from mtl_core.data.splits import load_bundle  # noqa: E402
from mtl_core.execution.ray_backend import RayBackend  # noqa: E402
from mtl_core.store.runs import RunStore  # noqa: E402
from mtl_core.studies.sweep import parse_sweep  # noqa: E402
from mtl_core.studies.sweep_runner import LocalBackend, execute, plan_sweep  # noqa: E402
from mtl_core.training.trainer import RunResult, train  # noqa: E402

EPOCHS = 150
WORKERS = 2
TARGET = 1.3
SCALE = (1, 2, 8, 32, 128)
OUT_PATH = ROOT / "bench" / "out" / "bench_sweep.json"


def sweep_spec(epochs: int):
    return parse_sweep(
        {
            "name": "bench",
            "seeds": 4,
            "base": {
                "dataset": "mnist-5k",
                "train_size": 1000,
                "epochs": epochs,
                "sharing": "hard",
                "threads": 1,
            },
            "axes": {"aux": [["parity"], ["magnitude"]]},
        }
    )


class Sequential:
    """The reference: every run in this process, one after another."""

    name = "sequential"

    def describe(self) -> str:
        return "this process"

    def run(self, configs, run_ids, store_path, progress=None, data_dir=None):
        with RunStore(store_path) as store:
            results = []
            for config, run_id in zip(configs, run_ids, strict=True):
                store.set_status(run_id, "running")
                results.append(train(config, store=store, run_id=run_id))
            return results


def timed(fn, *args):
    tic = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - tic, out


def run_sweep(spec, backend, path: Path) -> list[RunResult]:
    _, results = execute(plan_sweep(spec, path), backend, path)
    assert [r.status for r in results] == ["completed"] * len(results), results
    return results


def comparable(path: Path, run_id: int):
    with RunStore(path) as store:
        metrics = store.metrics(run_id)
        summary = store.get_run(run_id)["summary"]
    summary.pop("elapsed", None)
    return metrics[metrics["metric"] != "wall_time"].reset_index(drop=True), summary


def identical(reference: Path, other: Path, runs: int) -> bool:
    for run_id in range(1, runs + 1):
        (m1, s1), (m2, s2) = comparable(reference, run_id), comparable(other, run_id)
        if not (m1.equals(m2) and s1 == s2):
            return False
    return True


def local_startup() -> float:
    """A batch of two runs that take milliseconds: the cost of starting the pool."""
    spec = parse_sweep(
        {
            "base": {"dataset": "mnist-5k", "train_size": 10, "epochs": 1, "width": 4, "depth": 1},
            "seeds": 2,
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        seconds, _ = timed(run_sweep, spec, LocalBackend(WORKERS), Path(tmp) / "s.sqlite")
    return seconds


def ray_overheads() -> dict[str, float]:
    import ray

    @ray.remote(num_cpus=1, max_retries=0, num_returns="streaming")
    def empty():
        yield 0

    @ray.remote(num_cpus=1, max_retries=0, num_returns="streaming")
    def chatter(n: int):
        for i in range(n):
            yield ("store", "append_epoch", (i, []), {})

    ray.get(next(empty.remote()))
    tic = time.perf_counter()
    for _ in range(50):
        ray.get(next(empty.remote()))
    serial = (time.perf_counter() - tic) / 50
    tic = time.perf_counter()
    for generator in [empty.remote() for _ in range(50)]:
        ray.get(next(generator))
    batch = (time.perf_counter() - tic) / 50
    n = 5000
    generator = chatter.remote(n)
    tic = time.perf_counter()
    for ref in generator:
        ray.get(ref)
    intake = n / (time.perf_counter() - tic)
    return {"task_latency_s": serial, "task_batch_s": batch, "intake_msgs_per_s": intake}


def sqlite_rate(path: Path, run_id: int, seconds: float = 3.0) -> tuple[float, int]:
    """Epochs/s that one process writes with ``append_epoch``, this workload's rows."""
    with RunStore(path) as store:
        rows = store.metrics(run_id)
        rows = [
            tuple(r)
            for r in rows[rows["epoch"] == 1][["task", "split", "metric", "value"]].itertuples(
                index=False
            )
        ]
    with tempfile.TemporaryDirectory() as tmp, RunStore(Path(tmp) / "w.sqlite") as store:
        ids = [store.create_run({}, status="running") for _ in range(8)]
        count, tic = 0, time.perf_counter()
        while time.perf_counter() - tic < seconds:
            store.append_epoch(ids[count % 8], count // 8, rows)
            count += 1
        return count / (time.perf_counter() - tic), len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"default {EPOCHS}")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"load average (1 min) before: {load:.2f}"
        + ("  (busy: timings will scatter)" if load >= 1.0 else "")
    )
    spec = sweep_spec(args.epochs)
    torch.set_num_threads(1)
    load_bundle("mnist-5k")  # untimed: the sequential side reuses this process cache
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        return measure(spec, args.epochs, load, Path(tmp))


def measure(spec, epochs: int, load: float, tmp: Path) -> int:
    runs = spec.size()
    stores = {name: tmp / f"{name}.sqlite" for name in ("sequential", "local", "ray")}

    seq_s, _ = timed(run_sweep, spec, Sequential(), stores["sequential"])
    print(f"sequential: {seq_s:.2f} s for {runs} runs")
    start_local = local_startup()
    local_s, _ = timed(run_sweep, spec, LocalBackend(WORKERS), stores["local"])
    print(f"local: {local_s:.2f} s (pool start-up {start_local:.2f} s)")

    with RayBackend(workers=WORKERS) as backend:
        import ray

        @ray.remote(num_cpus=1)
        def warm() -> int:  # what the local pool's warm-up does: imports and data
            from mtl_core.data.splits import load_bundle

            load_bundle("mnist-5k")
            return os.getpid()

        first_s, _ = timed(ray.get, [warm.remote() for _ in range(WORKERS)])
        ray_s, _ = timed(run_sweep, spec, backend, stores["ray"])
        print(
            f"ray: init {backend.startup:.2f} s, first tasks {first_s:.2f} s, sweep {ray_s:.2f} s"
        )
        over = ray_overheads()

    same_local = identical(stores["sequential"], stores["local"], runs)
    same_ray = identical(stores["sequential"], stores["ray"], runs)
    write_rate, rows_per_epoch = sqlite_rate(stores["sequential"], 1)
    with RunStore(stores["ray"]) as store:
        elapsed = [store.get_run(i)["summary"]["elapsed"] for i in range(1, runs + 1)]
    t_run = statistics.mean(elapsed)
    local_net = local_s - start_local
    ratio = ray_s / local_net
    writes_per_run = epochs + 1 + 5  # epochs, epoch 0, provenance, arrays, finish
    messages_per_run = writes_per_run + 2  # and the task's hello and result
    driver_rate = min(write_rate, over["intake_msgs_per_s"] * writes_per_run / messages_per_run)
    cap = 3600 * driver_rate / writes_per_run
    t_task = max(over["task_latency_s"], over["task_batch_s"])  # the worse of the two

    print(
        f"\n{runs} runs: mnist-5k, 1,000 images, {epochs} epochs, digit + one aux, "
        f"hard sharing, threads=1, {WORKERS} workers"
    )
    print(f"  sequential (1 process)          {seq_s:7.2f} s  ({seq_s / runs:.2f} s a run)")
    print(f"  local, total                    {local_s:7.2f} s")
    print(f"  local, without pool start-up    {local_net:7.2f} s  (start-up {start_local:.2f} s)")
    print(f"  ray.init (local, 2 CPUs)        {backend.startup:7.2f} s")
    print(f"  ray first tasks (worker start)  {first_s:7.2f} s")
    print(f"  ray sweep on warm workers       {ray_s:7.2f} s")
    print(f"  ray total                       {backend.startup + first_s + ray_s:7.2f} s")
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"  ratio ray / local without start-up: {ratio:.3f} ({verdict}, target <= {TARGET})")
    print(f"  stored curves equal to sequential: local {same_local}, ray {same_ray}")
    print(
        f"\nRay overheads: empty streaming task {t_task * 1000:.1f} ms one after another, "
        f"{over['task_batch_s'] * 1000:.1f} ms each when 50 go at once; driver intake "
        f"{over['intake_msgs_per_s']:,.0f} messages/s"
    )
    print(f"SQLite: one driver writes {write_rate:,.0f} epochs/s ({rows_per_epoch} rows each)")
    print(
        f"\nSimulated scale-out: runs/hour = min(N × 3600 / (t_run {t_run:.2f} s + t_task "
        f"{t_task * 1000:.0f} ms), driver cap 3600 × {driver_rate:,.0f} / {writes_per_run} "
        f"writes = {cap:,.0f})"
    )
    print("| workers N | runs/hour | limited by |")
    print("|---|---|---|")
    table = []
    for n in SCALE:
        compute = n * 3600 / (t_run + t_task)
        rate = min(compute, cap)
        table.append(
            {
                "workers": n,
                "runs_per_hour": round(rate),
                "by": "workers" if compute <= cap else "the driver's writes",
            }
        )
        print(f"| {n} | {rate:,.0f} | {table[-1]['by']} |")
    measured = runs * 3600 / ray_s
    print(f"(measured here with N = {WORKERS}: {measured:,.0f} runs/hour on warm workers)")

    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUT_PATH.write_text(
        json.dumps(
            {
                "runs": runs,
                "epochs": epochs,
                "load_before": load,
                "sequential_s": seq_s,
                "local_s": local_s,
                "local_startup_s": start_local,
                "ray_init_s": backend.startup,
                "ray_first_tasks_s": first_s,
                "ray_sweep_s": ray_s,
                "ratio": ratio,
                "identical_local": same_local,
                "identical_ray": same_ray,
                **over,
                "sqlite_epochs_per_s": write_rate,
                "t_run_s": t_run,
                "scale_out": table,
            },
            indent=1,
        )
    )
    print(f"\nwrote {OUT_PATH}")
    return 0 if same_local and same_ray and ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
