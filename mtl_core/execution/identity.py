"""Identical runs: one rule for "this run was trained already", so it counts once.

Training is deterministic on the CPU (``tests/test_determinism.py``): the same config
(seeds included) on the same prepared data, with the same torch thread count, device
and curve-changing code, gives the same curves bit for bit. A second such run adds no
information; counted as a second seed, it shrinks a standard deviation and a paired
interval that it has no right to. So a run's *identity key* is

- its config, every field (``seed`` and ``data_seed`` included; fields a stored config
  predates get their defaults, as ``replicates.band_key`` does);
- the SHA-256 of its prepared data (``provenance["data_sha256"]``, ``data.Bundle.data_hash``);
- the torch thread count and the device it trained with (provenance, else its config);
- ``CURVE_VERSION``, the version of the code's curves.

Who uses it: Train in the dashboard offers the stored run instead of a duplicate; the
baselines of a comparison, a tuned baseline or a learning curve reuse a completed
identical run instead of training it again (``train_or_reuse``); and wherever runs are
counted (Compare, the learning curve), identical runs count once (``dedupe``). Reusing a
run gives no rights over it: it keeps its owner, and a comparison whose reused run was
deleted says so (``deleted_notes``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mtl_core.config import DEFAULT, RunConfig
from mtl_core.errors import MtlError
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.store.schema import Status
from mtl_core.training.provenance import CURVE_VERSION

# A run's ``curve_version`` (CURVE_VERSION, recorded by mtl_core/training/provenance.py)
# must equal this code's. Runs recorded before the constant existed carry none; they count
# as version ``LEGACY_VERSION`` (1). Version 1 is the code as it was when the constant was
# introduced, and no curve-changing change was recorded before it, so a store's existing
# runs stay reusable and their duplicates count once; the first bump (to 2) retires them
# all from reuse. A run without a recorded data hash (one that failed before its data was
# prepared) is identical to no other run.
LEGACY_VERSION = 1

REUSABLE = (Status.COMPLETED,)  # a stopped, diverged or failed run is not the run asked for


def _config_dict(config: RunConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Every field of ``config``: a stored config (``RunConfig.to_dict`` through JSON) gets
    the defaults of the fields it predates, as in ``replicates.band_key``."""
    if isinstance(config, RunConfig):
        return config.to_dict()
    return {**DEFAULT.to_dict(), **dict(config)}


def config_text(config: RunConfig | Mapping[str, Any]) -> str:
    """The config part of the key: equal for configs equal in every field."""
    return json.dumps(_config_dict(config), sort_keys=True, default=list)


def identity_key(
    config: RunConfig | Mapping[str, Any],
    data_hash: str,
    threads: int,
    device: str,
    version: int | None = None,
) -> str:
    """The identity of a run: equal keys mean identical curves (see the module's doc).
    ``version`` defaults to this code's ``CURVE_VERSION``."""
    version = CURVE_VERSION if version is None else version
    return json.dumps(
        {
            "config": config_text(config),
            "data": data_hash,
            "threads": int(threads),
            "device": str(device),
            "version": int(version),
        },
        sort_keys=True,
    )


def run_key(run: Mapping[str, Any]) -> str | None:
    """The identity key of a stored run (a row of ``RunStore.runs`` or ``get_run``), or
    None when it recorded no data hash: such a run is identical to no other."""
    prov = run.get("provenance") or {}
    data_hash = prov.get("data_sha256")
    if not data_hash:
        return None
    config = _config_dict(run["config"])
    return identity_key(
        config,
        data_hash,
        prov.get("torch_threads", config["threads"]),
        prov.get("device", config["device"]),
        prov.get("curve_version", LEGACY_VERSION),
    )


def data_hash_of(config: RunConfig, data_dir: str | None = None) -> str | None:
    """The hash of the data ``config`` would train on, or None if it cannot be prepared
    (its files are missing: training would say so itself)."""
    from mtl_core.data.splits import load_bundle

    try:
        return load_bundle(config.dataset, config.variant, config.data_seed, data_dir).data_hash
    except MtlError:
        return None


class Twins:
    """Look up identical runs among ``runs`` (a ``RunStore.runs`` frame), many at a time.

    The data hash of a config is computed (by preparing its data) only when a stored
    run has the same config, and once per dataset, variant and data seed.
    """

    def __init__(
        self,
        runs: pd.DataFrame,
        data_dir: str | None = None,
        hasher: Callable[[RunConfig, str | None], str | None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.hasher = hasher or data_hash_of  # the dashboard hashes in a helper process
        self._by_config: dict[str, list[dict]] = {}
        for run in runs.sort_values("id").to_dict("records"):
            self._by_config.setdefault(config_text(run["config"]), []).append(run)
        self._hashes: dict[tuple[str, str, int], str | None] = {}

    def _hash(self, config: RunConfig) -> str | None:
        key = (config.dataset, config.variant, config.data_seed)
        if key not in self._hashes:
            self._hashes[key] = self.hasher(config, self.data_dir)
        return self._hashes[key]

    def find(self, config: RunConfig, *, live: bool = False) -> int | None:
        """The oldest completed run identical to ``config``, or None. With ``live``, else
        the oldest queued or training one that will be: same config, thread count and
        device, and the same data hash once it has recorded one (a run that has not
        started yet is taken to run this code on this data)."""
        candidates = self._by_config.get(config_text(config), [])
        if not candidates:
            return None
        data_hash = self._hash(config)
        if data_hash is None:
            return None
        want = identity_key(config, data_hash, config.threads, config.device)
        for run in candidates:
            if run["status"] in REUSABLE and run_key(run) == want:
                return int(run["id"])
        if not live:
            return None
        for run in candidates:
            if run["status"] not in LIVE:
                continue
            key = run_key(run)
            if key is None or key == want:  # no provenance yet: it has not started
                return int(run["id"])
        return None


def find_identical(
    store: RunStore, config: RunConfig, *, data_dir: str | None = None, live: bool = False
) -> int | None:
    """The id of a completed run in ``store`` identical to ``config`` (the oldest), or
    None; with ``live``, else of a queued or training one (see ``Twins.find``)."""
    return Twins(store.runs(seeds=[config.seed]), data_dir).find(config, live=live)


def dedupe(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with identical completed runs counted once: of each set, the oldest (lowest
    id) stays. Runs that are not completed, or recorded no data hash, all stay."""
    seen: set[str] = set()
    dropped: set[int] = set()
    for run in runs.sort_values("id").to_dict("records"):
        if run["status"] not in REUSABLE:
            continue
        key = run_key(run)
        if key is None:
            continue
        if key in seen:
            dropped.add(int(run["id"]))
        seen.add(key)
    return runs[~runs["id"].isin(dropped)] if dropped else runs


def dedupe_ids(runs: pd.DataFrame, ids: Iterable[int]) -> list[int]:
    """``ids`` in their order, without the completed runs identical to an earlier one."""
    ids = [int(i) for i in ids]
    kept = set(dedupe(runs[runs["id"].isin(ids)])["id"].astype(int))
    return [i for i in ids if i in kept]


def reuse_line(run_ids: Sequence[int], what: str = "run") -> str:
    """One line saying which stored runs were reused, e.g. "Reused 2 stored identical
    single-task runs (#4, #5) instead of training them again." ('' for none)."""
    if not run_ids:
        return ""
    n = len(run_ids)
    plural = what if n == 1 else f"{what}s"
    ids = ", ".join(f"#{i}" for i in run_ids)
    return f"Reused {n} stored identical {plural} ({ids}) instead of training again."


def deleted_notes(
    used: Iterable[int], existing: Iterable[int], what: str = "this comparison"
) -> list[str]:
    """One note per run ``what`` used that is no longer stored (its owner deleted it)."""
    present = {int(i) for i in existing}
    return [
        f"run {i} used by {what} was deleted"
        for i in dict.fromkeys(map(int, used))
        if i not in present
    ]


def stored_result(store: RunStore, run_id: int):
    """A stored run as the trainer's ``RunResult`` (status, message, summary, rows)."""
    from mtl_core.training.trainer import RunResult

    run = store.get_run(run_id)
    frame = store.metrics(run_id)
    rows = list(
        frame[["epoch", "task", "split", "metric", "value"]].itertuples(index=False, name=None)
    )
    rows = [(int(e), t, s, m, float(v)) for e, t, s, m, v in rows]
    return RunResult(run_id, run["status"], run["message"], run["summary"], rows)


def train_or_reuse(
    configs: Sequence[RunConfig],
    reusable: Sequence[bool],
    *,
    workers: int = 2,
    store_path: str | None = None,
    names: Sequence[str] | None = None,
    owner: str = "",
    progress: Callable | None = None,
    data_dir: str | None = None,
) -> tuple[list, list[int]]:
    """``parallel.run_configs`` for the configs that have no completed identical run in
    the store; the others (where ``reusable``) come back from the store as they are.

    Returns the results in input order and the ids of the reused runs. Without a store
    (or before its file exists) there is nothing to reuse. The reused runs keep their
    owner and name.
    """
    from mtl_core.config import validate
    from mtl_core.execution.parallel import run_configs

    configs = list(configs)
    for config in configs:
        validate(config)  # a bad config is named before the store is looked at
    found: list[int | None] = [None] * len(configs)
    reused: dict[int, Any] = {}
    if store_path is not None and any(reusable) and Path(store_path).exists():
        with RunStore(store_path) as store:
            twins = Twins(store.runs(), data_dir)
            found = [twins.find(c) if ok else None for c, ok in zip(configs, reusable, strict=True)]
            reused = {i: stored_result(store, i) for i in found if i is not None}
    todo = [i for i, f in enumerate(found) if f is None]
    trained = run_configs(
        [configs[i] for i in todo],
        workers=workers,
        store_path=store_path,
        names=[names[i] for i in todo] if names is not None else None,
        owner=owner,
        progress=progress,
        data_dir=data_dir,
    )
    results: list = [reused[f] if f is not None else None for f in found]
    for i, result in zip(todo, trained, strict=True):
        results[i] = result
    return results, [f for f in found if f is not None]
