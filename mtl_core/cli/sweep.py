"""``python -m mtl_core sweep FILE``: a grid of configs × seeds, locally or on Ray.

Prints the plan (how many runs, how many kept when resuming), asks before starting unless
``--yes`` or stdin is not a terminal, then trains with a progress bar on stderr (runs done,
running, failed; ETA) and ends with one line per outcome. Every user error is one line on
stderr and exit status 2, as in the rest of the CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from mtl_core.cli.batch import _Bar, _whole
from mtl_core.errors import ConfigError
from mtl_core.execution.parallel import check_data
from mtl_core.paths import default_store_path
from mtl_core.store import safety as store_file
from mtl_core.studies.sweep import load_sweep
from mtl_core.studies.sweep_runner import KEEP, LocalBackend, Plan, execute, plan_sweep
from mtl_core.written import counted

SHOWN_FAILURES = 20


def _shape(plan: Plan) -> str:
    parts = [f"{len(values)} {name}" for name, values in plan.spec.axes.items()]
    seeds = len(plan.spec.seeds)
    parts.append(counted(seeds, "seed"))
    return " × ".join(parts)


def _print_plan(plan: Plan, args: argparse.Namespace) -> None:
    start, kept = len(plan.to_start), len(plan.kept)
    head = f"sweep '{plan.spec.name}': {len(plan.runs)} runs ({_shape(plan)})"
    if args.resume:
        head += f"; resuming sweep {plan.sweep_id}: {kept} completed kept, {start} to run"
    else:
        head += f", {start} to start"
    print(head)
    if plan.skipped:
        print(f"left out {len(plan.skipped)} invalid combinations (--skip-invalid):")
        for text in plan.skipped:
            print(f"  {text}")
    if args.dry_run:
        for i, run in enumerate(plan.runs):
            print(
                f"  keep run {plan.kept[i]:<6} {run.name}"
                if i in plan.kept
                else f"  start          {run.name}"
            )


def _confirmed(count: int, where: str) -> bool:
    if not sys.stdin.isatty():
        return True
    try:
        answer = input(f"start {count} runs ({where})? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _backend(args: argparse.Namespace, workers: int | None):
    if args.backend == "local":
        return LocalBackend(2 if workers is None else workers)
    from mtl_core.execution.ray_backend import RayBackend

    return RayBackend(args.address, workers)


def cmd_sweep(args: argparse.Namespace) -> int:
    spec = load_sweep(args.file)
    workers = _whole(args.workers, "workers") if args.workers is not None else None
    if args.address and args.backend != "ray":
        raise ConfigError("address", "connects to a Ray cluster: add --backend ray")
    if args.backend == "local":
        LocalBackend(2 if workers is None else workers)  # a bad --workers fails here
    else:
        from mtl_core.execution.ray_backend import check_ray_workers, require_ray

        require_ray()
        check_ray_workers(workers)
    store = str(args.store or default_store_path())
    store_file.classify(Path(store))  # a path that is not a run store: refused before asking
    plan = plan_sweep(spec, store, resume=args.resume, skip_invalid=args.skip_invalid)
    if not args.address:  # a cluster's nodes hold their own data: each run checks there
        check_data([run.config for run in plan.to_start], args.data_dir)
    _print_plan(plan, args)
    if args.dry_run:
        print("dry run: nothing was stored or started")
        return 0
    if not plan.to_start:
        print(f"nothing to run: every run of sweep {plan.sweep_id} is {' or '.join(KEEP)}")
        return 0
    where = args.address or ("a local Ray instance" if args.backend == "ray" else "local")
    if not args.yes and not _confirmed(len(plan.to_start), where):
        print("not started")
        return 1
    if args.backend == "ray" and os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        print(
            "warning: RAY_AUTH_MODE=disabled: anyone who reaches the Ray ports can run code",
            file=sys.stderr,
        )
    with _backend(args, workers) as backend:
        if not args.quiet:
            print(f"training on {backend.describe()}", file=sys.stderr)
        with _Bar(args.quiet, "sweep") as bar:
            sweep_id, results = execute(plan, backend, store, bar, args.data_dir)
    return _report(plan, sweep_id, results, store)


def _report(plan: Plan, sweep_id: int, results: list, store: str) -> int:
    counts = Counter(r.status for r in results)
    names = {id(r): run.name for r, run in zip(results, plan.to_start, strict=True)}
    bad = [r for r in results if r.status not in KEEP]
    for r in bad[:SHOWN_FAILURES]:
        print(f"run {r.run_id} ({names[id(r)]}): {r.status} ({r.message})", file=sys.stderr)
    if len(bad) > SHOWN_FAILURES:
        print(f"... and {len(bad) - SHOWN_FAILURES} more", file=sys.stderr)
    outcome = ", ".join(f"{n} {status}" for status, n in counts.most_common())
    kept = f" ({len(plan.kept)} kept from before)" if plan.kept else ""
    print(f"sweep {sweep_id} '{plan.spec.name}': {outcome}{kept}")
    print(f"stored in {store}; see the dashboard's Sweeps view or `python -m mtl_core list`")
    return 0 if not bad else 1


def add_sweep_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="a grid of configs × seeds from a YAML or JSON file, on this machine or a Ray cluster",
    )
    p.add_argument("file", help="the sweep file: name, base, axes, seeds, vary_data")
    p.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local worker processes (default) or Ray tasks",
    )
    p.add_argument(
        "--address",
        help="a Ray cluster's head (host:port, as `ray start --head` "
        "prints); without it --backend ray starts a local "
        "instance on 127.0.0.1",
    )
    p.add_argument("--workers", help="runs at once (default 2; on a Ray cluster: its CPUs)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the newest sweep with the same spec: keep its completed "
        "runs, run the rest again",
    )
    p.add_argument("--dry-run", action="store_true", help="print the runs; store nothing")
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out combinations no config accepts (default: refuse the file)",
    )
    p.add_argument("--store", help="SQLite run store (default data/runs.sqlite)")
    p.add_argument("--data-dir", help="folder holding IDX files for mnist / fashion-mnist")
    p.add_argument("--yes", "-y", action="store_true", help="start without asking")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)
