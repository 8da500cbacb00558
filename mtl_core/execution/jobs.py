"""The jobs a worker process runs for the dashboard, importable without torch.

A process pool pickles the function it sends by module and name, so the server must
import the module that holds it. The dashboard's server does not import torch (it checks
configs and draws from numpy and the store), so its jobs are these thin wrappers: the
worker module they call (the trainer, torch) is imported in the worker, where the
forkserver preloaded it already (mtl_core/execution/forkserver.py), at no cost.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mtl_core.execution.messages import INTERRUPTED

if TYPE_CHECKING:
    from mtl_core.config import RunConfig

__all__ = ["INTERRUPTED", "data_hash", "execute_run", "warm_up_here"]


def warm_up_here(
    where: tuple[str, dict[str, str]], nice: int = 0, dataset: str = "mnist-5k"
) -> None:
    """Pool initializer: see ``mtl_core.execution.worker.warm_up_here``."""
    from mtl_core.execution import worker

    worker.warm_up_here(where, nice, dataset)


def execute_run(
    store_path: str,
    run_id: int,
    config: dict,
    data_dir: str | None = None,
    pause_timeout: float | None = None,
) -> str:
    """Train a queued run to its end: see ``mtl_core.execution.worker.execute_run``."""
    from mtl_core.execution import worker

    return worker.execute_run(store_path, run_id, config, data_dir, pause_timeout)


def data_hash(config: RunConfig, data_dir: str | None) -> str | None:
    """``identity.data_hash_of`` in the helper process (``offload``): preparing data to hash
    it takes torch and scikit-learn, which the server does not import."""
    from mtl_core.errors import MtlError
    from mtl_core.execution import offload
    from mtl_core.execution.identity import data_hash_of

    try:
        return offload.call(data_hash_of, config, data_dir)
    except MtlError as exc:  # no helper (the server stops): unknown, so identical to no run
        logging.getLogger("mtl_curves").warning("no data hash for %s: %s", config.dataset, exc)
        return None
