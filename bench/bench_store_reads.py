"""What the server's reads of the run store cost as the store grows.

A class's store holds hundreds of runs within a lesson or two, and two reads ran on the
hot paths: the identical-run check of every Train click (before the run starts, so the
first point waits for it) and of every lesson or comparison start, and a lesson's or a
comparison's live panel, redrawn about every second for each page that shows one. Both
read every stored run and parsed its config, summary and provenance. They now read only
the runs that matter (``RunStore.runs(seeds=..., ids=...)``, ``mtl_core/store/select.py``); this times both ways on
the same store, filled with ``--sizes`` runs of the default setup:

- ``identical check``: one config against the store, as ``RunManager.identical`` does it
  (``Twins`` over the runs read; the data hash stubbed, it is not a store read). The
  stored runs spread over 100 seeds (seed batches and sweeps vary the seed), or, with
  ``--one-seed``, all share the config's seed: then every run is a candidate and the
  seed filter saves nothing.
- ``panel read``: a lesson's 15 runs, as its live panel reads them on every redraw.

It prints the median of ``--reps`` timings of each, in milliseconds, for each size, and
writes bench/out/bench_store_reads.json.

    .venv/bin/python bench/bench_store_reads.py [--sizes 10 100 600 1200] [--reps 7] [--one-seed]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import write_results  # noqa: E402
from mtl_core.config import RunConfig  # noqa: E402
from mtl_core.execution.identity import Twins  # noqa: E402
from mtl_core.store.runs import RunStore  # noqa: E402

OUT_PATH = ROOT / "bench" / "out" / "bench_store_reads.json"
SUMMARY = {"main": {"digit": {"best_epoch": 9, "test_metric": 0.81}}, "elapsed": 2.0}
PROVENANCE = {"param_count": 269322, "threads": 1, "device": "cpu", "data_hash": "0" * 40}


def median_ms(work, reps: int) -> float:
    times = []
    for _ in range(reps):
        tic = time.perf_counter()
        work()
        times.append(time.perf_counter() - tic)
    return round(1000 * statistics.median(times), 2)


def identical(store: RunStore, config: RunConfig, by_seed: bool) -> None:
    """The Train click's check (``RunManager.identical``): all runs read, or its seed's."""
    runs = store.runs(seeds=[config.seed]) if by_seed else store.runs()
    Twins(runs, hasher=lambda c, d: "0" * 40).find(config, live=True)


def panel(store: RunStore, ids: list[int], by_ids: bool) -> None:
    """A lesson's live panel reading its runs: all runs read and filtered, or its ids."""
    if by_ids:
        store.runs(ids=ids)
    else:
        runs = store.runs()
        runs[runs.id.isin(ids)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 600, 1200])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--one-seed", action="store_true", help="every stored run: seed 0")
    args = parser.parse_args()
    config = RunConfig()  # seed 0
    out = {"one_seed": args.one_seed, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp, RunStore(Path(tmp) / "runs.sqlite") as store:
        stored: list[int] = []
        print(
            f"median of {args.reps} timings, ms; stored runs "
            + ("all of seed 0" if args.one_seed else "over 100 seeds")
        )
        print(
            f"{'runs':>6} {'identical: all read':>20} {'seed read':>10} {'panel: all':>11} {'ids':>6}"
        )
        for size in sorted(args.sizes):
            while len(stored) < size:
                n = len(stored)
                seed = 0 if args.one_seed else n % 100
                run_id = store.create_run(
                    config.replace(seed=seed, epochs=60 + n % 7).to_dict(),
                    provenance=PROVENANCE,
                    owner=f"student{n % 30}",
                )
                store.finish(run_id, "completed", "", SUMMARY, {})
                stored.append(run_id)
            lesson = stored[-15:]
            row = {
                "identical_all_ms": median_ms(partial(identical, store, config, False), args.reps),
                "identical_seed_ms": median_ms(partial(identical, store, config, True), args.reps),
                "panel_all_ms": median_ms(partial(panel, store, lesson, False), args.reps),
                "panel_ids_ms": median_ms(partial(panel, store, lesson, True), args.reps),
            }
            out["sizes"][size] = row
            print(
                f"{size:>6} {row['identical_all_ms']:>20} {row['identical_seed_ms']:>10}"
                f" {row['panel_all_ms']:>11} {row['panel_ids_ms']:>6}"
            )
    write_results(OUT_PATH, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
