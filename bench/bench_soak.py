"""Soak: 20 runs of 50 epochs back to back in one server process. Does memory keep growing?

The process plays the dashboard server: it owns the RunManager (worker processes), starts
each run, and while it trains polls the store once a second for new epochs and builds the
live figure, as the page's fragment does. It samples its own RSS (and the workers') after
each run and reports the peak and the trend (a least-squares slope in MB per run over the
second half, after warm-up). Run: ``.venv/bin/python bench/bench_soak.py [--runs 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from bench.bench_ui import children  # noqa: E402
from mtl_core.config import RunConfig  # noqa: E402
from mtl_core.dashboard.figures.curves import curves_figure  # noqa: E402
from mtl_core.dashboard.runs import RunManager  # noqa: E402
from mtl_core.limits import Limits  # noqa: E402
from mtl_core.store.runs import LIVE  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "bench_soak.json"
TARGET_SLOPE_MB = 1.0  # per run, after warm-up: "does not keep growing"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def watch(manager: RunManager, run_id: int, poll: float) -> None:
    """Poll like the live fragment: read only new epochs, redraw the figure."""
    frame = pd.DataFrame()
    while True:
        since = -1 if frame.empty else int(frame.epoch.max())
        new = manager.store.metrics(run_id, since_epoch=since)
        frame = pd.concat([frame, new[new.split != "test"]], ignore_index=True)
        curves_figure(
            frame, tasks=["digit", "parity"], metric_of={"digit": "accuracy", "parity": "accuracy"}
        )
        if manager.store.get_run(run_id)["status"] not in LIVE:
            return
        time.sleep(poll)


def slope(values: list[float]) -> float:
    xs = list(range(len(values)))
    mx, my = statistics.mean(xs), statistics.mean(values)
    return sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--poll", type=float, default=1.0)
    args = parser.parse_args()
    config = RunConfig(epochs=args.epochs, aux=("parity",))
    with tempfile.TemporaryDirectory() as tmp:
        manager = RunManager(Path(tmp) / "runs.sqlite", Limits(max_runs=1))
        samples = []
        tic = time.monotonic()
        for i in range(args.runs):
            run_id = manager.start(config.replace(seed=i), owner="soak")
            watch(manager, run_id, args.poll)
            workers = {p: rss_mb(p) for p in children(os.getpid())}
            samples.append(
                {
                    "run": i + 1,
                    "server_mb": rss_mb(os.getpid()),
                    "workers_mb": workers,
                    "status": manager.store.get_run(run_id)["status"],
                }
            )
            print(
                f"run {i + 1:2d}: {samples[-1]['status']}, server {samples[-1]['server_mb']:.1f} MB,"
                f" workers {sorted(round(v) for v in workers.values())} MB",
                flush=True,
            )
        manager.shutdown(wait=True)
    server = [s["server_mb"] for s in samples]
    half = server[len(server) // 2 :]
    trend = slope(half) if len(half) > 1 else 0.0
    result = {
        "runs": args.runs,
        "epochs": args.epochs,
        "seconds": round(time.monotonic() - tic, 1),
        "server_first_mb": server[0],
        "server_peak_mb": max(server),
        "server_last_mb": server[-1],
        "slope_mb_per_run_second_half": trend,
        "keeps_growing": trend > TARGET_SLOPE_MB,
        "samples": samples,
    }
    print(
        f"\nserver RSS: after run 1 {server[0]:.1f} MB, peak {max(server):.1f} MB, last "
        f"{server[-1]:.1f} MB; trend over the second half {trend:+.2f} MB/run "
        f"({'keeps growing' if result['keeps_growing'] else 'flat'}, threshold {TARGET_SLOPE_MB} MB/run)"
    )
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
