"""Run a sweep: plan it against the store (new or resumed), create its runs, train them.

The plan is made before anything is written, so a dry run and the confirmation show
exactly what will start. Resuming finds the newest sweep in the store with the same spec
and keeps its completed runs (and diverged ones: a divergence is a result, and would
repeat); every other run of it (failed, stopped, interrupted, or left queued by a killed
driver) is deleted and created afresh, so each point of the grid has one run.

Both backends take runs already created as ``queued`` with the sweep's id: ``local``
(``parallel.run_configs``, one process per worker) and ``ray`` (``ray_backend``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mtl_core.config import RunConfig
from mtl_core.errors import ConfigError
from mtl_core.execution.parallel import Progress, check_workers, run_configs
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.store.schema import Status
from mtl_core.studies.sweep import SweepRun, SweepSpec, expand
from mtl_core.training.results import RunResult

KEEP = (Status.COMPLETED, Status.DIVERGED)
LEFT_RUNNING = "the sweep ended while this run trained; its finished epochs are kept"
LEFT_QUEUED = "not started: the sweep ended before its turn"


class Backend(Protocol):
    name: str

    def describe(self) -> str: ...

    def run(
        self,
        configs: Sequence[RunConfig],
        run_ids: Sequence[int],
        store_path: str | Path,
        progress: Callable[[Progress], None] | None = None,
        data_dir: str | None = None,
    ) -> list[RunResult]: ...


class LocalBackend:
    """This machine's process pool (``parallel.run_configs``)."""

    name = "local"

    def __init__(self, workers: int = 2) -> None:
        self.workers = check_workers(workers)

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def describe(self) -> str:
        return f"local, {self.workers} worker processes"

    def run(
        self,
        configs: Sequence[RunConfig],
        run_ids: Sequence[int],
        store_path: str | Path,
        progress: Callable[[Progress], None] | None = None,
        data_dir: str | None = None,
    ) -> list[RunResult]:
        return run_configs(
            configs,
            workers=self.workers,
            store_path=store_path,
            run_ids=run_ids,
            progress=progress,
            data_dir=data_dir,
        )


@dataclass
class Plan:
    spec: SweepSpec
    runs: list[SweepRun]
    skipped: list[str]
    sweep_id: int | None = None  # the sweep resumed, if any
    kept: dict[int, int] = field(default_factory=dict)  # run index -> its completed run id
    replaced: list[int] = field(default_factory=list)  # unfinished runs to delete

    @property
    def to_start(self) -> list[SweepRun]:
        return [run for i, run in enumerate(self.runs) if i not in self.kept]


def _key(config: dict) -> str:
    return json.dumps(config, sort_keys=True)


def find_sweep(store: RunStore, spec: SweepSpec) -> int | None:
    """The newest sweep in the store whose spec is ``spec``."""
    wanted = json.loads(json.dumps(spec.to_dict()))
    for row in store.sweeps().itertuples():
        if row.spec == wanted:
            return int(row.id)
    return None


def plan_sweep(
    spec: SweepSpec, store_path: str | Path, *, resume: bool = False, skip_invalid: bool = False
) -> Plan:
    """What a sweep would do; reads the store only to resume."""
    expansion = expand(spec, skip_invalid)
    plan = Plan(spec, expansion.runs, expansion.skipped)
    if not resume:
        return plan
    if not Path(store_path).exists():
        raise ConfigError(
            "resume", f"no run store at {store_path}; drop --resume to start the sweep"
        )
    with RunStore(store_path) as store:  # opening marks runs with a stale heartbeat
        plan.sweep_id = find_sweep(store, spec)
        if plan.sweep_id is None:
            raise ConfigError(
                "resume",
                f"no sweep in {store_path} has this spec (was the file "
                "changed?); drop --resume to start it as a new sweep",
            )
        runs = store.runs(sweep=plan.sweep_id).sort_values("id", ascending=False)
    busy = runs.id[runs.status.isin([Status.RUNNING, Status.PAUSED])].tolist()
    if busy:
        raise ConfigError(
            "resume",
            f"runs {sorted(busy)} of sweep {plan.sweep_id} are still "
            "training (another sweep process?); wait, or stop them",
        )
    index = {_key(run.config.to_dict()): i for i, run in enumerate(plan.runs)}
    for run in runs.itertuples():  # newest first: a newer completed run wins
        i = index.get(_key(run.config))
        if i is not None and run.status in KEEP and i not in plan.kept:
            plan.kept[i] = int(run.id)
    for run in runs.itertuples():
        i = index.get(_key(run.config))
        if i is not None and int(run.id) != plan.kept.get(i) and run.status not in KEEP:
            plan.replaced.append(int(run.id))
    return plan


def execute(
    plan: Plan,
    backend: Backend,
    store_path: str | Path,
    progress: Callable[[Progress], None] | None = None,
    data_dir: str | None = None,
) -> tuple[int, list[RunResult]]:
    """Create the sweep (unless resumed) and its runs as ``queued``, then train them.

    Returns the sweep's id and the results of the runs started, in plan order. Whatever
    happens (Ctrl-C included), no run it created is left ``queued`` or ``running``.
    """
    with RunStore(store_path) as store:
        sweep_id = plan.sweep_id or store.create_sweep(plan.spec.name, plan.spec.to_dict())
        if plan.replaced:
            store.delete(plan.replaced)
        starting = plan.to_start
        run_ids = [
            store.create_run(
                run.config.to_dict(), name=run.name, status=Status.QUEUED, sweep=sweep_id
            )
            for run in starting
        ]
    try:
        results = backend.run([r.config for r in starting], run_ids, store_path, progress, data_dir)
    finally:
        with RunStore(store_path) as store:
            for run_id in run_ids:
                status = store.get_run(run_id)["status"]
                if status == Status.QUEUED:
                    store.finish(run_id, Status.STOPPED, LEFT_QUEUED, {}, {})
                elif status in LIVE:
                    store.finish(run_id, Status.INTERRUPTED, LEFT_RUNNING, {}, {})
    return sweep_id, results
